//! The PATCH request message (RFC 7644 §3.5.2): `PatchOp` with its `Operations`.
//!
//! RFC 7644 §3.5.2: "The body of each request MUST contain the "schemas" attribute with the URI
//! value of "urn:ietf:params:scim:api:messages:2.0:PatchOp". The body of an HTTP PATCH request
//! MUST contain the attribute "Operations", whose value is an array of one or more PATCH
//! operations. Each PATCH operation object MUST have exactly one "op" member, whose value
//! indicates the operation to perform and MAY be one of "add", "remove", or "replace". [...]
//! The "path" attribute is OPTIONAL for "add" and "replace" and is REQUIRED for "remove"
//! operations."

use std::fmt;

use serde::de::{self, Deserializer};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::compat::PatchOptions;
use crate::error::{ScimError, ScimResult};

/// The schema URI of a PATCH request (RFC 7644 §3.5.2).
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The kind of a PATCH operation (`op`).
///
/// Deserialisation accepts any letter case (`"Add"`, `"REPLACE"`), because Microsoft Entra ID
/// sends capitalised operations; whether that is acceptable is decided when the request is
/// applied, by [`PatchOptions::op_any_case`]. Serialisation always writes the RFC's lower-case
/// keyword.
///
/// ```
/// use scim_core::patch::PatchOpKind;
///
/// assert_eq!("Replace".parse::<PatchOpKind>().unwrap(), PatchOpKind::Replace);
/// assert_eq!(PatchOpKind::Remove.as_str(), "remove");
/// assert!("move".parse::<PatchOpKind>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatchOpKind {
    /// `add` (RFC 7644 §3.5.2.1).
    Add,
    /// `replace` (RFC 7644 §3.5.2.3).
    Replace,
    /// `remove` (RFC 7644 §3.5.2.2).
    Remove,
}

impl PatchOpKind {
    /// The RFC keyword: `add`, `replace` or `remove`.
    pub fn as_str(self) -> &'static str {
        match self {
            PatchOpKind::Add => "add",
            PatchOpKind::Replace => "replace",
            PatchOpKind::Remove => "remove",
        }
    }
}

impl fmt::Display for PatchOpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for PatchOpKind {
    type Err = ScimError;

    /// Parses an `op` in any letter case. Anything other than add/replace/remove (JSON Patch's
    /// `move`, `copy`, `test` included) is 400 `invalidSyntax`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [PatchOpKind::Add, PatchOpKind::Replace, PatchOpKind::Remove]
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                ScimError::invalid_syntax(format!(
                    "PATCH op {s:?} is not one of \"add\", \"remove\" or \"replace\" \
                     (RFC 7644 §3.5.2)"
                ))
            })
    }
}

impl Serialize for PatchOpKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for PatchOpKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse()
            .map_err(|e: ScimError| de::Error::custom(e.detail()))
    }
}

/// One PATCH operation: `{"op": ..., "path": ..., "value": ...}`.
///
/// Member names are matched case-insensitively on input. `value` distinguishes an absent
/// member (`None`) from an explicit JSON `null` (`Some(Value::Null)`, which RFC 7643 §2.5 makes
/// equivalent to "unassigned").
///
/// ```
/// use scim_core::patch::{PatchOpKind, PatchOperation};
///
/// let op: PatchOperation = serde_json::from_value(serde_json::json!(
///     {"op": "Replace", "path": "active", "value": "False"})).unwrap();
/// assert_eq!(op.op, PatchOpKind::Replace);
/// assert_eq!(op.op_as_sent.as_deref(), Some("Replace"));
/// assert_eq!(serde_json::to_value(&op).unwrap(),
///            serde_json::json!({"op": "replace", "path": "active", "value": "False"}));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    /// The operation.
    pub op: PatchOpKind,
    /// The target path (RFC 7644 §3.5.2 `PATH`); optional for add and replace.
    pub path: Option<String>,
    /// The value; required for add and replace.
    pub value: Option<Value>,
    /// The `op` member exactly as the client sent it, when that differs from the RFC's
    /// lower-case keyword (Entra sends `"Add"`); `None` for the RFC spelling and for
    /// operations built in code. Read only by [`PatchOptions::op_any_case`]; never
    /// serialised.
    pub op_as_sent: Option<String>,
}

