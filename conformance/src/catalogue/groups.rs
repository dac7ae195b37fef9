//! Groups and membership (RFC 7643 §4.2, RFC 7644 §3.5.2), and the User's computed `groups`
//! attribute (RFC 7643 §4.1.2).
//!
//! RFC 7643 §4.1.2, `groups`: "A list of groups to which the user belongs, either through
//! direct membership, through nested groups, or dynamically calculated. [...] If the SCIM
//! service provider exposes a "Group" resource, the "value" sub-attribute MUST be the "id" [...]
//! Since this attribute has a mutability of "readOnly", group membership changes MUST be applied
//! via the "Group" Resource (Section 4.2)." RFC 7644 §3.5.1 (PUT): "readOnly: Any values
//! provided SHALL be ignored."

use serde_json::json;

use super::{expect_status, fetch, patch_ok, values_of};
use crate::check::{Check, Feature, Level};
use crate::context::CheckContext;
use crate::discovery::GROUP_SCHEMA;
use crate::ensure;
use crate::json::{get_ci, has_schema, str_at};
use crate::outcome::CheckResult;
use crate::run_fn;

/// The group checks.
pub fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "groups.create.with-members",
            title: "POST /Groups with members answers 201 and the group lists those members",
            section: "RFC 7644 §3.3, RFC 7643 §4.2",
            level: Level::Must,
            requires: &[Feature::Users, Feature::Groups],
            run: run_fn!(create_with_members),
        },
        Check {
            id: "groups.read.excluded-members",
            title: "GET /Groups/{id}?excludedAttributes=members returns the group without members",
            section: "RFC 7644 §3.9",
            level: Level::Must,
            requires: &[Feature::Users, Feature::Groups],
            run: run_fn!(read_excluded_members),
        },
        Check {
            id: "groups.patch.add-member-keeps-others",
            title: "PATCH add to members adds one member and keeps the existing ones",
            section: "RFC 7644 §3.5.2.1",
            level: Level::Must,
            requires: &[Feature::Users, Feature::Groups, Feature::Patch],
            run: run_fn!(add_member),
        },
        Check {
            id: "groups.patch.remove-one-member",
            title: "PATCH remove members[value eq \"id\"] removes that member only",
            section: "RFC 7644 §3.5.2.2",
            level: Level::Must,
            requires: &[Feature::Users, Feature::Groups, Feature::Patch],
            run: run_fn!(remove_member),
        },
        Check {
            id: "groups.patch.replace-no-match-adds-no-member",
            title: "PATCH replace members[value eq \"not-a-member\"].display adds no member: 400 noTarget, or a 2xx that leaves members unchanged",
            section: "RFC 7644 §3.5.2.3",
            level: Level::Must,
            requires: &[Feature::Users, Feature::Groups, Feature::Patch],
            run: run_fn!(replace_no_match_member),
        },
        Check {
            id: "groups.delete.returns-204",
            title: "DELETE /Groups/{id} answers 204, and a GET afterwards answers 404",
            section: "RFC 7644 §3.6",
            level: Level::Must,
            requires: &[Feature::Groups],
            run: run_fn!(delete_group),
        },
        Check {
            id: "groups.read.returns-200",
            title: "GET /Groups/{id} answers 200 with the group's id and displayName",
            section: "RFC 7644 §3.4.1",
            level: Level::Must,
            requires: &[Feature::Groups],
            run: run_fn!(read_group),
        },
        Check {
            id: "groups.read.unknown-id-404",
            title: "GET /Groups/{unknown id} answers 404 with a SCIM error",
            section: "RFC 7644 §3.4.1, §3.12",
            level: Level::Must,
            requires: &[Feature::Groups],
            run: run_fn!(read_unknown_group),
        },
        Check {
            id: "groups.replace.put",
            title: "PUT /Groups/{id} with a new displayName replaces it",
            section: "RFC 7644 §3.5.1",
            level: Level::Must,
            requires: &[Feature::Groups],
            run: run_fn!(put_group),
        },
        Check {
            id: "groups.list.filter-display-name",
            title: "GET /Groups?filter=displayName eq \"...\" returns exactly that group",
            section: "RFC 7644 §3.4.2.2",
            level: Level::Must,
            requires: &[Feature::Groups, Feature::Filter],
            run: run_fn!(filter_group),
        },
        Check {
            id: "groups.patch.replace-members",
            title: "PATCH replace path members sets exactly the given members",
            section: "RFC 7644 §3.5.2.3",
            level: Level::Must,
            requires: &[Feature::Users, Feature::Groups, Feature::Patch],
            run: run_fn!(replace_members),
        },
        Check {
            id: "groups.patch.remove-all-members",
            title: "PATCH remove path members without a filter removes every member",
            section: "RFC 7644 §3.5.2.2",
            level: Level::Must,
            requires: &[Feature::Users, Feature::Groups, Feature::Patch],
            run: run_fn!(remove_all_members),
        },
        Check {
            id: "groups.create.returns-201-location",
            title: "POST /Groups answers 201 with a Location header equal to meta.location",
            section: "RFC 7644 §3.3",
            level: Level::Must,
            requires: &[Feature::Groups],
            run: run_fn!(create_location),
        },
        Check {
            id: "groups.create.meta-resource-type",
            title: "The created Group has meta.resourceType \"Group\"",
            section: "RFC 7643 §3.1",
            level: Level::Should,
            requires: &[Feature::Groups],
            run: run_fn!(create_meta_group),
        },
        Check {
            id: "groups.user-groups.lists-membership",
            title: "After a user is added to a group, GET of the user lists the group's id in groups",
            section: "RFC 7643 §4.1.2",
            level: Level::Should,
            requires: &[Feature::Users, Feature::Groups],
            run: run_fn!(user_groups_lists_membership),
        },
        Check {
            id: "groups.user-groups.read-only-on-write",
            title: "A PUT (and a PATCH) of the user that sets groups does not change the group's members",
            section: "RFC 7643 §4.1.2, RFC 7644 §3.5.1, §3.5.2",
            level: Level::Must,
            requires: &[Feature::Users, Feature::Groups],
            run: run_fn!(user_groups_read_only),
        },
        Check {
            id: "groups.delete-user.removes-membership",
            title: "After DELETE of a user, the group it belonged to no longer lists it in members",
            section: "RFC 7644 §3.6, RFC 7643 §4.2",
            level: Level::Should,
            requires: &[Feature::Users, Feature::Groups],
            run: run_fn!(delete_user_removes_membership),
        },
    ]
}

