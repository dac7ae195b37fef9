//! The SuperOffice CRM Online backend: a [`Crm`] that provisions a tenant's users through
//! SuperOffice's REST Web API (<https://docs.superoffice.com/en/api/reference/restful/index.html>).
//!
//! The mapping onto SuperOffice's User entity: the login is `UserName`; the names and the
//! email are the user's `Person`; the role is `Role`, the primary group `UserGroup`, the
//! secondary groups `OtherGroups`; the owner company is the person's `Contact` (one of the
//! owner contacts, `GetOwnerContacts`); the user plan is the assigned module licence flagged
//! as a plan (`ExtraFlags` 1) among `LicenseOwners`; "Confidential" is the extra field
//! [`model::CONFIDENTIAL_FIELD`]; retired is `Deleted`.
//!
//! Signing in ([`auth`]): a ready access token or system user ticket, or the gateway gets
//! and renews the credential itself with the system user flow (the system user token signed
//! with the application's RSA key, [`keys`]) or the OAuth refresh-token flow; a 401 from the
//! Web API then signs in again once and repeats the request.
//!
//! Safe to repeat, as [`Crm`] asks:
//! - a create looks the user up by name (`GetUserFromName`) first; when the `POST User` of
//!   an earlier attempt failed transiently (its answer may have been lost after SuperOffice
//!   created the user), the retry finds that user and updates it to the desired state
//!   instead of creating a duplicate;
//! - an update reads the user, sets the full desired value of each field and `PUT`s the whole
//!   entity, conditional on `If-Unmodified-Since` when SuperOffice sent `Last-Modified`; a
//!   412 (changed meanwhile) re-reads and applies again;
//! - retire and reactivate are `MakeRetired` with the wanted value (nothing when the user is
//!   already so).
//!
//! Seats: a plan is assigned only when the licence has a free seat (`Free`, from
//! `GetUserLicenses`, read just before the write), else `SeatsExhausted` and nothing is
//! written; SuperOffice's own
//! refusal (another writer took the last seat) maps to `SeatsExhausted` as well.

pub mod auth;
pub mod breaker;
pub mod client;
pub mod fake;
pub mod keys;
pub mod model;
pub mod retry;
mod test_connection;

pub use self::test_connection::{CatalogCounts, ConnectionProblem, ConnectionReport};

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use scim_server::TenantId;
use tokio::time::Instant;

pub use self::breaker::{BreakerConfig, BreakerState};
use self::client::{ApiError, Client, Retry};
pub use self::client::{SuperOfficeAuth, SuperOfficeConfig, TransportKind};
use self::model::{
    ArchivePage, AssociateRequest, CONFIDENTIAL_FIELD, ContactRef, EntityElement, LicenseOwner,
    ListItem, MakeRetiredRequest, ModuleLicense, PersonEntity, RoleEntity, UserEntity,
    UserGroupEntity, UserNameRequest,
};
pub use self::retry::RetryPolicy;
use super::{
    Activation, Catalog, Crm, CrmError, CrmUser, OwnerCompany, Person, Role, UserGroup, UserPlan,
    UserSettings,
};

/// The body of an agent call without arguments: `{}`.
#[derive(Debug, serde::Serialize)]
struct NoArgs {}
const NO_ARGS: NoArgs = NoArgs {};

/// How long a catalogue read serves to check the ids of writes (roles, groups and owner
/// companies change rarely; an id it lacks is checked against a fresh read).
pub const CATALOG_TTL: Duration = Duration::from_secs(60);

/// How often an update is re-read and applied again after a 412.
const PRECONDITION_RETRIES: u32 = 3;

/// The SuperOffice backend of one tenant (one SuperOffice customer). Calls for another
/// tenant are refused with `Invalid`.
#[derive(Debug)]
pub struct SuperOfficeCrm {
    tenant: TenantId,
    client: Client,
    sign_in_url: String,
    /// The last catalogue read, for checking ids (seats are always read fresh).
    catalog_cache: Mutex<Option<(Instant, Catalog)>>,
}

