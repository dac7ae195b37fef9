//! Users: create (RFC 7644 §3.3), read (§3.4.1), replace (§3.5.1), delete (§3.6), and the
//! User schema rules of RFC 7643 §4.1.

use serde_json::{Value, json};

use super::{expect_error, expect_status, fetch};
use crate::check::{Check, Feature, Level};
use crate::context::{CheckContext, random_guid};
use crate::discovery::USER_SCHEMA;
use crate::ensure;
use crate::json::{get_ci, has_schema, str_at};
use crate::outcome::CheckResult;
use crate::run_fn;

/// The user checks.
pub fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "users.create.returns-201-location",
            title: "POST /Users answers 201 with a Location header equal to meta.location",
            section: "RFC 7644 §3.3",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(create_returns_201_location),
        },
        Check {
            id: "users.create.returns-id-and-schemas",
            title: "The created User has a server-assigned id and lists the User schema",
            section: "RFC 7643 §3.1, RFC 7644 §3.3",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(create_returns_id_and_schemas),
        },
        Check {
            id: "users.create.content-type-scim-json",
            title: "The 201 response has Content-Type application/scim+json",
            section: "RFC 7644 §3.1, §8.1",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(create_content_type),
        },
        Check {
            id: "users.create.meta-resource-type",
            title: "The created User has meta.resourceType \"User\" and meta.created",
            section: "RFC 7643 §3.1",
            level: Level::Should,
            requires: &[Feature::Users],
            run: run_fn!(create_meta),
        },
        Check {
            id: "users.create.password-not-returned",
            title: "A password sent on create is never returned (returned: never)",
            section: "RFC 7643 §4.1.1, §2.2",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(create_password_not_returned),
        },
        Check {
            id: "users.create.client-id-ignored",
            title: "An id sent by the client on create is ignored; the server assigns its own",
            section: "RFC 7643 §3.1",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(create_client_id_ignored),
        },
        Check {
            id: "users.create.duplicate-username-409",
            title: "Creating a second User with the same userName answers 409 with scimType uniqueness",
            section: "RFC 7644 §3.3, §3.12",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(create_duplicate_409),
        },
        Check {
            id: "users.create.duplicate-username-case-409",
            title: "userName uniqueness ignores case (caseExact false): \"ALICE\" conflicts with \"alice\"",
            section: "RFC 7643 §4.1.1, RFC 7644 §3.3",
            level: Level::Should,
            requires: &[Feature::Users],
            run: run_fn!(create_duplicate_case_409),
        },
        Check {
            id: "users.create.missing-username-400",
            title: "A User without the REQUIRED userName is refused with 400",
            section: "RFC 7643 §4.1.1, RFC 7644 §3.3",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(create_missing_username),
        },
        Check {
            id: "users.read.returns-200",
            title: "GET /Users/{id} answers 200 with the same id and userName",
            section: "RFC 7644 §3.4.1",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(read_returns_200),
        },
        Check {
            id: "users.read.password-never-returned",
            title: "GET /Users/{id} never returns the password",
            section: "RFC 7643 §4.1.1, §2.2",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(read_password_never_returned),
        },
        Check {
            id: "users.read.unknown-id-404",
            title: "GET /Users/{unknown id} answers 404 with a SCIM error body",
            section: "RFC 7644 §3.4.1, §3.12",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(read_unknown_404),
        },
        Check {
            id: "users.replace.put-returns-200",
            title: "PUT /Users/{id} answers 200 with the replaced resource, and a GET shows the change",
            section: "RFC 7644 §3.5.1",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(replace_returns_200),
        },
        Check {
            id: "users.replace.unknown-id-404",
            title: "PUT /Users/{unknown id} answers 404",
            section: "RFC 7644 §3.5.1, §3.12",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(replace_unknown_404),
        },
        Check {
            id: "users.replace.id-immutable",
            title: "PUT keeps the id: an id in the body that differs is ignored or refused, never applied",
            section: "RFC 7643 §3.1, RFC 7644 §3.5.1",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(replace_id_immutable),
        },
        Check {
            id: "users.delete.returns-204-then-404",
            title: "DELETE /Users/{id} answers 204, and a GET afterwards answers 404",
            section: "RFC 7644 §3.6",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(delete_204_then_404),
        },
        Check {
            id: "users.delete.unknown-id-404",
            title: "DELETE /Users/{unknown id} answers 404",
            section: "RFC 7644 §3.6, §3.12",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(delete_unknown_404),
        },
        Check {
            id: "users.create.meta-client-values-ignored",
            title: "meta sent by the client on create is ignored (meta is readOnly, assigned by the server)",
            section: "RFC 7643 §3.1",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(create_meta_ignored),
        },
        Check {
            id: "users.create.returns-sent-attributes",
            title: "The 201 body is the created resource, with the attributes the client sent",
            section: "RFC 7644 §3.3",
            level: Level::Should,
            requires: &[Feature::Users],
            run: run_fn!(create_returns_sent),
        },
        Check {
            id: "users.create.attribute-names-case-insensitive",
            title: "Attribute names in a request body are case-insensitive (\"USERNAME\" sets userName)",
            section: "RFC 7643 §2.1",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(create_case_insensitive_names),
        },
        Check {
            id: "users.read.meta-location-serves-resource",
            title: "meta.location of a User is a URL that serves that User",
            section: "RFC 7643 §3.1",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(read_meta_location),
        },
        Check {
            id: "users.read.content-type-scim-json",
            title: "GET /Users/{id} answers with Content-Type application/scim+json",
            section: "RFC 7644 §3.1, §8.1",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(read_content_type),
        },
        Check {
            id: "users.replace.username-conflict-409",
            title: "PUT that changes userName to another user's answers 409 uniqueness",
            section: "RFC 7644 §3.5.1, §3.12",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(replace_conflict),
        },
        Check {
            id: "users.list.without-filter",
            title: "GET /Users without a filter answers 200 with a ListResponse",
            section: "RFC 7644 §3.4.2",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(list_without_filter),
        },
        Check {
            id: "users.search.post-dot-search",
            title: "POST /Users/.search with a SearchRequest answers 200 with the matching users",
            section: "RFC 7644 §3.4.3",
            level: Level::Should,
            requires: &[Feature::Users, Feature::Filter],
            run: run_fn!(search_post),
        },
        Check {
            id: "users.replace.password-not-returned",
            title: "The response to a PUT that sets a password does not return it",
            section: "RFC 7643 §4.1.1, §2.2",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(replace_password_not_returned),
        },
        Check {
            id: "users.list.password-never-returned",
            title: "Users in a list response never carry the password",
            section: "RFC 7643 §4.1.1, §2.2",
            level: Level::Must,
            requires: &[Feature::Users, Feature::Filter],
            run: run_fn!(list_password_never_returned),
        },
        Check {
            id: "users.search.attributes-in-body",
            title: "A SearchRequest's attributes limit the returned attributes like the query parameter",
            section: "RFC 7644 §3.4.3",
            level: Level::Should,
            requires: &[Feature::Users, Feature::Filter],
            run: run_fn!(search_attributes),
        },
    ]
}

