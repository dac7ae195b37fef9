//! The pipeline as tower layers: the request timeout of `ScimServer`, and the public layers
//! (`scim_server::layers`) stacked by hand around the core service.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use scim_core::ScimError;
use scim_server::PathPrefixTenants;
use scim_server::TenantId;
use scim_server::auth::{AuthContext, BearerTokens};
use scim_server::layers::{AuthLayer, BodyLimitLayer, RequestTenant, TenantLayer, TimeoutLayer};
use scim_server::provisioning::{Change, Provisioning};
use scim_server::server::ScimResponse;
use scim_server::storage::memory::MemoryStorage;
use scim_server::{ScimCore, ScimServer};
use serde_json::{Value, json};
use tower::{Service, ServiceBuilder, ServiceExt};

const TOKEN_A: &str = "tenant-a-token-0123456789";
const TOKEN_B: &str = "tenant-b-token-0123456789";

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Reply {
    /// A SCIM error response (RFC 7644 §3.12) with this status.
    fn assert_error(&self, status: u16) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.headers["content-type"], "application/scim+json");
        assert_eq!(
            self.body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        assert_eq!(self.body["status"], status.to_string());
    }
}

async fn send<S>(service: &S, req: Request<Full<Bytes>>) -> Reply
where
    S: Service<Request<Full<Bytes>>, Response = ScimResponse, Error = Infallible> + Clone,
{
    let res = service.clone().oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let raw = body.collect().await.unwrap().to_bytes();
    let body = if raw.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&raw).unwrap()
    };
    Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

fn request(
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Request<Full<Bytes>> {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "scim.example.com");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let bytes = match body {
        Some(v) => {
            b = b.header("content-type", "application/scim+json");
            Bytes::from(serde_json::to_vec(&v).unwrap())
        }
        None => Bytes::new(),
    };
    b.body(Full::new(bytes)).unwrap()
}

fn user(user_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name
    })
}

/// The `userName` of the resource a change writes.
fn user_name<'c>(change: &'c Change<'_>) -> Option<&'c str> {
    change
        .resource
        .and_then(|r| r.get("userName"))
        .and_then(Value::as_str)
}

/// A provisioning hook that never finishes for the user named `slow`.
struct SlowHook;