/// User names compare as SCIM `userName`s do (one case folding everywhere).
fn fold(s: &str) -> String {
    scim_core::casefold::fold(s.trim()).into_owned()
}

fn id_of(item: &Option<ListItem>) -> Option<i64> {
    item.as_ref().map(|i| i.id).filter(|id| *id != 0)
}

/// The gateway's view of a SuperOffice user.
fn to_crm_user(u: &UserEntity) -> CrmUser {
    let person = u.person.clone().unwrap_or_default();
    CrmUser {
        associate_id: u.associate_id,
        user_name: u.user_name.clone(),
        first_name: person.firstname,
        last_name: person.lastname,
        email: person
            .emails
            .first()
            .map(|e| e.value.clone())
            .filter(|e| !e.is_empty()),
        role: id_of(&u.role),
        primary_group: id_of(&u.user_group),
        secondary_groups: u
            .other_groups
            .iter()
            .map(|g| g.id)
            .filter(|id| *id != 0)
            .collect(),
        owner_company: person
            .contact
            .as_ref()
            .map(|c| c.contact_id)
            .filter(|id| *id != 0),
        confidential: u
            .custom_fields
            .get(CONFIDENTIAL_FIELD)
            .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true")),
        user_plan: u.plan(),
        retired: u.deleted,
    }
}

fn check_person(p: &Person) -> Result<(), CrmError> {
    if p.user_name.trim().is_empty() {
        return Err(CrmError::Invalid("the user name is empty".into()));
    }
    Ok(())
}

/// Refuses ids the catalogue does not hold.
fn check_settings(c: &Catalog, s: &UserSettings) -> Result<(), CrmError> {
    let unknown = |what: &str, id: i64| CrmError::Invalid(format!("unknown {what} {id}"));
    if let Some(id) = s.role
        && !c.roles.iter().any(|r| r.id == id)
    {
        return Err(unknown("role", id));
    }
    let groups = s
        .primary_group
        .into_iter()
        .chain(s.secondary_groups.iter().flatten().copied());
    for id in groups {
        if !c.user_groups.iter().any(|g| g.id == id) {
            return Err(unknown("user group", id));
        }
    }
    if let Some(id) = s.owner_company
        && !c.owner_companies.iter().any(|o| o.id == id)
    {
        return Err(unknown("owner company", id));
    }
    if let Some(Some(id)) = s.user_plan
        && !c.user_plans.iter().any(|p| p.id == id)
    {
        return Err(unknown("user plan", id));
    }
    Ok(())
}

/// `SeatsExhausted` when `plan` has no free seat.
fn check_seat(plans: &[UserPlan], plan: i64) -> Result<(), CrmError> {
    match plans.iter().find(|p| p.id == plan) {
        Some(p) if p.free > 0 => Ok(()),
        Some(_) => Err(CrmError::SeatsExhausted { plan }),
        None => Err(CrmError::Invalid(format!("unknown user plan {plan}"))),
    }
}

/// Does SuperOffice's refusal say that a licence has no free seat (a 400, 409 or 422 whose
/// error names a licence)?
fn is_seat_refusal(e: &ApiError) -> bool {
    matches!(e.status(), Some(400 | 409 | 422)) && e.body_text().contains("licen")
}

/// Maps a refused write of `user_name` (assigning `plan`): a licence refusal is
/// `SeatsExhausted`, a 409 `UserNameTaken`.
fn write_error(e: ApiError, user_name: &str, plan: Option<i64>) -> CrmError {
    if let Some(plan) = plan
        && is_seat_refusal(&e)
    {
        return CrmError::SeatsExhausted { plan };
    }
    if e.status() == Some(409) {
        return CrmError::UserNameTaken(user_name.to_string());
    }
    e.into()
}

