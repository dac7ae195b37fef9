//! Over HTTP: what the store answers itself (`eq` on a unique attribute), what the server's
//! planner adds on top (any other clause, `and`-ed with such an `eq`), and a filter without
//! one, which the planner answers by scanning the users in pages (RFC 7644 §3.4.2.2: any
//! attribute; never 400 `invalidFilter` for a valid filter).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use bytes::Bytes;
use example_custom_storage::HashMapStorage;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use scim_server::ScimServer;
use scim_server::auth::BearerTokens;
use serde_json::{Value, json};
use tower::ServiceExt;

const TOKEN: &str = "a-long-generated-secret-token";

async fn send(server: &ScimServer, request: Request<Full<Bytes>>) -> (StatusCode, Value) {
    let response = server.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap())
}

/// A server on a fresh store holding bjensen (externalId E-1) and bjorn (E-2).
async fn server() -> ScimServer {
    let server = ScimServer::builder()
        .storage(Arc::new(HashMapStorage::new()))
        .authenticator(BearerTokens::single(TOKEN).unwrap())
        .build()
        .unwrap();
    for (user_name, external_id) in [("bjensen", "E-1"), ("bjorn", "E-2")] {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "externalId": external_id,
            "title": "Tour Guide"
        });
        let request = Request::post("/Users")
            .header("Authorization", format!("Bearer {TOKEN}"))
            .header("Content-Type", "application/scim+json")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        let (status, _) = send(&server, request).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    server
}

/// GET /Users?filter=... (the filter percent-encoded the simple way: spaces and quotes).
async fn list(server: &ScimServer, filter: &str) -> (StatusCode, Value) {
    let encoded = filter.replace(' ', "%20").replace('"', "%22");
    let request = Request::get(format!("/Users?filter={encoded}"))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    send(server, request).await
}

fn user_names(list: &Value) -> Vec<&str> {
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userName"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn user_name_eq_is_answered_by_the_store() {
    let server = server().await;
    // userName is not caseExact (RFC 7643 §4.1.1), so the index lookup is case-insensitive.
    let (status, body) = list(&server, r#"userName eq "BJensen""#).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["totalResults"], 1);
    assert_eq!(user_names(&body), ["bjensen"]);
    // Entra's "Test Connection": no match is an empty list, not an error.
    let (status, body) = list(&server, r#"userName eq "nobody""#).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["totalResults"], 0);
}

#[tokio::test]
async fn other_clauses_are_evaluated_by_the_planner_next_to_an_eq() {
    let server = server().await;
    // The store answers `externalId eq "E-1"`; the planner checks `userName sw "bj"` and
    // `title eq ...` on that one candidate.
    let (status, body) = list(
        &server,
        r#"userName sw "bj" and externalId eq "E-1" and title eq "tour guide""#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["totalResults"], 1);
    assert_eq!(user_names(&body), ["bjensen"]);
    // Same shape, but the residual clause does not match the candidate.
    let (status, body) = list(&server, r#"userName sw "x" and externalId eq "E-2""#).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["totalResults"], 0);
}

#[tokio::test]
async fn a_filter_without_an_eq_clause_is_answered_by_a_scan() {
    let server = server().await;
    for (filter, expected) in [
        (r#"userName sw "bj""#, vec!["bjensen", "bjorn"]),
        (r#"userName sw "bjo""#, vec!["bjorn"]),
        (r#"title eq "Tour Guide""#, vec!["bjensen", "bjorn"]),
        (r#"title eq "Pilot""#, vec![]),
        // An `or` is one clause, and this store does not answer `or`.
        (
            r#"userName eq "bjensen" or userName eq "bjorn""#,
            vec!["bjensen", "bjorn"],
        ),
        (r#"not (externalId eq "E-1")"#, vec!["bjorn"]),
    ] {
        let (status, body) = list(&server, filter).await;
        assert_eq!(status, StatusCode::OK, "{filter}: {body}");
        let mut names = user_names(&body);
        names.sort_unstable();
        assert_eq!(names, expected, "{filter}");
        assert_eq!(body["totalResults"], expected.len(), "{filter}");
    }
    // An invalid filter is still 400 invalidFilter (RFC 7644 §3.12).
    let (status, body) = list(&server, r#"nosuchattribute eq "x""#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["scimType"], "invalidFilter");
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
}
