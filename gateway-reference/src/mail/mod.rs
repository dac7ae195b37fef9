//! Mail: the welcome mail of each new CRM user and the Notifications Email of critical errors,
//! sent over SMTP through a durable outbox in the gateway's database.
//!
//! - [`outbox`]: every mail is a row first (enqueued in the transaction of what causes it), then
//!   claimed with a lease, sent, and marked sent; failures are retried with backoff and end as
//!   `failed`, visible in the admin API.
//! - [`smtp`]: the SMTP transport (`lettre`): STARTTLS, implicit TLS or plain, AUTH.
//! - [`templates`]: per-tenant from-address and templates (plain text and HTML).
//! - [`welcome`]: single-use, expiring activation links and the `/activate/{token}` page.
//! - [`notify`]: critical conditions, deduplicated per tenant within a window, with a digest
//!   of what was suppressed and a recovery mail.
//! - [`worker`]: the loop that sends due mails and escalates conditions.

pub mod activate;
pub mod notify;
pub mod outbox;
pub mod smtp;
pub mod templates;
pub mod welcome;
pub mod worker;

use std::time::Duration;

pub use smtp::{SmtpConfig, TlsMode};

/// The default from-address of a tenant without its own.
pub const DEFAULT_FROM: &str = "scim-gateway <no-reply@localhost>";

/// The deployment's mail settings (`[mail]` and `[smtp]` in the configuration file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailConfig {
    /// The gateway's public base URL (the welcome links point to `{public_url}/activate/...`).
    pub public_url: String,
    /// The from-address of tenants that set none.
    pub default_from: String,
    /// How long a welcome link stays valid (default 7 days).
    pub link_ttl: Duration,
    /// Within this window a condition is mailed once per tenant (default 1 hour).
    pub notify_window: Duration,
    /// The CRM must be unreachable this long before it is notified (default 10 minutes).
    pub unreachable_after: Duration,
    /// A user failing this many times in a row is notified (default 5).
    pub user_failures: i64,
    /// Attempts to send one mail before it is marked failed (default 8).
    pub max_attempts: i64,
    /// The SMTP server; `None` keeps mails queued in the outbox.
    pub smtp: Option<SmtpConfig>,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            public_url: "http://127.0.0.1:8080".into(),
            default_from: DEFAULT_FROM.into(),
            link_ttl: Duration::from_secs(7 * 24 * 3600),
            notify_window: Duration::from_secs(3600),
            unreachable_after: Duration::from_secs(600),
            user_failures: 5,
            max_attempts: 8,
            smtp: None,
        }
    }
}

/// What enqueuing a welcome mail needs: the deployment's mail settings and its key (the
/// link's token waits in the outbox sealed with it, see [`outbox::seal_link`]).
#[derive(Debug, Clone, Copy)]
pub struct MailContext<'a> {
    /// The mail settings.
    pub config: &'a MailConfig,
    /// The deployment's key.
    pub keys: &'a crate::crm::connections::Keys,
}

/// Why a mail operation failed.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The gateway's database failed.
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    /// An address, a template or a message could not be built.
    #[error("invalid mail: {0}")]
    Invalid(String),
    /// A welcome link could not be sealed or opened with the deployment's key.
    #[error("the welcome link's seal: {0}")]
    Seal(#[source] crate::crm::connections::ConnectionError),
    /// The SMTP server could not be used (the message never holds the password).
    #[error("SMTP: {message}")]
    Smtp {
        /// What happened.
        message: String,
        /// The server refused the mail for good (a 5xx reply): retrying will not help.
        permanent: bool,
    },
}

pub(crate) use crate::db::stamp;

/// A stored time, parsed.
pub(crate) fn parse_stamp(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// `d` as a chrono duration (saturating).
pub(crate) fn span(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// The first value of a mailbox list that looks like an address, for the `To` of a user's
/// mail: the person's email, else a user name that is an address (Entra's UPN).
pub fn recipient(email: Option<&str>, user_name: &str) -> Option<String> {
    email
        .filter(|e| e.contains('@'))
        .or(Some(user_name).filter(|u| u.contains('@')))
        .map(|s| s.trim().to_string())
}

impl From<MailError> for crate::sync::SyncError {
    fn from(e: MailError) -> Self {
        match e {
            MailError::Db(db) => crate::sync::SyncError::Db(db),
            other => crate::sync::SyncError::State(other.to_string()),
        }
    }
}