/// Applies the person and the `Some` settings to `u` (each the full desired value).
fn apply(u: &mut UserEntity, p: &Person, s: &UserSettings, catalog: &Catalog) {
    u.user_name.clone_from(&p.user_name);
    if u.nick_name.is_empty() {
        u.nick_name.clone_from(&p.user_name);
    }
    let person = u.person.get_or_insert_with(PersonEntity::default);
    person.firstname.clone_from(&p.first_name);
    person.lastname.clone_from(&p.last_name);
    person.emails = p
        .email
        .iter()
        .map(|e| EntityElement {
            value: e.clone(),
            description: String::new(),
        })
        .collect();
    let group = |id: i64| ListItem {
        id,
        value: catalog
            .user_groups
            .iter()
            .find(|g| g.id == id)
            .map(|g| g.name.clone())
            .unwrap_or_default(),
    };
    if let Some(id) = s.role {
        u.role = Some(ListItem {
            id,
            value: catalog
                .roles
                .iter()
                .find(|r| r.id == id)
                .map(|r| r.name.clone())
                .unwrap_or_default(),
        });
    }
    if let Some(id) = s.primary_group {
        u.user_group = Some(group(id));
    }
    if let Some(ids) = &s.secondary_groups {
        u.other_groups = ids.iter().map(|id| group(*id)).collect();
    }
    if let Some(id) = s.owner_company {
        person.contact = Some(ContactRef {
            contact_id: id,
            name: catalog
                .owner_companies
                .iter()
                .find(|c| c.id == id)
                .map(|c| c.name.clone())
                .unwrap_or_default(),
        });
    }
    if let Some(v) = s.confidential {
        u.custom_fields.insert(
            CONFIDENTIAL_FIELD.to_string(),
            if v { "1" } else { "0" }.into(),
        );
    }
    if let Some(plan) = s.user_plan {
        set_plan(u, plan, catalog);
    }
}

/// Assigns `plan` (or no plan) among the user's plan licences, leaving other licences alone.
fn set_plan(u: &mut UserEntity, plan: Option<i64>, catalog: &Catalog) {
    let mut found = false;
    for owner in &mut u.license_owners {
        for l in &mut owner.restricted_module_licenses {
            if l.is_plan() {
                l.assigned = Some(l.module_license_id) == plan;
                found |= l.assigned;
            }
        }
    }
    if let (Some(id), false) = (plan, found) {
        // The template listed no such licence: add it.
        let name = catalog
            .user_plans
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.clone())
            .unwrap_or_default();
        let license = ModuleLicense {
            module_license_id: id,
            name,
            assigned: true,
            extra_flags: model::PLAN_FLAG,
            ..ModuleLicense::default()
        };
        match u.license_owners.first_mut() {
            Some(owner) => owner.restricted_module_licenses.push(license),
            None => u.license_owners.push(LicenseOwner {
                name: "SuperOffice".into(),
                restricted_module_licenses: vec![license],
            }),
        }
    }
}

impl SuperOfficeCrm {
    /// The backend of `tenant` on the SuperOffice `config` describes.
    pub fn new(tenant: TenantId, config: &SuperOfficeConfig) -> Result<Self, CrmError> {
        Ok(SuperOfficeCrm {
            tenant,
            client: Client::new(config)?,
            sign_in_url: config.sign_in_url(),
            catalog_cache: Mutex::new(None),
        })
    }

    /// The tenant it serves.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The state of the tenant's circuit breaker.
    pub fn breaker_state(&self) -> BreakerState {
        self.client.breaker().state()
    }

    /// How often the backend signed in (system user or OAuth refresh) since it was made.
    pub fn sign_ins(&self) -> u64 {
        self.client.authenticator().sign_ins()
    }

    fn check_tenant(&self, tenant: &TenantId) -> Result<(), CrmError> {
        if tenant == &self.tenant {
            Ok(())
        } else {
            Err(CrmError::Invalid(format!(
                "this SuperOffice connection belongs to the tenant {}, not {tenant}",
                self.tenant
            )))
        }
    }

