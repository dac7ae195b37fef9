//! The `tower::Service` implementations: [`ScimServer`] (the layers of
//! [`super::layers`] around [`ScimCore`]) and [`ScimCore`] (routing, body, handler).

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, Method, Request};
use http_body::Body;
use scim_core::ScimError;

use scim_core::schema::SchemaRegistry;

use super::handlers::{self, Ctx};
use super::layers::{RequestTenant, check_tenant_binding};
use super::request::{self, BoxError};
use super::response::{self, ScimResponse};
use super::routing::{self, Route};
use super::{Inner, ScimServer};
use crate::auth::AuthContext;

/// The header a TLS-terminating proxy sets to the scheme the client used.
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

impl<B> tower::Service<Request<B>> for ScimServer
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = ScimResponse;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<ScimResponse, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        // Every service of the stack is always ready (and a clone is cheap), so a clone
        // per call keeps `ScimServer` itself always ready.
        let mut stack = self.stack.clone();
        Box::pin(async move {
            let handled = CatchPanic(Box::pin(async move { stack.call(req).await })).await;
            handled.unwrap_or_else(|()| Ok(panicked()))
        })
    }
}

fn panicked() -> ScimResponse {
    tracing::error!("a SCIM request handler panicked");
    response::error(&ScimError::internal("internal error"))
}

/// The core SCIM service: routing, request bodies and the endpoint handlers, without the
/// base path, tenant resolution, authentication, body limit and timeout of
/// [`ScimServer`] (those are the [layers](super::layers)). Build it with
/// [`ScimServerBuilder::build_core`](super::ScimServerBuilder::build_core) and stack the
/// layers around it.
///
/// It reads from the request extensions what the outer layers found:
/// - a [`RequestTenant`] ([`TenantLayer`](super::layers::TenantLayer)): the tenant, the base
///   path and the path to route;
/// - an [`AuthContext`]: who is calling, from
///   [`AuthLayer`](super::layers::AuthLayer) or a layer of your own. A credential bound to
///   another tenant is 401 here too.
///
/// A request without either is refused with 500 (a misconfigured stack), never served
/// unauthenticated. The body limit of the builder applies here as well, as a backstop for
/// stacks without [`BodyLimitLayer`](super::layers::BodyLimitLayer). A panic inside a
/// handler becomes a 500.
#[derive(Clone)]
pub struct ScimCore {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for ScimCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScimCore").finish_non_exhaustive()
    }
}

impl ScimCore {
    /// The schemas and resource types this service serves.
    pub fn registry(&self) -> &SchemaRegistry {
        &self.inner.registry
    }
}

impl<B> tower::Service<Request<B>> for ScimCore
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = ScimResponse;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<ScimResponse, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let inner = self.inner.clone();
        Box::pin(async move {
            let handled = CatchPanic(Box::pin(async move { inner.handle(req).await })).await;
            Ok(handled.unwrap_or_else(|()| panicked()))
        })
    }
}

/// Turns a panic while polling the inner future into `Err(())`, so that a bug answers 500
/// instead of tearing down the connection.
struct CatchPanic<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, ()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let fut = self.get_mut().0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err(())),
        }
    }
}

