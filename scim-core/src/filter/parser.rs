//! The `nom` parser for filters (RFC 7644 §3.4.2.2, Figure 1) and PATCH paths (RFC 7644
//! §3.5.2, Figure 7).
//!
//! ```text
//! FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
//! valuePath = attrPath "[" valFilter "]"
//! valFilter = attrExp / logExp / *1"not" "(" valFilter ")"
//! attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
//! logExp    = FILTER SP ("and" / "or") SP FILTER
//! compValue = false / null / true / number / string
//! compareOp = "eq" / "ne" / "co" / "sw" / "ew" / "gt" / "lt" / "ge" / "le"
//! attrPath  = [URI ":"] ATTRNAME *1subAttr
//! ATTRNAME  = ALPHA *(nameChar)
//! nameChar  = "-" / "_" / DIGIT / ALPHA
//! subAttr   = "." ATTRNAME
//! PATH      = attrPath / valuePath [subAttr]
//! ```
//!
//! The ABNF's `logExp` is ambiguous; RFC 7644 §3.4.2.2 fixes the order of operations:
//! "Logical operators - where "not" takes precedence over "and", which takes precedence over
//! "or"". The parser is therefore the usual precedence ladder, both operators left-associative:
//!
//! ```text
//! or_expr  = and_expr *(ws "or" ws and_expr)
//! and_expr = unary *(ws "and" ws unary)
//! unary    = "not" ws "(" or_expr ")" / "(" or_expr ")" / valuePath [entraTail] / attrExp
//! entraTail = ["." ATTRNAME] ws ("pr" / compareOp ws compValue)   ; not RFC 7644, see below
//! ```
//!
//! Deliberate choices, each tested:
//! - Keywords (`and`, `or`, `not`, `pr`, the operators, `true` / `false` / `null`) are
//!   case-insensitive (§3.4.2.2: "Attribute names and attribute operators used in filters are
//!   case insensitive"). Attribute names keep their spelling; evaluation compares them
//!   case-insensitively.
//! - Whitespace: one or more spaces, tabs or line breaks wherever the ABNF has `SP`, optional
//!   next to brackets, parentheses and quotes (`not(`, `not (`, `eq"x"`), tolerated at both
//!   ends. Erratum 7319 notes that the RFC's own example `not (emails co ...)` has a space the
//!   ABNF does not allow; both forms are accepted.
//! - `$ref` is accepted as an attribute name (RFC 7643 uses `$ref` sub-attributes).
//! - A value filter cannot contain another value path: sub-attributes are never complex
//!   (RFC 7643 §2.3.8), so `emails[x[y pr]]` is rejected, as is a value path whose attribute
//!   has a sub-attribute (`name.givenName[...]`).
//! - Limits: inputs longer than [`MAX_FILTER_LEN`] bytes, nesting (parentheses, `not (...)`,
//!   value-path brackets) deeper than [`MAX_FILTER_DEPTH`] levels, and more than
//!   [`MAX_FILTER_ATTR_EXPRESSIONS`] attribute expressions (comparisons and `pr`) are refused
//!   by the parser with 400 `invalidFilter` naming the limit. Depth is checked while
//!   descending, so hostile input (`((((...`) can exhaust neither the parser's stack nor that
//!   of anything that later walks the tree (printing, evaluating, dropping, translating to
//!   SQL); and a filter within the limits is one every storage backend can answer.
//!   RFC 7644 §3.4.2.2 sets no limit; §3.12 lists `invalidFilter` for a filter the server
//!   does not support.
//! - Old Entra ID payloads send unquoted values (`userName eq bjensen`); they are read as
//!   strings (see `lex::comp_value`).
//! - **Client compatibility, not RFC 7644:** a value path followed by a sub-attribute and a
//!   comparison, `emails[type eq "work"].value eq "x@example.com"`, which Microsoft Entra ID
//!   sends to match users by email, and a value path followed directly by a comparison,
//!   `emails[type eq "work"] eq "x@example.com"`, which Microsoft's SCIM documentation shows
//!   (meaning the `value` of a matching element). Neither is in the §3.4.2.2 grammar (there a
//!   `valuePath` is a whole filter; `valuePath subAttr` exists only in PATCH paths, §3.5.2).
//!   The parser normalises both into the RFC form with the same meaning,
//!   `emails[type eq "work" and value eq "x@example.com"]`: one element must match both, so
//!   evaluators and storage backends see only RFC 7644 ASTs, and the printer writes that RFC
//!   form.

