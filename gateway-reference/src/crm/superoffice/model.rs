//! The request and response bodies of the SuperOffice Web API calls the backend makes, as
//! typed serde structs (SuperOffice names its JSON properties in PascalCase).
//!
//! Shapes follow SuperOffice's public REST reference: the `User` entity
//! (<https://docs.superoffice.com/en/api/reference/restful/rest/User/index.html>), the User
//! agent (<https://docs.superoffice.com/en/api/reference/restful/agent/User_Agent/index.html>:
//! `GetUserFromName`, `MakeRetired`, `RemoveLicenses`, `GetAllRoles`, `GetAllUserGroups`,
//! `GetOwnerContacts`) and the License agent (`GetUserLicenses`). Only the properties the
//! gateway reads or writes are modelled; unknown properties are ignored on input and, for
//! the entities the gateway writes back ([`UserEntity`]), kept in `extra` so a PUT states the
//! whole entity it read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The extra field of the user that holds the gateway's "Confidential" setting (`"1"` or
/// `"0"`); SuperOffice's User entity has no such property of its own, so the customer adds
/// this extra field (`x_` prefix: an extra field, not a user-defined one).
pub const CONFIDENTIAL_FIELD: &str = "x_confidential";

/// The `ExtraFlags` bit that marks a module licence as a user plan.
pub const PLAN_FLAG: i64 = 1;

/// A list item reference (`Role`, `UserGroup`, `OtherGroups[]` of the User entity).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListItem {
    /// The id (0: none).
    pub id: i64,
    /// The display value.
    pub value: String,
}

/// A person's email (`Person.Emails[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EntityElement {
    /// The address.
    pub value: String,
    /// The description.
    pub description: String,
}

/// A contact (company) reference: the owner company a user's person belongs to, or an entry
/// of `GetOwnerContacts`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContactRef {
    /// The contact id (0: none).
    pub contact_id: i64,
    /// The company name.
    pub name: String,
}

/// The person behind a user (`User.Person`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PersonEntity {
    /// The person id (0: a new person is created with the user).
    pub person_id: i64,
    /// First name.
    pub firstname: String,
    /// Last name.
    pub lastname: String,
    /// Email addresses; the first is the user's email.
    pub emails: Vec<EntityElement>,
    /// The (owner) company the person belongs to.
    pub contact: Option<ContactRef>,
}

/// A module licence (a `ModuleLicense` of a `LicenseOwner`). User plans are the ones whose
/// `ExtraFlags` has [`PLAN_FLAG`] set; `Free` and `InUse` count their seats.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ModuleLicense {
    /// The licence id.
    pub module_license_id: i64,
    /// Its name (`Sales Premium`).
    pub name: String,
    /// Held by the user (in a user's `LicenseOwners`).
    pub assigned: bool,
    /// Seats free.
    pub free: i64,
    /// Seats in use.
    pub in_use: i64,
    /// Flags; [`PLAN_FLAG`] marks a user plan.
    pub extra_flags: i64,
}

impl ModuleLicense {
    /// Is it a user plan?
    pub fn is_plan(&self) -> bool {
        self.extra_flags & PLAN_FLAG != 0
    }
}

/// A licence owner (SuperOffice itself, or a partner) and its module licences.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LicenseOwner {
    /// The owner's name.
    pub name: String,
    /// Its licences that are counted per user.
    pub restricted_module_licenses: Vec<ModuleLicense>,
}

/// The User entity (`GET|PUT /api/v1/User/{id}`, `POST /api/v1/User`,
/// `GET /api/v1/User/Default`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UserEntity {
    /// The associate id (0 on a new user).
    pub associate_id: i64,
    /// Initials.
    pub name: String,
    /// The login (an email address for the gateway's users).
    pub user_name: String,
    /// The nick name (unique; the gateway sets the user name).
    pub nick_name: String,
    /// The user type; `InternalAssociate` for the gateway's users.
    #[serde(rename = "Type")]
    pub user_type: String,
    /// The role.
    pub role: Option<ListItem>,
    /// The main user group.
    pub user_group: Option<ListItem>,
    /// The other user groups.
    pub other_groups: Vec<ListItem>,
    /// The person.
    pub person: Option<PersonEntity>,
    /// The module licences by owner, each `Assigned` or not.
    pub license_owners: Vec<LicenseOwner>,
    /// Retired.
    pub deleted: bool,
    /// The person is retired too.
    pub is_person_retired: bool,
    /// Extra and user-defined fields (`x_confidential`).
    pub custom_fields: BTreeMap<String, String>,
    /// Every other property, written back unchanged.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl UserEntity {
    /// The module licences the user holds.
    pub fn assigned(&self) -> impl Iterator<Item = &ModuleLicense> {
        self.license_owners
            .iter()
            .flat_map(|o| o.restricted_module_licenses.iter())
            .filter(|l| l.assigned)
    }

    /// The user plan the user holds (the first assigned plan licence).
    pub fn plan(&self) -> Option<i64> {
        self.assigned()
            .find(|l| l.is_plan())
            .map(|l| l.module_license_id)
    }
}

/// `POST /api/v1/Agents/User/GetUserFromName`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserNameRequest {
    /// The user name.
    pub user_name: String,
}

/// `POST /api/v1/Agents/User/MakeRetired`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MakeRetiredRequest {
    /// The user.
    pub associate_id: i64,
    /// Retire (`true`) or reactivate (`false`).
    pub retired: bool,
}

/// `POST /api/v1/Agents/User/RemoveLicenses`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssociateRequest {
    /// The user.
    pub associate_id: i64,
}

/// An entry of `GetAllRoles`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RoleEntity {
    /// The role id.
    pub role_id: i64,
    /// Its name.
    pub name: String,
}

/// An entry of `GetAllUserGroups`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UserGroupEntity {
    /// The group id.
    pub id: i64,
    /// Its name.
    pub value: String,
    /// Retired groups are not offered.
    pub deleted: bool,
}

/// A row of `GET /api/v1/User?$select=associateId&$filter=...&$orderBy=associateId&$top=N`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ArchiveRow {
    /// The associate id.
    #[serde(rename = "PrimaryKey")]
    pub primary_key: i64,
}

/// The OData-style answer of a `GET /api/v1/User` archive query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ArchivePage {
    /// The rows.
    pub value: Vec<ArchiveRow>,
}

/// SuperOffice's error body (`{"Error": ..., "ErrorType": ..., "Message": ...}`); every
/// field optional, since proxies answer with other bodies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ErrorBody {
    /// The error.
    pub error: Option<String>,
    /// The exception type (`LicenseException`, `DuplicateKeyException`, ...).
    pub error_type: Option<String>,
    /// A message.
    pub message: Option<String>,
}
