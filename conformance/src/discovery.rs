//! Discovery: what the server says it supports (RFC 7644 §4, RFC 7643 §5–6), read from
//! `/ServiceProviderConfig` and `/ResourceTypes` before any other check runs. The result,
//! [`ServerFeatures`], decides which checks run and which are skipped with a reason. The shape
//! of the discovery documents is checked by the `discovery.*` checks of the catalogue.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::check::Feature;
use crate::client::{Exchange, ScimClient, TransportError, TransportErrorKind};
use crate::json::{as_u64_lenient, get_ci, get_path, resources, str_at};

/// The core User schema URI (RFC 7643 §4.1).
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The core Group schema URI (RFC 7643 §4.2).
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The enterprise User extension URI (RFC 7643 §4.3).
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The ListResponse message URI (RFC 7644 §3.4.2).
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// The PatchOp message URI (RFC 7644 §3.5.2).
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// The Error message URI (RFC 7644 §3.12).
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// The ServiceProviderConfig schema URI (RFC 7643 §5).
pub const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
/// The ResourceType schema URI (RFC 7643 §6).
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
/// The Schema schema URI (RFC 7643 §7).
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// `bulk` in the ServiceProviderConfig.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkFeature {
    /// `bulk.supported`.
    pub supported: bool,
    /// `bulk.maxOperations`.
    pub max_operations: Option<u64>,
    /// `bulk.maxPayloadSize` (bytes).
    pub max_payload_size: Option<u64>,
}

/// `filter` in the ServiceProviderConfig.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterFeature {
    /// `filter.supported`.
    pub supported: bool,
    /// `filter.maxResults`.
    pub max_results: Option<u64>,
}

/// One resource type the server serves (RFC 7643 §6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceTypeInfo {
    /// `name` (`User`).
    pub name: String,
    /// `endpoint`, relative to the base URL (`/Users`).
    pub endpoint: String,
    /// `schema`, the core schema URI.
    pub schema: String,
    /// The URIs of `schemaExtensions`.
    pub extensions: Vec<String>,
}

/// What the server announced in discovery.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerFeatures {
    /// `patch.supported`.
    pub patch: bool,
    /// `bulk`.
    pub bulk: BulkFeature,
    /// `filter`.
    pub filter: FilterFeature,
    /// `sort.supported`.
    pub sort: bool,
    /// `etag.supported`.
    pub etag: bool,
    /// `changePassword.supported`.
    pub change_password: bool,
    /// RFC 9865 `pagination.cursor`.
    pub cursor_paging: bool,
    /// The resource types from `/ResourceTypes`.
    pub resource_types: Vec<ResourceTypeInfo>,
    /// What discovery could not read and what it assumed instead.
    pub notes: Vec<String>,
}

impl ServerFeatures {
    /// Features of a server that supports everything and serves Users and Groups at `/Users`
    /// and `/Groups` (what the suite assumes when discovery documents cannot be read).
    pub fn assume_all() -> Self {
        ServerFeatures {
            patch: true,
            bulk: BulkFeature {
                supported: true,
                max_operations: None,
                max_payload_size: None,
            },
            filter: FilterFeature {
                supported: true,
                max_results: None,
            },
            sort: true,
            etag: true,
            change_password: true,
            cursor_paging: false,
            resource_types: default_resource_types(),
            notes: Vec::new(),
        }
    }

    /// Whether the server announced `feature`.
    pub fn has(&self, feature: Feature) -> bool {
        match feature {
            Feature::Users => self.resource_type_for(USER_SCHEMA).is_some(),
            Feature::Groups => self.resource_type_for(GROUP_SCHEMA).is_some(),
            Feature::EnterpriseUser => self.resource_type_for(USER_SCHEMA).is_some_and(|rt| {
                rt.extensions
                    .iter()
                    .any(|e| e.eq_ignore_ascii_case(ENTERPRISE_SCHEMA))
            }),
            Feature::Patch => self.patch,
            Feature::Bulk => self.bulk.supported,
            Feature::Filter => self.filter.supported,
            Feature::Sort => self.sort,
            Feature::Etag => self.etag,
            Feature::ChangePassword => self.change_password,
            Feature::CursorPaging => self.cursor_paging,
        }
    }

    /// The resource type whose core schema is `schema`.
    pub fn resource_type_for(&self, schema: &str) -> Option<&ResourceTypeInfo> {
        self.resource_types
            .iter()
            .find(|rt| rt.schema.eq_ignore_ascii_case(schema))
    }

