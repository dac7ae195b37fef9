//! Schema-aware filter evaluation (RFC 7644 §3.4.2.2).
//!
//! A [`Filter`] is compiled once against a [`ResourceSchema`] into a [`CompiledFilter`]:
//! every attribute path is resolved (core attributes, the common attributes `id`,
//! `externalId` and `meta`, extension attributes by URN, sub-attributes), the attribute's
//! `type` and `caseExact` are baked into each comparison, string operands of caseExact=false
//! attributes are case-folded once and dateTime operands parsed once. Evaluating the compiled
//! filter over a resource does not allocate, except to fold non-ASCII text compared with a
//! caseExact=false attribute.
//!
//! # Semantics and the decisions behind them
//!
//! * Operators follow RFC 7644 §3.4.2.2 Table 3. `gt`/`ge`/`lt`/`le`: "For string attribute
//!   types, this is a lexicographical comparison, and for DateTime types, it is a
//!   chronological comparison. For integer attributes, it is a comparison by numeric value.
//!   Boolean and Binary attributes SHALL cause a failed response (HTTP status code 400) with
//!   "scimType" of "invalidFilter"." Decimals compare by numeric value too (`3` equals
//!   `3.0`); dateTimes with different offsets compare by instant. `co`/`sw`/`ew` are string
//!   operators: on boolean, number and dateTime attributes they are 400 `invalidFilter`.
//! * Case: "When comparing attributes of type String, the case sensitivity for String type
//!   attributes SHALL be determined by the attribute's "caseExact" characteristic" (RFC 7644
//!   §3.4.2.2). caseExact=false compares the Unicode default case folding of both sides
//!   ([`crate::casefold::fold`], the mapping uniqueness, indexes and sorting use too), so
//!   `userName eq "ΟΔΟΣ"` finds `οδος` (a word-final `ς`) and `Straße` equals `STRASSE`.
//! * Multi-valued attributes: "If the specified attribute in a filter expression is a
//!   multi-valued attribute, the filter matches if any of the values of the specified
//!   attribute match the specified criterion; e.g., if a User has multiple "emails" values,
//!   only one has to match for the entire User to match." A multi-valued complex attribute
//!   compared without a sub-attribute (`emails co "example.com"`, an example of §3.4.2.2)
//!   compares each element's `value` sub-attribute ("value: The attribute's significant
//!   value", RFC 7643 §2.4); one without a `value` sub-attribute (`addresses`) is 400. A
//!   single-valued complex attribute must name a sub-attribute: "For complex attributes, a
//!   fully qualified sub-attribute MUST be specified using standard attribute notation".
//! * Value filters (`emails[type eq "work" and value co "@example.com"]`): "expressions MUST
//!   be applied to the same value of a parent attribute" (Table 5), so ONE element must
//!   satisfy the whole inner filter.
//! * `pr`: "If the attribute has a non-empty or non-null value, or if it contains a
//!   non-empty node for complex attributes, there is a match." Missing, `null`, `""`, `[]`,
//!   `{}` and objects or arrays made only of such values are not present.
//! * `ne`: the RFC does not say what `ne` means for an attribute without a value. We take an
//!   absent value to be "not identical" to any operand, so `userType ne "Employee"` matches a
//!   user without `userType` (the same as `not (userType eq "Employee")` for single-valued
//!   attributes). A multi-valued attribute with values follows the "any value" rule above:
//!   `emails.type ne "work"` matches when some email's type is not `work`.
//! * `null`: `attr eq null` means "not present" (`not (attr pr)`) and `attr ne null` means
//!   `attr pr`; any other operator with `null` is 400 `invalidFilter`.
//! * Booleans compare with `eq`/`ne` only; the strings `"true"`/`"false"` (any case) are
//!   accepted leniently as boolean operands and values, since some clients quote them.
//! * Attribute names match case-insensitively ("Attribute names and attribute operators used
//!   in filters are case insensitive", §3.4.2.2). `schemas` is filterable as a multi-valued
//!   string (the §3.4.2.2 example `schemas eq "urn:...:enterprise:2.0:User"`), compared
//!   case-insensitively like every schema URN in this crate.
//! * Never-returned attributes (`returned: never` or `mutability: writeOnly`, e.g. User
//!   `password`) cannot be filtered on at all: 400 `invalidValue` from [`Filter::compile`],
//!   for every operator including `pr`. RFC 7643 §7 says such values are never returned,
//!   and a filter that matches or not would disclose them one question at a time (`sw`,
//!   `gt`, ... piece by piece; even `pr` tells which users have a password). RFC 7643 §4.1.1
//!   does describe `password` as something a client may "compare (i.e., filter for
//!   equality)", but a server that keeps only a salted hash (as it should, §7: "the value
//!   is a stored hash") has nothing to compare with, so the honest answer is a refusal, not
//!   an empty result. The same rule applies to `sortBy` ([`crate::sort::SortSpec::validate`]).
//! * Unknown attributes: the RFC has no rule for a filter naming an attribute the resource
//!   type does not define; RFC 7644 §3.12 defines `invalidFilter` as "The specified filter
//!   syntax was invalid (does not comply with Figure 1), or the specified attribute and
//!   filter comparison combination is not supported." We take the safe reading: an undefined
//!   attribute or sub-attribute, or a comparison value of the wrong type for the attribute,
//!   is 400 `invalidFilter` from [`Filter::compile`], never a silent "no match". The
//!   convenience [`Filter::matches`] returns `false` for a filter that does not compile.

mod compare;

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Map, Value};

use self::compare::Matcher;
use super::ast::{CompValue, CompareOp, Filter};
use crate::error::{ScimError, ScimResult};
use crate::path::AttrPath;
use crate::resource::{Resource, get_ci};
use crate::schema::{
    Attribute, AttributeType, Mutability, ResourceSchema, Returned, default_sub_attribute,
};