async fn create_returns_201_location(ctx: &mut CheckContext) -> CheckResult {
    let created = ctx.create_user("location").await?;
    let location = created.response.header("location").map(str::to_string);
    ensure!(
        location.is_some(),
        "the 201 response has no Location header"
    );
    let meta = str_at(created.response.body_json(), "meta.location");
    ensure!(meta.is_some(), "the 201 body has no meta.location");
    ensure!(
        location.as_deref() == meta,
        "Location header {:?} differs from meta.location {:?}",
        location.unwrap_or_default(),
        meta.unwrap_or_default()
    );
    ensure!(
        location
            .as_deref()
            .is_some_and(|l| l.ends_with(&created.id)),
        "Location {:?} does not end with the id {}",
        location.unwrap_or_default(),
        created.id
    );
    Ok(())
}

async fn create_returns_id_and_schemas(ctx: &mut CheckContext) -> CheckResult {
    let created = ctx.create_user("schemas").await?;
    let body = created.response.body_json();
    ensure!(!created.id.is_empty(), "the id is empty");
    ensure!(
        has_schema(body, USER_SCHEMA),
        "schemas does not contain {USER_SCHEMA}"
    );
    Ok(())
}

async fn create_content_type(ctx: &mut CheckContext) -> CheckResult {
    let created = ctx.create_user("ctype").await?;
    let media = created.response.media_type();
    ensure!(
        media.as_deref() == Some("application/scim+json"),
        "Content-Type is {:?}, expected application/scim+json",
        created.response.header("content-type").unwrap_or("(none)")
    );
    Ok(())
}

