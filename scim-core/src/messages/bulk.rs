//! Bulk messages (RFC 7644 §3.7): `BulkRequest`, `BulkResponse`, `bulkId` references.
//!
//! RFC 7644 §3.7: "Bulk requests are identified using the following schema URI:
//! "urn:ietf:params:scim:api:messages:2.0:BulkRequest". Bulk responses are identified using
//! the following URI: "urn:ietf:params:scim:api:messages:2.0:BulkResponse"."
//!
//! > `failOnErrors` An integer specifying the number of errors that the service provider
//! > will accept before the operation is terminated and an error response is returned.
//! > OPTIONAL in a request. Not valid in a response.
//! >
//! > `Operations` Defines operations within a bulk job. ... REQUIRED.
//! > `method` The HTTP method of the current operation. Possible values are "POST", "PUT",
//! > "PATCH", or "DELETE". REQUIRED. `bulkId` The transient identifier of a newly created
//! > resource, unique within a bulk request and created by the client. ... REQUIRED when
//! > "method" is "POST". `version` The current resource version. ... `path` The resource's
//! > relative path to the SCIM service provider's root. ... REQUIRED in a request. `data` The
//! > resource data as it would appear for a single SCIM POST, PUT, or PATCH operation.
//! > REQUIRED in a request when "method" is "POST", "PUT", or "PATCH". `location` The
//! > resource endpoint URL. REQUIRED in a response, except in the event of a POST failure.
//! > `response` The HTTP response body for the specified request operation. ... `status` The
//! > HTTP response status code for the requested operation.
//!
//! RFC 7644 §3.7.2: "A SCIM client can, within one bulk operation, create a new "User" with
//! a new "bulkId" ... and then ... reference ... by using the "bulkId:" prefix ... The
//! service provider MUST replace the string "bulkId:qwerty" with the permanent resource id
//! once created." §3.7.1: "The service provider MUST try to resolve circular cross-references
//! between resources in a single bulk job but MAY stop after a failed attempt and instead
//! return HTTP status code 409 (Conflict)."
//!
//! `status` is written as a JSON string (`"201"`), as the RFC's examples print it; a number
//! or the draft-era object `{"code": "201"}` is accepted on input.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use crate::error::{ScimError, ScimResult};

/// `urn:ietf:params:scim:api:messages:2.0:BulkRequest`.
pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// `urn:ietf:params:scim:api:messages:2.0:BulkResponse`.
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

/// The prefix of a reference to a resource created in the same bulk request.
pub const BULK_ID_PREFIX: &str = "bulkId:";

fn bulk_request_schemas() -> Vec<String> {
    vec![BULK_REQUEST_SCHEMA.to_owned()]
}

fn bulk_response_schemas() -> Vec<String> {
    vec![BULK_RESPONSE_SCHEMA.to_owned()]
}

/// The HTTP method of a bulk operation. Read case-insensitively, written in upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, schemars::JsonSchema)]
pub enum BulkMethod {
    /// `POST` (create).
    #[schemars(rename = "POST")]
    Post,
    /// `PUT` (replace).
    #[schemars(rename = "PUT")]
    Put,
    /// `PATCH` (modify).
    #[schemars(rename = "PATCH")]
    Patch,
    /// `DELETE`.
    #[schemars(rename = "DELETE")]
    Delete,
}

impl BulkMethod {
    /// `POST`, `PUT`, `PATCH` or `DELETE`.
    pub fn as_str(self) -> &'static str {
        match self {
            BulkMethod::Post => "POST",
            BulkMethod::Put => "PUT",
            BulkMethod::Patch => "PATCH",
            BulkMethod::Delete => "DELETE",
        }
    }

    /// Parses a method name ignoring ASCII case; anything else is 400 `invalidValue`.
    pub fn parse(s: &str) -> ScimResult<BulkMethod> {
        let t = s.trim();
        [
            BulkMethod::Post,
            BulkMethod::Put,
            BulkMethod::Patch,
            BulkMethod::Delete,
        ]
        .into_iter()
        .find(|m| m.as_str().eq_ignore_ascii_case(t))
        .ok_or_else(|| {
            ScimError::invalid_value(format!(
                "bulk method must be POST, PUT, PATCH or DELETE, not {s:?}"
            ))
        })
    }
}

