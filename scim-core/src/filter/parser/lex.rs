//! The lexical rules of RFC 7644 §3.4.2.2 Figure 1: whitespace, keywords, comparison operators,
//! `attrPath`, and `compValue` (`false / null / true / number / string`, "rules from JSON
//! (RFC 7159)"), written with `nom` 8 parsers over `&str`.
//!
//! Every parser returns the remaining input, so a failure carries the exact place where it
//! happened ([`PError::at`]); the caller turns that into a 0-based character position.

use nom::branch::alt;
use nom::bytes::complete::tag;
use nom::character::complete::{char, digit0, digit1, one_of, satisfy};
use nom::combinator::opt;
use nom::error::{ErrorKind, ParseError};
use nom::{Err, IResult, Parser};

use crate::filter::{CompValue, CompareOp};
use crate::path::AttrPath;

/// The result of every parser in this module and its parent.
pub(super) type PResult<'a, O> = IResult<&'a str, O, PError<'a>>;

/// What went wrong at [`PError::at`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Problem {
    /// Rendered as `expected {0} at position N, found "..."`.
    Expected(&'static str),
    /// Rendered as `{0} at position N`.
    Message(&'static str),
    /// A `nom` primitive failed and nothing more specific was said.
    Nom(ErrorKind),
}

/// A parse error: the remaining input where it happened (always a suffix of the whole input)
/// and what was wrong there. It holds no allocation, so failed alternatives cost nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PError<'a> {
    /// The input from the failing position to the end.
    pub(super) at: &'a str,
    /// What went wrong.
    pub(super) problem: Problem,
}

impl<'a> ParseError<&'a str> for PError<'a> {
    fn from_error_kind(input: &'a str, kind: ErrorKind) -> Self {
        PError {
            at: input,
            problem: Problem::Nom(kind),
        }
    }

    fn append(_input: &'a str, _kind: ErrorKind, other: Self) -> Self {
        other
    }

    /// Of two failed alternatives, report the one that got further.
    fn or(self, other: Self) -> Self {
        if other.at.len() <= self.at.len() {
            other
        } else {
            self
        }
    }
}

/// A committed failure: `expected {what} at position N, found ...`.
pub(super) fn fail<'a, O>(at: &'a str, what: &'static str) -> PResult<'a, O> {
    Err(Err::Failure(PError {
        at,
        problem: Problem::Expected(what),
    }))
}

/// A committed failure: `{message} at position N`.
pub(super) fn fail_msg<'a, O>(at: &'a str, message: &'static str) -> PResult<'a, O> {
    Err(Err::Failure(PError {
        at,
        problem: Problem::Message(message),
    }))
}

/// Skips optional whitespace. RFC 7644 separates tokens with one `SP`; we also accept several
/// spaces, tabs and line breaks (filters arrive URL-decoded and sometimes wrapped).
pub(super) fn ws0(i: &str) -> &str {
    i.trim_start_matches([' ', '\t', '\r', '\n'])
}

/// Characters that continue a word: after a keyword, an operator or a number one of these
/// means the token is longer than the keyword (`prefix`, `andy`, `1abc`).
pub(super) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '$')
}

fn at_word_boundary(rest: &str) -> bool {
    !rest.chars().next().is_some_and(is_word_char)
}

/// A case-insensitive keyword (`and`, `or`, `not`, `true`, ...) that is not the start of a
/// longer word. Returns the input after it.
///
/// Keywords are ASCII, so this compares bytes ASCII-case-insensitively (nom's `tag_no_case`
/// lower-cases full Unicode, which costs more than the rest of a simple filter).
pub(super) fn keyword<'a>(kw: &'static str, i: &'a str) -> Option<&'a str> {
    let head = i.as_bytes().get(..kw.len())?;
    if !head.eq_ignore_ascii_case(kw.as_bytes()) {
        return None;
    }
    // `head` matched ASCII bytes, so `kw.len()` is a character boundary.
    let rest = i.get(kw.len()..)?;
    at_word_boundary(rest).then_some(rest)
}

/// `"pr"` or a `compareOp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Operator {
    /// `pr`.
    Present,
    /// `eq`, `ne`, `co`, `sw`, `ew`, `gt`, `lt`, `ge`, `le`.
    Compare(CompareOp),
}