impl PatchOperation {
    /// An operation with the RFC spelling of `op`.
    pub fn new(op: PatchOpKind, path: Option<String>, value: Option<Value>) -> Self {
        PatchOperation {
            op,
            path,
            value,
            op_as_sent: None,
        }
    }

    /// `{"op": "add", "path": path, "value": value}`.
    pub fn add(path: impl Into<String>, value: Value) -> Self {
        Self::new(PatchOpKind::Add, Some(path.into()), Some(value))
    }

    /// `{"op": "add", "value": value}` (no path: `value` holds attributes of the resource).
    pub fn add_pathless(value: Value) -> Self {
        Self::new(PatchOpKind::Add, None, Some(value))
    }

    /// `{"op": "replace", "path": path, "value": value}`.
    pub fn replace(path: impl Into<String>, value: Value) -> Self {
        Self::new(PatchOpKind::Replace, Some(path.into()), Some(value))
    }

    /// `{"op": "replace", "value": value}` (no path).
    pub fn replace_pathless(value: Value) -> Self {
        Self::new(PatchOpKind::Replace, None, Some(value))
    }

    /// `{"op": "remove", "path": path}`.
    pub fn remove(path: impl Into<String>) -> Self {
        Self::new(PatchOpKind::Remove, Some(path.into()), None)
    }

    /// Message-level checks of RFC 7644 §3.5.2 for this operation: add and replace need a
    /// `value` (400 `invalidValue`); "If "path" is unspecified, the operation fails with HTTP
    /// status code 400 and a "scimType" error code of "noTarget"" (§3.5.2.2, remove); with
    /// `options.op_any_case` off, an `op` not spelled exactly as the RFC spells it is 400
    /// `invalidSyntax`.
    pub fn validate_with(&self, options: &PatchOptions) -> ScimResult<()> {
        if let Some(sent) = &self.op_as_sent {
            if !options.op_any_case && sent != self.op.as_str() {
                return Err(ScimError::invalid_syntax(format!(
                    "PATCH op {sent:?} must be spelled {:?} (RFC 7644 §3.5.2: \"MAY be one of \
                     \"add\", \"remove\", or \"replace\"\")",
                    self.op.as_str()
                )));
            }
        }
        match self.op {
            PatchOpKind::Add | PatchOpKind::Replace if self.value.is_none() => {
                Err(ScimError::invalid_value(format!(
                    "a PATCH \"{}\" operation MUST contain a \"value\" member (RFC 7644 §3.5.2.1)",
                    self.op
                )))
            }
            PatchOpKind::Remove if self.path.is_none() => Err(ScimError::no_target(
                "a PATCH \"remove\" operation requires \"path\": \"If 'path' is unspecified, the \
                 operation fails with HTTP status code 400 and a 'scimType' error code of \
                 'noTarget'\" (RFC 7644 §3.5.2.2)",
            )),
            _ => Ok(()),
        }
    }
}

impl Serialize for PatchOperation {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let len = 1 + usize::from(self.path.is_some()) + usize::from(self.value.is_some());
        let mut map = serializer.serialize_map(Some(len))?;
        map.serialize_entry("op", &self.op)?;
        if let Some(path) = &self.path {
            map.serialize_entry("path", path)?;
        }
        if let Some(value) = &self.value {
            map.serialize_entry("value", value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for PatchOperation {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(deserializer)?;
        operation_from_map(map).map_err(|e| de::Error::custom(e.detail()))
    }
}

fn take_ci(map: &mut Map<String, Value>, key: &str) -> Option<Value> {
    crate::resource::remove_ci(map, key)
}

fn operation_from_map(mut map: Map<String, Value>) -> ScimResult<PatchOperation> {
    let op_raw = match take_ci(&mut map, "op") {
        Some(Value::String(s)) => s,
        Some(other) => {
            return Err(ScimError::invalid_syntax(format!(
                "PATCH \"op\" must be a string, not {other}"
            )));
        }
        None => {
            return Err(ScimError::invalid_syntax(
                "a PATCH operation MUST have exactly one \"op\" member (RFC 7644 §3.5.2)",
            ));
        }
    };
    let op: PatchOpKind = op_raw.parse()?;
    let path = match take_ci(&mut map, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            return Err(ScimError::invalid_path(format!(
                "PATCH \"path\" must be a string, not {other}"
            )));
        }
    };
    let value = take_ci(&mut map, "value");
    let op_as_sent = (op_raw != op.as_str()).then_some(op_raw);
    Ok(PatchOperation {
        op,
        path,
        value,
        op_as_sent,
    })
}

/// A PATCH request (RFC 7644 §3.5.2), serialised as
/// `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[...]}`.
/// On input, `schemas` and `Operations` are matched case-insensitively.
///
/// ```
/// use scim_core::patch::{PatchRequest, PatchOperation};
///
/// let req: PatchRequest = serde_json::from_str(r#"{
///     "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
///     "operations": [{"op": "Add", "path": "members", "value": [{"value": "2819c223"}]}]
/// }"#).unwrap();
/// assert_eq!(req.operations.len(), 1);
/// req.validate().unwrap();
/// let json = serde_json::to_value(&req).unwrap();
/// assert_eq!(json["Operations"][0]["op"], "add");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PatchRequest {
    /// Must contain [`PATCH_OP_SCHEMA`].
    pub schemas: Vec<String>,
    /// The operations, applied in order.
    pub operations: Vec<PatchOperation>,
}

