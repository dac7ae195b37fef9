//! Shared helpers of the `http_*` tests: a server on MemoryStorage driven with
//! `tower::ServiceExt::oneshot` (no sockets).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use scim_server::ScimServer;
use scim_server::auth::BearerTokens;
use scim_server::storage::memory::MemoryStorage;
use serde_json::Value;
use tower::ServiceExt;

pub const TOKEN: &str = "test-token-0123456789abcdef";
pub const HOST: &str = "scim.example.com";

pub fn server() -> ScimServer {
    ScimServer::builder()
        .storage(Arc::new(MemoryStorage::new()))
        .authenticator(BearerTokens::single(TOKEN).unwrap())
        .build()
        .unwrap()
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub raw: Bytes,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// Asserts a SCIM error with this status and (optional) scimType.
    pub fn assert_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.header("content-type"), Some("application/scim+json"));
        assert_eq!(
            self.body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        assert_eq!(self.body["status"], status.to_string());
        match scim_type {
            Some(t) => assert_eq!(self.body["scimType"], t, "body: {}", self.body),
            None => assert!(self.body.get("scimType").is_none(), "body: {}", self.body),
        }
    }
}

pub struct Call<'a> {
    server: &'a ScimServer,
    builder: http::request::Builder,
    body: Bytes,
}

impl<'a> Call<'a> {
    pub fn new(server: &'a ScimServer, method: Method, uri: &str) -> Self {
        let builder = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", HOST)
            .header("authorization", format!("Bearer {TOKEN}"));
        Call {
            server,
            builder,
            body: Bytes::new(),
        }
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.builder = self.builder.header(k, v);
        self
    }
    /// Sends another `Host` than [`HOST`].
    pub fn host(mut self, host: &str) -> Self {
        let value = http::HeaderValue::from_str(host).unwrap();
        self.builder.headers_mut().unwrap().insert("host", value);
        self
    }
    pub fn json(mut self, v: Value) -> Self {
        self.builder = self.builder.header("content-type", "application/scim+json");
        self.body = Bytes::from(serde_json::to_vec(&v).unwrap());
        self
    }
    pub fn raw(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }
    pub fn no_auth(mut self) -> Self {
        self.builder.headers_mut().unwrap().remove("authorization");
        self
    }
    pub async fn send(self) -> Reply {
        let req = self.builder.body(Full::new(self.body)).unwrap();
        let res = self.server.clone().oneshot(req).await.unwrap();
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
            raw,
        }
    }
}

pub fn get<'a>(s: &'a ScimServer, uri: &str) -> Call<'a> {
    Call::new(s, Method::GET, uri)
}
pub fn post<'a>(s: &'a ScimServer, uri: &str, body: Value) -> Call<'a> {
    Call::new(s, Method::POST, uri).json(body)
}
pub fn put<'a>(s: &'a ScimServer, uri: &str, body: Value) -> Call<'a> {
    Call::new(s, Method::PUT, uri).json(body)
}
pub fn patch<'a>(s: &'a ScimServer, uri: &str, body: Value) -> Call<'a> {
    Call::new(s, Method::PATCH, uri).json(body)
}
pub fn delete<'a>(s: &'a ScimServer, uri: &str) -> Call<'a> {
    Call::new(s, Method::DELETE, uri)
}

pub fn patch_ops(ops: Value) -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": ops
    })
}

pub fn user(user_name: &str) -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": format!("{user_name}@example.com"), "type": "work", "primary": true}],
        "active": true
    })
}

/// Creates a user and returns its id.
pub async fn create_user(s: &ScimServer, user_name: &str) -> String {
    let r = post(s, "/Users", user(user_name)).send().await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

/// Creates a group with these member ids and returns its id.
pub async fn create_group(s: &ScimServer, name: &str, members: &[&str]) -> String {
    let members: Vec<Value> = members
        .iter()
        .map(|m| serde_json::json!({"value": m, "type": "User"}))
        .collect();
    let r = post(
        s,
        "/Groups",
        serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": name,
            "members": members
        }),
    )
    .send()
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}
