//! SCIM responses: `application/scim+json` bodies, errors (RFC 7644 §3.12), ETags and
//! `Location`.

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE, ETAG, LOCATION, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;
use scim_core::ScimError;
use scim_core::messages::{LIST_RESPONSE_SCHEMA, ListResponse};

/// The response type of [`ScimServer`](super::ScimServer).
pub type ScimResponse = Response<Full<Bytes>>;

/// RFC 7644 §3.1: "SCIM ... uses the media type application/scim+json".
pub(crate) const SCIM_JSON: &str = "application/scim+json";

/// The weak ETag of a version: `W/"3"`. Written without `format!`, which was most of the
/// cost of the header every read answers with.
pub(crate) fn etag(version: u64) -> String {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(version);
    let mut tag = String::with_capacity(digits.len() + 4);
    tag.push_str("W/\"");
    tag.push_str(digits);
    tag.push('"');
    tag
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// What a response body's buffer starts with: a resource or a short list fits without
/// growing it (each growth copies what was written).
const BODY_CAPACITY: usize = 2048;

/// A JSON response.
pub(crate) fn json(code: StatusCode, value: &(impl serde::Serialize + ?Sized)) -> ScimResponse {
    let mut body = Vec::with_capacity(BODY_CAPACITY);
    if serde_json::to_writer(&mut body, value).is_err() {
        body = b"{}".to_vec();
    }
    json_bytes(code, Bytes::from(body))
}

/// A ListResponse (RFC 7644 §3.4.2): the bytes `serde_json` writes for it, with the names
/// of its attributes and its `schemas` URN written as the constants they are instead of
/// escaped byte by byte on every list request (most of the cost of a short page's body).
pub(crate) fn list_json<T: serde::Serialize>(list: &ListResponse<T>) -> ScimResponse {
    let mut body = Vec::with_capacity(BODY_CAPACITY);
    if write_list(&mut body, list).is_err() {
        body = b"{}".to_vec();
    }
    json_bytes(StatusCode::OK, Bytes::from(body))
}

fn write_list<T: serde::Serialize>(
    out: &mut Vec<u8>,
    list: &ListResponse<T>,
) -> serde_json::Result<()> {
    let number = |out: &mut Vec<u8>, name: &[u8], n: Option<usize>| {
        if let Some(n) = n {
            out.extend_from_slice(name);
            out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        }
    };
    let text = |out: &mut Vec<u8>, name: &[u8], s: &Option<String>| match s {
        Some(s) => {
            out.extend_from_slice(name);
            serde_json::to_writer(&mut *out, s)
        }
        None => Ok(()),
    };
    if list.schemas.len() == 1 && list.schemas[0] == LIST_RESPONSE_SCHEMA {
        out.extend_from_slice(b"{\"schemas\":[\"");
        out.extend_from_slice(LIST_RESPONSE_SCHEMA.as_bytes());
        out.extend_from_slice(b"\"]");
    } else {
        out.extend_from_slice(b"{\"schemas\":");
        serde_json::to_writer(&mut *out, &list.schemas)?;
    }
    number(out, b",\"totalResults\":", list.total_results);
    number(out, b",\"itemsPerPage\":", list.items_per_page);
    number(out, b",\"startIndex\":", list.start_index);
    text(out, b",\"nextCursor\":", &list.next_cursor)?;
    text(out, b",\"previousCursor\":", &list.previous_cursor)?;
    out.extend_from_slice(b",\"Resources\":[");
    for (i, resource) in list.resources.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, resource)?;
    }
    out.extend_from_slice(b"]}");
    Ok(())
}

/// A response of JSON already serialised.
pub(crate) fn json_bytes(code: StatusCode, body: Bytes) -> ScimResponse {
    let mut res = Response::new(Full::new(body));
    *res.status_mut() = code;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    res
}

/// An empty response (204, 304).
pub(crate) fn empty(code: StatusCode) -> ScimResponse {
    let mut res = Response::new(Full::new(Bytes::new()));
    *res.status_mut() = code;
    res
}

/// The RFC 7644 §3.12 error response; 401 carries `WWW-Authenticate` (RFC 6750 §3).
pub(crate) fn error(e: &ScimError) -> ScimResponse {
    let mut res = json(status(e.status()), &e.to_json());
    if e.status() == 401 {
        res.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"scim\""),
        );
    }
    res
}

