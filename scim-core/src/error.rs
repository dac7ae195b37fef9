//! The one SCIM error type, rendered as RFC 7644 §3.12 JSON.
//!
//! RFC 7644 §3.12: "SCIM error responses ... contain a JSON body using the
//! `urn:ietf:params:scim:api:messages:2.0:Error` schema ... `status` The HTTP status code
//! ... expressed as a JSON string. REQUIRED. `scimType` A SCIM detail error keyword.
//! OPTIONAL. `detail` A detailed human-readable message. OPTIONAL."
//!
//! ```
//! use scim_core::{ScimError, ScimType};
//!
//! let err = ScimError::invalid_filter("unexpected ')' at position 12");
//! assert_eq!(err.status(), 400);
//! assert_eq!(err.scim_type(), Some(ScimType::InvalidFilter));
//! let json = err.to_json();
//! assert_eq!(json["status"], "400");
//! assert_eq!(json["scimType"], "invalidFilter");
//! assert_eq!(json["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

/// The schema URI of a SCIM error message (RFC 7644 §3.12).
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The `scimType` detail keywords of RFC 7644 §3.12, Table 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ScimType {
    /// "The specified filter syntax was invalid ... or the specified attribute and filter
    /// comparison combination is not supported." (400)
    InvalidFilter,
    /// "The specified filter yields many more results than the server is willing to calculate
    /// or process." (400)
    TooMany,
    /// "One or more of the attribute values are already in use or are reserved." (409)
    Uniqueness,
    /// "The attempted modification is not compatible with the target attribute's mutability or
    /// current state." (400)
    Mutability,
    /// "The request body message structure was invalid or did not conform to the request
    /// schema." (400)
    InvalidSyntax,
    /// "The 'path' attribute was invalid or malformed." (400)
    InvalidPath,
    /// "The specified 'path' did not yield an attribute or attribute value that could be
    /// operated on." (400)
    NoTarget,
    /// "A required value was missing, or the value specified was not compatible with the
    /// operation or attribute type." (400)
    InvalidValue,
    /// "The specified SCIM protocol version is not supported." (400)
    InvalidVers,
    /// "The specified request cannot be completed, due to the passing of sensitive ... information
    /// in a request URI." (403)
    Sensitive,
    /// RFC 9865 §3: the cursor value is invalid or was not issued by this server. (400)
    InvalidCursor,
    /// RFC 9865 §3: the cursor has expired. (400)
    ExpiredCursor,
    /// RFC 9865 §3: the requested `count` is more than the server allows with cursors. (400)
    InvalidCount,
}

impl ScimType {
    /// The keyword exactly as it appears on the wire (`invalidFilter`, `noTarget`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
            ScimType::InvalidCursor => "invalidCursor",
            ScimType::ExpiredCursor => "expiredCursor",
            ScimType::InvalidCount => "invalidCount",
        }
    }

    /// The HTTP status RFC 7644 §3.12 (and RFC 9865) pairs with this keyword.
    pub fn default_status(self) -> u16 {
        match self {
            ScimType::Uniqueness => 409,
            ScimType::Sensitive => 403,
            _ => 400,
        }
    }
}

impl fmt::Display for ScimType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A SCIM protocol error: an HTTP status, an optional `scimType` keyword and a human-readable
/// detail. Every fallible operation in this crate returns it, and it renders itself as the
/// RFC 7644 §3.12 JSON body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScimError {
    status: u16,
    scim_type: Option<ScimType>,
    detail: String,
}

impl fmt::Display for ScimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scim_type {
            Some(t) => write!(f, "{} {}: {}", self.status, t, self.detail),
            None => write!(f, "{}: {}", self.status, self.detail),
        }
    }
}

impl ScimError {
    /// An error with an explicit status, keyword and detail.
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    /// An error carrying `scim_type` with the status RFC 7644 §3.12 assigns to it.
    pub fn with_type(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::new(scim_type.default_status(), Some(scim_type), detail)
    }