    /// The user plans with their seats, read now (`GetUserLicenses`).
    async fn read_plans(&self) -> Result<Vec<UserPlan>, ApiError> {
        let licences: Vec<LicenseOwner> = self
            .client
            .post(
                "Agents/License/GetUserLicenses",
                &AssociateRequest { associate_id: 0 },
                Retry::Idempotent,
            )
            .await?;
        let mut plans: Vec<UserPlan> = licences
            .into_iter()
            .flat_map(|o| o.restricted_module_licenses)
            .filter(ModuleLicense::is_plan)
            .map(|l| UserPlan {
                id: l.module_license_id,
                name: l.name,
                in_use: l.in_use,
                free: l.free.max(0),
            })
            .collect();
        plans.sort_by_key(|p| p.id);
        plans.dedup_by_key(|p| p.id);
        Ok(plans)
    }

    /// `SeatsExhausted` unless `plan` has a free seat now.
    async fn check_seat(&self, plan: i64) -> Result<(), CrmError> {
        let plans = self.read_plans().await?;
        check_seat(&plans, plan)
    }

    /// Refuses ids the catalogue does not hold: against the catalogue read within
    /// [`CATALOG_TTL`], and when that refuses, against a fresh one (an item added meanwhile).
    async fn check_ids(&self, settings: &UserSettings) -> Result<Catalog, CrmError> {
        let cached = self
            .catalog_cache
            .lock()
            .ok()
            .and_then(|c| c.clone())
            .filter(|(at, _)| at.elapsed() < CATALOG_TTL);
        if let Some((_, c)) = cached
            && check_settings(&c, settings).is_ok()
        {
            return Ok(c);
        }
        let c = self.read_catalog().await?;
        check_settings(&c, settings)?;
        Ok(c)
    }

    /// The whole catalogue, read now (and kept for [`SuperOfficeCrm::check_ids`]).
    async fn read_catalog(&self) -> Result<Catalog, ApiError> {
        let c = &self.client;
        let roles: Vec<RoleEntity> = c
            .post("Agents/User/GetAllRoles", &NO_ARGS, Retry::Idempotent)
            .await?;
        let groups: Vec<UserGroupEntity> = c
            .post("Agents/User/GetAllUserGroups", &NO_ARGS, Retry::Idempotent)
            .await?;
        let owners: Vec<ContactRef> = c
            .post("Agents/User/GetOwnerContacts", &NO_ARGS, Retry::Idempotent)
            .await?;
        let user_plans = self.read_plans().await?;
        let mut catalog = Catalog {
            roles: roles
                .into_iter()
                .map(|r| Role {
                    id: r.role_id,
                    name: r.name,
                })
                .collect(),
            user_groups: groups
                .into_iter()
                .filter(|g| !g.deleted)
                .map(|g| UserGroup {
                    id: g.id,
                    name: g.value,
                })
                .collect(),
            owner_companies: owners
                .into_iter()
                .map(|o| OwnerCompany {
                    id: o.contact_id,
                    name: o.name,
                })
                .collect(),
            user_plans,
        };
        catalog.roles.sort_by_key(|r| r.id);
        catalog.user_groups.sort_by_key(|r| r.id);
        catalog.owner_companies.sort_by_key(|r| r.id);
        if let Ok(mut cache) = self.catalog_cache.lock() {
            *cache = Some((Instant::now(), catalog.clone()));
        }
        Ok(catalog)
    }

    async fn find(&self, user_name: &str) -> Result<Option<UserEntity>, ApiError> {
        let found: Option<UserEntity> = self
            .client
            .post(
                "Agents/User/GetUserFromName",
                &UserNameRequest {
                    user_name: user_name.trim().to_string(),
                },
                Retry::Idempotent,
            )
            .await?;
        Ok(found.filter(|u| u.associate_id != 0))
    }

    async fn read(&self, associate_id: i64) -> Result<(UserEntity, Option<String>), CrmError> {
        match self.client.get(&format!("User/{associate_id}")).await {
            Ok(f) => Ok((f.body, f.last_modified)),
            Err(e) if e.status() == Some(404) => Err(CrmError::NotFound(associate_id)),
            Err(e) => Err(e.into()),
        }
    }
}

