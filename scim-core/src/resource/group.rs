//! The typed Group resource (RFC 7643 §4.2).

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Resource;
use super::user::{from_resource, to_resource};
use crate::error::{ScimError, ScimResult};
use crate::schema::{GROUP_SCHEMA, Meta, ResourceSchema};

fn group_schemas() -> Vec<String> {
    vec![GROUP_SCHEMA.to_owned()]
}

/// A Group (RFC 7643 §4.2) with the common attributes of §3.1.
///
/// Members the type does not know (extensions such as Microsoft Entra ID's
/// `http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group` schema URN in
/// `schemas`, custom attributes) are kept in [`Group::extra`].
///
/// ```
/// use scim_core::resource::{Group, Member};
///
/// let mut group = Group::new("Tour Guides");
/// group.members.push(Member::user("2819c223-7f76-453a-919d-413861904646"));
/// let json = serde_json::to_value(&group).unwrap();
/// assert_eq!(json["members"][0]["type"], "User");
/// let back: Group = serde_json::from_value(json).unwrap();
/// assert_eq!(back, group);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// The schema URNs of the representation.
    #[serde(default = "group_schemas")]
    pub schemas: Vec<String>,
    /// The service provider's identifier (§3.1, readOnly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The provisioning client's identifier (§3.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// "A human-readable name for the Group." REQUIRED by §4.2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// "A list of members of the Group."
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Member>,
    /// Resource metadata (§3.1, readOnly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Members this type does not know, kept as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for Group {
    fn default() -> Self {
        Group {
            schemas: group_schemas(),
            id: None,
            external_id: None,
            display_name: None,
            members: Vec::new(),
            meta: None,
            extra: Map::new(),
        }
    }
}

impl Group {
    /// A Group with this `displayName` and no members.
    pub fn new(display_name: impl Into<String>) -> Self {
        Group {
            display_name: Some(display_name.into()),
            ..Group::default()
        }
    }

    /// Reads a Group from JSON, matching attribute names case-insensitively. Errors: 400
    /// `invalidSyntax` for a non-object, 400 `invalidValue` when `schemas` does not list the
    /// Group schema or a value has the wrong JSON type.
    pub fn from_value(value: Value) -> ScimResult<Self> {
        Group::try_from(Resource::from_value(value)?)
    }

    /// The Group as JSON.
    pub fn to_value(&self) -> Value {
        Resource::from(self.clone()).into_value()
    }
}

impl TryFrom<Resource> for Group {
    type Error = ScimError;

    /// Converts a generic resource, matching attribute names case-insensitively against the
    /// built-in Group schema.
    fn try_from(resource: Resource) -> ScimResult<Self> {
        static SCHEMA: OnceLock<ResourceSchema> = OnceLock::new();
        let schema = SCHEMA.get_or_init(crate::builtin::group_resource_schema);
        from_resource(resource, schema, "Group")
    }
}

impl From<Group> for Resource {
    fn from(group: Group) -> Self {
        to_resource(&group)
    }
}

/// One value of `members` (RFC 7643 §4.2): "Each value of 'value' is the 'id' of a SCIM
/// resource, either a User, or a Group."
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Member {
    /// "Identifier of the member of this Group" (immutable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// "The URI corresponding to a SCIM resource that is a member of this Group"
    /// (immutable).
    #[serde(default, rename = "$ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The member's display name (readOnly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    /// "A label indicating the type of resource, e.g., 'User' or 'Group'" (immutable).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub member_type: Option<String>,
    /// Members this type does not know, kept as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Member {
    /// A User member with this id.
    pub fn user(id: impl Into<String>) -> Self {
        Member {
            value: Some(id.into()),
            member_type: Some("User".to_owned()),
            ..Member::default()
        }
    }

    /// A Group member (a nested group) with this id.
    pub fn group(id: impl Into<String>) -> Self {
        Member {
            value: Some(id.into()),
            member_type: Some("Group".to_owned()),
            ..Member::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ENTRA_GROUP_SCHEMA;
    use serde_json::json;

    #[test]
    fn entra_group_create_is_accepted() {
        let g = Group::from_value(json!({
            "schemas": [GROUP_SCHEMA, ENTRA_GROUP_SCHEMA],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "Group1",
            "members": []
        }))
        .unwrap();
        assert_eq!(g.display_name.as_deref(), Some("Group1"));
        assert_eq!(g.schemas.len(), 2);
        assert!(g.members.is_empty());
    }

    #[test]
    fn member_names_are_case_insensitive_from_a_resource() {
        let g = Group::from_value(json!({
            "schemas": [GROUP_SCHEMA],
            "DISPLAYNAME": "Ops",
            "Members": [{"VALUE": "u1", "$REF": "../Users/u1", "Type": "User"}]
        }))
        .unwrap();
        assert_eq!(g.display_name.as_deref(), Some("Ops"));
        assert_eq!(g.members[0].value.as_deref(), Some("u1"));
        assert_eq!(g.members[0].reference.as_deref(), Some("../Users/u1"));
        assert_eq!(g.members[0].member_type.as_deref(), Some("User"));
    }

    #[test]
    fn a_user_is_not_a_group() {
        let e = Group::from_value(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "x"
        }))
        .unwrap_err();
        assert!(e.detail().contains("not a Group"));
    }

    #[test]
    fn resource_round_trip() {
        let mut g = Group::new("Ops");
        g.members.push(Member::group("g2"));
        g.extra.insert("urn:example:ext".into(), json!({"a": 1}));
        let r = Resource::from(g.clone());
        assert_eq!(r.get("displayName"), Some(&json!("Ops")));
        assert_eq!(Group::try_from(r).unwrap(), g);
    }
}