impl PatchRequest {
    /// A request with the PatchOp schema and these operations.
    pub fn new(operations: Vec<PatchOperation>) -> Self {
        PatchRequest {
            schemas: vec![PATCH_OP_SCHEMA.to_owned()],
            operations,
        }
    }

    /// Parses a request body. Malformed JSON or a body that is not a PatchOp message is 400
    /// `invalidSyntax` (a bad `path` type is `invalidPath`).
    pub fn from_json(value: Value) -> ScimResult<Self> {
        match value {
            Value::Object(map) => request_from_map(map),
            other => Err(ScimError::invalid_syntax(format!(
                "a PATCH request body must be a JSON object, not {other}"
            ))),
        }
    }

    /// Parses a request body from bytes (see [`PatchRequest::from_json`]).
    pub fn from_slice(body: &[u8]) -> ScimResult<Self> {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            ScimError::invalid_syntax(format!("PATCH request body is not valid JSON: {e}"))
        })?;
        Self::from_json(value)
    }

    /// Message-level checks with every compatibility switch on (see
    /// [`PatchRequest::validate_with`]).
    pub fn validate(&self) -> ScimResult<()> {
        self.validate_with(&PatchOptions::default())
    }

    /// Message-level checks (RFC 7644 §3.5.2): `schemas` contains the PatchOp URI and
    /// `Operations` is not empty (400 `invalidSyntax`), then [`PatchOperation::validate_with`]
    /// for each operation.
    pub fn validate_with(&self, options: &PatchOptions) -> ScimResult<()> {
        if !self
            .schemas
            .iter()
            .any(|s| s.eq_ignore_ascii_case(PATCH_OP_SCHEMA))
        {
            return Err(ScimError::invalid_syntax(format!(
                "a PATCH request MUST contain \"schemas\" with {PATCH_OP_SCHEMA:?} \
                 (RFC 7644 §3.5.2); got {:?}",
                self.schemas
            )));
        }
        if self.operations.is_empty() {
            return Err(ScimError::invalid_syntax(
                "a PATCH request MUST contain \"Operations\" with one or more operations \
                 (RFC 7644 §3.5.2)",
            ));
        }
        for (i, op) in self.operations.iter().enumerate() {
            op.validate_with(options)
                .map_err(|e| super::apply::in_operation(e, i, op))?;
        }
        Ok(())
    }

    /// Applies the request to `resource` (see [`apply_patch`](super::apply_patch)).
    pub fn apply(
        &self,
        resource: &mut crate::resource::Resource,
        schema: &crate::schema::ResourceSchema,
        options: &PatchOptions,
    ) -> ScimResult<super::PatchOutcome> {
        super::apply_patch(resource, schema, self, options)
    }
}

fn request_from_map(mut map: Map<String, Value>) -> ScimResult<PatchRequest> {
    let schemas = match take_ci(&mut map, "schemas") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                other => Err(ScimError::invalid_syntax(format!(
                    "\"schemas\" must hold strings, not {other}"
                ))),
            })
            .collect::<ScimResult<_>>()?,
        Some(other) => {
            return Err(ScimError::invalid_syntax(format!(
                "\"schemas\" must be an array of strings, not {other}"
            )));
        }
    };
    let operations = match take_ci(&mut map, "Operations") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Object(m) => operation_from_map(m).map_err(|e| {
                    ScimError::new(
                        e.status(),
                        e.scim_type(),
                        format!("Operations[{i}]: {}", e.detail()),
                    )
                }),
                other => Err(ScimError::invalid_syntax(format!(
                    "Operations[{i}] must be an object, not {other}"
                ))),
            })
            .collect::<ScimResult<_>>()?,
        Some(other) => {
            return Err(ScimError::invalid_syntax(format!(
                "\"Operations\" must be an array, not {other}"
            )));
        }
    };
    Ok(PatchRequest {
        schemas,
        operations,
    })
}

