//! Validation on write: what a service provider does to a POST (RFC 7644 §3.3) or PUT
//! (RFC 7644 §3.5.1) body before it stores it.
//!
//! [`validate_create`] and [`validate_replace`] take the body and return the resource to
//! store, cleaned:
//!
//! * **readOnly attributes are ignored** (`id`, `meta`, `groups` on a User,
//!   `manager.displayName`). RFC 7644 §3.3: "In the request body, attributes whose mutability
//!   is "readOnly" (see Sections 2.2 and 7 of \[RFC7643\]) SHALL be ignored." On PUT they are
//!   taken from the stored resource (RFC 7644 §3.5.1, readOnly: "Any values provided SHALL be
//!   ignored.").
//! * **Unassigned values are removed.** RFC 7643 §2.5: "Unassigned attributes, the null
//!   value, or empty array (in the case of a multi-valued attribute) SHALL be considered to
//!   be equivalent in "state"." A complex value left with no sub-attributes is unassigned too.
//! * **Names are normalised** to the schema's spelling (`USERNAME` becomes `userName`,
//!   extension keys become the schema URN as the schema spells it), because RFC 7643 §2.1
//!   says "Attribute names are case insensitive"; storage then sees one spelling. The same
//!   attribute given twice in different spellings is 400 `invalidSyntax`.
//! * **Types are checked recursively** against RFC 7643 §2.3: string, boolean, decimal,
//!   integer, dateTime ([`is_xsd_date_time`]), binary ([`is_base64`]), reference (a string),
//!   complex (an object), and multi-valued (an array).
//! * **`primary`**: RFC 7643 §2.4 "The primary attribute value "true" MUST appear no more
//!   than once."
//! * **Required attributes** (RFC 7643 §7 `required`), required sub-attributes of present
//!   complex values and required extensions (RFC 7643 §6), exactly as the schema publishes
//!   them (the built-in Group schema marks `displayName` required, RFC 7643 §4.2). A required
//!   string that is empty or only white space is missing too (`"userName": ""`). readOnly
//!   attributes are never required of a client: the service provider assigns them.
//! * **`schemas`** must list the core schema and every extension present, and nothing the
//!   resource type does not define (RFC 7643 §3: "The "schemas" attribute for a resource MUST
//!   only contain values defined as "schema" and "schemaExtensions" for the resource's
//!   defined "resourceType". Duplicate values MUST NOT be included."). Entra's
//!   `http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group` in a
//!   Group's `schemas` is accepted and dropped in every mode. The output lists the core URN
//!   first.
//!
//! # Errors (RFC 7644 §3.12, Table 9)
//!
//! | problem | status | scimType |
//! |---|---|---|
//! | wrong type, value outside canonicalValues (strict), two `primary: true` | 400 | `invalidValue` |
//! | required attribute, sub-attribute or extension missing | 400 | `invalidValue` |
//! | `schemas` missing the core URN, listing an unknown URN or a duplicate, or not listing an extension that is present (strict) | 400 | `invalidValue` |
//! | unknown attribute (strict), an attribute given twice, an extension container or `schemas` that is not an object / an array of strings | 400 | `invalidSyntax` |
//! | PUT changing or clearing an `immutable` value | 400 | `mutability` |
//!
//! `invalidValue` is "A required value was missing, or the value specified was not compatible
//! with the operation or attribute type (see Section 2.2 of \[RFC7643\]), or resource schema
//! (see Section 4 of \[RFC7643\])": a value problem, which is also what a bad `schemas` value
//! is. `invalidSyntax` is "The request body message structure was invalid or did not conform
//! to the request schema": a structure problem, such as a member no schema defines. Every
//! detail names the attribute path (`emails[1].type`,
//! `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`).
//!
//! Uniqueness is not checked here: only the store can check it atomically (see
//! [`unique_attributes`]).
//!
//! ```
//! use scim_core::validation::{validate_create, ValidationOptions};
//! use scim_core::{Resource, builtin};
//!
//! let schema = builtin::user_resource_schema();
//! let body = Resource::from_value(serde_json::json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "id": "chosen-by-the-client",
//!     "USERNAME": "bjensen",
//!     "active": "True",
//!     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Tour Operations"}
//! })).unwrap();
//! let stored = validate_create(body.clone(), &schema, &ValidationOptions::lenient()).unwrap();
//! assert_eq!(stored.into_value(), serde_json::json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
//!                 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
//!     "userName": "bjensen",
//!     "active": true,
//!     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Tour Operations"}
//! }));
//!
//! // Strict mode refuses the string boolean.
//! let err = validate_create(body, &schema, &ValidationOptions::strict()).unwrap_err();
//! assert_eq!(err.status(), 400);
//! assert_eq!(err.scim_type().map(|t| t.as_str()), Some("invalidValue"));
//! ```

mod clean;
mod options;
mod values;

pub(crate) use clean::check_required;
pub use options::{UnknownValidationMode, ValidationMode, ValidationOptions};
pub(crate) use values::check_lexical;
pub use values::{is_base64, is_xsd_date_time};

use serde_json::{Map, Value};

use clean::{Cleaner, Values};
use values::{is_assigned, values_match};

use crate::error::{ScimError, ScimResult};
use crate::path::AttrPath;
use crate::resource::{Resource, get_ci, get_ci_key};
use crate::schema::{Attribute, Mutability, ResourceSchema, Returned, Uniqueness};

