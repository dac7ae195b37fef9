//! The activation page of the welcome link: `GET /activate/{token}` and `POST` to the same
//! path, server-rendered HTML without JavaScript.
//!
//! - [`Activation::SetPassword`] (the embedded CRM): a form asks for the password twice;
//!   the POST consumes the link and sets it with [`Crm::set_password`].
//! - [`Activation::Redirect`] (SuperOffice): a button; the POST consumes the link and
//!   forwards to the CRM's sign-in page.
//!
//! The GET never consumes the link (mail scanners fetch links). A used or expired link is
//! 410 with a page that says so; an unknown one 404. Every page carries
//! `Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; form-action 'self';
//! frame-ancestors 'none'`, `Cache-Control: no-store`, `X-Frame-Options: DENY` and
//! `Referrer-Policy: no-referrer` (the token is in the path).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;

use super::templates::html_escape;
use super::welcome::{self, Link, LinkState};
use crate::crm::{Activation, Crm};
use crate::db::Db;

/// The shortest password the page accepts (NIST SP 800-63B §3.1.1.2 asks for at least 8).
pub const MIN_PASSWORD: usize = 10;
/// The longest.
pub const MAX_PASSWORD: usize = 256;

/// What the page needs.
#[derive(Clone)]
pub struct ActivateState {
    /// The gateway's database (the links).
    pub db: Db,
    /// The CRM that activates the users.
    pub crm: Arc<dyn Crm>,
}

/// The routes (`/activate/{token}`), to merge into the gateway's router.
pub fn router(state: ActivateState) -> Router {
    Router::new()
        .route("/activate/{token}", get(show).post(submit))
        .with_state(state)
}

const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>body{{font-family:-apple-system,'Segoe UI',Helvetica,Arial,\
         sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1f2328;line-height:1.5}}\
         input{{display:block;width:100%;padding:.5rem;margin:.25rem 0 1rem;box-sizing:border-box}}\
         button,a.button{{padding:.6rem 1.2rem;background:#0b5cad;color:#fff;border:0;\
         border-radius:4px;text-decoration:none;font-size:1rem}}.error{{color:#b42318}}</style>\
         </head><body><h1>{title}</h1>{body}</body></html>",
        title = html_escape(title),
    );
    let mut r = (status, html).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

fn unknown() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Link not found",
        "<p>This activation link is not valid. Check that you opened the whole link from the \
         mail, or ask your administrator for a new one.</p>",
    )
}

fn gone(state: &LinkState) -> Response {
    let (title, text) = match state {
        LinkState::Used(_) => (
            "Link already used",
            "This activation link was used already; each link works once. If you activated \
             your account, sign in as usual. Otherwise ask your administrator for a new link.",
        ),
        _ => (
            "Link expired",
            "This activation link has expired. Ask your administrator for a new one.",
        ),
    };
    page(StatusCode::GONE, title, &format!("<p>{text}</p>"))
}

fn unavailable() -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Please try again",
        "<p>The account could not be activated right now. Your link still works: please try \
         again in a few minutes.</p>",
    )
}

fn password_form(link: &Link, error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", html_escape(e)))
        .unwrap_or_default();
    format!(
        "<p>Choose a password for <strong>{user}</strong> (at least {MIN_PASSWORD} \
         characters).</p>{error}<form method=\"post\">\
         <input type=\"text\" name=\"username\" value=\"{user}\" autocomplete=\"username\" \
         hidden readonly>\
         <label for=\"password\">Password</label>\
         <input id=\"password\" type=\"password\" name=\"password\" required \
         minlength=\"{MIN_PASSWORD}\" maxlength=\"{MAX_PASSWORD}\" autocomplete=\"new-password\">\
         <label for=\"confirm\">Repeat the password</label>\
         <input id=\"confirm\" type=\"password\" name=\"confirm\" required \
         minlength=\"{MIN_PASSWORD}\" maxlength=\"{MAX_PASSWORD}\" autocomplete=\"new-password\">\
         <button type=\"submit\">Activate my account</button></form>",
        user = html_escape(&link.user_name),
    )
}

