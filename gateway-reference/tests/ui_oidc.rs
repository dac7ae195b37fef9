//! Sign-in to the Identity Manager through OpenID Connect against a fake OpenID provider
//! served by this test (discovery, JWKS with a test-only RSA key, a token endpoint that
//! checks the PKCE verifier against the challenge and answers a signed ID token). The test
//! plays the browser: it follows the redirect to the authorization endpoint by reading its
//! parameters, and comes back to the callback with a code the provider knows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, State};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use common::ui::{Reply, get as get_page};
use gateway_reference::app::Gateway;
use gateway_reference::config::{Config, OidcPartial, Partial, UiPartial};
use gateway_reference::crm::superoffice::keys::PartnerKey;
use gateway_reference::ui::accounts::{self, Access};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const CLIENT: &str = "gw-client";
const PUBLIC: &str = "http://gw.example.test";
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/superoffice/");

fn key(name: &str) -> PartnerKey {
    PartnerKey::parse(&std::fs::read_to_string(format!("{FIXTURES}{name}")).unwrap()).unwrap()
}

/// How the provider builds the next ID token.
#[derive(Clone, Default)]
struct Twist {
    nonce: Option<String>,
    exp_offset: Option<i64>,
    aud: Option<String>,
    foreign_key: bool,
    email: Option<String>,
}

struct Op {
    issuer: String,
    signing: PartnerKey,
    foreign: PartnerKey,
    /// code → (code_challenge, nonce)
    codes: Mutex<HashMap<String, (String, String)>>,
    twist: Mutex<Twist>,
}

