//! Regression tests over HTTP for PATCH and validation defects: a replace under a filter that
//! matches no member adds no member, required attributes (as `/Schemas` publishes them) are
//! enforced on POST, PUT and PATCH, an extension value may carry `schemas`, binary values are
//! checked as on POST, a failing PATCH changes nothing, and the validation presets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod http_support;

use std::sync::Arc;

use http::{Method, StatusCode};
use http_support::*;
use scim_core::validation::ValidationMode;
use scim_server::ScimServer;
use scim_server::auth::BearerTokens;
use scim_server::storage::memory::MemoryStorage;
use serde_json::{Map, Value, json};

const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn server_in(mode: ValidationMode) -> ScimServer {
    ScimServer::builder()
        .storage(Arc::new(MemoryStorage::new()))
        .authenticator(BearerTokens::single(TOKEN).unwrap())
        .validation_mode(mode)
        .build()
        .unwrap()
}

const MODES: [ValidationMode; 2] = [ValidationMode::Strict, ValidationMode::Lenient];

#[tokio::test]
async fn replace_under_a_member_filter_that_matches_nothing_adds_no_member() {
    for mode in MODES {
        let s = server_in(mode);
        let alice = create_user(&s, "alice").await;
        let gid = create_group(&s, "Tour Guides", &[&alice]).await;
        let before = get(&s, &format!("/Groups/{gid}")).send().await;
        let r = patch(
            &s,
            &format!("/Groups/{gid}"),
            patch_ops(json!([{"op": "replace",
                              "path": "members[value eq \"not-a-member\"].display",
                              "value": "X"}])),
        )
        .send()
        .await;
        // RFC 7644 §3.5.2.3: no match for a valuePath is 400 noTarget.
        r.assert_error(400, Some("noTarget"));
        let after = get(&s, &format!("/Groups/{gid}")).send().await;
        assert_eq!(after.body["members"], before.body["members"]);
        assert_eq!(after.header("etag"), before.header("etag"));
    }
}

/// A valid value for a published attribute (JSON form of RFC 7643 §7), unique by `n`.
fn sample(attr: &Value, n: usize, member: &str) -> Value {
    let name = attr["name"].as_str().unwrap();
    let one = match attr["type"].as_str().unwrap() {
        "string" => match attr["canonicalValues"].as_array().and_then(|c| c.first()) {
            Some(c) => c.clone(),
            None if name == "value" => json!(member),
            None => json!(format!("{name}-{n}")),
        },
        "boolean" => json!(name != "primary"),
        "decimal" => json!(1.5),
        "integer" => json!(7),
        "dateTime" => json!("2008-01-23T04:56:22Z"),
        "binary" => json!("TWFu"),
        "reference" => json!(format!("https://example.com/v2/Users/{n}")),
        "complex" => Value::Object(
            writable(&attr["subAttributes"])
                .map(|s| (s["name"].as_str().unwrap().to_owned(), sample(s, n, member)))
                .collect(),
        ),
        other => panic!("type {other}"),
    };
    if attr["multiValued"] == true {
        json!([one])
    } else {
        one
    }
}

fn writable(attrs: &Value) -> impl Iterator<Item = &Value> {
    attrs
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["mutability"] != "readOnly")
}

