//! What one check concluded: [`Outcome`].

use serde::Serialize;

use crate::client::Exchange;

/// The result of running one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Outcome {
    /// The server did what the rule requires.
    Pass,
    /// The server broke the rule; `exchanges` are the HTTP requests and responses that show it.
    Fail {
        /// What was wrong, in one or two sentences.
        reason: String,
        /// The HTTP exchanges the check made, in order (the last one usually shows the fault).
        exchanges: Vec<Exchange>,
    },
    /// The check did not run, and why (a feature the server says it lacks, a profile not chosen).
    Skip {
        /// Why the check did not run.
        reason: String,
    },
}

impl Outcome {
    /// `true` for [`Outcome::Pass`].
    pub fn is_pass(&self) -> bool {
        matches!(self, Outcome::Pass)
    }

    /// `true` for [`Outcome::Fail`].
    pub fn is_fail(&self) -> bool {
        matches!(self, Outcome::Fail { .. })
    }

    /// `true` for [`Outcome::Skip`].
    pub fn is_skip(&self) -> bool {
        matches!(self, Outcome::Skip { .. })
    }

    /// The failure or skip reason, if any.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Pass => None,
            Outcome::Fail { reason, .. } | Outcome::Skip { reason } => Some(reason),
        }
    }

    /// A short upper-case label: `PASS`, `FAIL` or `SKIP`.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Fail { .. } => "FAIL",
            Outcome::Skip { .. } => "SKIP",
        }
    }
}

/// Why a check body stopped early: it found a fault, or it found it cannot run.
///
/// Check bodies return `Result<(), Stop>`; the suite turns it into an [`Outcome`] and attaches
/// the exchanges the check made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The server broke the rule.
    Fail(String),
    /// The check cannot run against this server (the reason says why).
    Skip(String),
}

impl Stop {
    /// A failure with the given reason.
    pub fn fail(reason: impl Into<String>) -> Self {
        Stop::Fail(reason.into())
    }

    /// A skip with the given reason.
    pub fn skip(reason: impl Into<String>) -> Self {
        Stop::Skip(reason.into())
    }
}

/// What a check body returns.
pub type CheckResult = Result<(), Stop>;

/// Fails the check with a formatted reason unless the condition holds.
///
/// ```
/// use conformance::{ensure, outcome::{CheckResult, Stop}};
///
/// fn status_is_201(status: u16) -> CheckResult {
///     ensure!(status == 201, "expected 201 Created, got {status}");
///     Ok(())
/// }
/// assert!(status_is_201(201).is_ok());
/// assert_eq!(status_is_201(200), Err(Stop::Fail("expected 201 Created, got 200".into())));
/// ```
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err($crate::outcome::Stop::Fail(format!($($fmt)+)));
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_predicates() {
        assert_eq!(Outcome::Pass.label(), "PASS");
        let f = Outcome::Fail {
            reason: "r".into(),
            exchanges: vec![],
        };
        assert!(f.is_fail() && !f.is_pass());
        assert_eq!(f.reason(), Some("r"));
        assert!(Outcome::Skip { reason: "s".into() }.is_skip());
    }
}
