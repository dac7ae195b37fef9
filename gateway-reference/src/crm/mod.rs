//! The CRM side: the [`Crm`] trait that the sync writes through, and its implementations
//! (the embedded CRM directory in the gateway's own database, [`superoffice`] for
//! SuperOffice CRM Online's Web API), and the [`CrmRouter`] that picks one per tenant
//! ([`connections`]).
//!
//! The model follows SuperOffice's User entity (`AssociateId`, `UserName`, `Role`,
//! `UserGroup`, `OtherGroups`, `LicenseOwners`, `Deleted`) and its catalogue calls
//! (`GetAllRoles`, `GetAllUserGroups`, user plans as module licences with `Free`/`InUse`
//! seat counts).

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use scim_server::TenantId;

pub mod connections;
pub mod embedded;
pub mod router;
pub mod suite;
pub mod superoffice;

pub use embedded::EmbeddedCrm;
pub use router::CrmRouter;
pub use superoffice::SuperOfficeCrm;

/// A CRM role (`GetAllRoles`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    /// The role's id.
    pub id: i64,
    /// Its name.
    pub name: String,
}

/// A CRM user group (`GetAllUserGroups`), used as primary or secondary group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserGroup {
    /// The user group's id.
    pub id: i64,
    /// Its name.
    pub name: String,
}

/// An owner company (a contact the CRM users belong to).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerCompany {
    /// The contact id.
    pub id: i64,
    /// Its name.
    pub name: String,
}

/// A user plan: a module licence flagged as a plan, with its seats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserPlan {
    /// The module licence id (`ModuleLicenseId`).
    pub id: i64,
    /// Its name (`Sales Premium`).
    pub name: String,
    /// Seats in use (`InUse`): active users holding it.
    pub in_use: i64,
    /// Seats free (`Free`).
    pub free: i64,
}

/// What the CRM offers a tenant's rules: everything a rule can name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Catalog {
    /// Roles.
    pub roles: Vec<Role>,
    /// User groups.
    pub user_groups: Vec<UserGroup>,
    /// Owner companies.
    pub owner_companies: Vec<OwnerCompany>,
    /// User plans with seat counts.
    pub user_plans: Vec<UserPlan>,
}

/// A CRM user as the CRM holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CrmUser {
    /// The CRM's id of the user (`AssociateId`).
    pub associate_id: i64,
    /// The login (`UserName`): for the gateway, the Entra UPN, an email address.
    pub user_name: String,
    /// First name of the user's person.
    pub first_name: String,
    /// Last name of the user's person.
    pub last_name: String,
    /// The person's email.
    pub email: Option<String>,
    /// Role id.
    pub role: Option<i64>,
    /// Primary user group id (`UserGroup`).
    pub primary_group: Option<i64>,
    /// Secondary user group ids (`OtherGroups`).
    pub secondary_groups: Vec<i64>,
    /// Owner company (contact) id.
    pub owner_company: Option<i64>,
    /// Confidential.
    pub confidential: bool,
    /// The user plan held, if any.
    pub user_plan: Option<i64>,
    /// Retired (`Deleted`): no licences, cannot sign in, history kept.
    pub retired: bool,
}

/// The person fields the gateway maps from SCIM onto a CRM user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    /// The login (`UserName`).
    pub user_name: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email.
    pub email: Option<String>,
}

/// The rule-driven part of a CRM user that a write sets; `None` leaves the field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserSettings {
    /// Role id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<i64>,
    /// Primary user group id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_group: Option<i64>,
    /// Secondary user group ids (the whole list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_groups: Option<Vec<i64>>,
    /// Owner company id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_company: Option<i64>,
    /// Confidential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidential: Option<bool>,
    /// The plan: `Some(Some(id))` assigns it, `Some(None)` frees the held plan ("Not
    /// selected"), `None` leaves it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_plan: Option<Option<i64>>,
}

/// How a user the gateway created activates the account from the welcome mail's link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Activation {
    /// The gateway's activation page asks for a password and sets it with
    /// [`Crm::set_password`] (the embedded CRM).
    SetPassword,
    /// The gateway's activation page forwards to the CRM's own sign-in page at `url`
    /// (SuperOffice CRM Online signs users in through SuperID).
    Redirect {
        /// Where the user signs in.
        url: String,
    },
}

