//! The Identity Manager's pages, one module per page.

pub mod log;
pub mod mail;
pub mod preview;
pub mod settings;
pub mod tenants;
