//! Authentication: who is calling, and for which tenant.
//!
//! An [`Authenticator`] looks at the request head (never the body) and returns an
//! [`AuthContext`] or an [`AuthError`]. The server answers an `AuthError` with 401 and
//! `WWW-Authenticate: Bearer realm="scim"` (RFC 6750 §3), and a context bound to another
//! tenant than the one the URL names with 401 as well, so a credential of tenant A never
//! reaches tenant B's resources.
//!
//! Implementations: [`BearerTokens`] (hashed, tenant-bound bearer tokens) and [`auth_fn`]
//! (a closure).
//!
//! ```
//! use scim_server::auth::{AuthContext, AuthError, auth_fn};
//!
//! // Everyone who sends the header `X-Api-Key: let-me-in` is allowed, on any tenant.
//! let _auth = auth_fn(|parts: &http::request::Parts| {
//!     match parts.headers.get("x-api-key") {
//!         Some(v) if v == "let-me-in" => Ok(AuthContext::any_tenant()),
//!         _ => Err(AuthError::new("missing or wrong API key")),
//!     }
//! });
//! ```

mod bearer;

pub use bearer::{BearerTokens, MIN_TOKEN_LEN, TokenError, TokenHash};

use std::fmt;

use async_trait::async_trait;
use http::request::Parts;

use crate::tenancy::TenantId;

/// The outcome of a successful authentication.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthContext {
    /// The tenant the credential belongs to. When set, the server refuses (401) a request
    /// whose URL names another tenant; `None` means the credential is valid for any tenant.
    pub tenant: Option<TenantId>,
    /// The authenticated subject, as the `id` of a resource of the User resource type; when
    /// set, `/Me` (RFC 7644 §3.11) is an alias of `/Users/{subject}`.
    pub subject: Option<String>,
}

impl AuthContext {
    /// A context valid for every tenant, with no subject.
    pub fn any_tenant() -> Self {
        AuthContext::default()
    }

    /// A context bound to `tenant`.
    pub fn for_tenant(tenant: TenantId) -> Self {
        AuthContext {
            tenant: Some(tenant),
            subject: None,
        }
    }

    /// The same context with `subject` set.
    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }
}

/// A failed authentication; answered with 401 and `WWW-Authenticate: Bearer realm="scim"`.
/// The detail is shown to the client: never put a credential in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError {
    detail: String,
}

impl AuthError {
    /// An authentication failure with a client-visible detail.
    pub fn new(detail: impl Into<String>) -> Self {
        AuthError {
            detail: detail.into(),
        }
    }

    /// The detail.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for AuthError {}

/// Authenticates a request from its head (method, URI, headers).
#[async_trait]
pub trait Authenticator: Send + Sync + 'static {
    /// Authenticates the request. Implementations must not log credentials.
    async fn authenticate(&self, parts: &Parts) -> Result<AuthContext, AuthError>;
}

#[async_trait]
impl<T: Authenticator + ?Sized> Authenticator for std::sync::Arc<T> {
    async fn authenticate(&self, parts: &Parts) -> Result<AuthContext, AuthError> {
        (**self).authenticate(parts).await
    }
}

/// An [`Authenticator`] made from a closure; see [`auth_fn`].
#[derive(Clone)]
pub struct AuthFn<F> {
    f: F,
}

impl<F> fmt::Debug for AuthFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthFn")
    }
}

/// An authenticator from a synchronous closure over the request head. For an authenticator
/// that needs I/O, implement [`Authenticator`] instead.
pub fn auth_fn<F>(f: F) -> AuthFn<F>
where
    F: Fn(&Parts) -> Result<AuthContext, AuthError> + Send + Sync + 'static,
{
    AuthFn { f }
}

#[async_trait]
impl<F> Authenticator for AuthFn<F>
where
    F: Fn(&Parts) -> Result<AuthContext, AuthError> + Send + Sync + 'static,
{
    async fn authenticate(&self, parts: &Parts) -> Result<AuthContext, AuthError> {
        (self.f)(parts)
    }
}

/// The bearer token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1; the scheme
/// name is matched case-insensitively), if there is exactly one such header.
pub fn bearer_token(parts: &Parts) -> Option<&str> {
    let mut values = parts.headers.get_all(http::header::AUTHORIZATION).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let value = value.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(auth: Option<&str>) -> Parts {
        let mut b = http::Request::builder().uri("/Users");
        if let Some(a) = auth {
            b = b.header("authorization", a);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn bearer_token_parsing() {
        assert_eq!(bearer_token(&parts(Some("Bearer abc"))), Some("abc"));
        assert_eq!(bearer_token(&parts(Some("bearer   abc "))), Some("abc"));
        assert_eq!(bearer_token(&parts(Some("Basic abc"))), None);
        assert_eq!(bearer_token(&parts(Some("Bearer"))), None);
        assert_eq!(bearer_token(&parts(None)), None);
    }

    #[tokio::test]
    async fn closure_authenticator() {
        let a = auth_fn(|p: &Parts| match bearer_token(p) {
            Some("ok") => Ok(AuthContext::any_tenant().with_subject("u1")),
            _ => Err(AuthError::new("no")),
        });
        let ctx = a.authenticate(&parts(Some("Bearer ok"))).await.unwrap();
        assert_eq!(ctx.subject.as_deref(), Some("u1"));
        assert!(a.authenticate(&parts(Some("Bearer no"))).await.is_err());
    }
}
