//! Tenancy: every storage call is scoped to one tenant ([`TenantId`]), and a credential of
//! one tenant can never reach another's resources.
//!
//! A [`TenantResolver`] decides which tenant a request is for: [`SingleTenant`] (the
//! default of [`ScimServerBuilder`](crate::ScimServerBuilder): every request is for
//! [`TenantId::default_tenant`]) or [`PathPrefixTenants`] (`/{tenant}/Users/...`), or your
//! own (a host name, a header). Whether a tenant exists is the authenticator's business: a
//! credential bound to one tenant ([`AuthContext::for_tenant`](crate::auth::AuthContext::for_tenant))
//! gets 401 on another tenant's URL.
//!
//! ```
//! use std::sync::Arc;
//! use scim_server::{PathPrefixTenants, ScimServer, TenantId};
//! use scim_server::auth::BearerTokens;
//! use scim_server::storage::memory::MemoryStorage;
//!
//! // One token per tenant; Entra's "Tenant URL" is then https://host/scim/v2/contoso.
//! let tokens = BearerTokens::new();
//! tokens.add(TenantId::new("contoso").unwrap(), "a-long-generated-secret-token").unwrap();
//! let server = ScimServer::builder()
//!     .storage(Arc::new(MemoryStorage::new()))
//!     .authenticator(tokens)
//!     .tenant_resolver(PathPrefixTenants)
//!     .base_path("/scim/v2")
//!     .build()
//!     .unwrap();
//! # let _ = server;
//! ```

use std::fmt;
use std::sync::Arc;

use http::request::Parts;
use scim_core::ScimError;

/// The identifier of a tenant (for the gateway: one Entra "Tenant URL").
///
/// Tenant ids are opaque, case-sensitive and non-empty; cloning is cheap.
///
/// ```
/// use scim_server::TenantId;
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

/// The tenant a request is for, and how much of the path named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedTenant<'p> {
    /// The tenant.
    pub tenant: TenantId,
    /// The part of the path (after the base path) that named the tenant, e.g. `/contoso`,
    /// or `""`; resource locations (`meta.location`) include it.
    pub prefix: &'p str,
    /// The rest of the path, e.g. `/Users/2819c223`.
    pub rest: &'p str,
}

/// Decides the tenant of a request from its head and its path below the server's base path.
///
/// Implementations: [`SingleTenant`] (the default: every request is for
/// [`TenantId::default_tenant`]) and [`PathPrefixTenants`] (`/{tenant}/Users/...`).
pub trait TenantResolver: Send + Sync + 'static {
    /// Resolves the tenant. `path` is the request path below the base path, starting with
    /// `/` (or empty). An error is sent to the client as it is (typically 404).
    fn resolve<'p>(&self, parts: &Parts, path: &'p str) -> Result<ResolvedTenant<'p>, ScimError>;
}

/// Every request is for [`TenantId::default_tenant`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SingleTenant;

impl TenantResolver for SingleTenant {
    fn resolve<'p>(&self, _parts: &Parts, path: &'p str) -> Result<ResolvedTenant<'p>, ScimError> {
        Ok(ResolvedTenant {
            tenant: TenantId::default_tenant(),
            prefix: "",
            rest: path,
        })
    }
}

/// The first path segment names the tenant: `/{tenant}/Users/...` (the Entra "Tenant URL"
/// is then `https://host/base/{tenant}`). A segment that is not a valid [`TenantId`] is 404.
/// Whether the tenant exists is the authenticator's business: a token is bound to its
/// tenant, so a request for an unknown tenant can never authenticate.
#[derive(Debug, Clone, Copy, Default)]
pub struct PathPrefixTenants;

impl TenantResolver for PathPrefixTenants {
    fn resolve<'p>(&self, _parts: &Parts, path: &'p str) -> Result<ResolvedTenant<'p>, ScimError> {
        let trimmed = path.strip_prefix('/').unwrap_or(path);
        let (segment, rest_start) = match trimmed.find('/') {
            Some(i) => (&trimmed[..i], i),
            None => (trimmed, trimmed.len()),
        };
        let tenant = TenantId::new(segment)
            .ok_or_else(|| ScimError::not_found("no tenant is named in the request path"))?;
        let offset = path.len() - trimmed.len();
        Ok(ResolvedTenant {
            tenant,
            prefix: &path[..offset + rest_start],
            rest: &path[offset + rest_start..],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts() -> Parts {
        http::Request::builder().body(()).unwrap().into_parts().0
    }

    #[test]
    fn path_prefix() {
        let r = PathPrefixTenants
            .resolve(&parts(), "/contoso/Users/1")
            .unwrap();
        assert_eq!(r.tenant.as_str(), "contoso");
        assert_eq!(r.prefix, "/contoso");
        assert_eq!(r.rest, "/Users/1");
        let r = PathPrefixTenants.resolve(&parts(), "/contoso").unwrap();
        assert_eq!(r.rest, "");
        assert_eq!(
            PathPrefixTenants
                .resolve(&parts(), "/")
                .unwrap_err()
                .status(),
            404
        );
        assert_eq!(
            PathPrefixTenants
                .resolve(&parts(), "/a%20b/Users")
                .unwrap_err()
                .status(),
            404
        );
    }

    #[test]
    fn single() {
        let r = SingleTenant.resolve(&parts(), "/Users").unwrap();
        assert_eq!(r.tenant, TenantId::default_tenant());
        assert_eq!(r.rest, "/Users");
    }
}
