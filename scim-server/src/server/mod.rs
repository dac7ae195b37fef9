//! The HTTP layer: [`ScimServer`], a `tower::Service` that answers SCIM 2.0 requests
//! (RFC 7644) from a [`Storage`] backend.
//!
//! ```no_run
//! use std::sync::Arc;
//! use scim_server::ScimServer;
//! use scim_server::auth::BearerTokens;
//! use scim_server::storage::memory::MemoryStorage;
//!
//! let server = ScimServer::builder()
//!     .storage(Arc::new(MemoryStorage::new()))
//!     .authenticator(BearerTokens::single("a-long-generated-secret-token").unwrap())
//!     .build()
//!     .unwrap();
//! // `server` is a `tower::Service<http::Request<B>>`: serve it with hyper, or nest it in axum.
//! # let _ = server;
//! ```
//!
//! Behaviour in one place:
//! - Every failure is a SCIM error response (RFC 7644 §3.12, `application/scim+json`); the
//!   service itself never fails, and a panic inside a handler becomes a 500.
//! - Request bodies: `application/scim+json` or `application/json` (or no `Content-Type`);
//!   anything else is 415. Larger than [`ScimServerBuilder::max_body_bytes`] (1 MiB by
//!   default) is 413; malformed JSON is 400 `invalidSyntax`.
//! - ETags are weak, `W/"<version>"`, and `If-Match` / `If-None-Match` compare them weakly
//!   (RFC 7644 §3.14 uses weak ETags with `If-Match`).
//! - PUT and PATCH answer 204 No Content when the client sends `Prefer: return=minimal`
//!   (RFC 7240). A PATCH of a resource with `members` (a Group) that did not need to read the
//!   members (a membership-only PATCH, applied in O(1) through
//!   [`Storage::modify_members`], or one that does
//!   not touch `members`) also answers 204, unless the client sends `attributes` /
//!   `excludedAttributes` or `Prefer: return=representation` (then 200 with the resource;
//!   members are read only when returned). Every other PUT and PATCH answers 200 with the
//!   resource. RFC 7644 §3.5.2 lets the server choose: it "MUST return a 200 OK ... or MAY
//!   return HTTP status code 204 (No Content)".
//!   Entra ID and Okta accept 204 for group PATCH.
//! - Multi-tenancy: a [`TenantResolver`] finds the tenant ([`SingleTenant`] by default,
//!   [`PathPrefixTenants`](crate::tenancy::PathPrefixTenants) for `/{tenant}/Users`); a credential bound to another tenant is
//!   401, so one tenant's token never reads another tenant's data.
//! - `POST /Bulk` (RFC 7644 §3.7) runs each operation through the same handlers as a single
//!   request, in `bulkId` dependency order, resolving circular references; limits are
//!   [`ScimServerBuilder::bulk_max_operations`] and
//!   [`ScimServerBuilder::bulk_max_payload_size`] (413 beyond them, §3.7.4).
//! - Authentication happens before routing: an unauthenticated request gets 401, never a
//!   404 that would reveal which endpoints or tenants exist.
//! - A request that takes longer than [`ScimServerBuilder::timeout`] (30 s by default) is
//!   abandoned and answered with a 503 SCIM error, never a hung connection. The timer is
//!   Tokio's: serve the server on a Tokio runtime with the time driver enabled (as hyper and
//!   axum servers are).
//! - The pipeline is made of public [`tower::Layer`]s ([`layers`]): timeout, then base path
//!   and tenant, then authentication, then the body limit, around the core service
//!   [`ScimCore`] (routing and handlers). [`ScimServerBuilder::build`] stacks them;
//!   [`ScimServerBuilder::build_core`] gives the core alone, to stack them differently.

mod handlers;
pub mod layers;
pub mod password;
mod rendered;
mod request;
mod response;
mod routing;
mod service;

pub use request::BoxError;
pub use response::ScimResponse;
pub use service::ScimCore;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use scim_core::patch::PatchOptions;
use scim_core::schema::SchemaRegistry;
use scim_core::validation::{ValidationMode, ValidationOptions};

