//! PATCH (RFC 7644 §3.5.2): the `PatchOp` message, its application to a resource with every
//! `scimType` of RFC 7644 §3.12, and switches for the forms Microsoft Entra ID and Okta send.
//!
//! RFC 7644 §3.5.2: "The body of an HTTP PATCH request MUST contain the attribute
//! "Operations", whose value is an array of one or more PATCH operations. [...] A PATCH
//! request, regardless of the number of operations, SHALL be treated as atomic."
//!
//! ```
//! use scim_core::patch::{PatchOptions, PatchRequest};
//! use scim_core::{Resource, builtin};
//!
//! let schema = builtin::group_resource_schema();
//! let mut group = Resource::from_value(serde_json::json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
//!     "id": "e9e30dba", "displayName": "Tour Guides",
//!     "members": [{"value": "2819c223"}, {"value": "902c246b"}]
//! })).unwrap();
//! // Entra removes one member with `path: "members"` and a value list.
//! let req: PatchRequest = serde_json::from_value(serde_json::json!({
//!     "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
//!     "Operations": [{"op": "Remove", "path": "members", "value": [{"value": "902c246b"}]}]
//! })).unwrap();
//! let outcome = req.apply(&mut group, &schema, &PatchOptions::default()).unwrap();
//! assert!(outcome.changed);
//! assert_eq!(group.get("members"), Some(&serde_json::json!([{"value": "2819c223"}])));
//! ```

mod apply;
mod compat;
mod helpers;
mod normalize;
mod remove;
mod request;
mod target;

pub use apply::{PatchOutcome, apply_patch};
pub use compat::PatchOptions;
pub use request::{PATCH_OP_SCHEMA, PatchOpKind, PatchOperation, PatchRequest};