mod lex;

use std::cell::Cell;
use std::str::FromStr;

use nom::Err;

use self::lex::{Operator, PError, PResult, Problem, fail, fail_msg, ws0};
use super::ast::Filter;
use crate::error::{ScimError, ScimResult};
use crate::path::{AttrPath, PatchPath};

/// The longest filter or path accepted by [`Filter::parse`], [`AttrPath::parse`] and
/// [`PatchPath::parse`], in bytes (64 KiB).
pub const MAX_FILTER_LEN: usize = 64 * 1024;

/// The deepest nesting of parentheses, `not (...)` and value-path brackets that
/// [`Filter::parse`] and [`PatchPath::parse`] accept: `(((a pr)))` is 3 levels,
/// `not (emails[type eq "work"])` is 2. Deeper input is 400 `invalidFilter`, refused as soon
/// as the parser reaches the level past this one.
pub const MAX_FILTER_DEPTH: usize = 20;

/// The most attribute expressions (`attrPath compareOp compValue` and `attrPath pr`,
/// including those inside value-path brackets) one filter may hold: `a pr or b pr` has 2,
/// `emails[type eq "work" and value co "@x"]` has 2. More is 400 `invalidFilter`, refused at
/// the first expression past this one.
///
/// This bounds the work a filter can ask of a storage backend (each expression is a lookup
/// or a join in the SQL backends) and the size of the tree: with at most this many
/// expressions there are fewer `and` / `or` operators, so nothing that walks the tree
/// recursion-deep can exhaust a stack.
pub const MAX_FILTER_ATTR_EXPRESSIONS: usize = 100;

const TOO_DEEP: &str = "filter nesting (parentheses, \"not\" and value-path brackets) is deeper than the maximum of 20 levels";
const TOO_MANY_EXPRESSIONS: &str =
    "filter has more than the maximum of 100 attribute expressions (comparisons and \"pr\")";

/// Counts shared by every level of one parse.
#[derive(Debug, Default)]
struct Counters {
    /// Attribute expressions read so far in the whole input.
    expressions: Cell<usize>,
    /// The deepest level reached (reset around a value path's brackets to measure them).
    deepest: Cell<usize>,
}

/// Parser state threaded through the recursive rules.
#[derive(Debug, Clone, Copy)]
struct Ctx<'c> {
    /// Levels of `(`, `not (` and `[` around the current position.
    depth: usize,
    /// Inside the brackets of a value path (where another value path is not allowed).
    in_value_filter: bool,
    counters: &'c Counters,
}

impl<'c> Ctx<'c> {
    fn top(counters: &'c Counters) -> Self {
        Ctx {
            depth: 0,
            in_value_filter: false,
            counters,
        }
    }

    /// Counts one more attribute expression starting at `at`, or fails when there are too
    /// many.
    fn count_expression<'a>(self, at: &'a str) -> Result<(), Err<PError<'a>>> {
        let n = self.counters.expressions.get() + 1;
        if n > MAX_FILTER_ATTR_EXPRESSIONS {
            return Err(too_many_expressions(at));
        }
        self.counters.expressions.set(n);
        Ok(())
    }

    /// One level deeper, or the depth error at `at`.
    fn deeper<'a>(self, at: &'a str) -> Result<Ctx<'c>, Err<PError<'a>>> {
        if self.depth >= MAX_FILTER_DEPTH {
            return Err(too_deep(at));
        }
        let depth = self.depth + 1;
        let deepest = &self.counters.deepest;
        deepest.set(deepest.get().max(depth));
        Ok(Ctx { depth, ..self })
    }
}

fn too_deep(at: &str) -> Err<PError<'_>> {
    Err::Failure(PError {
        at,
        problem: Problem::Message(TOO_DEEP),
    })
}

