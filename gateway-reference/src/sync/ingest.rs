//! Ingest: reads a tenant's SCIM change feed and keeps the directory mirror (`gw_users`,
//! `gw_groups`, `gw_members`) up to date, marking exactly the users each change affects as
//! dirty (`gw_dirty`) for the reconciler.
//!
//! One page of changes is applied in one transaction of the gateway's database together
//! with the new feed position, so after a crash the page is either applied with its
//! position or not at all, and re-reading it is harmless (the mirror is rebuilt from the
//! resources' current state: level-triggered). Which users a change affects:
//! - a User created, replaced, modified or deleted: that user;
//! - a Group's membership changed: the members added and removed (the difference between
//!   the mirror and the group's current members), not the whole group;
//! - a Group created or deleted, or its `externalId` changed (rules name groups by it): its
//!   members (old and new).
//!
//! On PostgreSQL, several gateway processes may ingest the same tenant: the position row is
//! locked (`FOR UPDATE SKIP LOCKED`), so one process applies each page and the others skip.

use std::collections::{BTreeSet, HashMap, HashSet};

use scim_core::Resource;
use scim_core::schema::SchemaRegistry;
use scim_server::storage::{ChangeKind, Load, Scope, StorageErrorKind};
use scim_server::{Storage, TenantId};
use serde_json::Value;

use super::SyncError;
use crate::db::{Db, Dialect, Tx, now};
use crate::log::{self, NewEntry, Outcome, Source};

/// What one [`ingest_page`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Changes read from the feed.
    pub changes: usize,
    /// Users marked dirty.
    pub dirty: usize,
    /// The feed position after the page.
    pub position: u64,
    /// Another process holds the tenant's position (PostgreSQL); nothing was done.
    pub busy: bool,
}

/// The user attributes the mirror keeps in columns.
struct UserRow {
    user_name: String,
    display_name: Option<String>,
    external_id: Option<String>,
    active: bool,
    json: String,
    version: u64,
}

