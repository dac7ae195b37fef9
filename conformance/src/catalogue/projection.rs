//! `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) with the `returned`
//! characteristic (RFC 7643 §2.2, §7).

use serde_json::Value;

use super::{fetch, filter};
use crate::check::{Check, Feature, Level};
use crate::context::CheckContext;
use crate::ensure;
use crate::json::{get_ci, get_path, resources};
use crate::outcome::CheckResult;
use crate::run_fn;

/// The projection checks.
pub fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "projection.attributes.limits-to-requested",
            title: "attributes=userName returns userName and the always-returned attributes, not emails",
            section: "RFC 7644 §3.9",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(attributes_limit),
        },
        Check {
            id: "projection.attributes.id-always-returned",
            title: "id (returned: always) is returned even when attributes does not name it",
            section: "RFC 7644 §3.9, RFC 7643 §2.2",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(attributes_keep_id),
        },
        Check {
            id: "projection.attributes.sub-attribute",
            title: "attributes=name.givenName returns name.givenName but not name.familyName",
            section: "RFC 7644 §3.9, §3.10",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(attributes_sub),
        },
        Check {
            id: "projection.attributes.on-list",
            title: "attributes applies to every resource of a list response",
            section: "RFC 7644 §3.4.2.5",
            level: Level::Must,
            requires: &[Feature::Users, Feature::Filter],
            run: run_fn!(attributes_on_list),
        },
        Check {
            id: "projection.excluded.removes-attribute",
            title: "excludedAttributes=emails returns the user without emails",
            section: "RFC 7644 §3.9",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(excluded_removes),
        },
        Check {
            id: "projection.excluded.cannot-remove-always",
            title: "excludedAttributes=id still returns id (returned: always)",
            section: "RFC 7644 §3.9, RFC 7643 §2.2",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(excluded_keeps_id),
        },
        Check {
            id: "projection.attributes.multiple",
            title: "attributes=userName,emails returns both and nothing else of default",
            section: "RFC 7644 §3.9",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(attributes_multiple),
        },
        Check {
            id: "projection.excluded.multiple",
            title: "excludedAttributes=emails,name removes both",
            section: "RFC 7644 §3.9",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(excluded_multiple),
        },
        Check {
            id: "projection.excluded.on-list",
            title: "excludedAttributes applies to every resource of a list response",
            section: "RFC 7644 §3.4.2.5",
            level: Level::Must,
            requires: &[Feature::Users, Feature::Filter],
            run: run_fn!(excluded_on_list),
        },
    ]
}

async fn get_with(ctx: &mut CheckContext, query: &str) -> Result<Value, crate::outcome::Stop> {
    let created = ctx.create_user("proj").await?;
    fetch(ctx, &format!("{}?{query}", created.url)).await
}

async fn attributes_limit(ctx: &mut CheckContext) -> CheckResult {
    let got = get_with(ctx, "attributes=userName").await?;
    ensure!(get_ci(&got, "userName").is_some(), "userName is missing");
    ensure!(
        get_ci(&got, "emails").is_none(),
        "emails is returned although only userName was requested"
    );
    ensure!(
        get_ci(&got, "displayName").is_none(),
        "displayName is returned although only userName was requested"
    );
    Ok(())
}

async fn attributes_keep_id(ctx: &mut CheckContext) -> CheckResult {
    let got = get_with(ctx, "attributes=userName").await?;
    ensure!(
        get_ci(&got, "id").is_some(),
        "id is missing from attributes=userName"
    );
    Ok(())
}

async fn attributes_sub(ctx: &mut CheckContext) -> CheckResult {
    let got = get_with(ctx, "attributes=name.givenName").await?;
    ensure!(
        get_path(&got, "name.givenName").is_some(),
        "name.givenName is missing"
    );
    ensure!(
        get_path(&got, "name.familyName").is_none(),
        "name.familyName is returned although only name.givenName was requested"
    );
    Ok(())
}

async fn attributes_on_list(ctx: &mut CheckContext) -> CheckResult {
    let created = ctx.create_user("proj-list").await?;
    let users = ctx.users();
    let f = format!("id eq \"{}\"", created.id);
    let f_name = crate::json::str_at(created.response.body_json(), "userName")
        .unwrap_or_default()
        .to_string();
    let f = if f_name.is_empty() {
        f
    } else {
        format!("userName eq \"{f_name}\"")
    };
    let resp = filter(ctx, &users, &f, "attributes=userName").await?;
    let items = resources(resp.body_json());
    ensure!(
        items.len() == 1,
        "the filter returned {} resources, expected 1",
        items.len()
    );
    for r in items {
        ensure!(
            get_ci(r, "emails").is_none(),
            "a listed resource has emails although attributes=userName"
        );
        ensure!(get_ci(r, "id").is_some(), "a listed resource has no id");
    }
    Ok(())
}

async fn excluded_removes(ctx: &mut CheckContext) -> CheckResult {
    let got = get_with(ctx, "excludedAttributes=emails").await?;
    ensure!(
        get_ci(&got, "emails").is_none(),
        "emails is returned although excluded"
    );
    ensure!(
        get_ci(&got, "userName").is_some(),
        "userName is missing although only emails was excluded"
    );
    Ok(())
}

async fn excluded_keeps_id(ctx: &mut CheckContext) -> CheckResult {
    let got = get_with(ctx, "excludedAttributes=id").await?;
    ensure!(
        get_ci(&got, "id").is_some(),
        "id is missing: returned always attributes cannot be excluded"
    );
    Ok(())
}

async fn attributes_multiple(ctx: &mut CheckContext) -> CheckResult {
    let got = get_with(ctx, "attributes=userName,emails").await?;
    ensure!(get_ci(&got, "userName").is_some(), "userName is missing");
    ensure!(get_ci(&got, "emails").is_some(), "emails is missing");
    ensure!(
        get_ci(&got, "displayName").is_none(),
        "displayName is returned although not requested"
    );
    Ok(())
}

async fn excluded_multiple(ctx: &mut CheckContext) -> CheckResult {
    let got = get_with(ctx, "excludedAttributes=emails,name").await?;
    ensure!(
        get_ci(&got, "emails").is_none(),
        "emails is returned although excluded"
    );
    ensure!(
        get_ci(&got, "name").is_none(),
        "name is returned although excluded"
    );
    ensure!(get_ci(&got, "userName").is_some(), "userName is missing");
    Ok(())
}

async fn excluded_on_list(ctx: &mut CheckContext) -> CheckResult {
    let created = ctx.create_user("excl-list").await?;
    let users = ctx.users();
    let name = crate::json::str_at(created.response.body_json(), "userName")
        .unwrap_or_default()
        .to_string();
    let resp = filter(
        ctx,
        &users,
        &format!("userName eq \"{name}\""),
        "excludedAttributes=emails",
    )
    .await?;
    let items = resources(resp.body_json());
    ensure!(
        items.len() == 1,
        "the filter returned {} resources, expected 1",
        items.len()
    );
    ensure!(
        items.iter().all(|r| get_ci(r, "emails").is_none()),
        "a listed resource has emails although excluded"
    );
    Ok(())
}
