//! The `entra` profile: replays Microsoft Entra ID's documented provisioning traffic
//! (Microsoft's "Develop and plan provisioning for a SCIM endpoint" and "Known issues and
//! resolutions with SCIM 2.0 protocol compliance of the Microsoft Entra user provisioning
//! service"): Test Connection, lookups (including the email value-path form and the membership
//! check), create with the enterprise extension, capitalised PATCH ops, boolean strings,
//! manager, groups with `excludedAttributes=members`, member add/remove in both forms, disable
//! and delete.

use serde_json::{Value, json};

use super::{expect_status, fetch, filter, ids, patch_ok, total_results, values_of};
use crate::check::{Check, ClientProfile, Feature, Level};
use crate::context::{CheckContext, random_guid};
use crate::discovery::{ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
use crate::ensure;
use crate::json::{get_ci, get_path, resources, str_at};
use crate::outcome::CheckResult;
use crate::run_fn;

const ENTRA: Level = Level::Profile(ClientProfile::Entra);
const DOC: &str = "Microsoft Entra ID: Develop and plan provisioning for a SCIM endpoint";
/// The Group schema URI Entra adds to group creates.
pub const MICROSOFT_GROUP_SCHEMA: &str =
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";

macro_rules! entra_check {
    ($id:expr, $title:expr, $requires:expr, $f:path) => {
        Check {
            id: $id,
            title: $title,
            section: DOC,
            level: ENTRA,
            requires: $requires,
            run: run_fn!($f),
        }
    };
}

/// The Entra ID checks.
pub fn checks() -> Vec<Check> {
    vec![
        entra_check!(
            "entra.test-connection.random-guid-empty-list",
            "Test Connection: GET /Users?filter=userName eq \"<random guid>\" answers 200 with an empty ListResponse",
            &[Feature::Users],
            test_connection
        ),
        entra_check!(
            "entra.lookup.username",
            "Lookup by userName eq returns exactly the matching user",
            &[Feature::Users],
            lookup_username
        ),
        entra_check!(
            "entra.lookup.external-id",
            "Lookup by externalId eq returns the user created with that externalId",
            &[Feature::Users],
            lookup_external_id
        ),
        entra_check!(
            "entra.lookup.work-email-value-path",
            "Lookup by emails[type eq \"work\"].value eq \"<email>\" returns exactly the user with that work email",
            &[Feature::Users, Feature::Filter],
            lookup_work_email
        ),
        entra_check!(
            "entra.lookup.group-membership",
            "Membership check id eq \"<group id>\" and members[value eq \"<user id>\"] returns the group only when the user is a member",
            &[Feature::Users, Feature::Groups, Feature::Filter],
            lookup_membership
        ),
        entra_check!(
            "entra.create.enterprise-extension",
            "Create a user with the enterprise extension (employeeNumber, department) and read it back",
            &[Feature::Users, Feature::EnterpriseUser],
            create_enterprise
        ),
        entra_check!(
            "entra.patch.capitalised-ops",
            "PATCH with \"op\": \"Replace\" / \"Add\" (capitalised) is accepted",
            &[Feature::Users, Feature::Patch],
            capitalised_ops
        ),
        entra_check!(
            "entra.patch.boolean-string-false",
            "PATCH Replace active with the string \"False\" disables the user",
            &[Feature::Users, Feature::Patch],
            boolean_string
        ),
        entra_check!(
            "entra.patch.manager",
            "PATCH Add of the enterprise manager by id sets manager.value",
            &[Feature::Users, Feature::Patch, Feature::EnterpriseUser],
            manager
        ),
        entra_check!(
            "entra.patch.email-filter-creates",
            "PATCH Replace emails[type eq \"work\"].value on a user without a work email creates it",
            &[Feature::Users, Feature::Patch],
            email_filter_creates
        ),
        entra_check!(
            "entra.group.create-microsoft-schema",
            "Group create listing Microsoft's ADSCIM Group schema URI in schemas is accepted",
            &[Feature::Groups],
            group_create_microsoft
        ),
        entra_check!(
            "entra.group.read-excluded-members",
            "Group lookup by displayName with excludedAttributes=members returns the group without members",
            &[Feature::Users, Feature::Groups, Feature::Filter],
            group_lookup_excluded
        ),
        entra_check!(
            "entra.group.add-member",
            "PATCH Add members [{value}] adds the member and keeps the others",
            &[Feature::Users, Feature::Groups, Feature::Patch],
            group_add_member
        ),
        entra_check!(
            "entra.group.remove-member-value-array",
            "PATCH Remove path members with a value array removes only the listed member",
            &[Feature::Users, Feature::Groups, Feature::Patch],
            group_remove_value_array
        ),
        entra_check!(
            "entra.group.remove-member-filter",
            "PATCH Remove path members[value eq \"id\"] removes only that member",
            &[Feature::Users, Feature::Groups, Feature::Patch],
            group_remove_filter
        ),
        entra_check!(
            "entra.user.disable",
            "PATCH Replace active false disables the user (Entra's soft delete)",
            &[Feature::Users, Feature::Patch],
            disable
        ),
        entra_check!(
            "entra.user.delete",
            "DELETE /Users/{id} answers 204 and the user is gone",
            &[Feature::Users],
            delete
        ),
    ]
}

async fn test_connection(ctx: &mut CheckContext) -> CheckResult {
    let users = ctx.users();
    let f = format!("userName eq \"{}\"", random_guid());
    let resp = filter(ctx, &users, &f, "").await?;
    ensure!(
        total_results(&resp) == Some(0),
        "totalResults is {:?}, expected 0",
        total_results(&resp)
    );
    ensure!(
        resources(resp.body_json()).is_empty(),
        "Resources is not empty"
    );
    Ok(())
}

fn entra_user(ctx: &CheckContext, stem: &str) -> Value {
    let name = ctx.unique(stem);
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
        "externalId": random_guid(),
        "userName": format!("{name}@contoso.example"),
        "active": true,
        "displayName": format!("Entra {stem}"),
        "emails": [{"primary": true, "type": "work", "value": format!("{name}@contoso.example")}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Entra User", "familyName": "User", "givenName": "Entra"},
        "title": "Engineer",
        ENTERPRISE_SCHEMA: {"employeeNumber": "701984", "department": "Tour Operations"}
    })
}

