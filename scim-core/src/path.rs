//! Attribute paths (RFC 7644 §3.4.2.2 `attrPath`, §3.5.2 PATCH `path`).
//!
//! ```text
//! attrPath  = [URI ":"] ATTRNAME *1subAttr
//! valuePath = attrPath "[" valFilter "]"
//! PATH      = attrPath / valuePath [subAttr]
//! ```

use std::fmt;

use crate::filter::Filter;

/// An attribute path: an optional schema URI, an attribute name and an optional
/// sub-attribute, e.g. `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`
/// or `name.familyName`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URI prefix, without the trailing `:` (e.g.
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`).
    pub uri: Option<String>,
    /// The attribute name.
    pub name: String,
    /// The sub-attribute name, for `name.familyName`.
    pub sub_attr: Option<String>,
}

impl AttrPath {
    /// A path to a top-level attribute with no URI and no sub-attribute.
    pub fn new(name: impl Into<String>) -> Self {
        AttrPath {
            uri: None,
            name: name.into(),
            sub_attr: None,
        }
    }

    /// A path with a sub-attribute (`name.familyName`).
    pub fn with_sub(name: impl Into<String>, sub: impl Into<String>) -> Self {
        AttrPath {
            uri: None,
            name: name.into(),
            sub_attr: Some(sub.into()),
        }
    }

    /// Sets the schema URI prefix.
    pub fn with_uri(mut self, uri: impl Into<String>) -> Self {
        self.uri = Some(uri.into());
        self
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(uri) = &self.uri {
            write!(f, "{uri}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// A PATCH operation path (RFC 7644 §3.5.2): an attribute path, optionally a value filter
/// selecting elements of a multi-valued attribute, and optionally a sub-attribute after the
/// filter (`emails[type eq "work"].value`).
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute (when `filter` is set, `attr.sub_attr` is `None`).
    pub attr: AttrPath,
    /// The value filter inside `[...]`; its paths are relative to the attribute's
    /// sub-attributes.
    pub filter: Option<Filter>,
    /// The sub-attribute after `]`.
    pub sub_attr: Option<String>,
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}