#[async_trait]
impl Crm for SuperOfficeCrm {
    async fn catalog(&self, tenant: &TenantId) -> Result<Catalog, CrmError> {
        self.check_tenant(tenant)?;
        Ok(self.read_catalog().await?)
    }

    async fn find_user(
        &self,
        tenant: &TenantId,
        user_name: &str,
    ) -> Result<Option<CrmUser>, CrmError> {
        self.check_tenant(tenant)?;
        Ok(self.find(user_name).await?.as_ref().map(to_crm_user))
    }

    async fn get_user(&self, tenant: &TenantId, associate_id: i64) -> Result<CrmUser, CrmError> {
        self.check_tenant(tenant)?;
        Ok(to_crm_user(&self.read(associate_id).await?.0))
    }

    async fn create_user(
        &self,
        tenant: &TenantId,
        person: &Person,
        settings: &UserSettings,
    ) -> Result<CrmUser, CrmError> {
        self.check_tenant(tenant)?;
        check_person(person)?;
        let catalog = self.check_ids(settings).await?;
        let plan = settings.user_plan.flatten();
        if let Some(plan) = plan {
            self.check_seat(plan).await?;
        }
        let policy = self.client.retry_policy();
        let mut posted = false;
        let mut attempt = 1;
        // The default user, fetched once: a retried create reuses it.
        let mut template: Option<UserEntity> = None;
        loop {
            if let Some(found) = self.find(&person.user_name).await? {
                if !posted {
                    return Err(CrmError::UserNameTaken(person.user_name.clone()));
                }
                // An earlier POST created it and its answer was lost: bring it to the
                // desired state rather than create a second user.
                tracing::info!(
                    associate_id = found.associate_id,
                    "SuperOffice: adopted the user a lost create made"
                );
                return self
                    .update_user(tenant, found.associate_id, person, settings)
                    .await;
            }
            let mut user = match &template {
                Some(t) => t.clone(),
                None => {
                    let t: UserEntity = self
                        .client
                        .get("User/Default?userType=InternalAssociate")
                        .await?
                        .body;
                    template.insert(t).clone()
                }
            };
            user.associate_id = 0;
            user.user_type = "InternalAssociate".into();
            user.deleted = false;
            user.nick_name.clear();
            if user.name.is_empty() {
                user.name = initials(person);
            }
            apply(&mut user, person, settings, &catalog);
            if plan.is_none() {
                set_plan(&mut user, None, &catalog);
            }
            let created = self
                .client
                .post::<_, UserEntity>("User", &user, Retry::Once)
                .await;
            match created {
                Ok(u) => return Ok(to_crm_user(&u)),
                Err(e) if e.is_transient() => {
                    posted = true;
                    match policy.delay(attempt, None) {
                        Some(wait) => {
                            tokio::time::sleep(wait).await;
                            attempt += 1;
                        }
                        None => return Err(e.into()),
                    }
                }
                Err(e) => return Err(write_error(e, &person.user_name, plan)),
            }
        }
    }