    /// The Users endpoint (`/Users` unless /ResourceTypes says otherwise).
    pub fn users_endpoint(&self) -> String {
        self.resource_type_for(USER_SCHEMA)
            .map_or_else(|| "/Users".to_string(), |rt| rt.endpoint.clone())
    }

    /// The Groups endpoint (`/Groups` unless /ResourceTypes says otherwise).
    pub fn groups_endpoint(&self) -> String {
        self.resource_type_for(GROUP_SCHEMA)
            .map_or_else(|| "/Groups".to_string(), |rt| rt.endpoint.clone())
    }

    /// Reads the features from a ServiceProviderConfig document (RFC 7643 §5). Anything
    /// absent counts as not supported.
    pub fn apply_service_provider_config(&mut self, spc: &Value) {
        let flag = |name: &str| get_path(spc, name).and_then(Value::as_bool) == Some(true);
        self.patch = flag("patch.supported");
        self.sort = flag("sort.supported");
        self.etag = flag("etag.supported");
        self.change_password = flag("changePassword.supported");
        self.bulk = BulkFeature {
            supported: flag("bulk.supported"),
            max_operations: get_path(spc, "bulk.maxOperations").and_then(as_u64_lenient),
            max_payload_size: get_path(spc, "bulk.maxPayloadSize").and_then(as_u64_lenient),
        };
        self.filter = FilterFeature {
            supported: flag("filter.supported"),
            max_results: get_path(spc, "filter.maxResults").and_then(as_u64_lenient),
        };
        self.cursor_paging = flag("pagination.cursor");
    }

    /// Reads the resource types from a `/ResourceTypes` response (a ListResponse, or a bare
    /// array as some servers send).
    pub fn apply_resource_types(&mut self, body: &Value) {
        let items: Vec<&Value> = match body {
            Value::Array(a) => a.iter().collect(),
            other => resources(other),
        };
        self.resource_types = items
            .into_iter()
            .filter_map(|rt| {
                Some(ResourceTypeInfo {
                    name: str_at(rt, "name").unwrap_or_default().to_string(),
                    endpoint: normalise_endpoint(str_at(rt, "endpoint")?),
                    schema: str_at(rt, "schema")?.to_string(),
                    extensions: get_ci(rt, "schemaExtensions")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(|e| str_at(e, "schema").map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default(),
                })
            })
            .collect();
    }
}

fn default_resource_types() -> Vec<ResourceTypeInfo> {
    vec![
        ResourceTypeInfo {
            name: "User".into(),
            endpoint: "/Users".into(),
            schema: USER_SCHEMA.into(),
            extensions: vec![ENTERPRISE_SCHEMA.into()],
        },
        ResourceTypeInfo {
            name: "Group".into(),
            endpoint: "/Groups".into(),
            schema: GROUP_SCHEMA.into(),
            extensions: Vec::new(),
        },
    ]
}

/// An endpoint relative to the base URL with one leading slash. Absolute URLs are reduced to
/// their last path segment, which is what the base URL is followed by in practice.
fn normalise_endpoint(endpoint: &str) -> String {
    let e = endpoint.trim();
    let e = if e.starts_with("http://") || e.starts_with("https://") {
        e.rsplit('/').next().unwrap_or(e)
    } else {
        e
    };
    format!("/{}", e.trim_start_matches('/'))
}

/// Why the suite could not start: discovery found no SCIM service it can talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscoveryError {
    /// Nothing answered at the URL (connection refused, unknown host).
    Unreachable {
        /// The URL tried.
        url: String,
        /// The transport error.
        message: String,
    },
    /// The TLS handshake failed.
    Tls {
        /// The URL tried.
        url: String,
        /// The transport error.
        message: String,
    },
    /// No answer within the timeout.
    Timeout {
        /// The URL tried.
        url: String,
    },
    /// The server refused the credentials (401 or 403).
    Unauthorized {
        /// The URL tried.
        url: String,
        /// 401 or 403.
        status: u16,
    },
    /// Anything else that stopped the suite (an invalid URL).
    Other {
        /// What went wrong.
        message: String,
    },
}

