//! Filters (RFC 7644 §3.4.2.2): the typed AST, a `nom` parser with positioned errors, a
//! printer whose output parses back to the same AST, and schema-aware evaluation.

mod ast;
mod display;
mod eval;
mod parser;

pub use ast::{CompValue, CompareOp, Filter};
pub use eval::{CompiledFilter, CompiledValueFilter};
pub use parser::{MAX_FILTER_ATTR_EXPRESSIONS, MAX_FILTER_DEPTH, MAX_FILTER_LEN};
