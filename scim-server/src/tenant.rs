//! Tenants: every storage call is scoped to one, and a credential of one tenant can never
//! reach another's resources.

use std::fmt;
use std::sync::Arc;

/// The identifier of a tenant (for the gateway: one Entra "Tenant URL").
///
/// Tenant ids are opaque, case-sensitive and non-empty; cloning is cheap.
///
/// ```
/// use scim_server::tenant::TenantId;
///
/// let t = TenantId::new("contoso").unwrap();
/// assert_eq!(t.as_str(), "contoso");
/// assert!(TenantId::new("").is_none());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(Arc<str>);

impl TenantId {
    /// The id of the single tenant of a server that is not multi-tenant.
    pub const DEFAULT: &'static str = "default";

    /// A tenant id; `None` when `id` is empty or longer than 128 bytes, or holds a character
    /// outside `A-Z a-z 0-9 - _ .` (so that it is safe in a URL path and a log line).
    pub fn new(id: &str) -> Option<Self> {
        let ok = !id.is_empty()
            && id.len() <= 128
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        ok.then(|| TenantId(Arc::from(id)))
    }

    /// The default tenant of a single-tenant server.
    pub fn default_tenant() -> Self {
        TenantId(Arc::from(Self::DEFAULT))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantId({:?})", &*self.0)
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
