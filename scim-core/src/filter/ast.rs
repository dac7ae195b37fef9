//! The typed filter AST (RFC 7644 §3.4.2.2).

use crate::path::AttrPath;

/// A comparison operator (RFC 7644 §3.4.2.2, Table 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `eq` equal.
    Eq,
    /// `ne` not equal.
    Ne,
    /// `co` contains.
    Co,
    /// `sw` starts with.
    Sw,
    /// `ew` ends with.
    Ew,
    /// `gt` greater than.
    Gt,
    /// `lt` less than.
    Lt,
    /// `ge` greater than or equal to.
    Ge,
    /// `le` less than or equal to.
    Le,
}

impl CompareOp {
    /// The operator's keyword in lower case (`eq`, `co`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Lt => "lt",
            CompareOp::Ge => "ge",
            CompareOp::Le => "le",
        }
    }
}

/// A comparison value (`compValue = false / null / true / number / string`).
/// A dateTime is a string; it is compared as a dateTime when the attribute's type says so.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A JSON number.
    Number(serde_json::Number),
    /// A JSON string (escapes decoded).
    String(String),
}

/// A filter expression.
///
/// `and` binds tighter than `or`; `not(...)` negates a parenthesised filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attrPath pr`.
    Present(AttrPath),
    /// `attrPath compareOp compValue`.
    Compare {
        /// The attribute compared.
        path: AttrPath,
        /// The operator.
        op: CompareOp,
        /// The value compared against.
        value: CompValue,
    },
    /// `attrPath "[" valFilter "]"`: some element of a multi-valued complex attribute
    /// satisfies `filter`, whose paths name sub-attributes.
    ValuePath {
        /// The multi-valued (or complex) attribute.
        path: AttrPath,
        /// The filter applied to each element.
        filter: Box<Filter>,
    },
    /// `filter and filter`.
    And(Box<Filter>, Box<Filter>),
    /// `filter or filter`.
    Or(Box<Filter>, Box<Filter>),
    /// `not(filter)`.
    Not(Box<Filter>),
}

impl Filter {
    /// `path pr`.
    pub fn present(path: AttrPath) -> Self {
        Filter::Present(path)
    }
    /// `path op value`.
    pub fn compare(path: AttrPath, op: CompareOp, value: CompValue) -> Self {
        Filter::Compare { path, op, value }
    }
    /// `path eq "value"`.
    pub fn eq_str(path: AttrPath, value: impl Into<String>) -> Self {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::String(value.into()),
        }
    }
    /// `self and other`.
    pub fn and(self, other: Filter) -> Self {
        Filter::And(Box::new(self), Box::new(other))
    }
    /// `self or other`.
    pub fn or(self, other: Filter) -> Self {
        Filter::Or(Box::new(self), Box::new(other))
    }
    /// `not(self)`.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Self {
        Filter::Not(Box::new(self))
    }
    /// `path[filter]`.
    pub fn value_path(path: AttrPath, filter: Filter) -> Self {
        Filter::ValuePath {
            path,
            filter: Box::new(filter),
        }
    }
}
