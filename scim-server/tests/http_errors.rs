//! Bad input never panics and never gets a 500: each gets the RFC 7644 §3.12 error.
//! Also authentication (401 + WWW-Authenticate) and tenant isolation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod http_support;

use std::sync::Arc;

use http::{Method, StatusCode};
use http_support::*;
use scim_server::PathPrefixTenants;
use scim_server::ScimServer;
use scim_server::TenantId;
use scim_server::auth::{AuthContext, AuthError, BearerTokens, auth_fn, bearer_token};
use scim_server::storage::memory::MemoryStorage;
use serde_json::json;

#[tokio::test]
async fn malformed_json_is_invalid_syntax() {
    let s = server();
    let r = Call::new(&s, Method::POST, "/Users")
        .header("content-type", "application/scim+json")
        .raw("{\"userName\": ")
        .send()
        .await;
    r.assert_error(400, Some("invalidSyntax"));
    let r = Call::new(&s, Method::POST, "/Users")
        .raw("[1, 2]")
        .send()
        .await;
    r.assert_error(400, Some("invalidSyntax"));
    let r = Call::new(&s, Method::POST, "/Users").send().await;
    r.assert_error(400, Some("invalidSyntax"));
    let id = create_user(&s, "x").await;
    let r = Call::new(&s, Method::PATCH, &format!("/Users/{id}"))
        .raw("{nope")
        .send()
        .await;
    r.assert_error(400, Some("invalidSyntax"));
}

#[tokio::test]
async fn wrong_types_are_invalid_value() {
    let s = server();
    let mut u = user("typed");
    u["active"] = json!(42);
    post(&s, "/Users", u)
        .send()
        .await
        .assert_error(400, Some("invalidValue"));
    let mut u = user("typed");
    u["name"] = json!("not an object");
    post(&s, "/Users", u)
        .send()
        .await
        .assert_error(400, Some("invalidValue"));
    // Required userName missing.
    post(
        &s,
        "/Users",
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}),
    )
    .send()
    .await
    .assert_error(400, Some("invalidValue"));
    // A member without a value.
    post(
        &s,
        "/Groups",
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G", "members": [{"display": "x"}]}),
    )
    .send()
    .await
    .assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn body_too_large_is_413() {
    let s = ScimServer::builder()
        .storage(Arc::new(MemoryStorage::new()))
        .authenticator(BearerTokens::single(TOKEN).unwrap())
        .max_body_bytes(1024)
        .build()
        .unwrap();
    let mut u = user("big");
    u["displayName"] = json!("x".repeat(2000));
    post(&s, "/Users", u).send().await.assert_error(413, None);
    // The default limit is 1 MiB.
    let s = server();
    let mut u = user("big");
    u["displayName"] = json!("x".repeat(1024 * 1024 + 1));
    post(&s, "/Users", u).send().await.assert_error(413, None);
}

#[tokio::test]
async fn unknown_endpoints_methods_and_content_types() {
    let s = server();
    get(&s, "/Nope").send().await.assert_error(404, None);
    get(&s, "/").send().await.assert_error(404, None);
    get(&s, "/Users/a/b").send().await.assert_error(404, None);
    let r = Call::new(&s, Method::DELETE, "/Users").send().await;
    r.assert_error(405, None);
    assert_eq!(r.header("allow"), Some("GET, POST"));
    let r = Call::new(&s, Method::PUT, "/ServiceProviderConfig")
        .send()
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.header("allow"), Some("GET"));
    let r = Call::new(&s, Method::POST, "/Users")
        .header("content-type", "text/xml")
        .raw("<user/>")
        .send()
        .await;
    r.assert_error(415, None);
    // application/json is accepted.
    let r = Call::new(&s, Method::POST, "/Users")
        .header("content-type", "application/json; charset=utf-8")
        .raw(serde_json::to_vec(&user("plainjson")).unwrap())
        .send()
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    get(&s, "/Users?startIndex=abc")
        .send()
        .await
        .assert_error(400, Some("invalidValue"));
    get(&s, "/Users?attributes=user%20Name")
        .send()
        .await
        .assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn missing_or_wrong_token_is_401_with_www_authenticate() {
    let s = server();
    let r = get(&s, "/Users").no_auth().send().await;
    r.assert_error(401, None);
    assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"scim\""));
    let r = get(&s, "/Users")
        .no_auth()
        .header("authorization", "Bearer wrong-token-0123456789")
        .send()
        .await;
    r.assert_error(401, None);
    assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"scim\""));
    assert!(
        !r.body.to_string().contains("wrong-token"),
        "never echo a token"
    );
    // Discovery needs the token too, and 404s are not revealed before authentication.
    get(&s, "/ServiceProviderConfig")
        .no_auth()
        .send()
        .await
        .assert_error(401, None);
    get(&s, "/Nope")
        .no_auth()
        .send()
        .await
        .assert_error(401, None);
}

