//! Resources: a schema-aware generic resource over JSON, with case-insensitive attribute
//! names and extension URNs, plus typed `User` and `Group` for convenience.

mod generic;
mod group;
mod json;
mod user;

pub use generic::Resource;
pub use group::{Group, Member};
pub(crate) use json::json_kind;
pub use json::{bool_from_str, datetime_from_str, get_ci, get_ci_key, get_ci_mut, remove_ci};
pub use user::{Address, EnterpriseUser, GroupMembership, Manager, MultiValue, Name, User};
