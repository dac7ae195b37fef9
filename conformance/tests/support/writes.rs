//! Writes: create, Bulk, read, replace, PATCH and delete, with ETag preconditions.
use scim_core::patch::{PatchOptions, PatchRequest, apply_patch};
use scim_core::{Resource, ScimError};
use serde_json::{Map, Value, json};
use wiremock::ResponseTemplate;

use super::*;

impl Handler {
    pub(super) fn validate(
        &self,
        kind: Kind,
        body: &Value,
        own_id: Option<&str>,
        store: &Store,
    ) -> Result<(), ScimError> {
        if !body.is_object() {
            return Err(ScimError::invalid_syntax("the body is not a JSON object"));
        }
        let schemas = get_ci(body, "schemas").and_then(Value::as_array);
        if self.has(Break::RejectUnknownSchema)
            && schemas.is_some_and(|s| {
                s.iter().any(|u| {
                    u.as_str()
                        .is_some_and(|u| !u.starts_with("urn:ietf:params:scim:"))
                })
            })
        {
            return Err(ScimError::invalid_value("unknown schema"));
        }
        let display_name = get_ci(body, "displayName").and_then(Value::as_str);
        if display_name.is_none()
            && ((kind == Kind::User && self.has(Break::UserDisplayNameEnforced))
                || (kind == Kind::Group && self.has(Break::GroupDisplayNameEnforced)))
        {
            return Err(ScimError::invalid_value("displayName is required"));
        }
        if kind == Kind::User {
            let name = if self.has(Break::CaseSensitiveInput) {
                body.get("userName").and_then(Value::as_str)
            } else {
                get_ci(body, "userName").and_then(Value::as_str)
            };
            let Some(name) = name else {
                if self.has(Break::AcceptMissingUserName) {
                    return Ok(());
                }
                return Err(ScimError::invalid_value("userName is required"));
            };
            if !self.has(Break::NoUniqueness) {
                let clash = store.users.iter().any(|u| {
                    let other = u["userName"].as_str().unwrap_or_default();
                    let same = if self.has(Break::UniquenessCaseSensitive) {
                        other == name
                    } else {
                        other.eq_ignore_ascii_case(name)
                    };
                    same && Some(u["id"].as_str().unwrap_or_default()) != own_id
                });
                if clash {
                    return Err(ScimError::uniqueness(format!("userName {name} is taken")));
                }
            }
        }
        Ok(())
    }

    pub(super) fn store_form(
        &self,
        kind: Kind,
        body: &Value,
        id: &str,
        created: &str,
        version: u64,
    ) -> Value {
        let mut obj: Map<String, Value> = body.as_object().cloned().unwrap_or_default();
        obj.retain(|k, _| !k.eq_ignore_ascii_case("id") && !k.eq_ignore_ascii_case("meta"));
        if self.has(Break::DropExternalId) {
            obj.retain(|k, _| !k.eq_ignore_ascii_case("externalId"));
        }
        if self.has(Break::DropEnterprise) {
            obj.retain(|k, _| !k.starts_with("urn:ietf:params:scim:schemas:extension"));
        }
        if kind == Kind::User {
            obj.retain(|k, _| !k.eq_ignore_ascii_case("groups"));
        }
        if kind == Kind::Group && self.has(Break::GroupDropsMembers) {
            obj.remove("members");
        }
        if self.has(Break::CreateNoSchemas) {
            obj.remove("schemas");
        }
        // Normalise the key case of userName so the fake's own lookups are simple.
        if let Some(k) = obj
            .keys()
            .find(|k| k.eq_ignore_ascii_case("userName") && *k != "userName")
            .cloned()
            && let Some(v) = obj.remove(&k)
        {
            obj.insert("userName".into(), v);
        }
        obj.insert("id".into(), json!(id));
        obj.insert(
            "meta".into(),
            json!({
                "resourceType": if kind == Kind::User { "User" } else { "Group" },
                "created": created,
                "lastModified": now(),
                "location": if self.has(Break::MetaLocationWrong) {
                    format!("{}/wrong", self.location(kind, id))
                } else {
                    self.location(kind, id)
                },
                "version": format!("W/\"{version}\"")
            }),
        );
        if self.has(Break::KeepClientMeta)
            && let Some(created) = body.get("meta").and_then(|m| m.get("created"))
        {
            obj["meta"]["created"] = created.clone();
        }
        Value::Object(obj)
    }

