//! Reconcile: for each dirty user, compute the desired CRM state from the mirror and the
//! rules, compare it with what the sync last wrote, and write only the difference.
//!
//! Level-triggered and idempotent: a user is looked up by user name before a create, so a
//! retry after a crash between the CRM write and the record of it never makes a duplicate;
//! an update always states the full desired value of each field it sets.
//!
//! Claiming: a batch of dirty users is claimed with one `UPDATE ... RETURNING` that sets a
//! lease (`next_attempt_at`), so two gateway processes on one PostgreSQL database never work
//! on the same user at once. A user is removed from `gw_dirty` only if no newer change
//! marked it again meanwhile (`since_seq` unchanged).

use std::collections::HashSet;
use std::time::Duration;

use scim_server::TenantId;
use serde_json::{Value, json};

use super::SyncError;
use crate::crm::{Crm, CrmError, Person, UserSettings};
use crate::db::{Db, now};
use crate::log::{self, NewEntry, Outcome, Source};
use crate::mail::{MailContext, notify, welcome};
use crate::rules::{CompiledRules, UserFacts};
use crate::settings::{TenantSettings, UnmatchedPolicy};

/// How long a claim holds before another worker may take the user: a killed process's
/// claims are due again after this. A batch takes well under a second; one that outlives its
/// lease may be worked twice, which is harmless (writes are idempotent: a user is found by
/// name before it is created, and every update states the full desired value).
pub const LEASE: Duration = Duration::from_secs(10);

/// What one [`reconcile_batch`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Users claimed.
    pub claimed: usize,
    /// Users whose CRM state was written (created, updated, retired, reactivated).
    pub written: usize,
    /// Users that failed permanently for now (retried with backoff).
    pub failed: usize,
    /// The CRM is unavailable: the batch stopped and will be retried with backoff.
    pub crm_unavailable: bool,
}

fn at(offset: Duration) -> String {
    let d = chrono::Duration::from_std(offset).unwrap_or(chrono::Duration::zero());
    crate::db::stamp(chrono::Utc::now() + d)
}

/// The longest a user waits after the CRM was unavailable for it: an outage pushes the user
/// that met it back (so one user that always gets a 5xx cannot block the others forever), but
/// after the outage everyone is due again within this.
pub const UNAVAILABLE_BACKOFF_MAX: Duration = Duration::from_secs(60);

/// Exponential backoff: 2 s, 4 s, ... capped at one hour.
pub fn backoff(attempts: i64) -> Duration {
    let exp = u32::try_from(attempts.clamp(0, 12)).unwrap_or(12);
    Duration::from_secs((2_u64 << exp).min(3600))
}

/// The mirror's view of one user.
struct MirrorUser {
    user_name: String,
    active: bool,
    json: Value,
    groups: HashSet<String>,
}

async fn mirror_user(
    db: &Db,
    tenant: &TenantId,
    id: &str,
) -> Result<Option<MirrorUser>, SyncError> {
    Ok(crate::directory::user(db, tenant, id)
        .await?
        .map(|u| MirrorUser {
            user_name: u.user_name,
            active: u.active,
            json: u.resource.unwrap_or(Value::Null),
            groups: u.groups,
        }))
}

