//! Resolving a PATCH `path` (RFC 7644 §3.5.2, Figure 7: `PATH = attrPath / valuePath
//! [subAttr]`) against a resource's schemas.

use std::borrow::Cow;

use crate::error::{ScimError, ScimResult};
use crate::filter::Filter;
use crate::path::{AttrPath, PatchPath};
use crate::schema::{Attribute, AttributeType, Mutability, ResourceSchema, Schema};

/// What a PATCH path designates.
#[derive(Debug)]
pub(crate) enum Target<'s> {
    /// The `schemas` attribute of the resource.
    Schemas,
    /// A whole extension, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.
    Extension(&'s Schema),
    /// An attribute, optionally filtered and with a sub-attribute.
    Attr(Box<AttrTarget<'s>>),
}

/// An attribute target: `name`, `name.givenName`, `emails[type eq "work"]`,
/// `emails[type eq "work"].value`.
#[derive(Debug)]
pub(crate) struct AttrTarget<'s> {
    /// The extension URN whose object holds the attribute; `None` for core and common
    /// attributes.
    pub ext_urn: Option<&'s str>,
    /// The (top-level) attribute.
    pub attribute: &'s Attribute,
    /// The value filter, for a multi-valued attribute.
    pub filter: Option<Filter>,
    /// The sub-attribute (before or after the filter).
    pub sub: Option<Cow<'s, Attribute>>,
}

/// RFC 7643 §2.4: the sub-attributes every multi-valued attribute may carry ("type",
/// "primary", "display", "value", "$ref"). The RFC 7643 §8.7.1 schema omits some of them for
/// particular attributes (no `display` in `Group.members`, no `primary` in `User.addresses`)
/// while its own examples use them, so they are accepted wherever §2.4 allows them.
fn well_known_sub(attribute: &Attribute, name: &str) -> Option<Attribute> {
    if !attribute.multi_valued || !attribute.is_complex() {
        return None;
    }
    let (canonical, ty) = [
        ("type", AttributeType::String),
        ("primary", AttributeType::Boolean),
        ("display", AttributeType::String),
        ("value", AttributeType::String),
        ("$ref", AttributeType::Reference),
    ]
    .into_iter()
    .find(|(n, _)| n.eq_ignore_ascii_case(name))?;
    let mut a = Attribute::new(canonical, ty);
    a.mutability = attribute.mutability;
    Some(a)
}

/// The sub-attribute `name` of `attribute` from the schema, or one of RFC 7643 §2.4's
/// well-known sub-attributes of multi-valued attributes.
pub(crate) fn sub_attribute_of<'s>(
    attribute: &'s Attribute,
    name: &str,
) -> Option<Cow<'s, Attribute>> {
    if let Some(a) = attribute.sub_attribute(name) {
        return Some(Cow::Borrowed(a));
    }
    well_known_sub(attribute, name).map(Cow::Owned)
}

/// `attribute` with the RFC 7643 §2.4 sub-attributes its schema omits added, so that value
/// filters such as `members[display eq "Babs Jensen"]` can be evaluated.
pub(crate) fn with_well_known_subs(attribute: &Attribute) -> Attribute {
    let mut a = attribute.clone();
    for name in ["type", "primary", "display", "value", "$ref"] {
        if attribute.sub_attribute(name).is_none() {
            if let Some(sub) = well_known_sub(attribute, name) {
                a.sub_attributes.push(sub);
            }
        }
    }
    a
}

/// Parses `text` as a PATCH path (errors are 400 `invalidPath`).
pub(crate) fn parse_path(text: &str) -> ScimResult<PatchPath> {
    PatchPath::parse(text).map_err(|e| {
        if e.is_invalid_path() {
            e
        } else {
            ScimError::invalid_path(format!("invalid PATCH path {text:?}: {}", e.detail()))
        }
    })
}

