//! Test Connection: every catalogue call of a tenant's SuperOffice connection in turn, and
//! the first failure said plainly (DNS, TLS, unreachable, sign-in refused, credentials
//! refused, missing rights).

use super::SuperOfficeCrm;
use super::client::{self, ApiError, TransportKind};
use crate::crm::Catalog;

/// Which problem Test Connection found.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum ConnectionProblem {
    /// The host name does not resolve.
    Dns,
    /// The TLS handshake failed.
    Tls,
    /// Connection refused, host unreachable, reset, or no answer in time.
    Unreachable,
    /// SuperOffice's Web API refused the credentials (401): the access token or ticket,
    /// also when the gateway had just signed in.
    CredentialsRefused,
    /// The sign-in service (system user) or token endpoint (OAuth refresh) refused the
    /// signed system user token or the refresh token.
    SignInRefused,
    /// The sign-in service or token endpoint could not be reached or failed (5xx, 429).
    SignInUnreachable,
    /// The credentials lack the rights for a call (403).
    MissingRights,
    /// SuperOffice answered with a server error or 429.
    ServerError,
    /// Anything else (a 404 from a wrong customer id, an unexpected answer).
    Unexpected,
}

/// What Test Connection found: OK with the catalogue's size, or the first problem.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionReport {
    /// Every call answered.
    pub ok: bool,
    /// The problem, when not OK.
    pub problem: Option<ConnectionProblem>,
    /// The call that failed (`POST Agents/User/GetAllRoles`).
    pub failed_call: Option<String>,
    /// What was found, for people.
    pub detail: String,
    /// Roles, user groups, owner companies and user plans found (when OK).
    pub counts: Option<CatalogCounts>,
}

/// The size of a catalogue.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct CatalogCounts {
    /// Roles.
    pub roles: usize,
    /// User groups.
    pub user_groups: usize,
    /// Owner companies.
    pub owner_companies: usize,
    /// User plans.
    pub user_plans: usize,
}

impl CatalogCounts {
    /// The counts of `c`.
    pub fn of(c: &Catalog) -> Self {
        CatalogCounts {
            roles: c.roles.len(),
            user_groups: c.user_groups.len(),
            owner_companies: c.owner_companies.len(),
            user_plans: c.user_plans.len(),
        }
    }
}

impl SuperOfficeCrm {
    /// Runs Test Connection: every catalogue call in turn; the first failure says what is
    /// wrong (DNS, TLS, unreachable, credentials refused, missing rights on a call).
    pub async fn test_connection(&self) -> ConnectionReport {
        let auth = self.client.authenticator();
        match self.read_catalog().await {
            Ok(c) => ConnectionReport {
                ok: true,
                problem: None,
                failed_call: None,
                detail: format!(
                    "connected: {} roles, {} user groups, {} owner companies, {} user plans",
                    c.roles.len(),
                    c.user_groups.len(),
                    c.owner_companies.len(),
                    c.user_plans.len()
                ),
                counts: Some(CatalogCounts::of(&c)),
            },
            Err(e) => report_problem(&e, auth.renewable()),
        }
    }
}

fn report_problem(e: &ApiError, renewable: bool) -> ConnectionReport {
    let (problem, call, detail) = match e {
        ApiError::SignIn {
            step,
            failure,
            message,
        } => (
            match failure {
                client::SignInFailure::Refused => ConnectionProblem::SignInRefused,
                client::SignInFailure::Unreachable(_) | client::SignInFailure::ServerError => {
                    ConnectionProblem::SignInUnreachable
                }
                client::SignInFailure::Invalid => ConnectionProblem::Unexpected,
            },
            Some(step.clone()),
            match failure {
                client::SignInFailure::Unreachable(kind) => {
                    format!("the SuperOffice sign-in is unreachable: {kind} ({message})")
                }
                _ => format!("signing in to SuperOffice failed: {message}"),
            },
        ),
        ApiError::Status {
            status: 401, call, ..
        } if renewable => (
            ConnectionProblem::CredentialsRefused,
            Some(call.clone()),
            "the sign-in succeeded, but SuperOffice's Web API refused the new credential (401), \
             also after signing in again: check the customer id and the application's rights"
                .to_string(),
        ),
        ApiError::Transport { kind, call, .. } => (
            match kind {
                TransportKind::Dns => ConnectionProblem::Dns,
                TransportKind::Tls => ConnectionProblem::Tls,
                _ => ConnectionProblem::Unreachable,
            },
            Some(call.clone()),
            format!("SuperOffice is unreachable: {kind}"),
        ),
        ApiError::Status {
            status: 401, call, ..
        } => (
            ConnectionProblem::CredentialsRefused,
            Some(call.clone()),
            "SuperOffice refused the credentials (401): check the access token or the system \
             user ticket and the application token"
                .to_string(),
        ),
        ApiError::Status {
            status: 403, call, ..
        } => (
            ConnectionProblem::MissingRights,
            Some(call.clone()),
            format!("the credentials lack the rights for {call} (403)"),
        ),
        ApiError::Status { status, call, .. } if *status == 429 || *status >= 500 => (
            ConnectionProblem::ServerError,
            Some(call.clone()),
            e.to_string(),
        ),
        ApiError::Status { call, .. } | ApiError::Decode { call, .. } => (
            ConnectionProblem::Unexpected,
            Some(call.clone()),
            e.to_string(),
        ),
        ApiError::CircuitOpen { .. } => (ConnectionProblem::Unreachable, None, e.to_string()),
    };
    ConnectionReport {
        ok: false,
        problem: Some(problem),
        failed_call: call,
        detail,
        counts: None,
    }
}
