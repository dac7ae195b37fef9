//! Preview: what a rule set does to the users received from the directory (Entra ID, Okta),
//! user by user, and ([`diff`]) how a draft rule set differs from the saved one. Pure: the
//! caller loads the users.
//!
//! An inactive user (`active: false`) is received but never synced: Entra sends
//! `active=false` when a user is unassigned or disabled, and the gateway then retires the CRM
//! user whatever the rules say. Their row shows `synced: false`, no matched rule and no
//! settings.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::rules::{CompiledRules, Outcome, ResolvedSettings, UserFacts};

mod diff;
mod page;

pub use diff::{DiffUser, PreviewDiff, SettingChange, UserChanges, diff};
pub use page::{PreviewPage, PreviewQuery};

/// A user as received from the directory, with what the rules need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryUser {
    /// The SCIM `id`.
    pub id: String,
    /// The SCIM `userName`.
    pub user_name: String,
    /// The SCIM `displayName`.
    pub display_name: Option<String>,
    /// The SCIM `active` (absent counts as active).
    pub active: bool,
    /// The `externalId`s of the groups the user is a direct member of.
    pub groups: HashSet<String>,
    /// The SCIM User as JSON; needed only when [`CompiledRules::needs_resource`].
    pub resource: Option<Value>,
}

impl DirectoryUser {
    /// The rules' outcome for this user: never synced when inactive (see the module docs).
    pub fn outcome(&self, rules: &CompiledRules) -> Outcome {
        if !self.active {
            return Outcome::default();
        }
        rules.evaluate(&UserFacts {
            id: &self.id,
            user_name: &self.user_name,
            group_external_ids: &self.groups,
            resource: self.resource.as_ref(),
        })
    }
}

/// One user's line of a preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewRow {
    /// The SCIM `id`.
    pub id: String,
    /// The SCIM `userName` (the CRM user name).
    pub user_name: String,
    /// The SCIM `displayName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The SCIM `active`.
    pub active: bool,
    /// Will be a CRM user.
    pub synced: bool,
    /// The matching rules' ids, top to bottom.
    pub matched: Vec<String>,
    /// Each resulting setting with the rule that set it.
    pub settings: ResolvedSettings,
}

/// The outcome of a rule set for every received user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    /// Users received from the directory (active or not).
    pub users_received: usize,
    /// Users that will be synced.
    pub users_synced: usize,
    /// One row per user, in the order given.
    pub rows: Vec<PreviewRow>,
}

/// Runs `rules` for every user.
pub fn preview(users: &[DirectoryUser], rules: &CompiledRules) -> Preview {
    let rows: Vec<PreviewRow> = users
        .iter()
        .map(|u| {
            let o = u.outcome(rules);
            PreviewRow {
                id: u.id.clone(),
                user_name: u.user_name.clone(),
                display_name: u.display_name.clone(),
                active: u.active,
                synced: o.synced,
                matched: o.matched,
                settings: o.settings,
            }
        })
        .collect();
    Preview {
        users_received: users.len(),
        users_synced: rows.iter().filter(|r| r.synced).count(),
        rows,
    }
}

#[cfg(test)]
mod tests;
