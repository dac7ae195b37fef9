//! Cross-cutting protections of every Identity Manager response and request, as axum
//! middleware:
//!
//! - [`headers`]: `Content-Security-Policy` (scripts and styles only from the gateway, no
//!   inline script, `frame-ancestors 'none'`), `X-Frame-Options: DENY`,
//!   `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin`,
//!   `Cross-Origin-Opener-Policy: same-origin`, `Cache-Control: no-store` (pages show
//!   tenant data), and `Strict-Transport-Security` behind HTTPS.
//! - [`csrf`]: every state-changing request (any method but GET, HEAD and OPTIONS) must come
//!   from the gateway's own pages: the browser's `Sec-Fetch-Site` must say `same-origin` and
//!   `Origin`, when sent, must be the gateway's; and it must carry the session's CSRF token
//!   (the form field `csrf` or the `X-CSRF-Token` header). The sign-in form, which has no
//!   session yet, carries the token of a short-lived `gw_signin` cookie instead (double
//!   submit). OWASP's CSRF Prevention Cheat Sheet describes both defences.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::UiState;
use super::error::UiError;
use super::session::{cookie_name, csrf_token, read_cookie};

/// The cookie that carries the sign-in form's CSRF token.
pub const SIGNIN_COOKIE: &str = "gw_signin";
/// The largest form body the guard reads to find the token.
const MAX_FORM: usize = 2 * 1024 * 1024;

/// The policy of every page.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
                       img-src 'self' data:; connect-src 'self'; form-action 'self'; \
                       frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// Adds the security headers to every response.
pub async fn headers(State(state): State<UiState>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.secure_cookies {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// Compares two secrets in time independent of where they differ.
pub(super) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The origin (`scheme://host[:port]`) of a URL.
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

/// Refuses cross-site and token-less state-changing requests.
pub async fn csrf(State(state): State<UiState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let forged = || {
        UiError::Forbidden(
            "This form came from another site or an old page. Reload the page and try again."
                .into(),
        )
        .into_response()
    };
    let h = req.headers();
    if let Some(site) = h.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && site != "same-origin"
    {
        return forged();
    }
    if let Some(origin) = h.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let ours = origin_of(&state.admin.public_url);
        let host = h.get(header::HOST).and_then(|v| v.to_str().ok());
        let same_host = host.is_some_and(|host| origin_of(origin).ends_with(&format!("://{host}")));
        if !same(origin, ours) && !same_host {
            return forged();
        }
    }
    let expected = if req.uri().path() == "/ui/signin" {
        read_cookie(h, SIGNIN_COOKIE).map(str::to_string)
    } else {
        read_cookie(h, cookie_name(state.secure_cookies)).map(csrf_token)
    };
    let Some(expected) = expected else {
        if req.uri().path() == "/ui/signin" {
            return UiError::Forbidden(
                "The sign-in form has expired or cookies are off. Reload the page and try again."
                    .into(),
            )
            .into_response();
        }
        // No session: the page's own extractor answers 401.
        return next.run(req).await;
    };
    if let Some(token) = h.get("x-csrf-token").and_then(|v| v.to_str().ok()) {
        return if same(token, &expected) {
            next.run(req).await
        } else {
            forged()
        };
    }
    let is_form = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return forged();
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_FORM).await else {
        return UiError::BadRequest("the form is too large".into()).into_response();
    };
    let ok = form_urlencoded::parse(&bytes).any(|(k, v)| k == "csrf" && same(&v, &expected));
    if !ok {
        return forged();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_drop_the_path() {
        assert_eq!(
            origin_of("https://gw.example.com/x/y"),
            "https://gw.example.com"
        );
        assert_eq!(origin_of("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }
}
