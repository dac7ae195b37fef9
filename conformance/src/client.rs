//! The HTTP client the checks use: [`ScimClient`]. It records every exchange (method, URL,
//! request headers and body, status, response headers and body) so that a failure report can
//! show exactly what was sent and what came back.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use serde_json::Value;

/// The media type SCIM messages use (RFC 7644 §3.1, §8.1).
pub const SCIM_MEDIA_TYPE: &str = "application/scim+json";

/// How the suite authenticates to the server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// A bearer token sent as `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// Extra headers sent on every request (`("X-Api-Key", "secret")`, or an `Authorization`
    /// header of another scheme).
    pub headers: Vec<(String, String)>,
}

impl Credentials {
    /// No credentials.
    pub fn none() -> Self {
        Self::default()
    }

    /// A bearer token.
    pub fn bearer(token: impl Into<String>) -> Self {
        Credentials {
            token: Some(token.into()),
            headers: Vec::new(),
        }
    }

    /// Adds a header sent on every request.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// One HTTP request and its response, as recorded for reports. Credentials are redacted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exchange {
    /// The request method (`GET`, `POST`, ...).
    pub method: String,
    /// The full request URL.
    pub url: String,
    /// The request headers the suite set (credentials shown as `***`).
    pub request_headers: Vec<(String, String)>,
    /// The request body, if any.
    pub request_body: Option<String>,
    /// The response status, or `None` when no response came (connection error, timeout).
    pub status: Option<u16>,
    /// The response headers.
    pub response_headers: Vec<(String, String)>,
    /// The response body (possibly empty).
    pub response_body: String,
    /// The transport error, when there was no response.
    pub error: Option<String>,
    /// How long the exchange took, in milliseconds.
    pub millis: u64,
}

impl fmt::Display for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "> {} {}", self.method, self.url)?;
        for (k, v) in &self.request_headers {
            writeln!(f, "> {k}: {v}")?;
        }
        if let Some(body) = &self.request_body {
            writeln!(f, ">")?;
            for line in body.lines() {
                writeln!(f, "> {line}")?;
            }
        }
        match (self.status, &self.error) {
            (Some(status), _) => {
                writeln!(f, "< {status}")?;
                for (k, v) in &self.response_headers {
                    writeln!(f, "< {k}: {v}")?;
                }
                if !self.response_body.is_empty() {
                    writeln!(f, "<")?;
                    for line in truncate(&self.response_body, 4000).lines() {
                        writeln!(f, "< {line}")?;
                    }
                }
                Ok(())
            }
            (None, Some(err)) => writeln!(f, "< (no response: {err})"),
            (None, None) => writeln!(f, "< (no response)"),
        }
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A response as the checks see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// Response headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: String,
    /// The body parsed as JSON, when it is JSON.
    pub json: Option<Value>,
}

impl Response {
    /// The first value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The JSON body, or `Value::Null` when the body is not JSON.
    pub fn body_json(&self) -> &Value {
        const NULL: Value = Value::Null;
        self.json.as_ref().unwrap_or(&NULL)
    }

    /// A top-level attribute of the JSON body, looked up case-insensitively (RFC 7643 §2.1:
    /// attribute names are case-insensitive).
    pub fn attr(&self, name: &str) -> Option<&Value> {
        crate::json::get_ci(self.body_json(), name)
    }

    /// The media type of the `Content-Type` header without parameters, lower case.
    pub fn media_type(&self) -> Option<String> {
        self.header("content-type").map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
    }
}

/// Why a request got no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportError {
    /// What kind of failure it was.
    pub kind: TransportErrorKind,
    /// The underlying error text, with its causes.
    pub message: String,
}

/// The kind of a [`TransportError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportErrorKind {
    /// The connection was refused or the host could not be resolved.
    Connect,
    /// The TLS handshake failed (certificate not trusted, wrong host name, ...).
    Tls,
    /// No response within the timeout.
    Timeout,
    /// Anything else (invalid URL, broken response).
    Other,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TransportError {}