impl Inner {
    pub(crate) async fn handle<B>(&self, req: Request<B>) -> ScimResponse
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        // For the log lines only: a clone of the method and URI shares their bytes.
        let method = req.method().clone();
        let uri = req.uri().clone();
        let path = uri.path();
        match self.pipeline(req).await {
            Ok(res) => {
                tracing::debug!(%method, %path, status = res.status().as_u16(), "SCIM request");
                res
            }
            Err(e) => {
                if e.status() >= 500 {
                    tracing::warn!(%method, %path, status = e.status(), detail = e.detail(), "SCIM request failed");
                } else {
                    tracing::debug!(%method, %path, status = e.status(), detail = e.detail(), "SCIM request refused");
                }
                response::error(&e)
            }
        }
    }

    async fn pipeline<B>(&self, req: Request<B>) -> Result<ScimResponse, ScimError>
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let (mut parts, body) = req.into_parts();
        let resolved = parts.extensions.remove::<RequestTenant>().ok_or_else(|| {
            tracing::error!(
                "ScimCore got a request without a RequestTenant: stack a TenantLayer around it"
            );
            ScimError::internal("the server is misconfigured: no tenant was resolved")
        })?;
        let auth = parts.extensions.remove::<AuthContext>().ok_or_else(|| {
            tracing::error!(
                "ScimCore got a request without an AuthContext: stack an AuthLayer (or a layer that inserts an AuthContext) around it"
            );
            ScimError::internal("the server is misconfigured: the request was not authenticated")
        })?;
        check_tenant_binding(&auth, &resolved.tenant)?;
        let route = routing::route(&self.registry, &resolved.rest)?;
        if !route.allows(&parts.method) {
            return Ok(response::method_not_allowed(route.allowed()));
        }
        let body: Bytes = if matches!(parts.method, Method::POST | Method::PUT | Method::PATCH) {
            request::check_content_type(&parts.headers)?;
            if route == Route::Bulk {
                // RFC 7644 §3.7.4: the bulk body limit is `maxPayloadSize`.
                let limit = self.bulk_max_payload_size;
                request::read_body(&parts.headers, body, limit)
                    .await
                    .map_err(|e| {
                        if e.status() == 413 {
                            handlers::bulk::too_large(
                                self,
                                &format!("the bulk request body is larger than maxPayloadSize ({limit} bytes)"),
                            )
                        } else {
                            e
                        }
                    })?
            } else {
                request::read_body(&parts.headers, body, self.max_body_bytes).await?
            }
        } else {
            Bytes::new()
        };
        let base_url = self.public_base(&parts.headers, &resolved.base_path, &resolved.prefix);
        let ctx = Ctx {
            tenant: resolved.tenant,
            auth,
            base_url,
            query: request::query_pairs(parts.uri.query()),
            method: parts.method,
            headers: parts.headers,
        };
        self.dispatch(&ctx, route, body).await
    }

    /// The absolute URL of the base path followed by `prefix` (the tenant's path, if any): the
    /// configured public URL, else from `Host`.
    fn public_base(&self, headers: &HeaderMap, base_path: &str, prefix: &str) -> String {
        // `concat` sizes the `String` once for all its parts.
        if let Some(url) = &self.public_url {
            return [url, prefix].concat();
        }
        let host = headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                !h.is_empty()
                    && h.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                    })
            });
        match host {
            Some(host) => {
                let https = headers
                    .get(&X_FORWARDED_PROTO)
                    .and_then(|h| h.to_str().ok())
                    .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
                let scheme = if https { "https://" } else { "http://" };
                [scheme, host, base_path, prefix].concat()
            }
            None => [base_path, prefix].concat(),
        }
    }

    async fn dispatch(
        &self,
        ctx: &Ctx,
        route: Route<'_>,
        body: Bytes,
    ) -> Result<ScimResponse, ScimError> {
        // Only the reads' futures are held inline: the others are kilobytes each (a bulk
        // request's most of all), and unboxed they would size, and be copied with, every
        // request's future. A write or a bulk request pays one allocation for it.
        match route {
            Route::ServiceProviderConfig => handlers::discovery::service_provider_config(self, ctx),
            Route::ResourceTypes(name) => {
                handlers::discovery::resource_types(self, ctx, name.as_deref())
            }
            Route::Schemas(urn) => handlers::discovery::schemas(self, ctx, urn.as_deref()),
            Route::Bulk => Box::pin(handlers::bulk::bulk(self, ctx, &body)).await,
            Route::RootSearch => Box::pin(handlers::list::root_search(self, ctx, &body)).await,
            Route::Search(rt) => Box::pin(handlers::list::search(self, ctx, rt, &body)).await,
            Route::Collection(rt) => match ctx.method {
                Method::POST => Box::pin(handlers::resource::create(self, ctx, rt, &body)).await,
                _ => handlers::list::list(self, ctx, rt).await,
            },
            Route::Resource(rt, id) => {
                handlers::resource::dispatch(self, ctx, rt, &id, &body).await
            }
            Route::Me => Box::pin(handlers::me::me(self, ctx, &body)).await,
        }
    }
}