/// What went wrong in a CRM call. `is_transient` errors are retried with backoff; the others
/// are recorded against the user (and critical ones notified).
#[derive(Debug, thiserror::Error)]
pub enum CrmError {
    /// The CRM could not be reached, timed out or answered 5xx / 429: retry later.
    #[error("the CRM is unavailable: {0}")]
    Unavailable(String),
    /// The CRM refused the gateway's credentials (401/403): critical, retry after a fix.
    #[error("the CRM refused the credentials: {0}")]
    Unauthorized(String),
    /// No free seat of the user plan: critical for this user, not for the others.
    #[error("no free seat of user plan {plan}")]
    SeatsExhausted {
        /// The plan id.
        plan: i64,
    },
    /// The user (by associate id) does not exist.
    #[error("no CRM user {0}")]
    NotFound(i64),
    /// Another CRM user already has this user name.
    #[error("the CRM user name {0} is taken")]
    UserNameTaken(String),
    /// The CRM refused the values (an unknown role, group, company or plan).
    #[error("the CRM refused the values: {0}")]
    Invalid(String),
    /// Anything else (kept with its cause).
    #[error("CRM error: {message}")]
    Other {
        /// What happened.
        message: String,
        /// The cause.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl CrmError {
    /// Worth retrying later with backoff (an outage), rather than recording against the user.
    pub fn is_transient(&self) -> bool {
        matches!(self, CrmError::Unavailable(_))
    }

    /// A critical error for the Notifications Email (licences exhausted, CRM refusing
    /// credentials).
    pub fn is_critical(&self) -> bool {
        matches!(
            self,
            CrmError::Unauthorized(_) | CrmError::SeatsExhausted { .. }
        )
    }
}

/// A CRM the gateway provisions users into, per tenant (one CRM customer per tenant).
///
/// Implementations must make the sync's writes safe to repeat: the sync finds a user by
/// [`Crm::find_user`] before it creates one, so a retry after a crash never makes a
/// duplicate, and every update states the full desired value of the fields it sets.
#[async_trait]
pub trait Crm: Send + Sync + 'static {
    /// Roles, user groups, owner companies and user plans (with seats) of the tenant's CRM.
    async fn catalog(&self, tenant: &TenantId) -> Result<Catalog, CrmError>;

    /// The user with this user name (case-insensitive, like `GetUserFromName`), retired or
    /// not.
    async fn find_user(
        &self,
        tenant: &TenantId,
        user_name: &str,
    ) -> Result<Option<CrmUser>, CrmError>;

    /// The user with this associate id.
    async fn get_user(&self, tenant: &TenantId, associate_id: i64) -> Result<CrmUser, CrmError>;

    /// Creates an active user with `person` and `settings`. `UserNameTaken` when the name is
    /// in use; `SeatsExhausted` when the plan has no free seat (nothing is created then).
    async fn create_user(
        &self,
        tenant: &TenantId,
        person: &Person,
        settings: &UserSettings,
    ) -> Result<CrmUser, CrmError>;

    /// Sets `person` and the `Some` fields of `settings` on the user. `SeatsExhausted` when a
    /// newly assigned plan has no free seat (nothing is changed then).
    async fn update_user(
        &self,
        tenant: &TenantId,
        associate_id: i64,
        person: &Person,
        settings: &UserSettings,
    ) -> Result<CrmUser, CrmError>;

    /// Retires (`MakeRetired {Retired: true}`: frees every licence, keeps history) or
    /// reactivates (`Retired: false`; the plan must then be set again) the user.
    async fn set_retired(
        &self,
        tenant: &TenantId,
        associate_id: i64,
        retired: bool,
    ) -> Result<CrmUser, CrmError>;

    /// The tenant's CRM users, ordered by associate id, from `after` (exclusive), at most
    /// `limit`.
    async fn list_users(
        &self,
        tenant: &TenantId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<CrmUser>, CrmError>;

    /// How the tenant's new users activate their account from the welcome link.
    async fn activation(&self, tenant: &TenantId) -> Result<Activation, CrmError>;

    /// Sets the sign-in password of a user (only where [`Crm::activation`] answers
    /// [`Activation::SetPassword`]; elsewhere `Invalid`). `NotFound` for an unknown user.
    async fn set_password(
        &self,
        tenant: &TenantId,
        associate_id: i64,
        password: &str,
    ) -> Result<(), CrmError>;
}

/// A shared CRM is a CRM (so the sync and the admin API can hold one `Arc<dyn Crm>`).
#[async_trait]
impl<T: Crm + ?Sized> Crm for Arc<T> {
    async fn catalog(&self, tenant: &TenantId) -> Result<Catalog, CrmError> {
        (**self).catalog(tenant).await
    }

    async fn find_user(
        &self,
        tenant: &TenantId,
        user_name: &str,
    ) -> Result<Option<CrmUser>, CrmError> {
        (**self).find_user(tenant, user_name).await
    }

    async fn get_user(&self, tenant: &TenantId, associate_id: i64) -> Result<CrmUser, CrmError> {
        (**self).get_user(tenant, associate_id).await
    }

    async fn create_user(
        &self,
        tenant: &TenantId,
        person: &Person,
        settings: &UserSettings,
    ) -> Result<CrmUser, CrmError> {
        (**self).create_user(tenant, person, settings).await
    }

    async fn update_user(
        &self,
        tenant: &TenantId,
        associate_id: i64,
        person: &Person,
        settings: &UserSettings,
    ) -> Result<CrmUser, CrmError> {
        (**self)
            .update_user(tenant, associate_id, person, settings)
            .await
    }

    async fn set_retired(
        &self,
        tenant: &TenantId,
        associate_id: i64,
        retired: bool,
    ) -> Result<CrmUser, CrmError> {
        (**self).set_retired(tenant, associate_id, retired).await
    }

    async fn list_users(
        &self,
        tenant: &TenantId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<CrmUser>, CrmError> {
        (**self).list_users(tenant, after, limit).await
    }

    async fn activation(&self, tenant: &TenantId) -> Result<Activation, CrmError> {
        (**self).activation(tenant).await
    }

    async fn set_password(
        &self,
        tenant: &TenantId,
        associate_id: i64,
        password: &str,
    ) -> Result<(), CrmError> {
        (**self).set_password(tenant, associate_id, password).await
    }
}