fn str_attr(resource: &Resource, name: &str) -> Option<String> {
    resource
        .get(name)
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn user_row(resource: &Resource, version: u64) -> UserRow {
    let display_name = str_attr(resource, "displayName").or_else(|| {
        let name = resource.get("name")?;
        let formatted = name.get("formatted").and_then(Value::as_str);
        formatted.map(str::to_string).or_else(|| {
            let given = name.get("givenName").and_then(Value::as_str).unwrap_or("");
            let family = name.get("familyName").and_then(Value::as_str).unwrap_or("");
            let full = format!("{given} {family}").trim().to_string();
            (!full.is_empty()).then_some(full)
        })
    });
    UserRow {
        user_name: str_attr(resource, "userName").unwrap_or_default(),
        display_name,
        external_id: str_attr(resource, "externalId"),
        // RFC 7643 §4.1.1: a user without `active` is not said to be inactive.
        active: resource
            .get("active")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        json: Value::Object(resource.as_map().clone()).to_string(),
        version,
    }
}

fn member_ids(resource: &Resource) -> BTreeSet<String> {
    resource
        .get("members")
        .and_then(Value::as_array)
        .map(|members| {
            members
                .iter()
                .filter_map(|m| m.get("value").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Reads at most `limit` changes of `tenant` after the recorded position and applies them.
pub async fn ingest_page(
    storage: &dyn Storage,
    registry: &SchemaRegistry,
    db: &Db,
    tenant: &TenantId,
    limit: usize,
) -> Result<IngestReport, SyncError> {
    let t = tenant.as_str();
    let lock = match db.dialect() {
        Dialect::Postgres => {
            "SELECT seq FROM gw_feed_positions WHERE tenant = $1 FOR UPDATE SKIP LOCKED"
        }
        Dialect::Sqlite => "SELECT seq FROM gw_feed_positions WHERE tenant = $1",
    };
    let mut tx = db.begin().await?;
    let mut row = tx.query_opt(lock, &[t.into()]).await?;
    if row.is_none() {
        // The tenant's first pass (or, on PostgreSQL, another process holds the row): make
        // sure the row exists, then look again; only a held row stays `None`.
        drop(tx);
        db.execute(
            "INSERT INTO gw_feed_positions (tenant, seq, updated_at) VALUES ($1, 0, $2) \
             ON CONFLICT (tenant) DO NOTHING",
            &[t.into(), now().into()],
        )
        .await?;
        tx = db.begin().await?;
        row = tx.query_opt(lock, &[t.into()]).await?;
    }
    let Some(row) = row else {
        return Ok(IngestReport {
            busy: true,
            ..IngestReport::default()
        });
    };
    let position = u64::try_from(row.int(0)?).unwrap_or(0);
    let changes = match storage.changes_since(tenant, position, limit).await {
        Ok(c) => c,
        Err(e) if matches!(e.kind(), StorageErrorKind::ChangesPruned { .. }) => {
            // The feed was pruned past our position (it is pruned only through the position
            // every consumer recorded, so this means a restored or copied database): rebuild
            // the mirror from the current resources instead of skipping changes.
            let last = storage.last_change(tenant).await?;
            let dirty = rebuild(&mut tx, storage, registry, tenant).await?;
            set_position(&mut tx, t, last).await?;
            tx.commit().await?;
            return Ok(IngestReport {
                changes: 0,
                dirty,
                position: last,
                busy: false,
            });
        }
        Err(e) => return Err(e.into()),
    };
    let Some(last) = changes.last().map(|c| c.seq) else {
        return Ok(IngestReport {
            position,
            ..IngestReport::default()
        });
    };
    // Coalesce: the page's changes per resource; the mirror takes each resource's current state.
    let mut latest: HashMap<(String, String), (ChangeKind, u64)> = HashMap::new();
    for c in &changes {
        let e = latest
            .entry((c.resource_type.clone(), c.id.clone()))
            .or_insert((c.kind, c.seq));
        if c.kind == ChangeKind::Created || e.0 != ChangeKind::Created {
            *e = (c.kind, c.seq);
        } else {
            e.1 = c.seq;
        }
    }
    let mut dirty: HashMap<String, u64> = HashMap::new();
    let mut entries: Vec<(String, Option<String>, &'static str)> = Vec::new();
    let mut group_entries: Vec<(String, &'static str)> = Vec::new();
    for ((rtype, id), (kind, seq)) in &latest {
        match rtype.as_str() {
            "User" => {
                let Some(schema) = registry.resource_schema("User") else {
                    continue;
                };
                let scope = Scope::new(tenant, schema);
                let name = match storage.get(scope, id, Load::WITHOUT_MEMBERS).await {
                    Ok(stored) => {
                        let row = user_row(&stored.resource, stored.version);
                        let name = row.user_name.clone();
                        upsert_user(&mut tx, t, id, &row).await?;
                        Some(name)
                    }
                    Err(e) if matches!(e.kind(), StorageErrorKind::NotFound) => {
                        delete_user(&mut tx, t, id).await?
                    }
                    Err(e) => return Err(e.into()),
                };
                dirty.insert(id.clone(), *seq);
                entries.push((id.clone(), name, user_action(*kind)));
            }
            "Group" => {
                let Some(schema) = registry.resource_schema("Group") else {
                    continue;
                };
                let scope = Scope::new(tenant, schema);
                let before = mirrored_members(&mut tx, t, id).await?;
                let old_external = group_external_id(&mut tx, t, id).await?;
                let (after, external, exists) = match storage.get(scope, id, Load::ALL).await {
                    Ok(stored) => {
                        let r = &stored.resource;
                        let external = str_attr(r, "externalId");
                        tx.execute(
                            "INSERT INTO gw_groups (tenant, id, display_name, external_id, version) \
                             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant, id) DO UPDATE SET \
                             display_name = excluded.display_name, \
                             external_id = excluded.external_id, version = excluded.version",
                            &[
                                t.into(),
                                id.into(),
                                str_attr(r, "displayName").unwrap_or_default().into(),
                                external.clone().into(),
                                stored.version.into(),
                            ],
                        )
                        .await?;
                        (member_ids(r), external, true)
                    }
                    Err(e) if matches!(e.kind(), StorageErrorKind::NotFound) => {
                        tx.execute(
                            "DELETE FROM gw_groups WHERE tenant = $1 AND id = $2",
                            &[t.into(), id.into()],
                        )
                        .await?;
                        (BTreeSet::new(), None, false)
                    }
                    Err(e) => return Err(e.into()),
                };
                for gone in before.difference(&after) {
                    tx.execute(
                        "DELETE FROM gw_members WHERE tenant = $1 AND group_id = $2 AND user_id = $3",
                        &[t.into(), id.into(), gone.into()],
                    )
                    .await?;
                    dirty.insert(gone.clone(), *seq);
                }
                for new in after.difference(&before) {
                    tx.execute(
                        "INSERT INTO gw_members (tenant, group_id, user_id) VALUES ($1, $2, $3) \
                         ON CONFLICT DO NOTHING",
                        &[t.into(), id.into(), new.into()],
                    )
                    .await?;
                    dirty.insert(new.clone(), *seq);
                }
                // Rules name groups by externalId: when it changes (or the group comes or
                // goes), every member's outcome may change.
                if old_external != external || !exists {
                    for m in before.union(&after) {
                        dirty.insert(m.clone(), *seq);
                    }
                }
                group_entries.push((id.clone(), group_action(*kind)));
            }
            _ => {}
        }
    }
    for (user_id, seq) in &dirty {
        tx.execute(
            "INSERT INTO gw_dirty (tenant, user_id, since_seq) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant, user_id) DO UPDATE SET since_seq = excluded.since_seq, \
             next_attempt_at = NULL, attempts = 0",
            &[t.into(), user_id.into(), (*seq).into()],
        )
        .await?;
    }
    for (user_id, user_name, action) in &entries {
        log::append_tx(
            &mut tx,
            tenant,
            &NewEntry {
                user_id: Some(user_id),
                user_name: user_name.as_deref(),
                source: Source::Scim,
                action,
                outcome: Outcome::Success,
                reason: None,
                detail: None,
            },
        )
        .await?;
    }
    for (group_id, action) in &group_entries {
        log::append_tx(
            &mut tx,
            tenant,
            &NewEntry {
                user_id: None,
                user_name: None,
                source: Source::Scim,
                action,
                outcome: Outcome::Success,
                reason: None,
                detail: Some(serde_json::json!({ "group": group_id })),
            },
        )
        .await?;
    }
    set_position(&mut tx, t, last).await?;
    tx.commit().await?;
    Ok(IngestReport {
        changes: changes.len(),
        dirty: dirty.len(),
        position: last,
        busy: false,
    })
}

fn user_action(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Created => "scim-user-created",
        ChangeKind::Replaced | ChangeKind::Modified | ChangeKind::Members => "scim-user-updated",
        ChangeKind::Deleted => "scim-user-deleted",
    }
}

fn group_action(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Created => "scim-group-created",
        ChangeKind::Members => "scim-group-members",
        ChangeKind::Replaced | ChangeKind::Modified => "scim-group-updated",
        ChangeKind::Deleted => "scim-group-deleted",
    }
}

async fn set_position(tx: &mut Tx, t: &str, seq: u64) -> Result<(), SyncError> {
    tx.execute(
        "UPDATE gw_feed_positions SET seq = $2, updated_at = $3 WHERE tenant = $1",
        &[t.into(), seq.into(), now().into()],
    )
    .await?;
    Ok(())
}

async fn upsert_user(tx: &mut Tx, t: &str, id: &str, row: &UserRow) -> Result<(), SyncError> {
    tx.execute(
        "INSERT INTO gw_users (tenant, id, user_name, display_name, external_id, active, json, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant, id) DO UPDATE SET \
         user_name = excluded.user_name, display_name = excluded.display_name, \
         external_id = excluded.external_id, active = excluded.active, json = excluded.json, \
         version = excluded.version",
        &[
            t.into(),
            id.into(),
            row.user_name.as_str().into(),
            row.display_name.clone().into(),
            row.external_id.clone().into(),
            row.active.into(),
            row.json.as_str().into(),
            row.version.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Removes a user (and its memberships) from the mirror; returns its userName if it was there.
async fn delete_user(tx: &mut Tx, t: &str, id: &str) -> Result<Option<String>, SyncError> {
    let name = tx
        .query_opt(
            "SELECT user_name FROM gw_users WHERE tenant = $1 AND id = $2",
            &[t.into(), id.into()],
        )
        .await?
        .map(|r| r.text(0))
        .transpose()?;
    tx.execute(
        "DELETE FROM gw_users WHERE tenant = $1 AND id = $2",
        &[t.into(), id.into()],
    )
    .await?;
    tx.execute(
        "DELETE FROM gw_members WHERE tenant = $1 AND user_id = $2",
        &[t.into(), id.into()],
    )
    .await?;
    Ok(name)
}

async fn mirrored_members(
    tx: &mut Tx,
    t: &str,
    group: &str,
) -> Result<BTreeSet<String>, SyncError> {
    let rows = tx
        .query(
            "SELECT user_id FROM gw_members WHERE tenant = $1 AND group_id = $2",
            &[t.into(), group.into()],
        )
        .await?;
    rows.iter()
        .map(|r| r.text(0).map_err(SyncError::from))
        .collect()
}

async fn group_external_id(tx: &mut Tx, t: &str, group: &str) -> Result<Option<String>, SyncError> {
    Ok(tx
        .query_opt(
            "SELECT external_id FROM gw_groups WHERE tenant = $1 AND id = $2",
            &[t.into(), group.into()],
        )
        .await?
        .map(|r| r.opt_text(0))
        .transpose()?
        .flatten())
}

/// Rebuilds the tenant's mirror from the SCIM storage's current resources and marks every
/// user (present or gone) dirty; returns how many users were marked.
async fn rebuild(
    tx: &mut Tx,
    storage: &dyn Storage,
    registry: &SchemaRegistry,
    tenant: &TenantId,
) -> Result<usize, SyncError> {
    use scim_server::storage::{StoragePage, StorageQuery};
    let t = tenant.as_str();
    let mut known: HashSet<String> = tx
        .query("SELECT id FROM gw_users WHERE tenant = $1", &[t.into()])
        .await?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<_, _>>()?;
    for table in ["gw_users", "gw_groups", "gw_members"] {
        tx.execute(
            &format!("DELETE FROM {table} WHERE tenant = $1"),
            &[t.into()],
        )
        .await?;
    }
    for rtype in ["User", "Group"] {
        let Some(schema) = registry.resource_schema(rtype) else {
            continue;
        };
        let scope = Scope::new(tenant, schema);
        let mut after: Option<String> = None;
        loop {
            let page_spec = StoragePage::Cursor {
                after: after.take(),
                limit: 500,
            };
            let query = StorageQuery {
                filter: None,
                sort: None,
                page: &page_spec,
                load: Load::ALL,
            };
            let page = storage.query(scope, query).await?;
            for stored in &page.resources {
                if rtype == "User" {
                    upsert_user(
                        tx,
                        t,
                        &stored.id,
                        &user_row(&stored.resource, stored.version),
                    )
                    .await?;
                    known.insert(stored.id.clone());
                } else {
                    let r = &stored.resource;
                    tx.execute(
                        "INSERT INTO gw_groups (tenant, id, display_name, external_id, version) \
                         VALUES ($1, $2, $3, $4, $5)",
                        &[
                            t.into(),
                            stored.id.as_str().into(),
                            str_attr(r, "displayName").unwrap_or_default().into(),
                            str_attr(r, "externalId").into(),
                            stored.version.into(),
                        ],
                    )
                    .await?;
                    for m in member_ids(r) {
                        tx.execute(
                            "INSERT INTO gw_members (tenant, group_id, user_id) VALUES ($1, $2, $3) \
                             ON CONFLICT DO NOTHING",
                            &[t.into(), stored.id.as_str().into(), m.into()],
                        )
                        .await?;
                    }
                }
            }
            match page.next_cursor {
                Some(c) => after = Some(c),
                None => break,
            }
        }
    }
    for id in &known {
        tx.execute(
            "INSERT INTO gw_dirty (tenant, user_id, since_seq) VALUES ($1, $2, 0) \
             ON CONFLICT (tenant, user_id) DO NOTHING",
            &[t.into(), id.into()],
        )
        .await?;
    }
    Ok(known.len())
}
