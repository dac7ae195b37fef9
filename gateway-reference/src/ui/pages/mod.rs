//! The Identity Manager's pages, one module per page.

pub mod tenants;