/// Every attribute `/Schemas` publishes for `/Users` and `/Groups`: an attribute published
/// `required: true` cannot be left out of a POST (400 invalidValue), one published
/// `required: false` can (201). RFC 7643 §7: "required  A Boolean value that specifies whether
/// or not the attribute is required."
#[tokio::test]
async fn what_schemas_publishes_as_required_is_what_post_enforces() {
    for mode in MODES {
        let s = server_in(mode);
        let member = create_user(&s, "member-of-everything").await;
        let group_schema = get(&s, &format!("/Schemas/{GROUP}")).send().await;
        assert_eq!(group_schema.status, StatusCode::OK);
        let display_name = group_schema.body["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "displayName")
            .unwrap();
        // RFC 7643 §4.2: "displayName  A human-readable name for the Group. REQUIRED."
        assert_eq!(display_name["required"], true);
        let mut n = 0;
        for (endpoint, core, extensions) in [
            ("/Users", USER, vec![ENTERPRISE]),
            ("/Groups", GROUP, vec![]),
        ] {
            let mut containers =
                vec![(None, get(&s, &format!("/Schemas/{core}")).send().await.body)];
            for e in extensions {
                containers.push((Some(e), get(&s, &format!("/Schemas/{e}")).send().await.body));
            }
            let full = |n: usize| {
                let mut body = Map::new();
                let mut schemas = vec![json!(core)];
                for (key, schema) in &containers {
                    let attrs: Map<String, Value> = writable(&schema["attributes"])
                        .map(|a| {
                            (
                                a["name"].as_str().unwrap().to_owned(),
                                sample(a, n, &member),
                            )
                        })
                        .collect();
                    match key {
                        None => body.extend(attrs),
                        Some(urn) => {
                            schemas.push(json!(urn));
                            body.insert((*urn).to_owned(), Value::Object(attrs));
                        }
                    }
                }
                body.insert("schemas".into(), Value::Array(schemas));
                Value::Object(body)
            };
            n += 1;
            let r = post(&s, endpoint, full(n)).send().await;
            assert_eq!(
                r.status,
                StatusCode::CREATED,
                "{mode} full {endpoint}: {}",
                r.body
            );
            for (key, schema) in &containers {
                for attr in writable(&schema["attributes"]) {
                    let name = attr["name"].as_str().unwrap();
                    let mut cases = vec![(None, attr["required"] == true)];
                    for sub in writable(&attr["subAttributes"]) {
                        cases.push((Some(sub["name"].as_str().unwrap()), sub["required"] == true));
                    }
                    for (sub, required) in cases {
                        n += 1;
                        let mut body = full(n);
                        let container = match key {
                            Some(urn) => &mut body[*urn],
                            None => &mut body,
                        };
                        match sub {
                            None => {
                                container.as_object_mut().unwrap().shift_remove(name);
                            }
                            Some(sub) => {
                                let v = &mut container[name];
                                let o = match v {
                                    Value::Array(items) => &mut items[0],
                                    other => other,
                                };
                                o.as_object_mut().unwrap().shift_remove(sub);
                            }
                        }
                        let r = post(&s, endpoint, body).send().await;
                        let what = format!("{mode} {endpoint} without {name}.{sub:?}");
                        if required {
                            assert_eq!(r.status.as_u16(), 400, "{what}: {}", r.body);
                            assert_eq!(r.body["scimType"], "invalidValue", "{what}");
                        } else {
                            assert_eq!(r.status, StatusCode::CREATED, "{what}: {}", r.body);
                        }
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn required_attributes_survive_put_and_patch() {
    for mode in MODES {
        let s = server_in(mode);
        let gid = create_group(&s, "Tour Guides", &[]).await;
        let uid = create_user(&s, "bjensen").await;
        let g = format!("/Groups/{gid}");
        let u = format!("/Users/{uid}");
        // RFC 7644 §3.5.2.2: removing a required attribute is 400 mutability.
        for ops in [
            json!([{"op": "remove", "path": "displayName"}]),
            json!([{"op": "replace", "path": "displayName", "value": null}]),
        ] {
            patch(&s, &g, patch_ops(ops))
                .send()
                .await
                .assert_error(400, Some("mutability"));
        }
        patch(
            &s,
            &u,
            patch_ops(json!([{"op": "remove", "path": "userName"}])),
        )
        .send()
        .await
        .assert_error(400, Some("mutability"));
        // An empty value is invalidValue on PATCH, PUT and POST alike.
        patch(
            &s,
            &u,
            patch_ops(json!([{"op": "replace", "path": "userName", "value": ""}])),
        )
        .send()
        .await
        .assert_error(400, Some("invalidValue"));
        patch(
            &s,
            &g,
            patch_ops(json!([{"op": "replace", "value": {"displayName": ""}}])),
        )
        .send()
        .await
        .assert_error(400, Some("invalidValue"));
        put(&s, &u, json!({"schemas": [USER], "userName": ""}))
            .send()
            .await
            .assert_error(400, Some("invalidValue"));
        put(&s, &g, json!({"schemas": [GROUP]}))
            .send()
            .await
            .assert_error(400, Some("invalidValue"));
        post(&s, "/Users", json!({"schemas": [USER], "userName": ""}))
            .send()
            .await
            .assert_error(400, Some("invalidValue"));
        let r = get(&s, &g).send().await;
        assert_eq!(r.body["displayName"], "Tour Guides");
    }
}

#[tokio::test]
async fn patch_of_the_enterprise_extension_with_its_own_schemas_key() {
    for mode in MODES {
        let s = server_in(mode);
        let uid = create_user(&s, "bjensen").await;
        for op in ["add", "replace"] {
            let r = patch(
                &s,
                &format!("/Users/{uid}"),
                patch_ops(json!([{"op": op, "path": ENTERPRISE,
                                  "value": {"schemas": [ENTERPRISE], "employeeNumber": "701984"}}])),
            )
            .send()
            .await;
            assert_eq!(r.status, StatusCode::OK, "{mode} {op}: {}", r.body);
            assert_eq!(r.body[ENTERPRISE]["employeeNumber"], "701984");
        }
    }
}

#[tokio::test]
async fn patch_checks_binary_values_as_post_does() {
    for mode in MODES {
        let s = server_in(mode);
        let uid = create_user(&s, "bjensen").await;
        let mut body = user("other");
        body["x509Certificates"] = json!([{"value": "not base64!"}]);
        let posted = post(&s, "/Users", body).send().await;
        posted.assert_error(400, Some("invalidValue"));
        let patched = patch(
            &s,
            &format!("/Users/{uid}"),
            patch_ops(json!([{"op": "add", "path": "x509Certificates", "value": [{"value": "not base64!"}]}])),
        )
        .send()
        .await;
        patched.assert_error(400, Some("invalidValue"));
        assert!(
            posted.body["detail"].as_str().unwrap().contains("base64")
                && patched.body["detail"].as_str().unwrap().contains("base64"),
            "{} / {}",
            posted.body,
            patched.body
        );
    }
}

#[tokio::test]
async fn a_failing_patch_leaves_the_resource_and_its_version_as_they_were() {
    for mode in MODES {
        let s = server_in(mode);
        let uid = create_user(&s, "bjensen").await;
        let u = format!("/Users/{uid}");
        let before = get(&s, &u).send().await;
        assert_eq!(before.body["emails"][0]["primary"], true);
        let r = patch(
            &s,
            &u,
            patch_ops(json!([
                {"op": "add", "path": "emails",
                 "value": [{"value": "new@example.com", "type": "other", "primary": true}]},
                {"op": "replace", "path": "nickName", "value": 42}
            ])),
        )
        .send()
        .await;
        r.assert_error(400, Some("invalidValue"));
        let after = get(&s, &u).send().await;
        assert_eq!(after.body, before.body);
        assert_eq!(after.header("etag"), before.header("etag"));
    }
}

#[tokio::test]
async fn no_preset_turns_a_group_body_into_a_user() {
    for mode in MODES {
        let s = server_in(mode);
        let body =
            json!({"schemas": [GROUP], "displayName": "Tour Guides", "userName": "tour-guides"});
        post(&s, "/Users", body.clone())
            .send()
            .await
            .assert_error(400, Some("invalidValue"));
        let r = get(&s, "/Users").send().await;
        assert_eq!(r.body["totalResults"], 0);
        // Nor through Bulk.
        let r = post(
            &s,
            "/Bulk",
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                   "Operations": [{"method": "POST", "path": "/Users", "bulkId": "g", "data": body}]}),
        )
        .send()
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["Operations"][0]["status"], "400", "{}", r.body);
    }
}

#[tokio::test]
async fn strict_refuses_what_lenient_repairs() {
    let strict = server_in(ValidationMode::Strict);
    let lenient = server_in(ValidationMode::Lenient);
    assert_eq!(strict.validation_mode(), Some(ValidationMode::Strict));
    assert_eq!(lenient.validation_mode(), Some(ValidationMode::Lenient));
    // Entra's string boolean on POST.
    let mut body = user("bjensen");
    body["active"] = json!("True");
    post(&strict, "/Users", body.clone())
        .send()
        .await
        .assert_error(400, Some("invalidValue"));
    assert_eq!(
        post(&lenient, "/Users", body).send().await.status,
        StatusCode::CREATED
    );
    // An unknown attribute.
    let mut body = user("other");
    body["favouriteColour"] = json!("blue");
    post(&strict, "/Users", body.clone())
        .send()
        .await
        .assert_error(400, Some("invalidSyntax"));
    assert_eq!(
        post(&lenient, "/Users", body).send().await.status,
        StatusCode::CREATED
    );
    // Entra's capitalised PATCH op.
    let uid = create_user(&strict, "someone").await;
    let r = Call::new(&strict, Method::PATCH, &format!("/Users/{uid}"))
        .json(patch_ops(
            json!([{"op": "Replace", "path": "active", "value": false}]),
        ))
        .send()
        .await;
    r.assert_error(400, Some("invalidSyntax"));
}
