//! The Identity Manager's errors, rendered as HTML pages with the right status.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::assets;
use crate::db::DbError;

/// Why a page could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    /// Not signed in: a `GET` goes to the sign-in page and comes back to `next` after it.
    #[error("sign in first")]
    SignIn {
        /// The path (and query) to return to.
        next: String,
    },
    /// Not signed in, on a request that cannot be redirected (a form post, a fetch).
    #[error("your session has ended; sign in again")]
    Unauthorized,
    /// The form's CSRF token or origin is wrong (a stale page or a forged request).
    #[error("{0}")]
    Forbidden(String),
    /// No such page, or a tenant this account does not administer (which must not be told
    /// apart from one that does not exist).
    #[error("{0}")]
    NotFound(String),
    /// The request is wrong in a way the user can fix.
    #[error("{0}")]
    BadRequest(String),
    /// Too many failed sign-ins: try again after this many seconds.
    #[error("too many failed sign-ins; try again in {0} s")]
    TooManyAttempts(u64),
    /// A system the gateway depends on is unavailable.
    #[error("{0}")]
    Unavailable(String),
    /// The gateway failed; the cause is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
    /// The gateway's database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A template failed to render.
    #[error(transparent)]
    Render(#[from] askama::Error),
}

impl From<crate::admin::ApiError> for UiError {
    fn from(e: crate::admin::ApiError) -> Self {
        match e.status {
            400 | 409 | 422 => UiError::BadRequest(e.detail),
            401 => UiError::Unauthorized,
            403 => UiError::Forbidden(e.detail),
            404 => UiError::NotFound(e.detail),
            503 => UiError::Unavailable(e.detail),
            _ => UiError::Internal(e.detail),
        }
    }
}

#[derive(Template)]
#[template(path = "ui/error.html")]
struct ErrorPage<'a> {
    css: &'a str,
    title: &'a str,
    detail: &'a str,
    sign_in: bool,
}

impl UiError {
    fn status(&self) -> StatusCode {
        match self {
            UiError::SignIn { .. } => StatusCode::SEE_OTHER,
            UiError::Unauthorized => StatusCode::UNAUTHORIZED,
            UiError::Forbidden(_) => StatusCode::FORBIDDEN,
            UiError::NotFound(_) => StatusCode::NOT_FOUND,
            UiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            UiError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            UiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            UiError::Internal(_) | UiError::Db(_) | UiError::Render(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        if let UiError::SignIn { next } = &self {
            let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
            return Redirect::to(&format!("/ui/signin?next={next}")).into_response();
        }
        let status = self.status();
        let detail = if status.is_server_error() && !matches!(self, UiError::Unavailable(_)) {
            tracing::error!(error = %crate::app::with_causes(&self), "ui: request failed");
            "The gateway failed to answer. The cause is in its log; try again.".to_string()
        } else {
            self.to_string()
        };
        let title = status.canonical_reason().unwrap_or("Error");
        let page = ErrorPage {
            css: assets::CSS.path(),
            title,
            detail: &detail,
            sign_in: matches!(self, UiError::Unauthorized),
        };
        let body = page.render().unwrap_or_else(|_| detail.clone());
        let mut response = (status, axum::response::Html(body)).into_response();
        if let UiError::TooManyAttempts(secs) = self
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}
