//! The `meta` common attribute (RFC 7643 §3.1).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Resource metadata, the `meta` attribute of RFC 7643 §3.1: "A complex attribute containing
/// resource metadata", all of it `readOnly` and assigned by the service provider.
///
/// ```
/// use scim_core::schema::Meta;
///
/// let meta: Meta = serde_json::from_value(serde_json::json!({
///     "resourceType": "User",
///     "created": "2010-01-23T04:56:22Z",
///     "lastModified": "2011-05-13T04:42:34Z",
///     "version": "W/\"3694e05e9dff590\"",
///     "location": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646"
/// })).unwrap();
/// assert_eq!(meta.resource_type.as_deref(), Some("User"));
/// assert_eq!(meta.version.as_deref(), Some("W/\"3694e05e9dff590\""));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// "The name of the resource type of the resource", e.g. `User`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// "The DateTime that the resource was added to the service provider."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub created: Option<DateTime<Utc>>,
    /// "The most recent DateTime that the details of this resource were updated at the service
    /// provider."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub last_modified: Option<DateTime<Utc>>,
    /// "The URI of the resource being returned."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// "The version of the resource being returned", the entity tag (RFC 7232), e.g.
    /// `W/"3694e05e9dff590"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Members not defined by RFC 7643 §3.1, kept as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7643_8_1_meta_round_trips() {
        let json = serde_json::json!({
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z",
            "version": "W/\"3694e05e9dff590\"",
            "location": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646"
        });
        let meta: Meta = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(
            meta.created.unwrap().to_rfc3339(),
            "2010-01-23T04:56:22+00:00"
        );
        assert_eq!(serde_json::to_value(&meta).unwrap(), json);
    }

    #[test]
    fn bad_datetime_is_an_error_not_a_panic() {
        let r: Result<Meta, _> =
            serde_json::from_value(serde_json::json!({"created": "yesterday"}));
        assert!(r.is_err());
    }
}