impl fmt::Display for BulkMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for BulkMethod {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for BulkMethod {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        BulkMethod::parse(&s).map_err(|e| de::Error::custom(e.detail()))
    }
}

/// A bulk request (RFC 7644 §3.7).
///
/// ```
/// use scim_core::messages::{BulkMethod, BulkRequest};
///
/// let req = BulkRequest::from_value(serde_json::json!({
///     "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
///     "Operations": [
///         {"method": "POST", "path": "/Users", "bulkId": "qwerty",
///          "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "Alice"}},
///         {"method": "POST", "path": "/Groups", "bulkId": "ytrewq",
///          "data": {"displayName": "Tour Guides", "members": [{"type": "User", "value": "bulkId:qwerty"}]}}
///     ]
/// })).unwrap();
/// assert_eq!(req.operations[1].method, BulkMethod::Post);
/// assert_eq!(req.operations[1].bulk_id_refs(), ["qwerty"]);
/// assert_eq!(req.plan().order, [0, 1]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkRequest {
    /// `["urn:ietf:params:scim:api:messages:2.0:BulkRequest"]`.
    #[serde(default = "bulk_request_schemas")]
    pub schemas: Vec<String>,
    /// The number of errors after which the provider stops processing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_on_errors: Option<u32>,
    /// The operations, in request order.
    #[serde(rename = "Operations", alias = "operations")]
    pub operations: Vec<BulkOperation>,
}