/// A filter whose attribute paths are resolved once against a [`ResourceSchema`]: the fast
/// path for testing many resources.
///
/// ```
/// use scim_core::filter::{CompValue, CompareOp, Filter};
/// use scim_core::schema::{ResourceSchema, ResourceType, Schema};
/// use scim_core::{AttrPath, Resource};
/// use serde_json::json;
///
/// let core: Schema = serde_json::from_value(json!({
///     "id": "urn:ietf:params:scim:schemas:core:2.0:User",
///     "attributes": [{"name": "userName", "type": "string", "caseExact": false}]
/// })).unwrap();
/// let rt: ResourceType = serde_json::from_value(json!({
///     "name": "User", "endpoint": "/Users", "schema": core.id
/// })).unwrap();
/// let schema = ResourceSchema::new(rt, core, vec![]);
///
/// // userName eq "bjensen"
/// let filter = Filter::eq_str(AttrPath::new("userName"), "bjensen");
/// let compiled = filter.compile(&schema).unwrap();
/// let users: Vec<Resource> = ["BJensen", "jsmith"]
///     .iter()
///     .map(|u| Resource::from_value(json!({"userName": u})).unwrap())
///     .collect();
/// let hits: Vec<_> = users.iter().filter(|u| compiled.matches(u)).collect();
/// assert_eq!(hits.len(), 1); // caseExact=false: "BJensen" matches "bjensen"
///
/// // An attribute the schema does not define is 400 invalidFilter.
/// let err = Filter::present(AttrPath::new("nickName")).compile(&schema).unwrap_err();
/// assert!(err.is_invalid_filter());
/// ```
#[derive(Debug, Clone)]
pub struct CompiledFilter {
    root: Node,
}

impl CompiledFilter {
    /// Does `resource` satisfy the filter?
    #[inline]
    pub fn matches(&self, resource: &Resource) -> bool {
        eval(&self.root, Ctx::Resource(resource.as_map()))
    }

    /// Does the JSON object `resource` satisfy the filter? (Same as [`CompiledFilter::matches`]
    /// for a resource held as a plain map.)
    #[inline]
    pub fn matches_map(&self, resource: &Map<String, Value>) -> bool {
        eval(&self.root, Ctx::Resource(resource))
    }
}

/// A value filter (the `[...]` part of a value path, e.g. `type eq "work" and value co
/// "@example.com"`) resolved against the sub-attributes of one attribute; tests single
/// elements of that attribute. Built by [`Filter::compile_value_filter`].
#[derive(Debug, Clone)]
pub struct CompiledValueFilter {
    root: Node,
}

impl CompiledValueFilter {
    /// Does this one element of the attribute satisfy the whole value filter?
    #[inline]
    pub fn matches(&self, element: &Value) -> bool {
        eval(&self.root, Ctx::Element(element))
    }
}

impl Filter {
    /// Resolves every attribute path against `schema` and bakes in types, `caseExact` and
    /// parsed operands.
    ///
    /// Errors (400 `invalidFilter`): an attribute or sub-attribute `schema` does not define;
    /// `gt`/`ge`/`lt`/`le` on a boolean or binary attribute (RFC 7644 §3.4.2.2: "Boolean and
    /// Binary attributes SHALL cause a failed response (HTTP status code 400) with "scimType"
    /// of "invalidFilter""); `co`/`sw`/`ew` on a boolean, number or dateTime; a comparison
    /// value of the wrong JSON type (a number against a dateTime, an unparsable dateTime);
    /// a comparison on a single-valued complex attribute without a sub-attribute; a value
    /// filter on a single-valued simple attribute; `null` with an operator other than
    /// `eq`/`ne`. Sub-attributes of multi-valued complex attributes may be the RFC 7643 §2.4
    /// defaults (`type`, `primary`, `display`, `value`, `$ref`) where the schema omits them.
    ///
    /// 400 `invalidValue`: any expression on a `returned: never` or `writeOnly` attribute
    /// (e.g. `password`; see the module docs).
    pub fn compile(&self, schema: &ResourceSchema) -> ScimResult<CompiledFilter> {
        Ok(CompiledFilter {
            root: compile_node(self, Scope::Resource(schema))?,
        })
    }

    /// Compiles and evaluates the filter against one resource. A filter that does not compile
    /// against `schema` (see [`Filter::compile`]) matches nothing; use `compile` to report
    /// the error, and to test many resources without resolving paths each time.
    pub fn matches(&self, resource: &Resource, schema: &ResourceSchema) -> bool {
        self.compile(schema).is_ok_and(|c| c.matches(resource))
    }

    /// Compiles a value filter (the `[...]` part of a value path) whose paths name
    /// sub-attributes of `attribute`. For a multi-valued simple attribute (`schemas`, or
    /// `emails` sent as plain strings) the path `value` designates the element itself.
    pub fn compile_value_filter(&self, attribute: &Attribute) -> ScimResult<CompiledValueFilter> {
        Ok(CompiledValueFilter {
            root: compile_node(self, Scope::Element(attribute))?,
        })
    }

    /// Evaluates a value filter against ONE element of the multi-valued attribute
    /// `attribute` (its paths name sub-attributes, e.g. `type eq "work" and value co
    /// "@example.com"`). A filter that does not compile against `attribute` matches nothing
    /// (see [`Filter::compile_value_filter`] for the error).
    ///
    /// ```
    /// use scim_core::filter::{CompValue, CompareOp, Filter};
    /// use scim_core::schema::{Attribute, AttributeType};
    /// use scim_core::AttrPath;
    /// use serde_json::json;
    ///
    /// let mut emails = Attribute::new("emails", AttributeType::Complex);
    /// emails.multi_valued = true;
    /// emails.sub_attributes = vec![
    ///     Attribute::new("value", AttributeType::String),
    ///     Attribute::new("type", AttributeType::String),
    /// ];
    /// // type eq "work" and value co "@example.com"
    /// let f = Filter::eq_str(AttrPath::new("type"), "work").and(Filter::compare(
    ///     AttrPath::new("value"),
    ///     CompareOp::Co,
    ///     CompValue::String("@example.com".into()),
    /// ));
    /// assert!(f.matches_value(&json!({"type": "Work", "value": "bjensen@example.com"}), &emails));
    /// assert!(!f.matches_value(&json!({"type": "home", "value": "bjensen@example.com"}), &emails));
    /// ```
    pub fn matches_value(&self, element: &Value, attribute: &Attribute) -> bool {
        self.compile_value_filter(attribute)
            .is_ok_and(|c| c.matches(element))
    }
}

// ---------------------------------------------------------------------------------------
// Compiled form

#[derive(Debug, Clone)]
enum Node {
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    /// `pr`.
    Present(Loc),
    /// `op value` (never with a null operand).
    Compare(Loc, Matcher),
    /// `attr[filter]`: some element of `attr` satisfies the inner filter.
    ValuePath(Loc, Box<Node>),
}