async fn create_meta(ctx: &mut CheckContext) -> CheckResult {
    let created = ctx.create_user("meta").await?;
    let body = created.response.body_json();
    let rt = str_at(body, "meta.resourceType");
    ensure!(
        rt == Some("User"),
        "meta.resourceType is {:?}, expected \"User\"",
        rt.unwrap_or("(missing)")
    );
    ensure!(
        str_at(body, "meta.created").is_some(),
        "meta.created is missing"
    );
    Ok(())
}

fn with_password(mut body: Value) -> Value {
    if let Some(obj) = body.as_object_mut() {
        obj.insert("password".into(), json!("t1meMa$heen-Conf0rmance"));
    }
    body
}

async fn create_password_not_returned(ctx: &mut CheckContext) -> CheckResult {
    let body = with_password(ctx.user_body("password"));
    let users = ctx.users();
    let created = ctx.create(&users, &body).await?;
    ensure!(
        get_ci(created.response.body_json(), "password").is_none(),
        "the 201 body contains the password"
    );
    Ok(())
}

async fn read_password_never_returned(ctx: &mut CheckContext) -> CheckResult {
    let body = with_password(ctx.user_body("password-get"));
    let users = ctx.users();
    let created = ctx.create(&users, &body).await?;
    let got = fetch(ctx, &created.url).await?;
    ensure!(
        get_ci(&got, "password").is_none(),
        "GET {} returns the password",
        created.url
    );
    let url = format!("{}?attributes=password", created.url);
    let got = fetch(ctx, &url).await?;
    ensure!(
        get_ci(&got, "password").is_none(),
        "GET {url} returns the password although it is returned: never"
    );
    Ok(())
}

async fn create_client_id_ignored(ctx: &mut CheckContext) -> CheckResult {
    let mut body = ctx.user_body("client-id");
    let chosen = random_guid();
    if let Some(obj) = body.as_object_mut() {
        obj.insert("id".into(), json!(chosen));
    }
    let users = ctx.users();
    let resp = ctx.post(&users, &body).await?;
    if let Some(id) = str_at(resp.body_json(), "id") {
        ctx.cleanup_later(format!("{users}/{id}"));
    }
    if resp.status == 400 {
        // Refusing the readOnly id is also acceptable; it is never applied.
        return Ok(());
    }
    expect_status(&resp, &[201], "POST with a client-chosen id")?;
    let id = str_at(resp.body_json(), "id");
    ensure!(
        id != Some(chosen.as_str()),
        "the server used the id the client sent ({chosen}); id is readOnly and assigned by the service provider"
    );
    Ok(())
}

async fn create_duplicate_409(ctx: &mut CheckContext) -> CheckResult {
    let body = ctx.user_body("dup");
    let users = ctx.users();
    ctx.create(&users, &body).await?;
    let resp = ctx.post(&users, &body).await?;
    if resp.status == 201
        && let Some(id) = str_at(resp.body_json(), "id")
    {
        ctx.cleanup_later(format!("{users}/{id}"));
    }
    expect_error(
        &resp,
        409,
        Some("uniqueness"),
        "second POST with the same userName",
    )
}