use crate::auth::Authenticator;
use crate::provisioning::Provisioning;
use crate::storage::Storage;
use crate::storage::planner::PlannerLimits;
use crate::storage::unique::UniquenessPolicy;
use crate::tenancy::{SingleTenant, TenantResolver};
use layers::{
    AuthLayer, AuthService, BodyLimitLayer, BodyLimitService, DEFAULT_TIMEOUT, TenantLayer,
    TenantService, TimeoutLayer, TimeoutService,
};

/// Default request body limit: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// Default `bulk.maxOperations`: the most operations one `/Bulk` request may carry
/// (RFC 7644 §3.7.4).
pub const DEFAULT_BULK_MAX_OPERATIONS: usize = 1000;

/// Default `bulk.maxPayloadSize`: the largest `/Bulk` request body in bytes, 1 MiB
/// (RFC 7644 §3.7.4).
pub const DEFAULT_BULK_MAX_PAYLOAD_SIZE: usize = 1024 * 1024;

/// Default bound of the cache of rendered resources
/// ([`ScimServerBuilder::rendered_cache_bytes`]): 32 MiB, some 30,000 Users of 1 KiB.
pub const DEFAULT_RENDERED_CACHE_BYTES: u64 = 32 * 1024 * 1024;

/// Default page size when a list request gives no `count`.
pub const DEFAULT_PAGE_SIZE: u64 = 100;

/// A SCIM 2.0 server: a cheap-to-clone `tower::Service<http::Request<B>>` (see the
/// [module documentation](self)). Build it with [`ScimServer::builder`].
///
/// It is the [layers](layers) stacked around the core service [`ScimCore`]:
/// [`TimeoutLayer`] → [`TenantLayer`] (base path, tenant) → [`AuthLayer`] →
/// [`BodyLimitLayer`] → [`ScimCore`].
#[derive(Clone)]
pub struct ScimServer {
    pub(crate) inner: Arc<Inner>,
    stack: Stack,
    base_path: String,
}

/// The layers of [`ScimServer`] around [`ScimCore`].
type Stack = TimeoutService<
    TenantService<dyn TenantResolver, AuthService<dyn Authenticator, BodyLimitService<ScimCore>>>,
>;

impl fmt::Debug for ScimServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScimServer")
            .field("base_path", &self.base_path)
            .field(
                "resource_types",
                &self
                    .inner
                    .registry
                    .resource_types()
                    .map(|r| r.name.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) provisioning: Vec<Arc<dyn Provisioning>>,
    pub(crate) registry: SchemaRegistry,
    pub(crate) uniqueness: HashMap<String, UniquenessPolicy>,
    pub(crate) public_url: Option<String>,
    pub(crate) max_body_bytes: usize,
    pub(crate) validation: ValidationOptions,
    pub(crate) patch: PatchOptions,
    pub(crate) limits: PlannerLimits,
    pub(crate) default_page_size: u64,
    /// `bulk.maxOperations`; 0 turns `/Bulk` off.
    pub(crate) bulk_max_operations: usize,
    /// `bulk.maxPayloadSize` in bytes: the body limit of `/Bulk`.
    pub(crate) bulk_max_payload_size: usize,
    /// The cache of rendered resources; `None` when turned off.
    pub(crate) rendered: Option<rendered::RenderedCache>,
    /// What each resource type returns to a request that names no attributes.
    pub(crate) defaults: handlers::defaults::DefaultsTable,
}

impl ScimServer {
    /// A builder; [`ScimServerBuilder::storage`] and [`ScimServerBuilder::authenticator`]
    /// are required.
    pub fn builder() -> ScimServerBuilder {
        ScimServerBuilder::default()
    }

    /// The schemas and resource types this server serves.
    pub fn registry(&self) -> &SchemaRegistry {
        &self.inner.registry
    }

