//! The request pipeline as [`tower::Layer`]s: base path and tenant ([`TenantLayer`]),
//! authentication ([`AuthLayer`]), body size ([`BodyLimitLayer`]) and time ([`TimeoutLayer`]).
//!
//! [`ScimServer`](super::ScimServer) is these layers stacked around the core service
//! ([`ScimCore`], routing and handlers), in this order, outermost first:
//!
//! `TimeoutLayer` → `TenantLayer` (base path, then tenant) → `AuthLayer` → `BodyLimitLayer`
//! → [`ScimCore`]
//!
//! Each layer's service answers its own failures as SCIM error responses (RFC 7644 §3.12,
//! `application/scim+json`) and passes what it learnt to the next service in the request
//! extensions: [`RequestTenant`] (from [`TenantLayer`]) and [`AuthContext`] (from
//! [`AuthLayer`]). The services never fail themselves: their error type is the inner
//! service's (for [`ScimCore`], [`Infallible`](std::convert::Infallible)).
//!
//! The layers are public so that an embedder can stack them differently, e.g. put its own
//! authentication layer (which inserts an [`AuthContext`]) in place of [`AuthLayer`], or add
//! layers of its own in between. [`ScimCore`] (from [`ScimServerBuilder::build_core`]) has
//! **no** authentication of its own: it refuses (500) every request that carries no
//! [`AuthContext`] in its extensions, so leaving out the authentication layer never turns
//! into an unauthenticated server by accident.
//!
//! [`ScimServerBuilder::build_core`]: super::ScimServerBuilder::build_core
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use http_body_util::{BodyExt, Full};
//! use scim_server::{PathPrefixTenants, ScimServer, TenantId};
//! use scim_server::auth::BearerTokens;
//! use scim_server::layers::{AuthLayer, BodyLimitLayer, TenantLayer, TimeoutLayer};
//! use scim_server::storage::memory::MemoryStorage;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let core = ScimServer::builder()
//!     .storage(Arc::new(MemoryStorage::new()))
//!     .build_core()
//!     .unwrap();
//! let tokens = BearerTokens::new();
//! tokens.add(TenantId::new("contoso").unwrap(), "contoso-secret-token-0123").unwrap();
//! let service = ServiceBuilder::new()
//!     .layer(TimeoutLayer::new(Duration::from_secs(10)))
//!     .layer(TenantLayer::new(PathPrefixTenants).base_path("/scim/v2"))
//!     .layer(AuthLayer::new(tokens))
//!     .layer(BodyLimitLayer::new(64 * 1024))
//!     .service(core);
//!
//! let request = http::Request::get("/scim/v2/contoso/Users")
//!     .header("Authorization", "Bearer contoso-secret-token-0123")
//!     .body(Full::new(bytes::Bytes::new()))
//!     .unwrap();
//! let response = service.clone().oneshot(request).await.unwrap();
//! assert_eq!(response.status(), 200);
//!
//! // No token: 401 with `WWW-Authenticate`, before any routing.
//! let request = http::Request::get("/scim/v2/contoso/Nowhere")
//!     .body(Full::new(bytes::Bytes::new()))
//!     .unwrap();
//! let response = service.oneshot(request).await.unwrap();
//! assert_eq!(response.status(), 401);
//! assert_eq!(response.headers()["www-authenticate"], "Bearer realm=\"scim\"");
//! # });
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body::Body;
use http_body_util::Full;
use scim_core::ScimError;

use super::request::{self, BoxError};
use super::response::{self, ScimResponse};
use crate::auth::{AuthContext, Authenticator};
use crate::tenancy::{TenantId, TenantResolver};

/// Default request timeout of [`ScimServer`](super::ScimServer): 30 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The boxed future of the layers' services.
pub type LayerFuture<E> = Pin<Box<dyn Future<Output = Result<ScimResponse, E>> + Send>>;