async fn lookup_username(ctx: &mut CheckContext) -> CheckResult {
    let body = entra_user(ctx, "lookup");
    let users = ctx.users();
    let u = ctx.create(&users, &body).await?;
    ctx.create_user("other").await?;
    let f = format!(
        "userName eq \"{}\"",
        str_at(&body, "userName").unwrap_or_default()
    );
    let resp = filter(ctx, &users, &f, "").await?;
    ensure!(
        ids(&resp) == vec![u.id.clone()],
        "the lookup returned {:?}, expected [{}]",
        ids(&resp),
        u.id
    );
    Ok(())
}

async fn lookup_external_id(ctx: &mut CheckContext) -> CheckResult {
    let body = entra_user(ctx, "extid");
    let users = ctx.users();
    let u = ctx.create(&users, &body).await?;
    let f = format!(
        "externalId eq \"{}\"",
        str_at(&body, "externalId").unwrap_or_default()
    );
    let resp = filter(ctx, &users, &f, "").await?;
    ensure!(
        ids(&resp) == vec![u.id.clone()],
        "the lookup returned {:?}, expected [{}]",
        ids(&resp),
        u.id
    );
    Ok(())
}

/// When the matching attribute is an email, Entra looks users up with
/// `emails[type eq "work"].value eq "..."`: a value path, a sub-attribute, then a comparison,
/// meaning `emails[type eq "work" and value eq "..."]`. A user with the same address as a
/// `home` email and one with another work address must not match.
async fn lookup_work_email(ctx: &mut CheckContext) -> CheckResult {
    let email = format!("{}@contoso.example", ctx.unique("work-email"));
    let users = ctx.users();
    let mut work = entra_user(ctx, "work-email");
    work["emails"] = json!([{"primary": true, "type": "work", "value": email}]);
    let matching = ctx.create(&users, &work).await?;
    let mut home = entra_user(ctx, "home-email");
    home["emails"] = json!([{"primary": true, "type": "home", "value": email}]);
    ctx.create(&users, &home).await?;
    let other = entra_user(ctx, "other-work-email");
    ctx.create(&users, &other).await?;
    let f = format!("emails[type eq \"work\"].value eq \"{email}\"");
    let resp = filter(ctx, &users, &f, "").await?;
    ensure!(
        ids(&resp) == vec![matching.id.clone()],
        "the lookup {f} returned {:?}, expected [{}] (the user with a home email of that address and the user with another work email must not match)",
        ids(&resp),
        matching.id
    );
    Ok(())
}

