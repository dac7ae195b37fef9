//! PATCH (RFC 7644 §3.5.2): add, replace and remove with attribute paths, value paths and no
//! path; the error cases; and atomicity.

use serde_json::{Value, json};

use super::{expect_error, fetch, patch_ok, patch_op, values_of};
use crate::check::{Check, Feature, Level};
use crate::context::CheckContext;
use crate::ensure;
use crate::json::{get_ci, get_path, str_at};
use crate::outcome::CheckResult;
use crate::run_fn;

const NEEDS: &[Feature] = &[Feature::Users, Feature::Patch];

macro_rules! patch_check {
    ($id:expr, $title:expr, $section:expr, $f:path) => {
        Check {
            id: $id,
            title: $title,
            section: $section,
            level: Level::Must,
            requires: NEEDS,
            run: run_fn!($f),
        }
    };
}

/// The PATCH checks.
pub fn checks() -> Vec<Check> {
    vec![
        patch_check!(
            "patch.add.single-valued",
            "add with path title sets the attribute",
            "RFC 7644 §3.5.2.1",
            add_single
        ),
        patch_check!(
            "patch.add.multi-valued-appends",
            "add with path emails appends the new value and keeps the existing ones",
            "RFC 7644 §3.5.2.1",
            add_multi
        ),
        patch_check!(
            "patch.replace.single-valued",
            "replace with path displayName replaces the value",
            "RFC 7644 §3.5.2.3",
            replace_single
        ),
        patch_check!(
            "patch.replace.value-path",
            "replace with path emails[type eq \"work\"].value changes only that email",
            "RFC 7644 §3.5.2.3",
            replace_value_path
        ),
        patch_check!(
            "patch.remove.attribute",
            "remove with path title removes the attribute",
            "RFC 7644 §3.5.2.2",
            remove_attribute
        ),
        patch_check!(
            "patch.remove.value-path",
            "remove with path emails[type eq \"home\"] removes only the matching email",
            "RFC 7644 §3.5.2.2",
            remove_value_path
        ),
        patch_check!(
            "patch.pathless.replace",
            "replace without path replaces each attribute of the value object",
            "RFC 7644 §3.5.2.3",
            pathless_replace
        ),
        patch_check!(
            "patch.pathless.add",
            "add without path adds each attribute of the value object",
            "RFC 7644 §3.5.2.1",
            pathless_add
        ),
        patch_check!(
            "patch.remove.no-path-400-no-target",
            "remove without path answers 400 with scimType noTarget",
            "RFC 7644 §3.5.2.2",
            remove_no_path
        ),
        patch_check!(
            "patch.invalid-path-400",
            "An unparseable path answers 400 with scimType invalidPath",
            "RFC 7644 §3.5.2, §3.12",
            invalid_path
        ),
        patch_check!(
            "patch.replace.no-match-400-no-target",
            "replace with a value filter that matches nothing answers 400 noTarget",
            "RFC 7644 §3.5.2.3",
            replace_no_match
        ),
        patch_check!(
            "patch.atomic-all-or-nothing",
            "When one operation fails, none of the request's operations is applied",
            "RFC 7644 §3.5.2",
            atomic
        ),
        patch_check!(
            "patch.add.sub-attribute",
            "add with path name.givenName changes givenName and keeps the other name sub-attributes",
            "RFC 7644 §3.5.2.1",
            add_sub_attribute
        ),
        patch_check!(
            "patch.replace.multi-valued-whole",
            "replace with path emails replaces all existing emails with the given ones",
            "RFC 7644 §3.5.2.3",
            replace_multi_whole
        ),
        patch_check!(
            "patch.remove.multi-valued-all",
            "remove with path emails and no filter removes every email",
            "RFC 7644 §3.5.2.2",
            remove_multi_all
        ),
        patch_check!(
            "patch.response-200-full-resource",
            "A 200 answer to PATCH carries the entire resource (or the answer is 204)",
            "RFC 7644 §3.5.2",
            response_full
        ),
        patch_check!(
            "patch.unknown-op-400",
            "An op other than add, replace or remove answers 400",
            "RFC 7644 §3.5.2",
            unknown_op
        ),
        patch_check!(
            "patch.readonly-id-400-mutability",
            "replace of the readOnly id answers 400 with scimType mutability",
            "RFC 7644 §3.5.2, §3.12",
            readonly_id
        ),
        patch_check!(
            "patch.unknown-id-404",
            "PATCH /Users/{unknown id} answers 404",
            "RFC 7644 §3.5.2, §3.12",
            unknown_id
        ),
        patch_check!(
            "patch.response-excludes-password",
            "A 200 answer to a PATCH that sets the password does not return it",
            "RFC 7643 §4.1.1, §2.2",
            patch_password
        ),
    ]
}