async fn valid_link(state: &ActivateState, token: &str) -> Result<Link, Response> {
    match welcome::lookup(&state.db, token, Utc::now()).await {
        Ok(LinkState::Valid(link)) => Ok(link),
        Ok(LinkState::Unknown) => Err(unknown()),
        Ok(other) => Err(gone(&other)),
        Err(e) => {
            tracing::warn!(error = %e, "activation: reading the link failed");
            Err(unavailable())
        }
    }
}

async fn activation(state: &ActivateState, link: &Link) -> Result<Activation, Response> {
    state.crm.activation(&link.tenant).await.map_err(|e| {
        tracing::warn!(tenant = %link.tenant, error = %e, "activation: the CRM failed");
        unavailable()
    })
}

async fn show(State(state): State<ActivateState>, Path(token): Path<String>) -> Response {
    let link = match valid_link(&state, &token).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    match activation(&state, &link).await {
        Ok(Activation::SetPassword) => page(
            StatusCode::OK,
            "Activate your account",
            &password_form(&link, None),
        ),
        Ok(Activation::Redirect { .. }) => page(
            StatusCode::OK,
            "Activate your account",
            &format!(
                "<p>Your account <strong>{}</strong> is ready. Continue to sign in to the CRM \
                 (this link then stops working).</p><form method=\"post\">\
                 <button type=\"submit\">Continue to sign in</button></form>",
                html_escape(&link.user_name)
            ),
        ),
        Err(r) => r,
    }
}

fn field(body: &[u8], name: &str) -> String {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

async fn submit(
    State(state): State<ActivateState>,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let link = match valid_link(&state, &token).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let how = match activation(&state, &link).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let password = field(&body, "password");
    if let Activation::SetPassword = how {
        let problem = if password.chars().count() < MIN_PASSWORD {
            Some(format!(
                "The password needs at least {MIN_PASSWORD} characters."
            ))
        } else if password.chars().count() > MAX_PASSWORD {
            Some(format!(
                "The password may have at most {MAX_PASSWORD} characters."
            ))
        } else if password != field(&body, "confirm") {
            Some("The two passwords differ.".to_string())
        } else {
            None
        };
        if let Some(p) = problem {
            return page(
                StatusCode::BAD_REQUEST,
                "Activate your account",
                &password_form(&link, Some(&p)),
            );
        }
    }
    let used_at = match welcome::consume(&state.db, &token, Utc::now()).await {
        Ok(Some(at)) => at,
        // Another request used it between our lookup and now.
        Ok(None) => return gone(&LinkState::Used(String::new())),
        Err(e) => {
            tracing::warn!(error = %e, "activation: consuming the link failed");
            return unavailable();
        }
    };
    match how {
        Activation::SetPassword => {
            match state
                .crm
                .set_password(&link.tenant, link.associate_id, &password)
                .await
            {
                Ok(()) => page(
                    StatusCode::OK,
                    "Your account is active",
                    &format!(
                        "<p>Your password is set. Sign in as <strong>{}</strong>.</p>",
                        html_escape(&link.user_name)
                    ),
                ),
                Err(e) => {
                    tracing::warn!(tenant = %link.tenant, error = %e, "activation: set_password");
                    if let Err(e) = welcome::release(&state.db, &token, &used_at).await {
                        tracing::warn!(error = %e, "activation: releasing the link failed");
                    }
                    unavailable()
                }
            }
        }
        Activation::Redirect { url } => {
            let url = html_escape(&url);
            page(
                StatusCode::OK,
                "Your account is active",
                &format!(
                    "<meta http-equiv=\"refresh\" content=\"0; url={url}\">\
                     <p>Continue to <a class=\"button\" href=\"{url}\">sign in</a>.</p>"
                ),
            )
        }
    }
}