    /// The validation preset this server applies, when its options are exactly one preset's
    /// (`None` when they were adjusted one by one).
    pub fn validation_mode(&self) -> Option<ValidationMode> {
        [ValidationMode::Strict, ValidationMode::Lenient]
            .into_iter()
            .find(|m| {
                self.inner.validation == ValidationOptions::new(*m)
                    && self.inner.patch == PatchOptions::from(*m)
            })
    }
}

/// What [`ScimServerBuilder::build`] refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No storage backend was given.
    #[error("a ScimServer needs a storage backend (ScimServerBuilder::storage)")]
    MissingStorage,
    /// No authenticator was given.
    #[error("a ScimServer needs an authenticator (ScimServerBuilder::authenticator)")]
    MissingAuthenticator,
    /// The base path is not `/` or a path starting with `/`.
    #[error("the base path {0:?} must start with '/'")]
    BadBasePath(String),
}

/// Builds a [`ScimServer`].
#[derive(Default)]
pub struct ScimServerBuilder {
    storage: Option<Arc<dyn Storage>>,
    authenticator: Option<Arc<dyn Authenticator>>,
    provisioning: Vec<Arc<dyn Provisioning>>,
    registry: Option<SchemaRegistry>,
    tenants: Option<Arc<dyn TenantResolver>>,
    base_path: Option<String>,
    public_url: Option<String>,
    max_body_bytes: Option<usize>,
    validation: Option<ValidationOptions>,
    patch: Option<PatchOptions>,
    limits: Option<PlannerLimits>,
    default_page_size: Option<u64>,
    bulk_max_operations: Option<usize>,
    bulk_max_payload_size: Option<usize>,
    timeout: Option<Duration>,
    rendered_cache_bytes: Option<u64>,
}

impl fmt::Debug for ScimServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScimServerBuilder")
            .field("base_path", &self.base_path)
            .finish_non_exhaustive()
    }
}

impl ScimServerBuilder {
    /// The storage backend (required).
    pub fn storage(mut self, storage: Arc<dyn Storage>) -> Self {
        self.storage = Some(storage);
        self
    }

    /// The authenticator (required), e.g. [`BearerTokens`](crate::auth::BearerTokens) or
    /// [`auth_fn`](crate::auth::auth_fn).
    pub fn authenticator(mut self, authenticator: impl Authenticator) -> Self {
        self.authenticator = Some(Arc::new(authenticator));
        self
    }

    /// Adds a provisioning backend; backends are called in the order they were added.
    pub fn provisioning(mut self, backend: impl Provisioning) -> Self {
        self.provisioning.push(Arc::new(backend));
        self
    }

    /// The schemas and resource types (default: [`SchemaRegistry::with_builtins`], i.e.
    /// User with the enterprise extension at `/Users` and Group at `/Groups`).
    pub fn registry(mut self, registry: SchemaRegistry) -> Self {
        self.registry = Some(registry);
        self
    }

    /// How the tenant of a request is found (default: [`SingleTenant`]).
    pub fn tenant_resolver(mut self, resolver: impl TenantResolver) -> Self {
        self.tenants = Some(Arc::new(resolver));
        self
    }

    /// The path the SCIM endpoints live under, e.g. `/scim/v2` (default `/`).
    pub fn base_path(mut self, path: impl Into<String>) -> Self {
        self.base_path = Some(path.into());
        self
    }