async fn create_duplicate_case_409(ctx: &mut CheckContext) -> CheckResult {
    let body = ctx.user_body("dupcase");
    let users = ctx.users();
    ctx.create(&users, &body).await?;
    let mut upper = body.clone();
    if let Some(obj) = upper.as_object_mut() {
        let name = str_at(&body, "userName").unwrap_or_default().to_uppercase();
        obj.insert("userName".into(), json!(name));
    }
    let resp = ctx.post(&users, &upper).await?;
    if resp.status == 201
        && let Some(id) = str_at(resp.body_json(), "id")
    {
        ctx.cleanup_later(format!("{users}/{id}"));
    }
    expect_error(
        &resp,
        409,
        Some("uniqueness"),
        "POST with the userName in upper case",
    )
}

async fn create_missing_username(ctx: &mut CheckContext) -> CheckResult {
    let mut body = ctx.user_body("no-username");
    if let Some(obj) = body.as_object_mut() {
        obj.remove("userName");
    }
    let users = ctx.users();
    let resp = ctx.post(&users, &body).await?;
    if resp.status == 201
        && let Some(id) = str_at(resp.body_json(), "id")
    {
        ctx.cleanup_later(format!("{users}/{id}"));
    }
    expect_error(&resp, 400, None, "POST without userName")
}

async fn read_returns_200(ctx: &mut CheckContext) -> CheckResult {
    let created = ctx.create_user("read").await?;
    let got = fetch(ctx, &created.url).await?;
    ensure!(
        str_at(&got, "id") == Some(created.id.as_str()),
        "GET returned id {:?}, expected {}",
        str_at(&got, "id"),
        created.id
    );
    let sent = str_at(created.response.body_json(), "userName");
    ensure!(
        str_at(&got, "userName") == sent,
        "GET returned userName {:?}, expected {:?}",
        str_at(&got, "userName"),
        sent
    );
    Ok(())
}

async fn read_unknown_404(ctx: &mut CheckContext) -> CheckResult {
    let url = format!("{}/{}", ctx.users(), random_guid());
    let resp = ctx.get(&url).await?;
    expect_error(&resp, 404, None, &format!("GET {url}"))
}

async fn replace_returns_200(ctx: &mut CheckContext) -> CheckResult {
    let created = ctx.create_user("put").await?;
    let mut body = created.response.json.clone().unwrap_or(Value::Null);
    if let Some(obj) = body.as_object_mut() {
        obj.remove("meta");
        obj.insert("displayName".into(), json!("Replaced By PUT"));
    }
    let resp = ctx.put(&created.url, &body).await?;
    expect_status(&resp, &[200], &format!("PUT {}", created.url))?;
    ensure!(
        str_at(resp.body_json(), "displayName") == Some("Replaced By PUT"),
        "the PUT response does not show the new displayName"
    );
    let got = fetch(ctx, &created.url).await?;
    ensure!(
        str_at(&got, "displayName") == Some("Replaced By PUT"),
        "a GET after PUT shows displayName {:?}",
        str_at(&got, "displayName")
    );
    Ok(())
}

async fn replace_unknown_404(ctx: &mut CheckContext) -> CheckResult {
    let url = format!("{}/{}", ctx.users(), random_guid());
    let body = ctx.user_body("put-unknown");
    let resp = ctx.put(&url, &body).await?;
    if let Some(id) = str_at(resp.body_json(), "id").filter(|_| resp.status < 300) {
        let users = ctx.users();
        ctx.cleanup_later(format!("{users}/{id}"));
    }
    expect_error(&resp, 404, None, &format!("PUT {url}"))
}

async fn replace_id_immutable(ctx: &mut CheckContext) -> CheckResult {
    let created = ctx.create_user("put-id").await?;
    let mut body = created.response.json.clone().unwrap_or(Value::Null);
    let other = random_guid();
    if let Some(obj) = body.as_object_mut() {
        obj.remove("meta");
        obj.insert("id".into(), json!(other));
    }
    let resp = ctx.put(&created.url, &body).await?;
    if let Some(id) = str_at(resp.body_json(), "id").filter(|id| *id != created.id) {
        let users = ctx.users();
        ctx.cleanup_later(format!("{users}/{id}"));
    }
    expect_status(
        &resp,
        &[200, 400],
        &format!("PUT {} with another id", created.url),
    )?;
    if resp.status == 200 {
        let id = str_at(resp.body_json(), "id");
        ensure!(
            id == Some(created.id.as_str()),
            "after PUT with id {other} the resource answers with id {:?}, expected {}",
            id,
            created.id
        );
    }
    let got = fetch(ctx, &created.url).await?;
    ensure!(
        str_at(&got, "id") == Some(created.id.as_str()),
        "the resource's id changed to {:?}",
        str_at(&got, "id")
    );
    Ok(())
}