/// Where the values of a path live.
#[derive(Debug, Clone)]
enum Loc {
    /// A top-level attribute of the resource, under the extension object `ext` if set.
    Attr {
        ext: Option<Key>,
        name: Key,
        sub: Option<Key>,
        /// Compare each element's `value` (multi-valued complex attribute without a
        /// sub-attribute).
        implicit_value: bool,
    },
    /// A whole extension object (`urn:...:enterprise:2.0:User pr`).
    Extension(Key),
    /// Relative to one element of a multi-valued attribute: the element itself (`sub` is
    /// `None`), or one of its sub-attributes. `primitive_is_value`: a primitive element is
    /// the `value` of the element (emails sent as plain strings).
    Element {
        sub: Option<Key>,
        primitive_is_value: bool,
    },
}

/// An attribute name to look up in JSON objects, with a hint of the member's position.
///
/// Resources created the same way keep their members in the same order, so the position
/// where the name was last found is tried first: one entry read instead of a scan. The hint
/// is only a guess (relaxed atomic, shared by threads evaluating the same compiled filter);
/// a miss falls back to the full case-insensitive lookup.
#[derive(Debug)]
struct Key {
    name: Box<str>,
    hint: AtomicU32,
}

impl Key {
    fn new(name: &str) -> Key {
        Key {
            name: name.into(),
            hint: AtomicU32::new(0),
        }
    }

    /// The member named `self.name`, ignoring ASCII case (an exact match wins), like
    /// [`get_ci`].
    #[inline]
    fn get<'a>(&self, map: &'a Map<String, Value>) -> Option<&'a Value> {
        let hint = self.hint.load(Ordering::Relaxed) as usize;
        if let Some((k, v)) = map.iter().nth(hint) {
            if **k == *self.name {
                return Some(v);
            }
        }
        let (pos, v) = lookup(map, &self.name)?;
        if let Some(pos) = pos {
            self.hint.store(pos, Ordering::Relaxed);
        }
        Some(v)
    }
}

impl Clone for Key {
    fn clone(&self) -> Self {
        Key {
            name: self.name.clone(),
            hint: AtomicU32::new(self.hint.load(Ordering::Relaxed)),
        }
    }
}

#[derive(Clone, Copy)]
enum Ctx<'a> {
    Resource(&'a Map<String, Value>),
    Element(&'a Value),
}

fn eval(node: &Node, ctx: Ctx<'_>) -> bool {
    match node {
        Node::And(a, b) => eval(a, ctx) && eval(b, ctx),
        Node::Or(a, b) => eval(a, ctx) || eval(b, ctx),
        Node::Not(a) => !eval(a, ctx),
        Node::Present(loc) => any_value(loc, ctx, &mut is_non_empty),
        Node::Compare(loc, m) => {
            if m.op() == CompareOp::Ne {
                // No value at all: "not identical" (see the module docs).
                let mut seen = false;
                let hit = any_value(loc, ctx, &mut |v| {
                    seen = true;
                    m.holds(v)
                });
                hit || !seen
            } else {
                any_value(loc, ctx, &mut |v| m.holds(v))
            }
        }
        Node::ValuePath(loc, inner) => any_value(loc, ctx, &mut |e| eval(inner, Ctx::Element(e))),
    }
}

/// Calls `f` on each non-null value at `loc` (arrays flattened) until it returns `true`.
#[inline]
fn any_value<'a>(loc: &Loc, ctx: Ctx<'a>, f: &mut impl FnMut(&'a Value) -> bool) -> bool {
    match (loc, ctx) {
        (
            Loc::Attr {
                ext,
                name,
                sub,
                implicit_value,
            },
            Ctx::Resource(map),
        ) => {
            let container = match ext {
                None => map,
                Some(urn) => match urn.get(map) {
                    Some(Value::Object(o)) => o,
                    _ => return false,
                },
            };
            let Some(top) = name.get(container) else {
                return false;
            };
            match sub {
                Some(sub) => each(top, &mut |e| match e {
                    Value::Object(o) => sub.get(o).is_some_and(|x| each(x, f)),
                    _ => false,
                }),
                None if *implicit_value => each(top, &mut |e| match e {
                    Value::Object(o) => lookup_value(o).is_some_and(|x| each(x, f)),
                    primitive => f(primitive),
                }),
                None => each(top, f),
            }
        }
        (Loc::Extension(urn), Ctx::Resource(map)) => urn.get(map).is_some_and(|x| each(x, f)),
        (
            Loc::Element {
                sub,
                primitive_is_value,
            },
            Ctx::Element(elem),
        ) => match (sub, elem) {
            (None, e) => each(e, f),
            (Some(sub), Value::Object(o)) => sub.get(o).is_some_and(|x| each(x, f)),
            (Some(_), Value::Null | Value::Array(_)) => false,
            (Some(_), primitive) => *primitive_is_value && f(primitive),
        },
        _ => false,
    }
}

/// The member named `key`, ignoring ASCII case (an exact match wins), like [`get_ci`], with
/// the position of an exact match. Small objects (every SCIM resource and element in
/// practice) are scanned linearly comparing lengths first, which is cheaper than hashing the
/// key and probing the hash table.
#[inline]
fn lookup<'a>(map: &'a Map<String, Value>, key: &str) -> Option<(Option<u32>, &'a Value)> {
    if map.len() > 32 {
        return get_ci(map, key).map(|v| (None, v));
    }
    let mut folded = None;
    for (i, (k, v)) in map.iter().enumerate() {
        if k.len() == key.len() {
            if k == key {
                return Some((u32::try_from(i).ok(), v));
            }
            if folded.is_none() && k.eq_ignore_ascii_case(key) {
                folded = Some(v);
            }
        }
    }
    folded.map(|v| (None, v))
}

/// The `value` member of a multi-valued element.
#[inline]
fn lookup_value(map: &Map<String, Value>) -> Option<&Value> {
    lookup(map, "value").map(|(_, v)| v)
}

/// `v` itself, or each element of an array; nulls skipped.
#[inline]
fn each<'a>(v: &'a Value, f: &mut impl FnMut(&'a Value) -> bool) -> bool {
    match v {
        Value::Null => false,
        Value::Array(items) => items.iter().any(|i| !i.is_null() && f(i)),
        other => f(other),
    }
}

