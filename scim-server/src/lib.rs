//! # scim-server
//!
//! An embeddable SCIM 2.0 server (RFC 7644) built on [`scim_core`]: a storage abstraction with
//! filter pushdown, tenant scoping, optimistic concurrency and store-enforced uniqueness, with
//! in-memory and SQLite backends.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod storage;
pub mod tenant;
pub mod auth;
pub mod provisioning;
pub mod server;

pub use server::ScimServer;
