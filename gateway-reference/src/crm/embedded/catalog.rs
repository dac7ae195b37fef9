//! The embedded CRM's catalogue: reading it with seat counts, seeding the demo catalogue,
//! and the administrator's helpers (add a role, a user group, an owner company, a plan; set
//! a plan's seats).

use scim_server::TenantId;

use super::{EmbeddedCrm, for_update};
use crate::crm::{Catalog, CrmError, OwnerCompany, Role, UserGroup, UserPlan};
use crate::db::{Db, DbError, Row, Value};

/// The demo catalogue [`EmbeddedCrm::seed_demo`] creates, modelled on a SuperOffice CRM
/// Online customer; its ids are fixed, so tests and examples can name them.
pub mod demo {
    /// Role "User".
    pub const ROLE_USER: i64 = 1;
    /// Role "Sales Manager".
    pub const ROLE_SALES_MANAGER: i64 = 2;
    /// Role "Administrator".
    pub const ROLE_ADMINISTRATOR: i64 = 3;
    /// Role "Support Agent".
    pub const ROLE_SUPPORT_AGENT: i64 = 4;
    /// Role "Restricted User".
    pub const ROLE_RESTRICTED_USER: i64 = 5;
    /// User group "Sales".
    pub const GROUP_SALES: i64 = 1;
    /// User group "Support".
    pub const GROUP_SUPPORT: i64 = 2;
    /// User group "Marketing".
    pub const GROUP_MARKETING: i64 = 3;
    /// User group "Management".
    pub const GROUP_MANAGEMENT: i64 = 4;
    /// Owner company "Contoso Ltd".
    pub const COMPANY_CONTOSO: i64 = 1;
    /// Owner company "Contoso Norway AS".
    pub const COMPANY_CONTOSO_NORWAY: i64 = 2;
    /// User plan "Sales Premium" (50 seats).
    pub const SALES_PREMIUM: i64 = 1;
    /// User plan "Sales Essentials" (100 seats).
    pub const SALES_ESSENTIALS: i64 = 2;
    /// User plan "Service" (25 seats).
    pub const SERVICE: i64 = 3;
    /// User plan "Marketing" (10 seats).
    pub const MARKETING: i64 = 4;

    /// Roles: (id, name).
    pub const ROLES: &[(i64, &str)] = &[
        (ROLE_USER, "User"),
        (ROLE_SALES_MANAGER, "Sales Manager"),
        (ROLE_ADMINISTRATOR, "Administrator"),
        (ROLE_SUPPORT_AGENT, "Support Agent"),
        (ROLE_RESTRICTED_USER, "Restricted User"),
    ];
    /// User groups: (id, name).
    pub const USER_GROUPS: &[(i64, &str)] = &[
        (GROUP_SALES, "Sales"),
        (GROUP_SUPPORT, "Support"),
        (GROUP_MARKETING, "Marketing"),
        (GROUP_MANAGEMENT, "Management"),
    ];
    /// Owner companies: (id, name).
    pub const OWNER_COMPANIES: &[(i64, &str)] = &[
        (COMPANY_CONTOSO, "Contoso Ltd"),
        (COMPANY_CONTOSO_NORWAY, "Contoso Norway AS"),
    ];
    /// User plans: (id, name, seats).
    pub const USER_PLANS: &[(i64, &str, i64)] = &[
        (SALES_PREMIUM, "Sales Premium", 50),
        (SALES_ESSENTIALS, "Sales Essentials", 100),
        (SERVICE, "Service", 25),
        (MARKETING, "Marketing", 10),
    ];
}

fn plan_from_row(row: &Row) -> Result<UserPlan, DbError> {
    let (seats, in_use) = (row.int(2)?, row.int(3)?);
    Ok(UserPlan {
        id: row.int(0)?,
        name: row.text(1)?,
        in_use,
        free: (seats - in_use).max(0),
    })
}

const PLANS: &str = "SELECT p.id, p.name, p.seats, (SELECT CAST(COUNT(*) AS BIGINT) \
     FROM crm_users u WHERE u.tenant = p.tenant AND u.user_plan = p.id AND u.retired = 0) \
     FROM crm_user_plans p WHERE p.tenant = $1";

async fn named(db: &Db, table: &str, tenant: &TenantId) -> Result<Vec<(i64, String)>, DbError> {
    let sql = format!("SELECT id, name FROM {table} WHERE tenant = $1 ORDER BY id");
    db.query(&sql, &[tenant.as_str().into()])
        .await?
        .iter()
        .map(|r| Ok((r.int(0)?, r.text(1)?)))
        .collect()
}

/// The tenant's catalogue, each list ordered by id.
pub(super) async fn read(db: &Db, tenant: &TenantId) -> Result<Catalog, CrmError> {
    let roles = named(db, "crm_roles", tenant).await?;
    let groups = named(db, "crm_user_groups", tenant).await?;
    let companies = named(db, "crm_owner_companies", tenant).await?;
    let plans = db
        .query(&format!("{PLANS} ORDER BY p.id"), &[tenant.as_str().into()])
        .await?
        .iter()
        .map(plan_from_row)
        .collect::<Result<_, _>>()?;
    Ok(Catalog {
        roles: roles
            .into_iter()
            .map(|(id, name)| Role { id, name })
            .collect(),
        user_groups: groups
            .into_iter()
            .map(|(id, name)| UserGroup { id, name })
            .collect(),
        owner_companies: companies
            .into_iter()
            .map(|(id, name)| OwnerCompany { id, name })
            .collect(),
        user_plans: plans,
    })
}

