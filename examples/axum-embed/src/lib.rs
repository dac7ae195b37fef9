//! Embedding [`ScimServer`] in an axum application.
//!
//! The application keeps its own routes (here `GET /health`) and serves SCIM 2.0 (RFC 7644)
//! under [`SCIM_BASE`] (`/scim/v2`). [`ScimServer`] is a `tower::Service`, so axum mounts it
//! with [`Router::route_service`]; it answers every request itself (errors are SCIM error
//! responses, never service errors), including its own authentication.
//!
//! `route_service` hands the request over with its full path, so the server is built with
//! `base_path("/scim/v2")`: it then finds `/Users` below that prefix and writes `Location` and
//! `meta.location` as `http://<Host>/scim/v2/Users/<id>`. (With `Router::nest_service`, axum
//! strips the prefix before the server sees the request; the server would then keep the
//! default base path `/` and need [`public_url`](scim_server::server::ScimServerBuilder::public_url)
//! set to the full `https://.../scim/v2` for its URLs to be right.)

use std::error::Error;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use scim_server::auth::BearerTokens;
use scim_server::{ScimServer, Storage};

/// Where the SCIM endpoints live in this application.
pub const SCIM_BASE: &str = "/scim/v2";

/// Builds the SCIM server on `storage` (e.g. from [`scim_server::storage::open`]), with one
/// bearer token and the endpoints under [`SCIM_BASE`]. `public_url` (e.g.
/// `https://app.example.com/scim/v2`) is what `Location` and `meta.location` start with;
/// without it they are built from the request's `Host` header.
///
/// Fails when the token is too short (see [`BearerTokens::single`]).
pub fn scim_server(
    storage: Arc<dyn Storage>,
    token: &str,
    public_url: Option<&str>,
) -> Result<ScimServer, Box<dyn Error>> {
    let tokens = BearerTokens::single(token)?;
    let mut builder = ScimServer::builder()
        .storage(storage)
        .authenticator(tokens)
        .base_path(SCIM_BASE);
    if let Some(url) = public_url {
        builder = builder.public_url(url);
    }
    Ok(builder.build()?)
}

/// The application: its own routes plus the SCIM server under [`SCIM_BASE`].
pub fn app(scim: ScimServer) -> Router {
    Router::new()
        .route("/health", get(health))
        // Every path below /scim/v2 goes to the SCIM server, unchanged.
        .route_service(&format!("{SCIM_BASE}/{{*rest}}"), scim)
}

/// `GET /health`: the application's own route, not behind SCIM authentication.
async fn health() -> &'static str {
    "ok"
}
