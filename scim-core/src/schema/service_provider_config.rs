//! The service provider configuration (RFC 7643 §5), served from `/ServiceProviderConfig`,
//! with the RFC 9865 `pagination` attribute.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::SERVICE_PROVIDER_CONFIG_SCHEMA;
use super::meta::Meta;

fn default_schemas() -> Vec<String> {
    vec![SERVICE_PROVIDER_CONFIG_SCHEMA.to_owned()]
}

/// The `/ServiceProviderConfig` document (RFC 7643 §5): "a standardized representation of
/// the service provider's configuration" so that clients can discover which optional SCIM
/// features are supported.
///
/// The RFC marks `patch`, `bulk`, `filter`, `changePassword`, `sort`, `etag` and
/// `authenticationSchemes` REQUIRED; they are always written, and read as "not supported"
/// when a server leaves them out, so that a client can still read a sloppy server's document.
///
/// ```
/// use scim_core::schema::{AuthenticationScheme, ServiceProviderConfig};
///
/// let mut spc = ServiceProviderConfig::default();
/// spc.patch.supported = true;
/// spc.filter.supported = true;
/// spc.filter.max_results = 200;
/// spc.authentication_schemes.push(AuthenticationScheme::oauth_bearer_token());
/// let json = serde_json::to_value(&spc).unwrap();
/// assert_eq!(json["filter"], serde_json::json!({"supported": true, "maxResults": 200}));
/// assert_eq!(json["schemas"][0], "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceProviderConfig {
    /// `["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]`.
    #[serde(default = "default_schemas")]
    pub schemas: Vec<String>,
    /// "An HTTP-addressable URL pointing to the service provider's human-consumable help
    /// documentation." OPTIONAL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation_uri: Option<String>,
    /// "A complex type that specifies PATCH configuration options." REQUIRED.
    #[serde(default)]
    pub patch: Supported,
    /// "A complex type that specifies bulk configuration options." REQUIRED.
    #[serde(default)]
    pub bulk: BulkConfig,
    /// "A complex type that specifies FILTER options." REQUIRED.
    #[serde(default)]
    pub filter: FilterConfig,
    /// "A complex type that specifies configuration options related to changing a
    /// password." REQUIRED.
    #[serde(default)]
    pub change_password: Supported,
    /// "A complex type that specifies Sort configuration options." REQUIRED.
    #[serde(default)]
    pub sort: Supported,
    /// "A complex type that specifies ETag configuration options." REQUIRED.
    #[serde(default)]
    pub etag: Supported,
    /// "A multi-valued complex type that specifies supported authentication scheme
    /// properties." REQUIRED.
    #[serde(default)]
    pub authentication_schemes: Vec<AuthenticationScheme>,
    /// RFC 9865 §4: "A complex type that indicates pagination configuration options."
    /// OPTIONAL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination: Option<PaginationConfig>,
    /// Resource metadata (`resourceType` `ServiceProviderConfig`, `location`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Members this type does not know (extensions), kept as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for ServiceProviderConfig {
    /// Nothing optional supported, no authentication schemes listed.
    fn default() -> Self {
        ServiceProviderConfig {
            schemas: default_schemas(),
            documentation_uri: None,
            patch: Supported::default(),
            bulk: BulkConfig::default(),
            filter: FilterConfig::default(),
            change_password: Supported::default(),
            sort: Supported::default(),
            etag: Supported::default(),
            authentication_schemes: Vec::new(),
            pagination: None,
            meta: None,
            extra: Map::new(),
        }
    }
}

/// A `{"supported": bool}` option (`patch`, `changePassword`, `sort`, `etag`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Supported {
    /// "A Boolean value specifying whether or not the operation is supported." REQUIRED.
    #[serde(default)]
    pub supported: bool,
}

impl Supported {
    /// `{"supported": true}`.
    pub const YES: Supported = Supported { supported: true };
    /// `{"supported": false}`.
    pub const NO: Supported = Supported { supported: false };
}

/// The `bulk` option (RFC 7643 §5).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct BulkConfig {
    /// "A Boolean value specifying whether or not the operation is supported." REQUIRED.
    #[serde(default)]
    pub supported: bool,
    /// "An integer value specifying the maximum number of operations." REQUIRED.
    #[serde(default)]
    pub max_operations: u64,
    /// "An integer value specifying the maximum payload size in bytes." REQUIRED.
    #[serde(default)]
    pub max_payload_size: u64,
}

/// The `filter` option (RFC 7643 §5).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct FilterConfig {
    /// "A Boolean value specifying whether or not the operation is supported." REQUIRED.
    #[serde(default)]
    pub supported: bool,
    /// "An integer value specifying the maximum number of resources returned in a
    /// response." REQUIRED.
    #[serde(default)]
    pub max_results: u64,
}

