//! The [`Suite`]: discovery, check selection (profiles, `--only`, `--skip`), bounded
//! concurrency, clean-up, and the structured [`Report`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::catalogue;
use crate::check::{Check, Level, Profile};
use crate::client::{Credentials, ScimClient};
use crate::context::{CheckContext, NameGen};
use crate::discovery::{DiscoveryError, ServerFeatures, discover};
use crate::glob::any_match;
use crate::outcome::{Outcome, Stop};

/// How to run the suite.
#[derive(Debug, Clone)]
pub struct SuiteConfig {
    /// The SCIM base URL (`https://example.com/scim/v2`).
    pub base_url: String,
    /// Bearer token and/or extra headers.
    pub credentials: Credentials,
    /// The profiles to run (default: `rfc`).
    pub profiles: Vec<Profile>,
    /// Run only checks whose id matches one of these globs (all when empty).
    pub only: Vec<String>,
    /// Leave out checks whose id matches one of these globs.
    pub skip: Vec<String>,
    /// Timeout of each HTTP request.
    pub timeout: Duration,
    /// How many checks run at once.
    pub concurrency: usize,
}

impl SuiteConfig {
    /// The defaults for `base_url`: profile `rfc`, no credentials, 10 s timeout, 4 at once.
    pub fn new(base_url: impl Into<String>) -> Self {
        SuiteConfig {
            base_url: base_url.into(),
            credentials: Credentials::none(),
            profiles: vec![Profile::Rfc],
            only: Vec::new(),
            skip: Vec::new(),
            timeout: Duration::from_secs(10),
            concurrency: 4,
        }
    }

    /// Sets the credentials.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// Sets the profiles.
    pub fn profiles(mut self, profiles: &[Profile]) -> Self {
        self.profiles = profiles.to_vec();
        self
    }

    /// Adds an `--only` glob.
    pub fn only(mut self, glob: impl Into<String>) -> Self {
        self.only.push(glob.into());
        self
    }

    /// Adds a `--skip` glob.
    pub fn skip(mut self, glob: impl Into<String>) -> Self {
        self.skip.push(glob.into());
        self
    }
}

/// The result of one check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The check id.
    pub id: &'static str,
    /// What the check verifies.
    pub title: &'static str,
    /// The RFC section (or client documentation) enforced.
    pub section: &'static str,
    /// MUST / SHOULD / profile.
    pub level: Level,
    /// The profile the check belongs to.
    pub profile: Profile,
    /// What happened.
    pub outcome: Outcome,
    /// How long the check took, in milliseconds.
    pub millis: u64,
    /// Resources the clean-up could not delete (left on the server).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cleanup_failures: Vec<String>,
}

/// What a run found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The base URL tested.
    pub base_url: String,
    /// The profiles run.
    pub profiles: Vec<Profile>,
    /// What discovery found.
    pub features: ServerFeatures,
    /// One entry per selected check, in catalogue order.
    pub results: Vec<CheckReport>,
    /// How long the run took, in milliseconds.
    pub millis: u64,
}

impl Report {
    /// Checks that passed.
    pub fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.outcome.is_pass()).count()
    }

    /// Checks that failed.
    pub fn failed(&self) -> usize {
        self.results.iter().filter(|r| r.outcome.is_fail()).count()
    }

    /// Checks that were skipped.
    pub fn skipped(&self) -> usize {
        self.results.iter().filter(|r| r.outcome.is_skip()).count()
    }

    /// `true` when nothing failed.
    pub fn success(&self) -> bool {
        self.failed() == 0
    }

    /// `N passed, M failed, K skipped`.
    pub fn summary_line(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped",
            self.passed(),
            self.failed(),
            self.skipped()
        )
    }

    /// The result of the check with this id.
    pub fn get(&self, id: &str) -> Option<&CheckReport> {
        self.results.iter().find(|r| r.id == id)
    }
}

/// A conformance run against one SCIM service.
///
/// ```
/// use conformance::{Suite, SuiteConfig, Profile};
///
/// // Listing the checks needs no network.
/// let suite = Suite::new(SuiteConfig::new("http://127.0.0.1:1/scim/v2").only("users.create.*"));
/// let ids: Vec<&str> = suite.selected().iter().map(|c| c.id).collect();
/// assert!(ids.contains(&"users.create.returns-201-location"));
/// assert!(ids.iter().all(|id| id.starts_with("users.create.")));
/// // Profiles decide which client-replay checks are selected.
/// let entra = Suite::new(SuiteConfig::new("http://x").profiles(&[Profile::Entra]));
/// assert!(entra.selected().iter().all(|c| c.profile() == Profile::Entra));
/// ```
#[derive(Debug, Clone)]
pub struct Suite {
    config: SuiteConfig,
    checks: Vec<Check>,
}

