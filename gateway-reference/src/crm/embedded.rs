//! The embedded CRM directory: SuperOffice's user entities (users, roles, user groups,
//! owner companies, user plans with seats) in the gateway's own database, so the product
//! runs without a CRM to talk to.
//!
//! Seats: a plan's `in_use` is the number of non-retired users holding it and
//! `free = seats - in_use` (never below 0). Every write that assigns a plan counts and
//! writes in one transaction, with the plan row locked (`SELECT ... FOR UPDATE` on
//! PostgreSQL; SQLite's `BEGIN IMMEDIATE` serialises all writers), so concurrent writers
//! never assign more seats than there are.
//!
//! ```
//! use gateway_reference::crm::{Crm, EmbeddedCrm, Person, UserSettings};
//! use gateway_reference::crm::embedded::demo;
//! use gateway_reference::db::Db;
//! use scim_server::TenantId;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let crm = EmbeddedCrm::new(Db::open_sqlite_in_memory().await.unwrap());
//! let tenant = TenantId::new("contoso").unwrap();
//! crm.seed_demo(&tenant).await.unwrap();
//! let person = Person {
//!     user_name: "alice@contoso.com".into(),
//!     first_name: "Alice".into(),
//!     last_name: "Smith".into(),
//!     email: Some("alice@contoso.com".into()),
//! };
//! let settings = UserSettings {
//!     user_plan: Some(Some(demo::SALES_PREMIUM)),
//!     ..UserSettings::default()
//! };
//! let alice = crm.create_user(&tenant, &person, &settings).await.unwrap();
//! let found = crm.find_user(&tenant, "ALICE@contoso.com").await.unwrap();
//! assert_eq!(found, Some(alice));
//! # });
//! ```

use async_trait::async_trait;
use scim_server::TenantId;

use super::{Activation, Catalog, Crm, CrmError, CrmUser, Person, UserSettings};
use crate::db::{Db, DbError, Dialect, Row, Tx, Value, now};
use scim_server::server::password::{hash_password, verify_password};

mod catalog;
pub use catalog::demo;

/// The embedded CRM directory on the gateway's [`Db`] (migration 2's `crm_*` tables).
#[derive(Debug, Clone)]
pub struct EmbeddedCrm {
    db: Db,
}

impl From<DbError> for CrmError {
    fn from(e: DbError) -> Self {
        if e.is_transient() {
            CrmError::Unavailable(e.to_string())
        } else {
            CrmError::Other {
                message: format!("embedded CRM database: {e}"),
                source: Some(Box::new(e)),
            }
        }
    }
}

const USER_COLUMNS: &str = "associate_id, user_name, first_name, last_name, email, role, \
     primary_group, secondary_groups, owner_company, confidential, user_plan, retired";

fn user_from_row(row: &Row) -> Result<CrmUser, DbError> {
    Ok(CrmUser {
        associate_id: row.int(0)?,
        user_name: row.text(1)?,
        first_name: row.text(2)?,
        last_name: row.text(3)?,
        email: row.opt_text(4)?,
        role: row.opt_int(5)?,
        primary_group: row.opt_int(6)?,
        secondary_groups: row.json(7)?,
        owner_company: row.opt_int(8)?,
        confidential: row.bool(9)?,
        user_plan: row.opt_int(10)?,
        retired: row.bool(11)?,
    })
}

/// The case-folded form of a user name (what uniqueness and `find_user` compare): the same
/// folding as SCIM `userName` ([`scim_core::casefold::fold`]).
fn fold(user_name: &str) -> String {
    scim_core::casefold::fold(user_name).into_owned()
}

/// ` FOR UPDATE` on PostgreSQL (row locks); nothing on SQLite, where the transaction
/// already holds the database's write lock.
fn for_update(tx: &Tx) -> &'static str {
    match tx.dialect() {
        Dialect::Postgres => " FOR UPDATE",
        Dialect::Sqlite => "",
    }
}

fn check_person(person: &Person) -> Result<(), CrmError> {
    if person.user_name.trim().is_empty() {
        return Err(CrmError::Invalid("the user name is empty".into()));
    }
    Ok(())
}

/// Does the catalogue `table` of `tenant` hold `id`?
async fn exists(tx: &mut Tx, table: &str, tenant: &TenantId, id: i64) -> Result<bool, DbError> {
    let sql = format!("SELECT id FROM {table} WHERE tenant = $1 AND id = $2");
    Ok(tx
        .query_opt(&sql, &[tenant.as_str().into(), id.into()])
        .await?
        .is_some())
}

