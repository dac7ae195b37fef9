//! The `okta` profile: Okta's provisioning traffic (lookups with `startIndex=1&count=100`, PUT
//! updates, deactivation by path-less replace, group PATCH mixing remove and add).

use serde_json::json;

use super::{expect_status, fetch, filter, ids, patch_ok, values_of};
use crate::check::{Check, ClientProfile, Feature, Level};
use crate::context::CheckContext;
use crate::ensure;
use crate::json::{get_ci, str_at};
use crate::outcome::CheckResult;
use crate::run_fn;

const OKTA: Level = Level::Profile(ClientProfile::Okta);
const DOC: &str = "Okta: SCIM 2.0 protocol reference";

/// The Okta checks.
pub fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "okta.lookup.count-100",
            title: "GET /Users?filter=userName eq \"...\"&startIndex=1&count=100 returns the user",
            section: DOC,
            level: OKTA,
            requires: &[Feature::Users, Feature::Filter],
            run: run_fn!(lookup),
        },
        Check {
            id: "okta.update.put",
            title: "PUT of the whole user updates it",
            section: DOC,
            level: OKTA,
            requires: &[Feature::Users],
            run: run_fn!(put_update),
        },
        Check {
            id: "okta.deactivate.pathless-replace",
            title: "PATCH replace without path {\"active\": false} deactivates the user",
            section: DOC,
            level: OKTA,
            requires: &[Feature::Users, Feature::Patch],
            run: run_fn!(deactivate),
        },
        Check {
            id: "okta.group.patch-remove-and-add",
            title: "One group PATCH that removes a member and adds another applies both",
            section: DOC,
            level: OKTA,
            requires: &[Feature::Users, Feature::Groups, Feature::Patch],
            run: run_fn!(group_remove_and_add),
        },
    ]
}

async fn lookup(ctx: &mut CheckContext) -> CheckResult {
    let u = ctx.create_user("okta").await?;
    let name = str_at(u.response.body_json(), "userName")
        .unwrap_or_default()
        .to_string();
    let users = ctx.users();
    let resp = filter(
        ctx,
        &users,
        &format!("userName eq \"{name}\""),
        "startIndex=1&count=100",
    )
    .await?;
    ensure!(
        ids(&resp) == vec![u.id.clone()],
        "the lookup returned {:?}, expected [{}]",
        ids(&resp),
        u.id
    );
    Ok(())
}

async fn put_update(ctx: &mut CheckContext) -> CheckResult {
    let u = ctx.create_user("okta-put").await?;
    let mut body = fetch(ctx, &u.url).await?;
    if let Some(obj) = body.as_object_mut() {
        obj.remove("meta");
        obj.insert(
            "name".into(),
            json!({"givenName": "Okta", "familyName": "Updated"}),
        );
    }
    let resp = ctx.put(&u.url, &body).await?;
    expect_status(&resp, &[200], "PUT")?;
    let got = fetch(ctx, &u.url).await?;
    ensure!(
        str_at(&got, "name.familyName") == Some("Updated"),
        "name.familyName is {:?} after PUT",
        str_at(&got, "name.familyName")
    );
    Ok(())
}

async fn deactivate(ctx: &mut CheckContext) -> CheckResult {
    let u = ctx.create_user("okta-deactivate").await?;
    patch_ok(
        ctx,
        &u.url,
        json!([{"op": "replace", "value": {"active": false}}]),
    )
    .await?;
    let got = fetch(ctx, &u.url).await?;
    ensure!(
        get_ci(&got, "active") == Some(&json!(false)),
        "active is {:?}, expected false",
        get_ci(&got, "active")
    );
    Ok(())
}

async fn group_remove_and_add(ctx: &mut CheckContext) -> CheckResult {
    let a = ctx.create_user("member-a").await?;
    let b = ctx.create_user("member-b").await?;
    let c = ctx.create_user("member-c").await?;
    let g = ctx.create_group("okta-group", &[&a.id, &b.id]).await?;
    patch_ok(
        ctx,
        &g.url,
        json!([
            {"op": "remove", "path": format!("members[value eq \"{}\"]", a.id)},
            {"op": "add", "path": "members", "value": [{"value": c.id}]}
        ]),
    )
    .await?;
    let mut members = values_of(&fetch(ctx, &g.url).await?, "members");
    members.sort();
    let mut want = vec![b.id.clone(), c.id.clone()];
    want.sort();
    ensure!(
        members == want,
        "members are {members:?}, expected {want:?}"
    );
    Ok(())
}