/// `compareOp = "eq" / "ne" / "co" / "sw" / "ew" / "gt" / "lt" / "ge" / "le"` or `"pr"`,
/// case-insensitive (RFC 7644 §3.4.2.2: "Attribute names and attribute operators used in
/// filters are case insensitive").
pub(super) fn operator(i: &str) -> Option<(&str, Operator)> {
    let b = i.as_bytes();
    if b.len() < 2 {
        return None;
    }
    let op = match [b[0].to_ascii_lowercase(), b[1].to_ascii_lowercase()] {
        [b'e', b'q'] => Operator::Compare(CompareOp::Eq),
        [b'n', b'e'] => Operator::Compare(CompareOp::Ne),
        [b'c', b'o'] => Operator::Compare(CompareOp::Co),
        [b's', b'w'] => Operator::Compare(CompareOp::Sw),
        [b'e', b'w'] => Operator::Compare(CompareOp::Ew),
        [b'g', b't'] => Operator::Compare(CompareOp::Gt),
        [b'l', b't'] => Operator::Compare(CompareOp::Lt),
        [b'g', b'e'] => Operator::Compare(CompareOp::Ge),
        [b'l', b'e'] => Operator::Compare(CompareOp::Le),
        [b'p', b'r'] => Operator::Present,
        _ => return None,
    };
    // Both bytes are ASCII letters, so index 2 is a character boundary.
    let rest = i.get(2..)?;
    at_word_boundary(rest).then_some((rest, op))
}

// ---------------------------------------------------------------------------------------------
// attrPath = [URI ":"] ATTRNAME *1subAttr
// ---------------------------------------------------------------------------------------------

/// Bytes of the token that holds an `attrPath`: the URI characters of RFC 3986 except the
/// delimiters the filter grammar itself uses (`[`, `]`, `(`, `)`, `"`), plus every non-ASCII
/// byte, so that a misspelt name (`nämé`) is reported as a bad character in the name rather
/// than as a missing operator. A token ends at an ASCII byte, hence at a character boundary.
static PATH_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || c >= 0x80
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b':'
                    | b'/'
                    | b'?'
                    | b'#'
                    | b'@'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b'%'
            );
        b += 1;
    }
    table
};

/// The path token at the start of `i`: its byte length and the index of its last `:`.
fn path_token(i: &str) -> (usize, Option<usize>) {
    let mut last_colon = None;
    for (k, &b) in i.as_bytes().iter().enumerate() {
        if !PATH_BYTES[usize::from(b)] {
            return (k, last_colon);
        }
        if b == b':' {
            last_colon = Some(k);
        }
    }
    (i.len(), last_colon)
}

/// `nameChar = "-" / "_" / DIGIT / ALPHA`.
fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Checks `ATTRNAME = ALPHA *(nameChar)`, also accepting `$ref` (RFC 7643 §2.3.7: "a reference
/// is commonly represented as a "$ref" sub-attribute", e.g. Group `members`, so clients send
/// `members[$ref eq "..."]`). `whole` is the input at the start
/// of the path token and `offset` the byte offset of `name` in it (for the error position).
fn check_name<'a>(whole: &'a str, offset: usize, name: &str) -> PResult<'a, ()> {
    let at = |k: usize| whole.get(offset + k..).unwrap_or("");
    let bytes = name.as_bytes();
    match bytes.first() {
        None => return fail(at(0), "an attribute name"),
        Some(b) if b.is_ascii_alphabetic() => {}
        Some(b'$') if name.eq_ignore_ascii_case("$ref") => return Ok((whole, ())),
        Some(_) => return fail(at(0), "an attribute name starting with a letter"),
    }
    match bytes.iter().position(|&b| !is_name_char(b)) {
        None => Ok((whole, ())),
        Some(k) if bytes[k] == b'.' => fail_msg(
            at(k),
            "an attribute path has at most one sub-attribute: unexpected \".\"",
        ),
        Some(k) => fail(
            at(k),
            "a letter, digit, \"-\" or \"_\" in the attribute name",
        ),
    }
}

/// Checks the `URI` before the last `:`: an RFC 3986 `scheme ":" ...`, e.g.
/// `urn:ietf:params:scim:schemas:core:2.0:User`.
fn check_uri<'a>(whole: &'a str, uri: &str) -> PResult<'a, ()> {
    let scheme_len = uri.find(':').unwrap_or(0);
    let scheme = uri.get(..scheme_len).unwrap_or("");
    let valid_scheme = scheme
        .as_bytes()
        .first()
        .is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if valid_scheme && uri.len() > scheme_len + 1 {
        Ok((whole, ()))
    } else {
        fail(
            whole,
            "an attribute name, or a schema URI such as \"urn:ietf:params:scim:schemas:core:2.0:User\" before \":\"",
        )
    }
}

