//! Where the consumer delivers changes: a JSON-lines file or a webhook.

use std::io::Write;
use std::path::PathBuf;

use async_trait::async_trait;
use serde_json::{Value, json};

/// Why a delivery failed. The consumer then keeps its position, so the same changes are
/// delivered again on the next attempt.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Writing the file failed.
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The webhook could not be reached.
    #[error("webhook {url}: {source}")]
    Http {
        /// The URL.
        url: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// The webhook answered with a status other than 2xx.
    #[error("webhook {url} answered {status}")]
    Refused {
        /// The URL.
        url: String,
        /// Its status.
        status: u16,
    },
}

/// A destination for the changes of one page, each as a JSON object (see
/// [`crate::Consumer`] for its fields). `deliver` returns only when the page is durably
/// delivered (or fails); the consumer records its position after that.
#[async_trait]
pub trait Sink: Send {
    /// Delivers one page of changes, in order.
    async fn deliver(&mut self, changes: &[Value]) -> Result<(), SinkError>;
}

/// Appends each change as one line of JSON to a file, and `fsync`s it before returning.
#[derive(Debug)]
pub struct JsonLinesFile {
    path: PathBuf,
}

impl JsonLinesFile {
    /// Appends to `path` (created on first delivery).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        JsonLinesFile { path: path.into() }
    }
}

#[async_trait]
impl Sink for JsonLinesFile {
    async fn deliver(&mut self, changes: &[Value]) -> Result<(), SinkError> {
        let io = |source| SinkError::Io {
            path: self.path.clone(),
            source,
        };
        let mut out = Vec::new();
        for c in changes {
            out.extend_from_slice(c.to_string().as_bytes());
            out.push(b'\n');
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(io)?;
        f.write_all(&out).map_err(io)?;
        f.sync_data().map_err(io)
    }
}

/// POSTs each page to a URL as `{"changes": [...]}` (JSON); any status other than 2xx is a
/// failed delivery, retried later with the same changes (the receiver should deduplicate
/// by `(tenant, seq)`).
#[derive(Debug, Clone)]
pub struct Webhook {
    url: String,
    client: reqwest::Client,
    bearer: Option<String>,
}

impl Webhook {
    /// A webhook at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Webhook {
            url: url.into(),
            client: reqwest::Client::new(),
            bearer: None,
        }
    }

    /// Sends `Authorization: Bearer <token>` with every delivery.
    pub fn bearer(mut self, token: impl Into<String>) -> Self {
        self.bearer = Some(token.into());
        self
    }
}

#[async_trait]
impl Sink for Webhook {
    async fn deliver(&mut self, changes: &[Value]) -> Result<(), SinkError> {
        let mut req = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .body(json!({ "changes": changes }).to_string());
        if let Some(t) = &self.bearer {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.map_err(|source| SinkError::Http {
            url: self.url.clone(),
            source,
        })?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err(SinkError::Refused {
                url: self.url.clone(),
                status: res.status().as_u16(),
            })
        }
    }
}