/// Where a request goes, as [`TenantLayer`] resolved it; put in the request extensions for the
/// inner services (an owned form of [`ResolvedTenant`](crate::tenancy::ResolvedTenant)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestTenant {
    /// The tenant.
    pub tenant: TenantId,
    /// The server's base path, e.g. `/scim/v2`, or `""` for `/`.
    pub base_path: String,
    /// The part of the path after the base path that named the tenant, e.g. `/contoso`, or
    /// `""`; resource locations include it.
    pub prefix: String,
    /// The rest of the path, e.g. `/Users/2819c223`: what the core service routes on.
    pub rest: String,
}

/// `/` → ``, `/scim/v2/` → `/scim/v2`, `scim` → `/scim`.
fn normalise_base(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() || trimmed.starts_with('/') {
        trimmed.to_string()
    } else {
        format!("/{trimmed}")
    }
}

/// The path below `base`, or `None` when the path is outside it.
fn below_base<'p>(base: &str, path: &'p str) -> Option<&'p str> {
    if base.is_empty() {
        return Some(path);
    }
    let rest = path.strip_prefix(base)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

fn log_refusal(req_path: &str, e: &ScimError) {
    tracing::debug!(path = %req_path, status = e.status(), detail = e.detail(), "SCIM request refused");
}

// ---------------------------------------------------------------------------------------
// Tenant

/// Checks the base path (404 outside it) and resolves the tenant with a [`TenantResolver`]
/// (its error is the answer, typically 404); on success inserts a [`RequestTenant`] into the
/// request extensions.
pub struct TenantLayer<R: ?Sized> {
    resolver: Arc<R>,
    base_path: Arc<str>,
}

impl<R: ?Sized> Clone for TenantLayer<R> {
    fn clone(&self) -> Self {
        TenantLayer {
            resolver: self.resolver.clone(),
            base_path: self.base_path.clone(),
        }
    }
}

impl<R: ?Sized> fmt::Debug for TenantLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantLayer")
            .field("base_path", &self.base_path)
            .finish_non_exhaustive()
    }
}

impl<R: TenantResolver> TenantLayer<R> {
    /// A tenant layer with the base path `/`.
    pub fn new(resolver: R) -> Self {
        Self::from_arc(Arc::new(resolver))
    }
}

impl<R: TenantResolver + ?Sized> TenantLayer<R> {
    /// A tenant layer from a shared resolver (e.g. an `Arc<dyn TenantResolver>`).
    pub fn from_arc(resolver: Arc<R>) -> Self {
        TenantLayer {
            resolver,
            base_path: Arc::from(""),
        }
    }

    /// The path the SCIM endpoints live under, e.g. `/scim/v2` (default `/`); a request
    /// outside it is 404.
    pub fn base_path(mut self, path: &str) -> Self {
        self.base_path = Arc::from(normalise_base(path));
        self
    }
}

impl<R: ?Sized, S> tower::Layer<S> for TenantLayer<R> {
    type Service = TenantService<R, S>;

    fn layer(&self, inner: S) -> Self::Service {
        TenantService {
            layer: self.clone(),
            inner,
        }
    }
}

/// The service of [`TenantLayer`].
pub struct TenantService<R: ?Sized, S> {
    layer: TenantLayer<R>,
    inner: S,
}

impl<R: ?Sized, S: Clone> Clone for TenantService<R, S> {
    fn clone(&self) -> Self {
        TenantService {
            layer: self.layer.clone(),
            inner: self.inner.clone(),
        }
    }
}

impl<R: ?Sized, S> fmt::Debug for TenantService<R, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantService")
            .field("layer", &self.layer)
            .finish_non_exhaustive()
    }
}

impl<R: TenantResolver + ?Sized> TenantLayer<R> {
    fn resolve(&self, parts: &http::request::Parts) -> Result<RequestTenant, ScimError> {
        let path = parts.uri.path();
        let below = below_base(&self.base_path, path)
            .ok_or_else(|| ScimError::not_found(format!("no SCIM endpoint at {path:?}")))?;
        let resolved = self.resolver.resolve(parts, below)?;
        Ok(RequestTenant {
            tenant: resolved.tenant,
            base_path: self.base_path.to_string(),
            prefix: resolved.prefix.to_string(),
            rest: resolved.rest.to_string(),
        })
    }
}

