//! Filters and `sortBy` end to end over HTTP (RFC 7644 §3.4.2.2, §3.4.2.3): what the filter
//! parser and compiler in scim-core decide reaches the client as the right status and
//! `scimType`, on the memory and SQLite backends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod http_support;

use std::sync::Arc;

use http::StatusCode;
use http_support::*;
use scim_core::filter::{MAX_FILTER_ATTR_EXPRESSIONS, MAX_FILTER_DEPTH};
use scim_server::ScimServer;
use scim_server::auth::BearerTokens;
use scim_server::storage::sqlite::SqliteStorage;
use serde_json::json;

fn sqlite_server() -> ScimServer {
    ScimServer::builder()
        .storage(Arc::new(SqliteStorage::open_in_memory().unwrap()))
        .authenticator(BearerTokens::single(TOKEN).unwrap())
        .build()
        .unwrap()
}

/// Both backends every test runs on.
fn servers() -> [(&'static str, ScimServer); 2] {
    [("memory", server()), ("sqlite", sqlite_server())]
}

/// Percent-encodes a query parameter value.
fn q(v: &str) -> String {
    let mut out = String::with_capacity(v.len() * 3);
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A user with a password (RFC 7643 §8.2's), so that sorting by it would have something to
/// disclose.
async fn create_user_with_password(s: &ScimServer, user_name: &str, password: &str) {
    let mut body = user(user_name);
    body["password"] = json!(password);
    let r = post(s, "/Users", body).send().await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

/// RFC 7643 §7 "returned": "never" (User `password`, §4.1.1): neither `sortBy` nor a filter
/// may use it; 400 invalidValue, from GET and from POST /.search.
#[tokio::test]
async fn password_is_refused_in_sort_by_and_filter() {
    for (backend, s) in servers() {
        create_user_with_password(&s, "alice", "t1meMa$heen").await;
        create_user_with_password(&s, "bob", "a-secret").await;
        for uri in [
            "/Users?sortBy=password".to_owned(),
            "/Users?sortBy=PASSWORD&sortOrder=descending".to_owned(),
            format!("/Users?filter={}", q(r#"password eq "x""#)),
            format!("/Users?filter={}", q(r#"password eq "t1meMa$heen""#)),
            format!("/Users?filter={}", q("password pr")),
            format!(
                "/Users?filter={}",
                q(r#"userName eq "alice" and password sw "t""#)
            ),
        ] {
            let r = get(&s, &uri).send().await;
            assert_eq!(
                r.status,
                StatusCode::BAD_REQUEST,
                "{backend} {uri}: {}",
                r.body
            );
            r.assert_error(400, Some("invalidValue"));
            assert!(
                r.body["detail"].as_str().unwrap().contains("password"),
                "{backend} {uri}: {}",
                r.body
            );
        }
        for body in [
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                   "filter": "password pr"}),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                   "sortBy": "password"}),
        ] {
            let r = post(&s, "/Users/.search", body.clone()).send().await;
            r.assert_error(400, Some("invalidValue"));
        }
        // Sorting by an attribute that is returned still works.
        let r = get(&s, "/Users?sortBy=userName").send().await;
        assert_eq!(r.status, StatusCode::OK, "{backend}: {}", r.body);
        assert_eq!(r.body["totalResults"], 2);
    }
}

/// The parser's stated limits are 400 invalidFilter naming the limit, never a stack
/// overflow or a 500 from the database (a `co` chain of about 1,000 clauses once ended as a
/// 500 on SQLite).
#[tokio::test]
async fn oversized_filters_are_400_invalid_filter() {
    for (backend, s) in servers() {
        create_user(&s, "alice").await;
        let co_chain = (0..1000)
            .map(|k| format!(r#"userName co "{k}""#))
            .collect::<Vec<_>>()
            .join(" or ");
        let one_too_many = (0..=MAX_FILTER_ATTR_EXPRESSIONS)
            .map(|k| format!(r#"userName eq "{k}""#))
            .collect::<Vec<_>>()
            .join(" or ");
        let too_deep = format!(
            "{}userName pr{}",
            "(".repeat(MAX_FILTER_DEPTH + 1),
            ")".repeat(MAX_FILTER_DEPTH + 1)
        );
        for (filter, says) in [
            (co_chain, "maximum of 100 attribute expressions"),
            (one_too_many, "maximum of 100 attribute expressions"),
            (too_deep, "maximum of 20 levels"),
            ("(".repeat(10_000), "maximum of 20 levels"),
        ] {
            let r = get(&s, &format!("/Users?filter={}", q(&filter)))
                .send()
                .await;
            r.assert_error(400, Some("invalidFilter"));
            let detail = r.body["detail"].as_str().unwrap();
            assert!(detail.contains(says), "{backend}: {detail}");
        }
        // Larger than a URI may be: through POST /.search (RFC 7644 §3.4.3).
        for (filter, says) in [
            ("(".repeat(60_000), "maximum of 20 levels"),
            ("(".repeat(100_000), "the maximum is 65536"),
        ] {
            let body = json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": filter
            });
            let r = post(&s, "/Users/.search", body).send().await;
            r.assert_error(400, Some("invalidFilter"));
            let detail = r.body["detail"].as_str().unwrap();
            assert!(detail.contains(says), "{backend}: {detail}");
        }
    }
}

/// Microsoft Entra ID matches users by email with `emails[type eq "work"].value eq "..."`
/// (not RFC 7644 syntax; parsed as `emails[type eq "work" and value eq "..."]`).
#[tokio::test]
async fn entra_email_lookup_form_is_answered() {
    for (backend, s) in servers() {
        create_user(&s, "alice").await;
        create_user(&s, "bob").await;
        for filter in [
            r#"userName eq "alice" and emails[type eq "work"].value eq "alice@example.com""#,
            r#"userName eq "alice" and emails[type eq "work"] eq "ALICE@example.com""#,
        ] {
            let r = get(&s, &format!("/Users?filter={}", q(filter)))
                .send()
                .await;
            assert_eq!(r.status, StatusCode::OK, "{backend} {filter}: {}", r.body);
            assert_eq!(r.body["totalResults"], 1, "{backend} {filter}");
            assert_eq!(r.body["Resources"][0]["userName"], "alice");
        }
        let r = get(
            &s,
            &format!(
                "/Users?filter={}",
                q(r#"userName eq "alice" and emails[type eq "home"].value eq "alice@example.com""#)
            ),
        )
        .send()
        .await;
        assert_eq!(r.status, StatusCode::OK, "{backend}: {}", r.body);
        assert_eq!(r.body["totalResults"], 0, "{backend}");
    }
}
