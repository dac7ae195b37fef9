//! Prints a filter back to RFC 7644 §3.4.2.2 syntax. The output parses to the same AST:
//! parentheses are added exactly where precedence (`and` over `or`) or right-nesting would
//! otherwise change the tree.

use std::fmt;

use super::ast::{CompValue, Filter};

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Number(n) => write!(f, "{n}"),
            CompValue::String(s) => {
                // serde_json writes a valid JSON string literal with the escapes the grammar's
                // `string` production (RFC 7159) accepts.
                let quoted = serde_json::to_string(s).map_err(|_| fmt::Error)?;
                f.write_str(&quoted)
            }
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::Compare { path, op, value } => write!(f, "{path} {} {value}", op.as_str()),
            Filter::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::Or(left, right) => {
                write!(f, "{left} or ")?;
                write_grouped(f, right, matches!(**right, Filter::Or(..)))
            }
            Filter::And(left, right) => {
                write_grouped(f, left, matches!(**left, Filter::Or(..)))?;
                f.write_str(" and ")?;
                write_grouped(
                    f,
                    right,
                    matches!(**right, Filter::Or(..) | Filter::And(..)),
                )
            }
        }
    }
}

fn write_grouped(f: &mut fmt::Formatter<'_>, filter: &Filter, parens: bool) -> fmt::Result {
    if parens {
        write!(f, "({filter})")
    } else {
        write!(f, "{filter}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::CompareOp;
    use crate::path::AttrPath;

    fn eq(name: &str, v: &str) -> Filter {
        Filter::eq_str(AttrPath::new(name), v)
    }

    #[test]
    fn precedence_is_kept_with_parentheses() {
        let f = eq("a", "1").or(eq("b", "2")).and(eq("c", "3"));
        assert_eq!(f.to_string(), r#"(a eq "1" or b eq "2") and c eq "3""#);
        let g = eq("a", "1").or(eq("b", "2").and(eq("c", "3")));
        assert_eq!(g.to_string(), r#"a eq "1" or b eq "2" and c eq "3""#);
        let h = eq("a", "1").and(eq("b", "2").and(eq("c", "3")));
        assert_eq!(h.to_string(), r#"a eq "1" and (b eq "2" and c eq "3")"#);
    }

    #[test]
    fn strings_are_json_escaped() {
        let f = Filter::compare(
            AttrPath::with_sub("name", "familyName"),
            CompareOp::Co,
            CompValue::String("O\"Malley\\\n".into()),
        );
        assert_eq!(f.to_string(), r#"name.familyName co "O\"Malley\\\n""#);
    }

    #[test]
    fn value_path_and_not() {
        let f = Filter::value_path(AttrPath::new("emails"), eq("type", "work")).not();
        assert_eq!(f.to_string(), r#"not (emails[type eq "work"])"#);
    }
}