/// RFC 7644 §3.4.2.2 `pr`: "a non-empty or non-null value, or ... a non-empty node for
/// complex attributes".
fn is_non_empty(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => items.iter().any(is_non_empty),
        Value::Object(members) => members.values().any(is_non_empty),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

// ---------------------------------------------------------------------------------------
// Compilation

#[derive(Clone, Copy)]
enum Scope<'s> {
    /// Paths name attributes of the resource.
    Resource(&'s ResourceSchema),
    /// Paths name sub-attributes of one element of this attribute.
    Element(&'s Attribute),
}

/// `schemas` (RFC 7643 §3): every resource has it, no schema document lists it.
static SCHEMAS_ATTRIBUTE: LazyLock<Attribute> = LazyLock::new(|| {
    let mut a = Attribute::new("schemas", AttributeType::Reference);
    a.multi_valued = true;
    a.required = true;
    a.reference_types = vec!["uri".into()];
    a
});

/// A path resolved in some scope.
struct Target<'s> {
    loc: Loc,
    /// The attribute whose values `loc` yields (for an element scope on a simple attribute:
    /// that attribute, its elements being the values).
    attribute: &'s Attribute,
    /// The path is a whole extension.
    whole_extension: bool,
    /// The path names a top-level attribute without a sub-attribute (or an element's
    /// sub-attribute), i.e. `attribute.multi_valued` describes the values.
    top_level: bool,
}

fn compile_node(filter: &Filter, scope: Scope<'_>) -> ScimResult<Node> {
    Ok(match filter {
        Filter::And(a, b) => Node::And(
            Box::new(compile_node(a, scope)?),
            Box::new(compile_node(b, scope)?),
        ),
        Filter::Or(a, b) => Node::Or(
            Box::new(compile_node(a, scope)?),
            Box::new(compile_node(b, scope)?),
        ),
        Filter::Not(a) => Node::Not(Box::new(compile_node(a, scope)?)),
        Filter::Present(path) => Node::Present(resolve(path, scope)?.loc),
        Filter::Compare { path, op, value } => compile_compare(path, *op, value, scope)?,
        Filter::ValuePath { path, filter } => {
            let what = || format!("'{path}[{filter}]'");
            if path.sub_attr.is_some() {
                return Err(ScimError::invalid_filter(format!(
                    "{}: a value filter applies to an attribute, not to the sub-attribute '{}'",
                    what(),
                    path
                )));
            }
            let target = resolve(path, scope)?;
            let attr = target.attribute;
            if target.whole_extension || !(attr.is_complex() || attr.multi_valued) {
                return Err(ScimError::invalid_filter(format!(
                    "{}: '{}' is neither complex nor multi-valued, so it has no values to \
                     filter (RFC 7644 §3.4.2.2, Table 5)",
                    what(),
                    path
                )));
            }
            let inner = compile_node(filter, Scope::Element(attr))?;
            Node::ValuePath(target.loc, Box::new(inner))
        }
    })
}

fn compile_compare(
    path: &AttrPath,
    op: CompareOp,
    value: &CompValue,
    scope: Scope<'_>,
) -> ScimResult<Node> {
    let what = || format!("'{} {} {}'", path, op.as_str(), comp_value_text(value));
    let target = resolve(path, scope)?;
    if target.whole_extension {
        return Err(ScimError::invalid_filter(format!(
            "{}: '{}' is a whole extension schema; only 'pr' applies to it",
            what(),
            path
        )));
    }
    if *value == CompValue::Null {
        // `eq null` is "not present", `ne null` is "present" (see the module docs).
        return match op {
            CompareOp::Eq => Ok(Node::Not(Box::new(Node::Present(target.loc)))),
            CompareOp::Ne => Ok(Node::Present(target.loc)),
            _ => Err(ScimError::invalid_filter(format!(
                "{}: only 'eq' and 'ne' compare with null",
                what()
            ))),
        };
    }
    let mut attribute = target.attribute;
    let mut loc = target.loc;
    if attribute.is_complex() && target.top_level {
        if !attribute.multi_valued {
            return Err(ScimError::invalid_filter(format!(
                "{}: '{}' is a complex attribute; name one of its sub-attributes (RFC 7644 \
                 §3.4.2.2: \"For complex attributes, a fully qualified sub-attribute MUST be \
                 specified\")",
                what(),
                path
            )));
        }
        // `emails co "example.com"` compares each element's `value`.
        attribute = attribute.sub_attribute("value").ok_or_else(|| {
            ScimError::invalid_filter(format!(
                "{}: the multi-valued complex attribute '{}' has no 'value' sub-attribute to \
                 compare; name one of its sub-attributes",
                what(),
                path
            ))
        })?;
        loc = match loc {
            Loc::Attr { ext, name, sub, .. } => Loc::Attr {
                ext,
                name,
                sub,
                implicit_value: true,
            },
            Loc::Element { sub, .. } => {
                // A complex sub-attribute cannot occur in SCIM schemas (RFC 7643 §2.3.8);
                // refuse rather than guess.
                return Err(ScimError::invalid_filter(format!(
                    "{}: '{}' is complex; name one of its sub-attributes",
                    what(),
                    sub.as_ref().map_or("value", |k| &*k.name)
                )));
            }
            other => other,
        };
    }
    let matcher = Matcher::new(op, value, attribute, &what)?;
    Ok(Node::Compare(loc, matcher))
}

/// `returned: never` or `mutability: writeOnly` (e.g. `password`).
fn is_never_returned(a: &Attribute) -> bool {
    a.returned == Returned::Never || a.mutability == Mutability::WriteOnly
}

/// 400 `invalidValue` when `attributes` (an attribute and its sub-attribute) include a
/// never-returned one (see the module docs).
fn refuse_never_returned(path: &AttrPath, attributes: &[&Attribute]) -> ScimResult<()> {
    match attributes.iter().find(|a| is_never_returned(a)) {
        Some(a) => Err(ScimError::invalid_value(format!(
            "filter attribute '{path}': '{}' is never returned (RFC 7643 §7: \"returned\": \
             \"never\" / \"mutability\": \"writeOnly\"; the stored value is a hash), so it \
             cannot be filtered on",
            a.name
        ))),
        None => Ok(()),
    }
}

/// Resolves `path` in `scope`, or 400 `invalidFilter` (400 `invalidValue` for a
/// never-returned attribute).
fn resolve<'s>(path: &AttrPath, scope: Scope<'s>) -> ScimResult<Target<'s>> {
    match scope {
        Scope::Resource(schema) => resolve_in_resource(path, schema),
        Scope::Element(parent) => resolve_in_element(path, parent),
    }
}

