//! # scim-server
//!
//! An embeddable SCIM 2.0 server (RFC 7644) built on [`scim_core`]:
//!
//! - [`ScimServer`] is a `tower::Service<http::Request<B>>` for any `http_body::Body`: serve it
//!   with hyper, nest it in axum, or call it directly in tests. Errors are SCIM error responses
//!   (RFC 7644 §3.12), never service errors ([`server`]). Build it with [`ScimServerBuilder`].
//! - [`storage`]: the [`Storage`] trait (tenant-scoped, versioned, uniqueness enforced by the
//!   store, membership kept apart so one member costs O(1)), a query
//!   [`planner`](storage::planner), and the backends: [`memory`](storage::memory), `sqlite`
//!   (the embedded default) and `postgres`, one Cargo feature each.
//!   [`storage::open`] opens one from a string (`memory`, `sqlite:PATH`, `postgres://...`).
//! - [`auth`]: the [`Authenticator`] trait, bearer tokens kept only as hashes, and closures.
//! - [`tenancy`]: [`TenantId`] and the [`TenantResolver`]s ([`SingleTenant`],
//!   [`PathPrefixTenants`]) that find the tenant of a request.
//! - [`provisioning`]: the [`Provisioning`] hooks before (may refuse) and after every change.
//! - [`layers`]: the pipeline as public `tower::Layer`s (tenant, authentication, body limit,
//!   timeout) around the core service [`ScimCore`], to stack differently when embedding.
//!
//! The types an embedder needs are re-exported here, so `use scim_server::{ScimServer,
//! Storage, TenantId};` is enough for most programs.
//!
//! ```
//! use http_body_util::{BodyExt, Full};
//! use scim_server::ScimServer;
//! use scim_server::auth::BearerTokens;
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let server = ScimServer::builder()
//!     .storage(scim_server::storage::open("memory").await.unwrap())
//!     .authenticator(BearerTokens::single("a-long-generated-secret-token").unwrap())
//!     .build()
//!     .unwrap();
//!
//! // Entra ID's "Test Connection": a filter that matches nothing is 200 with an empty list.
//! let request = http::Request::get("/Users?filter=userName%20eq%20%22f1d2e3%22")
//!     .header("Authorization", "Bearer a-long-generated-secret-token")
//!     .body(Full::new(bytes::Bytes::new()))
//!     .unwrap();
//! let response = server.oneshot(request).await.unwrap();
//! assert_eq!(response.status(), 200);
//! let body = response.into_body().collect().await.unwrap().to_bytes();
//! let list: serde_json::Value = serde_json::from_slice(&body).unwrap();
//! assert_eq!(list["totalResults"], 0);
//! # });
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod provisioning;
pub mod server;
pub mod storage;
pub mod tenancy;

/// The scim-core this crate is built on (schemas, resources, filters, PATCH, validation
/// options), re-exported so that an embedder uses the same version.
pub use scim_core;

pub use auth::{AuthContext, AuthError, Authenticator};
pub use provisioning::Provisioning;
pub use server::layers;
pub use server::{BuildError, ScimCore, ScimServer, ScimServerBuilder};
pub use storage::{Storage, StorageError};
pub use tenancy::{PathPrefixTenants, ResolvedTenant, SingleTenant, TenantId, TenantResolver};