/// `attrPath = [URI ":"] ATTRNAME *1subAttr`.
///
/// The URI is everything up to the LAST `:` of the token: the URN of an extension contains
/// dots (`...:enterprise:2.0:User:manager.value`), so it is never split on dots; only the part
/// after the last `:` is split into the name and one optional sub-attribute.
pub(super) fn attr_path(i: &str) -> PResult<'_, AttrPath> {
    let (len, last_colon) = path_token(i);
    let Some(token) = i.get(..len).filter(|t| !t.is_empty()) else {
        return Err(Err::Error(PError {
            at: i,
            problem: Problem::Expected("an attribute name"),
        }));
    };
    let (uri, name_offset) = match last_colon {
        Some(c) => (Some(&token[..c]), c + 1),
        None => (None, 0),
    };
    if let Some(uri) = uri {
        check_uri(i, uri)?;
    }
    let rest = &token[name_offset..];
    let (name, sub) = match rest.bytes().position(|b| b == b'.') {
        Some(d) => (&rest[..d], Some((name_offset + d + 1, &rest[d + 1..]))),
        None => (rest, None),
    };
    check_name(i, name_offset, name)?;
    if let Some((offset, sub)) = sub {
        check_name(i, offset, sub)?;
    }
    let path = AttrPath {
        uri: uri.map(str::to_owned),
        name: name.to_owned(),
        sub_attr: sub.map(|(_, s)| s.to_owned()),
    };
    Ok((&i[len..], path))
}

/// `"." ATTRNAME` after the `]` of a PATCH value path (`emails[type eq "work"].value`).
pub(super) fn sub_attr(i: &str) -> PResult<'_, String> {
    let after_dot = &i[1..];
    let (len, _) = path_token(after_dot);
    let name = &after_dot[..len];
    check_name(after_dot, 0, name)?;
    Ok((&after_dot[len..], name.to_owned()))
}

// ---------------------------------------------------------------------------------------------
// compValue = false / null / true / number / string   ; rules from JSON (RFC 7159)
// ---------------------------------------------------------------------------------------------

/// What a value position expects.
pub(super) const EXPECTED_VALUE: &str =
    "a comparison value (a JSON string, number, true, false or null)";

/// `compValue`. A quoted string, `true` / `false` / `null` (case-insensitive), a JSON number,
/// and, for old Entra ID payloads only, an unquoted word (see [`lenient_bare_value`]).
pub(super) fn comp_value(i: &str) -> PResult<'_, CompValue> {
    if i.starts_with('"') {
        let (rest, s) = json_string(i)?;
        return Ok((rest, CompValue::String(s)));
    }
    if let Some(rest) = keyword("true", i) {
        return Ok((rest, CompValue::Bool(true)));
    }
    if let Some(rest) = keyword("false", i) {
        return Ok((rest, CompValue::Bool(false)));
    }
    if let Some(rest) = keyword("null", i) {
        return Ok((rest, CompValue::Null));
    }
    if let Some(result) = json_number(i) {
        let (rest, n) = result?;
        return Ok((rest, CompValue::Number(n)));
    }
    match lenient_bare_value(i) {
        Some((rest, word)) => Ok((rest, CompValue::String(word.to_owned()))),
        None => fail(i, EXPECTED_VALUE),
    }
}

/// **Client compatibility (Microsoft Entra ID), not RFC 7644.** Old Entra payloads send
/// unquoted values: `userName eq bjensen`, `externalId eq 7bd1c1b5-...`. RFC 7644 §3.4.2.2
/// says "String literals MUST be valid JSON strings", so this is deliberately lenient: a run of
/// characters with no whitespace, no `"`, and no `(`, `)`, `[`, `]` becomes a string value. It is
/// only tried after `true`, `false`, `null` and a JSON number did not match, so `eq 42` is still
/// a number and `eq true` a boolean. The printer always quotes strings, so a filter read this way
/// prints back in the strict form.
fn lenient_bare_value(i: &str) -> Option<(&str, &str)> {
    // The stop bytes are ASCII, so the word ends at a character boundary.
    let len = i
        .bytes()
        .position(|b| b.is_ascii_whitespace() || matches!(b, b'"' | b'(' | b')' | b'[' | b']'))
        .unwrap_or(i.len());
    (len > 0).then(|| (&i[len..], &i[..len]))
}

