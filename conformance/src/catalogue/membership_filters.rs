//! Filters on group membership, from both sides (RFC 7644 §3.4.2.2): `groups.value eq` on Users
//! (the computed, readOnly `groups` of RFC 7643 §4.1.2) and `members[value eq ...]` /
//! `members.value eq` on Groups (RFC 7643 §4.2). The user and group ids are the server's own, so
//! the expected results are exact on a server that holds other data.

use super::{expect_ids, filter};
use crate::check::{Check, Feature, Level};
use crate::context::CheckContext;
use crate::outcome::CheckResult;
use crate::run_fn;

/// The membership filter checks.
pub fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "filters.membership.user-groups-value-eq",
            title: "GET /Users?filter=groups.value eq \"<group id>\" returns exactly the group's members",
            section: "RFC 7644 §3.4.2.2, RFC 7643 §4.1.2",
            level: Level::Should,
            requires: &[Feature::Users, Feature::Groups, Feature::Filter],
            run: run_fn!(user_groups_value),
        },
        Check {
            id: "filters.membership.group-members-value",
            title: "GET /Groups?filter=members[value eq \"<user id>\"] (and members.value eq) returns exactly the groups the user is a member of",
            section: "RFC 7644 §3.4.2.2, RFC 7643 §4.2",
            level: Level::Must,
            requires: &[Feature::Users, Feature::Groups, Feature::Filter],
            run: run_fn!(group_members_value),
        },
    ]
}

/// RFC 7643 §4.1.2: `groups.value` is the id of a group the user belongs to.
async fn user_groups_value(ctx: &mut CheckContext) -> CheckResult {
    let a = ctx.create_user("in-group").await?;
    let b = ctx.create_user("in-other-group").await?;
    let g = ctx.create_group("filter-groups", &[&a.id]).await?;
    ctx.create_group("filter-groups-other", &[&b.id]).await?;
    let users = ctx.users();
    let f = format!("groups.value eq \"{}\"", g.id);
    let resp = filter(ctx, &users, &f, "").await?;
    expect_ids(&resp, &[&a.id], &f)
}

async fn group_members_value(ctx: &mut CheckContext) -> CheckResult {
    let a = ctx.create_user("member-one-group").await?;
    let b = ctx.create_user("member-two-groups").await?;
    let both = ctx.create_group("filter-both", &[&a.id, &b.id]).await?;
    let only_b = ctx.create_group("filter-b", &[&b.id]).await?;
    ctx.create_group("filter-empty", &[]).await?;
    let groups = ctx.groups();
    for (f, want) in [
        (format!("members[value eq \"{}\"]", a.id), vec![&both.id]),
        (
            format!("members[value eq \"{}\"]", b.id),
            vec![&both.id, &only_b.id],
        ),
        (format!("members.value eq \"{}\"", a.id), vec![&both.id]),
    ] {
        let resp = filter(ctx, &groups, &f, "excludedAttributes=members").await?;
        let want: Vec<&str> = want.into_iter().map(String::as_str).collect();
        expect_ids(&resp, &want, &f)?;
    }
    Ok(())
}
