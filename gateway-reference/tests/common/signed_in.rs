//! A signed-in Identity Manager session against the gateway's whole router (`oneshot`): a
//! gateway on a temporary data directory with its first tenant `demo`, an account `ada`,
//! and helpers to push SCIM users and save rules as the identity provider and the admin API
//! would.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use gateway_reference::app::Gateway;
use gateway_reference::config::{Config, Partial};
use gateway_reference::ui::{accounts, session};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

pub const PUBLIC: &str = "http://127.0.0.1:8080";

pub struct Env {
    pub gw: Gateway,
    pub app: axum::Router,
    pub cookie: String,
    pub csrf: String,
    pub admin: String,
    pub scim: String,
    pub _dir: tempfile::TempDir,
}

pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Env {
    pub async fn new(access: accounts::Access) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let partial = Partial {
            data_dir: Some(dir.path().to_path_buf()),
            ..Partial::default()
        };
        let config = Config::resolve(partial, None, |_| None).unwrap();
        let gw = Gateway::open(&config).await.unwrap();
        let first = gw.first_start().await.unwrap().unwrap();
        gw.seed_crm().await.unwrap();
        let account = accounts::create(gw.db(), "ada", Some("a long passphrase 1"), access, "t")
            .await
            .unwrap();
        let token = session::create(gw.db(), account.id).await.unwrap();
        let app = gw.router(PUBLIC).unwrap();
        Env {
            app,
            cookie: format!("gw_session={token}"),
            csrf: session::csrf_token(&token),
            admin: first.admin_token,
            scim: first.token,
            gw,
            _dir: dir,
        }
    }

    pub async fn send(&self, req: http::request::Builder, body: Body) -> Answer {
        let resp = self
            .app
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, uri: &str) -> Answer {
        self.send(
            http::Request::get(uri).header("cookie", &self.cookie),
            Body::empty(),
        )
        .await
    }

    /// A form post as the browser sends it from the page (with the CSRF field).
    pub async fn post(&self, uri: &str, fields: &[(&str, &str)]) -> Answer {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("csrf", &self.csrf);
        for (k, v) in fields {
            form.append_pair(k, v);
        }
        self.post_raw(uri, form.finish()).await
    }

    pub async fn post_raw(&self, uri: &str, body: String) -> Answer {
        self.send(
            http::Request::post(uri)
                .header("cookie", &self.cookie)
                .header("sec-fetch-site", "same-origin")
                .header("origin", PUBLIC)
                .header("content-type", "application/x-www-form-urlencoded"),
            Body::from(body),
        )
        .await
    }

    pub async fn api(
        &self,
        method: &str,
        uri: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {token}"));
        let body = match body {
            Some(v) => {
                req = req.header("content-type", "application/scim+json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let a = self.send(req, body).await;
        (
            a.status,
            serde_json::from_str(&a.body).unwrap_or(Value::Null),
        )
    }

    pub async fn scim_user(&self, user_name: &str, display: &str, active: bool) {
        let (s, body) = self
            .api(
                "POST",
                "/scim/demo/Users",
                &self.scim.clone(),
                Some(json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": user_name, "displayName": display, "active": active,
                    "name": {"givenName": "G", "familyName": "F"}
                })),
            )
            .await;
        assert_eq!(s, 201, "{body}");
    }

    pub async fn rules(&self) {
        let rules = json!({"rules": [
            {"id": "everyone", "name": "Everyone", "scope": {"kind": "allUsers"},
             "settings": {"role": {"value": 2, "apply": "always"},
                          "confidential": {"value": true, "apply": "always"}}}
        ]});
        let a = self
            .send(
                http::Request::put("/admin/tenants/demo/rules")
                    .header("authorization", format!("Bearer {}", self.admin))
                    .header("content-type", "application/json"),
                Body::from(rules.to_string()),
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
    }
}