/// Validates a POST body (RFC 7644 §3.3) and returns the resource to store: readOnly input
/// ignored, nulls removed, names normalised, types, required attributes, `primary` and
/// `schemas` checked (see the [module documentation](self)). The caller then assigns `id`
/// and `meta`.
pub fn validate_create(
    input: Resource,
    schema: &ResourceSchema,
    options: &ValidationOptions,
) -> ScimResult<Resource> {
    let cleaned = Cleaner { schema, options }.clean(input)?;
    Ok(cleaned.into_resource(schema))
}

/// Validates a PUT body (RFC 7644 §3.5.1) against the stored resource and returns the
/// resource to store. Everything [`validate_create`] does, plus the attribute-by-attribute
/// rules of §3.5.1:
///
/// * **readOnly**: "Any values provided SHALL be ignored." The stored values (`id`, `meta`,
///   `groups`, readOnly sub-attributes of a single-valued complex attribute such as
///   `manager.displayName`) are carried over. A body `id` that differs from the stored one is
///   ignored too, unless [`ValidationOptions::reject_mismatched_id`] is set (then 400
///   `mutability`).
/// * **immutable**: "If one or more values are already set for the attribute, the input
///   value(s) MUST match, or HTTP status code 400 SHOULD be returned with a "scimType" error
///   code of "mutability". If the service provider has no existing values, the new value(s)
///   SHALL be applied." Values match as in filters: strings case-insensitively unless
///   `caseExact`, multi-valued attributes in any order. An omitted immutable attribute keeps
///   its value; an explicit `null` / `[]` for one that has a value is 400 `mutability`.
///   Immutable sub-attributes are checked for single-valued complex attributes only: the
///   elements of a multi-valued attribute have no identity to compare by, and replacing them
///   (Group `members`, whose `value` is immutable) is what PUT is for.
/// * **readWrite**: "Any values provided SHALL replace the existing attribute values."
///   Omitted attributes are cleared (the body is the new resource).
/// * **writeOnly**: provided values replace; an omitted `password` is kept when
///   [`ValidationOptions::keep_omitted_write_only`] is set (the default).
/// * **required**: "If an attribute is "required", clients MUST specify the attribute in the
///   PUT request."
///
/// ```
/// use scim_core::validation::{validate_replace, ValidationOptions};
/// use scim_core::{Resource, builtin};
///
/// let schema = builtin::user_resource_schema();
/// let stored = Resource::from_value(serde_json::json!({
///     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
///     "id": "2819c223", "userName": "bjensen", "password": "t1meMa$heen",
///     "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z"}
/// })).unwrap();
/// let body = Resource::from_value(serde_json::json!({
///     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
///     "id": "something-else", "userName": "bjensen", "active": false
/// })).unwrap();
/// let new = validate_replace(body, &stored, &schema, &ValidationOptions::default()).unwrap();
/// assert_eq!(new.id(), Some("2819c223"));          // readOnly: taken from the stored resource
/// assert_eq!(new.get("active"), Some(&serde_json::json!(false)));
/// assert!(new.get("password").is_some());          // writeOnly, omitted: kept
/// assert!(new.get("meta").is_some());
/// ```
pub fn validate_replace(
    input: Resource,
    existing: &Resource,
    schema: &ResourceSchema,
    options: &ValidationOptions,
) -> ScimResult<Resource> {
    if options.reject_mismatched_id {
        if let (Some(given), Some(stored)) = (input.id(), existing.id()) {
            if given != stored {
                return Err(ScimError::mutability(format!(
                    "attribute 'id' is readOnly: the body says \"{given}\" but the resource is \
                     \"{stored}\""
                )));
            }
        }
    }
    let mut cleaned = Cleaner { schema, options }.clean(input)?;
    let old = existing.as_map();
    let core_urn = schema.core.id.as_str();
    for attr in schema
        .core
        .attributes
        .iter()
        .chain(schema.common_attributes())
    {
        let cleared = cleaned.is_cleared(core_urn, &attr.name);
        merge(
            &mut cleaned.core,
            Some(old),
            attr,
            cleared,
            &attr.name,
            options,
        )?;
    }
    for (i, (ext, _)) in schema.extensions.iter().enumerate() {
        let old_ext = get_ci(old, &ext.id).and_then(Value::as_object);
        for attr in &ext.attributes {
            let cleared = cleaned.is_cleared(&ext.id, &attr.name);
            let path = format!("{}:{}", ext.id, attr.name);
            if let Some(container) = cleaned.extensions.get_mut(i) {
                merge(container, old_ext, attr, cleared, &path, options)?;
            }
        }
        let present = cleaned.extensions.get(i).is_some_and(|m| !m.is_empty());
        if present && !cleaned.schemas.iter().any(|s| s == &ext.id) {
            cleaned.schemas.push(ext.id.clone());
        }
    }
    Ok(cleaned.into_resource(schema))
}