impl EmbeddedCrm {
    /// Seeds the tenant's demo catalogue ([`demo`]) unless it is there: idempotent, safe
    /// to run at every start and from several processes at once; an entry that exists
    /// (by id or name) is left as it is, so changed seats are kept.
    pub async fn seed_demo(&self, tenant: &TenantId) -> Result<(), CrmError> {
        let mut tx = self.db.begin().await?;
        let t = tenant.as_str();
        for (table, items) in [
            ("crm_roles", demo::ROLES),
            ("crm_user_groups", demo::USER_GROUPS),
            ("crm_owner_companies", demo::OWNER_COMPANIES),
        ] {
            let sql = format!(
                "INSERT INTO {table} (tenant, id, name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
            );
            for (id, name) in items {
                tx.execute(&sql, &[t.into(), (*id).into(), (*name).into()])
                    .await?;
            }
        }
        for (id, name, seats) in demo::USER_PLANS {
            tx.execute(
                "INSERT INTO crm_user_plans (tenant, id, name, seats) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT DO NOTHING",
                &[t.into(), (*id).into(), (*name).into(), (*seats).into()],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Adds an entry named `name` (with `extra` columns) to a catalogue table under the next
    /// free id; `Invalid` when the name is taken.
    async fn add_named(
        &self,
        table: &str,
        tenant: &TenantId,
        name: &str,
        seats: Option<i64>,
    ) -> Result<i64, CrmError> {
        if name.trim().is_empty() {
            return Err(CrmError::Invalid("the name is empty".into()));
        }
        let (cols, vals) = match seats {
            Some(_) => (", seats", ", CAST($3 AS BIGINT)"),
            None => ("", ""),
        };
        let sql = format!(
            "INSERT INTO {table} (tenant, id, name{cols}) \
             SELECT $1, COALESCE(MAX(id), 0) + 1, $2{vals} FROM {table} WHERE tenant = $1 \
             RETURNING id"
        );
        let mut params: Vec<Value> = vec![tenant.as_str().into(), name.into()];
        params.extend(seats.map(Value::from));
        // Two concurrent adds may pick the same id: the loser tries again.
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.db.query_opt(&sql, &params).await {
                Ok(Some(row)) => return Ok(row.int(0)?),
                Ok(None) => {
                    return Err(CrmError::Other {
                        message: format!("the insert into {table} returned no row"),
                        source: None,
                    });
                }
                Err(e) if e.is_unique_violation() => {
                    let taken = self
                        .db
                        .query_opt(
                            &format!("SELECT id FROM {table} WHERE tenant = $1 AND name = $2"),
                            &params[..2],
                        )
                        .await?
                        .is_some();
                    if taken || attempts >= 5 {
                        return Err(CrmError::Invalid(format!("the name {name:?} is taken")));
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Adds a role.
    pub async fn add_role(&self, tenant: &TenantId, name: &str) -> Result<Role, CrmError> {
        let id = self.add_named("crm_roles", tenant, name, None).await?;
        Ok(Role {
            id,
            name: name.to_string(),
        })
    }

    /// Adds a user group.
    pub async fn add_user_group(
        &self,
        tenant: &TenantId,
        name: &str,
    ) -> Result<UserGroup, CrmError> {
        let id = self
            .add_named("crm_user_groups", tenant, name, None)
            .await?;
        Ok(UserGroup {
            id,
            name: name.to_string(),
        })
    }

    /// Adds an owner company.
    pub async fn add_owner_company(
        &self,
        tenant: &TenantId,
        name: &str,
    ) -> Result<OwnerCompany, CrmError> {
        let id = self
            .add_named("crm_owner_companies", tenant, name, None)
            .await?;
        Ok(OwnerCompany {
            id,
            name: name.to_string(),
        })
    }

    /// Adds a user plan with `seats` seats (none in use).
    pub async fn add_user_plan(
        &self,
        tenant: &TenantId,
        name: &str,
        seats: i64,
    ) -> Result<UserPlan, CrmError> {
        if seats < 0 {
            return Err(CrmError::Invalid(format!("negative seats ({seats})")));
        }
        let id = self
            .add_named("crm_user_plans", tenant, name, Some(seats))
            .await?;
        Ok(UserPlan {
            id,
            name: name.to_string(),
            in_use: 0,
            free: seats,
        })
    }

    /// Sets the number of seats of a plan (buying or cancelling licences). Fewer seats than
    /// are in use is allowed: nobody loses the plan, `free` is 0 until enough are freed.
    pub async fn set_plan_seats(
        &self,
        tenant: &TenantId,
        plan: i64,
        seats: i64,
    ) -> Result<UserPlan, CrmError> {
        if seats < 0 {
            return Err(CrmError::Invalid(format!("negative seats ({seats})")));
        }
        let mut tx = self.db.begin().await?;
        let lock = format!(
            "SELECT id FROM crm_user_plans WHERE tenant = $1 AND id = $2{}",
            for_update(&tx)
        );
        let params: [Value; 2] = [tenant.as_str().into(), plan.into()];
        if tx.query_opt(&lock, &params).await?.is_none() {
            return Err(CrmError::Invalid(format!("unknown user plan {plan}")));
        }
        tx.execute(
            "UPDATE crm_user_plans SET seats = $3 WHERE tenant = $1 AND id = $2",
            &[tenant.as_str().into(), plan.into(), seats.into()],
        )
        .await?;
        let row = tx
            .query_opt(&format!("{PLANS} AND p.id = $2"), &params)
            .await?
            .ok_or_else(|| CrmError::Invalid(format!("unknown user plan {plan}")))?;
        let out = plan_from_row(&row)?;
        tx.commit().await?;
        Ok(out)
    }
}
