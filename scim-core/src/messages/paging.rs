//! Paging: index paging (RFC 7644 §3.4.2.4) and cursor paging (RFC 9865).
//!
//! RFC 7644 §3.4.2.4:
//!
//! > `startIndex` The 1-based index of the first query result. A value less than 1 SHALL be
//! > interpreted as 1. OPTIONAL. Default=1.
//!
//! > `count` Non-negative integer. Specifies the desired maximum number of query results per
//! > page, e.g., 10. A negative value SHALL be interpreted as "0". A value of "0" indicates
//! > that no resource results are to be returned except for "totalResults". OPTIONAL.
//! > Default=None. When specified, the service provider MUST NOT return more results than
//! > specified, although it MAY return fewer results. If unspecified, the maximum number of
//! > results is set by the service provider.
//!
//! RFC 9865 §2 adds the `cursor` parameter ("The string value of the nextCursor attribute
//! from a previous result page. The cursor value MUST be empty or omitted for the first
//! request of a cursor-paginated query. This value may only contain characters from the
//! unreserved characters set defined in section 2.3 of [RFC3986].") and the `nextCursor` /
//! `previousCursor` response attributes; §2.1 defines the `invalidCursor`, `expiredCursor`
//! and `invalidCount` error types; §2.4: "clients can use the 'startIndex' or 'cursor' query
//! parameters to request a specific method" and a provider supporting both "MUST choose a
//! default pagination method to use when responding to requests that have not specified a
//! pagination query parameter"; §4 the `pagination` object of `/ServiceProviderConfig`.
//!
//! Decisions where the RFCs are silent: a non-numeric `startIndex` or `count` is 400
//! `invalidValue`; a blank one counts as absent; numbers too large for the platform saturate;
//! `startIndex` together with `cursor` is 400 `invalidValue` (they request two different
//! methods).

use std::num::IntErrorKind;

use serde_json::Value;

use crate::error::{ScimError, ScimResult, ScimType};

/// Re-exported from [`crate::schema`], where the service provider configuration lives.
pub use crate::schema::{PaginationConfig, PaginationMethod};

/// Parses a decimal integer query parameter, saturating on overflow. Blank → `None`.
fn parse_int(param: &str, raw: Option<&str>) -> ScimResult<Option<i64>> {
    let Some(s) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    match s.parse::<i64>() {
        Ok(n) => Ok(Some(n)),
        Err(e) => match e.kind() {
            IntErrorKind::PosOverflow => Ok(Some(i64::MAX)),
            IntErrorKind::NegOverflow => Ok(Some(i64::MIN)),
            _ => Err(ScimError::invalid_value(format!(
                "{param} must be an integer, not {s:?}"
            ))),
        },
    }
}

fn clamp_start(n: i64) -> usize {
    usize::try_from(n.max(1)).unwrap_or(usize::MAX)
}

fn clamp_count(n: i64) -> usize {
    usize::try_from(n.max(0)).unwrap_or(usize::MAX)
}

/// Parses `count` (RFC 7644 §3.4.2.4 / RFC 9865 §2): negative is 0, blank is absent.
pub fn parse_count(raw: Option<&str>) -> ScimResult<Option<usize>> {
    Ok(parse_int("count", raw)?.map(clamp_count))
}

/// Index paging (RFC 7644 §3.4.2.4): a 1-based `startIndex` and an optional `count`.
///
/// ```
/// use scim_core::messages::IndexPage;
///
/// let page = IndexPage::from_params(Some("0"), Some("-3")).unwrap();
/// assert_eq!(page, IndexPage { start_index: 1, count: Some(0) });
/// let items = [1, 2, 3, 4, 5];
/// assert_eq!(IndexPage::new(2, Some(2)).apply(&items), &[2, 3]);
/// assert_eq!(IndexPage::new(9, None).apply(&items), &[] as &[i32]);
/// assert!(IndexPage::from_params(Some("one"), None).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IndexPage {
    /// The 1-based index of the first result (never less than 1).
    pub start_index: usize,
    /// The maximum number of results; `None` lets the service provider decide.
    pub count: Option<usize>,
}