async fn create_with_members(ctx: &mut CheckContext) -> CheckResult {
    let a = ctx.create_user("member-a").await?;
    let b = ctx.create_user("member-b").await?;
    let g = ctx.create_group("group", &[&a.id, &b.id]).await?;
    ensure!(
        has_schema(g.response.body_json(), GROUP_SCHEMA),
        "the group does not list {GROUP_SCHEMA}"
    );
    let got = fetch(ctx, &g.url).await?;
    let mut members = values_of(&got, "members");
    members.sort();
    let mut want = vec![a.id.clone(), b.id.clone()];
    want.sort();
    ensure!(
        members == want,
        "the group's members are {members:?}, expected {want:?}"
    );
    Ok(())
}

async fn read_excluded_members(ctx: &mut CheckContext) -> CheckResult {
    let a = ctx.create_user("member").await?;
    let g = ctx.create_group("group-excl", &[&a.id]).await?;
    let got = fetch(ctx, &format!("{}?excludedAttributes=members", g.url)).await?;
    ensure!(
        get_ci(&got, "members").is_none(),
        "members is returned although excluded"
    );
    ensure!(
        str_at(&got, "displayName").is_some(),
        "displayName is missing"
    );
    ensure!(str_at(&got, "id") == Some(g.id.as_str()), "id is missing");
    Ok(())
}

async fn add_member(ctx: &mut CheckContext) -> CheckResult {
    let a = ctx.create_user("member-a").await?;
    let b = ctx.create_user("member-b").await?;
    let g = ctx.create_group("group-add", &[&a.id]).await?;
    patch_ok(
        ctx,
        &g.url,
        json!([{"op": "add", "path": "members", "value": [{"value": b.id}]}]),
    )
    .await?;
    let got = fetch(ctx, &g.url).await?;
    let members = values_of(&got, "members");
    ensure!(
        members.contains(&b.id),
        "the added member is missing: {members:?}"
    );
    ensure!(
        members.contains(&a.id),
        "adding a member dropped the existing member: {members:?}"
    );
    Ok(())
}

async fn remove_member(ctx: &mut CheckContext) -> CheckResult {
    let a = ctx.create_user("member-a").await?;
    let b = ctx.create_user("member-b").await?;
    let g = ctx.create_group("group-remove", &[&a.id, &b.id]).await?;
    patch_ok(
        ctx,
        &g.url,
        json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", a.id)}]),
    )
    .await?;
    let got = fetch(ctx, &g.url).await?;
    let members = values_of(&got, "members");
    ensure!(
        !members.contains(&a.id),
        "the removed member is still there: {members:?}"
    );
    ensure!(
        members.contains(&b.id),
        "removing one member removed the others too: {members:?}"
    );
    Ok(())
}