impl Serialize for PatchRequest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("schemas", &self.schemas)?;
        map.serialize_entry("Operations", &self.operations)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for PatchRequest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(deserializer)?;
        request_from_map(map).map_err(|e| de::Error::custom(e.detail()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_any_case_member_names_and_ops() {
        let req: PatchRequest = serde_json::from_value(json!({
            "SCHEMAS": [PATCH_OP_SCHEMA],
            "operations": [
                {"OP": "Add", "Path": "members", "Value": [{"value": "1"}]},
                {"op": "remove", "path": "members[value eq \"2\"]"}
            ]
        }))
        .unwrap();
        assert_eq!(req.operations[0].op, PatchOpKind::Add);
        assert_eq!(req.operations[0].op_as_sent.as_deref(), Some("Add"));
        assert_eq!(req.operations[1].op_as_sent, None);
        assert_eq!(req.operations[1].value, None);
        req.validate().unwrap();
        let strict = req.validate_with(&PatchOptions::strict()).unwrap_err();
        assert_eq!(strict.scim_type(), Some(crate::ScimType::InvalidSyntax));
        assert!(strict.detail().contains("Operations[0]"), "{strict}");
    }

    #[test]
    fn serialises_as_rfc_message() {
        let req = PatchRequest::new(vec![
            PatchOperation::add("members", json!([{"value": "1"}])),
            PatchOperation::remove("nickName"),
        ]);
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            json!({
                "schemas": [PATCH_OP_SCHEMA],
                "Operations": [
                    {"op": "add", "path": "members", "value": [{"value": "1"}]},
                    {"op": "remove", "path": "nickName"}
                ]
            })
        );
        let back: PatchRequest =
            serde_json::from_value(serde_json::to_value(&req).unwrap()).unwrap();
        assert_eq!(back, req);
    }

    #[test]
    fn explicit_null_value_is_kept_apart_from_absent() {
        let op: PatchOperation =
            serde_json::from_value(json!({"op": "replace", "path": "nickName", "value": null}))
                .unwrap();
        assert_eq!(op.value, Some(Value::Null));
    }

    #[test]
    fn message_level_errors() {
        let no_schema = PatchRequest {
            schemas: vec![],
            operations: vec![PatchOperation::remove("x")],
        };
        assert_eq!(
            no_schema.validate().unwrap_err().scim_type(),
            Some(crate::ScimType::InvalidSyntax)
        );
        let empty = PatchRequest::new(vec![]);
        assert_eq!(empty.validate().unwrap_err().status(), 400);
        let no_value = PatchRequest::new(vec![PatchOperation::new(
            PatchOpKind::Add,
            Some("nickName".into()),
            None,
        )]);
        assert_eq!(
            no_value.validate().unwrap_err().scim_type(),
            Some(crate::ScimType::InvalidValue)
        );
        let no_path = PatchRequest::new(vec![PatchOperation::new(PatchOpKind::Remove, None, None)]);
        assert_eq!(
            no_path.validate().unwrap_err().scim_type(),
            Some(crate::ScimType::NoTarget)
        );
    }

    #[test]
    fn rejects_unknown_ops_and_bad_shapes() {
        for body in [
            json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "move", "path": "a"}]}),
            json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [{"path": "a"}]}),
            json!({"schemas": [PATCH_OP_SCHEMA], "Operations": {"op": "add"}}),
            json!({"schemas": "x", "Operations": []}),
            json!([1, 2]),
        ] {
            let e = PatchRequest::from_json(body.clone()).unwrap_err();
            assert_eq!(e.status(), 400, "{body}");
            assert!(serde_json::from_value::<PatchRequest>(body).is_err());
        }
        let e = PatchRequest::from_json(
            json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "add", "path": 3}]}),
        )
        .unwrap_err();
        assert_eq!(e.scim_type(), Some(crate::ScimType::InvalidPath));
        assert!(PatchRequest::from_slice(b"{not json").is_err());
    }
}
