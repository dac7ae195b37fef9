//! The admin API's error body: `{"error": "...", "detail": "..."}`.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::db::DbError;
use crate::tenants::TenantError;

/// An admin API error: a status and a JSON body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ApiError {
    /// The HTTP status.
    #[serde(skip)]
    pub status: u16,
    /// A short machine-readable code (`unauthorized`, `forbidden`, `not_found`, `conflict`,
    /// `bad_request`, `internal`).
    pub error: String,
    /// What went wrong, for people.
    pub detail: String,
}

impl ApiError {
    fn new(status: u16, error: &str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            error: error.to_string(),
            detail: detail.into(),
        }
    }

    /// 400.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(400, "bad_request", detail)
    }

    /// 401.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(401, "unauthorized", detail)
    }

    /// 403.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(403, "forbidden", detail)
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, "not_found", detail)
    }

    /// 409.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(409, "conflict", detail)
    }

    /// 503: a system the gateway depends on (the CRM) is unavailable.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(503, "unavailable", detail)
    }

    /// 500; the cause goes to the log, not to the client.
    pub fn internal(cause: &dyn std::error::Error) -> Self {
        tracing::error!(error = %cause, "admin API");
        Self::new(500, "internal", "the gateway failed; see its log")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut r = (status, Json(&self)).into_response();
        if self.status == 401 {
            r.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"scim-gateway-admin\""),
            );
        }
        r
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        ApiError::internal(&e)
    }
}

impl From<TenantError> for ApiError {
    fn from(e: TenantError) -> Self {
        match e {
            TenantError::Exists(_) => ApiError::conflict(e.to_string()),
            TenantError::NotFound(_) => ApiError::not_found(e.to_string()),
            TenantError::InvalidName(_) => ApiError::bad_request(e.to_string()),
            TenantError::Db(db) => ApiError::internal(&db),
        }
    }
}

impl From<crate::tenants::RevokeAdminTokenError> for ApiError {
    fn from(e: crate::tenants::RevokeAdminTokenError) -> Self {
        use crate::tenants::RevokeAdminTokenError as E;
        match e {
            E::NotFound(_) => ApiError::not_found(e.to_string()),
            E::InvalidId(_) => ApiError::bad_request(e.to_string()),
            E::Db(db) => db.into(),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        let status = e.status().as_u16();
        let status = if (400..500).contains(&status) {
            status
        } else {
            400
        };
        ApiError::new(status, "bad_request", e.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        ApiError::bad_request(e.body_text())
    }
}