impl Default for IndexPage {
    fn default() -> Self {
        IndexPage {
            start_index: 1,
            count: None,
        }
    }
}

impl IndexPage {
    /// A page; a `start_index` of 0 is taken as 1.
    pub fn new(start_index: usize, count: Option<usize>) -> Self {
        IndexPage {
            start_index: start_index.max(1),
            count,
        }
    }

    /// From the (URL-decoded) `startIndex` and `count` query parameters.
    pub fn from_params(start_index: Option<&str>, count: Option<&str>) -> ScimResult<Self> {
        Ok(IndexPage {
            start_index: parse_int("startIndex", start_index)?.map_or(1, clamp_start),
            count: parse_count(count)?,
        })
    }

    /// From JSON integers (a `SearchRequest`), with the same interpretation rules.
    pub fn from_values(start_index: Option<i64>, count: Option<i64>) -> Self {
        IndexPage {
            start_index: start_index.map_or(1, clamp_start),
            count: count.map(clamp_count),
        }
    }

    /// The 0-based offset of the first result.
    pub fn offset(&self) -> usize {
        self.start_index.saturating_sub(1)
    }

    /// Caps `count` at the server's maximum page size, filling in `default` when absent.
    pub fn limited(self, default: usize, max: usize) -> Self {
        IndexPage {
            start_index: self.start_index,
            count: Some(self.count.unwrap_or(default).min(max)),
        }
    }

    /// The page of `items` (the full, filtered and sorted result set).
    pub fn apply<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let start = self.offset().min(items.len());
        let rest = &items[start..];
        match self.count {
            Some(c) => &rest[..c.min(rest.len())],
            None => rest,
        }
    }
}

/// Is `s` made only of RFC 3986 §2.3 unreserved characters
/// (`ALPHA / DIGIT / "-" / "." / "_" / "~"`)?
pub fn is_unreserved(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Cursor paging (RFC 9865 §2): the cursor (`None` for the first page, requested with an
/// empty or omitted value) and an optional `count`.
///
/// ```
/// use scim_core::messages::CursorPage;
///
/// let first = CursorPage::from_params(Some(""), Some("10")).unwrap();
/// assert_eq!(first, CursorPage { cursor: None, count: Some(10) });
/// let next = CursorPage::from_params(Some("VZUTiyhEQJ94IR"), Some("10")).unwrap();
/// assert_eq!(next.cursor.as_deref(), Some("VZUTiyhEQJ94IR"));
/// let bad = CursorPage::from_params(Some("a b"), None).unwrap_err();
/// assert_eq!(bad.scim_type(), Some(scim_core::ScimType::InvalidCursor));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct CursorPage {
    /// The `nextCursor` / `previousCursor` value of an earlier page; `None` for the first
    /// page.
    pub cursor: Option<String>,
    /// The maximum number of results; `None` lets the service provider decide.
    pub count: Option<usize>,
}

impl CursorPage {
    /// From the (URL-decoded) `cursor` and `count` parameters. A cursor with characters
    /// outside the RFC 3986 unreserved set is 400 `invalidCursor`.
    pub fn from_params(cursor: Option<&str>, count: Option<&str>) -> ScimResult<Self> {
        Ok(CursorPage {
            cursor: check_cursor(cursor)?,
            count: parse_count(count)?,
        })
    }

    /// Checks `count` against the provider's `maxPageSize` (RFC 9865 §2.1: "Count value must
    /// be between 0 and service provider's maxPageSize"): a larger count is 400
    /// `invalidCount`.
    pub fn check_count(&self, max_page_size: usize) -> ScimResult<()> {
        match self.count {
            Some(c) if c > max_page_size => Err(ScimError::with_type(
                ScimType::InvalidCount,
                format!("count {c} is larger than the maximum page size {max_page_size}"),
            )),
            _ => Ok(()),
        }
    }
}

fn check_cursor(cursor: Option<&str>) -> ScimResult<Option<String>> {
    match cursor.map(str::trim) {
        None | Some("") => Ok(None),
        Some(c) if is_unreserved(c) => Ok(Some(c.to_owned())),
        Some(c) => Err(ScimError::with_type(
            ScimType::InvalidCursor,
            format!(
                "cursor {c:?} is not a cursor this service provider issued; send an empty cursor \
                 for the first page, then nextCursor or previousCursor"
            ),
        )),
    }
}

/// What a request asked for: index paging, cursor paging, or neither (the provider's default
/// method applies, RFC 9865 §2.4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PageRequest {
    /// `startIndex` was given.
    Index(IndexPage),
    /// `cursor` was given (possibly empty: the first page).
    Cursor(CursorPage),
    /// Neither `startIndex` nor `cursor`; only `count`, if anything.
    Unspecified {
        /// The `count` parameter.
        count: Option<usize>,
    },
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest::Unspecified { count: None }
    }
}