/// Entra checks membership with `id eq "<gid>" and members[value eq "<uid>"]`: the group when
/// the user is a member, an empty list when not.
async fn lookup_membership(ctx: &mut CheckContext) -> CheckResult {
    let member = ctx.create_user("entra-member").await?;
    let outsider = ctx.create_user("entra-outsider").await?;
    let g = ctx.create_group("entra-membership", &[&member.id]).await?;
    let groups = ctx.groups();
    for (uid, want) in [(&member.id, vec![g.id.clone()]), (&outsider.id, vec![])] {
        let f = format!("id eq \"{}\" and members[value eq \"{uid}\"]", g.id);
        let resp = filter(ctx, &groups, &f, "excludedAttributes=members").await?;
        ensure!(
            ids(&resp) == want,
            "the membership check {f} returned {:?}, expected {want:?}",
            ids(&resp)
        );
    }
    Ok(())
}

async fn create_enterprise(ctx: &mut CheckContext) -> CheckResult {
    let body = entra_user(ctx, "enterprise");
    let users = ctx.users();
    let u = ctx.create(&users, &body).await?;
    let got = fetch(ctx, &u.url).await?;
    let ext = get_ci(&got, ENTERPRISE_SCHEMA);
    ensure!(
        ext.is_some(),
        "the user has no {ENTERPRISE_SCHEMA} attributes"
    );
    let ext = ext.cloned().unwrap_or(Value::Null);
    ensure!(
        str_at(&ext, "employeeNumber") == Some("701984"),
        "employeeNumber is {:?}",
        str_at(&ext, "employeeNumber")
    );
    ensure!(
        str_at(&ext, "department") == Some("Tour Operations"),
        "department is {:?}",
        str_at(&ext, "department")
    );
    Ok(())
}

async fn capitalised_ops(ctx: &mut CheckContext) -> CheckResult {
    let u = ctx.create_user("entra-ops").await?;
    patch_ok(
        ctx,
        &u.url,
        json!([
            {"op": "Replace", "path": "displayName", "value": "Capital Replace"},
            {"op": "Add", "path": "title", "value": "Capital Add"}
        ]),
    )
    .await?;
    let got = fetch(ctx, &u.url).await?;
    ensure!(
        str_at(&got, "displayName") == Some("Capital Replace"),
        "displayName is {:?}",
        str_at(&got, "displayName")
    );
    ensure!(
        str_at(&got, "title") == Some("Capital Add"),
        "title is {:?}",
        str_at(&got, "title")
    );
    Ok(())
}