/// RFC 7644 §3.5.2.3: "If the target location is a multi-valued attribute for which a value
/// selection filter ("valuePath") has been supplied and no record match was made, the service
/// provider SHALL indicate failure by returning HTTP status code 400 and a "scimType" error code
/// of "noTarget"." A lenient server may answer 2xx and change nothing, but it must never invent
/// a member.
async fn replace_no_match_member(ctx: &mut CheckContext) -> CheckResult {
    let a = ctx.create_user("member").await?;
    let g = ctx.create_group("group-no-target", &[&a.id]).await?;
    let path = "members[value eq \"not-a-member\"].display";
    let resp = ctx
        .patch(
            &g.url,
            &super::patch_op(json!([{"op": "replace", "path": path, "value": "X"}])),
        )
        .await?;
    if resp.status == 400 {
        super::expect_error(
            &resp,
            400,
            Some("noTarget"),
            &format!("PATCH replace {path} (no member matches)"),
        )?;
    } else {
        expect_status(
            &resp,
            &[200, 204, 400],
            &format!("PATCH replace {path} (no member matches)"),
        )?;
    }
    let members = values_of(&fetch(ctx, &g.url).await?, "members");
    ensure!(
        members == vec![a.id.clone()],
        "after PATCH replace {path} answered {}, the group's members are {members:?}, expected only [{}]: a replace whose filter matches no member must not add one (RFC 7644 §3.5.2.3, noTarget)",
        resp.status,
        a.id
    );
    Ok(())
}

async fn delete_group(ctx: &mut CheckContext) -> CheckResult {
    let g = ctx.create_group("group-delete", &[]).await?;
    let resp = ctx.delete(&g.url).await?;
    expect_status(&resp, &[204], &format!("DELETE {}", g.url))?;
    let resp = ctx.get(&g.url).await?;
    expect_status(&resp, &[404], &format!("GET {} after DELETE", g.url))
}

async fn read_group(ctx: &mut CheckContext) -> CheckResult {
    let g = ctx.create_group("group-read", &[]).await?;
    let got = fetch(ctx, &g.url).await?;
    ensure!(
        str_at(&got, "id") == Some(g.id.as_str()),
        "id is {:?}",
        str_at(&got, "id")
    );
    ensure!(
        str_at(&got, "displayName") == str_at(g.response.body_json(), "displayName"),
        "displayName is {:?}",
        str_at(&got, "displayName")
    );
    Ok(())
}

async fn read_unknown_group(ctx: &mut CheckContext) -> CheckResult {
    let url = format!("{}/{}", ctx.groups(), crate::context::random_guid());
    let resp = ctx.get(&url).await?;
    super::expect_error(&resp, 404, None, &format!("GET {url}"))
}

async fn put_group(ctx: &mut CheckContext) -> CheckResult {
    let g = ctx.create_group("group-put", &[]).await?;
    let new_name = ctx.unique("group-renamed");
    let body = json!({"schemas": [GROUP_SCHEMA], "displayName": new_name, "members": []});
    let resp = ctx.put(&g.url, &body).await?;
    expect_status(&resp, &[200], "PUT /Groups/{id}")?;
    let got = fetch(ctx, &g.url).await?;
    ensure!(
        str_at(&got, "displayName") == Some(new_name.as_str()),
        "displayName is {:?}",
        str_at(&got, "displayName")
    );
    Ok(())
}

async fn filter_group(ctx: &mut CheckContext) -> CheckResult {
    let g = ctx.create_group("group-filter", &[]).await?;
    ctx.create_group("group-other", &[]).await?;
    let name = str_at(g.response.body_json(), "displayName")
        .unwrap_or_default()
        .to_string();
    let groups = ctx.groups();
    let resp = super::filter(ctx, &groups, &format!("displayName eq \"{name}\""), "").await?;
    super::expect_ids(&resp, &[&g.id], "displayName eq")
}

async fn replace_members(ctx: &mut CheckContext) -> CheckResult {
    let a = ctx.create_user("member-a").await?;
    let b = ctx.create_user("member-b").await?;
    let g = ctx.create_group("group-replace", &[&a.id]).await?;
    patch_ok(
        ctx,
        &g.url,
        json!([{"op": "replace", "path": "members", "value": [{"value": b.id}]}]),
    )
    .await?;
    let members = values_of(&fetch(ctx, &g.url).await?, "members");
    ensure!(
        members == vec![b.id.clone()],
        "members are {members:?}, expected only {}",
        b.id
    );
    Ok(())
}