async fn delete_204_then_404(ctx: &mut CheckContext) -> CheckResult {
    let created = ctx.create_user("delete").await?;
    let resp = ctx.delete(&created.url).await?;
    expect_status(&resp, &[204], &format!("DELETE {}", created.url))?;
    let resp = ctx.get(&created.url).await?;
    expect_status(&resp, &[404], &format!("GET {} after DELETE", created.url))
}

async fn delete_unknown_404(ctx: &mut CheckContext) -> CheckResult {
    let url = format!("{}/{}", ctx.users(), random_guid());
    let resp = ctx.delete(&url).await?;
    expect_error(&resp, 404, None, &format!("DELETE {url}"))
}

async fn create_meta_ignored(ctx: &mut CheckContext) -> CheckResult {
    let mut body = ctx.user_body("client-meta");
    if let Some(obj) = body.as_object_mut() {
        obj.insert(
            "meta".into(),
            json!({"resourceType": "User", "created": "1999-01-01T00:00:00Z"}),
        );
    }
    let users = ctx.users();
    let created = ctx.create(&users, &body).await?;
    let c = str_at(created.response.body_json(), "meta.created");
    ensure!(
        c != Some("1999-01-01T00:00:00Z"),
        "meta.created is the client's value 1999-01-01T00:00:00Z"
    );
    Ok(())
}

async fn create_returns_sent(ctx: &mut CheckContext) -> CheckResult {
    let body = ctx.user_body("echo");
    let users = ctx.users();
    let created = ctx.create(&users, &body).await?;
    let got = created.response.body_json();
    for attr in ["userName", "displayName", "name.givenName"] {
        ensure!(
            str_at(got, attr) == str_at(&body, attr),
            "the 201 body has {attr} {:?}, sent {:?}",
            str_at(got, attr),
            str_at(&body, attr)
        );
    }
    ensure!(
        super::values_of(got, "emails") == super::values_of(&body, "emails"),
        "the 201 body lacks the emails sent"
    );
    Ok(())
}

async fn create_case_insensitive_names(ctx: &mut CheckContext) -> CheckResult {
    let name = ctx.unique("upper-keys");
    let body = json!({"schemas": [USER_SCHEMA], "USERNAME": name, "DisplayName": "Upper Keys"});
    let users = ctx.users();
    let created = ctx.create(&users, &body).await?;
    let got = fetch(ctx, &created.url).await?;
    ensure!(
        str_at(&got, "userName") == Some(name.as_str()),
        "userName is {:?}, sent as \"USERNAME\": {name:?}",
        str_at(&got, "userName")
    );
    Ok(())
}

async fn read_meta_location(ctx: &mut CheckContext) -> CheckResult {
    let created = ctx.create_user("meta-location").await?;
    let got = fetch(ctx, &created.url).await?;
    let location = str_at(&got, "meta.location")
        .unwrap_or_default()
        .to_string();
    ensure!(
        location.starts_with("http://") || location.starts_with("https://"),
        "meta.location is {location:?}, expected the absolute URL of the resource"
    );
    let resp = ctx.get(&location).await?;
    expect_status(&resp, &[200], &format!("GET meta.location {location}"))?;
    ensure!(
        str_at(resp.body_json(), "id") == Some(created.id.as_str()),
        "GET {location} (meta.location) returned id {:?}, expected {}",
        str_at(resp.body_json(), "id"),
        created.id
    );
    Ok(())
}

async fn read_content_type(ctx: &mut CheckContext) -> CheckResult {
    let created = ctx.create_user("get-ctype").await?;
    let resp = ctx.get(&created.url).await?;
    expect_status(&resp, &[200], "GET")?;
    ensure!(
        resp.media_type().as_deref() == Some("application/scim+json"),
        "Content-Type is {:?}, expected application/scim+json",
        resp.header("content-type").unwrap_or("(none)")
    );
    Ok(())
}