/// A JSON number (RFC 7159 §6: `[ minus ] int [ frac ] [ exp ]`) that ends at a word boundary,
/// as a `serde_json::Number`: integers that fit are `i64` / `u64`, anything else `f64` (as
/// `serde_json` itself reads numbers). `None` when the text is not a number (the caller then
/// tries the lenient bare word); `Some(Err)` when it is a number too large for an `f64`.
fn json_number(i: &str) -> Option<PResult<'_, serde_json::Number>> {
    let int = alt((
        tag("0"),
        (satisfy(|c: char| matches!(c, '1'..='9')), digit0).map(|_| ""),
    ));
    let frac = (char('.'), digit1);
    let exp = (one_of("eE"), opt(one_of("+-")), digit1);
    let mut number = (opt(char('-')), int, opt(frac), opt(exp));
    // The text is taken from the lengths (not with `recognize`, whose offset arithmetic
    // misreports a match that ends at the end of the input in nom 8.0.0).
    let parsed: PResult<'_, _> = number.parse_complete(i);
    let (rest, _) = parsed.ok()?;
    let text = &i[..i.len() - rest.len()];
    if !at_word_boundary(rest) {
        return None;
    }
    let integral = !text.contains(['.', 'e', 'E']);
    if integral {
        if let Ok(n) = text.parse::<i64>() {
            return Some(Ok((rest, n.into())));
        }
        if let Ok(n) = text.parse::<u64>() {
            return Some(Ok((rest, n.into())));
        }
    }
    match text
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
    {
        Some(n) => Some(Ok((rest, n))),
        None => Some(fail_msg(i, "number out of range")),
    }
}

/// A JSON string (RFC 7159 §7) starting at the `"` of `i`, with every escape decoded: `\"`
/// `\\` `\/` `\b` `\f` `\n` `\r` `\t` and `\uXXXX`, including UTF-16 surrogate pairs. Control
/// characters must be escaped, as RFC 7159 requires.
pub(super) fn json_string(i: &str) -> PResult<'_, String> {
    let body = &i[1..];
    let bytes = body.as_bytes();
    // Fast path: no escape before the closing quote, one allocation.
    let mut k = 0;
    while let Some(&b) = bytes.get(k) {
        match b {
            b'"' => return Ok((&body[k + 1..], body[..k].to_owned())),
            b'\\' => break,
            b if b < 0x20 => {
                return fail_msg(
                    &body[k..],
                    "control character in a string (RFC 7159 requires it to be escaped)",
                );
            }
            _ => k += 1,
        }
    }
    if k == bytes.len() {
        return fail_msg(i, "unterminated string");
    }
    let mut out = String::with_capacity(body.len());
    out.push_str(&body[..k]);
    let mut rest = &body[k..];
    loop {
        let Some(special) = rest.find(|c: char| c == '"' || c == '\\' || c < '\u{20}') else {
            return fail_msg(i, "unterminated string");
        };
        out.push_str(&rest[..special]);
        rest = &rest[special..];
        match rest.as_bytes()[0] {
            b'"' => return Ok((&rest[1..], out)),
            b'\\' => {
                let (after, c) = escape(rest)?;
                out.push(c);
                rest = after;
            }
            _ => {
                return fail_msg(
                    rest,
                    "control character in a string (RFC 7159 requires it to be escaped)",
                );
            }
        }
    }
}

/// One escape sequence starting at the `\` of `i`.
fn escape(i: &str) -> PResult<'_, char> {
    let simple = match i.as_bytes().get(1) {
        Some(b'"') => '"',
        Some(b'\\') => '\\',
        Some(b'/') => '/',
        Some(b'b') => '\u{8}',
        Some(b'f') => '\u{c}',
        Some(b'n') => '\n',
        Some(b'r') => '\r',
        Some(b't') => '\t',
        Some(b'u') => return unicode_escape(i),
        _ => {
            return fail(
                i,
                "an escape sequence (\\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX)",
            );
        }
    };
    Ok((&i[2..], simple))
}

/// `\uXXXX`, or a surrogate pair `\uD83D\uDE00`, starting at the `\` of `i`.
fn unicode_escape(i: &str) -> PResult<'_, char> {
    const EXPECTED_HEX: &str = "four hexadecimal digits after \\u";
    let hex4 = |s: &str| -> Option<u32> {
        let h = s.get(..4)?;
        if h.bytes().all(|b| b.is_ascii_hexdigit()) {
            u32::from_str_radix(h, 16).ok()
        } else {
            None
        }
    };
    let Some(first) = hex4(&i[2..]) else {
        return fail(i, EXPECTED_HEX);
    };
    let after = &i[6..];
    match first {
        0xD800..=0xDBFF => {
            let low = after
                .strip_prefix("\\u")
                .and_then(hex4)
                .filter(|low| (0xDC00..=0xDFFF).contains(low));
            let Some(low) = low else {
                return fail(
                    after,
                    "a \\uDC00-\\uDFFF low surrogate after a high surrogate",
                );
            };
            let code = 0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00);
            match char::from_u32(code) {
                Some(c) => Ok((&after[6..], c)),
                None => fail_msg(i, "invalid unicode escape"),
            }
        }
        0xDC00..=0xDFFF => fail_msg(i, "unpaired low surrogate in a \\u escape"),
        _ => match char::from_u32(first) {
            Some(c) => Ok((after, c)),
            None => fail_msg(i, "invalid unicode escape"),
        },
    }
}