    pub(super) fn create(&self, kind: Kind, body: Value) -> ResponseTemplate {
        match self.create_stored(kind, &body) {
            Ok(stored) => self.single(201, kind, &stored),
            Err(e) => self.error(&e),
        }
    }

    pub(super) fn create_stored(&self, kind: Kind, body: &Value) -> Result<Value, ScimError> {
        let body = body.clone();
        let mut store = self.state.lock().unwrap();
        self.validate(kind, &body, None, &store)?;
        store.next += 1;
        let id = match get_ci(&body, "id").and_then(Value::as_str) {
            Some(client) if self.has(Break::UseClientId) => client.to_string(),
            _ => format!("{:08x}-0000-4000-8000-{:012x}", store.next, store.next),
        };
        let stored = self.store_form(kind, &body, &id, &now(), 1);
        match kind {
            Kind::User => store.users.push(stored.clone()),
            Kind::Group => store.groups.push(stored.clone()),
        }
        Ok(stored)
    }

    /// POST /Bulk (RFC 7644 §3.7), for POST and DELETE operations.
    pub(super) fn bulk(&self, body: &Value) -> ResponseTemplate {
        let ops = body
            .get("Operations")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if ops.len() > 10 && !self.has(Break::BulkNoMaxOps) {
            return self.error(&ScimError::payload_too_large(
                "more than maxOperations (10)",
            ));
        }
        let fail_on_errors = body.get("failOnErrors").and_then(Value::as_u64);
        let mut ids: Vec<(String, String)> = Vec::new();
        let mut results = Vec::new();
        let mut errors = 0;
        for op in ops {
            let method = op["method"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_uppercase();
            let path = op["path"]
                .as_str()
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string();
            let bulk_id = op["bulkId"].as_str().map(str::to_string);
            let mut data = op.get("data").cloned().unwrap_or(Value::Null);
            if !self.has(Break::BulkIdNotResolved) {
                resolve_bulk_ids(&mut data, &ids);
            }
            let mut segs = path.split('/');
            let kind = match segs.next() {
                Some("Users") => Kind::User,
                Some("Groups") => Kind::Group,
                _ => continue,
            };
            let mut result = json!({"method": method});
            if let Some(b) = &bulk_id {
                result["bulkId"] = json!(b);
            }
            let outcome: Result<(u16, Option<String>), ScimError> = match method.as_str() {
                "POST" => self.create_stored(kind, &data).map(|stored| {
                    let id = stored["id"].as_str().unwrap_or_default().to_string();
                    if let Some(b) = &bulk_id {
                        ids.push((b.clone(), id.clone()));
                    }
                    (201, Some(self.location(kind, &id)))
                }),
                "DELETE" => {
                    let id = segs.next().unwrap_or_default().to_string();
                    let mut store = self.state.lock().unwrap();
                    match Self::find(&store, kind, &id) {
                        Some(i) => {
                            match kind {
                                Kind::User => store.users.remove(i),
                                Kind::Group => store.groups.remove(i),
                            };
                            Ok((204, None))
                        }
                        None => Err(ScimError::not_found(format!("{id} not found"))),
                    }
                }
                _ => Err(ScimError::bad_request("unsupported bulk method")),
            };
            match outcome {
                Ok((status, location)) => {
                    if !self.has(Break::BulkStatusMissing) {
                        result["status"] = json!(status.to_string());
                    }
                    if let Some(l) = location {
                        result["location"] = json!(l);
                    }
                }
                Err(e) => {
                    errors += 1;
                    result["status"] = json!(e.status().to_string());
                    result["response"] = e.to_json();
                }
            }
            results.push(result);
            if let Some(max) = fail_on_errors
                && errors >= max
                && !self.has(Break::BulkIgnoresFailOnErrors)
            {
                break;
            }
        }
        scim(
            200,
            &json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],
                "Operations": results
            }),
        )
    }

    pub(super) fn find(store: &Store, kind: Kind, id: &str) -> Option<usize> {
        let coll = match kind {
            Kind::User => &store.users,
            Kind::Group => &store.groups,
        };
        coll.iter().position(|r| r["id"].as_str() == Some(id))
    }

    pub(super) fn read(
        &self,
        kind: Kind,
        id: &str,
        attributes: Option<String>,
        excluded: Option<String>,
        if_none_match: Option<String>,
    ) -> ResponseTemplate {
        let store = self.state.lock().unwrap();
        let Some(i) = Self::find(&store, kind, id) else {
            return self.error(&ScimError::not_found(format!("{id} not found")));
        };
        let stored = match kind {
            Kind::User => store.users[i].clone(),
            Kind::Group => store.groups[i].clone(),
        };
        drop(store);
        if let Some(tag) = if_none_match
            && !self.has(Break::IfNoneMatchIgnored)
            && stored["meta"]["version"].as_str() == Some(tag.as_str())
        {
            return ResponseTemplate::new(304);
        }
        let mut out = match self.output(kind, &stored, attributes, excluded, false) {
            Ok(v) => v,
            Err(e) => return self.error(&e),
        };
        if self.has(Break::ReadOmitsUserName) {
            out.as_object_mut().unwrap().remove("userName");
            out.as_object_mut().unwrap().remove("displayName");
        }
        self.single_out(200, kind, &stored, out)
    }

    pub(super) fn precondition(
        &self,
        stored: &Value,
        if_match: Option<String>,
    ) -> Result<(), ScimError> {
        if if_match.is_some() && self.has(Break::IfMatchAlways412) {
            return Err(ScimError::precondition_failed("version mismatch"));
        }
        if let Some(tag) = if_match
            && !self.has(Break::IfMatchIgnored)
            && tag != "*"
            && stored["meta"]["version"].as_str() != Some(tag.as_str())
        {
            return Err(ScimError::precondition_failed("version mismatch"));
        }
        Ok(())
    }

    pub(super) fn bump(&self, stored: &Value) -> u64 {
        let current: u64 = stored["meta"]["version"]
            .as_str()
            .unwrap_or("W/\"1\"")
            .trim_start_matches("W/\"")
            .trim_end_matches('"')
            .parse()
            .unwrap_or(1);
        if self.has(Break::VersionNotBumped) {
            current
        } else {
            current + 1
        }
    }

    pub(super) fn replace(
        &self,
        kind: Kind,
        id: &str,
        body: Value,
        if_match: Option<String>,
    ) -> ResponseTemplate {
        let mut store = self.state.lock().unwrap();
        let Some(i) = Self::find(&store, kind, id) else {
            if self.has(Break::PutUnknownCreates) {
                drop(store);
                return self.create(kind, body);
            }
            return self.error(&ScimError::not_found(format!("{id} not found")));
        };
        let old = match kind {
            Kind::User => store.users[i].clone(),
            Kind::Group => store.groups[i].clone(),
        };
        if let Err(e) = self.precondition(&old, if_match) {
            return self.error(&e);
        }
        if let Err(e) = self.validate(kind, &body, Some(id), &store) {
            return self.error(&e);
        }
        if kind == Kind::User && self.has(Break::UserGroupsWritable) {
            let ids = get_ci(&body, "groups").cloned().unwrap_or_default();
            join_groups(&mut store, id, &ids);
        }
        let new_id = match get_ci(&body, "id").and_then(Value::as_str) {
            Some(other) if self.has(Break::PutChangesId) => other.to_string(),
            _ => id.to_string(),
        };
        let created = old["meta"]["created"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let stored = if self.has(Break::PutIgnored) {
            old
        } else {
            self.store_form(kind, &body, &new_id, &created, self.bump(&old))
        };
        match kind {
            Kind::User => store.users[i] = stored.clone(),
            Kind::Group => store.groups[i] = stored.clone(),
        }
        drop(store);
        self.single(200, kind, &stored)
    }

    pub(super) fn patch(
        &self,
        kind: Kind,
        id: &str,
        body: Value,
        if_match: Option<String>,
    ) -> ResponseTemplate {
        let mut store = self.state.lock().unwrap();
        let Some(i) = Self::find(&store, kind, id) else {
            if self.has(Break::PatchUnknown204) {
                return ResponseTemplate::new(204);
            }
            return self.error(&ScimError::not_found(format!("{id} not found")));
        };
        let old = match kind {
            Kind::User => store.users[i].clone(),
            Kind::Group => store.groups[i].clone(),
        };
        if let Err(e) = self.precondition(&old, if_match) {
            return self.error(&e);
        }
        if kind == Kind::User && self.has(Break::UserGroupsWritable) {
            for op in body["Operations"].as_array().cloned().unwrap_or_default() {
                if op["path"]
                    .as_str()
                    .is_some_and(|p| p.eq_ignore_ascii_case("groups"))
                {
                    join_groups(&mut store, id, &op["value"]);
                }
            }
        }
        if kind == Kind::Group
            && let Some((missing, member)) = absent_member_replace(&old, &body)
        {
            if !self.has(Break::ReplaceNoMatchAddsMember) {
                return self.error(&ScimError::no_target(format!(
                    "no member matches value eq \"{missing}\" (RFC 7644 §3.5.2.3)"
                )));
            }
            // What a server that treats the value filter as a template does.
            let mut patched = old.clone();
            match patched.get_mut("members").and_then(Value::as_array_mut) {
                Some(m) => m.push(member),
                None => patched["members"] = json!([member]),
            }
            patched["meta"]["version"] = json!(format!("W/\"{}\"", self.bump(&old)));
            store.groups[i] = patched.clone();
            drop(store);
            return self.single(200, kind, &patched);
        }
        let body = self.break_patch(kind, body);
        let options = PatchOptions {
            op_any_case: !self.has(Break::OpCaseSensitive),
            boolean_strings: !self.has(Break::BooleanStringsRejected),
            manager_shorthand: !self.has(Break::ManagerShorthandRejected),
            filter_add_creates: !self.has(Break::FilterAddCreatesOff),
            remove_by_value: !self.has(Break::RemoveByValueOff),
            ..PatchOptions::default()
        };
        let mut resource = match Resource::from_value(old.clone()) {
            Ok(r) => r,
            Err(e) => return self.error(&e),
        };
        let ops: Vec<Value> = body
            .get("Operations")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let result = if self.has(Break::PatchNotAtomic) {
            // Applies operations one at a time and keeps what succeeded.
            let mut last = Ok(());
            for op in ops {
                let one = json!({"schemas": body["schemas"].clone(), "Operations": [op]});
                let applied = PatchRequest::from_json(one)
                    .and_then(|req| apply_patch(&mut resource, self.schema(kind), &req, &options));
                if let Err(e) = applied {
                    last = Err(e);
                    break;
                }
            }
            last
        } else {
            PatchRequest::from_json(body)
                .and_then(|req| apply_patch(&mut resource, self.schema(kind), &req, &options))
                .map(|_| ())
        };
        let mut patched = resource.into_value();
        let version = self.bump(&old);
        patched["meta"]["version"] = json!(format!("W/\"{version}\""));
        patched["meta"]["lastModified"] = json!(now());
        if self.has(Break::PatchNotAtomic) || result.is_ok() {
            match kind {
                Kind::User => store.users[i] = patched.clone(),
                Kind::Group => store.groups[i] = patched.clone(),
            }
        }
        drop(store);
        match result {
            Ok(()) if self.has(Break::Patch200EmptyBody) => scim(200, &json!({})),
            Ok(()) => self.single(200, kind, &patched),
            Err(e) => {
                if (self.has(Break::RemoveNoPathOk)
                    || self.has(Break::InvalidPathOk)
                    || self.has(Break::NoTargetOk))
                    && e.scim_type().is_some()
                {
                    return ResponseTemplate::new(204);
                }
                self.error(&e)
            }
        }
    }

    /// Rewrites a PATCH body to simulate a broken server.
    pub(super) fn break_patch(&self, kind: Kind, body: Value) -> Value {
        let Some(ops) = body.get("Operations").and_then(Value::as_array) else {
            return body;
        };
        let mut out = Vec::new();
        for op in ops {
            let name = op["op"].as_str().unwrap_or_default().to_ascii_lowercase();
            let path = op["path"].as_str().unwrap_or_default().to_string();
            let mut op = op.clone();
            if self.has(Break::UnknownOpIgnored)
                && !["add", "replace", "remove"].contains(&name.as_str())
            {
                op["op"] = json!("replace");
            }
            if self.has(Break::PatchIdIgnored) && path.eq_ignore_ascii_case("id") {
                continue;
            }
            if self.has(Break::SubAttrAddReplacesComplex) && path == "name.givenName" {
                // Overwrites the whole complex attribute instead of the one sub-attribute.
                out.push(json!({"op": "remove", "path": "name"}));
                op = json!({"op": "add", "path": "name", "value": {"givenName": op["value"].clone()}});
            }
            if self.has(Break::ReplaceMultiAppends)
                && name == "replace"
                && path.eq_ignore_ascii_case("emails")
            {
                op["op"] = json!("add");
            }
            if kind == Kind::Group
                && self.has(Break::ReplaceMembersAppends)
                && name == "replace"
                && path.eq_ignore_ascii_case("members")
            {
                op["op"] = json!("add");
            }
            if self.has(Break::PatchAddIgnored) && name == "add" && !path.is_empty() {
                continue;
            }
            if self.has(Break::PatchReplaceIgnored) && name == "replace" && !path.is_empty() {
                continue;
            }
            if self.has(Break::PatchRemoveIgnored) && name == "remove" && !path.contains('[') {
                continue;
            }
            if self.has(Break::PatchPathlessIgnored) && path.is_empty() && name != "remove" {
                continue;
            }
            if self.has(Break::PatchValuePathNoop) && path.contains('[') {
                continue;
            }
            if self.has(Break::PatchAddReplacesMulti)
                && name == "add"
                && path.eq_ignore_ascii_case("emails")
            {
                op["op"] = json!("replace");
            }
            if kind == Kind::Group
                && self.has(Break::AddMemberReplacesAll)
                && name == "add"
                && path.eq_ignore_ascii_case("members")
            {
                op["op"] = json!("replace");
            }
            if kind == Kind::Group
                && self.has(Break::RemoveMemberRemovesAll)
                && name == "remove"
                && path.to_ascii_lowercase().starts_with("members")
            {
                op = json!({"op": "remove", "path": "members"});
            }
            out.push(op);
        }
        let mut body = body.clone();
        body["Operations"] = Value::Array(out);
        body
    }

    pub(super) fn delete(&self, kind: Kind, id: &str) -> ResponseTemplate {
        let mut store = self.state.lock().unwrap();
        let Some(i) = Self::find(&store, kind, id) else {
            if self.has(Break::DeleteUnknown204) {
                return ResponseTemplate::new(204);
            }
            return self.error(&ScimError::not_found(format!("{id} not found")));
        };
        if !self.has(Break::DeleteKeeps) {
            match kind {
                Kind::User => store.users.remove(i),
                Kind::Group => store.groups.remove(i),
            };
            // Deleting a user removes it from groups.
            if kind == Kind::User && !self.has(Break::DeleteKeepsMemberships) {
                for g in &mut store.groups {
                    if let Some(members) = g.get_mut("members").and_then(Value::as_array_mut) {
                        members.retain(|m| m["value"].as_str() != Some(id));
                    }
                }
            }
        }
        if self.has(Break::DeleteReturns200) {
            return scim(200, &json!({}));
        }
        ResponseTemplate::new(204)
    }
}

/// Adds user `id` to the members of each group in `groups` (`[{"value": group id}]`): what a
/// server that wrongly treats User.groups as writable does.
pub(super) fn join_groups(store: &mut Store, id: &str, groups: &Value) {
    for g in groups.as_array().into_iter().flatten() {
        let Some(gid) = g["value"].as_str() else {
            continue;
        };
        for group in store
            .groups
            .iter_mut()
            .filter(|x| x["id"].as_str() == Some(gid))
        {
            match group.get_mut("members").and_then(Value::as_array_mut) {
                Some(m) => m.push(json!({"value": id})),
                None => group["members"] = json!([{"value": id}]),
            }
        }
    }
}

pub(super) fn resolve_bulk_ids(v: &mut Value, ids: &[(String, String)]) {
    match v {
        Value::String(s) => {
            if let Some(b) = s.strip_prefix("bulkId:")
                && let Some((_, id)) = ids.iter().find(|(k, _)| k == b)
            {
                *s = id.clone();
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| resolve_bulk_ids(x, ids)),
        Value::Object(o) => o.values_mut().for_each(|x| resolve_bulk_ids(x, ids)),
        _ => {}
    }
}