fn resolve_in_resource<'s>(path: &AttrPath, schema: &'s ResourceSchema) -> ScimResult<Target<'s>> {
    if let Some(ext) = schema.extension_for_path(path) {
        // A pseudo-attribute standing for the extension object; only `pr` uses it.
        return Ok(Target {
            loc: Loc::Extension(Key::new(&ext.id)),
            attribute: &SCHEMAS_ATTRIBUTE,
            whole_extension: true,
            top_level: true,
        });
    }
    if let Some(r) = schema.resolve(path) {
        let mut chain = vec![r.attribute];
        chain.extend(r.sub_attribute);
        refuse_never_returned(path, &chain)?;
        let loc = Loc::Attr {
            ext: r.in_extension.then(|| Key::new(r.schema_urn)),
            name: Key::new(&r.attribute.name),
            sub: r.sub_attribute.map(|s| Key::new(&s.name)),
            implicit_value: false,
        };
        return Ok(Target {
            loc,
            attribute: r.sub_attribute.unwrap_or(r.attribute),
            whole_extension: false,
            top_level: r.sub_attribute.is_none(),
        });
    }
    let core_or_none = path
        .uri
        .as_deref()
        .is_none_or(|u| u.eq_ignore_ascii_case(&schema.core.id));
    if core_or_none && path.sub_attr.is_none() && path.name.eq_ignore_ascii_case("schemas") {
        return Ok(Target {
            loc: Loc::Attr {
                ext: None,
                name: Key::new("schemas"),
                sub: None,
                implicit_value: false,
            },
            attribute: &SCHEMAS_ATTRIBUTE,
            whole_extension: false,
            top_level: true,
        });
    }
    Err(unknown_attribute(path, schema))
}

fn unknown_attribute(path: &AttrPath, schema: &ResourceSchema) -> ScimError {
    let top = AttrPath {
        uri: path.uri.clone(),
        name: path.name.clone(),
        sub_attr: None,
    };
    let detail = match (&path.sub_attr, schema.resolve(&top)) {
        (Some(sub), Some(r)) => format!("'{}' has no sub-attribute '{}'", r.attribute.name, sub),
        _ => match &path.uri {
            Some(uri) if !schema.knows_schema(uri) => format!(
                "the schema '{}' is not one of the resource type '{}' schemas",
                uri,
                schema.name()
            ),
            _ => format!(
                "the attribute '{}' is not defined for the resource type '{}'",
                path,
                schema.name()
            ),
        },
    };
    ScimError::invalid_filter(format!(
        "filter attribute '{path}': {detail} (RFC 7644 §3.12 invalidFilter: \"the specified \
         attribute and filter comparison combination is not supported\")"
    ))
}

fn resolve_in_element<'s>(path: &AttrPath, parent: &'s Attribute) -> ScimResult<Target<'s>> {
    let bad = |why: String| {
        ScimError::invalid_filter(format!(
            "value filter on '{}': '{}' {}",
            parent.name, path, why
        ))
    };
    if path.uri.is_some() || path.sub_attr.is_some() {
        return Err(bad(format!(
            "must name a sub-attribute of '{}' (RFC 7644 §3.4.2.2: \"The expression within \
             square brackets ... MUST be a valid filter expression based upon sub-attributes \
             of the parent attribute\")",
            parent.name
        )));
    }
    if parent.is_complex() {
        let sub = parent
            .sub_attribute(&path.name)
            .or_else(|| default_sub_attribute(parent, &path.name))
            .ok_or_else(|| bad(format!("is not a sub-attribute of '{}'", parent.name)))?;
        refuse_never_returned(path, &[sub])?;
        return Ok(Target {
            loc: Loc::Element {
                sub: Some(Key::new(&sub.name)),
                primitive_is_value: sub.name.eq_ignore_ascii_case("value"),
            },
            attribute: sub,
            whole_extension: false,
            top_level: true,
        });
    }
    if path.name.eq_ignore_ascii_case("value") {
        // A simple multi-valued attribute: `value` is the element itself. The target keeps
        // the parent's type and caseExact; each element is one value.
        return Ok(Target {
            loc: Loc::Element {
                sub: None,
                primitive_is_value: true,
            },
            attribute: parent,
            whole_extension: false,
            top_level: false,
        });
    }
    Err(bad(format!(
        "is not valid: '{}' is a simple attribute, whose elements are named 'value'",
        parent.name
    )))
}

