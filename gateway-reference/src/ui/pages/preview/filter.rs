//! The Preview table's columns and their filters: each column can be narrowed with an
//! operator (is, is not, contains, starts with, ends with, is empty) and a value, sent as a
//! GET form (`f.<column>.op`, `f.<column>.value`) so filtering works without JavaScript.
//! Text comparisons ignore case.

use std::collections::HashMap;

/// The table's columns, in order: (key in the form, header).
pub const COLUMNS: [(&str, &str); 10] = [
    ("name", "Name"),
    ("username", "Username"),
    ("synced", "Synced"),
    ("plan", "User plan"),
    ("role", "Role"),
    ("primary", "Primary group"),
    ("secondary", "Secondary groups"),
    ("owner", "Owner company"),
    ("confidential", "Confidential"),
    ("rules", "Rules"),
];

/// A filter operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// The cell equals the value.
    Is,
    /// The cell differs from the value.
    IsNot,
    /// The cell contains the value.
    Contains,
    /// The cell starts with the value.
    StartsWith,
    /// The cell ends with the value.
    EndsWith,
    /// The cell is empty (the value is ignored).
    IsEmpty,
}

/// The operators, in the form's order: (form value, label, operator).
pub const OPS: [(&str, &str, Op); 6] = [
    ("contains", "contains", Op::Contains),
    ("is", "is", Op::Is),
    ("is-not", "is not", Op::IsNot),
    ("starts", "starts with", Op::StartsWith),
    ("ends", "ends with", Op::EndsWith),
    ("empty", "is empty", Op::IsEmpty),
];

impl Op {
    fn parse(s: &str) -> Option<Op> {
        OPS.iter().find(|(v, ..)| *v == s).map(|(.., op)| *op)
    }
}

/// One column's filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The column's index in [`COLUMNS`].
    pub column: usize,
    /// The operator.
    pub op: Op,
    /// The value, lower-cased.
    pub value: String,
}

impl Filter {
    /// Whether `cell` passes.
    pub fn accepts(&self, cell: &str) -> bool {
        let cell = cell.to_lowercase();
        let v = self.value.as_str();
        match self.op {
            Op::Is => cell == v,
            Op::IsNot => cell != v,
            Op::Contains => cell.contains(v),
            Op::StartsWith => cell.starts_with(v),
            Op::EndsWith => cell.ends_with(v),
            Op::IsEmpty => cell.is_empty(),
        }
    }
}

/// What the form asked for, per column: (operator form value, value) as sent, to show again.
#[derive(Debug, Clone, Default)]
pub struct FormState {
    /// Per column of [`COLUMNS`]: the operator and the value typed.
    pub columns: Vec<(String, String)>,
}

/// The filters of a query string's parameters; a column without a value is not filtered
/// (except with "is empty"). An unknown operator is an error naming it.
pub fn parse(params: &HashMap<String, String>) -> Result<(Vec<Filter>, FormState), String> {
    let mut filters = Vec::new();
    let mut form = FormState::default();
    for (i, (key, label)) in COLUMNS.iter().enumerate() {
        let op_s = params
            .get(&format!("f.{key}.op"))
            .map(String::as_str)
            .unwrap_or("contains");
        let value = params
            .get(&format!("f.{key}.value"))
            .map(|v| v.trim().to_string())
            .unwrap_or_default();
        let op = Op::parse(op_s)
            .ok_or_else(|| format!("the filter of {label} has no operator {op_s:?}"))?;
        if op == Op::IsEmpty || !value.is_empty() {
            filters.push(Filter {
                column: i,
                op,
                value: value.to_lowercase(),
            });
        }
        form.columns.push((op_s.to_string(), value));
    }
    Ok((filters, form))
}

/// The query string that reproduces `form` (for the pager and the CSV link), `&`-separated
/// and URL-encoded, without `page`.
pub fn query_string(form: &FormState) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for ((key, _), (op, value)) in COLUMNS.iter().zip(&form.columns) {
        if !value.is_empty() || op == "empty" {
            s.append_pair(&format!("f.{key}.op"), op);
            s.append_pair(&format!("f.{key}.value"), value);
        }
    }
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(p: &[(&str, &str)]) -> HashMap<String, String> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn operators_compare_ignoring_case() {
        let (f, _) = parse(&params(&[
            ("f.username.op", "starts"),
            ("f.username.value", "Ann"),
        ]))
        .unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0].accepts("anna@x"));
        assert!(!f[0].accepts("joanna@x"));
        let (f, _) = parse(&params(&[("f.role.op", "empty")])).unwrap();
        assert!(f[0].accepts("") && !f[0].accepts("Sales"));
        let (f, _) = parse(&params(&[("f.role.op", "is-not"), ("f.role.value", "a")])).unwrap();
        assert!(f[0].accepts("b") && !f[0].accepts("A"));
        let (f, _) = parse(&params(&[("f.role.op", "ends"), ("f.role.value", "es")])).unwrap();
        assert!(f[0].accepts("Sales") && !f[0].accepts("Sale"));
    }

    #[test]
    fn empty_values_do_not_filter_and_bad_operators_are_named() {
        let (f, form) = parse(&params(&[("f.role.op", "is"), ("f.role.value", " ")])).unwrap();
        assert!(f.is_empty());
        assert_eq!(query_string(&form), "");
        let e = parse(&params(&[("f.role.op", "like")])).unwrap_err();
        assert!(e.contains("like"), "{e}");
    }
}