fn too_many_expressions(at: &str) -> Err<PError<'_>> {
    Err::Failure(PError {
        at,
        problem: Problem::Message(TOO_MANY_EXPRESSIONS),
    })
}

/// `or_expr = and_expr *(ws "or" ws and_expr)`, left-associative.
fn or_expr<'a>(i: &'a str, ctx: Ctx<'_>) -> PResult<'a, Filter> {
    let (mut i, mut acc) = and_expr(i, ctx)?;
    loop {
        let j = ws0(i);
        let Some(after) = lex::keyword("or", j) else {
            return Ok((i, acc));
        };
        let (rest, rhs) = and_expr(ws0(after), ctx)?;
        acc = Filter::Or(Box::new(acc), Box::new(rhs));
        i = rest;
    }
}

/// `and_expr = unary *(ws "and" ws unary)`, left-associative.
fn and_expr<'a>(i: &'a str, ctx: Ctx<'_>) -> PResult<'a, Filter> {
    let (mut i, mut acc) = unary(i, ctx)?;
    loop {
        let j = ws0(i);
        let Some(after) = lex::keyword("and", j) else {
            return Ok((i, acc));
        };
        let (rest, rhs) = unary(ws0(after), ctx)?;
        acc = Filter::And(Box::new(acc), Box::new(rhs));
        i = rest;
    }
}

/// `"(" or_expr ")"`, starting at the `(`.
fn group<'a>(i: &'a str, ctx: Ctx<'_>) -> PResult<'a, Filter> {
    let inner_ctx = ctx.deeper(i)?;
    let (rest, inner) = or_expr(ws0(&i[1..]), inner_ctx)?;
    let rest = ws0(rest);
    match rest.strip_prefix(')') {
        Some(rest) => Ok((rest, inner)),
        None => fail(rest, "\"and\", \"or\" or \")\""),
    }
}

/// `"not" ws "(" or_expr ")"` / `"(" or_expr ")"` / `valuePath [entraTail]` / `attrExp`.
fn unary<'a>(i: &'a str, ctx: Ctx<'_>) -> PResult<'a, Filter> {
    if let Some(after_not) = lex::keyword("not", i) {
        let j = ws0(after_not);
        if j.starts_with('(') {
            let (rest, inner) = group(j, ctx)?;
            return Ok((rest, Filter::Not(Box::new(inner))));
        }
        // An attribute may be called "not" (`not pr`); anything else after "not" wants "(".
        if !j.starts_with('[') && lex::operator(j).is_none() {
            return fail(j, "\"(\" after \"not\"");
        }
    }
    if i.starts_with('(') {
        return group(i, ctx);
    }
    let (rest, path) = match lex::attr_path(i) {
        Ok(ok) => ok,
        Err(Err::Error(_)) => return fail(i, "an attribute path, \"(\" or \"not\""),
        Err(e) => return Err(e),
    };
    if rest.starts_with('[') {
        return value_path(rest, path, ctx);
    }
    let j = ws0(rest);
    let Some((after_op, op)) = lex::operator(j) else {
        return fail(j, "a comparison operator");
    };
    ctx.count_expression(i)?;
    attr_exp(after_op, path, op)
}

/// The rest of `attrPath SP "pr"` / `attrPath SP compareOp SP compValue` after the operator.
fn attr_exp(after_op: &str, path: AttrPath, op: Operator) -> PResult<'_, Filter> {
    match op {
        Operator::Present => Ok((after_op, Filter::Present(path))),
        Operator::Compare(op) => {
            let (rest, value) = lex::comp_value(ws0(after_op))?;
            Ok((rest, Filter::Compare { path, op, value }))
        }
    }
}

