//! Schemas as data: attribute definitions with every RFC 7643 §7 characteristic, schema
//! documents, resource types and the built-in definitions of RFC 7643 §8.7.

mod attribute;
pub mod builtin;
mod definition;
mod meta;
pub mod registry;
mod service_provider_config;

pub use attribute::{Attribute, AttributeType, JsonForm, Mutability, Returned, Uniqueness};
pub use definition::{
    ResolvedAttribute, ResourceSchema, ResourceType, Schema, SchemaExtension, common_attributes,
    default_sub_attribute,
};
pub use meta::Meta;
pub use registry::SchemaRegistry;
pub use service_provider_config::{
    AuthenticationScheme, BulkConfig, FilterConfig, PaginationConfig, PaginationMethod,
    ServiceProviderConfig, Supported,
};

/// `urn:ietf:params:scim:schemas:core:2.0:User`.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// `urn:ietf:params:scim:schemas:core:2.0:Group`.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// `urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig`.
pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
/// `urn:ietf:params:scim:schemas:core:2.0:ResourceType`.
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
/// `urn:ietf:params:scim:schemas:core:2.0:Schema`.
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
/// The schema Microsoft Entra ID lists in group creates
/// (`http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group`).
pub const ENTRA_GROUP_SCHEMA: &str =
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";