async fn boolean_string(ctx: &mut CheckContext) -> CheckResult {
    let u = ctx.create_user("entra-false").await?;
    patch_ok(
        ctx,
        &u.url,
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
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

async fn manager(ctx: &mut CheckContext) -> CheckResult {
    let boss = ctx.create_user("boss").await?;
    let u = ctx.create_user("report").await?;
    let path = format!("{ENTERPRISE_SCHEMA}:manager");
    patch_ok(
        ctx,
        &u.url,
        json!([{"op": "Add", "path": path, "value": boss.id}]),
    )
    .await?;
    let got = fetch(ctx, &u.url).await?;
    let value = get_ci(&got, ENTERPRISE_SCHEMA)
        .and_then(|e| get_path(e, "manager.value"))
        .and_then(Value::as_str);
    ensure!(
        value == Some(boss.id.as_str()),
        "manager.value is {value:?}, expected {}",
        boss.id
    );
    Ok(())
}

async fn email_filter_creates(ctx: &mut CheckContext) -> CheckResult {
    let mut body = ctx.user_body("entra-email");
    if let Some(obj) = body.as_object_mut() {
        obj.remove("emails");
    }
    let users = ctx.users();
    let u = ctx.create(&users, &body).await?;
    let email = format!("{}@contoso.example", u.id);
    patch_ok(
        ctx,
        &u.url,
        json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": email}]),
    )
    .await?;
    let got = fetch(ctx, &u.url).await?;
    let work = get_ci(&got, "emails")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().find(|e| str_at(e, "type") == Some("work")))
        .and_then(|e| str_at(e, "value"));
    ensure!(
        work == Some(email.as_str()),
        "the work email is {work:?}, expected {email}"
    );
    Ok(())
}

async fn group_create_microsoft(ctx: &mut CheckContext) -> CheckResult {
    let name = ctx.unique("entra-group");
    let body = json!({
        "schemas": [GROUP_SCHEMA, MICROSOFT_GROUP_SCHEMA],
        "externalId": random_guid(),
        "displayName": name,
        "members": []
    });
    let groups = ctx.groups();
    let g = ctx.create(&groups, &body).await?;
    ensure!(
        str_at(g.response.body_json(), "displayName") == Some(name.as_str()),
        "displayName not returned"
    );
    Ok(())
}

async fn group_lookup_excluded(ctx: &mut CheckContext) -> CheckResult {
    let a = ctx.create_user("member").await?;
    let g = ctx.create_group("entra-lookup", &[&a.id]).await?;
    let name = str_at(g.response.body_json(), "displayName")
        .unwrap_or_default()
        .to_string();
    let groups = ctx.groups();
    let resp = filter(
        ctx,
        &groups,
        &format!("displayName eq \"{name}\""),
        "excludedAttributes=members",
    )
    .await?;
    let items = resources(resp.body_json());
    ensure!(
        items.len() == 1,
        "the lookup returned {} groups, expected 1",
        items.len()
    );
    ensure!(
        items.iter().all(|g| get_ci(g, "members").is_none()),
        "members is returned although excluded"
    );
    Ok(())
}

async fn group_add_member(ctx: &mut CheckContext) -> CheckResult {
    let a = ctx.create_user("member-a").await?;
    let b = ctx.create_user("member-b").await?;
    let g = ctx.create_group("entra-add", &[&a.id]).await?;
    patch_ok(
        ctx,
        &g.url,
        json!([{"op": "Add", "path": "members", "value": [{"value": b.id}]}]),
    )
    .await?;
    let members = values_of(&fetch(ctx, &g.url).await?, "members");
    ensure!(
        members.contains(&a.id) && members.contains(&b.id),
        "members are {members:?}, expected both {} and {}",
        a.id,
        b.id
    );
    Ok(())
}

async fn group_remove_value_array(ctx: &mut CheckContext) -> CheckResult {
    let a = ctx.create_user("member-a").await?;
    let b = ctx.create_user("member-b").await?;
    let g = ctx.create_group("entra-remove", &[&a.id, &b.id]).await?;
    patch_ok(
        ctx,
        &g.url,
        json!([{"op": "Remove", "path": "members", "value": [{"value": a.id}]}]),
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

async fn group_remove_filter(ctx: &mut CheckContext) -> CheckResult {
    let a = ctx.create_user("member-a").await?;
    let b = ctx.create_user("member-b").await?;
    let g = ctx.create_group("entra-remove-f", &[&a.id, &b.id]).await?;
    patch_ok(
        ctx,
        &g.url,
        json!([{"op": "Remove", "path": format!("members[value eq \"{}\"]", a.id)}]),
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

async fn disable(ctx: &mut CheckContext) -> CheckResult {
    let u = ctx.create_user("entra-disable").await?;
    patch_ok(
        ctx,
        &u.url,
        json!([{"op": "Replace", "path": "active", "value": false}]),
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

async fn delete(ctx: &mut CheckContext) -> CheckResult {
    let u = ctx.create_user("entra-delete").await?;
    let resp = ctx.delete(&u.url).await?;
    expect_status(&resp, &[204], "DELETE")?;
    let resp = ctx.get(&u.url).await?;
    expect_status(&resp, &[404], "GET after DELETE")
}