/// `"[" valFilter "]"` after the attribute path of a filter's value path, starting at the `[`.
fn value_path<'a>(i: &'a str, path: AttrPath, ctx: Ctx<'_>) -> PResult<'a, Filter> {
    if ctx.in_value_filter {
        return fail_msg(
            i,
            "a value filter cannot contain another value path (sub-attributes are never complex, RFC 7643 §2.3.8)",
        );
    }
    // Measure the deepest level inside these brackets (see `entra_tail`).
    let deepest = &ctx.counters.deepest;
    let outer_deepest = deepest.replace(0);
    let (rest, filter) = bracketed_value_filter(i, &path, ctx)?;
    let inner_deepest = deepest.replace(outer_deepest.max(deepest.get()));
    // Entra's `].sub op value`, or Microsoft's `] op value` (on `value`).
    let tail = if rest.starts_with('.') {
        let (after_sub, sub) = lex::sub_attr(rest)?;
        let k = ws0(after_sub);
        match lex::operator(k) {
            Some((after_op, op)) => Some((rest, sub, after_op, op)),
            None => return fail(k, "a comparison operator or \"pr\" after the sub-attribute"),
        }
    } else {
        let j = ws0(rest);
        lex::operator(j).map(|(after_op, op)| (j, "value".to_owned(), after_op, op))
    };
    match tail {
        Some(tail) => entra_tail(i, path, filter, inner_deepest, tail, ctx),
        None => Ok((
            rest,
            Filter::ValuePath {
                path,
                filter: Box::new(filter),
            },
        )),
    }
}

/// **Client compatibility (Microsoft Entra ID), not RFC 7644** (see the module docs):
/// `emails[type eq "work"].value eq "x"` and `emails[type eq "work"] eq "x"` become
/// `emails[type eq "work" and value eq "x"]`. `bracket` is the input at the `[`; the tail
/// is the input at the `.` (or the operator), the sub-attribute, the input after the
/// operator and the operator.
fn entra_tail<'a>(
    bracket: &'a str,
    path: AttrPath,
    filter: Filter,
    inner_deepest: usize,
    (tail, sub, after_op, op): (&'a str, String, &'a str, Operator),
    ctx: Ctx<'_>,
) -> PResult<'a, Filter> {
    // The printed form wraps an `or` inside the brackets in parentheses
    // (`emails[(type eq "work" or type eq "home") and value eq "x"]`), one level deeper than
    // the input: refuse here what could not be parsed back.
    if matches!(filter, Filter::Or(..)) && inner_deepest >= MAX_FILTER_DEPTH {
        return Err(too_deep(bracket));
    }
    ctx.count_expression(tail)?;
    let (rest, leaf) = attr_exp(after_op, AttrPath::new(sub), op)?;
    Ok((
        rest,
        Filter::ValuePath {
            path,
            filter: Box::new(Filter::And(Box::new(filter), Box::new(leaf))),
        },
    ))
}

/// `"[" valFilter "]"` starting at the `[`; shared by filters and PATCH paths.
fn bracketed_value_filter<'a>(i: &'a str, path: &AttrPath, ctx: Ctx<'_>) -> PResult<'a, Filter> {
    if path.sub_attr.is_some() {
        return fail_msg(
            i,
            "a value filter must follow an attribute without a sub-attribute (sub-attributes are never multi-valued complex attributes)",
        );
    }
    let inner_ctx = Ctx {
        in_value_filter: true,
        ..ctx.deeper(i)?
    };
    let (rest, filter) = or_expr(ws0(&i[1..]), inner_ctx)?;
    let rest = ws0(rest);
    match rest.strip_prefix(']') {
        Some(rest) => Ok((rest, filter)),
        None => fail(rest, "\"and\", \"or\" or \"]\""),
    }
}

// ---------------------------------------------------------------------------------------------
// Entry points and error rendering
// ---------------------------------------------------------------------------------------------

/// The 0-based character position of `at` (a suffix of `input`) in `input`.
fn char_position(input: &str, at: &str) -> usize {
    let byte = (at.as_ptr() as usize)
        .saturating_sub(input.as_ptr() as usize)
        .min(input.len());
    match input.get(..byte) {
        Some(before) => before.chars().count(),
        None => input.chars().count(),
    }
}

/// `"token"` at `at`, or `end of input`.
fn found(at: &str) -> String {
    const MAX_CHARS: usize = 24;
    let mut chars = at.chars();
    let Some(first) = chars.next() else {
        return "end of input".to_owned();
    };
    let is_delim = |c: char| c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"');
    let token: String = if is_delim(first) {
        first.to_string()
    } else {
        at.chars()
            .take_while(|&c| !is_delim(c))
            .take(MAX_CHARS)
            .collect()
    };
    let truncated = !is_delim(first)
        && at
            .chars()
            .take_while(|&c| !is_delim(c))
            .nth(MAX_CHARS)
            .is_some();
    if truncated {
        format!("{:?}...", token)
    } else {
        format!("{token:?}")
    }
}

