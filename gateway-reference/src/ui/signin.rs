//! Sign-in with a local account, sign-out, and the limit on failed sign-ins.
//!
//! Failed sign-ins are counted per sign-in name and per client address in a sliding
//! [`WINDOW`]; past [`PER_NAME`] (or [`PER_IP`]) failures, sign-in answers 429 with
//! `Retry-After` until the window has passed (OWASP Authentication Cheat Sheet, "Protect
//! Against Automated Attacks"). The counts live in the process: behind several gateway
//! processes each counts its own.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use scim_core::casefold::fold;
use serde::Deserialize;

use super::UiState;
use super::accounts;
use super::assets;
use super::error::UiError;
use super::security::SIGNIN_COOKIE;
use super::session::{self, cookie_name, read_cookie, set_cookie};
use crate::tenants::generate_token;

/// Failures are counted over this window.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failures per sign-in name before it is locked for the window.
pub const PER_NAME: u32 = 5;
/// Failures per client address before it is locked for the window.
pub const PER_IP: u32 = 20;
/// Keys kept at most (the oldest windows are dropped first).
const MAX_KEYS: usize = 100_000;

/// Counts failed sign-ins.
#[derive(Debug, Default)]
pub struct SignInLimiter {
    windows: Mutex<HashMap<String, (u32, Instant)>>,
}

impl SignInLimiter {
    /// `Err(seconds)` while any of `keys` (with its limit) is locked.
    fn check(&self, keys: &[(String, u32)]) -> Result<(), u64> {
        let now = Instant::now();
        let windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        for (key, limit) in keys {
            if let Some((n, first)) = windows.get(key)
                && *n >= *limit
                && now.duration_since(*first) < WINDOW
            {
                return Err((WINDOW - now.duration_since(*first)).as_secs().max(1));
            }
        }
        Ok(())
    }

    fn fail(&self, keys: &[(String, u32)]) {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() >= MAX_KEYS {
            windows.retain(|_, (_, first)| now.duration_since(*first) < WINDOW);
        }
        for (key, _) in keys {
            let entry = windows.entry(key.clone()).or_insert((0, now));
            if now.duration_since(entry.1) >= WINDOW {
                *entry = (0, now);
            }
            entry.0 += 1;
        }
    }

    fn clear(&self, key: &str) {
        self.windows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

/// The client's address, when the server recorded it (`ConnectInfo`).
pub struct PeerIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(PeerIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

#[derive(Template)]
#[template(path = "ui/signin.html")]
struct SignInPage<'a> {
    css: &'a str,
    js: &'a str,
    csrf: &'a str,
    next: &'a str,
    user_name: &'a str,
    error: Option<&'a str>,
    oidc: Option<&'a str>,
}

/// `?next=` of the sign-in page.
#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Only paths of the Identity Manager itself are followed after sign-in (no open redirect).
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with("/ui/") && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/ui/",
    }
}

