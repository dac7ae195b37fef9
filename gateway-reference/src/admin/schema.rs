//! `GET /admin/schema`: the JSON Schema of every admin API request and response body.

use axum::Json;
use serde_json::{Map, Value};

use super::ApiError;
use super::log::{LogPage, LogParams};
use super::preview::{DraftRules, PreviewResponse};
use super::rules::{InvalidRules, SaveRules};
use super::sync::{ActionResult, CrmUsersQuery};
use super::tenants::{CreateTenant, CreatedTenant, TenantList};
use super::tokens::{RevokedTokens, RotatedToken};
use super::users::UserParams;
use crate::directory::UserPage;
use crate::settings::TenantSettings;
use crate::sync::RulesSaved as Saved;
use crate::sync::SyncStatus;

fn schema_of<T: schemars::JsonSchema>() -> Value {
    serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null)
}

/// Every body's schema, by name, with the endpoints that use it.
pub fn schemas() -> Value {
    let entries: Vec<(&str, &str, Value)> = vec![
        ("Error", "every error response", schema_of::<ApiError>()),
        (
            "TenantList",
            "GET /admin/tenants",
            schema_of::<TenantList>(),
        ),
        (
            "CreateTenant",
            "POST /admin/tenants (request)",
            schema_of::<CreateTenant>(),
        ),
        (
            "CreatedTenant",
            "POST /admin/tenants (201 response)",
            schema_of::<CreatedTenant>(),
        ),
        (
            "RotatedToken",
            "POST /admin/tenants/{t}/tokens",
            schema_of::<RotatedToken>(),
        ),
        (
            "RevokedTokens",
            "DELETE /admin/tenants/{t}/tokens",
            schema_of::<RevokedTokens>(),
        ),
        (
            "AdminTokenInfo",
            "GET /admin/tokens (an array of these), DELETE /admin/tokens/{id}",
            schema_of::<crate::tenants::AdminTokenInfo>(),
        ),
        (
            "TenantSettings",
            "GET and PUT /admin/tenants/{t}/settings (request and response)",
            schema_of::<TenantSettings>(),
        ),
        (
            "LogParams",
            "GET /admin/tenants/{t}/log (query parameters)",
            schema_of::<LogParams>(),
        ),
        (
            "LogPage",
            "GET /admin/tenants/{t}/log",
            schema_of::<LogPage>(),
        ),
        (
            "UserParams",
            "GET /admin/tenants/{t}/users (query parameters)",
            schema_of::<UserParams>(),
        ),
        (
            "UserPage",
            "GET /admin/tenants/{t}/users",
            schema_of::<UserPage>(),
        ),
        (
            "SaveRules",
            "PUT /admin/tenants/{t}/rules (request; each rule as in `rules export`)",
            schema_of::<SaveRules>(),
        ),
        (
            "Saved",
            "PUT /admin/tenants/{t}/rules, POST .../rules/versions/{v}/restore",
            schema_of::<Saved>(),
        ),
        (
            "InvalidRules",
            "400 of PUT /admin/tenants/{t}/rules and restore",
            schema_of::<InvalidRules>(),
        ),
        (
            "DraftRules",
            "POST /admin/tenants/{t}/preview (request)",
            schema_of::<DraftRules>(),
        ),
        (
            "PreviewResponse",
            "GET and POST /admin/tenants/{t}/preview",
            schema_of::<PreviewResponse>(),
        ),
        (
            "SyncStatus",
            "GET /admin/tenants/{t}/sync/status",
            schema_of::<SyncStatus>(),
        ),
        (
            "ActionResult",
            "POST /admin/tenants/{t}/sync/users/{id}, /sync/all, /sync/reset",
            schema_of::<ActionResult>(),
        ),
        (
            "CrmUsersQuery",
            "GET /admin/tenants/{t}/crm/users (query parameters)",
            schema_of::<CrmUsersQuery>(),
        ),
        (
            "CrmConnection",
            "GET, PUT /admin/tenants/{t}/crm/connection (response)",
            schema_of::<super::crm::ConnectionView>(),
        ),
        (
            "CrmConnectionInput",
            "PUT /admin/tenants/{t}/crm/connection (request)",
            schema_of::<super::crm::ConnectionInput>(),
        ),
        (
            "CrmTestResult",
            "POST /admin/tenants/{t}/crm/test",
            schema_of::<super::crm::TestResult>(),
        ),
    ];
    let mut out = Map::new();
    for (name, used_by, schema) in entries.into_iter().chain(super::mail::schemas()) {
        out.insert(
            name.to_string(),
            serde_json::json!({ "usedBy": used_by, "schema": schema }),
        );
    }
    Value::Object(out)
}

/// `GET /admin/schema` (no token needed: it describes the API, not data).
pub async fn get_schema() -> Json<Value> {
    Json(schemas())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_schema_is_an_object_with_properties() {
        let s = super::schemas();
        let map = s.as_object().unwrap();
        assert_eq!(map.len(), 23 + super::super::mail::schemas().len());
        assert!(s["OutboxPage"]["schema"]["properties"]["smtpConfigured"].is_object());
        assert!(s["SyncStatus"]["schema"]["properties"]["pendingUsers"].is_object());
        for (name, entry) in map {
            let schema = &entry["schema"];
            assert!(
                schema["properties"].is_object(),
                "{name} has no properties: {schema}"
            );
        }
        assert!(s["TenantSettings"]["schema"]["properties"]["userSyncActive"].is_object());
        assert!(s["Error"]["schema"]["properties"]["detail"].is_object());
        // The rules are typed all the way down: a client can build a rule from the schema.
        let save = &s["SaveRules"]["schema"];
        let rule = &save["$defs"]["Rule"];
        for field in ["id", "name", "enabled", "scope", "condition", "settings"] {
            assert!(
                rule["properties"][field].is_object(),
                "Rule.{field}: {rule}"
            );
        }
        let text = save.to_string();
        for name in [
            "allUsers",
            "inGroup",
            "notInGroup",
            "ifNotSet",
            "notSelected",
            "userPlan",
        ] {
            assert!(text.contains(name), "{name} missing from {text}");
        }
        let problems = &s["InvalidRules"]["schema"]["$defs"]["RuleError"]["properties"];
        assert!(problems["ruleIndex"].is_object() && problems["field"].is_object());
    }
}