/// Refuses ids the tenant's catalogue does not hold.
async fn check_settings(tx: &mut Tx, tenant: &TenantId, s: &UserSettings) -> Result<(), CrmError> {
    let mut wanted: Vec<(&str, &str, i64)> = Vec::new();
    if let Some(id) = s.role {
        wanted.push(("crm_roles", "role", id));
    }
    if let Some(id) = s.primary_group {
        wanted.push(("crm_user_groups", "user group", id));
    }
    for id in s.secondary_groups.iter().flatten() {
        wanted.push(("crm_user_groups", "user group", *id));
    }
    if let Some(id) = s.owner_company {
        wanted.push(("crm_owner_companies", "owner company", id));
    }
    if let Some(Some(id)) = s.user_plan {
        wanted.push(("crm_user_plans", "user plan", id));
    }
    for (table, what, id) in wanted {
        if !exists(tx, table, tenant, id).await? {
            return Err(CrmError::Invalid(format!("unknown {what} {id}")));
        }
    }
    Ok(())
}

/// Takes a seat of `plan` for a user who does not hold it yet: locks the plan row, counts
/// the seats in use and refuses when none is free.
async fn claim_seat(tx: &mut Tx, tenant: &TenantId, plan: i64) -> Result<(), CrmError> {
    let sql = format!(
        "SELECT seats FROM crm_user_plans WHERE tenant = $1 AND id = $2{}",
        for_update(tx)
    );
    let seats = tx
        .query_opt(&sql, &[tenant.as_str().into(), plan.into()])
        .await?
        .ok_or_else(|| CrmError::Invalid(format!("unknown user plan {plan}")))?
        .int(0)?;
    let in_use = tx
        .query_opt(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM crm_users \
             WHERE tenant = $1 AND user_plan = $2 AND retired = 0",
            &[tenant.as_str().into(), plan.into()],
        )
        .await?
        .map(|r| r.int(0))
        .transpose()?
        .unwrap_or(0);
    if in_use >= seats {
        return Err(CrmError::SeatsExhausted { plan });
    }
    Ok(())
}

/// The user, row-locked for the rest of the transaction.
async fn lock_user(tx: &mut Tx, tenant: &TenantId, associate_id: i64) -> Result<CrmUser, CrmError> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM crm_users WHERE tenant = $1 AND associate_id = $2{}",
        for_update(tx)
    );
    let row = tx
        .query_opt(&sql, &[tenant.as_str().into(), associate_id.into()])
        .await?
        .ok_or(CrmError::NotFound(associate_id))?;
    Ok(user_from_row(&row)?)
}

/// Is `user_name` held by a user of `tenant` other than `except`?
async fn name_taken(
    tx: &mut Tx,
    tenant: &TenantId,
    user_name: &str,
    except: Option<i64>,
) -> Result<bool, DbError> {
    let row = tx
        .query_opt(
            "SELECT associate_id FROM crm_users WHERE tenant = $1 AND user_name_folded = $2",
            &[tenant.as_str().into(), fold(user_name).into()],
        )
        .await?;
    Ok(match row {
        Some(r) => Some(r.int(0)?) != except,
        None => false,
    })
}

fn json_ids(ids: &[i64]) -> String {
    serde_json::Value::from(ids.to_vec()).to_string()
}

/// Maps a unique violation on the user name to `UserNameTaken`.
fn name_conflict(user_name: &str) -> impl Fn(DbError) -> CrmError + '_ {
    move |e| {
        if e.is_unique_violation() {
            CrmError::UserNameTaken(user_name.to_string())
        } else {
            e.into()
        }
    }
}

impl EmbeddedCrm {
    /// The embedded CRM in `db` (whose schema [`Db`]'s constructors have migrated).
    pub fn new(db: Db) -> Self {
        EmbeddedCrm { db }
    }

    /// The database it lives in.
    pub fn db(&self) -> &Db {
        &self.db
    }

    async fn write_user(
        &self,
        tx: &mut Tx,
        tenant: &TenantId,
        u: &CrmUser,
    ) -> Result<(), CrmError> {
        tx.execute(
            "UPDATE crm_users SET user_name = $3, user_name_folded = $4, first_name = $5, \
             last_name = $6, email = $7, role = $8, primary_group = $9, secondary_groups = $10, \
             owner_company = $11, confidential = $12, user_plan = $13, retired = $14, \
             updated_at = $15 WHERE tenant = $1 AND associate_id = $2",
            &[
                tenant.as_str().into(),
                u.associate_id.into(),
                u.user_name.as_str().into(),
                fold(&u.user_name).into(),
                u.first_name.as_str().into(),
                u.last_name.as_str().into(),
                u.email.as_deref().into(),
                u.role.into(),
                u.primary_group.into(),
                json_ids(&u.secondary_groups).into(),
                u.owner_company.into(),
                u.confidential.into(),
                u.user_plan.into(),
                u.retired.into(),
                now().into(),
            ],
        )
        .await
        .map_err(name_conflict(&u.user_name))?;
        Ok(())
    }
}