impl<R, S, B> tower::Service<Request<B>> for TenantService<R, S>
where
    R: TenantResolver + ?Sized,
    S: tower::Service<Request<B>, Response = ScimResponse> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = ScimResponse;
    type Error = S::Error;
    type Future = LayerFuture<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let (mut parts, body) = req.into_parts();
        match self.layer.resolve(&parts) {
            Ok(tenant) => {
                parts.extensions.insert(tenant);
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                Box::pin(inner.call(Request::from_parts(parts, body)))
            }
            Err(e) => {
                log_refusal(parts.uri.path(), &e);
                Box::pin(std::future::ready(Ok(response::error(&e))))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Auth

/// Authenticates the request head with an [`Authenticator`]: a failure is 401 with
/// `WWW-Authenticate: Bearer realm="scim"` (RFC 6750 §3), and so is a credential bound to
/// another tenant than the [`RequestTenant`] (when a [`TenantLayer`] ran before). On success
/// inserts the [`AuthContext`] into the request extensions.
///
/// It runs before routing, so an unauthenticated request gets 401, never a 404 that would
/// reveal which endpoints exist.
pub struct AuthLayer<A: ?Sized> {
    authenticator: Arc<A>,
}

impl<A: ?Sized> Clone for AuthLayer<A> {
    fn clone(&self) -> Self {
        AuthLayer {
            authenticator: self.authenticator.clone(),
        }
    }
}

impl<A: ?Sized> fmt::Debug for AuthLayer<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayer").finish_non_exhaustive()
    }
}

impl<A: Authenticator> AuthLayer<A> {
    /// An authentication layer.
    pub fn new(authenticator: A) -> Self {
        Self::from_arc(Arc::new(authenticator))
    }
}

impl<A: Authenticator + ?Sized> AuthLayer<A> {
    /// An authentication layer from a shared authenticator (e.g. an `Arc<dyn Authenticator>`).
    pub fn from_arc(authenticator: Arc<A>) -> Self {
        AuthLayer { authenticator }
    }
}

impl<A: ?Sized, S> tower::Layer<S> for AuthLayer<A> {
    type Service = AuthService<A, S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            authenticator: self.authenticator.clone(),
            inner,
        }
    }
}

/// The service of [`AuthLayer`].
pub struct AuthService<A: ?Sized, S> {
    authenticator: Arc<A>,
    inner: S,
}

impl<A: ?Sized, S: Clone> Clone for AuthService<A, S> {
    fn clone(&self) -> Self {
        AuthService {
            authenticator: self.authenticator.clone(),
            inner: self.inner.clone(),
        }
    }
}

impl<A: ?Sized, S> fmt::Debug for AuthService<A, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthService").finish_non_exhaustive()
    }
}

/// 401 when `auth` is bound to another tenant than `tenant`.
pub(crate) fn check_tenant_binding(auth: &AuthContext, tenant: &TenantId) -> Result<(), ScimError> {
    match &auth.tenant {
        Some(bound) if bound != tenant => Err(ScimError::new(
            401,
            None,
            "the credential is not valid for this tenant",
        )),
        _ => Ok(()),
    }
}

impl<A, S, B> tower::Service<Request<B>> for AuthService<A, S>
where
    A: Authenticator + ?Sized,
    S: tower::Service<Request<B>, Response = ScimResponse> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = ScimResponse;
    type Error = S::Error;
    type Future = LayerFuture<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let authenticator = self.authenticator.clone();
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            let checked = match authenticator.authenticate(&parts).await {
                Ok(auth) => match parts.extensions.get::<RequestTenant>() {
                    Some(t) => check_tenant_binding(&auth, &t.tenant).map(|()| auth),
                    None => Ok(auth),
                },
                Err(e) => Err(ScimError::new(401, None, e.detail().to_string())),
            };
            match checked {
                Ok(auth) => {
                    parts.extensions.insert(auth);
                    inner.call(Request::from_parts(parts, body)).await
                }
                Err(e) => {
                    log_refusal(parts.uri.path(), &e);
                    Ok(response::error(&e))
                }
            }
        })
    }
}

