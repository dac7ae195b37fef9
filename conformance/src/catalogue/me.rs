//! The `/Me` authenticated-subject alias (RFC 7644 §3.11).
//!
//! RFC 7644 §3.11: "A client MAY use a URL of the form "<base-URI>/Me" as a URI alias for the
//! User or other resource associated with the currently authenticated subject for any SCIM
//! operation." and "If the service provider does not support the "/Me" authentication alias, an
//! HTTP status 501 (Not Implemented) SHOULD be returned"; errors are SCIM errors (§3.12).

use super::expect_error;
use crate::check::{Check, Level};
use crate::context::CheckContext;
use crate::ensure;
use crate::json::{get_ci, str_at};
use crate::outcome::CheckResult;
use crate::run_fn;

/// The `/Me` checks.
pub fn checks() -> Vec<Check> {
    vec![Check {
        id: "me.get.subject-or-501",
        title: "GET /Me answers 200 with the authenticated subject's resource, or 501 Not Implemented with a SCIM error",
        section: "RFC 7644 §3.11, §3.12",
        level: Level::Should,
        requires: &[],
        run: run_fn!(get_me),
    }]
}

async fn get_me(ctx: &mut CheckContext) -> CheckResult {
    let resp = ctx.get("/Me").await?;
    match resp.status {
        200 => {
            let body = resp.body_json();
            ensure!(
                str_at(body, "id").is_some() && get_ci(body, "schemas").is_some(),
                "GET /Me answered 200 without a resource (no id or schemas): it must be the resource of the authenticated subject"
            );
            Ok(())
        }
        501 => expect_error(&resp, 501, None, "GET /Me"),
        other => Err(crate::outcome::Stop::fail(format!(
            "GET /Me answered {other}: RFC 7644 §3.11 allows the subject's resource (200) or 501 Not Implemented when /Me is not supported"
        ))),
    }
}
