//! A conformance [`Check`]: a stable id, the RFC section it enforces, a [`Level`], the server
//! features it needs, and the async function that runs it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use serde::Serialize;

use crate::context::CheckContext;
use crate::outcome::CheckResult;

/// A client whose documented traffic a profile replays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientProfile {
    /// Microsoft Entra ID provisioning (Entra ID's documented provisioning traffic).
    Entra,
    /// Okta provisioning (Okta's SCIM 2.0 protocol reference).
    Okta,
}

/// A set of checks chosen with `--profile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// The RFC 7643 / RFC 7644 requirements (the default).
    Rfc,
    /// Microsoft Entra ID's provisioning traffic.
    Entra,
    /// Okta's provisioning traffic.
    Okta,
}

impl Profile {
    /// Parses `rfc`, `entra` or `okta` (any case).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "rfc" => Some(Profile::Rfc),
            "entra" => Some(Profile::Entra),
            "okta" => Some(Profile::Okta),
            _ => None,
        }
    }

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Rfc => "rfc",
            Profile::Entra => "entra",
            Profile::Okta => "okta",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How binding the rule a check enforces is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Level {
    /// An RFC "MUST" / "SHALL" / "REQUIRED".
    Must,
    /// An RFC "SHOULD" / "RECOMMENDED".
    Should,
    /// What a real client sends and needs answered (not an RFC requirement).
    Profile(ClientProfile),
}

impl Level {
    /// The profile a check of this level belongs to.
    pub fn profile(self) -> Profile {
        match self {
            Level::Must | Level::Should => Profile::Rfc,
            Level::Profile(ClientProfile::Entra) => Profile::Entra,
            Level::Profile(ClientProfile::Okta) => Profile::Okta,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::Profile(ClientProfile::Entra) => "ENTRA",
            Level::Profile(ClientProfile::Okta) => "OKTA",
        })
    }
}

/// A server capability a check may depend on, as discovery reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Feature {
    /// A resource type with the core User schema.
    Users,
    /// A resource type with the core Group schema.
    Groups,
    /// The enterprise User extension on the User resource type.
    EnterpriseUser,
    /// `patch.supported` (RFC 7643 §5).
    Patch,
    /// `bulk.supported`.
    Bulk,
    /// `filter.supported`.
    Filter,
    /// `sort.supported`.
    Sort,
    /// `etag.supported`.
    Etag,
    /// `changePassword.supported`.
    ChangePassword,
    /// Cursor pagination (RFC 9865 `pagination.cursor`).
    CursorPaging,
}

impl Feature {
    /// Why a check that needs this feature is skipped when the server lacks it.
    pub fn missing_reason(self) -> &'static str {
        match self {
            Feature::Users => {
                "the server has no resource type with the User schema (/ResourceTypes)"
            }
            Feature::Groups => {
                "the server has no resource type with the Group schema (/ResourceTypes)"
            }
            Feature::EnterpriseUser => {
                "the User resource type does not list the enterprise extension (/ResourceTypes)"
            }
            Feature::Patch => "the server says patch.supported=false (/ServiceProviderConfig)",
            Feature::Bulk => "the server says bulk.supported=false (/ServiceProviderConfig)",
            Feature::Filter => "the server says filter.supported=false (/ServiceProviderConfig)",
            Feature::Sort => "the server says sort.supported=false (/ServiceProviderConfig)",
            Feature::Etag => "the server says etag.supported=false (/ServiceProviderConfig)",
            Feature::ChangePassword => {
                "the server says changePassword.supported=false (/ServiceProviderConfig)"
            }
            Feature::CursorPaging => {
                "the server does not announce cursor pagination (RFC 9865, /ServiceProviderConfig)"
            }
        }
    }
}

/// The future a check's run function returns.
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = CheckResult> + Send + 'a>>;

/// A check's run function.
pub type RunFn = for<'a> fn(&'a mut CheckContext) -> CheckFuture<'a>;

/// One conformance check.
#[derive(Clone)]
pub struct Check {
    /// The stable id (`users.create.returns-201-location`); never reused for another rule.
    pub id: &'static str,
    /// One line saying what the server must do.
    pub title: &'static str,
    /// The RFC section enforced (`RFC 7644 §3.3`), or the client documentation for profiles.
    pub section: &'static str,
    /// MUST, SHOULD or a client profile.
    pub level: Level,
    /// Features the server must announce for the check to run; otherwise it is skipped.
    pub requires: &'static [Feature],
    /// The check itself.
    pub run: RunFn,
}

impl Check {
    /// The profile the check belongs to.
    pub fn profile(&self) -> Profile {
        self.level.profile()
    }
}

impl fmt::Debug for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Check")
            .field("id", &self.id)
            .field("section", &self.section)
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

/// Wraps an `async fn(&mut CheckContext) -> CheckResult` into a [`RunFn`].
#[macro_export]
macro_rules! run_fn {
    ($f:path) => {{
        fn wrapper(ctx: &mut $crate::context::CheckContext) -> $crate::check::CheckFuture<'_> {
            Box::pin($f(ctx))
        }
        wrapper as $crate::check::RunFn
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_parse_and_levels_map() {
        assert_eq!(Profile::parse("Entra"), Some(Profile::Entra));
        assert_eq!(Profile::parse("x"), None);
        assert_eq!(Level::Should.profile(), Profile::Rfc);
        assert_eq!(Level::Profile(ClientProfile::Okta).profile(), Profile::Okta);
        assert_eq!(Level::Must.to_string(), "MUST");
    }
}