/// One operation of a [`BulkRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperation {
    /// The HTTP method.
    pub method: BulkMethod,
    /// The client's transient id for a POST.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bulk_id: Option<String>,
    /// The resource version (ETag) for PUT, PATCH and DELETE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The path relative to the service root (`/Users`, `/Users/{id}`,
    /// `/Groups/bulkId:ytrewq`).
    pub path: String,
    /// The request body (a resource for POST/PUT, a PatchOp for PATCH).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl BulkRequest {
    /// A request with these operations.
    pub fn new(operations: Vec<BulkOperation>) -> Self {
        BulkRequest {
            schemas: bulk_request_schemas(),
            fail_on_errors: None,
            operations,
        }
    }

    /// Reads a request body; a body that is not a BulkRequest is 400 `invalidSyntax`.
    pub fn from_value(value: Value) -> ScimResult<Self> {
        serde_json::from_value(value).map_err(|e| {
            ScimError::invalid_syntax(format!("the body is not a valid BulkRequest: {e}"))
        })
    }

    /// Checks the per-operation rules of RFC 7644 §3.7: a POST carries a `bulkId` and
    /// `data`; PUT and PATCH carry `data`; `bulkId`s are unique; `path` is not empty.
    /// Missing members are 400 `invalidSyntax`, a duplicate `bulkId` 400 `invalidValue`.
    pub fn validate(&self) -> ScimResult<()> {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, op) in self.operations.iter().enumerate() {
            let at = |what: &str| {
                ScimError::invalid_syntax(format!(
                    "Operations[{i}] ({} {}): {what}",
                    op.method, op.path
                ))
            };
            if op.path.trim().is_empty() {
                return Err(at("'path' is required"));
            }
            match op.method {
                BulkMethod::Post if op.bulk_id.is_none() => {
                    return Err(at("'bulkId' is required when method is POST"));
                }
                BulkMethod::Post | BulkMethod::Put | BulkMethod::Patch if op.data.is_none() => {
                    return Err(at("'data' is required when method is POST, PUT or PATCH"));
                }
                _ => {}
            }
            if let Some(id) = op.bulk_id.as_deref() {
                if let Some(first) = seen.insert(id, i) {
                    return Err(ScimError::invalid_value(format!(
                        "bulkId {id:?} is used by Operations[{first}] and Operations[{i}]; \
                         bulkIds must be unique within a bulk request"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Orders the operations so that each runs after the POSTs whose `bulkId`s it
    /// references (otherwise keeping request order), and lists the operations that cannot
    /// run: those referencing an undefined `bulkId`, those on a circular chain of references
    /// (RFC 7644 §3.7.1), and those depending on either.
    ///
    /// A server may instead resolve a cycle itself (create both resources, then patch the
    /// references in); this helper reports it and leaves the choice to the caller.
    pub fn plan(&self) -> BulkPlan {
        let n = self.operations.len();
        let defined: HashMap<&str, usize> = self
            .operations
            .iter()
            .enumerate()
            .filter(|(_, op)| op.method == BulkMethod::Post)
            .filter_map(|(i, op)| op.bulk_id.as_deref().map(|b| (b, i)))
            .collect();
        let refs: Vec<Vec<&str>> = self.operations.iter().map(|op| op.bulk_id_refs()).collect();
        let mut deps: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
        let mut undefined: Vec<Vec<String>> = vec![Vec::new(); n];
        for (i, rs) in refs.iter().enumerate() {
            for r in rs {
                match defined.get(r) {
                    Some(&j) => {
                        deps[i].insert(j);
                    }
                    None => undefined[i].push((*r).to_owned()),
                }
            }
        }
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut indegree: Vec<usize> = vec![0; n];
        for (i, ds) in deps.iter().enumerate() {
            indegree[i] = ds.len();
            for &j in ds {
                dependents[j].push(i);
            }
        }
        // Kahn's algorithm, always taking the lowest ready index; operations with an
        // undefined reference never become ready, and neither do their dependents.
        let mut ready: BTreeSet<usize> = (0..n)
            .filter(|&i| indegree[i] == 0 && undefined[i].is_empty())
            .collect();
        let mut order = Vec::with_capacity(n);
        while let Some(i) = ready.pop_first() {
            order.push(i);
            for &k in &dependents[i] {
                indegree[k] -= 1;
                if indegree[k] == 0 && undefined[k].is_empty() {
                    ready.insert(k);
                }
            }
        }
        let placed: BTreeSet<usize> = order.iter().copied().collect();
        let unresolved = (0..n)
            .filter(|i| !placed.contains(i))
            .map(|i| UnresolvedOperation {
                index: i,
                bulk_ids: refs[i].iter().map(|s| (*s).to_owned()).collect(),
                undefined: undefined[i].clone(),
                circular: on_cycle(i, &deps),
            })
            .collect();
        BulkPlan { order, unresolved }
    }
}

/// Is `start` reachable from itself through `deps`?
fn on_cycle(start: usize, deps: &[BTreeSet<usize>]) -> bool {
    let mut stack: Vec<usize> = deps[start].iter().copied().collect();
    let mut seen = vec![false; deps.len()];
    while let Some(i) = stack.pop() {
        if i == start {
            return true;
        }
        if !std::mem::replace(&mut seen[i], true) {
            stack.extend(deps[i].iter().copied());
        }
    }
    false
}

/// The result of [`BulkRequest::plan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkPlan {
    /// Indexes of the operations that can run, in a valid order.
    pub order: Vec<usize>,
    /// Operations that cannot run, in request order.
    pub unresolved: Vec<UnresolvedOperation>,
}

/// An operation whose `bulkId` references cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnresolvedOperation {
    /// Its index in `Operations`.
    pub index: usize,
    /// Every `bulkId` it references.
    pub bulk_ids: Vec<String>,
    /// The referenced `bulkId`s no POST in the request defines.
    pub undefined: Vec<String>,
    /// Whether it lies on a circular chain of references.
    pub circular: bool,
}

impl UnresolvedOperation {
    /// The error for this operation's entry in the BulkResponse: 409 Conflict (RFC 7644
    /// §3.7.1) naming the references.
    pub fn error(&self) -> ScimError {
        if self.circular {
            ScimError::conflict(format!(
                "Operations[{}] is part of a circular bulkId reference ({})",
                self.index,
                self.bulk_ids.join(", ")
            ))
        } else if !self.undefined.is_empty() {
            ScimError::conflict(format!(
                "Operations[{}] references bulkId {} that no POST operation in this request \
                 defines",
                self.index,
                self.undefined.join(", ")
            ))
        } else {
            ScimError::conflict(format!(
                "Operations[{}] references bulkId {} whose operation cannot be performed",
                self.index,
                self.bulk_ids.join(", ")
            ))
        }
    }
}

impl BulkOperation {
    /// An operation.
    pub fn new(method: BulkMethod, path: impl Into<String>) -> Self {
        BulkOperation {
            method,
            bulk_id: None,
            version: None,
            path: path.into(),
            data: None,
        }
    }

    /// The `bulkId`s this operation references, in its `path` (`/Groups/bulkId:x`) and in
    /// any string of its `data`, without duplicates, in order of appearance.
    pub fn bulk_id_refs(&self) -> Vec<&str> {
        let mut out = Vec::new();
        if let Some(r) = find_ref(&self.path) {
            out.push(r.id);
        }
        if let Some(data) = &self.data {
            collect_refs(data, &mut out);
        }
        let mut seen = BTreeSet::new();
        out.retain(|r| seen.insert(*r));
        out
    }

    /// Replaces each `bulkId:x` reference in `path` and `data` with the id `resolve(x)`
    /// returns. An unresolved reference is 409 Conflict and leaves the operation unchanged.
    pub fn substitute_bulk_ids(
        &mut self,
        mut resolve: impl FnMut(&str) -> Option<String>,
    ) -> ScimResult<()> {
        let mut path = Value::String(self.path.clone());
        let mut data = self.data.clone();
        substitute_bulk_ids(&mut path, &mut resolve)?;
        if let Some(d) = data.as_mut() {
            substitute_bulk_ids(d, &mut resolve)?;
        }
        if let Value::String(p) = path {
            self.path = p;
        }
        self.data = data;
        Ok(())
    }
}

struct Ref<'a> {
    /// Byte range of `bulkId:<id>` in the string.
    start: usize,
    end: usize,
    id: &'a str,
}

/// Finds a reference in a string: the whole string `bulkId:x`, or a URI or path whose
/// segment is `bulkId:x` (`/Users/bulkId:x`, `https://.../Users/bulkId:x`).
fn find_ref(s: &str) -> Option<Ref<'_>> {
    let start = if starts_with_ci(s, BULK_ID_PREFIX) {
        0
    } else {
        let lower = s.to_ascii_lowercase();
        lower.rfind("/bulkid:")? + 1
    };
    let id_start = start + BULK_ID_PREFIX.len();
    let rest = &s[id_start..];
    let id_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let id = &rest[..id_len];
    (!id.is_empty()).then_some(Ref {
        start,
        end: id_start + id_len,
        id,
    })
}

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len()
        && s.is_char_boundary(prefix.len())
        && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn collect_refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::String(s) => {
            if let Some(r) = find_ref(s) {
                out.push(r.id);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        Value::Object(obj) => obj.values().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// Every `bulkId` referenced anywhere in `value` (`"bulkId:qwerty"` strings, or URIs ending
/// in a `bulkId:qwerty` segment), in order of appearance, with repeats.
///
/// ```
/// let data = serde_json::json!({
///     "members": [{"type": "User", "value": "bulkId:qwerty"}],
///     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
///         "manager": {"value": "bulkId:ytrewq"}
///     }
/// });
/// assert_eq!(scim_core::messages::bulk_id_refs(&data), ["qwerty", "ytrewq"]);
/// ```
pub fn bulk_id_refs(value: &Value) -> Vec<&str> {
    let mut out = Vec::new();
    collect_refs(value, &mut out);
    out
}

/// Replaces every `bulkId:x` reference in `value` with `resolve(x)`, returning how many
/// were replaced. A reference `resolve` cannot resolve is 409 Conflict (RFC 7644 §3.7.1);
/// on error `value` may be partly substituted.
///
/// ```
/// let mut data = serde_json::json!({"members": [{"value": "bulkId:qwerty"}, {"value": "abc"}]});
/// let n = scim_core::messages::substitute_bulk_ids(&mut data, |id| {
///     (id == "qwerty").then(|| "92b725cd".to_string())
/// }).unwrap();
/// assert_eq!(n, 1);
/// assert_eq!(data["members"][0]["value"], "92b725cd");
/// ```
pub fn substitute_bulk_ids(
    value: &mut Value,
    mut resolve: impl FnMut(&str) -> Option<String>,
) -> ScimResult<usize> {
    let mut count = 0;
    substitute_inner(value, &mut resolve, &mut count)?;
    Ok(count)
}

fn substitute_inner(
    value: &mut Value,
    resolve: &mut dyn FnMut(&str) -> Option<String>,
    count: &mut usize,
) -> ScimResult<()> {
    match value {
        Value::String(s) => {
            let replaced = match find_ref(s) {
                Some(r) => {
                    let id = resolve(r.id).ok_or_else(|| {
                        ScimError::conflict(format!(
                            "bulkId {:?} cannot be resolved to a created resource",
                            r.id
                        ))
                    })?;
                    Some(format!("{}{}{}", &s[..r.start], id, &s[r.end..]))
                }
                None => None,
            };
            if let Some(new) = replaced {
                *s = new;
                *count += 1;
            }
        }
        Value::Array(items) => {
            for v in items {
                substitute_inner(v, resolve, count)?;
            }
        }
        Value::Object(obj) => {
            for v in obj.values_mut() {
                substitute_inner(v, resolve, count)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// A bulk response (RFC 7644 §3.7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BulkResponse {
    /// `["urn:ietf:params:scim:api:messages:2.0:BulkResponse"]`.
    #[serde(default = "bulk_response_schemas")]
    pub schemas: Vec<String>,
    /// One result per processed operation, in processing order.
    #[serde(rename = "Operations", alias = "operations", default)]
    pub operations: Vec<BulkOperationResponse>,
}

impl BulkResponse {
    /// A response with these results.
    pub fn new(operations: Vec<BulkOperationResponse>) -> Self {
        BulkResponse {
            schemas: bulk_response_schemas(),
            operations,
        }
    }
}

/// The result of one bulk operation.
///
/// ```
/// use scim_core::ScimError;
/// use scim_core::messages::{BulkMethod, BulkOperationResponse};
///
/// let ok = BulkOperationResponse::success(BulkMethod::Post, 201)
///     .with_bulk_id("qwerty")
///     .with_location("https://example.com/v2/Users/92b725cd-9465-4e7d-8c16-01f8e146b87a");
/// assert_eq!(serde_json::to_value(&ok).unwrap()["status"], "201");
/// let failed = BulkOperationResponse::failure(BulkMethod::Post, &ScimError::invalid_syntax("bad"));
/// assert_eq!(serde_json::to_value(&failed).unwrap()["response"]["scimType"], "invalidSyntax");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperationResponse {
    /// The resource endpoint URL (absent only for a failed POST).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The operation's method.
    pub method: BulkMethod,
    /// The `bulkId` of the request operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bulk_id: Option<String>,
    /// The resource version after the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The HTTP status (written as a string, `"201"`).
    #[serde(serialize_with = "status_out", deserialize_with = "status_in")]
    #[schemars(with = "String")]
    pub status: u16,
    /// The response body: the resource, or the error message on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
}

impl BulkOperationResponse {
    /// A successful result with `status`.
    pub fn success(method: BulkMethod, status: u16) -> Self {
        BulkOperationResponse {
            location: None,
            method,
            bulk_id: None,
            version: None,
            status,
            response: None,
        }
    }

    /// A failed result: the error's status and its RFC 7644 §3.12 body as `response`.
    pub fn failure(method: BulkMethod, error: &ScimError) -> Self {
        BulkOperationResponse {
            location: None,
            method,
            bulk_id: None,
            version: None,
            status: error.status(),
            response: Some(error.to_json()),
        }
    }

    /// Sets `location`.
    pub fn with_location(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }

    /// Sets `bulkId`.
    pub fn with_bulk_id(mut self, bulk_id: impl Into<String>) -> Self {
        self.bulk_id = Some(bulk_id.into());
        self
    }

    /// Sets `version`.
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// Sets `response`.
    pub fn with_response(mut self, response: Value) -> Self {
        self.response = Some(response);
        self
    }

    /// Is the status 2xx?
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

fn status_out<S: Serializer>(status: &u16, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&status.to_string())
}

fn status_in<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    fn parse<E: de::Error>(v: &Value) -> Result<u16, E> {
        match v {
            Value::String(s) => s
                .trim()
                .parse()
                .map_err(|_| E::custom(format!("invalid status {s:?}"))),
            Value::Number(n) => n
                .as_u64()
                .and_then(|n| u16::try_from(n).ok())
                .ok_or_else(|| E::custom(format!("invalid status {n}"))),
            Value::Object(o) => match o.get("code") {
                Some(code) => parse(code),
                None => Err(E::custom("status object without 'code'")),
            },
            other => Err(E::custom(format!("invalid status {other}"))),
        }
    }
    let v = Value::deserialize(d)?;
    parse(&v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(v: Value) -> BulkOperation {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn method_is_case_insensitive() {
        let o = op(json!({"method": "patch", "path": "/Users/1", "data": {}}));
        assert_eq!(o.method, BulkMethod::Patch);
        assert_eq!(serde_json::to_value(&o).unwrap()["method"], "PATCH");
        assert!(
            serde_json::from_value::<BulkOperation>(json!({"method": "GET", "path": "/x"}))
                .is_err()
        );
    }

    #[test]
    fn refs_in_path_and_uris() {
        let o = op(json!({"method": "PUT", "path": "/Users/bulkId:qwerty",
            "data": {"x": "https://example.com/v2/Users/bulkId:abc", "y": "bulkId:qwerty", "z": "not bulkId:no"}}));
        assert_eq!(o.bulk_id_refs(), ["qwerty", "abc"]);
        let mut o2 = o.clone();
        o2.substitute_bulk_ids(|id| Some(format!("ID-{id}")))
            .unwrap();
        assert_eq!(o2.path, "/Users/ID-qwerty");
        assert_eq!(
            o2.data.as_ref().unwrap()["x"],
            "https://example.com/v2/Users/ID-abc"
        );
        assert_eq!(o2.data.as_ref().unwrap()["z"], "not bulkId:no");
        let mut o3 = o.clone();
        let e = o3.substitute_bulk_ids(|_| None).unwrap_err();
        assert_eq!(e.status(), 409);
        assert_eq!(o3, o);
    }

    #[test]
    fn plan_orders_and_detects_cycles() {
        let req = BulkRequest::new(vec![
            op(json!({"method": "PATCH", "path": "/Groups/bulkId:g", "data": {"v": "bulkId:u"}})),
            op(json!({"method": "POST", "path": "/Groups", "bulkId": "g", "data": {}})),
            op(json!({"method": "POST", "path": "/Users", "bulkId": "u", "data": {}})),
            op(
                json!({"method": "POST", "path": "/Groups", "bulkId": "a", "data": {"m": "bulkId:b"}}),
            ),
            op(
                json!({"method": "POST", "path": "/Groups", "bulkId": "b", "data": {"m": "bulkId:a"}}),
            ),
            op(json!({"method": "DELETE", "path": "/Users/bulkId:missing"})),
            op(json!({"method": "PATCH", "path": "/Groups/bulkId:a", "data": {}})),
        ]);
        let plan = req.plan();
        assert_eq!(plan.order, [1, 2, 0]);
        let un: Vec<(usize, bool)> = plan
            .unresolved
            .iter()
            .map(|u| (u.index, u.circular))
            .collect();
        assert_eq!(un, [(3, true), (4, true), (5, false), (6, false)]);
        assert_eq!(plan.unresolved[2].undefined, ["missing"]);
        assert_eq!(plan.unresolved[0].error().status(), 409);
    }

    #[test]
    fn validate_rules() {
        let post_without_id = BulkRequest::new(vec![op(
            json!({"method": "POST", "path": "/Users", "data": {}}),
        )]);
        assert_eq!(
            post_without_id.validate().unwrap_err().scim_type(),
            Some(crate::ScimType::InvalidSyntax)
        );
        let dup = BulkRequest::new(vec![
            op(json!({"method": "POST", "path": "/Users", "bulkId": "x", "data": {}})),
            op(json!({"method": "POST", "path": "/Users", "bulkId": "x", "data": {}})),
        ]);
        assert_eq!(
            dup.validate().unwrap_err().scim_type(),
            Some(crate::ScimType::InvalidValue)
        );
        let put_without_data =
            BulkRequest::new(vec![op(json!({"method": "PUT", "path": "/Users/1"}))]);
        assert!(put_without_data.validate().is_err());
        let delete = BulkRequest::new(vec![op(json!({"method": "DELETE", "path": "/Users/1"}))]);
        assert!(delete.validate().is_ok());
    }

    #[test]
    fn status_forms() {
        for status in [json!("201"), json!(201), json!({"code": "201"})] {
            let r: BulkOperationResponse =
                serde_json::from_value(json!({"method": "POST", "status": status})).unwrap();
            assert_eq!(r.status, 201);
            assert!(r.is_success());
        }
        assert!(
            serde_json::from_value::<BulkOperationResponse>(
                json!({"method": "POST", "status": "abc"})
            )
            .is_err()
        );
    }
}