async fn user_with_two_emails(
    ctx: &mut CheckContext,
) -> Result<crate::context::Created, crate::outcome::Stop> {
    let mut body = ctx.user_body("patch");
    let name = str_at(&body, "userName").unwrap_or_default().to_string();
    if let Some(obj) = body.as_object_mut() {
        obj.insert(
            "emails".into(),
            json!([
                {"value": format!("{name}@work.example.com"), "type": "work", "primary": true},
                {"value": format!("{name}@home.example.com"), "type": "home"}
            ]),
        );
        obj.insert("title".into(), json!("Initial Title"));
    }
    let users = ctx.users();
    ctx.create(&users, &body).await
}

fn email_of(user: &Value, kind: &str) -> Option<String> {
    get_ci(user, "emails")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().find(|e| str_at(e, "type") == Some(kind)))
        .and_then(|e| str_at(e, "value"))
        .map(str::to_string)
}

async fn add_single(ctx: &mut CheckContext) -> CheckResult {
    let u = ctx.create_user("patch-add").await?;
    patch_ok(
        ctx,
        &u.url,
        json!([{"op": "add", "path": "title", "value": "Added Title"}]),
    )
    .await?;
    let got = fetch(ctx, &u.url).await?;
    ensure!(
        str_at(&got, "title") == Some("Added Title"),
        "title is {:?} after add",
        str_at(&got, "title")
    );
    Ok(())
}

async fn add_multi(ctx: &mut CheckContext) -> CheckResult {
    let u = ctx.create_user("patch-add-multi").await?;
    let before = values_of(u.response.body_json(), "emails");
    let extra = format!("extra-{}@example.com", u.id);
    patch_ok(
        ctx,
        &u.url,
        json!([{"op": "add", "path": "emails", "value": [{"value": extra, "type": "other"}]}]),
    )
    .await?;
    let got = fetch(ctx, &u.url).await?;
    let after = values_of(&got, "emails");
    ensure!(
        after.contains(&extra),
        "the added email is missing: {after:?}"
    );
    for b in &before {
        ensure!(
            after.contains(b),
            "add dropped the existing email {b}: {after:?}"
        );
    }
    Ok(())
}

async fn replace_single(ctx: &mut CheckContext) -> CheckResult {
    let u = ctx.create_user("patch-replace").await?;
    patch_ok(
        ctx,
        &u.url,
        json!([{"op": "replace", "path": "displayName", "value": "Replaced Name"}]),
    )
    .await?;
    let got = fetch(ctx, &u.url).await?;
    ensure!(
        str_at(&got, "displayName") == Some("Replaced Name"),
        "displayName is {:?} after replace",
        str_at(&got, "displayName")
    );
    Ok(())
}

async fn replace_value_path(ctx: &mut CheckContext) -> CheckResult {
    let u = user_with_two_emails(ctx).await?;
    let home = email_of(u.response.body_json(), "home");
    let new = format!("changed-{}@work.example.com", u.id);
    patch_ok(
        ctx,
        &u.url,
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": new}]),
    )
    .await?;
    let got = fetch(ctx, &u.url).await?;
    ensure!(
        email_of(&got, "work").as_deref() == Some(new.as_str()),
        "the work email is {:?}, expected {new}",
        email_of(&got, "work")
    );
    ensure!(
        email_of(&got, "home") == home,
        "the home email changed too: {:?}",
        email_of(&got, "home")
    );
    Ok(())
}

async fn remove_attribute(ctx: &mut CheckContext) -> CheckResult {
    let u = user_with_two_emails(ctx).await?;
    patch_ok(ctx, &u.url, json!([{"op": "remove", "path": "title"}])).await?;
    let got = fetch(ctx, &u.url).await?;
    ensure!(
        get_ci(&got, "title").is_none(),
        "title is still {:?}",
        get_ci(&got, "title")
    );
    Ok(())
}