async fn remove_all_members(ctx: &mut CheckContext) -> CheckResult {
    let a = ctx.create_user("member-a").await?;
    let b = ctx.create_user("member-b").await?;
    let g = ctx.create_group("group-clear", &[&a.id, &b.id]).await?;
    patch_ok(ctx, &g.url, json!([{"op": "remove", "path": "members"}])).await?;
    let members = values_of(&fetch(ctx, &g.url).await?, "members");
    ensure!(members.is_empty(), "members are still {members:?}");
    Ok(())
}

async fn create_location(ctx: &mut CheckContext) -> CheckResult {
    let g = ctx.create_group("group-location", &[]).await?;
    let header = g.response.header("location");
    let meta = str_at(g.response.body_json(), "meta.location");
    ensure!(header.is_some(), "the 201 response has no Location header");
    ensure!(
        header == meta,
        "Location {header:?} differs from meta.location {meta:?}"
    );
    Ok(())
}

async fn create_meta_group(ctx: &mut CheckContext) -> CheckResult {
    let g = ctx.create_group("group-meta", &[]).await?;
    let rt = str_at(g.response.body_json(), "meta.resourceType");
    ensure!(
        rt == Some("Group"),
        "meta.resourceType is {rt:?}, expected \"Group\""
    );
    Ok(())
}

async fn user_groups_lists_membership(ctx: &mut CheckContext) -> CheckResult {
    let u = ctx.create_user("user-groups").await?;
    let g = ctx.create_group("user-groups", &[&u.id]).await?;
    let user = fetch(ctx, &u.url).await?;
    let groups = values_of(&user, "groups");
    ensure!(
        groups.contains(&g.id),
        "the user is a member of group {}, but GET {} lists groups {groups:?} (RFC 7643 §4.1.2: the value is the group's id)",
        g.id,
        u.url
    );
    Ok(())
}

async fn user_groups_read_only(ctx: &mut CheckContext) -> CheckResult {
    let u = ctx.create_user("groups-readonly").await?;
    let g = ctx.create_group("groups-readonly", &[]).await?;
    let mut body = u.response.json.clone().unwrap_or_default();
    if let Some(obj) = body.as_object_mut() {
        obj.remove("meta");
        obj.insert("groups".into(), json!([{"value": g.id}]));
    }
    let resp = ctx.put(&u.url, &body).await?;
    expect_status(
        &resp,
        &[200],
        &format!(
            "PUT {} with groups (readOnly: \"Any values provided SHALL be ignored\")",
            u.url
        ),
    )?;
    let members = values_of(&fetch(ctx, &g.url).await?, "members");
    ensure!(
        !members.contains(&u.id),
        "a PUT of the user with groups [{}] made it a member of the group: groups is readOnly and membership changes MUST be applied via the Group resource",
        g.id
    );
    if ctx.features.patch {
        let ops =
            super::patch_op(json!([{"op": "add", "path": "groups", "value": [{"value": g.id}]}]));
        let resp = ctx.patch(&u.url, &ops).await?;
        expect_status(
            &resp,
            &[200, 204, 400],
            &format!("PATCH add groups on {}", u.url),
        )?;
        let members = values_of(&fetch(ctx, &g.url).await?, "members");
        ensure!(
            !members.contains(&u.id),
            "a PATCH add of groups [{}] on the user made it a member of the group: groups is readOnly and membership changes MUST be applied via the Group resource",
            g.id
        );
    }
    Ok(())
}

async fn delete_user_removes_membership(ctx: &mut CheckContext) -> CheckResult {
    let keep = ctx.create_user("member-kept").await?;
    let gone = ctx.create_user("member-deleted").await?;
    let g = ctx
        .create_group("delete-member", &[&keep.id, &gone.id])
        .await?;
    let resp = ctx.delete(&gone.url).await?;
    expect_status(&resp, &[204], &format!("DELETE {}", gone.url))?;
    ctx.forget_cleanup(&gone.url);
    let members = values_of(&fetch(ctx, &g.url).await?, "members");
    ensure!(
        !members.contains(&gone.id),
        "the deleted user {} is still listed in the group's members {members:?}",
        gone.id
    );
    ensure!(
        members.contains(&keep.id),
        "deleting one member removed the other member {} too: members {members:?}",
        keep.id
    );
    Ok(())
}
