//! The difference a draft rule set makes against the saved one.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::DirectoryUser;
use crate::rules::CompiledRules;

/// A user, by id and user name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiffUser {
    /// The SCIM `id`.
    pub id: String,
    /// The SCIM `userName`.
    pub user_name: String,
}

/// One setting whose value differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettingChange {
    /// The setting's JSON name (`userPlan`, `role`, `primaryGroup`, `secondaryGroups`,
    /// `ownerCompany`, `confidential`).
    pub setting: String,
    /// Its value under the saved rules (`null`: not set, the CRM keeps its value).
    pub before: Value,
    /// Its value under the draft.
    pub after: Value,
}

/// A user synced under both rule sets whose settings differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserChanges {
    /// The SCIM `id`.
    pub id: String,
    /// The SCIM `userName`.
    pub user_name: String,
    /// The settings that change, in the order of [`crate::rules::ResolvedSettings::values`].
    pub changes: Vec<SettingChange>,
}

/// What saving a draft would change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewDiff {
    /// Users synced under the draft but not under the saved rules.
    pub starts: Vec<DiffUser>,
    /// Users synced under the saved rules but not under the draft.
    pub stops: Vec<DiffUser>,
    /// Users synced under both whose setting values differ (a different rule setting the same
    /// value is no change).
    pub changed: Vec<UserChanges>,
}

/// Compares the outcome of `saved` and `draft` for every user, in the order given.
pub fn diff(users: &[DirectoryUser], saved: &CompiledRules, draft: &CompiledRules) -> PreviewDiff {
    let mut d = PreviewDiff::default();
    for u in users {
        let (before, after) = (u.outcome(saved), u.outcome(draft));
        let who = || DiffUser {
            id: u.id.clone(),
            user_name: u.user_name.clone(),
        };
        match (before.synced, after.synced) {
            (false, true) => d.starts.push(who()),
            (true, false) => d.stops.push(who()),
            (true, true) => {
                let changes: Vec<SettingChange> = before
                    .settings
                    .values()
                    .into_iter()
                    .zip(after.settings.values())
                    .filter(|((_, b), (_, a))| a != b)
                    .map(|((name, before), (_, after))| SettingChange {
                        setting: name.to_owned(),
                        before,
                        after,
                    })
                    .collect();
                if !changes.is_empty() {
                    d.changed.push(UserChanges {
                        id: u.id.clone(),
                        user_name: u.user_name.clone(),
                        changes,
                    });
                }
            }
            (false, false) => {}
        }
    }
    d
}