impl PageRequest {
    /// From the (URL-decoded) `startIndex`, `cursor` and `count` parameters; `cursor` is
    /// `Some("")` for a bare `?cursor`. Both `startIndex` and `cursor` is 400 `invalidValue`.
    ///
    /// ```
    /// use scim_core::messages::{IndexPage, PageRequest};
    ///
    /// let okta = PageRequest::from_params(Some("1"), None, Some("100")).unwrap();
    /// assert_eq!(okta, PageRequest::Index(IndexPage { start_index: 1, count: Some(100) }));
    /// assert!(PageRequest::from_params(Some("1"), Some(""), None).is_err());
    /// ```
    pub fn from_params(
        start_index: Option<&str>,
        cursor: Option<&str>,
        count: Option<&str>,
    ) -> ScimResult<Self> {
        let start_index = start_index.filter(|s| !s.trim().is_empty());
        match (start_index, cursor) {
            (Some(_), Some(_)) => Err(both_methods()),
            (Some(_), None) => Ok(PageRequest::Index(IndexPage::from_params(
                start_index,
                count,
            )?)),
            (None, Some(c)) => Ok(PageRequest::Cursor(CursorPage::from_params(
                Some(c),
                count,
            )?)),
            (None, None) => Ok(PageRequest::Unspecified {
                count: parse_count(count)?,
            }),
        }
    }

    /// The requested `count`, whatever the method.
    pub fn count(&self) -> Option<usize> {
        match self {
            PageRequest::Index(p) => p.count,
            PageRequest::Cursor(p) => p.count,
            PageRequest::Unspecified { count } => *count,
        }
    }

    /// Resolves `Unspecified` to the provider's default method (an index page starting at 1,
    /// or the first cursor page).
    pub fn resolve(self, default: PaginationMethod) -> PageRequest {
        match self {
            PageRequest::Unspecified { count } => match default {
                PaginationMethod::Index => PageRequest::Index(IndexPage {
                    start_index: 1,
                    count,
                }),
                PaginationMethod::Cursor => PageRequest::Cursor(CursorPage {
                    cursor: None,
                    count,
                }),
            },
            other => other,
        }
    }
}

pub(crate) fn both_methods() -> ScimError {
    ScimError::invalid_value(
        "startIndex and cursor request different pagination methods; send only one",
    )
}

// ---------------------------------------------------------------------------------------
// Opaque cursors
// ---------------------------------------------------------------------------------------

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64url without padding (RFC 4648 §5): the output uses only RFC 3986 unreserved
/// characters, as RFC 9865 requires of cursors.
///
/// ```
/// use scim_core::messages::{base64url_decode, base64url_encode};
/// assert_eq!(base64url_encode(b"hello?"), "aGVsbG8_");
/// assert_eq!(base64url_decode("aGVsbG8_").unwrap(), b"hello?");
/// ```
pub fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            let idx = ((n >> (18 - 6 * i)) & 0x3f) as usize;
            out.push(char::from(B64URL[idx]));
        }
    }
    out
}