/// The CRM person of a SCIM user: the login is the userName (Entra's UPN), the names from
/// `name` (falling back to `displayName`), the email the primary (or first) of `emails`.
pub fn person_of(user_name: &str, user: &Value) -> Person {
    let name = user.get("name");
    let part = |k: &str| {
        name.and_then(|n| n.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let (mut first, mut last) = (part("givenName"), part("familyName"));
    if first.is_none() && last.is_none() {
        if let Some(display) = user.get("displayName").and_then(Value::as_str) {
            let mut words = display.rsplitn(2, ' ');
            last = words.next().map(str::to_string);
            first = words.next().map(str::to_string);
        }
    }
    let emails = user.get("emails").and_then(Value::as_array);
    let email = emails
        .and_then(|list| {
            list.iter()
                .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
                .or_else(|| list.first())
        })
        .and_then(|e| e.get("value"))
        .and_then(Value::as_str)
        .map(str::to_string);
    Person {
        user_name: user_name.to_string(),
        first_name: first.unwrap_or_default(),
        last_name: last.unwrap_or_default(),
        email,
    }
}

/// What the sync last wrote for a user.
struct SyncState {
    associate_id: Option<i64>,
    state: String,
    written: Option<Value>,
}

async fn sync_state(db: &Db, t: &str, id: &str) -> Result<Option<SyncState>, SyncError> {
    let row = db
        .query_opt(
            "SELECT associate_id, state, written_json FROM gw_sync_state \
             WHERE tenant = $1 AND user_id = $2",
            &[t.into(), id.into()],
        )
        .await?;
    row.map(|r| {
        Ok(SyncState {
            associate_id: r.opt_int(0)?,
            state: r.text(1)?,
            written: r.opt_text(2)?.and_then(|s| serde_json::from_str(&s).ok()),
        })
    })
    .transpose()
}

/// The action taken for one user, for the log.
struct Done {
    action: &'static str,
    associate_id: Option<i64>,
    state: &'static str,
    written: Option<Value>,
    reason: String,
    wrote: bool,
}

/// Claims up to `limit` due dirty users of the tenant and reconciles each. Does nothing when
/// User Sync Active is off (the users stay dirty until it is turned on). With the
/// deployment's `mail` settings: a created user gets the welcome mail (with Send Welcome
/// Email on), enqueued in the transaction that records the creation; critical errors and
/// their recovery go to [`notify::after_batch`].
pub async fn reconcile_batch(
    db: &Db,
    crm: &dyn Crm,
    tenant: &TenantId,
    rules: &CompiledRules,
    settings: &TenantSettings,
    limit: usize,
    mail: MailContext<'_>,
) -> Result<ReconcileReport, SyncError> {
    let mut report = ReconcileReport::default();
    let mut events = notify::BatchEvents::default();
    if !settings.user_sync_active {
        return Ok(report);
    }
    let t = tenant.as_str();
    let now_s = now();
    let claimed = db
        .query(
            "UPDATE gw_dirty SET next_attempt_at = $3 WHERE tenant = $1 \
             AND (next_attempt_at IS NULL OR next_attempt_at <= $2) AND user_id IN \
             (SELECT user_id FROM gw_dirty WHERE tenant = $1 \
              AND (next_attempt_at IS NULL OR next_attempt_at <= $2) \
              ORDER BY since_seq, user_id LIMIT $4) \
             RETURNING user_id, since_seq, attempts",
            &[
                t.into(),
                now_s.into(),
                at(LEASE).into(),
                i64::try_from(limit).unwrap_or(i64::MAX).into(),
            ],
        )
        .await?;
    report.claimed = claimed.len();
    let mut claimed: Vec<(String, i64, i64)> = claimed
        .iter()
        .map(|r| Ok::<_, SyncError>((r.text(0)?, r.int(1)?, r.int(2)?)))
        .collect::<Result<_, _>>()?;
    claimed.sort_by_key(|c| c.1);
    let mut rest = claimed.into_iter();
    for (user_id, since, attempts) in rest.by_ref() {
        match reconcile_user(db, crm, tenant, rules, settings, &user_id).await {
            Ok(done) => {
                if done.wrote {
                    report.written += 1;
                    events.succeeded.push(user_id.clone());
                }
                let welcome =
                    (settings.send_welcome_email && done.action == "create").then_some(mail);
                finish(db, tenant, &user_id, since, &done, welcome).await?;
            }
            Err(SyncError::Crm(e)) if e.is_transient() => {
                events.unavailable = Some(e.to_string());
                let wait = backoff(attempts).min(UNAVAILABLE_BACKOFF_MAX);
                retry_later(db, t, &user_id, wait, &e.to_string()).await?;
                log::append(
                    db,
                    tenant,
                    &NewEntry {
                        user_id: Some(&user_id),
                        user_name: None,
                        source: Source::Crm,
                        action: "reconcile",
                        outcome: Outcome::Retrying,
                        reason: Some(&e.to_string()),
                        detail: None,
                    },
                )
                .await?;
                report.crm_unavailable = true;
                break;
            }
            Err(SyncError::Crm(e)) => {
                report.failed += 1;
                let message = e.to_string();
                events.failures.push(notify::UserFailure {
                    user_id: user_id.clone(),
                    message: message.clone(),
                    condition: match e {
                        CrmError::SeatsExhausted { .. } => Some(notify::Condition::SeatsExhausted),
                        CrmError::Unauthorized(_) => Some(notify::Condition::CredentialsRefused),
                        _ => None,
                    },
                    attempts: attempts + 1,
                });
                retry_later(db, t, &user_id, backoff(attempts), &message).await?;
                db.execute(
                    "INSERT INTO gw_sync_state (tenant, user_id, state, error, updated_at) \
                     VALUES ($1, $2, 'error', $3, $4) ON CONFLICT (tenant, user_id) DO UPDATE \
                     SET error = excluded.error, updated_at = excluded.updated_at",
                    &[
                        t.into(),
                        user_id.as_str().into(),
                        message.as_str().into(),
                        now().into(),
                    ],
                )
                .await?;
                log::append(
                    db,
                    tenant,
                    &NewEntry {
                        user_id: Some(&user_id),
                        user_name: None,
                        source: Source::Crm,
                        action: "reconcile",
                        outcome: Outcome::Failure,
                        reason: Some(&message),
                        detail: Some(json!({ "critical": e.is_critical() })),
                    },
                )
                .await?;
            }
            Err(e) => return Err(e),
        }
    }
    // The claims not worked on (the CRM went away) are released at once.
    for (user_id, _, _) in rest {
        db.execute(
            "UPDATE gw_dirty SET next_attempt_at = NULL WHERE tenant = $1 AND user_id = $2",
            &[t.into(), user_id.as_str().into()],
        )
        .await?;
    }
    if let Err(e) = notify::after_batch(db, mail.config, tenant, &events, chrono::Utc::now()).await
    {
        tracing::warn!(tenant = %tenant, error = %e, "notifications: recording the batch failed");
    }
    Ok(report)
}

async fn retry_later(
    db: &Db,
    t: &str,
    user_id: &str,
    wait: Duration,
    error: &str,
) -> Result<(), SyncError> {
    db.execute(
        "UPDATE gw_dirty SET attempts = attempts + 1, next_attempt_at = $3, last_error = $4 \
         WHERE tenant = $1 AND user_id = $2",
        &[t.into(), user_id.into(), at(wait).into(), error.into()],
    )
    .await?;
    Ok(())
}

/// Records what was done and releases the user (unless a newer change marked it again);
/// with `welcome`, enqueues the created user's welcome mail in the same transaction.
async fn finish(
    db: &Db,
    tenant: &TenantId,
    user_id: &str,
    since: i64,
    done: &Done,
    welcome: Option<MailContext<'_>>,
) -> Result<(), SyncError> {
    let t = tenant.as_str();
    let mut tx = db.begin().await?;
    tx.execute(
        "INSERT INTO gw_sync_state (tenant, user_id, associate_id, state, written_json, error, updated_at) \
         VALUES ($1, $2, $3, $4, $5, NULL, $6) ON CONFLICT (tenant, user_id) DO UPDATE SET \
         associate_id = excluded.associate_id, state = excluded.state, \
         written_json = excluded.written_json, error = NULL, updated_at = excluded.updated_at",
        &[
            t.into(),
            user_id.into(),
            done.associate_id.into(),
            done.state.into(),
            done.written.as_ref().map(Value::to_string).into(),
            now().into(),
        ],
    )
    .await?;
    let released = tx
        .execute(
            "DELETE FROM gw_dirty WHERE tenant = $1 AND user_id = $2 AND since_seq = $3",
            &[t.into(), user_id.into(), since.into()],
        )
        .await?;
    if released == 0 {
        // Marked again by a newer change while we worked: due again now.
        tx.execute(
            "UPDATE gw_dirty SET next_attempt_at = NULL WHERE tenant = $1 AND user_id = $2",
            &[t.into(), user_id.into()],
        )
        .await?;
    }
    if done.wrote || done.action != "none" {
        let user_name = done
            .written
            .as_ref()
            .and_then(|w| w.pointer("/person/userName"))
            .and_then(Value::as_str)
            .map(str::to_string);
        log::append_tx(
            &mut tx,
            tenant,
            &NewEntry {
                user_id: Some(user_id),
                user_name: user_name.as_deref(),
                source: if done.wrote {
                    Source::Crm
                } else {
                    Source::Rules
                },
                action: done.action,
                outcome: if done.wrote {
                    Outcome::Success
                } else {
                    Outcome::Skipped
                },
                reason: Some(&done.reason),
                detail: done.written.clone(),
            },
        )
        .await?;
    }
    if let (Some(mail), Some(id)) = (welcome, done.associate_id) {
        welcome_mail(&mut tx, mail, tenant, user_id, id, done).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Enqueues the welcome mail of a created user in `tx`, and logs it.
async fn welcome_mail(
    tx: &mut crate::db::Tx,
    mail: MailContext<'_>,
    tenant: &TenantId,
    user_id: &str,
    associate_id: i64,
    done: &Done,
) -> Result<(), SyncError> {
    let person: Option<Person> = done
        .written
        .as_ref()
        .and_then(|w| w.get("person"))
        .and_then(|p| serde_json::from_value(p.clone()).ok());
    let Some(person) = person else {
        return Err(SyncError::State("a created user without a person".into()));
    };
    let user = welcome::NewUser {
        user_id,
        associate_id,
        user_name: &person.user_name,
        first_name: &person.first_name,
        last_name: &person.last_name,
        email: person.email.as_deref(),
    };
    let queued = welcome::enqueue_tx(tx, mail, tenant, &user).await?;
    log::append_tx(
        tx,
        tenant,
        &NewEntry {
            user_id: Some(user_id),
            user_name: Some(&person.user_name),
            source: Source::Crm,
            action: "welcome-mail",
            outcome: if queued.is_some() {
                Outcome::Success
            } else {
                Outcome::Skipped
            },
            reason: Some(if queued.is_some() {
                "queued in the outbox"
            } else {
                "the user has no email address"
            }),
            detail: queued.map(|id| json!({ "mail": id })),
        },
    )
    .await?;
    Ok(())
}

/// Remembers, before the CRM's create, that the sync creates this user.
async fn mark_creating(db: &Db, t: &str, user_id: &str) -> Result<(), SyncError> {
    db.execute(
        "INSERT INTO gw_sync_state (tenant, user_id, state, updated_at) \
         VALUES ($1, $2, 'creating', $3) ON CONFLICT (tenant, user_id) DO UPDATE \
         SET state = 'creating', updated_at = excluded.updated_at",
        &[t.into(), user_id.into(), now().into()],
    )
    .await?;
    Ok(())
}

fn written_doc(person: &Person, settings: &UserSettings) -> Value {
    json!({ "person": person, "settings": settings })
}

/// Reconciles one user; returns what was done. CRM errors are returned as
/// [`SyncError::Crm`].
async fn reconcile_user(
    db: &Db,
    crm: &dyn Crm,
    tenant: &TenantId,
    rules: &CompiledRules,
    settings: &TenantSettings,
    user_id: &str,
) -> Result<Done, SyncError> {
    let t = tenant.as_str();
    let user = mirror_user(db, tenant, user_id).await?;
    let state = sync_state(db, t, user_id).await?;
    let held = state
        .as_ref()
        .and_then(|s| s.associate_id.filter(|_| s.state != "retired"));
    let retired_id = state
        .as_ref()
        .and_then(|s| s.associate_id.filter(|_| s.state == "retired"));
    let creating = state.as_ref().is_some_and(|s| s.state == "creating");
    let keep = |state: &Option<SyncState>, action: &'static str, reason: &str| Done {
        action,
        associate_id: state.as_ref().and_then(|s| s.associate_id),
        state: match state.as_ref().map(|s| s.state.as_str()) {
            Some("retired") => "retired",
            Some("synced") => "synced",
            Some("freed") => "freed",
            _ => "not-synced",
        },
        written: state.as_ref().and_then(|s| s.written.clone()),
        reason: reason.to_string(),
        wrote: false,
    };

    // Deleted or deactivated in SCIM: retire the CRM user (frees its licences, keeps history).
    let user = match user {
        Some(u) if u.active => u,
        other => {
            let reason = if other.is_some() {
                "active is false in SCIM"
            } else {
                "deleted in SCIM"
            };
            return match held {
                Some(id) => {
                    crm.set_retired(tenant, id, true).await?;
                    Ok(Done {
                        action: "retire",
                        associate_id: Some(id),
                        state: "retired",
                        written: state.and_then(|s| s.written),
                        reason: reason.to_string(),
                        wrote: true,
                    })
                }
                None => Ok(keep(&state, "none", reason)),
            };
        }
    };

    let facts = UserFacts {
        id: user_id,
        user_name: &user.user_name,
        group_external_ids: &user.groups,
        resource: Some(&user.json),
    };
    let outcome = rules.evaluate(&facts);
    if !outcome.synced {
        let reason = "no enabled rule matches";
        let Some(id) = held else {
            return Ok(keep(&state, "none", reason));
        };
        return match settings.unmatched_policy {
            UnmatchedPolicy::Retire => {
                crm.set_retired(tenant, id, true).await?;
                Ok(Done {
                    action: "retire",
                    associate_id: Some(id),
                    state: "retired",
                    written: state.and_then(|s| s.written),
                    reason: reason.into(),
                    wrote: true,
                })
            }
            UnmatchedPolicy::FreeLicence => {
                let person = person_of(&user.user_name, &user.json);
                let free = UserSettings {
                    user_plan: Some(None),
                    ..UserSettings::default()
                };
                crm.update_user(tenant, id, &person, &free).await?;
                Ok(Done {
                    action: "free-licence",
                    associate_id: Some(id),
                    state: "freed",
                    written: Some(written_doc(&person, &free)),
                    reason: reason.into(),
                    wrote: true,
                })
            }
            UnmatchedPolicy::Keep => Ok(keep(&state, "none", reason)),
        };
    }

    let person = person_of(&user.user_name, &user.json);
    let desired = outcome.settings.to_user_settings();
    let doc = written_doc(&person, &desired);
    let reason = format!("rules matched: {}", outcome.matched.join(", "));
    if let Some(id) = held
        && state.as_ref().map(|s| s.state.as_str()) == Some("synced")
        && state.as_ref().and_then(|s| s.written.as_ref()) == Some(&doc)
    {
        return Ok(Done {
            action: "none",
            associate_id: Some(id),
            state: "synced",
            written: Some(doc),
            reason: "the CRM already holds the desired state".into(),
            wrote: false,
        });
    }
    // Find the CRM user: the one we wrote, or one with this user name (after a crash
    // between the CRM's create and our record of it, or a user that existed before).
    let existing = match held.or(retired_id) {
        Some(id) => match crm.get_user(tenant, id).await {
            Ok(u) => Some(u),
            Err(CrmError::NotFound(_)) => crm.find_user(tenant, &person.user_name).await?,
            Err(e) => return Err(e.into()),
        },
        None => crm.find_user(tenant, &person.user_name).await?,
    };
    let (action, crm_user) = match existing {
        Some(u) if u.retired => {
            crm.set_retired(tenant, u.associate_id, false).await?;
            let u = crm
                .update_user(tenant, u.associate_id, &person, &desired)
                .await?;
            ("reactivate", u)
        }
        // A user found by name whose create we had started is ours: it counts as created
        // (the welcome mail), after a crash between the CRM's create and our record of it.
        Some(u) => (
            if creating { "create" } else { "update" },
            crm.update_user(tenant, u.associate_id, &person, &desired)
                .await?,
        ),
        None => {
            if settings.send_welcome_email {
                mark_creating(db, t, user_id).await?;
            }
            ("create", crm.create_user(tenant, &person, &desired).await?)
        }
    };
    Ok(Done {
        action,
        associate_id: Some(crm_user.associate_id),
        state: "synced",
        written: Some(doc),
        reason,
        wrote: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_from_entra_user() {
        let user = json!({
            "userName": "ada@contoso.com",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "a@x.com"}, {"value": "ada@contoso.com", "primary": true}]
        });
        let p = person_of("ada@contoso.com", &user);
        assert_eq!(p.first_name, "Ada");
        assert_eq!(p.last_name, "Lovelace");
        assert_eq!(p.email.as_deref(), Some("ada@contoso.com"));
        let p = person_of("x@y", &json!({"displayName": "Grace Brewster Hopper"}));
        assert_eq!(
            (p.first_name.as_str(), p.last_name.as_str()),
            ("Grace Brewster", "Hopper")
        );
    }

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff(0), Duration::from_secs(2));
        assert_eq!(backoff(1), Duration::from_secs(4));
        assert_eq!(backoff(40), Duration::from_secs(3600));
    }
}