fn multi_tenant() -> ScimServer {
    let tokens = BearerTokens::new();
    tokens
        .add(TenantId::new("a").unwrap(), "token-of-tenant-a-0123456789")
        .unwrap();
    tokens
        .add(TenantId::new("b").unwrap(), "token-of-tenant-b-0123456789")
        .unwrap();
    ScimServer::builder()
        .storage(Arc::new(MemoryStorage::new()))
        .authenticator(tokens)
        .tenant_resolver(PathPrefixTenants)
        .base_path("/scim/v2")
        .build()
        .unwrap()
}

fn as_tenant<'a>(s: &'a ScimServer, method: Method, uri: &str, token: &str) -> Call<'a> {
    Call::new(s, method, uri)
        .no_auth()
        .header("authorization", &format!("Bearer {token}"))
}

#[tokio::test]
async fn tenants_are_isolated() {
    let s = multi_tenant();
    let ta = "token-of-tenant-a-0123456789";
    let tb = "token-of-tenant-b-0123456789";
    let r = as_tenant(&s, Method::POST, "/scim/v2/a/Users", ta)
        .json(user("shared"))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        r.header("location"),
        Some(format!("http://{HOST}/scim/v2/a/Users/{id}").as_str())
    );

    // Tenant A's token on tenant B's URL: 401, never data.
    let r = as_tenant(&s, Method::GET, &format!("/scim/v2/b/Users/{id}"), ta)
        .send()
        .await;
    r.assert_error(401, None);
    let r = as_tenant(&s, Method::GET, "/scim/v2/b/Users", ta)
        .send()
        .await;
    r.assert_error(401, None);
    // Tenant B with its own token sees nothing of A, and can reuse the userName.
    let r = as_tenant(&s, Method::GET, &format!("/scim/v2/b/Users/{id}"), tb)
        .send()
        .await;
    r.assert_error(404, None);
    let r = as_tenant(&s, Method::POST, "/scim/v2/b/Users", tb)
        .json(user("shared"))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    // Outside the base path, or no tenant: 404.
    as_tenant(&s, Method::GET, "/other/a/Users", ta)
        .send()
        .await
        .assert_error(404, None);
    as_tenant(&s, Method::GET, "/scim/v2", ta)
        .send()
        .await
        .assert_error(404, None);
}

#[tokio::test]
async fn closure_authenticator_and_me() {
    let s = ScimServer::builder()
        .storage(Arc::new(MemoryStorage::new()))
        .authenticator(auth_fn(|parts: &http::request::Parts| {
            match bearer_token(parts) {
                Some(t) if t.starts_with("user:") => {
                    Ok(AuthContext::any_tenant().with_subject(&t[5..]))
                }
                Some(_) => Ok(AuthContext::any_tenant()),
                None => Err(AuthError::new("who are you?")),
            }
        }))
        .build()
        .unwrap();
    let r = Call::new(&s, Method::POST, "/Users")
        .json(user("me"))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let id = r.body["id"].as_str().unwrap().to_string();
    // RFC 7644 §3.11: without a subject, /Me is 501.
    get(&s, "/Me").send().await.assert_error(501, None);
    let r = get(&s, "/Me")
        .no_auth()
        .header("authorization", &format!("Bearer user:{id}"))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["userName"], "me");
    assert_eq!(
        r.body["meta"]["location"],
        format!("http://{HOST}/Users/{id}")
    );
    let r = Call::new(&s, Method::POST, "/Me")
        .no_auth()
        .header("authorization", &format!("Bearer user:{id}"))
        .json(user("x"))
        .send()
        .await;
    r.assert_error(501, None);
    let r = get(&s, "/Users").no_auth().send().await;
    r.assert_error(401, None);
    assert_eq!(r.body["detail"], "who are you?");
}

#[tokio::test]
async fn builder_requires_storage_and_authenticator() {
    assert!(ScimServer::builder().build().is_err());
    assert!(
        ScimServer::builder()
            .storage(Arc::new(MemoryStorage::new()))
            .build()
            .is_err()
    );
    assert!(
        ScimServer::builder()
            .storage(Arc::new(MemoryStorage::new()))
            .authenticator(BearerTokens::new())
            .base_path("scim")
            .build()
            .is_err()
    );
}