// ---------------------------------------------------------------------------------------
// Body limit

/// Reads the request body with a size limit, answering 413 (`application/scim+json`) when
/// it is larger (early when `Content-Length` says so) and 400 when it cannot be read; the
/// inner service gets the body as a [`Full<Bytes>`].
///
/// The body is read here, before routing: a body over the limit is 413 even when the
/// endpoint does not exist. [`ScimCore`](super::ScimCore) applies the builder's limits again
/// as a backstop, for stacks without this layer.
///
/// `POST /Bulk` has its own limit, `bulk.maxPayloadSize` (RFC 7644 §3.7.4), set with
/// [`bulk`](Self::bulk); the request is recognised by the [`RequestTenant`] path (or, without
/// a [`TenantLayer`] before, a path ending in `/Bulk`).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimitLayer {
    limit: usize,
    bulk: Option<(usize, usize)>,
}

impl BodyLimitLayer {
    /// A body limit of `limit` bytes, for every request including `/Bulk`.
    pub fn new(limit: usize) -> Self {
        BodyLimitLayer { limit, bulk: None }
    }

    /// The limit of `POST /Bulk`: `max_payload_size` bytes; `max_operations` only appears in
    /// the 413 detail, which carries both limits as RFC 7644 §3.7.4's example does.
    pub fn bulk(mut self, max_operations: usize, max_payload_size: usize) -> Self {
        self.bulk = Some((max_operations, max_payload_size));
        self
    }
}

impl<S> tower::Layer<S> for BodyLimitLayer {
    type Service = BodyLimitService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BodyLimitService {
            layer: *self,
            inner,
        }
    }
}

/// The service of [`BodyLimitLayer`].
#[derive(Debug, Clone)]
pub struct BodyLimitService<S> {
    layer: BodyLimitLayer,
    inner: S,
}

/// The 413 detail of `/Bulk`, with both limits (RFC 7644 §3.7.4).
pub(crate) fn bulk_too_large(
    what: &str,
    max_operations: usize,
    max_payload_size: usize,
) -> ScimError {
    ScimError::payload_too_large(format!(
        "{what}; the bulk limits are {{\"maxOperations\": {max_operations},\"maxPayloadSize\": {max_payload_size}}}"
    ))
}

fn is_bulk<B>(req: &Request<B>) -> bool {
    if req.method() != http::Method::POST {
        return false;
    }
    let rest = match req.extensions().get::<RequestTenant>() {
        Some(t) => t.rest.trim_end_matches('/'),
        None => {
            let path = req.uri().path().trim_end_matches('/');
            path.rfind('/').map_or(path, |i| &path[i..])
        }
    };
    rest.eq_ignore_ascii_case("/Bulk")
}

impl<S, B> tower::Service<Request<B>> for BodyLimitService<S>
where
    S: tower::Service<Request<Full<Bytes>>, Response = ScimResponse> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = ScimResponse;
    type Error = S::Error;
    type Future = LayerFuture<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let bulk = if is_bulk(&req) { self.layer.bulk } else { None };
        let limit = bulk.map_or(self.layer.limit, |(_, size)| size);
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            match request::read_body(&parts.headers, body, limit).await {
                Ok(bytes) => {
                    inner
                        .call(Request::from_parts(parts, Full::new(bytes)))
                        .await
                }
                Err(e) => {
                    let e = match bulk {
                        Some((ops, size)) if e.status() == 413 => bulk_too_large(
                            &format!(
                                "the bulk request body is larger than maxPayloadSize ({size} bytes)"
                            ),
                            ops,
                            size,
                        ),
                        _ => e,
                    };
                    log_refusal(parts.uri.path(), &e);
                    Ok(response::error(&e))
                }
            }
        })
    }
}

// ---------------------------------------------------------------------------------------
// Timeout