    /// 400 `invalidFilter`.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::with_type(ScimType::InvalidFilter, detail)
    }
    /// 400 `invalidPath`.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::with_type(ScimType::InvalidPath, detail)
    }
    /// 400 `noTarget`.
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::with_type(ScimType::NoTarget, detail)
    }
    /// 400 `invalidValue`.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::with_type(ScimType::InvalidValue, detail)
    }
    /// 400 `invalidSyntax`.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::with_type(ScimType::InvalidSyntax, detail)
    }
    /// 400 `mutability`.
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::with_type(ScimType::Mutability, detail)
    }
    /// 409 `uniqueness`.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::with_type(ScimType::Uniqueness, detail)
    }
    /// 400 `tooMany`.
    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::with_type(ScimType::TooMany, detail)
    }
    /// 400 with no `scimType` (a malformed request that no keyword describes).
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(400, None, detail)
    }
    /// 404 Not Found.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, None, detail)
    }
    /// 409 Conflict without a keyword (e.g. a version conflict).
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(409, None, detail)
    }
    /// 412 Precondition Failed (RFC 7644 §3.14, `If-Match` mismatch).
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(412, None, detail)
    }
    /// 413 Payload Too Large.
    pub fn payload_too_large(detail: impl Into<String>) -> Self {
        Self::new(413, None, detail)
    }
    /// 500 Internal Server Error (for failures that are not the client's fault).
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(500, None, detail)
    }
    /// 501 Not Implemented (an operation the service provider does not support).
    pub fn not_implemented(detail: impl Into<String>) -> Self {
        Self::new(501, None, detail)
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        self.status
    }
    /// The `scimType` keyword, if any.
    pub fn scim_type(&self) -> Option<ScimType> {
        self.scim_type
    }
    /// The human-readable detail.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// Is this a 400 `invalidFilter`?
    pub fn is_invalid_filter(&self) -> bool {
        self.scim_type == Some(ScimType::InvalidFilter)
    }
    /// Is this a 400 `invalidPath`?
    pub fn is_invalid_path(&self) -> bool {
        self.scim_type == Some(ScimType::InvalidPath)
    }
    /// Is this a 409 `uniqueness`?
    pub fn is_uniqueness(&self) -> bool {
        self.scim_type == Some(ScimType::Uniqueness)
    }

    /// The error as the RFC 7644 §3.12 message (the `status` is a JSON string, as the RFC's
    /// examples print it).
    pub fn to_message(&self) -> ErrorMessage {
        ErrorMessage {
            schemas: vec![ERROR_SCHEMA.to_string()],
            status: self.status.to_string(),
            scim_type: self.scim_type,
            detail: if self.detail.is_empty() {
                None
            } else {
                Some(self.detail.clone())
            },
        }
    }

    /// The error as RFC 7644 §3.12 JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self.to_message()).unwrap_or(serde_json::Value::Null)
    }
}

/// The wire form of a SCIM error (RFC 7644 §3.12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorMessage {
    /// Always `["urn:ietf:params:scim:api:messages:2.0:Error"]`.
    pub schemas: Vec<String>,
    /// The HTTP status as a string (`"400"`).
    pub status: String,
    /// The detail keyword.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scim_type: Option<ScimType>,
    /// Human-readable detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl From<ErrorMessage> for ScimError {
    fn from(m: ErrorMessage) -> Self {
        ScimError {
            status: m.status.trim().parse().unwrap_or(500),
            scim_type: m.scim_type,
            detail: m.detail.unwrap_or_default(),
        }
    }
}

/// `Result<T, ScimError>`.
pub type ScimResult<T> = Result<T, ScimError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_rfc_7644_3_12_example() {
        // RFC 7644 §3.12: {"schemas": [...Error], "scimType":"mutability",
        // "detail":"Attribute 'id' is readOnly", "status": "400"}
        let e = ScimError::mutability("Attribute 'id' is readOnly");
        let expected = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "scimType": "mutability",
            "detail": "Attribute 'id' is readOnly",
            "status": "400"
        });
        assert_eq!(e.to_json(), expected);
    }

    #[test]
    fn statuses_follow_table_9() {
        assert_eq!(ScimError::uniqueness("x").status(), 409);
        assert_eq!(ScimType::Sensitive.default_status(), 403);
        assert_eq!(ScimError::no_target("x").status(), 400);
    }

    #[test]
    fn parses_back_from_wire() {
        let m: ErrorMessage = serde_json::from_value(serde_json::json!({
            "schemas": [ERROR_SCHEMA], "status": "404", "detail": "Resource 2819c223 not found"
        }))
        .unwrap();
        let e = ScimError::from(m);
        assert_eq!(e.status(), 404);
        assert_eq!(e.scim_type(), None);
    }
}