async fn remove_value_path(ctx: &mut CheckContext) -> CheckResult {
    let u = user_with_two_emails(ctx).await?;
    let work = email_of(u.response.body_json(), "work");
    patch_ok(
        ctx,
        &u.url,
        json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
    )
    .await?;
    let got = fetch(ctx, &u.url).await?;
    ensure!(
        email_of(&got, "home").is_none(),
        "the home email is still there"
    );
    ensure!(
        email_of(&got, "work") == work,
        "the work email was removed too"
    );
    Ok(())
}

async fn pathless_replace(ctx: &mut CheckContext) -> CheckResult {
    let u = ctx.create_user("patch-pathless").await?;
    patch_ok(
        ctx,
        &u.url,
        json!([{"op": "replace", "value": {"displayName": "Pathless Name", "title": "Pathless Title"}}]),
    )
    .await?;
    let got = fetch(ctx, &u.url).await?;
    ensure!(
        str_at(&got, "displayName") == Some("Pathless Name"),
        "displayName is {:?}",
        str_at(&got, "displayName")
    );
    ensure!(
        str_at(&got, "title") == Some("Pathless Title"),
        "title is {:?}",
        str_at(&got, "title")
    );
    Ok(())
}

async fn pathless_add(ctx: &mut CheckContext) -> CheckResult {
    let u = ctx.create_user("patch-pathless-add").await?;
    patch_ok(
        ctx,
        &u.url,
        json!([{"op": "add", "value": {"nickName": "Nick", "name": {"middleName": "M"}}}]),
    )
    .await?;
    let got = fetch(ctx, &u.url).await?;
    ensure!(
        str_at(&got, "nickName") == Some("Nick"),
        "nickName is {:?}",
        str_at(&got, "nickName")
    );
    ensure!(
        get_path(&got, "name.middleName").and_then(Value::as_str) == Some("M"),
        "name.middleName is {:?}",
        get_path(&got, "name.middleName")
    );
    ensure!(
        get_path(&got, "name.givenName").is_some(),
        "adding name.middleName without a path dropped name.givenName"
    );
    Ok(())
}

async fn remove_no_path(ctx: &mut CheckContext) -> CheckResult {
    let u = ctx.create_user("patch-nopath").await?;
    let resp = ctx
        .patch(&u.url, &patch_op(json!([{"op": "remove"}])))
        .await?;
    expect_error(&resp, 400, Some("noTarget"), "PATCH remove without path")
}

async fn invalid_path(ctx: &mut CheckContext) -> CheckResult {
    let u = ctx.create_user("patch-badpath").await?;
    let resp = ctx
        .patch(
            &u.url,
            &patch_op(json!([{"op": "replace", "path": "emails[type eq", "value": "x"}])),
        )
        .await?;
    expect_error(
        &resp,
        400,
        Some("invalidPath"),
        "PATCH with path \"emails[type eq\"",
    )
}

async fn replace_no_match(ctx: &mut CheckContext) -> CheckResult {
    let u = user_with_two_emails(ctx).await?;
    let resp = ctx
        .patch(
            &u.url,
            &patch_op(json!([{"op": "replace", "path": "emails[value co \"no-such-address\"]", "value": {"value": "x@example.com"}}])),
        )
        .await?;
    expect_error(
        &resp,
        400,
        Some("noTarget"),
        "PATCH replace with a filter matching no email",
    )
}

async fn atomic(ctx: &mut CheckContext) -> CheckResult {
    let u = ctx.create_user("patch-atomic").await?;
    let resp = ctx
        .patch(
            &u.url,
            &patch_op(json!([
                {"op": "replace", "path": "displayName", "value": "Must Not Stick"},
                {"op": "remove"}
            ])),
        )
        .await?;
    ensure!(
        resp.status == 400,
        "a request whose second operation is invalid answered {}",
        resp.status
    );
    let got = fetch(ctx, &u.url).await?;
    ensure!(
        str_at(&got, "displayName") != Some("Must Not Stick"),
        "the first operation was applied although the request failed"
    );
    Ok(())
}