/// Answers 503 (a SCIM error, RFC 7644 §3.12) when the inner service takes longer than the
/// timeout, dropping its future; a slow storage or hook never holds a connection forever.
///
/// It uses Tokio's timer ([`tokio::time::timeout`]): the service must run on a Tokio
/// runtime with the time driver enabled.
#[derive(Debug, Clone, Copy)]
pub struct TimeoutLayer {
    timeout: Duration,
}

impl TimeoutLayer {
    /// A timeout layer.
    pub fn new(timeout: Duration) -> Self {
        TimeoutLayer { timeout }
    }
}

impl Default for TimeoutLayer {
    /// [`DEFAULT_TIMEOUT`].
    fn default() -> Self {
        TimeoutLayer::new(DEFAULT_TIMEOUT)
    }
}

impl<S> tower::Layer<S> for TimeoutLayer {
    type Service = TimeoutService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TimeoutService {
            timeout: self.timeout,
            inner,
        }
    }
}

/// The service of [`TimeoutLayer`].
#[derive(Debug, Clone)]
pub struct TimeoutService<S> {
    timeout: Duration,
    inner: S,
}

impl<S, B> tower::Service<Request<B>> for TimeoutService<S>
where
    S: tower::Service<Request<B>, Response = ScimResponse> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = ScimResponse;
    type Error = S::Error;
    type Future = LayerFuture<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let timeout = self.timeout;
        let deadline = tokio::time::Instant::now() + timeout;
        let (method, uri) = (req.method().clone(), req.uri().clone());
        let fut = self.inner.call(req);
        Box::pin(async move {
            let mut fut = std::pin::pin!(fut);
            // A request answered on its first poll (a read served from memory, an inline
            // point read) never arms a timer: arming and disarming one takes the timer
            // driver's lock twice, a share of such a request's own work.
            let first = std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await;
            if let Poll::Ready(res) = first {
                return res;
            }
            match tokio::time::timeout_at(deadline, fut).await {
                Ok(res) => res,
                Err(_) => {
                    let e = ScimError::new(
                        503,
                        None,
                        format!(
                            "the request took longer than the server's timeout of {} ms and was abandoned; retry later",
                            timeout.as_millis()
                        ),
                    );
                    let path = uri.path();
                    tracing::warn!(%method, %path, status = 503, "SCIM request timed out");
                    Ok(response::error(&e))
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_paths() {
        assert_eq!(normalise_base("/"), "");
        assert_eq!(normalise_base("/scim/v2/"), "/scim/v2");
        assert_eq!(normalise_base("scim"), "/scim");
        assert_eq!(below_base("", "/Users"), Some("/Users"));
        assert_eq!(below_base("/scim", "/scim/Users"), Some("/Users"));
        assert_eq!(below_base("/scim", "/scim"), Some(""));
        assert_eq!(below_base("/scim", "/scimx/Users"), None);
        assert_eq!(below_base("/scim", "/Users"), None);
    }

    fn req(method: &str, path: &str, rest: Option<&str>) -> Request<()> {
        let mut r = Request::builder()
            .method(method)
            .uri(path)
            .body(())
            .unwrap();
        if let Some(rest) = rest {
            r.extensions_mut().insert(RequestTenant {
                tenant: TenantId::default_tenant(),
                base_path: String::new(),
                prefix: String::new(),
                rest: rest.to_string(),
            });
        }
        r
    }

    #[test]
    fn bulk_requests_are_recognised() {
        assert!(is_bulk(&req("POST", "/Bulk", None)));
        assert!(is_bulk(&req("POST", "/t/bulk/", None)));
        assert!(!is_bulk(&req("GET", "/Bulk", None)));
        assert!(!is_bulk(&req("POST", "/Users", None)));
        // With a resolved tenant, only the routed path counts: a user whose id is "Bulk".
        assert!(!is_bulk(&req("POST", "/Users/Bulk", Some("/Users/Bulk"))));
        assert!(is_bulk(&req("POST", "/t/Bulk", Some("/Bulk"))));
    }
}