#[async_trait]
impl Provisioning for SlowHook {
    async fn before_change(&self, change: &Change<'_>) -> Result<(), ScimError> {
        if user_name(change) == Some("slow") {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Ok(())
    }
}

/// A provisioning hook with a bug: it panics for the user named `boom`.
struct PanickingHook;

#[async_trait]
impl Provisioning for PanickingHook {
    async fn before_change(&self, change: &Change<'_>) -> Result<(), ScimError> {
        assert_ne!(user_name(change), Some("boom"), "the hook's bug");
        Ok(())
    }
}

#[tokio::test]
async fn a_panicking_handler_is_a_500_scim_error_and_the_server_serves_on() {
    let server = ScimServer::builder()
        .storage(Arc::new(MemoryStorage::new()))
        .authenticator(BearerTokens::single(TOKEN_A).unwrap())
        .provisioning(PanickingHook)
        .build()
        .unwrap();
    let core = ScimServer::builder()
        .storage(Arc::new(MemoryStorage::new()))
        .provisioning(PanickingHook)
        .build_core()
        .unwrap();
    let core = ServiceBuilder::new()
        .layer(TenantLayer::new(scim_server::SingleTenant))
        .layer(AuthLayer::new(BearerTokens::single(TOKEN_A).unwrap()))
        .service(core);
    answers_500_then_serves_on(&server).await;
    answers_500_then_serves_on(&core).await;
}

/// A POST whose hook panics is a 500 SCIM error; the next POST is served.
async fn answers_500_then_serves_on<S>(service: &S)
where
    S: Service<Request<Full<Bytes>>, Response = ScimResponse, Error = Infallible> + Clone,
{
    let boom = send(
        service,
        request("POST", "/Users", Some(TOKEN_A), Some(user("boom"))),
    )
    .await;
    boom.assert_error(500);
    let fine = send(
        service,
        request("POST", "/Users", Some(TOKEN_A), Some(user("fine"))),
    )
    .await;
    assert_eq!(fine.status, 201, "{}", fine.body);
}

#[tokio::test]
async fn a_request_longer_than_the_timeout_is_a_503_scim_error() {
    let server = ScimServer::builder()
        .storage(Arc::new(MemoryStorage::new()))
        .authenticator(BearerTokens::single(TOKEN_A).unwrap())
        .provisioning(SlowHook)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let slow = send(
        &server,
        request("POST", "/Users", Some(TOKEN_A), Some(user("slow"))),
    );
    let r = tokio::time::timeout(Duration::from_secs(60), slow)
        .await
        .expect("the timeout layer did not answer");
    r.assert_error(503);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("timeout of 300 ms"),
        "{}",
        r.body
    );
    // The abandoned request stored nothing (the hook runs before the store); a request
    // that is not slow is served by the same server.
    let r = send(
        &server,
        request(
            "GET",
            "/Users?filter=userName%20eq%20%22slow%22",
            Some(TOKEN_A),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["totalResults"], 0);
}

#[tokio::test]
async fn the_timeout_layer_wraps_any_service() {
    let core = ScimServer::builder()
        .storage(Arc::new(MemoryStorage::new()))
        .provisioning(SlowHook)
        .build_core()
        .unwrap();
    let service = ServiceBuilder::new()
        .layer(TimeoutLayer::new(Duration::from_millis(200)))
        .layer(TenantLayer::new(PathPrefixTenants))
        .map_request(|mut req: Request<Full<Bytes>>| {
            req.extensions_mut().insert(AuthContext::any_tenant());
            req
        })
        .service(core);
    let slow = send(
        &service,
        request("POST", "/t1/Users", None, Some(user("slow"))),
    );
    tokio::time::timeout(Duration::from_secs(60), slow)
        .await
        .expect("the timeout layer did not answer")
        .assert_error(503);
}

fn tokens() -> BearerTokens {
    let tokens = BearerTokens::new();
    tokens.add(TenantId::new("a").unwrap(), TOKEN_A).unwrap();
    tokens.add(TenantId::new("b").unwrap(), TOKEN_B).unwrap();
    tokens
}

fn core() -> ScimCore {
    ScimServer::builder()
        .storage(Arc::new(MemoryStorage::new()))
        .bulk_max_payload_size(4096)
        .bulk_max_operations(10)
        .build_core()
        .unwrap()
}

#[tokio::test]
async fn layers_stacked_by_hand_around_the_core() {
    let service = ServiceBuilder::new()
        .layer(TenantLayer::new(PathPrefixTenants).base_path("/scim/"))
        .layer(AuthLayer::new(tokens()))
        .layer(BodyLimitLayer::new(200).bulk(10, 4096))
        .service(core());

    // Tenant a, with its own token.
    let r = send(
        &service,
        request(
            "POST",
            "/scim/a/Users",
            Some(TOKEN_A),
            Some(user("bjensen")),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap();
    assert_eq!(
        r.headers["location"],
        format!("http://scim.example.com/scim/a/Users/{id}").as_str()
    );

    // Tenant b's token on tenant a: 401 with WWW-Authenticate (RFC 6750 §3).
    let r = send(
        &service,
        request("GET", &format!("/scim/a/Users/{id}"), Some(TOKEN_B), None),
    )
    .await;
    r.assert_error(401);
    assert_eq!(r.headers["www-authenticate"], "Bearer realm=\"scim\"");
    // Tenant b does not see tenant a's user.
    let r = send(
        &service,
        request("GET", &format!("/scim/b/Users/{id}"), Some(TOKEN_B), None),
    )
    .await;
    r.assert_error(404);

    // No token: 401 before any 404 of routing.
    let r = send(&service, request("GET", "/scim/a/Nowhere", None, None)).await;
    r.assert_error(401);
    assert_eq!(r.headers["www-authenticate"], "Bearer realm=\"scim\"");

    // Outside the base path: the tenant layer's 404.
    send(
        &service,
        request("GET", "/other/a/Users", Some(TOKEN_A), None),
    )
    .await
    .assert_error(404);

    // Larger than the body limit: the body limit layer's 413.
    let big = user(&"x".repeat(300));
    send(
        &service,
        request("POST", "/scim/a/Users", Some(TOKEN_A), Some(big.clone())),
    )
    .await
    .assert_error(413);

    // /Bulk has its own limit, maxPayloadSize (RFC 7644 §3.7.4): 300 bytes pass ...
    let bulk = |data: Value| {
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [{"method": "POST", "path": "/Users", "bulkId": "q", "data": data}]
        })
    };
    let r = send(
        &service,
        request("POST", "/scim/a/Bulk", Some(TOKEN_A), Some(bulk(big))),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["Operations"][0]["status"], "201", "{}", r.body);
    // ... and 5000 bytes do not.
    let huge = user(&"y".repeat(5000));
    let r = send(
        &service,
        request("POST", "/scim/a/Bulk", Some(TOKEN_A), Some(bulk(huge))),
    )
    .await;
    r.assert_error(413);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("\"maxPayloadSize\": 4096"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn the_core_never_serves_a_request_without_an_auth_context() {
    // Without an AuthLayer (or a layer that inserts an AuthContext) the core refuses.
    let no_auth = ServiceBuilder::new()
        .layer(TenantLayer::new(PathPrefixTenants))
        .service(core());
    send(&no_auth, request("GET", "/a/Users", Some(TOKEN_A), None))
        .await
        .assert_error(500);
    // Without a tenant neither.
    let no_tenant = ServiceBuilder::new()
        .map_request(|mut req: Request<Full<Bytes>>| {
            req.extensions_mut().insert(AuthContext::any_tenant());
            req
        })
        .service(core());
    send(&no_tenant, request("GET", "/Users", None, None))
        .await
        .assert_error(500);

    // An authentication layer of the embedder's own: an explicit AuthContext.
    let own_auth = ServiceBuilder::new()
        .layer(TenantLayer::new(PathPrefixTenants))
        .map_request(|mut req: Request<Full<Bytes>>| {
            let tenant = req
                .extensions()
                .get::<RequestTenant>()
                .unwrap()
                .tenant
                .clone();
            req.extensions_mut().insert(AuthContext::for_tenant(tenant));
            req
        })
        .service(core());
    let r = send(&own_auth, request("GET", "/a/Users", None, None)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["totalResults"], 0);

    // Even then, the core refuses a context bound to another tenant.
    let wrong_tenant = ServiceBuilder::new()
        .layer(TenantLayer::new(PathPrefixTenants))
        .map_request(|mut req: Request<Full<Bytes>>| {
            req.extensions_mut()
                .insert(AuthContext::for_tenant(TenantId::new("b").unwrap()));
            req
        })
        .service(core());
    send(&wrong_tenant, request("GET", "/a/Users", None, None))
        .await
        .assert_error(401);
}