/// Applies the RFC 7644 §3.5.1 rule for one top-level attribute of a PUT.
fn merge(
    out: &mut Map<String, Value>,
    old: Option<&Map<String, Value>>,
    attr: &Attribute,
    cleared: bool,
    path: &str,
    options: &ValidationOptions,
) -> ScimResult<()> {
    let old_value = old
        .and_then(|m| get_ci(m, &attr.name))
        .filter(|v| is_assigned(v));
    match attr.mutability {
        Mutability::ReadOnly => {
            if let Some(v) = old_value {
                out.insert(attr.name.clone(), v.clone());
            }
        }
        Mutability::Immutable => match (old_value, out.get(&attr.name)) {
            (Some(o), Some(n)) if !values_match(attr, o, n) => {
                return Err(immutable(path));
            }
            (Some(_), None) if cleared => {
                return Err(ScimError::mutability(format!(
                    "attribute '{path}' is immutable and has a value; it cannot be cleared \
                     (RFC 7644 §3.5.1)"
                )));
            }
            (Some(o), None) => {
                out.insert(attr.name.clone(), o.clone());
            }
            _ => {}
        },
        Mutability::WriteOnly => {
            if options.keep_omitted_write_only && !cleared && !out.contains_key(&attr.name) {
                if let Some(v) = old_value {
                    out.insert(attr.name.clone(), v.clone());
                }
            }
        }
        Mutability::ReadWrite => {}
    }
    if attr.is_complex() && !attr.multi_valued && attr.mutability != Mutability::ReadOnly {
        if let (Some(Value::Object(o)), Some(Value::Object(n))) =
            (old_value, out.get_mut(&attr.name))
        {
            for sub in &attr.sub_attributes {
                let ov = get_ci(o, &sub.name).filter(|v| is_assigned(v));
                match (sub.mutability, ov, n.get(&sub.name)) {
                    (Mutability::ReadOnly, Some(ov), _) => {
                        n.insert(sub.name.clone(), ov.clone());
                    }
                    (Mutability::Immutable, Some(ov), Some(nv)) if !values_match(sub, ov, nv) => {
                        return Err(immutable(&format!("{path}.{}", sub.name)));
                    }
                    (Mutability::Immutable, Some(ov), None) => {
                        n.insert(sub.name.clone(), ov.clone());
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

fn immutable(path: &str) -> ScimError {
    ScimError::mutability(format!(
        "attribute '{path}' is immutable: it already has a value and the input value must \
         match it (RFC 7644 §3.5.1)"
    ))
}

/// Validates and normalises one attribute value against its definition, the way
/// [`validate_create`] does for each attribute of a body: type checks, coercions allowed by
/// `options`, canonical names of sub-attributes, readOnly sub-attributes dropped, the
/// `primary` rule. `Ok(None)` means the value is unassigned (`null`, `[]`, `{}`). `path` is
/// only used in error details. PATCH uses this for the values of its operations.
///
/// ```
/// use scim_core::schema::{Attribute, AttributeType};
/// use scim_core::validation::{validate_value, ValidationOptions};
///
/// let active = Attribute::new("active", AttributeType::Boolean);
/// let lenient = ValidationOptions::lenient();
/// assert_eq!(validate_value("False".into(), &active, "active", &lenient).unwrap(),
///            Some(serde_json::json!(false)));
/// assert!(validate_value("False".into(), &active, "active", &ValidationOptions::strict()).is_err());
/// assert_eq!(validate_value(serde_json::Value::Null, &active, "active", &lenient).unwrap(), None);
/// ```
pub fn validate_value(
    value: Value,
    attribute: &Attribute,
    path: &str,
    options: &ValidationOptions,
) -> ScimResult<Option<Value>> {
    Values {
        options,
        type_name: "",
    }
    .clean_value(value, attribute, &path)
}

/// Removes every attribute and sub-attribute whose `returned` characteristic is `never`
/// (`password` on a User), in the core container and in every extension container, in
/// whatever spelling the keys have.
///
/// RFC 7643 §7, returned: "never  The attribute is never returned." Projection already
/// leaves these out; this is the last line of defence to call on anything about to leave
/// the server (a stored resource echoed back, a Bulk result), so a projection mistake cannot
/// leak a password.
///
/// ```
/// use scim_core::validation::strip_never_returned;
/// use scim_core::{Resource, builtin};
///
/// let mut user = Resource::from_value(serde_json::json!({
///     "userName": "bjensen", "PASSWORD": "t1meMa$heen"
/// })).unwrap();
/// strip_never_returned(&mut user, &builtin::user_resource_schema());
/// assert_eq!(user.into_value(), serde_json::json!({"userName": "bjensen"}));
/// ```
pub fn strip_never_returned(resource: &mut Resource, schema: &ResourceSchema) {
    let map = resource.as_map_mut();
    let core: Vec<&Attribute> = schema
        .core
        .attributes
        .iter()
        .chain(schema.common_attributes())
        .collect();
    strip_in(map, &core);
    for (ext, _) in &schema.extensions {
        let Some(key) = get_ci_key(map, &ext.id).map(str::to_owned) else {
            continue;
        };
        if let Some(Value::Object(container)) = map.get_mut(&key) {
            let attrs: Vec<&Attribute> = ext.attributes.iter().collect();
            strip_in(container, &attrs);
        }
    }
}

fn strip_in(map: &mut Map<String, Value>, attrs: &[&Attribute]) {
    map.retain(|key, value| {
        let Some(attr) = attrs.iter().find(|a| a.name.eq_ignore_ascii_case(key)) else {
            return true;
        };
        if attr.returned == Returned::Never {
            return false;
        }
        if attr.is_complex() {
            let subs: Vec<&Attribute> = attr.sub_attributes.iter().collect();
            match value {
                Value::Object(o) => strip_in(o, &subs),
                Value::Array(items) => {
                    for item in items {
                        if let Value::Object(o) = item {
                            strip_in(o, &subs);
                        }
                    }
                }
                _ => {}
            }
        }
        true
    });
}

/// The attributes whose `uniqueness` is `server` or `global` (RFC 7643 §7: "server  The
/// value SHOULD be unique within the context of the current SCIM endpoint ... global  The
/// value SHOULD be globally unique"), as paths: core attributes without a URI, extension
/// attributes with their schema URN, sub-attributes with their parent. This includes the
/// common attribute `id`. Uniqueness is enforced by the store (a unique index, so it holds
/// under concurrency), which maps a violation to 409 `uniqueness`; this tells it what to
/// index.
///
/// ```
/// use scim_core::validation::unique_attributes;
/// use scim_core::{AttrPath, builtin};
///
/// let unique = unique_attributes(&builtin::user_resource_schema());
/// assert!(unique.contains(&AttrPath::new("userName")));
/// ```
pub fn unique_attributes(schema: &ResourceSchema) -> Vec<AttrPath> {
    fn is_unique(a: &Attribute) -> bool {
        a.uniqueness != Uniqueness::None
    }
    let mut out = Vec::new();
    let mut push = |attr: &Attribute, uri: Option<&str>| {
        let with_uri = |p: AttrPath| match uri {
            Some(u) => p.with_uri(u),
            None => p,
        };
        if is_unique(attr) {
            out.push(with_uri(AttrPath::new(attr.name.clone())));
        }
        for sub in attr.sub_attributes.iter().filter(|s| is_unique(s)) {
            out.push(with_uri(AttrPath::with_sub(
                attr.name.clone(),
                sub.name.clone(),
            )));
        }
    };
    for attr in schema
        .core
        .attributes
        .iter()
        .chain(schema.common_attributes())
    {
        push(attr, None);
    }
    for (ext, _) in &schema.extensions {
        for attr in &ext.attributes {
            push(attr, Some(&ext.id));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ScimType;
    use crate::schema::{AttributeType as T, ResourceType, Schema, SchemaExtension};
    use serde_json::json;

    const CORE: &str = "urn:example:core:2.0:Thing";
    const EXT: &str = "urn:example:ext:2.0:Thing";

    fn attr(name: &str, t: T) -> Attribute {
        Attribute::new(name, t)
    }

    fn with(mut a: Attribute, f: impl FnOnce(&mut Attribute)) -> Attribute {
        f(&mut a);
        a
    }

    fn schema_with(ext_required: bool) -> ResourceSchema {
        let link_value = with(attr("value", T::String), |a| a.required = true);
        let attributes = vec![
            with(attr("name", T::String), |a| {
                a.required = true;
                a.uniqueness = Uniqueness::Server;
            }),
            with(attr("code", T::String), |a| {
                a.mutability = Mutability::Immutable
            }),
            with(attr("secret", T::String), |a| {
                a.mutability = Mutability::WriteOnly;
                a.returned = Returned::Never;
            }),
            with(attr("computed", T::String), |a| {
                a.mutability = Mutability::ReadOnly;
                a.required = true;
            }),
            attr("count", T::Integer),
            attr("ratio", T::Decimal),
            attr("born", T::DateTime),
            attr("blob", T::Binary),
            attr("home", T::Reference),
            attr("flag", T::Boolean),
            with(attr("tags", T::String), |a| a.multi_valued = true),
            with(attr("aliases", T::String), |a| {
                a.multi_valued = true;
                a.mutability = Mutability::Immutable;
            }),
            with(attr("kind", T::String), |a| {
                a.canonical_values = vec!["alpha".into(), "beta".into()]
            }),
            with(attr("exactKind", T::String), |a| {
                a.canonical_values = vec!["Alpha".into()];
                a.case_exact = true;
            }),
            with(attr("links", T::Complex), |a| {
                a.multi_valued = true;
                a.sub_attributes = vec![
                    link_value,
                    attr("type", T::String),
                    attr("primary", T::Boolean),
                    with(attr("hidden", T::String), |s| s.returned = Returned::Never),
                    with(attr("stamp", T::String), |s| {
                        s.mutability = Mutability::ReadOnly
                    }),
                ];
            }),
            with(attr("owner", T::Complex), |a| {
                a.sub_attributes = vec![
                    attr("value", T::String),
                    with(attr("display", T::String), |s| {
                        s.mutability = Mutability::ReadOnly
                    }),
                    with(attr("serial", T::String), |s| {
                        s.mutability = Mutability::Immutable;
                        s.uniqueness = Uniqueness::Global;
                    }),
                ];
            }),
        ];
        let core = Schema {
            schemas: Vec::new(),
            id: CORE.into(),
            name: Some("Thing".into()),
            description: None,
            attributes,
            meta: None,
        };
        let ext = Schema {
            schemas: Vec::new(),
            id: EXT.into(),
            name: Some("ThingExtension".into()),
            description: None,
            attributes: vec![
                with(attr("badge", T::String), |a| a.required = true),
                attr("level", T::Integer),
                with(attr("pin", T::String), |a| a.returned = Returned::Never),
            ],
            meta: None,
        };
        let rt = ResourceType {
            schemas: Vec::new(),
            id: Some("Thing".into()),
            name: "Thing".into(),
            endpoint: "/Things".into(),
            description: None,
            schema: CORE.into(),
            schema_extensions: vec![SchemaExtension {
                schema: EXT.into(),
                required: ext_required,
            }],
            meta: None,
        };
        ResourceSchema::new(rt, core, vec![ext])
    }

    fn schema() -> ResourceSchema {
        schema_with(false)
    }

    fn res(v: Value) -> Resource {
        Resource::from_value(v).unwrap()
    }

    fn strict() -> ValidationOptions {
        ValidationOptions::strict()
    }

    fn lenient() -> ValidationOptions {
        ValidationOptions::lenient()
    }

    fn create(v: Value, o: &ValidationOptions) -> ScimResult<Value> {
        validate_create(res(v), &schema(), o).map(Resource::into_value)
    }

    fn err(v: Value, o: &ValidationOptions) -> (u16, Option<ScimType>, String) {
        let e = create(v, o).unwrap_err();
        (e.status(), e.scim_type(), e.detail().to_owned())
    }

    fn assert_err(v: Value, o: &ValidationOptions, t: ScimType, detail_has: &str) {
        let (status, scim_type, detail) = err(v, o);
        assert_eq!(status, 400, "{detail}");
        assert_eq!(scim_type, Some(t), "{detail}");
        assert!(
            detail.contains(detail_has),
            "{detail:?} lacks {detail_has:?}"
        );
    }

    #[test]
    fn minimal_body_passes_both_modes() {
        for o in [strict(), lenient()] {
            let out = create(json!({"schemas": [CORE], "name": "x"}), &o).unwrap();
            assert_eq!(out, json!({"schemas": [CORE], "name": "x"}));
        }
    }

    #[test]
    fn names_are_normalised_and_read_only_ignored() {
        let out = create(
            json!({
                "SCHEMAS": ["URN:EXAMPLE:CORE:2.0:THING", "urn:EXAMPLE:ext:2.0:Thing"],
                "ID": "client-chosen", "META": {"created": "not even a date"},
                "Computed": 42, "NAME": "x",
                "OWNER": {"VALUE": "o1", "Display": "ignored"},
                "Links": [{"Value": "l1", "STAMP": "ignored"}],
                "urn:example:EXT:2.0:thing": {"BADGE": "b"}
            }),
            &strict(),
        )
        .unwrap();
        assert_eq!(
            out,
            json!({
                "schemas": [CORE, EXT],
                "name": "x",
                "owner": {"value": "o1"},
                "links": [{"value": "l1"}],
                EXT: {"badge": "b"}
            })
        );
    }

    #[test]
    fn schemas_come_first_then_the_body_order_then_the_extensions() {
        let out = create(
            json!({
                "urn:example:ext:2.0:Thing": {"badge": "b"},
                "owner": {"Serial": "s1", "value": "o1"},
                "name": "x",
                "schemas": [CORE, EXT],
                "links": [{"value": "l1"}]
            }),
            &strict(),
        )
        .unwrap();
        let keys: Vec<&str> = out
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["schemas", "owner", "name", "links", EXT]);
        let owner: Vec<&str> = out["owner"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(owner, ["serial", "value"]);
    }

    #[test]
    fn every_type_is_checked() {
        let ok = json!({
            "schemas": [CORE], "name": "x", "count": -3, "ratio": 1.5, "born": "2008-01-23T04:56:22Z",
            "blob": "TWFu", "home": "https://example.com/x", "flag": false, "tags": ["a", "b"]
        });
        assert_eq!(create(ok.clone(), &strict()).unwrap(), ok);
        let cases = [
            ("name", json!(1), "'name' must be a string"),
            ("count", json!(1.5), "'count' must be an integer"),
            ("count", json!("1"), "'count' must be an integer"),
            ("ratio", json!("1.5"), "'ratio' must be a decimal number"),
            (
                "born",
                json!("2008-01-23"),
                "'born' must be an xsd:dateTime",
            ),
            ("born", json!(1200), "'born' must be a dateTime string"),
            ("blob", json!("TWF"), "'blob' must be base64"),
            ("home", json!(true), "'home' must be a reference"),
            ("flag", json!(0), "'flag' must be a boolean"),
            ("tags", json!([1]), "'tags[0]' must be a string"),
            ("tags", json!([["a"]]), "'tags[0]' is an array"),
            ("owner", json!(["a", "b"]), "'owner' is single-valued"),
            // Lenient wraps the scalar into {"value": 7} and then finds the number.
            ("owner", json!(7), "'owner"),
            (
                "links",
                json!([{"value": 1}]),
                "'links[0].value' must be a string",
            ),
        ];
        for (key, value, detail) in cases {
            for o in [strict(), lenient()] {
                let mut body = json!({"schemas": [CORE], "name": "x"});
                body[key] = value.clone();
                assert_err(body, &o, ScimType::InvalidValue, detail);
            }
        }
    }

    #[test]
    fn numbers_in_strings_are_never_coerced_but_booleans_are_in_lenient() {
        let body = json!({"schemas": [CORE], "name": "x", "flag": "TRUE"});
        assert_err(body.clone(), &strict(), ScimType::InvalidValue, "'flag'");
        assert_eq!(create(body, &lenient()).unwrap()["flag"], json!(true));
        let body = json!({"schemas": [CORE], "name": "x", "flag": "yes"});
        assert_err(body, &lenient(), ScimType::InvalidValue, "neither");
        let body = json!({"schemas": [CORE], "name": "x", "count": "3"});
        assert_err(body, &lenient(), ScimType::InvalidValue, "'count'");
    }

    #[test]
    fn nulls_and_empty_values_are_unassigned() {
        let out = create(
            json!({
                "schemas": [CORE], "name": "x", "count": null, "tags": [], "links": [null, {}],
                "owner": {"value": null}, EXT: null
            }),
            &strict(),
        )
        .unwrap();
        assert_eq!(out, json!({"schemas": [CORE], "name": "x"}));
    }

    #[test]
    fn primary_true_at_most_once() {
        let body = json!({"schemas": [CORE], "name": "x", "links": [
            {"value": "a", "primary": true}, {"value": "b", "primary": false}, {"value": "c", "primary": true}
        ]});
        assert_err(
            body,
            &lenient(),
            ScimType::InvalidValue,
            "'links' has 2 values",
        );
        // String booleans count once coerced.
        let body = json!({"schemas": [CORE], "name": "x", "links": [
            {"value": "a", "primary": "True"}, {"value": "b", "primary": true}
        ]});
        assert_err(body, &lenient(), ScimType::InvalidValue, "primary");
    }

    #[test]
    fn required_attributes() {
        assert_err(
            json!({"schemas": [CORE]}),
            &lenient(),
            ScimType::InvalidValue,
            "'name'",
        );
        assert_err(
            json!({"schemas": [CORE], "name": null}),
            &strict(),
            ScimType::InvalidValue,
            "required attribute 'name' is missing",
        );
        // A present complex value must carry its required sub-attributes.
        assert_err(
            json!({"schemas": [CORE], "name": "x", "links": [{"value": "a"}, {"type": "t"}]}),
            &lenient(),
            ScimType::InvalidValue,
            "'links[1].value'",
        );
        // Extension attributes are required only when the extension is there.
        assert_err(
            json!({"schemas": [CORE, EXT], "name": "x", EXT: {"level": 1}}),
            &strict(),
            ScimType::InvalidValue,
            &format!("'{EXT}:badge'"),
        );
    }

    #[test]
    fn required_extension() {
        let s = schema_with(true);
        let e = validate_create(res(json!({"schemas": [CORE], "name": "x"})), &s, &lenient())
            .unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
        assert!(e.detail().contains("requires the extension"), "{e}");
        let e = validate_create(
            res(json!({"schemas": [CORE, EXT], "name": "x"})),
            &s,
            &strict(),
        )
        .unwrap_err();
        assert!(e.detail().contains("badge"), "{e}");
        let ok = json!({"schemas": [CORE, EXT], "name": "x", EXT: {"badge": "b"}});
        assert!(validate_create(res(ok), &s, &strict()).is_ok());
    }

    #[test]
    fn unknown_attributes() {
        for (body, what) in [
            (
                json!({"schemas": [CORE], "name": "x", "nick": "n"}),
                "'nick'",
            ),
            (
                json!({"schemas": [CORE], "name": "x", "owner": {"value": "v", "colour": 1}}),
                "'owner.colour'",
            ),
            (
                json!({"schemas": [CORE, EXT], "name": "x", EXT: {"badge": "b", "rank": 1}}),
                "rank",
            ),
            (
                json!({"schemas": [CORE], "name": "x", "urn:other:2.0:X": {"a": 1}}),
                "urn:other",
            ),
        ] {
            assert_err(body.clone(), &strict(), ScimType::InvalidSyntax, what);
            let out = create(body, &lenient()).unwrap();
            assert!(!out.to_string().contains("colour"));
            assert!(out.get("nick").is_none() && out.get("urn:other:2.0:X").is_none());
        }
    }

    #[test]
    fn same_attribute_twice_is_invalid_syntax_in_both_modes() {
        for body in [
            json!({"schemas": [CORE], "name": "x", "NAME": "y"}),
            json!({"schemas": [CORE], "name": "x", "owner": {"value": "a", "Value": "b"}}),
            json!({"schemas": [CORE], "Schemas": [CORE], "name": "x"}),
            json!({"schemas": [CORE, EXT], "name": "x", EXT: {"badge": "a"}, "URN:example:ext:2.0:Thing": {}}),
            json!({"schemas": [CORE, EXT], "name": "x", EXT: {"badge": "a"}, "badge": "b"}),
        ] {
            for o in [strict(), lenient()] {
                let (status, t, detail) = err(body.clone(), &o);
                assert_eq!(
                    (status, t),
                    (400, Some(ScimType::InvalidSyntax)),
                    "{detail}"
                );
            }
        }
    }

    #[test]
    fn extension_container_must_be_an_object() {
        let body = json!({"schemas": [CORE, EXT], "name": "x", EXT: "badge"});
        assert_err(body.clone(), &lenient(), ScimType::InvalidSyntax, EXT);
        assert_err(body, &strict(), ScimType::InvalidSyntax, "JSON object");
    }

    #[test]
    fn schemas_consistency_strict() {
        let cases = [
            (json!({"name": "x"}), "'schemas' is required"),
            (
                json!({"schemas": [EXT], "name": "x"}),
                "must list the core schema",
            ),
            (
                json!({"schemas": [CORE, "urn:other"], "name": "x"}),
                "'urn:other'",
            ),
            (
                json!({"schemas": [CORE, CORE], "name": "x"}),
                "more than once",
            ),
            (
                json!({"schemas": [CORE], "name": "x", EXT: {"badge": "b"}}),
                "does not list it",
            ),
        ];
        for (body, detail) in cases {
            assert_err(body, &strict(), ScimType::InvalidValue, detail);
        }
        for body in [
            json!({"schemas": CORE, "name": "x"}),
            json!({"schemas": [CORE, 7], "name": "x"}),
            json!({"schemas": {"a": CORE}, "name": "x"}),
        ] {
            assert_err(
                body,
                &strict(),
                ScimType::InvalidSyntax,
                "'schemas' must be an array",
            );
        }
    }

    #[test]
    fn schemas_repaired_in_lenient() {
        for body in [
            json!({"name": "x", EXT: {"badge": "b"}}),
            json!({"schemas": CORE, "name": "x", EXT: {"badge": "b"}}),
            json!({"schemas": [EXT, "urn:other", EXT], "name": "x", EXT: {"badge": "b"}}),
            json!({"schemas": [CORE], "name": "x", EXT: {"badge": "b"}}),
        ] {
            let out = create(body, &lenient()).unwrap();
            assert_eq!(out["schemas"], json!([CORE, EXT]));
        }
        // A listed extension without attributes stays listed.
        let out = create(json!({"schemas": [CORE, EXT], "name": "x"}), &strict()).unwrap();
        assert_eq!(out["schemas"], json!([CORE, EXT]));
        // Non-strings are never repaired.
        assert_err(
            json!({"schemas": [CORE, 7], "name": "x"}),
            &lenient(),
            ScimType::InvalidSyntax,
            "",
        );
    }

    #[test]
    fn relocation_of_extension_attributes() {
        let body = json!({
            "schemas": [CORE], "urn:example:core:2.0:Thing:name": "x",
            "urn:example:ext:2.0:Thing:badge": "b", "LEVEL": 3
        });
        let out = create(body.clone(), &lenient()).unwrap();
        assert_eq!(
            out,
            json!({"schemas": [CORE, EXT], "name": "x", EXT: {"badge": "b", "level": 3}})
        );
        assert_err(
            body,
            &strict(),
            ScimType::InvalidSyntax,
            "urn:example:core:2.0:Thing:name",
        );
    }

    #[test]
    fn single_values_and_arrays() {
        let body = json!({"schemas": [CORE], "name": ["x"], "tags": "t", "owner": [{"value": "o"}],
                          "links": {"value": "l"}});
        let out = create(body.clone(), &lenient()).unwrap();
        assert_eq!(
            out,
            json!({"schemas": [CORE], "name": "x", "tags": ["t"], "owner": {"value": "o"},
                   "links": [{"value": "l"}]})
        );
        assert_err(
            body,
            &strict(),
            ScimType::InvalidValue,
            "'name' is single-valued",
        );
        let body = json!({"schemas": [CORE], "name": "x", "tags": "t"});
        assert_err(
            body,
            &strict(),
            ScimType::InvalidValue,
            "'tags' is multi-valued",
        );
        let body = json!({"schemas": [CORE], "name": ["x", "y"]});
        assert_err(
            body,
            &lenient(),
            ScimType::InvalidValue,
            "'name' is single-valued",
        );
        let body = json!({"schemas": [CORE], "name": "x", "owner": "o1", "links": ["l1"]});
        let out = create(body.clone(), &lenient()).unwrap();
        assert_eq!(out["owner"], json!({"value": "o1"}));
        assert_eq!(out["links"], json!([{"value": "l1"}]));
        assert_err(
            body,
            &strict(),
            ScimType::InvalidValue,
            "'owner' must be a JSON object",
        );
    }

    #[test]
    fn canonical_values() {
        let body = json!({"schemas": [CORE], "name": "x", "kind": "gamma"});
        assert_err(
            body.clone(),
            &strict(),
            ScimType::InvalidValue,
            "alpha, beta",
        );
        assert!(create(body, &lenient()).is_ok());
        let body = json!({"schemas": [CORE], "name": "x", "kind": "ALPHA", "exactKind": "Alpha"});
        assert!(create(body, &strict()).is_ok());
        let body = json!({"schemas": [CORE], "name": "x", "exactKind": "alpha"});
        assert_err(body, &strict(), ScimType::InvalidValue, "'exactKind'");
    }

    #[test]
    fn default_sub_attributes_of_multi_valued_attributes() {
        let out = create(
            json!({"schemas": [CORE], "name": "x", "links": [{"value": "l", "display": "L", "$REF": "/x"}]}),
            &strict(),
        )
        .unwrap();
        assert_eq!(
            out["links"],
            json!([{"value": "l", "display": "L", "$ref": "/x"}])
        );
        // Not for single-valued complex attributes.
        assert_err(
            json!({"schemas": [CORE], "name": "x", "owner": {"value": "o", "type": "t"}}),
            &strict(),
            ScimType::InvalidSyntax,
            "'owner.type'",
        );
    }

    fn stored() -> Resource {
        res(json!({
            "schemas": [CORE, EXT], "id": "id-1", "name": "x", "code": "C-1", "secret": "s3cret",
            "computed": "server", "aliases": ["a", "b"],
            "owner": {"value": "o", "display": "Owner", "serial": "S-1"},
            "meta": {"resourceType": "Thing", "version": "W/\"1\""},
            EXT: {"badge": "b", "pin": "1234"}
        }))
    }

    fn replace(body: Value, o: &ValidationOptions) -> ScimResult<Value> {
        validate_replace(res(body), &stored(), &schema(), o).map(Resource::into_value)
    }

    #[test]
    fn replace_carries_read_only_and_checks_immutable() {
        let out = replace(
            json!({"schemas": [CORE], "id": "other", "name": "y", "code": "c-1", "computed": "client",
                   "aliases": ["B", "A"], "owner": {"value": "o2", "display": "Client", "serial": "S-1"}}),
            &strict(),
        )
        .unwrap();
        assert_eq!(
            out,
            json!({
                "schemas": [CORE],
                "name": "y", "code": "c-1", "aliases": ["B", "A"],
                "owner": {"value": "o2", "serial": "S-1", "display": "Owner"},
                "secret": "s3cret", "id": "id-1", "computed": "server",
                "meta": {"resourceType": "Thing", "version": "W/\"1\""}
            })
        );
    }

    #[test]
    fn replace_keeps_omitted_immutable_values() {
        let out = replace(
            json!({"schemas": [CORE], "name": "y", "owner": {"value": "o"}}),
            &strict(),
        )
        .unwrap();
        assert_eq!(out["code"], json!("C-1"));
        assert_eq!(out["aliases"], json!(["a", "b"]));
        assert_eq!(
            out["owner"],
            json!({"value": "o", "serial": "S-1", "display": "Owner"})
        );
        // The extension the body left out is cleared (readWrite), but nothing of it is readOnly.
        assert!(out.get(EXT).is_none());
    }

    #[test]
    fn replace_rejects_changed_or_cleared_immutable_values() {
        for (body, what) in [
            (
                json!({"schemas": [CORE], "name": "y", "code": "C-2"}),
                "'code'",
            ),
            (
                json!({"schemas": [CORE], "name": "y", "code": null}),
                "'code'",
            ),
            (
                json!({"schemas": [CORE], "name": "y", "aliases": ["a"]}),
                "'aliases'",
            ),
            (
                json!({"schemas": [CORE], "name": "y", "aliases": []}),
                "'aliases'",
            ),
            (
                json!({"schemas": [CORE], "name": "y", "owner": {"serial": "S-2"}}),
                "'owner.serial'",
            ),
        ] {
            let e = replace(body, &lenient()).unwrap_err();
            assert_eq!(
                (e.status(), e.scim_type()),
                (400, Some(ScimType::Mutability)),
                "{e}"
            );
            assert!(e.detail().contains(what), "{e}");
        }
    }

    #[test]
    fn replace_applies_immutable_values_when_none_exist() {
        let existing = res(json!({"schemas": [CORE], "id": "id-1", "name": "x"}));
        let out = validate_replace(
            res(json!({"schemas": [CORE], "name": "x", "code": "new"})),
            &existing,
            &schema(),
            &strict(),
        )
        .unwrap();
        assert_eq!(out.get("code"), Some(&json!("new")));
    }

    #[test]
    fn replace_write_only() {
        let out = replace(
            json!({"schemas": [CORE], "name": "y", "secret": null}),
            &lenient(),
        )
        .unwrap();
        assert!(out.get("secret").is_none());
        let out = replace(
            json!({"schemas": [CORE], "name": "y", "secret": "new"}),
            &lenient(),
        )
        .unwrap();
        assert_eq!(out["secret"], json!("new"));
        let mut o = lenient();
        o.keep_omitted_write_only = false;
        let out = replace(json!({"schemas": [CORE], "name": "y"}), &o).unwrap();
        assert!(out.get("secret").is_none());
    }

    #[test]
    fn replace_requires_required_and_checks_id_only_when_asked() {
        let e = replace(json!({"schemas": [CORE]}), &lenient()).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
        let mut o = strict();
        o.reject_mismatched_id = true;
        let e = replace(json!({"schemas": [CORE], "id": "other", "name": "y"}), &o).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::Mutability));
        assert!(replace(json!({"schemas": [CORE], "id": "id-1", "name": "y"}), &o).is_ok());
    }

    #[test]
    fn strip_removes_never_returned_everywhere() {
        let mut r = res(json!({
            "name": "x", "Secret": "s", "links": [{"value": "a", "HIDDEN": "h"}],
            EXT: {"badge": "b", "pin": "1"}
        }));
        strip_never_returned(&mut r, &schema());
        assert_eq!(
            r.into_value(),
            json!({"name": "x", "links": [{"value": "a"}], EXT: {"badge": "b"}})
        );
    }

    #[test]
    fn unique_attributes_lists_server_and_global() {
        let u = unique_attributes(&schema());
        assert_eq!(
            u,
            vec![
                AttrPath::new("name"),
                AttrPath::with_sub("owner", "serial"),
                AttrPath::new("id"),
            ]
        );
    }

    #[test]
    fn validate_value_alone() {
        let links = &schema().core.attributes[14];
        assert_eq!(links.name, "links");
        let v = validate_value(
            json!({"VALUE": "a", "stamp": "x"}),
            links,
            "links",
            &lenient(),
        )
        .unwrap();
        assert_eq!(v, Some(json!([{"value": "a"}])));
        let e = validate_value(json!([{"value": 1}]), links, "links", &strict()).unwrap_err();
        assert!(e.detail().contains("'links[0].value'"), "{e}");
        let e =
            validate_value(json!([{"value": "a", "x": 1}]), links, "links", &strict()).unwrap_err();
        assert_eq!(e.detail(), "'links[0].x' is not defined by the schema");
    }
}
