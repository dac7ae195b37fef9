//! The `tower::Service` implementation and the request pipeline: base path, tenant,
//! authentication, routing, body, handler.

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, Method, Request};
use http_body::Body;
use scim_core::ScimError;

use super::handlers::{self, Ctx};
use super::request::{self, BoxError};
use super::response::{self, ScimResponse};
use super::routing::{self, Route};
use super::{Inner, ScimServer};

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
        let inner = self.inner.clone();
        Box::pin(async move {
            let handled = CatchPanic(Box::pin(async move { inner.handle(req).await })).await;
            Ok(handled.unwrap_or_else(|()| {
                tracing::error!("a SCIM request handler panicked");
                response::error(&ScimError::internal("internal error"))
            }))
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
        let method = req.method().clone();
        let path = req.uri().path().to_string();
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

    /// The path below the base path, or `None` when the path is outside it.
    fn below_base<'p>(&self, path: &'p str) -> Option<&'p str> {
        if self.base_path.is_empty() {
            return Some(path);
        }
        let rest = path.strip_prefix(self.base_path.as_str())?;
        (rest.is_empty() || rest.starts_with('/')).then_some(rest)
    }

    async fn pipeline<B>(&self, req: Request<B>) -> Result<ScimResponse, ScimError>
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let (parts, body) = req.into_parts();
        let path = parts.uri.path();
        let below = self
            .below_base(path)
            .ok_or_else(|| ScimError::not_found(format!("no SCIM endpoint at {path:?}")))?;
        let resolved = self.tenants.resolve(&parts, below)?;
        let auth = self
            .authenticator
            .authenticate(&parts)
            .await
            .map_err(|e| ScimError::new(401, None, e.detail().to_string()))?;
        if let Some(bound) = &auth.tenant {
            if *bound != resolved.tenant {
                return Err(ScimError::new(
                    401,
                    None,
                    "the credential is not valid for this tenant",
                ));
            }
        }
        let route = routing::route(&self.registry, resolved.rest)?;
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
        let base_url = format!("{}{}", self.public_base(&parts.headers), resolved.prefix);
        let ctx = Ctx {
            tenant: resolved.tenant.clone(),
            auth,
            base_url,
            method: parts.method.clone(),
            headers: parts.headers.clone(),
            query: request::query_pairs(parts.uri.query()),
        };
        self.dispatch(&ctx, route, body).await
    }

    /// The absolute URL of the base path: the configured public URL, else from `Host`.
    fn public_base(&self, headers: &HeaderMap) -> String {
        if let Some(url) = &self.public_url {
            return url.clone();
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
                    .get("x-forwarded-proto")
                    .and_then(|h| h.to_str().ok())
                    .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
                let scheme = if https { "https" } else { "http" };
                format!("{scheme}://{host}{}", self.base_path)
            }
            None => self.base_path.clone(),
        }
    }

    async fn dispatch(
        &self,
        ctx: &Ctx,
        route: Route,
        body: Bytes,
    ) -> Result<ScimResponse, ScimError> {
        match route {
            Route::ServiceProviderConfig => handlers::discovery::service_provider_config(self, ctx),
            Route::ResourceTypes(name) => {
                handlers::discovery::resource_types(self, ctx, name.as_deref())
            }
            Route::Schemas(urn) => handlers::discovery::schemas(self, ctx, urn.as_deref()),
            Route::Bulk => handlers::bulk::bulk(self, ctx, &body).await,
            Route::RootSearch => handlers::list::root_search(self, ctx, &body).await,
            Route::Search(rt) => handlers::list::search(self, ctx, &rt, &body).await,
            Route::Collection(rt) => match ctx.method {
                Method::POST => handlers::resource::create(self, ctx, &rt, &body).await,
                _ => handlers::list::list(self, ctx, &rt).await,
            },
            Route::Resource(rt, id) => {
                handlers::resource::dispatch(self, ctx, &rt, &id, &body).await
            }
            Route::Me => handlers::me::me(self, ctx, &body).await,
        }
    }
}