fn comp_value_text(v: &CompValue) -> String {
    match v {
        CompValue::Null => "null".into(),
        CompValue::Bool(b) => b.to_string(),
        CompValue::Number(n) => n.to_string(),
        CompValue::String(s) => Value::from(s.as_str()).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::builtin::{group_resource_schema, user_resource_schema};
    use serde_json::json;

    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn p(s: &str) -> AttrPath {
        match s.split_once('.') {
            Some((a, b)) => AttrPath::with_sub(a, b),
            None => AttrPath::new(s),
        }
    }
    fn s(v: &str) -> CompValue {
        CompValue::String(v.into())
    }
    fn n(v: serde_json::Value) -> CompValue {
        match v {
            Value::Number(n) => CompValue::Number(n),
            _ => unreachable!(),
        }
    }
    fn cmp(path: &str, op: CompareOp, v: CompValue) -> Filter {
        Filter::compare(p(path), op, v)
    }
    fn user(v: Value) -> Resource {
        Resource::from_value(v).unwrap()
    }
    fn m(f: &Filter, r: &Resource) -> bool {
        f.compile(&user_resource_schema()).unwrap().matches(r)
    }
    fn err(f: &Filter) -> ScimError {
        f.compile(&user_resource_schema()).unwrap_err()
    }

    fn bjensen() -> Resource {
        user(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "701984",
            "userName": "bjensen@example.com",
            "name": {"familyName": "Jensen", "givenName": "Barbara"},
            "title": "Tour Guide",
            "userType": "Employee",
            "active": true,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx"}],
            "meta": {
                "resourceType": "User",
                "created": "2010-01-23T04:56:22Z",
                "lastModified": "2011-05-13T04:42:34Z",
                "version": "W/\"3694e05e9dff591\"",
                "location": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646"
            },
            ENT: {
                "employeeNumber": "701984",
                "costCenter": "4130",
                "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"}
            }
        }))
    }

    #[test]
    fn case_exact_follows_the_schema() {
        let u = bjensen();
        // userName: caseExact=false (RFC 7643 §4.1).
        assert!(m(&Filter::eq_str(p("userName"), "BJENSEN@example.com"), &u));
        // id and externalId: caseExact=true (RFC 7643 §3.1).
        assert!(!m(
            &Filter::eq_str(p("id"), "2819C223-7F76-453A-919D-413861904646"),
            &u
        ));
        assert!(m(
            &Filter::eq_str(p("id"), "2819c223-7f76-453a-919d-413861904646"),
            &u
        ));
        assert!(m(
            &Filter::eq_str(p("meta.version"), "W/\"3694e05e9dff591\""),
            &u
        ));
        assert!(!m(
            &Filter::eq_str(p("meta.version"), "w/\"3694E05E9DFF591\""),
            &u
        ));
        // Attribute names are case-insensitive.
        assert!(m(&Filter::eq_str(p("USERNAME"), "bjensen@example.com"), &u));
        assert!(m(&Filter::eq_str(p("NAME.FAMILYNAME"), "jensen"), &u));
    }

    #[test]
    fn extension_attributes_by_urn() {
        let u = bjensen();
        let f = Filter::eq_str(AttrPath::new("employeeNumber").with_uri(ENT), "701984");
        assert!(m(&f, &u));
        let f = Filter::eq_str(
            AttrPath::with_sub("manager", "value").with_uri(ENT),
            "26118915-6090-4610-87e4-49d8ca9f808d",
        );
        assert!(m(&f, &u));
        // The extension key is matched case-insensitively in the resource.
        let lower = user(json!({ENT.to_lowercase(): {"employeeNumber": "701984"}}));
        let f = Filter::eq_str(AttrPath::new("employeeNumber").with_uri(ENT), "701984");
        assert!(m(&f, &lower));
        // Whole-extension presence.
        let whole = Filter::present(
            AttrPath::new("User").with_uri("urn:ietf:params:scim:schemas:extension:enterprise:2.0"),
        );
        assert!(m(&whole, &u));
        assert!(!m(&whole, &user(json!({ENT: {}}))));
        assert!(!m(&whole, &user(json!({"userName": "x"}))));
        // Core URN prefix.
        let f = Filter::eq_str(
            AttrPath::new("userName").with_uri("urn:ietf:params:scim:schemas:core:2.0:User"),
            "bjensen@example.com",
        );
        assert!(m(&f, &u));
    }

    #[test]
    fn multi_valued_any_and_implicit_value() {
        let u = bjensen();
        assert!(m(&cmp("emails", CompareOp::Co, s("jensen.org")), &u));
        assert!(m(
            &cmp("emails.value", CompareOp::Ew, s("@EXAMPLE.COM")),
            &u
        ));
        assert!(m(&Filter::eq_str(p("emails.type"), "home"), &u));
        assert!(!m(&Filter::eq_str(p("emails.type"), "other"), &u));
        // emails given as plain strings: the element is the value.
        let plain = user(json!({"emails": ["a@example.com", "b@example.org"]}));
        assert!(m(&cmp("emails", CompareOp::Ew, s("example.org")), &plain));
        // addresses has no `value` sub-attribute.
        assert!(err(&cmp("addresses", CompareOp::Co, s("x"))).is_invalid_filter());
        // single-valued complex without sub-attribute.
        assert!(err(&Filter::eq_str(p("name"), "x")).is_invalid_filter());
    }

    #[test]
    fn value_path_needs_one_element_for_the_whole_filter() {
        // Work email at example.org, home email at example.com: the two clauses hold for
        // different elements, so the value path must NOT match.
        let split = user(json!({"emails": [
            {"type": "work", "value": "x@example.org"},
            {"type": "home", "value": "x@example.com"}
        ]}));
        let inner =
            Filter::eq_str(p("type"), "work").and(cmp("value", CompareOp::Co, s("@example.com")));
        let vp = Filter::value_path(p("emails"), inner);
        assert!(!m(&vp, &split));
        // ...whereas the flattened form does match.
        let flat = Filter::eq_str(p("emails.type"), "work").and(cmp(
            "emails.value",
            CompareOp::Co,
            s("@example.com"),
        ));
        assert!(m(&flat, &split));
        assert!(m(&vp, &bjensen()));
        // not() inside a value filter.
        let not_work = Filter::value_path(p("emails"), Filter::eq_str(p("type"), "work").not());
        assert!(m(&not_work, &split));
        assert!(!m(
            &not_work,
            &user(json!({"emails": [{"type": "work", "value": "a"}]}))
        ));
    }

    #[test]
    fn value_path_errors() {
        let e = err(&Filter::value_path(
            p("userName"),
            Filter::eq_str(p("value"), "x"),
        ));
        assert!(e.is_invalid_filter());
        let e = err(&Filter::value_path(
            p("emails"),
            Filter::eq_str(p("nope"), "x"),
        ));
        assert!(e.is_invalid_filter());
        let e = err(&Filter::value_path(
            p("emails.value"),
            Filter::eq_str(p("type"), "x"),
        ));
        assert!(e.is_invalid_filter());
    }

    #[test]
    fn presence() {
        let pr = |a: &str| Filter::present(p(a));
        let u = bjensen();
        assert!(m(&pr("title"), &u));
        assert!(m(&pr("emails"), &u));
        assert!(m(&pr("name"), &u));
        assert!(!m(&pr("nickName"), &u));
        for empty in [
            json!(null),
            json!(""),
            json!([]),
            json!({}),
            json!([{}]),
            json!({"givenName": ""}),
        ] {
            let r = user(json!({"title": empty.clone(), "emails": empty.clone(), "name": empty}));
            assert!(!m(&pr("title"), &r));
            assert!(!m(&pr("emails"), &r));
            assert!(!m(&pr("name"), &r));
        }
        assert!(m(&pr("active"), &user(json!({"active": false}))));
    }

    #[test]
    fn ne_and_null() {
        let u = bjensen();
        let none = user(json!({"userName": "x"}));
        let ne = cmp("userType", CompareOp::Ne, s("Employee"));
        assert!(!m(&ne, &u));
        assert!(m(&ne, &none), "absent is not identical to anything");
        assert!(m(&cmp("userType", CompareOp::Ne, s("Intern")), &u));
        // Multi-valued: any value that differs.
        assert!(m(&cmp("emails.type", CompareOp::Ne, s("work")), &u));
        let only_work = user(json!({"emails": [{"type": "work", "value": "a"}]}));
        assert!(!m(
            &cmp("emails.type", CompareOp::Ne, s("work")),
            &only_work
        ));
        // null
        assert!(m(&cmp("nickName", CompareOp::Eq, CompValue::Null), &u));
        assert!(!m(&cmp("title", CompareOp::Eq, CompValue::Null), &u));
        assert!(m(&cmp("title", CompareOp::Ne, CompValue::Null), &u));
        assert!(err(&cmp("title", CompareOp::Gt, CompValue::Null)).is_invalid_filter());
    }

    #[test]
    fn booleans() {
        let u = bjensen();
        assert!(m(&cmp("active", CompareOp::Eq, CompValue::Bool(true)), &u));
        assert!(!m(
            &cmp("active", CompareOp::Eq, CompValue::Bool(false)),
            &u
        ));
        assert!(m(&cmp("active", CompareOp::Ne, CompValue::Bool(false)), &u));
        assert!(m(&cmp("active", CompareOp::Eq, s("True")), &u));
        assert!(m(&cmp("active", CompareOp::Eq, s("TRUE")), &u));
        assert!(m(
            &cmp("emails.primary", CompareOp::Eq, CompValue::Bool(true)),
            &u
        ));
        assert!(err(&cmp("active", CompareOp::Eq, s("yes"))).is_invalid_filter());
        assert!(err(&cmp("active", CompareOp::Gt, CompValue::Bool(true))).is_invalid_filter());
        assert!(err(&cmp("active", CompareOp::Eq, n(json!(1)))).is_invalid_filter());
        // A stored "False" string is read as a boolean.
        assert!(m(
            &cmp("active", CompareOp::Eq, CompValue::Bool(false)),
            &user(json!({"active": "False"}))
        ));
    }

    #[test]
    fn binary_rejects_ordering() {
        let e = err(&cmp("x509Certificates.value", CompareOp::Gt, s("MII")));
        assert!(e.is_invalid_filter());
        assert!(m(
            &cmp("x509Certificates.value", CompareOp::Sw, s("MIIDQz")),
            &bjensen()
        ));
        // Binary is compared exactly.
        assert!(!m(
            &cmp("x509Certificates.value", CompareOp::Sw, s("miidqz")),
            &bjensen()
        ));
    }

    #[test]
    fn datetimes() {
        let u = bjensen();
        let lm = |op, v: &str| cmp("meta.lastModified", op, s(v));
        assert!(m(&lm(CompareOp::Eq, "2011-05-13T04:42:34Z"), &u));
        assert!(m(&lm(CompareOp::Eq, "2011-05-13T06:42:34+02:00"), &u));
        assert!(m(&lm(CompareOp::Ge, "2011-05-13T04:42:34Z"), &u));
        assert!(!m(&lm(CompareOp::Gt, "2011-05-13T04:42:34Z"), &u));
        assert!(m(&lm(CompareOp::Gt, "2011-05-13T05:42:34+02:00"), &u));
        assert!(m(&lm(CompareOp::Lt, "2011-05-13T04:42:34.001Z"), &u));
        assert!(m(&lm(CompareOp::Le, "2011-05-13T04:42:34Z"), &u));
        assert!(err(&lm(CompareOp::Gt, "May 13")).is_invalid_filter());
        assert!(err(&cmp("meta.lastModified", CompareOp::Gt, n(json!(5)))).is_invalid_filter());
        assert!(err(&lm(CompareOp::Sw, "2011")).is_invalid_filter());
    }

    #[test]
    fn numbers() {
        let mut core = crate::schema::builtin::user_schema();
        core.attributes
            .push(Attribute::new("level", AttributeType::Integer));
        core.attributes
            .push(Attribute::new("score", AttributeType::Decimal));
        let schema =
            ResourceSchema::new(crate::schema::builtin::user_resource_type(), core, vec![]);
        let r = user(json!({"level": 3, "score": 2.5}));
        let t = |f: Filter| f.compile(&schema).unwrap().matches(&r);
        assert!(t(cmp("level", CompareOp::Eq, n(json!(3.0)))));
        assert!(t(cmp("level", CompareOp::Gt, n(json!(2.5)))));
        assert!(t(cmp("level", CompareOp::Le, n(json!(3)))));
        assert!(!t(cmp("level", CompareOp::Lt, n(json!(3)))));
        assert!(t(cmp("score", CompareOp::Lt, n(json!(3)))));
        assert!(t(cmp("score", CompareOp::Ge, n(json!(2.5)))));
        assert!(filter_err(&schema, cmp("level", CompareOp::Eq, s("3"))));
        assert!(filter_err(
            &schema,
            cmp("level", CompareOp::Co, n(json!(3)))
        ));
    }

    fn filter_err(schema: &ResourceSchema, f: Filter) -> bool {
        f.compile(schema).is_err_and(|e| e.is_invalid_filter())
    }

    #[test]
    fn unknown_attributes_are_invalid_filter() {
        let u = bjensen();
        for f in [
            Filter::eq_str(p("nope"), "x"),
            Filter::eq_str(p("name.nope"), "x"),
            Filter::eq_str(AttrPath::new("userName").with_uri("urn:example:other"), "x"),
            Filter::present(p("nope")),
        ] {
            let e = err(&f);
            assert!(e.is_invalid_filter(), "{f}");
            assert_eq!(e.status(), 400);
            assert!(!f.matches(&u, &user_resource_schema()));
            // matches() on an un-compilable filter is false even under not().
            assert!(!f.clone().not().matches(&u, &user_resource_schema()));
        }
        // Group has no userName.
        assert!(
            Filter::eq_str(p("userName"), "x")
                .compile(&group_resource_schema())
                .is_err()
        );
    }

    #[test]
    fn schemas_attribute() {
        let u = bjensen();
        assert!(m(&Filter::eq_str(p("schemas"), ENT), &u));
        assert!(m(&Filter::eq_str(p("schemas"), ENT.to_uppercase()), &u));
        assert!(!m(
            &Filter::eq_str(p("schemas"), ENT),
            &user(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}))
        ));
        let vp = Filter::value_path(p("schemas"), cmp("value", CompareOp::Ew, s(":2.0:User")));
        assert!(m(&vp, &u));
    }

    #[test]
    fn logic_short_circuit_and_not() {
        let u = bjensen();
        let t = Filter::eq_str(p("userType"), "employee");
        let f = Filter::eq_str(p("userType"), "intern");
        assert!(m(&t.clone().and(t.clone()), &u));
        assert!(!m(&t.clone().and(f.clone()), &u));
        assert!(m(&f.clone().or(t.clone()), &u));
        assert!(!m(&f.clone().or(f.clone()), &u));
        assert!(m(&f.clone().not(), &u));
        assert!(!m(&t.not(), &u));
    }

    #[test]
    fn matches_value_on_elements() {
        let schema = user_resource_schema();
        let emails = schema.resolve(&p("emails")).unwrap().attribute;
        let f =
            Filter::eq_str(p("type"), "work").and(cmp("value", CompareOp::Co, s("@example.com")));
        assert!(f.matches_value(&json!({"type": "WORK", "value": "a@Example.com"}), emails));
        assert!(!f.matches_value(&json!({"type": "work", "value": "a@example.org"}), emails));
        // A string element is its own `value`.
        let v = cmp("value", CompareOp::Co, s("@example.com"));
        assert!(v.matches_value(&json!("a@example.com"), emails));
        // members[value eq "..."] on a group.
        let g = group_resource_schema();
        let members = g.resolve(&p("members")).unwrap().attribute;
        let mv = Filter::eq_str(p("value"), "2819c223-7f76-453a-919d-413861904646");
        assert!(mv.matches_value(
            &json!({"value": "2819c223-7f76-453a-919d-413861904646"}),
            members
        ));
        assert!(!mv.matches_value(&json!({"value": "other"}), members));
        // Unknown sub-attribute: compile error, matches_value false.
        let bad = Filter::eq_str(p("nope"), "x");
        assert!(bad.compile_value_filter(emails).is_err());
        assert!(!bad.matches_value(&json!({"nope": "x"}), emails));
        // Simple multi-valued attribute: `value` is the element.
        let mut tags = Attribute::new("tags", AttributeType::String);
        tags.multi_valued = true;
        assert!(Filter::eq_str(p("value"), "A").matches_value(&json!("a"), &tags));
        assert!(
            Filter::eq_str(p("type"), "a")
                .compile_value_filter(&tags)
                .is_err()
        );
    }

    #[test]
    fn key_lookup_exact_wins_and_hints_are_only_hints() {
        let k = Key::new("userName");
        let a = json!({"username": 1, "userName": 2});
        let a = a.as_object().unwrap();
        assert_eq!(k.get(a), Some(&json!(2)));
        assert_eq!(k.hint.load(Ordering::Relaxed), 1);
        // Same position, different key there: falls back to the scan.
        let b = json!({"id": 0, "USERNAME": 3});
        assert_eq!(k.get(b.as_object().unwrap()), Some(&json!(3)));
        let c = json!({"userName": 4});
        assert_eq!(k.get(c.as_object().unwrap()), Some(&json!(4)));
        assert_eq!(k.hint.load(Ordering::Relaxed), 0);
        assert_eq!(k.get(json!({"user": 1}).as_object().unwrap()), None);
        // Large objects use the hashed lookup.
        let mut big = Map::new();
        for i in 0..40 {
            big.insert(format!("k{i}"), json!(i));
        }
        big.insert("USERNAME".into(), json!(5));
        assert_eq!(k.get(&big), Some(&json!(5)));
        big.insert("userName".into(), json!(6));
        assert_eq!(k.get(&big), Some(&json!(6)));
    }

    #[test]
    fn never_returned_attributes_cannot_be_filtered_on() {
        let u = user(json!({"password": "t1meMa$heen"}));
        let mut filters = vec![
            Filter::present(p("password")),
            cmp("password", CompareOp::Eq, CompValue::Null),
            Filter::eq_str(p("userName"), "x").or(Filter::eq_str(p("password"), "x")),
            Filter::eq_str(p("password"), "t1meMa$heen").not(),
        ];
        for op in [
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Sw,
            CompareOp::Co,
            CompareOp::Gt,
        ] {
            filters.push(cmp("password", op, s("t")));
        }
        for f in filters {
            let e = err(&f);
            assert_eq!(e.status(), 400, "{f}");
            assert_eq!(e.scim_type(), Some(crate::ScimType::InvalidValue), "{f}");
            assert!(e.detail().contains("'password' is never returned"), "{f}");
            assert!(!f.matches(&u, &user_resource_schema()));
        }
        // A never-returned sub-attribute inside a value filter, and through the element
        // scope PATCH uses.
        let mut secrets = Attribute::new("secrets", AttributeType::Complex);
        secrets.multi_valued = true;
        let mut hash = Attribute::new("hash", AttributeType::String);
        hash.returned = Returned::Never;
        secrets.sub_attributes = vec![Attribute::new("value", AttributeType::String), hash];
        let e = Filter::eq_str(p("hash"), "x")
            .compile_value_filter(&secrets)
            .unwrap_err();
        assert_eq!(e.scim_type(), Some(crate::ScimType::InvalidValue));
        let mut core = crate::schema::builtin::user_schema();
        core.attributes.push(secrets);
        let schema =
            ResourceSchema::new(crate::schema::builtin::user_resource_type(), core, vec![]);
        for f in [
            "secrets[hash pr]",
            "secrets.hash eq \"x\"",
            "secrets[value eq \"a\"].hash eq \"x\"",
        ] {
            let e = Filter::parse(f).unwrap().compile(&schema).unwrap_err();
            assert_eq!(e.scim_type(), Some(crate::ScimType::InvalidValue), "{f}");
        }
        assert!(
            Filter::parse("secrets[value eq \"a\"]")
                .unwrap()
                .compile(&schema)
                .is_ok()
        );
    }
}