/// Resolves a parsed path. `scope` is the extension whose object a path-less key or a
/// whole-extension value key lives in: a path without a URI is then looked up there.
pub(crate) fn resolve<'s>(
    schema: &'s ResourceSchema,
    mut path: PatchPath,
    scope: Option<&'s Schema>,
) -> ScimResult<Target<'s>> {
    let shown = path.to_string();
    if let Some(ext) = scope {
        if path.attr.uri.is_none() {
            path.attr.uri = Some(ext.id.clone());
        }
    }
    if path.attr.uri.is_none()
        && path.attr.sub_attr.is_none()
        && path.filter.is_none()
        && path.sub_attr.is_none()
        && path.attr.name.eq_ignore_ascii_case("schemas")
    {
        return Ok(Target::Schemas);
    }
    if path.filter.is_none() && path.sub_attr.is_none() {
        if let Some(ext) = schema.extension_for_path(&path.attr) {
            if scope.is_some() {
                return Err(ScimError::invalid_path(format!(
                    "{shown:?} names a whole extension inside an extension value"
                )));
            }
            return Ok(Target::Extension(ext));
        }
    }
    if path.filter.is_some() && path.attr.sub_attr.is_some() {
        return Err(ScimError::invalid_path(format!(
            "{shown:?}: a value filter must follow the attribute, not a sub-attribute"
        )));
    }
    let top = AttrPath {
        uri: path.attr.uri.clone(),
        name: path.attr.name.clone(),
        sub_attr: None,
    };
    let resolved = schema.resolve(&top).ok_or_else(|| {
        ScimError::invalid_path(format!(
            "{shown:?}: no attribute {:?} in the schemas of resource type {:?}",
            top.to_string(),
            schema.name()
        ))
    })?;
    if let Some(ext) = scope {
        if !resolved.schema_urn.eq_ignore_ascii_case(&ext.id) {
            return Err(ScimError::invalid_path(format!(
                "{shown:?} is not an attribute of extension {:?}",
                ext.id
            )));
        }
    }
    let attribute = resolved.attribute;
    let sub_name = path.attr.sub_attr.take().or(path.sub_attr.take());
    let sub = match sub_name {
        None => None,
        Some(name) => {
            if !attribute.is_complex() {
                return Err(ScimError::invalid_path(format!(
                    "{shown:?}: attribute {:?} is not complex and has no sub-attribute {name:?}",
                    attribute.name
                )));
            }
            Some(sub_attribute_of(attribute, &name).ok_or_else(|| {
                ScimError::invalid_path(format!(
                    "{shown:?}: attribute {:?} has no sub-attribute {name:?}",
                    attribute.name
                ))
            })?)
        }
    };
    if let Some(filter) = &path.filter {
        if !attribute.multi_valued {
            return Err(ScimError::invalid_path(format!(
                "{shown:?}: a value filter needs a multi-valued attribute; {:?} is single-valued",
                attribute.name
            )));
        }
        check_value_filter(filter, attribute, &shown)?;
    }
    Ok(Target::Attr(Box::new(AttrTarget {
        ext_urn: resolved.in_extension.then_some(resolved.schema_urn),
        attribute,
        filter: path.filter,
        sub,
    })))
}

/// Every attribute a value filter names must be a sub-attribute of `attribute` (or `value`
/// for a multi-valued attribute of simple values).
fn check_value_filter(filter: &Filter, attribute: &Attribute, shown: &str) -> ScimResult<()> {
    let check = |p: &AttrPath| -> ScimResult<()> {
        let ok = p.sub_attr.is_none()
            && if attribute.is_complex() {
                sub_attribute_of(attribute, &p.name).is_some()
            } else {
                p.name.eq_ignore_ascii_case("value")
            };
        if ok {
            Ok(())
        } else {
            Err(ScimError::invalid_path(format!(
                "{shown:?}: the value filter names {:?}, which is not a sub-attribute of {:?}",
                p.to_string(),
                attribute.name
            )))
        }
    };
    match filter {
        Filter::Present(p) => check(p),
        Filter::Compare { path, .. } => check(path),
        Filter::ValuePath { .. } => Err(ScimError::invalid_path(format!(
            "{shown:?}: a value filter cannot contain another value path"
        ))),
        Filter::And(a, b) | Filter::Or(a, b) => {
            check_value_filter(a, attribute, shown)?;
            check_value_filter(b, attribute, shown)
        }
        Filter::Not(f) => check_value_filter(f, attribute, shown),
    }
}

impl AttrTarget<'_> {
    /// The mutability that governs a write through this target: a readOnly attribute or
    /// sub-attribute makes the target readOnly; otherwise the attribute's own mutability.
    pub(crate) fn write_mutability(&self) -> Mutability {
        if self.attribute.mutability == Mutability::ReadOnly {
            return Mutability::ReadOnly;
        }
        match &self.sub {
            Some(sub) if sub.mutability == Mutability::ReadOnly => Mutability::ReadOnly,
            _ => self.attribute.mutability,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin;

    #[test]
    fn well_known_sub_attributes_of_multi_valued_attributes() {
        let group = builtin::group_resource_schema();
        let members = group.core.attribute("members").unwrap();
        assert!(members.sub_attribute("display").is_none());
        let display = sub_attribute_of(members, "DISPLAY").unwrap();
        assert_eq!(display.name, "display");
        let user = builtin::user_resource_schema();
        let addresses = user.core.attribute("addresses").unwrap();
        let primary = sub_attribute_of(addresses, "primary").unwrap();
        assert_eq!(primary.attr_type, AttributeType::Boolean);
        let name = user.core.attribute("name").unwrap();
        assert!(sub_attribute_of(name, "display").is_none());
        assert!(sub_attribute_of(addresses, "nope").is_none());
    }
}