#[async_trait]
impl Crm for EmbeddedCrm {
    async fn catalog(&self, tenant: &TenantId) -> Result<Catalog, CrmError> {
        catalog::read(&self.db, tenant).await
    }

    async fn find_user(
        &self,
        tenant: &TenantId,
        user_name: &str,
    ) -> Result<Option<CrmUser>, CrmError> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM crm_users WHERE tenant = $1 AND user_name_folded = $2"
        );
        let row = self
            .db
            .query_opt(&sql, &[tenant.as_str().into(), fold(user_name).into()])
            .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    async fn get_user(&self, tenant: &TenantId, associate_id: i64) -> Result<CrmUser, CrmError> {
        let sql =
            format!("SELECT {USER_COLUMNS} FROM crm_users WHERE tenant = $1 AND associate_id = $2");
        let row = self
            .db
            .query_opt(&sql, &[tenant.as_str().into(), associate_id.into()])
            .await?
            .ok_or(CrmError::NotFound(associate_id))?;
        Ok(user_from_row(&row)?)
    }

    async fn create_user(
        &self,
        tenant: &TenantId,
        person: &Person,
        settings: &UserSettings,
    ) -> Result<CrmUser, CrmError> {
        check_person(person)?;
        let mut tx = self.db.begin().await?;
        check_settings(&mut tx, tenant, settings).await?;
        if name_taken(&mut tx, tenant, &person.user_name, None).await? {
            return Err(CrmError::UserNameTaken(person.user_name.clone()));
        }
        let plan = settings.user_plan.flatten();
        if let Some(plan) = plan {
            claim_seat(&mut tx, tenant, plan).await?;
        }
        let at = now();
        let sql = format!(
            "INSERT INTO crm_users (tenant, user_name, user_name_folded, first_name, last_name, \
             email, role, primary_group, secondary_groups, owner_company, confidential, \
             user_plan, retired, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, $13, $13) \
             RETURNING {USER_COLUMNS}"
        );
        let params: Vec<Value> = vec![
            tenant.as_str().into(),
            person.user_name.as_str().into(),
            fold(&person.user_name).into(),
            person.first_name.as_str().into(),
            person.last_name.as_str().into(),
            person.email.as_deref().into(),
            settings.role.into(),
            settings.primary_group.into(),
            json_ids(settings.secondary_groups.as_deref().unwrap_or_default()).into(),
            settings.owner_company.into(),
            settings.confidential.unwrap_or(false).into(),
            plan.into(),
            at.into(),
        ];
        let row = tx
            .query_opt(&sql, &params)
            .await
            .map_err(name_conflict(&person.user_name))?
            .ok_or_else(|| CrmError::Other {
                message: "the insert of a CRM user returned no row".into(),
                source: None,
            })?;
        let user = user_from_row(&row)?;
        tx.commit()
            .await
            .map_err(name_conflict(&person.user_name))?;
        Ok(user)
    }

    async fn update_user(
        &self,
        tenant: &TenantId,
        associate_id: i64,
        person: &Person,
        settings: &UserSettings,
    ) -> Result<CrmUser, CrmError> {
        check_person(person)?;
        let mut tx = self.db.begin().await?;
        let mut user = lock_user(&mut tx, tenant, associate_id).await?;
        check_settings(&mut tx, tenant, settings).await?;
        if name_taken(&mut tx, tenant, &person.user_name, Some(associate_id)).await? {
            return Err(CrmError::UserNameTaken(person.user_name.clone()));
        }
        if let Some(Some(plan)) = settings.user_plan
            && user.user_plan != Some(plan)
        {
            if user.retired {
                return Err(CrmError::Invalid(format!(
                    "CRM user {associate_id} is retired: reactivate it before assigning a plan"
                )));
            }
            claim_seat(&mut tx, tenant, plan).await?;
        }
        user.user_name.clone_from(&person.user_name);
        user.first_name.clone_from(&person.first_name);
        user.last_name.clone_from(&person.last_name);
        user.email.clone_from(&person.email);
        if let Some(v) = settings.role {
            user.role = Some(v);
        }
        if let Some(v) = settings.primary_group {
            user.primary_group = Some(v);
        }
        if let Some(v) = &settings.secondary_groups {
            user.secondary_groups.clone_from(v);
        }
        if let Some(v) = settings.owner_company {
            user.owner_company = Some(v);
        }
        if let Some(v) = settings.confidential {
            user.confidential = v;
        }
        if let Some(v) = settings.user_plan {
            user.user_plan = v;
        }
        self.write_user(&mut tx, tenant, &user).await?;
        tx.commit()
            .await
            .map_err(name_conflict(&person.user_name))?;
        Ok(user)
    }

    async fn set_retired(
        &self,
        tenant: &TenantId,
        associate_id: i64,
        retired: bool,
    ) -> Result<CrmUser, CrmError> {
        let mut tx = self.db.begin().await?;
        let mut user = lock_user(&mut tx, tenant, associate_id).await?;
        user.retired = retired;
        if retired {
            user.user_plan = None;
        }
        self.write_user(&mut tx, tenant, &user).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn list_users(
        &self,
        tenant: &TenantId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<CrmUser>, CrmError> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM crm_users WHERE tenant = $1 AND associate_id > $2 \
             ORDER BY associate_id LIMIT $3"
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .db
            .query(&sql, &[tenant.as_str().into(), after.into(), limit.into()])
            .await?;
        Ok(rows.iter().map(user_from_row).collect::<Result<_, _>>()?)
    }

    async fn activation(&self, _tenant: &TenantId) -> Result<Activation, CrmError> {
        Ok(Activation::SetPassword)
    }

    async fn set_password(
        &self,
        tenant: &TenantId,
        associate_id: i64,
        password: &str,
    ) -> Result<(), CrmError> {
        let plain = password.to_string();
        // argon2id costs tens of milliseconds of CPU: off the async workers.
        let hash = tokio::task::spawn_blocking(move || hash_password(&plain))
            .await
            .map_err(|e| CrmError::Other {
                message: format!("hashing the password: {e}"),
                source: Some(Box::new(e)),
            })?
            .map_err(|e| CrmError::Other {
                message: format!("hashing the password: {e}"),
                source: None,
            })?;
        let changed = self
            .db
            .execute(
                "UPDATE crm_users SET password_hash = $3, updated_at = $4 \
                 WHERE tenant = $1 AND associate_id = $2",
                &[
                    tenant.as_str().into(),
                    associate_id.into(),
                    hash.into(),
                    now().into(),
                ],
            )
            .await?;
        if changed == 0 {
            return Err(CrmError::NotFound(associate_id));
        }
        Ok(())
    }
}