fn render(
    state: &UiState,
    status: StatusCode,
    csrf: &str,
    next: &str,
    user_name: &str,
    error: Option<&str>,
) -> Result<Response, UiError> {
    let page = SignInPage {
        css: assets::CSS.path(),
        js: assets::JS.path(),
        csrf,
        next,
        user_name,
        error,
        oidc: state.oidc.as_deref().map(|p| p.config.label.as_str()),
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// `GET /ui/signin`: the form (or straight on, when signed in already).
pub async fn form(
    State(state): State<UiState>,
    headers: HeaderMap,
    Query(q): Query<Next>,
) -> Result<Response, UiError> {
    let next = safe_next(q.next.as_deref());
    if let Some(token) = read_cookie(&headers, cookie_name(state.secure_cookies))
        && session::load(&state.admin.db, token).await?.is_some()
    {
        return Ok(Redirect::to(next).into_response());
    }
    let csrf = generate_token();
    let mut response = render(&state, StatusCode::OK, &csrf, next, "", None)?;
    let cookie = format!(
        "{SIGNIN_COOKIE}={csrf}; Path=/ui/signin; HttpOnly; SameSite=Strict; Max-Age=3600{}",
        if state.secure_cookies { "; Secure" } else { "" }
    );
    if let Ok(v) = cookie.parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

/// The sign-in form's fields.
#[derive(Deserialize)]
pub struct SignInForm {
    user_name: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

/// `POST /ui/signin`.
pub async fn submit(
    State(state): State<UiState>,
    PeerIp(ip): PeerIp,
    Form(form): Form<SignInForm>,
) -> Result<Response, UiError> {
    let next = safe_next(form.next.as_deref()).to_string();
    let name_key = format!("name:{}", fold(form.user_name.trim()));
    let mut keys = vec![(name_key.clone(), PER_NAME)];
    if let Some(ip) = ip {
        keys.push((format!("ip:{ip}"), PER_IP));
    }
    if let Err(secs) = state.limiter.check(&keys) {
        tracing::warn!(?ip, "ui: sign-in refused, too many failures");
        return Err(UiError::TooManyAttempts(secs));
    }
    let Some(account) = accounts::verify(&state.admin.db, &form.user_name, &form.password).await?
    else {
        state.limiter.fail(&keys);
        tracing::info!(?ip, "ui: failed sign-in");
        return render(
            &state,
            StatusCode::UNAUTHORIZED,
            &form.csrf,
            &next,
            form.user_name.trim(),
            Some("The name or the password is wrong."),
        );
    };
    state.limiter.clear(&name_key);
    tracing::info!(account = %account.user_name, "ui: signed in");
    signed_in(&state, account.id, &next).await
}

/// Starts a session for `account` and sends the browser on to `next` (also used after an
/// OpenID Connect sign-in).
pub async fn signed_in(state: &UiState, account: i64, next: &str) -> Result<Response, UiError> {
    let token = session::create(&state.admin.db, account).await?;
    let mut response = Redirect::to(safe_next(Some(next))).into_response();
    let h = response.headers_mut();
    let cookie = set_cookie(
        cookie_name(state.secure_cookies),
        &token,
        state.secure_cookies,
        Some(session::ABSOLUTE),
    );
    if let Ok(v) = cookie.parse() {
        h.append(header::SET_COOKIE, v);
    }
    if let Ok(v) = format!("{SIGNIN_COOKIE}=; Path=/ui/signin; Max-Age=0").parse() {
        h.append(header::SET_COOKIE, v);
    }
    Ok(response)
}

/// `POST /ui/signout`: ends the session.
pub async fn sign_out(
    State(state): State<UiState>,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    if let Some(token) = read_cookie(&headers, cookie_name(state.secure_cookies)) {
        session::destroy(&state.admin.db, token).await?;
    }
    let mut response = Redirect::to("/ui/signin").into_response();
    let cookie = set_cookie(
        cookie_name(state.secure_cookies),
        "",
        state.secure_cookies,
        None,
    );
    if let Ok(v) = cookie.parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_identity_manager_paths_are_followed() {
        assert_eq!(safe_next(Some("/ui/t/acme/preview")), "/ui/t/acme/preview");
        assert_eq!(safe_next(Some("https://evil.example/ui/")), "/ui/");
        assert_eq!(safe_next(Some("//evil.example/ui/")), "/ui/");
        assert_eq!(safe_next(Some("/ui/\\evil")), "/ui/");
        assert_eq!(safe_next(None), "/ui/");
    }

    #[test]
    fn a_name_is_locked_after_its_failures_and_cleared_by_a_success() {
        let l = SignInLimiter::default();
        let keys = vec![("name:ada".to_string(), PER_NAME)];
        for _ in 0..PER_NAME {
            assert!(l.check(&keys).is_ok());
            l.fail(&keys);
        }
        let secs = l.check(&keys).unwrap_err();
        assert!(secs > 0 && secs <= WINDOW.as_secs(), "{secs}");
        l.clear("name:ada");
        assert!(l.check(&keys).is_ok());
    }
}