/// Decodes unpadded base64url (trailing `=` padding is tolerated). `None` on any other
/// character or an impossible length.
pub fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// Which way a cursor pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CursorDirection {
    /// Results after the position (a `nextCursor`).
    Next,
    /// Results before the position (a `previousCursor`).
    Previous,
}

/// A keyset position for cursor paging: the sort value and `id` of the last (or first)
/// resource of a page, and the direction. [`OpaqueCursor::encode`] turns it into a URL-safe
/// string; [`OpaqueCursor::decode`] turns it back, failing with 400 `invalidCursor`.
///
/// The encoding is not tamper-evident: a server that must detect forged cursors (RFC 9865
/// §5.2) wraps the string, e.g. appends a MAC, and checks it before decoding.
///
/// ```
/// use scim_core::messages::{CursorDirection, OpaqueCursor};
///
/// let c = OpaqueCursor {
///     direction: CursorDirection::Next,
///     sort_value: Some(serde_json::json!("jensen")),
///     id: "2819c223".into(),
/// };
/// let s = c.encode();
/// assert!(scim_core::messages::is_unreserved(&s));
/// assert_eq!(OpaqueCursor::decode(&s).unwrap(), c);
/// assert!(OpaqueCursor::decode("not*a*cursor").is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OpaqueCursor {
    /// Forward or backward.
    pub direction: CursorDirection,
    /// The sort key of the boundary resource (`None` when unsorted or missing).
    pub sort_value: Option<Value>,
    /// The `id` of the boundary resource (the tie-breaker).
    pub id: String,
}

impl OpaqueCursor {
    /// The URL-safe string form.
    pub fn encode(&self) -> String {
        let dir = match self.direction {
            CursorDirection::Next => "n",
            CursorDirection::Previous => "p",
        };
        let json = Value::Array(vec![
            Value::String(dir.into()),
            self.sort_value.clone().unwrap_or(Value::Null),
            Value::String(self.id.clone()),
        ]);
        base64url_encode(json.to_string().as_bytes())
    }