fn classify(e: &reqwest::Error) -> TransportError {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    let lower = message.to_ascii_lowercase();
    let kind = if e.is_timeout() {
        TransportErrorKind::Timeout
    } else if [
        "certificate",
        "tls",
        "handshake",
        "corrupt message",
        "alert",
        "invalid peer",
        "unknownissuer",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
    {
        TransportErrorKind::Tls
    } else if e.is_connect() {
        TransportErrorKind::Connect
    } else {
        TransportErrorKind::Other
    };
    TransportError { kind, message }
}

/// The recording HTTP client. Cheap to clone: clones share the connection pool but each keeps
/// its own exchange log (see [`ScimClient::fork`]).
#[derive(Debug, Clone)]
pub struct ScimClient {
    http: reqwest::Client,
    base: String,
    credentials: Arc<Credentials>,
    log: Arc<Mutex<Vec<Exchange>>>,
}

impl ScimClient {
    /// A client for the SCIM service at `base_url` (e.g. `https://example.com/scim/v2`).
    pub fn new(
        base_url: &str,
        credentials: Credentials,
        timeout: Duration,
    ) -> Result<Self, TransportError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| classify(&e))?;
        Ok(ScimClient {
            http,
            base: base_url.trim_end_matches('/').to_string(),
            credentials: Arc::new(credentials),
            log: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// A client sharing this one's connections and credentials with a fresh, empty log.
    pub fn fork(&self) -> Self {
        ScimClient {
            http: self.http.clone(),
            base: self.base.clone(),
            credentials: Arc::clone(&self.credentials),
            log: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Takes the exchanges recorded so far, leaving the log empty.
    pub fn take_exchanges(&self) -> Vec<Exchange> {
        match self.log.lock() {
            Ok(mut log) => std::mem::take(&mut *log),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }

    /// The absolute URL for `path`: absolute URLs pass through, anything else is appended to
    /// the base URL (`/Users` → `https://host/scim/v2/Users`).
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else if path.starts_with('/') || path.starts_with('?') {
            format!("{}{}", self.base, path)
        } else {
            format!("{}/{}", self.base, path)
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Result<Response, TransportError> {
        self.send(Method::GET, path, None, &[]).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Response, TransportError> {
        self.send(Method::POST, path, Some(body), &[]).await
    }

    /// `PUT path` with a JSON body.
    pub async fn put(&self, path: &str, body: &Value) -> Result<Response, TransportError> {
        self.send(Method::PUT, path, Some(body), &[]).await
    }

    /// `PATCH path` with a JSON body.
    pub async fn patch(&self, path: &str, body: &Value) -> Result<Response, TransportError> {
        self.send(Method::PATCH, path, Some(body), &[]).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> Result<Response, TransportError> {
        self.send(Method::DELETE, path, None, &[]).await
    }

    /// Sends a request with an optional JSON body (sent as `application/scim+json`) and extra
    /// headers, and records the exchange.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        extra_headers: &[(&str, &str)],
    ) -> Result<Response, TransportError> {
        let text = body.map(|b| serde_json::to_string_pretty(b).unwrap_or_default());
        self.send_raw(method, path, text, extra_headers).await
    }

    /// Sends a request with a raw body (for malformed-input checks) and records the exchange.
    /// A `Content-Type` in `extra_headers` replaces the default `application/scim+json`.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
        extra_headers: &[(&str, &str)],
    ) -> Result<Response, TransportError> {
        let url = self.url(path);
        let mut headers = HeaderMap::new();
        let mut shown: Vec<(String, String)> = Vec::new();
        let mut set = |name: &str, value: &str, secret: bool| {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                headers.insert(n, v);
                shown.push((
                    name.to_string(),
                    if secret { "***".into() } else { value.into() },
                ));
            }
        };
        set("Accept", SCIM_MEDIA_TYPE, false);
        if body.is_some()
            && !extra_headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            set("Content-Type", SCIM_MEDIA_TYPE, false);
        }
        if let Some(token) = &self.credentials.token {
            set("Authorization", &format!("Bearer {token}"), true);
        }
        for (k, v) in &self.credentials.headers {
            set(k, v, true);
        }
        for (k, v) in extra_headers {
            set(k, v, false);
        }
        let mut request = self.http.request(method.clone(), &url).headers(headers);
        if let Some(b) = &body {
            request = request.body(b.clone());
        }
        let started = Instant::now();
        let result = request.send().await;
        let mut exchange = Exchange {
            method: method.to_string(),
            url: url.clone(),
            request_headers: shown,
            request_body: body,
            status: None,
            response_headers: Vec::new(),
            response_body: String::new(),
            error: None,
            millis: 0,
        };
        let outcome = match result {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let headers: Vec<(String, String)> = resp
                    .headers()
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().to_string(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        )
                    })
                    .collect();
                match resp.text().await {
                    Ok(text) => {
                        let json = serde_json::from_str(&text).ok();
                        exchange.status = Some(status);
                        exchange.response_headers = headers.clone();
                        exchange.response_body = text.clone();
                        Ok(Response {
                            status,
                            headers,
                            body: text,
                            json,
                        })
                    }
                    Err(e) => Err(classify(&e)),
                }
            }
            Err(e) => Err(classify(&e)),
        };
        if let Err(e) = &outcome {
            exchange.error = Some(e.message.clone());
        }
        exchange.millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match self.log.lock() {
            Ok(mut log) => log.push(exchange),
            Err(poisoned) => poisoned.into_inner().push(exchange),
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_urls() {
        let c = ScimClient::new(
            "http://h/scim/v2/",
            Credentials::none(),
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(c.url("/Users"), "http://h/scim/v2/Users");
        assert_eq!(c.url("Users"), "http://h/scim/v2/Users");
        assert_eq!(c.url("https://x/y"), "https://x/y");
    }

    #[test]
    fn exchange_display_shows_request_and_response() {
        let e = Exchange {
            method: "GET".into(),
            url: "http://h/Users".into(),
            request_headers: vec![("Authorization".into(), "***".into())],
            request_body: None,
            status: Some(404),
            response_headers: vec![],
            response_body: "{}".into(),
            error: None,
            millis: 1,
        };
        let s = e.to_string();
        assert!(s.contains("> GET http://h/Users"));
        assert!(s.contains("< 404"));
        assert!(s.contains("***"));
    }
}