/// Renders a parse failure as a detail naming the position and what was expected and found.
fn describe(input: &str, error: Err<PError<'_>>) -> String {
    let e = match error {
        Err::Error(e) | Err::Failure(e) => e,
        Err::Incomplete(_) => return "incomplete input".to_owned(),
    };
    let pos = char_position(input, e.at);
    match e.problem {
        Problem::Expected(what) => {
            format!("expected {what} at position {pos}, found {}", found(e.at))
        }
        Problem::Message(message) => format!("{message} at position {pos}"),
        Problem::Nom(kind) => format!(
            "unexpected {} at position {pos} ({})",
            found(e.at),
            kind.description()
        ),
    }
}

fn check_len(input: &str, what: &str) -> Result<(), String> {
    if input.len() > MAX_FILTER_LEN {
        Err(format!(
            "{what} is {} bytes long; the maximum is {MAX_FILTER_LEN}",
            input.len()
        ))
    } else {
        Ok(())
    }
}

/// The whole filter, with surrounding whitespace.
fn parse_filter(input: &str) -> Result<Filter, String> {
    check_len(input, "the filter")?;
    let run = |input| -> PResult<'_, Filter> {
        let i = ws0(input);
        if i.is_empty() {
            return fail(i, "a filter");
        }
        let counters = Counters::default();
        let (rest, filter) = or_expr(i, Ctx::top(&counters))?;
        let rest = ws0(rest);
        if rest.is_empty() {
            Ok((rest, filter))
        } else {
            fail(rest, "\"and\", \"or\" or end of filter")
        }
    };
    run(input).map(|(_, f)| f).map_err(|e| describe(input, e))
}

/// A whole attribute path, with surrounding whitespace.
fn parse_attr_path(input: &str) -> Result<AttrPath, String> {
    check_len(input, "the path")?;
    let run = |input| -> PResult<'_, AttrPath> {
        let i = ws0(input);
        let (rest, path) = match lex::attr_path(i) {
            Ok(ok) => ok,
            Err(Err::Error(_)) => return fail(i, "an attribute path"),
            Err(e) => return Err(e),
        };
        let rest = ws0(rest);
        if rest.is_empty() {
            Ok((rest, path))
        } else {
            fail(rest, "end of attribute path")
        }
    };
    run(input).map(|(_, p)| p).map_err(|e| describe(input, e))
}

/// A whole PATCH path (`PATH = attrPath / valuePath [subAttr]`), with surrounding whitespace.
fn parse_patch_path(input: &str) -> Result<PatchPath, String> {
    check_len(input, "the path")?;
    let run = |input| -> PResult<'_, PatchPath> {
        let i = ws0(input);
        let (rest, attr) = match lex::attr_path(i) {
            Ok(ok) => ok,
            Err(Err::Error(_)) => return fail(i, "an attribute path"),
            Err(e) => return Err(e),
        };
        let (rest, filter) = if rest.starts_with('[') {
            let counters = Counters::default();
            let (rest, filter) = bracketed_value_filter(rest, &attr, Ctx::top(&counters))?;
            (rest, Some(filter))
        } else {
            (rest, None)
        };
        let (rest, sub_attr) = if filter.is_some() && rest.starts_with('.') {
            let (rest, sub) = lex::sub_attr(rest)?;
            (rest, Some(sub))
        } else {
            (rest, None)
        };
        let rest = ws0(rest);
        if !rest.is_empty() {
            return match (&filter, &sub_attr) {
                (Some(_), None) => fail(rest, "\".\" and a sub-attribute, or end of path"),
                (None, _) => fail(rest, "\"[\" or end of path"),
                (Some(_), Some(_)) => fail(rest, "end of path"),
            };
        }
        Ok((
            rest,
            PatchPath {
                attr,
                filter,
                sub_attr,
            },
        ))
    };
    run(input).map(|(_, p)| p).map_err(|e| describe(input, e))
}