impl EmbeddedCrm {
    /// Does `password` sign `user_name` in (an active user whose password was set)?
    pub async fn check_password(
        &self,
        tenant: &TenantId,
        user_name: &str,
        password: &str,
    ) -> Result<bool, CrmError> {
        let stored = self
            .db
            .query_opt(
                "SELECT password_hash FROM crm_users \
                 WHERE tenant = $1 AND user_name_folded = $2 AND retired = 0",
                &[tenant.as_str().into(), fold(user_name).into()],
            )
            .await?
            .map(|r| r.opt_text(0))
            .transpose()?
            .flatten();
        let Some(stored) = stored else {
            return Ok(false);
        };
        let candidate = password.to_string();
        tokio::task::spawn_blocking(move || verify_password(&stored, &candidate))
            .await
            .map_err(|e| CrmError::Other {
                message: format!("checking the password: {e}"),
                source: Some(Box::new(e)),
            })
    }
}

#[cfg(test)]
mod password_tests {
    use super::*;
    use crate::crm::UserSettings;

    #[tokio::test]
    async fn a_set_password_signs_in_and_nothing_else_does() {
        let crm = EmbeddedCrm::new(Db::open_sqlite_in_memory().await.unwrap());
        let t = TenantId::new("contoso").unwrap();
        crm.seed_demo(&t).await.unwrap();
        let person = Person {
            user_name: "Alice@contoso.com".into(),
            first_name: "Alice".into(),
            last_name: "Smith".into(),
            email: None,
        };
        let alice = crm
            .create_user(&t, &person, &UserSettings::default())
            .await
            .unwrap();
        assert!(
            !crm.check_password(&t, "alice@contoso.com", "")
                .await
                .unwrap()
        );
        crm.set_password(&t, alice.associate_id, "s3cret pass")
            .await
            .unwrap();
        assert!(
            crm.check_password(&t, "alice@contoso.com", "s3cret pass")
                .await
                .unwrap()
        );
        assert!(
            !crm.check_password(&t, "alice@contoso.com", "guess")
                .await
                .unwrap()
        );
        let stored = crm
            .db()
            .query_opt(
                "SELECT password_hash FROM crm_users WHERE associate_id = $1",
                &[alice.associate_id.into()],
            )
            .await
            .unwrap()
            .unwrap()
            .text(0)
            .unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        crm.set_retired(&t, alice.associate_id, true).await.unwrap();
        assert!(
            !crm.check_password(&t, "alice@contoso.com", "s3cret pass")
                .await
                .unwrap()
        );
    }
}