    /// The public URL of the base path (e.g. `https://scim.example.com/scim/v2`), used in
    /// `Location` and `meta.location`. Without it they are built from the request's `Host`
    /// header (`http://` unless `X-Forwarded-Proto: https`).
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into());
        self
    }

    /// The request body limit in bytes (default [`DEFAULT_MAX_BODY_BYTES`]); larger bodies
    /// get 413.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = Some(limit);
        self
    }

    /// Validation of POST and PUT bodies (default: lenient, for Entra and Okta). To choose a
    /// whole preset, PATCH included, use [`validation_mode`](Self::validation_mode).
    pub fn validation(mut self, options: ValidationOptions) -> Self {
        self.validation = Some(options);
        self
    }

    /// Chooses a validation preset for every request body: POST, PUT and Bulk bodies get
    /// [`ValidationOptions::new(mode)`](ValidationOptions::new) and PATCH requests
    /// [`PatchOptions::from(mode)`](PatchOptions) (strict: exactly RFC 7644 §3.5.2;
    /// lenient: the Entra ID and Okta forms too). The default is
    /// [`ValidationMode::Lenient`]. A later [`validation`](Self::validation) or
    /// [`patch_options`](Self::patch_options) call overrides its half.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use scim_core::validation::ValidationMode;
    /// use scim_server::ScimServer;
    /// use scim_server::auth::BearerTokens;
    /// use scim_server::storage::memory::MemoryStorage;
    ///
    /// // e.g. from a `--validation strict|lenient` flag
    /// let mode: ValidationMode = "strict".parse().unwrap();
    /// let server = ScimServer::builder()
    ///     .storage(Arc::new(MemoryStorage::new()))
    ///     .authenticator(BearerTokens::single("a-long-generated-secret-token").unwrap())
    ///     .validation_mode(mode)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(server.validation_mode(), Some(ValidationMode::Strict));
    /// ```
    pub fn validation_mode(mut self, mode: ValidationMode) -> Self {
        self.validation = Some(ValidationOptions::new(mode));
        self.patch = Some(PatchOptions::from(mode));
        self
    }

    /// PATCH compatibility switches (default: all on).
    pub fn patch_options(mut self, options: PatchOptions) -> Self {
        self.patch = Some(options);
        self
    }

    /// Query planner limits (maximum page size, maximum in-memory candidates).
    pub fn planner_limits(mut self, limits: PlannerLimits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// The page size of a list request without `count` (default [`DEFAULT_PAGE_SIZE`],
    /// capped at the planner's maximum page size).
    pub fn default_page_size(mut self, size: u64) -> Self {
        self.default_page_size = Some(size);
        self
    }

    /// `bulk.maxOperations` (default [`DEFAULT_BULK_MAX_OPERATIONS`]): a `/Bulk` request
    /// with more operations gets 413 (RFC 7644 §3.7.4). 0 turns bulk off:
    /// `bulk.supported` is then false and `/Bulk` answers 501.
    pub fn bulk_max_operations(mut self, max: usize) -> Self {
        self.bulk_max_operations = Some(max);
        self
    }

    /// `bulk.maxPayloadSize` in bytes (default [`DEFAULT_BULK_MAX_PAYLOAD_SIZE`]): the body
    /// limit of `/Bulk` (instead of [`max_body_bytes`](Self::max_body_bytes)); a larger
    /// body gets 413 (RFC 7644 §3.7.4).
    pub fn bulk_max_payload_size(mut self, bytes: usize) -> Self {
        self.bulk_max_payload_size = Some(bytes);
        self
    }

    /// The longest a request may take (default [`DEFAULT_TIMEOUT`], 30 s); a request that
    /// takes longer is abandoned and answered with a 503 SCIM error
    /// ([`TimeoutLayer`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The bound, in bytes, of the cache of rendered resources (default
    /// [`DEFAULT_RENDERED_CACHE_BYTES`]; 0 turns it off). A GET of one resource, or a list,
    /// without `attributes` or `excludedAttributes` keeps the JSON of each resource it
    /// returns; the next one asks the storage for the versions only and, while a version is
    /// the same, returns the kept JSON without reading, parsing and serialising the resource
    /// again.
    /// Every change to a resource changes its version, so a kept rendering is never returned
    /// for a changed resource, with one server or several over one database.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use scim_server::ScimServer;
    /// use scim_server::auth::BearerTokens;
    /// use scim_server::storage::memory::MemoryStorage;
    ///
    /// let server = ScimServer::builder()
    ///     .storage(Arc::new(MemoryStorage::new()))
    ///     .authenticator(BearerTokens::single("a-long-generated-secret-token").unwrap())
    ///     .rendered_cache_bytes(256 * 1024 * 1024)
    ///     .build()
    ///     .unwrap();
    /// # let _ = server;
    /// ```
    pub fn rendered_cache_bytes(mut self, bytes: u64) -> Self {
        self.rendered_cache_bytes = Some(bytes);
        self
    }

    /// Builds the server: the [layers](layers) around the core service.
    pub fn build(mut self) -> Result<ScimServer, BuildError> {
        if self.storage.is_none() {
            return Err(BuildError::MissingStorage);
        }
        let authenticator = self
            .authenticator
            .take()
            .ok_or(BuildError::MissingAuthenticator)?;
        let base_path = normalise_base_path(self.base_path.as_deref().unwrap_or("/"))?;
        let tenants = self
            .tenants
            .take()
            .unwrap_or_else(|| Arc::new(SingleTenant));
        let timeout = self.timeout.take().unwrap_or(DEFAULT_TIMEOUT);
        let core = self.build_core()?;
        let inner = core.inner.clone();
        let stack = tower::ServiceBuilder::new()
            .layer(TimeoutLayer::new(timeout))
            .layer(TenantLayer::from_arc(tenants).base_path(&base_path))
            .layer(AuthLayer::from_arc(authenticator))
            .layer(
                BodyLimitLayer::new(inner.max_body_bytes)
                    .bulk(inner.bulk_max_operations, inner.bulk_max_payload_size),
            )
            .service(core);
        Ok(ScimServer {
            inner,
            stack,
            base_path,
        })
    }

    /// Builds only the core service, [`ScimCore`]: routing and handlers, for stacking the
    /// [layers](layers) (or layers of your own) around it by hand. The authenticator,
    /// tenant resolver, base path and timeout of this builder are not used (they are the
    /// layers' business), and an authenticator is not required: `ScimCore` serves only
    /// requests that carry an [`AuthContext`](crate::auth::AuthContext) and a
    /// [`RequestTenant`](layers::RequestTenant) in their extensions.
    pub fn build_core(self) -> Result<ScimCore, BuildError> {
        let storage = self.storage.ok_or(BuildError::MissingStorage)?;
        let registry = self.registry.unwrap_or_else(SchemaRegistry::with_builtins);
        let uniqueness = registry
            .resource_schemas()
            .map(|s| {
                (
                    s.name().to_ascii_lowercase(),
                    UniquenessPolicy::for_schema(s),
                )
            })
            .collect();
        let limits = self.limits.unwrap_or_default();
        let default_page_size = self
            .default_page_size
            .unwrap_or(DEFAULT_PAGE_SIZE)
            .min(limits.max_page_size);
        Ok(ScimCore {
            inner: Arc::new(Inner {
                defaults: handlers::defaults::DefaultsTable::new(&registry),
                storage,
                provisioning: self.provisioning,
                registry,
                uniqueness,
                public_url: self.public_url.map(|u| u.trim_end_matches('/').to_string()),
                max_body_bytes: self.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES),
                validation: self.validation.unwrap_or_default(),
                patch: self.patch.unwrap_or_default(),
                limits,
                default_page_size,
                bulk_max_operations: self
                    .bulk_max_operations
                    .unwrap_or(DEFAULT_BULK_MAX_OPERATIONS),
                bulk_max_payload_size: self
                    .bulk_max_payload_size
                    .unwrap_or(DEFAULT_BULK_MAX_PAYLOAD_SIZE),
                rendered: rendered::RenderedCache::new(
                    self.rendered_cache_bytes
                        .unwrap_or(DEFAULT_RENDERED_CACHE_BYTES),
                ),
            }),
        })
    }
}

/// `/` → ``, `/scim/v2/` → `/scim/v2`.
fn normalise_base_path(path: &str) -> Result<String, BuildError> {
    if !path.starts_with('/') {
        return Err(BuildError::BadBasePath(path.to_string()));
    }
    Ok(path.trim_end_matches('/').to_string())
}