impl Filter {
    /// Parses a filter (RFC 7644 §3.4.2.2, Figure 1).
    ///
    /// `and` binds tighter than `or`, both are left-associative, and keywords and operators
    /// are case-insensitive. Errors are 400 `invalidFilter` with a detail naming the 0-based
    /// character position, what was expected and what was found.
    ///
    /// ```
    /// use scim_core::{AttrPath, CompValue, CompareOp, Filter};
    ///
    /// let f = Filter::parse(r#"title pr and userType eq "Employee""#).unwrap();
    /// assert_eq!(
    ///     f,
    ///     Filter::present(AttrPath::new("title"))
    ///         .and(Filter::eq_str(AttrPath::new("userType"), "Employee"))
    /// );
    ///
    /// let err = Filter::parse(r#"userName xx "bjensen""#).unwrap_err();
    /// assert!(err.is_invalid_filter());
    /// assert_eq!(err.detail(), r#"expected a comparison operator at position 9, found "xx""#);
    /// ```
    pub fn parse(input: &str) -> ScimResult<Filter> {
        parse_filter(input).map_err(ScimError::invalid_filter)
    }
}

impl FromStr for Filter {
    type Err = ScimError;

    /// Same as [`Filter::parse`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Filter::parse(s)
    }
}

impl AttrPath {
    /// Parses an attribute path (`attrPath = [URI ":"] ATTRNAME *1subAttr`). The URI is
    /// everything before the last `:`, so the dots of `...:enterprise:2.0:User` stay in it.
    /// Errors are 400 `invalidPath`.
    ///
    /// ```
    /// use scim_core::AttrPath;
    ///
    /// let p = AttrPath::parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value")
    ///     .unwrap();
    /// assert_eq!(p.uri.as_deref(), Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"));
    /// assert_eq!(p.name, "manager");
    /// assert_eq!(p.sub_attr.as_deref(), Some("value"));
    /// ```
    pub fn parse(input: &str) -> ScimResult<AttrPath> {
        parse_attr_path(input).map_err(ScimError::invalid_path)
    }
}

impl FromStr for AttrPath {
    type Err = ScimError;

    /// Same as [`AttrPath::parse`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AttrPath::parse(s)
    }
}

impl PatchPath {
    /// Parses a PATCH operation path (RFC 7644 §3.5.2, Figure 7:
    /// `PATH = attrPath / valuePath [subAttr]`). Errors, including an invalid filter inside
    /// the brackets, are 400 `invalidPath` ("If the path ... is invalid").
    ///
    /// ```
    /// use scim_core::{AttrPath, Filter, PatchPath};
    ///
    /// let p = PatchPath::parse(r#"addresses[type eq "work"].streetAddress"#).unwrap();
    /// assert_eq!(p.attr, AttrPath::new("addresses"));
    /// assert_eq!(p.filter, Some(Filter::eq_str(AttrPath::new("type"), "work")));
    /// assert_eq!(p.sub_attr.as_deref(), Some("streetAddress"));
    /// ```
    pub fn parse(input: &str) -> ScimResult<PatchPath> {
        parse_patch_path(input).map_err(ScimError::invalid_path)
    }
}

impl FromStr for PatchPath {
    type Err = ScimError;

    /// Same as [`PatchPath::parse`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PatchPath::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{CompValue, CompareOp};

    fn detail(input: &str) -> String {
        Filter::parse(input).unwrap_err().detail().to_owned()
    }

