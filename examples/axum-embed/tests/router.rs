//! Drives the axum application in memory with `tower::ServiceExt::oneshot`: the app's own
//! route, and the SCIM server nested under /scim/v2.
#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use std::sync::Arc;

use example_axum_embed::{app, scim_server};
use scim_server::storage::memory::MemoryStorage;
use serde_json::{Value, json};
use tower::ServiceExt;

const TOKEN: &str = "a-long-generated-secret-token";

fn router() -> Router {
    app(scim_server(Arc::new(MemoryStorage::new()), TOKEN, None).unwrap())
}

async fn body_json(response: axum::response::Response) -> Value {
    let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn health_route_is_the_apps_own() {
    let response = router()
        .oneshot(Request::get("/health").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = to_bytes(response.into_body(), 1024).await.unwrap();
    assert_eq!(&bytes[..], b"ok");
}

#[tokio::test]
async fn create_user_under_scim_v2() {
    let request = Request::post("/scim/v2/Users")
        .header(header::HOST, "app.example.com")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(header::CONTENT_TYPE, "application/scim+json")
        .body(Body::from(
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "bjensen"
            })
            .to_string(),
        ))
        .unwrap();
    let response = router().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    let user = body_json(response).await;
    let id = user["id"].as_str().unwrap();
    // RFC 7644 §3.3: Location is the URI of the new resource, here below /scim/v2.
    assert_eq!(
        location,
        format!("http://app.example.com/scim/v2/Users/{id}")
    );
    assert_eq!(user["meta"]["location"], json!(location));
    assert_eq!(user["userName"], "bjensen");
}

#[tokio::test]
async fn created_user_can_be_read_back_through_the_app() {
    let app = router();
    let request = Request::post("/scim/v2/Users")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(header::CONTENT_TYPE, "application/scim+json")
        .body(Body::from(r#"{"userName": "alice"}"#))
        .unwrap();
    let created = body_json(app.clone().oneshot(request).await.unwrap()).await;
    let id = created["id"].as_str().unwrap();
    let request = Request::get(format!("/scim/v2/Users/{id}"))
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_json(response).await["userName"], "alice");
}

#[tokio::test]
async fn service_provider_config() {
    let request = Request::get("/scim/v2/ServiceProviderConfig")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let response = router().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let config = body_json(response).await;
    assert_eq!(
        config["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"])
    );
    assert_eq!(config["filter"]["supported"], true);
}

#[tokio::test]
async fn scim_routes_need_the_token_but_the_app_routes_do_not() {
    let request = Request::get("/scim/v2/Users").body(Body::empty()).unwrap();
    let response = router().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let error = body_json(response).await;
    assert_eq!(
        error["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
}

#[tokio::test]
async fn public_url_overrides_the_host() {
    let app = app(scim_server(
        Arc::new(MemoryStorage::new()),
        TOKEN,
        Some("https://idp-facing.example.com/scim/v2"),
    )
    .unwrap());
    let request = Request::post("/scim/v2/Users")
        .header(header::HOST, "internal:3000")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(header::CONTENT_TYPE, "application/scim+json")
        .body(Body::from(r#"{"userName": "carol"}"#))
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()[header::LOCATION].to_str().unwrap();
    assert!(
        location.starts_with("https://idp-facing.example.com/scim/v2/Users/"),
        "{location}"
    );
}

#[tokio::test]
async fn unknown_app_route_is_404() {
    let response = router()
        .oneshot(Request::get("/nope").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
