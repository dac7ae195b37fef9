//! # scim-core
//!
//! The SCIM 2.0 model with no I/O: schemas and attribute characteristics (RFC 7643), resources,
//! the full filter and path grammar (RFC 7644 §3.4.2.2), PATCH semantics (RFC 7644 §3.5.2),
//! projection, sorting, paging, validation, protocol messages and the SCIM error type
//! (RFC 7644 §3.12).
//!
//! ```
//! use scim_core::{Filter, Resource, builtin};
//!
//! let schema = builtin::user_resource_schema();
//! let filter: Filter = r#"userName eq "bjensen" and emails[type eq "work"]"#.parse().unwrap();
//! let user = Resource::from_value(serde_json::json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "userName": "BJensen",
//!     "emails": [{"value": "bjensen@example.com", "type": "work"}]
//! })).unwrap();
//! // userName is caseExact=false in RFC 7643 §4.1, so "BJensen" matches "bjensen".
//! assert!(filter.matches(&user, &schema));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod casefold;
pub mod error;
pub mod filter;
pub mod messages;
pub mod patch;
pub mod path;
pub mod projection;
pub mod resource;
pub mod schema;
pub mod sort;
pub mod validation;

pub use error::{ScimError, ScimResult, ScimType};
pub use filter::{CompValue, CompareOp, Filter};
pub use path::{AttrPath, PatchPath};
pub use resource::Resource;
pub use schema::builtin;

/// The README's examples run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