    async fn update_user(
        &self,
        tenant: &TenantId,
        associate_id: i64,
        person: &Person,
        settings: &UserSettings,
    ) -> Result<CrmUser, CrmError> {
        self.check_tenant(tenant)?;
        check_person(person)?;
        let catalog = self.check_ids(settings).await?;
        let mut tries = 0;
        loop {
            tries += 1;
            let (mut user, last_modified) = self.read(associate_id).await?;
            if fold(&user.user_name) != fold(&person.user_name)
                && let Some(other) = self.find(&person.user_name).await?
                && other.associate_id != associate_id
            {
                return Err(CrmError::UserNameTaken(person.user_name.clone()));
            }
            let newly = match settings.user_plan {
                Some(Some(p)) if user.plan() != Some(p) => Some(p),
                _ => None,
            };
            if let Some(p) = newly {
                if user.deleted {
                    return Err(CrmError::Invalid(format!(
                        "CRM user {associate_id} is retired: reactivate it before assigning a plan"
                    )));
                }
                self.check_seat(p).await?;
            }
            apply(&mut user, person, settings, &catalog);
            let headers: Vec<(&'static str, String)> = last_modified
                .into_iter()
                .map(|v| ("if-unmodified-since", v))
                .collect();
            let put = self
                .client
                .call::<_, UserEntity>(
                    reqwest::Method::PUT,
                    &format!("User/{associate_id}"),
                    Some(&user),
                    &headers,
                    Retry::Idempotent,
                )
                .await;
            match put {
                Ok(f) => return Ok(to_crm_user(&f.body)),
                Err(e) if e.status() == Some(412) && tries <= PRECONDITION_RETRIES => continue,
                Err(e) if e.status() == Some(404) => return Err(CrmError::NotFound(associate_id)),
                Err(e) => return Err(write_error(e, &person.user_name, newly)),
            }
        }
    }

    async fn set_retired(
        &self,
        tenant: &TenantId,
        associate_id: i64,
        retired: bool,
    ) -> Result<CrmUser, CrmError> {
        self.check_tenant(tenant)?;
        let (user, _) = self.read(associate_id).await?;
        if user.deleted == retired {
            return Ok(to_crm_user(&user));
        }
        let done: Result<serde_json::Value, ApiError> = self
            .client
            .post(
                "Agents/User/MakeRetired",
                &MakeRetiredRequest {
                    associate_id,
                    retired,
                },
                Retry::Idempotent,
            )
            .await;
        match done {
            Ok(_) => {}
            Err(e) if e.status() == Some(404) => return Err(CrmError::NotFound(associate_id)),
            Err(e) => return Err(e.into()),
        }
        Ok(to_crm_user(&self.read(associate_id).await?.0))
    }

    async fn list_users(
        &self,
        tenant: &TenantId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<CrmUser>, CrmError> {
        self.check_tenant(tenant)?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let page: ArchivePage = self
            .client
            .get(&format!(
                "User?$select=associateId&$filter=associateId%20gt%20{after}&$orderBy=associateId&$top={limit}"
            ))
            .await?
            .body;
        let mut ids: Vec<i64> = page.value.iter().map(|r| r.primary_key).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.truncate(limit);
        let mut users = Vec::with_capacity(ids.len());
        for id in ids {
            match self.read(id).await {
                Ok((u, _)) => users.push(to_crm_user(&u)),
                // Deleted between the list and the read.
                Err(CrmError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(users)
    }

    async fn activation(&self, tenant: &TenantId) -> Result<Activation, CrmError> {
        self.check_tenant(tenant)?;
        Ok(Activation::Redirect {
            url: self.sign_in_url.clone(),
        })
    }

    async fn set_password(
        &self,
        tenant: &TenantId,
        _associate_id: i64,
        _password: &str,
    ) -> Result<(), CrmError> {
        self.check_tenant(tenant)?;
        Err(CrmError::Invalid(
            "SuperOffice CRM Online users sign in through SuperID; the gateway sets no password"
                .into(),
        ))
    }
}

/// Initials for the user's `Name` (SuperOffice's short name of an associate).
fn initials(p: &Person) -> String {
    let from_names: String = [&p.first_name, &p.last_name]
        .iter()
        .filter_map(|n| n.chars().next())
        .flat_map(char::to_uppercase)
        .collect();
    if from_names.is_empty() {
        p.user_name
            .chars()
            .take(3)
            .flat_map(char::to_uppercase)
            .collect()
    } else {
        from_names
    }
}

/// `RemoveLicenses`: frees every licence of the user (what retiring also does). Exposed for
/// administrators; the sync frees a plan with an update ("Not selected").
pub async fn remove_licenses(crm: &SuperOfficeCrm, associate_id: i64) -> Result<(), CrmError> {
    let done: Result<serde_json::Value, ApiError> = crm
        .client
        .post(
            "Agents/User/RemoveLicenses",
            &AssociateRequest { associate_id },
            Retry::Idempotent,
        )
        .await;
    match done {
        Ok(_) => Ok(()),
        Err(e) if e.status() == Some(404) => Err(CrmError::NotFound(associate_id)),
        Err(e) => Err(e.into()),
    }
}
