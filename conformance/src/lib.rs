//! # conformance
//!
//! `scim-conformance`: a SCIM 2.0 conformance suite that checks any endpoint over HTTP against
//! RFC 7643 / RFC 7644 and the documented traffic of real clients (Microsoft Entra ID, Okta).
//!
//! A run starts with discovery (`/ServiceProviderConfig`, `/ResourceTypes`), which decides
//! which checks run and which are skipped with a reason; each check then creates what it needs,
//! checks one rule, and deletes what it created.
//!
//! ```no_run
//! use conformance::{Credentials, Suite, SuiteConfig};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let config = SuiteConfig::new("http://127.0.0.1:8080/scim/v2")
//!     .credentials(Credentials::bearer("secret"))
//!     .only("users.*");
//! let report = Suite::new(config).run().await?;
//! assert!(report.success(), "{}", conformance::report::text::render(&report));
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod catalogue;
pub mod check;
pub mod client;
pub mod context;
pub mod discovery;
pub mod glob;
pub mod json;
pub mod outcome;
pub mod report;
pub mod suite;

pub use check::{Check, ClientProfile, Feature, Level, Profile};
pub use client::Credentials;
pub use discovery::{DiscoveryError, ServerFeatures};
pub use outcome::Outcome;
pub use suite::{CheckReport, Report, Suite, SuiteConfig};

/// The README's Rust examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