async fn replace_conflict(ctx: &mut CheckContext) -> CheckResult {
    let a = ctx.create_user("conflict-a").await?;
    let b = ctx.create_user("conflict-b").await?;
    let taken = str_at(a.response.body_json(), "userName")
        .unwrap_or_default()
        .to_string();
    let mut body = b.response.json.clone().unwrap_or(Value::Null);
    if let Some(obj) = body.as_object_mut() {
        obj.remove("meta");
        obj.insert("userName".into(), json!(taken));
    }
    let resp = ctx.put(&b.url, &body).await?;
    expect_error(
        &resp,
        409,
        Some("uniqueness"),
        "PUT with another user's userName",
    )
}

async fn list_without_filter(ctx: &mut CheckContext) -> CheckResult {
    ctx.create_user("listed").await?;
    let users = ctx.users();
    let resp = super::list(ctx, &users, "count=1").await?;
    ensure!(
        super::total_results(&resp).is_some_and(|n| n >= 1),
        "totalResults is {:?} although a user exists",
        super::total_results(&resp)
    );
    Ok(())
}

async fn search_post(ctx: &mut CheckContext) -> CheckResult {
    let created = ctx.create_user("search").await?;
    let name = str_at(created.response.body_json(), "userName")
        .unwrap_or_default()
        .to_string();
    let users = ctx.users();
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": format!("userName eq \"{name}\""),
        "startIndex": 1,
        "count": 10
    });
    let resp = ctx.post(&format!("{users}/.search"), &body).await?;
    expect_status(&resp, &[200], "POST /.search")?;
    ensure!(
        has_schema(resp.body_json(), crate::discovery::LIST_RESPONSE_SCHEMA),
        "the .search response is not a ListResponse"
    );
    super::expect_ids(&resp, &[&created.id], "SearchRequest filter")
}

async fn replace_password_not_returned(ctx: &mut CheckContext) -> CheckResult {
    let created = ctx.create_user("put-password").await?;
    let mut body = with_password(created.response.json.clone().unwrap_or(Value::Null));
    if let Some(obj) = body.as_object_mut() {
        obj.remove("meta");
    }
    let resp = ctx.put(&created.url, &body).await?;
    expect_status(&resp, &[200], "PUT with a password")?;
    ensure!(
        get_ci(resp.body_json(), "password").is_none(),
        "the PUT response contains the password"
    );
    Ok(())
}

async fn list_password_never_returned(ctx: &mut CheckContext) -> CheckResult {
    let body = with_password(ctx.user_body("list-password"));
    let users = ctx.users();
    ctx.create(&users, &body).await?;
    let f = format!(
        "userName eq \"{}\"",
        str_at(&body, "userName").unwrap_or_default()
    );
    let resp = super::filter(ctx, &users, &f, "").await?;
    let items = crate::json::resources(resp.body_json());
    ensure!(!items.is_empty(), "the filter {f} found nothing");
    ensure!(
        items.iter().all(|r| get_ci(r, "password").is_none()),
        "a listed user carries the password"
    );
    Ok(())
}

async fn search_attributes(ctx: &mut CheckContext) -> CheckResult {
    let created = ctx.create_user("search-attrs").await?;
    let name = str_at(created.response.body_json(), "userName")
        .unwrap_or_default()
        .to_string();
    let users = ctx.users();
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": format!("userName eq \"{name}\""),
        "attributes": ["userName"]
    });
    let resp = ctx.post(&format!("{users}/.search"), &body).await?;
    expect_status(&resp, &[200], "POST /.search")?;
    let items = crate::json::resources(resp.body_json());
    ensure!(
        items.len() == 1,
        "the search returned {} resources, expected 1",
        items.len()
    );
    ensure!(
        items.iter().all(|r| get_ci(r, "emails").is_none()),
        "emails is returned although the SearchRequest asked only for userName"
    );
    Ok(())
}
