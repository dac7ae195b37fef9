//! The Notifications Email: critical conditions of a tenant's sync, mailed to the tenant's
//! `notificationsEmail`.
//!
//! Conditions: no free seat of a user plan, the CRM refusing the gateway's credentials, the
//! CRM unreachable for longer than [`MailConfig::unreachable_after`] (counted from the first
//! failure, forgotten at the first success), and one user failing
//! [`MailConfig::user_failures`] times in a row.
//!
//! Deduplication per (tenant, condition) within [`MailConfig::notify_window`]: the first
//! occurrence is mailed at once; later ones within the window are counted and listed in a
//! digest that goes with the next mail once the window has passed ([`tick`] sends it if no
//! new occurrence does). When the condition clears, a recovery mail follows (only if the
//! condition was mailed). The state (`gw_notify_state`) and the mail it causes commit in one
//! transaction.

use chrono::{DateTime, Utc};

use super::outbox::{self, NewMail};
use super::templates::{self, Kind, Vars};
use super::{MailConfig, MailError, parse_stamp, span, stamp};
use crate::db::{Db, Dialect, Tx};
use crate::settings;
use scim_server::TenantId;

/// Lines kept in a digest.
const DIGEST_LINES: usize = 20;

/// A critical condition of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Condition {
    /// A user plan has no free seat.
    SeatsExhausted,
    /// The CRM refuses the gateway's credentials.
    CredentialsRefused,
    /// The CRM cannot be reached.
    CrmUnreachable,
    /// One user (its SCIM id) keeps failing.
    UserFailing(String),
}

impl Condition {
    /// The stored key.
    pub fn key(&self) -> String {
        match self {
            Condition::SeatsExhausted => "seats-exhausted".into(),
            Condition::CredentialsRefused => "credentials-refused".into(),
            Condition::CrmUnreachable => "crm-unreachable".into(),
            Condition::UserFailing(id) => format!("user-failing:{id}"),
        }
    }

    /// The condition of a stored key.
    pub fn from_key(key: &str) -> Option<Condition> {
        Some(match key {
            "seats-exhausted" => Condition::SeatsExhausted,
            "credentials-refused" => Condition::CredentialsRefused,
            "crm-unreachable" => Condition::CrmUnreachable,
            other => Condition::UserFailing(other.strip_prefix("user-failing:")?.to_string()),
        })
    }

    /// For people (the mail's subject).
    pub fn title(&self) -> String {
        match self {
            Condition::SeatsExhausted => "No free seat of a user plan".into(),
            Condition::CredentialsRefused => "The CRM refuses the gateway's credentials".into(),
            Condition::CrmUnreachable => "The CRM is unreachable".into(),
            Condition::UserFailing(_) => "A user keeps failing to sync".into(),
        }
    }
}

