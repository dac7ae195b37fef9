//! Which attribute values must be unique, and their normalised keys.
//!
//! RFC 7643 §2.2 `uniqueness: server` — "The value SHOULD be unique within the context of the
//! current SCIM endpoint (or tenancy)". The built-in User schema marks `userName` so (and it
//! is not caseExact, so `BJensen` and `bjensen` collide). Beyond the schema, real clients
//! depend on two more: Entra ID and Okta match groups on `displayName`, and Entra matches
//! users and groups on `externalId` (Microsoft's "Develop and plan provisioning for a SCIM
//! endpoint"), so those are unique per resource type by
//! default too.

use scim_core::schema::{ResourceSchema, Uniqueness};
use scim_core::{AttrPath, Resource};
use serde_json::Value;

use super::types::UniqueKey;

/// The unique attributes of one resource type.
///
/// ```
/// use scim_server::storage::unique::UniquenessPolicy;
///
/// let schema = scim_core::builtin::user_resource_schema();
/// let policy = UniquenessPolicy::for_schema(&schema);
/// let user = scim_core::Resource::from_value(serde_json::json!({
///     "userName": "BJensen@example.com", "externalId": "E-42"
/// })).unwrap();
/// let keys = policy.keys(&schema, &user);
/// assert_eq!(keys[0].attribute, "userName");
/// assert_eq!(keys[0].value, "bjensen@example.com");
/// assert_eq!(keys[1].value, "E-42");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniquenessPolicy {
    attributes: Vec<(AttrPath, bool)>,
}

impl UniquenessPolicy {
    /// The schema's single-valued top-level attributes with `uniqueness` `server` or `global`
    /// (except `id`, which the store keys on anyway), plus `externalId`, plus `displayName`
    /// for the Group resource type.
    pub fn for_schema(schema: &ResourceSchema) -> Self {
        let mut attributes: Vec<(AttrPath, bool)> = schema
            .core
            .attributes
            .iter()
            .filter(|a| a.uniqueness != Uniqueness::None && !a.multi_valued && !a.is_complex())
            .filter(|a| !a.name.eq_ignore_ascii_case("id"))
            .map(|a| (AttrPath::new(a.name.clone()), a.case_exact))
            .collect();
        if schema.name().eq_ignore_ascii_case("Group") {
            if let Some(a) = schema.core.attribute("displayName") {
                if !attributes.iter().any(|(p, _)| p.name == a.name) {
                    attributes.push((AttrPath::new(a.name.clone()), a.case_exact));
                }
            }
        }
        if let Some(r) = schema.resolve(&AttrPath::new("externalId")) {
            attributes.push((
                AttrPath::new(r.attribute.name.clone()),
                r.attribute.case_exact,
            ));
        }
        UniquenessPolicy { attributes }
    }

    /// A policy with exactly these attributes (`case_exact` false → compared case-folded).
    pub fn with_attributes(attributes: Vec<(AttrPath, bool)>) -> Self {
        UniquenessPolicy { attributes }
    }

    /// The unique attributes.
    pub fn attributes(&self) -> impl Iterator<Item = &AttrPath> {
        self.attributes.iter().map(|(p, _)| p)
    }

    /// The keys `resource` claims: one per unique attribute holding a non-empty string (or
    /// number/boolean, printed) value.
    pub fn keys(&self, schema: &ResourceSchema, resource: &Resource) -> Vec<UniqueKey> {
        self.attributes
            .iter()
            .filter_map(|(path, case_exact)| {
                let raw = match resource.value(schema, path)? {
                    Value::String(s) if !s.is_empty() => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return None,
                };
                Some(UniqueKey {
                    attribute: path.to_string(),
                    value: normalise(&raw, *case_exact),
                })
            })
            .collect()
    }
}

/// The form in which a value is compared: as is when caseExact, else case-folded with
/// [`scim_core::casefold::fold`], the one folding that filters, the SQL indexes and the
/// memory indexes use too (RFC 7643 §2.1 `caseExact: false`), so a value a filter finds is
/// the value uniqueness protects: `οδος` and `ΟΔΟΣ` fold alike (where `str::to_lowercase`
/// would turn the final `Σ` into `ς`).
///
/// ```
/// use scim_server::storage::unique::normalise;
/// assert_eq!(normalise("ΟΔΟΣ", false), normalise("οδος", false));
/// assert_eq!(normalise("BJensen", true), "BJensen");
/// ```
pub fn normalise(value: &str, case_exact: bool) -> String {
    if case_exact {
        value.to_string()
    } else {
        scim_core::casefold::fold(value).into_owned()
    }
}
