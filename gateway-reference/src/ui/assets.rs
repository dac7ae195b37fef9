//! The Identity Manager's static files, compiled into the binary: one stylesheet and one
//! script (progressive enhancement: every page works without it). Their URLs carry a hash of
//! their content, so browsers may cache them for a year and still never use a stale one.

use std::sync::OnceLock;

use axum::extract::{Path, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// A file served under `/ui/assets/`.
pub struct Asset {
    name: &'static str,
    body: &'static str,
    content_type: &'static str,
    path: OnceLock<String>,
    version: OnceLock<String>,
}

impl Asset {
    const fn new(name: &'static str, body: &'static str, content_type: &'static str) -> Self {
        Asset {
            name,
            body,
            content_type,
            path: OnceLock::new(),
            version: OnceLock::new(),
        }
    }

    /// The first 16 hex digits of the SHA-256 of the content.
    pub fn version(&self) -> &str {
        self.version.get_or_init(|| {
            Sha256::digest(self.body.as_bytes())
                .iter()
                .take(8)
                .map(|b| format!("{b:02x}"))
                .collect()
        })
    }

    /// The URL path pages link to: `/ui/assets/{name}?v={version}`.
    pub fn path(&self) -> &str {
        self.path
            .get_or_init(|| format!("/ui/assets/{}?v={}", self.name, self.version()))
    }
}

/// The stylesheet.
pub static CSS: Asset = Asset::new(
    "ui.css",
    include_str!("../../assets/ui.css"),
    "text/css; charset=utf-8",
);
/// The script.
pub static JS: Asset = Asset::new(
    "ui.js",
    include_str!("../../assets/ui.js"),
    "text/javascript; charset=utf-8",
);

static ALL: [&Asset; 2] = [&CSS, &JS];

/// The `?v=` of an asset URL.
#[derive(serde::Deserialize)]
pub struct Version {
    v: Option<String>,
}

/// `GET /ui/assets/{name}`: immutable for a year when `v` names the current content.
pub async fn serve(Path(name): Path<String>, Query(q): Query<Version>) -> Response {
    let Some(asset) = ALL.iter().find(|a| a.name == name) else {
        return (StatusCode::NOT_FOUND, "no such asset\n").into_response();
    };
    let cache = if q.v.as_deref() == Some(asset.version()) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = asset.body.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}