/// 405 with `Allow`.
pub(crate) fn method_not_allowed(allow: &[&str]) -> ScimResponse {
    let e = ScimError::new(
        405,
        None,
        format!("method not allowed here; allowed: {}", allow.join(", ")),
    );
    let mut res = error(&e);
    if let Ok(v) = HeaderValue::from_str(&allow.join(", ")) {
        res.headers_mut().insert(ALLOW, v);
    }
    res
}

/// Adds an `ETag` header ([`etag`]).
pub(crate) fn with_etag(mut res: ScimResponse, version: u64) -> ScimResponse {
    if let Ok(v) = HeaderValue::from_maybe_shared(Bytes::from(etag(version))) {
        res.headers_mut().insert(ETAG, v);
    }
    res
}

/// Adds a `Location` header (when `location` is a valid header value).
pub(crate) fn with_location(mut res: ScimResponse, location: &str) -> ScimResponse {
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(LOCATION, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_shape_and_headers() {
        let r = error(&ScimError::new(401, None, "no token"));
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()[WWW_AUTHENTICATE], "Bearer realm=\"scim\"");
        assert_eq!(r.headers()[CONTENT_TYPE], SCIM_JSON);
        let r = method_not_allowed(&["GET", "POST"]);
        assert_eq!(r.headers()[ALLOW], "GET, POST");
        assert_eq!(etag(7), "W/\"7\"");
        assert_eq!(error(&ScimError::new(999, None, "x")).status(), 999);
        assert_eq!(error(&ScimError::new(1000, None, "x")).status(), 500);
    }

    fn list_body<T: serde::Serialize>(list: &ListResponse<T>) -> Vec<u8> {
        let mut out = Vec::new();
        write_list(&mut out, list).unwrap();
        out
    }

    #[test]
    fn a_list_body_is_the_bytes_serde_json_writes() {
        use serde_json::json;
        let users = vec![
            json!({"id": "2819c223", "userName": "bjensen"}),
            json!({"id": "902c246b", "userName": "jsmith\u{e9}\"\n"}),
        ];
        let mut custom = ListResponse::page(7, 3, users.clone());
        custom.schemas = vec!["urn:example:\"odd\"".into(), LIST_RESPONSE_SCHEMA.into()];
        let cases = [
            ListResponse::page(2, 1, users.clone()),
            ListResponse::page(0, 1, Vec::new()),
            ListResponse::new(users.clone()),
            ListResponse::cursor_page(Some(10), users.clone(), Some("VZUT\"x".into()), None),
            ListResponse::cursor_page(None, users.clone(), None, Some("prev".into())),
            ListResponse::default(),
            custom,
        ];
        for list in cases {
            assert_eq!(
                String::from_utf8(list_body(&list)).unwrap(),
                serde_json::to_string(&list).unwrap()
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn any_list_body_is_the_bytes_serde_json_writes(
            total in proptest::option::of(0usize..100_000),
            start in proptest::option::of(1usize..100_000),
            next in proptest::option::of("[a-zA-Z0-9\"\\\\é\u{1}]{0,12}"),
            ids in proptest::collection::vec("[a-z0-9é\"]{0,8}", 0..4),
        ) {
            let resources: Vec<_> = ids.iter().map(|id| serde_json::json!({"id": id})).collect();
            let mut list = ListResponse::cursor_page(total, resources, next, None);
            list.start_index = start;
            proptest::prop_assert_eq!(
                String::from_utf8(list_body(&list)).unwrap(),
                serde_json::to_string(&list).unwrap()
            );
        }
    }

    #[test]
    fn the_etag_header_is_the_weak_tag_of_the_version() {
        for version in [0, 1, 9, 10, 42, 1_000_000, u64::MAX] {
            let r = with_etag(empty(StatusCode::OK), version);
            assert_eq!(r.headers()[ETAG], etag(version).as_str(), "{version}");
        }
        assert_eq!(
            with_etag(empty(StatusCode::OK), u64::MAX).headers()[ETAG],
            "W/\"18446744073709551615\""
        );
    }
}