impl fmt::Display for DiscoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiscoveryError::Unreachable { url, message } => write!(
                f,
                "cannot reach the SCIM service at {url}: {message}. Check the --url (scheme, host, port, base path) and that the server is running."
            ),
            DiscoveryError::Tls { url, message } => write!(
                f,
                "TLS handshake with {url} failed: {message}. The server's certificate is not trusted or does not match the host name."
            ),
            DiscoveryError::Timeout { url } => write!(
                f,
                "no answer from {url} within the timeout; raise --timeout or check the server."
            ),
            DiscoveryError::Unauthorized { url, status } => write!(
                f,
                "the server answered {status} to GET {url}: the credentials were refused. Pass a valid --token or --header 'Authorization: ...'."
            ),
            DiscoveryError::Other { message } => f.write_str(message),
        }
    }
}

impl std::error::Error for DiscoveryError {}

impl DiscoveryError {
    fn from_transport(url: &str, e: &TransportError) -> Self {
        match e.kind {
            TransportErrorKind::Connect => DiscoveryError::Unreachable {
                url: url.to_string(),
                message: e.message.clone(),
            },
            TransportErrorKind::Tls => DiscoveryError::Tls {
                url: url.to_string(),
                message: e.message.clone(),
            },
            TransportErrorKind::Timeout => DiscoveryError::Timeout {
                url: url.to_string(),
            },
            TransportErrorKind::Other => DiscoveryError::Other {
                message: format!("request to {url} failed: {}", e.message),
            },
        }
    }
}

/// Reads `/ServiceProviderConfig` and `/ResourceTypes`. Transport failures and 401/403 are
/// errors; a missing or malformed document only adds a note and an assumption (the
/// `discovery.*` checks report the fault itself).
pub async fn discover(
    client: &ScimClient,
) -> Result<(ServerFeatures, Vec<Exchange>), DiscoveryError> {
    let mut features = ServerFeatures::assume_all();
    let url = client.url("/ServiceProviderConfig");
    let spc = client
        .get("/ServiceProviderConfig")
        .await
        .map_err(|e| DiscoveryError::from_transport(&url, &e))?;
    if spc.status == 401 || spc.status == 403 {
        return Err(DiscoveryError::Unauthorized {
            url,
            status: spc.status,
        });
    }
    match (&spc.json, spc.status) {
        (Some(doc), 200) if doc.is_object() => features.apply_service_provider_config(doc),
        _ => features.notes.push(format!(
            "GET /ServiceProviderConfig answered {} without a readable document; assuming every feature is supported",
            spc.status
        )),
    }
    let rt_url = client.url("/ResourceTypes");
    let rts = client
        .get("/ResourceTypes")
        .await
        .map_err(|e| DiscoveryError::from_transport(&rt_url, &e))?;
    match (&rts.json, rts.status) {
        (Some(doc), 200) => {
            features.apply_resource_types(doc);
            if features.resource_types.is_empty() {
                features.notes.push(
                    "GET /ResourceTypes listed no usable resource type; assuming /Users and /Groups"
                        .into(),
                );
                features.resource_types = default_resource_types();
            }
        }
        _ => features.notes.push(format!(
            "GET /ResourceTypes answered {} without a readable list; assuming /Users and /Groups",
            rts.status
        )),
    }
    Ok((features, client.take_exchanges()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_rfc_7643_section_8_5_example() {
        let mut f = ServerFeatures::default();
        f.apply_service_provider_config(&json!({
            "schemas": [SPC_SCHEMA],
            "patch": {"supported": true},
            "bulk": {"supported": true, "maxOperations": 1000, "maxPayloadSize": 1048576},
            "filter": {"supported": true, "maxResults": 200},
            "changePassword": {"supported": true},
            "sort": {"supported": true},
            "etag": {"supported": true},
        }));
        assert!(f.patch && f.sort && f.etag && f.change_password && f.bulk.supported);
        assert_eq!(f.bulk.max_operations, Some(1000));
        assert_eq!(f.filter.max_results, Some(200));
        assert!(!f.cursor_paging);
    }

    #[test]
    fn reads_resource_types_list() {
        let mut f = ServerFeatures::default();
        f.apply_resource_types(&json!({"Resources": [
            {"name": "User", "endpoint": "/Users", "schema": USER_SCHEMA,
             "schemaExtensions": [{"schema": ENTERPRISE_SCHEMA, "required": false}]},
            {"name": "Group", "endpoint": "https://h/scim/Groups", "schema": GROUP_SCHEMA}
        ]}));
        assert!(f.has(Feature::Users) && f.has(Feature::EnterpriseUser) && f.has(Feature::Groups));
        assert_eq!(f.groups_endpoint(), "/Groups");
    }
}