    /// Parses a string made by [`OpaqueCursor::encode`]; anything else is 400
    /// `invalidCursor`.
    pub fn decode(s: &str) -> ScimResult<OpaqueCursor> {
        let invalid = || {
            ScimError::with_type(
                ScimType::InvalidCursor,
                "cursor is not one this service provider issued; send an empty cursor for the \
                 first page, then nextCursor or previousCursor",
            )
        };
        let bytes = base64url_decode(s.trim()).ok_or_else(invalid)?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        let Value::Array(mut parts) = value else {
            return Err(invalid());
        };
        if parts.len() != 3 {
            return Err(invalid());
        }
        let id = match parts.pop() {
            Some(Value::String(id)) => id,
            _ => return Err(invalid()),
        };
        let sort_value = match parts.pop() {
            Some(Value::Null) | None => None,
            Some(v) => Some(v),
        };
        let direction = match parts.pop() {
            Some(Value::String(d)) if d == "n" => CursorDirection::Next,
            Some(Value::String(d)) if d == "p" => CursorDirection::Previous,
            _ => return Err(invalid()),
        };
        Ok(OpaqueCursor {
            direction,
            sort_value,
            id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_index_and_count_interpretation() {
        let p = IndexPage::from_params(Some("-7"), Some("-1")).unwrap();
        assert_eq!(p, IndexPage::new(1, Some(0)));
        let p = IndexPage::from_params(None, None).unwrap();
        assert_eq!(p, IndexPage::default());
        let p = IndexPage::from_params(Some(" 3 "), Some("99999999999999999999999")).unwrap();
        assert_eq!(p.start_index, 3);
        assert_eq!(p.count, Some(usize::try_from(i64::MAX).unwrap()));
        for bad in ["1.5", "abc", "0x10", "1e3"] {
            let e = IndexPage::from_params(Some(bad), None).unwrap_err();
            assert_eq!(e.scim_type(), Some(ScimType::InvalidValue), "{bad}");
        }
        let e = IndexPage::from_params(None, Some("ten")).unwrap_err();
        assert!(e.detail().contains("count"));
    }

    #[test]
    fn apply_edges() {
        let items: Vec<u32> = (1..=10).collect();
        assert_eq!(IndexPage::new(1, Some(0)).apply(&items), &[] as &[u32]);
        assert_eq!(IndexPage::new(10, Some(5)).apply(&items), &[10]);
        assert_eq!(IndexPage::new(11, Some(5)).apply(&items), &[] as &[u32]);
        assert_eq!(
            IndexPage::new(usize::MAX, None).apply(&items),
            &[] as &[u32]
        );
        assert_eq!(IndexPage::new(0, Some(usize::MAX)).apply(&items).len(), 10);
        assert_eq!(
            IndexPage::new(1, None).limited(3, 5).apply(&items),
            &[1, 2, 3]
        );
        assert_eq!(IndexPage::new(1, Some(50)).limited(3, 5).count, Some(5));
    }

    #[test]
    fn cursor_rules() {
        assert_eq!(CursorPage::from_params(None, None).unwrap().cursor, None);
        assert!(CursorPage::from_params(Some("abc~._-XYZ09"), None).is_ok());
        for bad in ["a+b", "a/b", "a=b", "ä"] {
            let e = CursorPage::from_params(Some(bad), None).unwrap_err();
            assert_eq!(e.scim_type(), Some(ScimType::InvalidCursor));
        }
        let p = CursorPage::from_params(Some(""), Some("600")).unwrap();
        let e = p.check_count(500).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidCount));
        assert_eq!(e.status(), 400);
        assert!(p.check_count(600).is_ok());
    }

    #[test]
    fn page_request_modes() {
        assert_eq!(
            PageRequest::from_params(None, None, Some("5")).unwrap(),
            PageRequest::Unspecified { count: Some(5) }
        );
        assert_eq!(
            PageRequest::from_params(None, Some(""), None).unwrap(),
            PageRequest::Cursor(CursorPage::default())
        );
        let both = PageRequest::from_params(Some("2"), Some("abc"), None).unwrap_err();
        assert_eq!(both.scim_type(), Some(ScimType::InvalidValue));
        let r = PageRequest::Unspecified { count: Some(3) }.resolve(PaginationMethod::Cursor);
        assert_eq!(
            r,
            PageRequest::Cursor(CursorPage {
                cursor: None,
                count: Some(3)
            })
        );
        assert_eq!(r.count(), Some(3));
    }

    #[test]
    fn base64url_round_trips() {
        for len in 0..40usize {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let s = base64url_encode(&bytes);
            assert!(is_unreserved(&s));
            assert_eq!(base64url_decode(&s).unwrap(), bytes);
        }
        assert_eq!(base64url_encode(b"f"), "Zg");
        assert_eq!(base64url_encode(b"fo"), "Zm8");
        assert_eq!(base64url_encode(b"foo"), "Zm9v");
        assert_eq!(base64url_decode("Zg==").unwrap(), b"f");
        assert!(base64url_decode("Z").is_none());
        assert!(base64url_decode("Zm9v!").is_none());
    }

    #[test]
    fn opaque_cursor_rejects_garbage() {
        for bad in [
            "",
            "Zm9v",
            &base64url_encode(b"[1,2,3]"),
            &base64url_encode(b"[\"x\",null,\"1\"]"),
        ] {
            let e = OpaqueCursor::decode(bad).unwrap_err();
            assert_eq!(e.scim_type(), Some(ScimType::InvalidCursor), "{bad}");
        }
        let c = OpaqueCursor {
            direction: CursorDirection::Previous,
            sort_value: None,
            id: "x\"y".into(),
        };
        assert_eq!(OpaqueCursor::decode(&c.encode()).unwrap(), c);
    }
}
