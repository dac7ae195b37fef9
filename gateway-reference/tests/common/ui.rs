//! The Identity Manager over HTTP as a browser sees it: a reply's status, headers and page,
//! its cookies and the page's CSRF field, from the router (`oneshot`) or a running gateway.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use axum::Router;
use axum::body::Body;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// A response, read whole.
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Reply {
    /// A running gateway's response (reqwest).
    pub async fn of(resp: reqwest::Response) -> Reply {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.text().await.unwrap();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A header's value, or "" when it is missing.
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }

    /// The `Location` header, or "".
    pub fn location(&self) -> String {
        self.header("location")
    }

    /// Every `Set-Cookie` header.
    pub fn cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }

    /// The `Set-Cookie` header of the cookie `name`, if it set one.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.cookies()
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))
    }

    /// `name=value` of a cookie it set (for a `Cookie` header).
    pub fn cookie_pair(&self, name: &str) -> String {
        self.set_cookie(name)
            .unwrap_or_else(|| panic!("no {name} cookie: {:?}", self.headers))
            .split(';')
            .next()
            .unwrap()
            .to_string()
    }

    /// The value of the page's hidden `csrf` field.
    pub fn csrf(&self) -> String {
        let field = r#"name="csrf" value=""#;
        let at = self.body.find(field).expect("a csrf field") + field.len();
        self.body[at..].split('"').next().unwrap().to_string()
    }
}

/// Sends `req` to the router; with `body`, as a form.
pub async fn send(app: &Router, req: http::request::Builder, body: Option<String>) -> Reply {
    let req = match body {
        Some(b) => req
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(b)),
        None => req.body(Body::empty()),
    };
    let resp = app.clone().oneshot(req.unwrap()).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// `GET uri`, with the `Cookie` header `cookie` if any.
pub async fn get(app: &Router, uri: &str, cookie: Option<&str>) -> Reply {
    let mut req = http::Request::builder().uri(uri);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    send(app, req, None).await
}
