//! Reads of the directory mirror (`gw_users`, `gw_groups`, `gw_members`): what the
//! tenant's SCIM client pushed, as of the sync's feed position. The preview, the admin API's
//! user lists and the CLI read it here. [`search_users`] pages through the SCIM users
//! themselves, in the SCIM storage.

mod search;

pub use search::{MAX_LIMIT, SearchError, UserPage, UserQuery, UserSummary, search_users};

use std::collections::HashMap;

use serde::Serialize;

use crate::db::{Db, DbError};
use crate::preview::DirectoryUser;
use scim_server::TenantId;

/// A group of the mirror.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryGroup {
    /// The SCIM id.
    pub id: String,
    /// `displayName`.
    pub display_name: String,
    /// `externalId` (Entra's objectId): what rules name.
    pub external_id: Option<String>,
    /// How many direct members it has.
    pub members: i64,
}

/// Every user of the tenant with the `externalId`s of their groups; with `resources`, each
/// user's SCIM JSON too (needed only when a rule has a condition).
pub async fn users(
    db: &Db,
    tenant: &TenantId,
    resources: bool,
) -> Result<Vec<DirectoryUser>, DbError> {
    let t = tenant.as_str();
    let sql = if resources {
        "SELECT id, user_name, display_name, active, json FROM gw_users WHERE tenant = $1 ORDER BY user_name"
    } else {
        "SELECT id, user_name, display_name, active FROM gw_users WHERE tenant = $1 ORDER BY user_name"
    };
    let rows = db.query(sql, &[t.into()]).await?;
    let mut users = Vec::with_capacity(rows.len());
    let mut index = HashMap::with_capacity(rows.len());
    for row in &rows {
        let id = row.text(0)?;
        index.insert(id.clone(), users.len());
        users.push(DirectoryUser {
            id,
            user_name: row.text(1)?,
            display_name: row.opt_text(2)?,
            active: row.bool(3)?,
            groups: Default::default(),
            resource: if resources { Some(row.json(4)?) } else { None },
        });
    }
    let members = db
        .query(
            "SELECT m.user_id, g.external_id FROM gw_members m JOIN gw_groups g \
             ON g.tenant = m.tenant AND g.id = m.group_id \
             WHERE m.tenant = $1 AND g.external_id IS NOT NULL",
            &[t.into()],
        )
        .await?;
    for row in &members {
        if let Some(&i) = index.get(&row.text(0)?) {
            users[i].groups.insert(row.text(1)?);
        }
    }
    Ok(users)
}

/// One user of the mirror, with the `externalId`s of their groups and their SCIM JSON (what
/// the rules need to decide about them); `None` when the mirror has no such user.
pub async fn user(db: &Db, tenant: &TenantId, id: &str) -> Result<Option<DirectoryUser>, DbError> {
    let t = tenant.as_str();
    let Some(row) = db
        .query_opt(
            "SELECT id, user_name, display_name, active, json FROM gw_users \
             WHERE tenant = $1 AND id = $2",
            &[t.into(), id.into()],
        )
        .await?
    else {
        return Ok(None);
    };
    let groups = db
        .query(
            "SELECT g.external_id FROM gw_members m JOIN gw_groups g \
             ON g.tenant = m.tenant AND g.id = m.group_id \
             WHERE m.tenant = $1 AND m.user_id = $2 AND g.external_id IS NOT NULL",
            &[t.into(), id.into()],
        )
        .await?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<_, _>>()?;
    Ok(Some(DirectoryUser {
        id: row.text(0)?,
        user_name: row.text(1)?,
        display_name: row.opt_text(2)?,
        active: row.bool(3)?,
        groups,
        resource: Some(row.json(4)?),
    }))
}

/// The tenant's groups, by display name.
pub async fn groups(db: &Db, tenant: &TenantId) -> Result<Vec<DirectoryGroup>, DbError> {
    let rows = db
        .query(
            "SELECT g.id, g.display_name, g.external_id, \
             CAST((SELECT COUNT(*) FROM gw_members m WHERE m.tenant = g.tenant AND m.group_id = g.id) AS BIGINT) \
             FROM gw_groups g WHERE g.tenant = $1 ORDER BY g.display_name",
            &[tenant.as_str().into()],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(DirectoryGroup {
                id: r.text(0)?,
                display_name: r.text(1)?,
                external_id: r.opt_text(2)?,
                members: r.int(3)?,
            })
        })
        .collect()
}

/// Whether a group with this `externalId` is in the tenant's mirror.
pub async fn group_exists(db: &Db, tenant: &TenantId, external_id: &str) -> Result<bool, DbError> {
    Ok(db
        .query_opt(
            "SELECT 1 FROM gw_groups WHERE tenant = $1 AND external_id = $2",
            &[tenant.as_str().into(), external_id.into()],
        )
        .await?
        .is_some())
}
