//! # gateway-reference
//!
//! `scim-gateway`, a reference Identity Management Gateway for SuperOffice CRM Online,
//! built on [`scim_server`]: Microsoft Entra ID (or Okta) provisions users and groups to a
//! per-tenant SCIM endpoint; ordered User Sync Rules decide whether and how each user
//! becomes a CRM user; a durable sync consumes the SCIM change feed and reconciles the CRM.
//!
//! Modules:
//! - [`db`]: the gateway's own database (SQLite file or PostgreSQL), one SQL text for both.
//! - [`rules`]: the User Sync Rules model, validation and evaluation (pure).
//! - [`preview`]: what a rule set does to a directory of users, and the diff of two (pure).
//! - [`crm`]: the [`crm::Crm`] trait and its backends.
//! - [`settings`]: per-tenant settings; [`log`]: the provisioning log.
//! - [`mail`]: welcome mails with activation links and critical-error notifications over
//!   SMTP, through a durable outbox.
//! - [`tenants`]: tenants, their SCIM tokens and admin tokens (stored hashed).
//! - [`app`]: the HTTP service (SCIM per tenant, [`admin`] API, health, [`metrics`]);
//!   [`config`] and [`cli`]: the `scim-gateway` program.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod admin;
pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
pub mod crm;
pub mod db;
pub mod directory;
pub mod jose;
pub mod log;
pub mod mail;
pub mod metrics;
pub mod preview;
pub mod rules;
pub mod settings;
pub mod sync;
pub mod tenants;
#[doc(hidden)]
pub mod testing;
pub mod ui;