    #[test]
    fn simple_comparison() {
        let f = Filter::parse(r#"userName eq "bjensen""#).unwrap();
        assert_eq!(f, Filter::eq_str(AttrPath::new("userName"), "bjensen"));
    }

    #[test]
    fn error_names_position_expected_and_found() {
        assert_eq!(
            detail(r#"userName xx "bjensen""#),
            r#"expected a comparison operator at position 9, found "xx""#
        );
        assert_eq!(
            detail(r#"userName eq"#),
            "expected a comparison value (a JSON string, number, true, false or null) at position 11, found end of input"
        );
        assert_eq!(
            detail(r#"userName eq "bjensen" xx"#),
            r#"expected "and", "or" or end of filter at position 22, found "xx""#
        );
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        assert_eq!(
            detail(r#"displayName eq "Zoë" xx"#),
            r#"expected "and", "or" or end of filter at position 21, found "xx""#
        );
    }

    #[test]
    fn depth_limit_is_enforced_exactly() {
        let ok = format!(
            "{}a pr{}",
            "(".repeat(MAX_FILTER_DEPTH),
            ")".repeat(MAX_FILTER_DEPTH)
        );
        assert_eq!(
            Filter::parse(&ok).unwrap(),
            Filter::present(AttrPath::new("a"))
        );
        let deep = format!(
            "{}a pr{}",
            "(".repeat(MAX_FILTER_DEPTH + 1),
            ")".repeat(MAX_FILTER_DEPTH + 1)
        );
        assert_eq!(
            detail(&deep),
            format!("{TOO_DEEP} at position {MAX_FILTER_DEPTH}")
        );
    }

    #[test]
    fn limit_messages_match_the_constants() {
        assert!(TOO_DEEP.contains(&MAX_FILTER_DEPTH.to_string()));
        assert!(TOO_MANY_EXPRESSIONS.contains(&MAX_FILTER_ATTR_EXPRESSIONS.to_string()));
        let long = "a".repeat(MAX_FILTER_LEN + 1);
        assert_eq!(
            detail(&long),
            format!(
                "the filter is {} bytes long; the maximum is {MAX_FILTER_LEN}",
                long.len()
            )
        );
        assert!(Filter::parse(&format!("{} pr", "a".repeat(MAX_FILTER_LEN - 3))).is_ok());
    }

    #[test]
    fn keywords_need_a_word_boundary() {
        assert_eq!(lex::keyword("and", "and b"), Some(" b"));
        assert_eq!(lex::keyword("and", "AND(b"), Some("(b"));
        assert_eq!(lex::keyword("and", "and"), Some(""));
        assert_eq!(lex::keyword("and", "andy"), None);
        assert_eq!(lex::keyword("and", "and-x"), None);
        assert_eq!(lex::keyword("and", "an"), None);
        assert_eq!(lex::keyword("not", "nöt"), None);
        assert_eq!(lex::operator("pr"), Some(("", Operator::Present)));
        assert_eq!(lex::operator("prx"), None);
        assert_eq!(lex::operator("é"), None);
    }

    #[test]
    fn char_position_counts_characters() {
        let input = "aé b";
        assert_eq!(char_position(input, &input[3..]), 2);
        assert_eq!(char_position(input, &input[5..]), 4);
        assert_eq!(char_position(input, input), 0);
    }

    #[test]
    fn numbers_keep_their_kind() {
        let value = |s: &str| match Filter::parse(&format!("a eq {s}")).unwrap() {
            Filter::Compare { value, .. } => value,
            other => panic!("{other:?}"),
        };
        assert_eq!(value("42"), CompValue::Number(42.into()));
        assert_eq!(value("-7"), CompValue::Number((-7).into()));
        assert_eq!(
            value("18446744073709551615"),
            CompValue::Number(u64::MAX.into())
        );
        assert_eq!(
            value("1.5e3"),
            CompValue::Number(serde_json::Number::from_f64(1500.0).unwrap())
        );
        assert!(
            Filter::parse("a eq 1e400")
                .unwrap_err()
                .detail()
                .contains("out of range")
        );
    }

    #[test]
    fn operators_map_to_ast() {
        for (text, op) in [
            ("eq", CompareOp::Eq),
            ("NE", CompareOp::Ne),
            ("Co", CompareOp::Co),
            ("sw", CompareOp::Sw),
            ("ew", CompareOp::Ew),
            ("gt", CompareOp::Gt),
            ("lt", CompareOp::Lt),
            ("ge", CompareOp::Ge),
            ("le", CompareOp::Le),
        ] {
            let f = Filter::parse(&format!("a {text} 1")).unwrap();
            assert_eq!(
                f,
                Filter::compare(AttrPath::new("a"), op, CompValue::Number(1.into()))
            );
        }
    }
}