async fn discovery(State(op): State<Arc<Op>>) -> axum::Json<Value> {
    axum::Json(json!({
        "issuer": op.issuer,
        "authorization_endpoint": format!("{}/authorize", op.issuer),
        "token_endpoint": format!("{}/token", op.issuer),
        "jwks_uri": format!("{}/keys", op.issuer),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn jwks(State(op): State<Arc<Op>>) -> axum::Json<Value> {
    let (n, e) = op.signing.public_key().components().unwrap();
    axum::Json(json!({"keys": [{
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": "k1",
        "n": B64URL.encode(n), "e": B64URL.encode(e),
    }]}))
}

fn jwt(claims: &Value, key: &PartnerKey) -> String {
    let data = format!(
        "{}.{}",
        B64URL.encode(br#"{"alg":"RS256","typ":"JWT","kid":"k1"}"#),
        B64URL.encode(claims.to_string())
    );
    format!(
        "{data}.{}",
        B64URL.encode(key.sign(data.as_bytes()).unwrap())
    )
}

async fn token(
    State(op): State<Arc<Op>>,
    Form(form): Form<HashMap<String, String>>,
) -> (http::StatusCode, axum::Json<Value>) {
    let refuse = |e: &str| {
        (
            http::StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": e})),
        )
    };
    let f = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if f("grant_type") != "authorization_code"
        || f("client_id") != CLIENT
        || f("redirect_uri") != format!("{PUBLIC}/ui/oidc/callback")
    {
        return refuse("invalid_request");
    }
    let Some((challenge, nonce)) = op.codes.lock().unwrap().remove(f("code")) else {
        return refuse("invalid_grant");
    };
    if B64URL.encode(Sha256::digest(f("code_verifier").as_bytes())) != challenge {
        return refuse("invalid_grant");
    }
    let t = op.twist.lock().unwrap().clone();
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": op.issuer,
        "sub": "subject-1",
        "aud": t.aud.unwrap_or_else(|| CLIENT.into()),
        "exp": now + t.exp_offset.unwrap_or(600),
        "iat": now,
        "nonce": t.nonce.unwrap_or(nonce),
        "email": t.email.unwrap_or_else(|| "Ada@Example.com".into()),
    });
    let key = if t.foreign_key {
        &op.foreign
    } else {
        &op.signing
    };
    (
        http::StatusCode::OK,
        axum::Json(
            json!({"token_type": "Bearer", "access_token": "x", "id_token": jwt(&claims, key)}),
        ),
    )
}

async fn serve_op() -> Arc<Op> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let op = Arc::new(Op {
        issuer: format!("http://{}", listener.local_addr().unwrap()),
        signing: key("test-only-superoffice-signing-key.pem"),
        foreign: key("test-only-partner-key.pkcs8.pem"),
        codes: Mutex::new(HashMap::new()),
        twist: Mutex::new(Twist::default()),
    });
    let app = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/keys", get(jwks))
        .route("/token", post(token))
        .with_state(op.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    op
}

async fn gateway(dir: &std::path::Path, issuer: &str) -> (Gateway, Router) {
    let partial = Partial {
        data_dir: Some(dir.to_path_buf()),
        ui: Some(UiPartial {
            oidc: Some(OidcPartial {
                issuer: Some(issuer.to_string()),
                client_id: Some(CLIENT.into()),
                label: Some("Test IdP".into()),
                ..OidcPartial::default()
            }),
        }),
        ..Partial::default()
    };
    let config = Config::resolve(partial, None, |_| None).unwrap();
    let gw = Gateway::open(&config).await.unwrap();
    gw.first_start().await.unwrap();
    let router = gw.router(PUBLIC).unwrap();
    (gw, router)
}

/// The browser's visit to the provider: the start link's redirect, read; returns the flow
/// cookie and the parameters of the authorization request.
async fn begin(app: &Router, op: &Op) -> (String, HashMap<String, String>) {
    let r = get_page(app, "/ui/oidc/start?next=/ui/t/demo", None).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let location = r.location();
    let (endpoint, query) = location.split_once('?').unwrap();
    assert_eq!(endpoint, format!("{}/authorize", op.issuer));
    let params: HashMap<String, String> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["client_id"], CLIENT);
    assert_eq!(params["redirect_uri"], format!("{PUBLIC}/ui/oidc/callback"));
    assert_eq!(params["scope"], "openid email profile");
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(params["code_challenge"].len(), 43);
    assert!(params["state"].len() >= 32 && params["nonce"].len() >= 32);
    let flow = r.set_cookie("gw_oidc").unwrap();
    assert!(
        flow.contains("HttpOnly") && flow.contains("SameSite=Lax"),
        "{flow}"
    );
    (r.cookie_pair("gw_oidc"), params)
}

/// The provider issues `code` for the authorization request `params`.
fn authorize(op: &Op, params: &HashMap<String, String>, code: &str) {
    op.codes.lock().unwrap().insert(
        code.into(),
        (params["code_challenge"].clone(), params["nonce"].clone()),
    );
}

async fn come_back(app: &Router, flow: &str, code: &str, state: &str) -> Reply {
    get_page(
        app,
        &format!("/ui/oidc/callback?code={code}&state={state}"),
        Some(flow),
    )
    .await
}

#[tokio::test]
async fn sign_in_through_the_provider_and_every_refusal() {
    let op = serve_op().await;
    let dir = tempfile::tempdir().unwrap();
    let (gw, app) = gateway(dir.path(), &op.issuer).await;
    accounts::create(gw.db(), "ada@example.com", None, Access::All, "test")
        .await
        .unwrap();

    // The sign-in page offers the provider.
    let page = get_page(&app, "/ui/signin", None).await;
    assert!(page.body.contains("Sign in with Test IdP"), "{}", page.body);
    assert!(page.body.contains("/ui/oidc/start?next="), "{}", page.body);

    // Success: the claim names the account case-insensitively; the session works.
    let (flow, params) = begin(&app, &op).await;
    authorize(&op, &params, "code-ok");
    let r = come_back(&app, &flow, "code-ok", &params["state"]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), "/ui/t/demo");
    let session = r.cookie_pair("gw_session");
    // The flow cookie is deleted: its state and code cannot be replayed from this browser.
    assert!(
        r.cookies()
            .iter()
            .any(|c| c.starts_with("gw_oidc=;") && c.contains("Max-Age=0")),
        "{:?}",
        r.cookies()
    );
    // Signed in: the only tenant's page, not the sign-in page.
    let home = get_page(&app, "/ui/", Some(&session)).await;
    assert_eq!(home.status, 303, "{}", home.body);
    assert_eq!(home.location(), "/ui/t/demo/configurations");
    let signed_out = get_page(&app, "/ui/", None).await;
    assert!(signed_out.location().starts_with("/ui/signin"));

    // A wrong state is refused before the code is exchanged.
    let (flow, params) = begin(&app, &op).await;
    authorize(&op, &params, "code-state");
    let r = come_back(&app, &flow, "code-state", "not-the-state").await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("does not belong"), "{}", r.body);
    assert!(op.codes.lock().unwrap().contains_key("code-state"));
    // Without the flow cookie (another browser): refused.
    let r = get_page(
        &app,
        &format!(
            "/ui/oidc/callback?code=code-state&state={}",
            params["state"]
        ),
        None,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("another browser"), "{}", r.body);

    // A code issued for another challenge (verifier mismatch) fails at the token endpoint.
    let (flow, mut params) = begin(&app, &op).await;
    params.insert(
        "code_challenge".into(),
        B64URL.encode(Sha256::digest(b"someone else's verifier")),
    );
    authorize(&op, &params, "code-pkce");
    let r = come_back(&app, &flow, "code-pkce", &params["state"]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("invalid_grant"), "{}", r.body);
    assert!(r.set_cookie("gw_session").is_none(), "{:?}", r.cookies());

    // Each bad ID token is refused with its reason and no session.
    let cases: Vec<(Twist, &str)> = vec![
        (
            Twist {
                nonce: Some("another-sign-in".into()),
                ..Twist::default()
            },
            "nonce",
        ),
        (
            Twist {
                exp_offset: Some(-3600),
                ..Twist::default()
            },
            "expired",
        ),
        (
            Twist {
                aud: Some("another-app".into()),
                ..Twist::default()
            },
            "another application",
        ),
        (
            Twist {
                foreign_key: true,
                ..Twist::default()
            },
            "signature",
        ),
    ];
    for (i, (twist, reason)) in cases.into_iter().enumerate() {
        *op.twist.lock().unwrap() = twist;
        let (flow, params) = begin(&app, &op).await;
        let code = format!("code-bad-{i}");
        authorize(&op, &params, &code);
        let r = come_back(&app, &flow, &code, &params["state"]).await;
        assert_eq!(r.status, 403, "{reason}: {}", r.body);
        assert!(r.body.contains(reason), "{reason}: {}", r.body);
        assert!(!r.cookies().iter().any(|c| c.starts_with("gw_session=")));
    }

    // An identity without an account: 403, not provisioned.
    *op.twist.lock().unwrap() = Twist {
        email: Some("stranger@example.com".into()),
        ..Twist::default()
    };
    let (flow, params) = begin(&app, &op).await;
    authorize(&op, &params, "code-stranger");
    let r = come_back(&app, &flow, "code-stranger", &params["state"]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("not an administrator"), "{}", r.body);
    assert!(
        accounts::find(gw.db(), "stranger@example.com")
            .await
            .unwrap()
            .is_none()
    );

    // A disabled account cannot sign in either.
    *op.twist.lock().unwrap() = Twist::default();
    accounts::disable(gw.db(), "ada@example.com").await.unwrap();
    let (flow, params) = begin(&app, &op).await;
    authorize(&op, &params, "code-disabled");
    let r = come_back(&app, &flow, "code-disabled", &params["state"]).await;
    assert_eq!(r.status, 403, "{}", r.body);

    // The user cancels at the provider.
    let (flow, params) = begin(&app, &op).await;
    let r = get_page(
        &app,
        &format!(
            "/ui/oidc/callback?error=access_denied&state={}",
            params["state"]
        ),
        Some(&flow),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("cancelled or refused"), "{}", r.body);
}

#[tokio::test]
async fn an_unreachable_issuer_is_a_clear_page() {
    // A port nobody listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let (_gw, app) = gateway(dir.path(), &format!("http://{closed}")).await;
    let r = get_page(&app, "/ui/oidc/start", None).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains("cannot be reached"), "{}", r.body);
    assert!(!r.body.contains(&closed.to_string()), "{}", r.body);
}
