//! Discovery: `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas` (RFC 7644 §4).
use serde_json::{Value, json};
use wiremock::ResponseTemplate;

use super::*;

impl Handler {
    pub(super) fn spc(&self) -> ResponseTemplate {
        let mut body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": {"supported": true},
            "bulk": {"supported": true, "maxOperations": 10, "maxPayloadSize": 1048576},
            "filter": {"supported": true, "maxResults": 200},
            "changePassword": {"supported": false},
            "sort": {"supported": true},
            "etag": {"supported": true},
            "pagination": {"cursor": true, "index": true, "defaultPaginationMethod": "index"},
            "authenticationSchemes": [{"type": "oauthbearertoken", "name": "OAuth Bearer Token",
                "description": "Bearer token"}],
            "meta": {"resourceType": "ServiceProviderConfig",
                "location": format!("{}{BASE}/ServiceProviderConfig", self.origin)}
        });
        if self.has(Break::AnnounceNoPatch) {
            body["patch"]["supported"] = json!(false);
        }
        if self.has(Break::AnnounceNoCursor) {
            body.as_object_mut().unwrap().remove("pagination");
        }
        if self.has(Break::AuthSchemeNoType) {
            body["authenticationSchemes"][0]
                .as_object_mut()
                .unwrap()
                .remove("type");
        }
        if self.has(Break::BulkNoLimits) {
            body["bulk"] = json!({"supported": false});
        }
        if self.has(Break::SpcMissingEtag) {
            body.as_object_mut().unwrap().remove("etag");
        }
        if self.has(Break::SpcFlagString) {
            body["sort"]["supported"] = json!("false");
        }
        if self.has(Break::SpcJsonContentType) {
            return ResponseTemplate::new(200)
                .set_body_raw(serde_json::to_vec(&body).unwrap(), "application/json");
        }
        scim(200, &body)
    }

    pub(super) fn resource_types(&self) -> ResponseTemplate {
        let mut items = vec![
            serde_json::to_value(builtin::user_resource_type()).unwrap(),
            serde_json::to_value(builtin::group_resource_type()).unwrap(),
        ];
        if self.has(Break::ResourceTypeMissingEndpoint) {
            items[1].as_object_mut().unwrap().remove("endpoint");
        }
        if self.has(Break::AnnounceNoGroups) {
            items.truncate(1);
        }
        if self.has(Break::ExtensionNoRequired) {
            items[0]["schemaExtensions"][0]
                .as_object_mut()
                .unwrap()
                .remove("required");
        }
        if self.has(Break::ResourceTypesBareArray) {
            return scim(200, &Value::Array(items));
        }
        scim(200, &list_response(items.len(), 1, items))
    }

    pub(super) fn schemas(&self) -> ResponseTemplate {
        let mut items: Vec<Value> = vec![
            serde_json::to_value(builtin::user_schema()).unwrap(),
            serde_json::to_value(builtin::group_schema()).unwrap(),
        ];
        if !self.has(Break::SchemasMissingEnterprise) {
            items.push(serde_json::to_value(builtin::enterprise_user_schema()).unwrap());
        }
        // The fake enforces no more than it publishes: displayName is optional on both
        // (RFC 7643 §8.7.1 prints it "required": false), whatever the built-in says.
        for item in items.iter_mut().take(2) {
            for a in item["attributes"].as_array_mut().unwrap() {
                if a["name"] == "displayName" {
                    a["required"] = json!(false);
                }
            }
        }
        if self.has(Break::SchemaUserNameCaseExact) {
            for a in items[0]["attributes"].as_array_mut().unwrap() {
                if a["name"] == "userName" {
                    a["caseExact"] = json!(true);
                }
            }
        }
        if self.has(Break::SchemaAttributeWithoutType) {
            items[0]["attributes"][0]
                .as_object_mut()
                .unwrap()
                .remove("type");
        }
        scim(200, &list_response(items.len(), 1, items))
    }
}
