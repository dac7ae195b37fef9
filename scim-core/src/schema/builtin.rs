//! The built-in schemas and resource types of RFC 7643 §8.7 (User, Group, EnterpriseUser, ServiceProviderConfig, ResourceType, Schema).