impl Suite {
    /// A suite over the whole catalogue.
    pub fn new(config: SuiteConfig) -> Self {
        Suite {
            config,
            checks: catalogue::all(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SuiteConfig {
        &self.config
    }

    /// The checks the configuration selects, in catalogue order.
    pub fn selected(&self) -> Vec<Check> {
        self.checks
            .iter()
            .filter(|c| self.config.profiles.contains(&c.profile()))
            .filter(|c| self.config.only.is_empty() || any_match(&self.config.only, c.id))
            .filter(|c| !any_match(&self.config.skip, c.id))
            .cloned()
            .collect()
    }

    /// Runs discovery and then the selected checks.
    pub async fn run(&self) -> Result<Report, DiscoveryError> {
        self.run_with_progress(|_, _, _| {}).await
    }

    /// Like [`Suite::run`], calling `progress(done, total, result)` as each check finishes.
    pub async fn run_with_progress(
        &self,
        mut progress: impl FnMut(usize, usize, &CheckReport),
    ) -> Result<Report, DiscoveryError> {
        let started = Instant::now();
        let client = ScimClient::new(
            &self.config.base_url,
            self.config.credentials.clone(),
            self.config.timeout,
        )
        .map_err(|e| DiscoveryError::Other {
            message: format!("cannot build the HTTP client: {e}"),
        })?;
        let (features, _) = discover(&client).await?;
        let features = Arc::new(features);
        let names = Arc::new(NameGen::new());
        let selected = self.selected();
        let total = selected.len();
        let semaphore = Arc::new(Semaphore::new(self.config.concurrency.max(1)));
        let mut set = JoinSet::new();
        for (index, check) in selected.iter().cloned().enumerate() {
            let ctx = CheckContext::new(client.fork(), Arc::clone(&features), Arc::clone(&names));
            let semaphore = Arc::clone(&semaphore);
            set.spawn(async move {
                let _permit = semaphore.acquire_owned().await;
                (index, run_one(&check, ctx).await)
            });
        }
        let mut results: Vec<Option<CheckReport>> = vec![None; total];
        let mut done = 0;
        while let Some(joined) = set.join_next().await {
            if let Ok((index, report)) = joined {
                done += 1;
                progress(done, total, &report);
                if let Some(slot) = results.get_mut(index) {
                    *slot = Some(report);
                }
            }
        }
        let results = results
            .into_iter()
            .zip(selected.iter())
            .map(|(r, check)| {
                r.unwrap_or_else(|| CheckReport {
                    id: check.id,
                    title: check.title,
                    section: check.section,
                    level: check.level,
                    profile: check.profile(),
                    outcome: Outcome::Fail {
                        reason: "the check panicked (a bug in the check)".into(),
                        exchanges: Vec::new(),
                    },
                    millis: 0,
                    cleanup_failures: Vec::new(),
                })
            })
            .collect();
        Ok(Report {
            base_url: self.config.base_url.clone(),
            profiles: self.config.profiles.clone(),
            features: (*features).clone(),
            results,
            millis: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }
}

async fn run_one(check: &Check, mut ctx: CheckContext) -> CheckReport {
    let started = Instant::now();
    let missing = check.requires.iter().find(|f| !ctx.features.has(**f));
    let (outcome, cleanup_failures) = if let Some(feature) = missing {
        (
            Outcome::Skip {
                reason: feature.missing_reason().to_string(),
            },
            Vec::new(),
        )
    } else {
        let result = (check.run)(&mut ctx).await;
        let exchanges = ctx.take_exchanges();
        let failures = ctx.run_cleanup().await;
        let outcome = match result {
            Ok(()) => Outcome::Pass,
            Err(Stop::Fail(reason)) => Outcome::Fail { reason, exchanges },
            Err(Stop::Skip(reason)) => Outcome::Skip { reason },
        };
        (outcome, failures)
    };
    CheckReport {
        id: check.id,
        title: check.title,
        section: check.section,
        level: check.level,
        profile: check.profile(),
        outcome,
        millis: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        cleanup_failures,
    }
}