fn fmt_time(s: &str) -> String {
    parse_stamp(s).map_or_else(
        || s.to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

struct State {
    first_seen: String,
    notified: bool,
    last_mail_at: Option<String>,
    suppressed: i64,
    digest: String,
}

/// Reads the condition's state for the rest of the transaction. On PostgreSQL an advisory
/// lock on (tenant, condition) first, so two gateway processes never both take a missing row
/// for a first occurrence (SQLite's `BEGIN IMMEDIATE` already serialises writers).
async fn load(tx: &mut Tx, tenant: &TenantId, key: &str) -> Result<Option<State>, MailError> {
    let lock = match tx.dialect() {
        Dialect::Postgres => {
            use sha2::{Digest, Sha256};
            let h = Sha256::digest(format!("notify\0{}\0{key}", tenant.as_str()).as_bytes());
            let mut b = [0_u8; 8];
            b.copy_from_slice(&h[..8]);
            tx.execute(
                "SELECT pg_advisory_xact_lock($1)",
                &[i64::from_be_bytes(b).into()],
            )
            .await?;
            " FOR UPDATE"
        }
        Dialect::Sqlite => "",
    };
    let row = tx
        .query_opt(
            &format!(
                "SELECT first_seen, notified, last_mail_at, suppressed, digest \
                 FROM gw_notify_state WHERE tenant = $1 AND condition = $2{lock}"
            ),
            &[tenant.as_str().into(), key.into()],
        )
        .await?;
    Ok(match row {
        Some(r) => Some(State {
            first_seen: r.text(0)?,
            notified: r.bool(1)?,
            last_mail_at: r.opt_text(2)?,
            suppressed: r.int(3)?,
            digest: r.text(4)?,
        }),
        None => None,
    })
}

fn digest_text(suppressed: i64, digest: &str) -> String {
    if suppressed == 0 {
        return String::new();
    }
    let more = if suppressed as usize > DIGEST_LINES {
        format!("\n  ... and {} more", suppressed as usize - DIGEST_LINES)
    } else {
        String::new()
    };
    format!(
        "{suppressed} further occurrence{} since the last mail (not mailed one by one):\n{digest}{more}",
        if suppressed == 1 { "" } else { "s" }
    )
}

/// Enqueues a notification or recovery mail in `tx` (nothing without a notifications
/// address); returns its id.
#[allow(clippy::too_many_arguments)]
async fn mail(
    tx: &mut Tx,
    config: &MailConfig,
    tenant: &TenantId,
    kind: Kind,
    condition: &Condition,
    detail: &str,
    since: &str,
    digest: String,
) -> Result<Option<i64>, MailError> {
    let settings = match tx
        .query_opt(
            "SELECT json FROM gw_settings WHERE tenant = $1",
            &[tenant.as_str().into()],
        )
        .await?
    {
        Some(r) => r.json::<settings::TenantSettings>(0)?,
        None => settings::TenantSettings::default(),
    };
    let Some(to) = settings.notifications_email else {
        return Ok(None);
    };
    let t = templates::load_tx(tx, tenant).await?;
    let vars = Vars::new()
        .set("tenant", tenant.as_str())
        .set("condition", condition.title())
        .set("detail", detail)
        .set("since", fmt_time(since))
        .set("digest", digest);
    let r = t.render(kind, &vars)?;
    let id = outbox::enqueue_tx(
        tx,
        &NewMail {
            tenant: tenant.as_str().to_string(),
            kind,
            from: t
                .from
                .clone()
                .unwrap_or_else(|| config.default_from.clone()),
            to,
            subject: r.subject,
            text: r.text,
            html: r.html,
            sealed_link: None,
        },
    )
    .await?;
    Ok(Some(id))
}

fn threshold(config: &MailConfig, c: &Condition) -> chrono::Duration {
    match c {
        Condition::CrmUnreachable => span(config.unreachable_after),
        _ => chrono::Duration::zero(),
    }
}

/// What [`raise`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raised {
    /// Mailed now (the first occurrence, the threshold passed, or the window passed).
    Mailed,
    /// Counted for the next digest.
    Suppressed,
    /// Tracked: below the threshold (the CRM unreachable for less than the threshold).
    Pending,
}

/// Records an occurrence of `condition` with `detail` at `now`.
pub async fn raise(
    db: &Db,
    config: &MailConfig,
    tenant: &TenantId,
    condition: &Condition,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<Raised, MailError> {
    let key = condition.key();
    let at = stamp(now);
    let mut tx = db.begin().await?;
    let state = load(&mut tx, tenant, &key).await?;
    let window = span(config.notify_window);
    let (first_seen, outcome) = match &state {
        None => {
            let first = at.clone();
            let due = threshold(config, condition) <= chrono::Duration::zero();
            (first, if due { Raised::Mailed } else { Raised::Pending })
        }
        Some(s) if !s.notified => {
            let since = parse_stamp(&s.first_seen).unwrap_or(now);
            let due = now - since >= threshold(config, condition);
            (
                s.first_seen.clone(),
                if due { Raised::Mailed } else { Raised::Pending },
            )
        }
        Some(s) => {
            let last = s
                .last_mail_at
                .as_deref()
                .and_then(parse_stamp)
                .unwrap_or(now);
            let outcome = if now - last >= window {
                Raised::Mailed
            } else {
                Raised::Suppressed
            };
            (s.first_seen.clone(), outcome)
        }
    };
    let (suppressed, digest) = state
        .as_ref()
        .map_or((0, String::new()), |s| (s.suppressed, s.digest.clone()));
    let (notified, last_mail_at, suppressed, digest) = match outcome {
        Raised::Mailed => {
            mail(
                &mut tx,
                config,
                tenant,
                Kind::Notification,
                condition,
                detail,
                &first_seen,
                digest_text(suppressed, &digest),
            )
            .await?;
            (true, Some(at.clone()), 0, String::new())
        }
        Raised::Suppressed => {
            let mut digest = digest;
            if (suppressed as usize) < DIGEST_LINES {
                digest.push_str(&format!("  {}  {detail}\n", fmt_time(&at)));
            }
            (
                true,
                state.as_ref().and_then(|s| s.last_mail_at.clone()),
                suppressed + 1,
                digest,
            )
        }
        Raised::Pending => (false, None, 0, String::new()),
    };
    tx.execute(
        "INSERT INTO gw_notify_state (tenant, condition, first_seen, notified, last_mail_at, \
         suppressed, digest, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (tenant, condition) DO UPDATE SET notified = excluded.notified, \
         last_mail_at = excluded.last_mail_at, suppressed = excluded.suppressed, \
         digest = excluded.digest, detail = excluded.detail",
        &[
            tenant.as_str().into(),
            key.as_str().into(),
            first_seen.into(),
            notified.into(),
            last_mail_at.into(),
            suppressed.into(),
            digest.into(),
            detail.into(),
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(outcome)
}

/// Clears `condition`: a recovery mail (with the digest of what was not mailed) if it was
/// mailed; `true` when a recovery mail was enqueued.
pub async fn clear(
    db: &Db,
    config: &MailConfig,
    tenant: &TenantId,
    condition: &Condition,
) -> Result<bool, MailError> {
    let key = condition.key();
    let mut tx = db.begin().await?;
    let Some(state) = load(&mut tx, tenant, &key).await? else {
        return Ok(false);
    };
    let detail = tx
        .query_opt(
            "SELECT detail FROM gw_notify_state WHERE tenant = $1 AND condition = $2",
            &[tenant.as_str().into(), key.as_str().into()],
        )
        .await?
        .map(|r| r.text(0))
        .transpose()?
        .unwrap_or_default();
    let mailed = if state.notified {
        mail(
            &mut tx,
            config,
            tenant,
            Kind::Recovery,
            condition,
            &detail,
            &state.first_seen,
            digest_text(state.suppressed, &state.digest),
        )
        .await?;
        true
    } else {
        false
    };
    tx.execute(
        "DELETE FROM gw_notify_state WHERE tenant = $1 AND condition = $2",
        &[tenant.as_str().into(), key.into()],
    )
    .await?;
    tx.commit().await?;
    Ok(mailed)
}

/// The tenant's open conditions.
pub async fn open_conditions(db: &Db, tenant: &TenantId) -> Result<Vec<Condition>, MailError> {
    Ok(db
        .query(
            "SELECT condition FROM gw_notify_state WHERE tenant = $1 ORDER BY condition",
            &[tenant.as_str().into()],
        )
        .await?
        .iter()
        .filter_map(|r| r.text(0).ok().and_then(|k| Condition::from_key(&k)))
        .collect())
}

/// The periodic part, for every tenant at `now`: mails a condition whose threshold passed
/// without a new occurrence (the CRM still unreachable), and the digest of a condition whose
/// window passed with suppressed occurrences. Returns the mails enqueued.
pub async fn tick(db: &Db, config: &MailConfig, now: DateTime<Utc>) -> Result<usize, MailError> {
    let rows = db
        .query(
            "SELECT tenant, condition, first_seen, notified, last_mail_at, suppressed, detail \
             FROM gw_notify_state ORDER BY tenant, condition",
            &[],
        )
        .await?;
    let mut mailed = 0;
    for r in rows {
        let (Some(tenant), Some(condition)) =
            (TenantId::new(&r.text(0)?), Condition::from_key(&r.text(1)?))
        else {
            continue;
        };
        let first_seen = parse_stamp(&r.text(2)?).unwrap_or(now);
        let notified = r.bool(3)?;
        let last_mail = r.opt_text(4)?.as_deref().and_then(parse_stamp);
        let suppressed = r.int(5)?;
        let detail = r.text(6)?;
        let due = if notified {
            suppressed > 0 && last_mail.is_some_and(|t| now - t >= span(config.notify_window))
        } else {
            now - first_seen >= threshold(config, &condition)
        };
        if !due {
            continue;
        }
        if notified {
            // The digest goes out as its own mail; this "occurrence" is the ongoing one.
            flush_digest(db, config, &tenant, &condition, &detail, now).await?;
            mailed += 1;
        } else if raise(db, config, &tenant, &condition, &detail, now).await? == Raised::Mailed {
            mailed += 1;
        }
    }
    Ok(mailed)
}

async fn flush_digest(
    db: &Db,
    config: &MailConfig,
    tenant: &TenantId,
    condition: &Condition,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<(), MailError> {
    let key = condition.key();
    let mut tx = db.begin().await?;
    let Some(s) = load(&mut tx, tenant, &key).await? else {
        return Ok(());
    };
    if s.suppressed == 0 {
        return Ok(());
    }
    mail(
        &mut tx,
        config,
        tenant,
        Kind::Notification,
        condition,
        detail,
        &s.first_seen,
        digest_text(s.suppressed, &s.digest),
    )
    .await?;
    tx.execute(
        "UPDATE gw_notify_state SET last_mail_at = $3, suppressed = 0, digest = '' \
         WHERE tenant = $1 AND condition = $2",
        &[tenant.as_str().into(), key.into(), stamp(now).into()],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// One user's failure in a reconcile batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFailure {
    /// The SCIM user id.
    pub user_id: String,
    /// The error.
    pub message: String,
    /// Which condition the error is, if critical.
    pub condition: Option<Condition>,
    /// Failed attempts in a row, this one included.
    pub attempts: i64,
}

/// What a reconcile batch saw, for [`after_batch`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchEvents {
    /// Users written or found in the desired state (the CRM answered).
    pub succeeded: Vec<String>,
    /// The CRM was unavailable (its error).
    pub unavailable: Option<String>,
    /// Users that failed.
    pub failures: Vec<UserFailure>,
}

impl BatchEvents {
    /// Nothing happened.
    pub fn is_empty(&self) -> bool {
        self.succeeded.is_empty() && self.unavailable.is_none() && self.failures.is_empty()
    }
}

/// The sync's hook: raises and clears the tenant's conditions after a reconcile batch.
pub async fn after_batch(
    db: &Db,
    config: &MailConfig,
    tenant: &TenantId,
    events: &BatchEvents,
    now: DateTime<Utc>,
) -> Result<(), MailError> {
    if events.is_empty() {
        return Ok(());
    }
    if let Some(e) = &events.unavailable {
        raise(db, config, tenant, &Condition::CrmUnreachable, e, now).await?;
    }
    for f in &events.failures {
        let detail = format!("{} (SCIM user {})", f.message, f.user_id);
        if let Some(c) = &f.condition {
            raise(db, config, tenant, c, &detail, now).await?;
        }
        if f.attempts >= config.user_failures {
            let c = Condition::UserFailing(f.user_id.clone());
            let detail = format!(
                "SCIM user {} failed {} times in a row; last error: {}",
                f.user_id, f.attempts, f.message
            );
            raise(db, config, tenant, &c, &detail, now).await?;
        }
    }
    if events.succeeded.is_empty() {
        return Ok(());
    }
    let has = |c: &Condition| {
        events
            .failures
            .iter()
            .any(|f| f.condition.as_ref() == Some(c))
    };
    for open in open_conditions(db, tenant).await? {
        let cleared = match &open {
            Condition::CrmUnreachable => events.unavailable.is_none(),
            Condition::CredentialsRefused => !has(&open),
            Condition::UserFailing(id) => events.succeeded.contains(id),
            Condition::SeatsExhausted => !has(&open) && !seat_errors_pending(db, tenant).await?,
        };
        if cleared {
            clear(db, config, tenant, &open).await?;
        }
    }
    Ok(())
}

/// Does a user of the tenant still wait for a retry after a seats error?
async fn seat_errors_pending(db: &Db, tenant: &TenantId) -> Result<bool, MailError> {
    Ok(db
        .query_opt(
            "SELECT user_id FROM gw_dirty WHERE tenant = $1 AND last_error LIKE 'no free seat%' \
             LIMIT 1",
            &[tenant.as_str().into()],
        )
        .await?
        .is_some())
}

#[cfg(test)]
#[path = "notify_tests.rs"]
mod tests;
