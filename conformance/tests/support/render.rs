//! Rendering stored resources: `meta.location`, projection, the groups attribute.
use scim_core::projection::Projection;
use scim_core::{Resource, ScimError};
use serde_json::{Value, json};
use wiremock::ResponseTemplate;

use super::*;

impl Handler {
    pub(super) fn location(&self, kind: Kind, id: &str) -> String {
        format!("{}{BASE}/{}/{id}", self.origin, Self::endpoint(kind))
    }

    /// The stored form of a resource, ready to be projected for output.
    pub(super) fn output(
        &self,
        kind: Kind,
        stored: &Value,
        attributes: Option<String>,
        excluded: Option<String>,
        list: bool,
    ) -> Result<Value, ScimError> {
        let mut attributes = attributes;
        let mut excluded = excluded;
        if self.has(Break::AttributesIgnored) || (list && self.has(Break::AttributesIgnoredOnList))
        {
            attributes = None;
        }
        if self.has(Break::ExcludedIgnored) || (list && self.has(Break::ExcludedIgnoredOnList)) {
            excluded = None;
        }
        if self.has(Break::AttributesOnlyFirst) {
            attributes = attributes.map(|a| a.split(',').next().unwrap_or_default().to_string());
        }
        if self.has(Break::ExcludedOnlyFirst) {
            excluded = excluded.map(|a| a.split(',').next().unwrap_or_default().to_string());
        }
        if kind == Kind::Group && self.has(Break::ExcludedMembersIgnored) {
            excluded = None;
        }
        if self.has(Break::SubAttributeWholeComplex) {
            attributes = attributes.map(|a| a.replace("name.givenName", "name"));
        }
        let projection = Projection::from_params(attributes.as_deref(), excluded.as_deref())?;
        let stored = &self.with_groups(kind, stored);
        let resource = Resource::from_value(stored.clone())?;
        let mut out = projection.apply(&resource, self.schema(kind)).into_value();
        let obj = out.as_object_mut().unwrap();
        if self.has(Break::ReturnsPassword)
            && let Some(p) = get_ci(stored, "password")
        {
            obj.insert("password".into(), p.clone());
        }
        if self.has(Break::AttributesDropId) && attributes_requested(&projection) {
            obj.remove("id");
        }
        if self.has(Break::ExcludedRemovesId)
            && excluded
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case("id"))
        {
            obj.remove("id");
        }
        if self.has(Break::NoMeta) {
            obj.remove("meta");
        }
        Ok(out)
    }

    /// A User with its readOnly `groups` computed from the groups' members (RFC 7643 §4.1.2).
    pub(super) fn with_groups(&self, kind: Kind, stored: &Value) -> Value {
        let mut stored = stored.clone();
        if kind != Kind::User {
            return stored;
        }
        let id = stored["id"].as_str().unwrap_or_default().to_string();
        let obj = stored.as_object_mut().unwrap();
        obj.retain(|k, _| !k.eq_ignore_ascii_case("groups"));
        if !self.has(Break::UserGroupsNotComputed) {
            let groups: Vec<Value> = self
                .state
                .lock()
                .unwrap()
                .groups
                .iter()
                .filter(|g| {
                    g["members"]
                        .as_array()
                        .is_some_and(|m| m.iter().any(|m| m["value"].as_str() == Some(&id)))
                })
                .map(|g| {
                    json!({"value": g["id"].clone(), "display": g["displayName"].clone(),
                        "type": "direct"})
                })
                .collect();
            if !groups.is_empty() {
                obj.insert("groups".into(), Value::Array(groups));
            }
        }
        stored
    }

    pub(super) fn single(&self, status: u16, kind: Kind, stored: &Value) -> ResponseTemplate {
        let out = match self.output(kind, stored, None, None, false) {
            Ok(v) => v,
            Err(e) => return self.error(&e),
        };
        self.single_out(status, kind, stored, out)
    }

    pub(super) fn single_out(
        &self,
        status: u16,
        kind: Kind,
        stored: &Value,
        out: Value,
    ) -> ResponseTemplate {
        let id = stored["id"].as_str().unwrap_or_default().to_string();
        let version = stored["meta"]["version"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let out = if status == 201 && self.has(Break::CreateMinimalBody) {
            json!({"schemas": out["schemas"].clone(), "id": out["id"].clone(), "meta": out["meta"].clone()})
        } else {
            out
        };
        let mut t = scim(status, &out);
        if status == 200 && self.has(Break::GetJsonContentType) {
            t = ResponseTemplate::new(200)
                .set_body_raw(serde_json::to_vec(&out).unwrap(), "application/json");
        }
        if status == 201 && self.has(Break::CreateJsonContentType) {
            t = ResponseTemplate::new(201)
                .set_body_raw(serde_json::to_vec(&out).unwrap(), "application/json");
        }
        let mut location = self.location(kind, &id);
        if self.has(Break::LocationMismatch) {
            location = format!("{location}/");
        }
        t = t.insert_header("Location", location.as_str());
        if self.has(Break::EtagUnquoted) {
            t = t.insert_header("ETag", version.trim_start_matches("W/").trim_matches('"'));
        } else if !self.has(Break::EtagHeaderMissing) {
            t = t.insert_header("ETag", version.as_str());
        }
        t
    }
}