async fn add_sub_attribute(ctx: &mut CheckContext) -> CheckResult {
    let u = ctx.create_user("patch-sub").await?;
    let family = get_path(u.response.body_json(), "name.familyName").cloned();
    patch_ok(
        ctx,
        &u.url,
        json!([{"op": "add", "path": "name.givenName", "value": "Changed"}]),
    )
    .await?;
    let got = fetch(ctx, &u.url).await?;
    ensure!(
        get_path(&got, "name.givenName").and_then(Value::as_str) == Some("Changed"),
        "name.givenName is {:?}",
        get_path(&got, "name.givenName")
    );
    ensure!(
        get_path(&got, "name.familyName").cloned() == family,
        "name.familyName was lost"
    );
    Ok(())
}

async fn replace_multi_whole(ctx: &mut CheckContext) -> CheckResult {
    let u = user_with_two_emails(ctx).await?;
    let new = format!("only-{}@example.com", u.id);
    patch_ok(
        ctx,
        &u.url,
        json!([{"op": "replace", "path": "emails", "value": [{"value": new, "type": "work"}]}]),
    )
    .await?;
    let got = fetch(ctx, &u.url).await?;
    let emails = values_of(&got, "emails");
    ensure!(
        emails == vec![new.clone()],
        "emails are {emails:?}, expected only {new}"
    );
    Ok(())
}

async fn remove_multi_all(ctx: &mut CheckContext) -> CheckResult {
    let u = user_with_two_emails(ctx).await?;
    patch_ok(ctx, &u.url, json!([{"op": "remove", "path": "emails"}])).await?;
    let got = fetch(ctx, &u.url).await?;
    let emails = values_of(&got, "emails");
    ensure!(emails.is_empty(), "emails are still {emails:?}");
    Ok(())
}

async fn response_full(ctx: &mut CheckContext) -> CheckResult {
    let u = ctx.create_user("patch-response").await?;
    let resp = patch_ok(
        ctx,
        &u.url,
        json!([{"op": "replace", "path": "displayName", "value": "Full"}]),
    )
    .await?;
    if resp.status == 200 {
        let body = resp.body_json();
        ensure!(
            str_at(body, "id") == Some(u.id.as_str()),
            "the 200 body has no id (the entire resource is required)"
        );
        ensure!(
            str_at(body, "userName").is_some(),
            "the 200 body has no userName (the entire resource is required)"
        );
        ensure!(
            str_at(body, "displayName") == Some("Full"),
            "the 200 body does not show the change"
        );
    }
    Ok(())
}

async fn unknown_op(ctx: &mut CheckContext) -> CheckResult {
    let u = ctx.create_user("patch-op").await?;
    let resp = ctx
        .patch(
            &u.url,
            &patch_op(json!([{"op": "merge", "path": "displayName", "value": "x"}])),
        )
        .await?;
    expect_error(&resp, 400, None, "PATCH with op \"merge\"")
}

async fn readonly_id(ctx: &mut CheckContext) -> CheckResult {
    let u = ctx.create_user("patch-id").await?;
    let resp = ctx
        .patch(
            &u.url,
            &patch_op(json!([{"op": "replace", "path": "id", "value": "another-id"}])),
        )
        .await?;
    expect_error(&resp, 400, Some("mutability"), "PATCH replace id")
}

async fn unknown_id(ctx: &mut CheckContext) -> CheckResult {
    let url = format!("{}/{}", ctx.users(), crate::context::random_guid());
    let resp = ctx
        .patch(
            &url,
            &patch_op(json!([{"op": "replace", "path": "displayName", "value": "x"}])),
        )
        .await?;
    expect_error(&resp, 404, None, &format!("PATCH {url}"))
}

async fn patch_password(ctx: &mut CheckContext) -> CheckResult {
    let u = ctx.create_user("patch-password").await?;
    let resp = patch_ok(
        ctx,
        &u.url,
        json!([{"op": "replace", "path": "password", "value": "N3w-Conformance-Pa55"}]),
    )
    .await?;
    ensure!(
        get_ci(resp.body_json(), "password").is_none(),
        "the PATCH response contains the password"
    );
    Ok(())
}