/// One entry of `authenticationSchemes` (RFC 7643 §5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationScheme {
    /// "The authentication scheme." Canonical values (RFC 7643 §5): `oauth`, `oauth2`,
    /// `oauthbearertoken`, `httpbasic`, `httpdigest`. REQUIRED by §5, absent from some
    /// servers' documents, so optional here.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub scheme_type: Option<String>,
    /// "The common authentication scheme name, e.g., HTTP Basic." REQUIRED.
    pub name: String,
    /// "A description of the authentication scheme." REQUIRED.
    #[serde(default)]
    pub description: String,
    /// "An HTTP-addressable URL pointing to the authentication scheme's specification."
    /// OPTIONAL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_uri: Option<String>,
    /// "An HTTP-addressable URL pointing to the authentication scheme's usage
    /// documentation." OPTIONAL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation_uri: Option<String>,
    /// Whether this is the preferred scheme (RFC 7643 §8.5 example). OPTIONAL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    /// Members this type does not know, kept as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AuthenticationScheme {
    /// The OAuth bearer token scheme of RFC 7643 §8.5 (RFC 6750), type `oauthbearertoken`.
    pub fn oauth_bearer_token() -> Self {
        AuthenticationScheme {
            scheme_type: Some("oauthbearertoken".to_owned()),
            name: "OAuth Bearer Token".to_owned(),
            description: "Authentication scheme using the OAuth Bearer Token Standard".to_owned(),
            spec_uri: Some("http://www.rfc-editor.org/info/rfc6750".to_owned()),
            documentation_uri: None,
            primary: None,
            extra: Map::new(),
        }
    }

    /// The HTTP Basic scheme of RFC 7643 §8.5 (RFC 2617), type `httpbasic`.
    pub fn http_basic() -> Self {
        AuthenticationScheme {
            scheme_type: Some("httpbasic".to_owned()),
            name: "HTTP Basic".to_owned(),
            description: "Authentication scheme using the HTTP Basic Standard".to_owned(),
            spec_uri: Some("http://www.rfc-editor.org/info/rfc2617".to_owned()),
            documentation_uri: None,
            primary: None,
            extra: Map::new(),
        }
    }
}

/// Which pagination method a service provider uses when a request names none (RFC 9865 §4
/// `defaultPaginationMethod`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum PaginationMethod {
    /// Cursor-based pagination (`cursor`, `nextCursor`).
    Cursor,
    /// Index-based pagination (`startIndex`, RFC 7644 §3.4.2.4).
    Index,
}

/// The RFC 9865 `pagination` attribute of the service provider configuration: "A complex
/// type that indicates pagination configuration options."
///
/// ```
/// use scim_core::schema::{PaginationConfig, PaginationMethod};
///
/// let p: PaginationConfig = serde_json::from_value(serde_json::json!({
///     "cursor": true, "index": true, "defaultPaginationMethod": "cursor",
///     "defaultPageSize": 100, "maxPageSize": 250, "cursorTimeout": 3600
/// })).unwrap();
/// assert_eq!(p.default_pagination_method, Some(PaginationMethod::Cursor));
/// assert_eq!(p.cursor_timeout, Some(3600));
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct PaginationConfig {
    /// "A Boolean value specifying support of cursor-based pagination." REQUIRED.
    #[serde(default)]
    pub cursor: bool,
    /// "A Boolean value specifying support of index-based pagination." REQUIRED.
    #[serde(default)]
    pub index: bool,
    /// "The type of pagination that the service provider defaults to when the client has not
    /// specified which method it wishes to use." OPTIONAL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_pagination_method: Option<PaginationMethod>,
    /// "Positive integer value specifying the default number of results returned in a page
    /// when a count is not specified in the query." OPTIONAL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_page_size: Option<u64>,
    /// "Positive integer specifying the maximum number of results returned in a page
    /// regardless of what is specified for the count in a query." OPTIONAL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_page_size: Option<u64>,
    /// "Positive integer specifying the maximum number seconds that a cursor is guaranteed
    /// to be valid between page requests." OPTIONAL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor_timeout: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_required_options_read_as_unsupported() {
        let spc: ServiceProviderConfig = serde_json::from_value(serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": {"supported": true}
        }))
        .unwrap();
        assert!(spc.patch.supported);
        assert!(!spc.bulk.supported);
        assert!(!spc.etag.supported);
        assert!(spc.pagination.is_none());
    }

    #[test]
    fn default_writes_every_required_option() {
        let v = serde_json::to_value(ServiceProviderConfig::default()).unwrap();
        for key in [
            "schemas",
            "patch",
            "bulk",
            "filter",
            "changePassword",
            "sort",
            "etag",
            "authenticationSchemes",
        ] {
            assert!(v.get(key).is_some(), "{key} missing");
        }
        assert!(v.get("pagination").is_none());
    }

    #[test]
    fn unknown_members_are_kept() {
        let json = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": 100},
            "changePassword": {"supported": false},
            "sort": {"supported": true},
            "etag": {"supported": true},
            "authenticationSchemes": [],
            "urn:example:ext": {"x": 1}
        });
        let spc: ServiceProviderConfig = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(spc.extra["urn:example:ext"], serde_json::json!({"x": 1}));
        assert_eq!(serde_json::to_value(&spc).unwrap(), json);
    }

    #[test]
    fn pagination_method_rejects_unknown_values() {
        let r: Result<PaginationConfig, _> = serde_json::from_value(
            serde_json::json!({"cursor": true, "index": false, "defaultPaginationMethod": "page"}),
        );
        assert!(r.is_err());
    }
}
