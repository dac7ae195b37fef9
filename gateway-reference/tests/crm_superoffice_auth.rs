//! Signing in to SuperOffice: the system user flow (the signed system user token, the ticket
//! from the sign-in's JWT, cached, renewed once on a 401) and the OAuth refresh-token flow
//! (renewed before expiry and once on a 401), against the fake SuperOffice and wiremock;
//! Test Connection naming the step that failed; no secret in the admin view or `Debug`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use base64::Engine as _;
use gateway_reference::admin::crm::{ConnectionInput, ConnectionView, merge};
use gateway_reference::crm::connections::{AuthKind, CrmConnection, CrmKind};
use gateway_reference::crm::superoffice::auth::{SystemUserCredentials, TICKET_CLAIM};
use gateway_reference::crm::superoffice::fake::{self, FakeSuperOffice};
use gateway_reference::crm::superoffice::keys::{PartnerKey, PublicKey, sign_jwt};
use gateway_reference::crm::superoffice::{
    ConnectionProblem, RetryPolicy, SuperOfficeAuth, SuperOfficeConfig, SuperOfficeCrm,
};
use gateway_reference::crm::{Crm, CrmError};
use scim_server::TenantId;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn tenant() -> TenantId {
    TenantId::new("contoso").unwrap()
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/superoffice/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

const PKCS8: &str = "test-only-partner-key.pkcs8.pem";
const CERT: &str = "test-only-superoffice-signing-cert.pem";

async fn fake_with_sign_in() -> FakeSuperOffice {
    let fake = FakeSuperOffice::start().await;
    fake.enable_sign_in(
        &fixture("test-only-partner-key.pub.pem"),
        &fixture("test-only-superoffice-signing-key.pem"),
    );
    fake
}

async fn on_fake_system_user() -> (SuperOfficeCrm, TenantId, FakeSuperOffice) {
    let fake = fake_with_sign_in().await;
    let c = fake.system_user_config(&fixture(PKCS8), Some(&fixture(CERT)));
    (SuperOfficeCrm::new(tenant(), &c).unwrap(), tenant(), fake)
}

async fn on_fake_oauth() -> (SuperOfficeCrm, TenantId, FakeSuperOffice) {
    let fake = fake_with_sign_in().await;
    let crm = SuperOfficeCrm::new(tenant(), &fake.oauth_config()).unwrap();
    (crm, tenant(), fake)
}

gateway_reference::crm_backend_suite!(superoffice_fake_system_user, on_fake_system_user);
gateway_reference::crm_backend_suite!(superoffice_fake_oauth, on_fake_oauth);

#[tokio::test]
async fn system_user_signs_the_token_and_caches_the_ticket() {
    let (crm, t, fake) = on_fake_system_user().await;
    let before = chrono::Utc::now();
    for _ in 0..3 {
        crm.catalog(&t).await.unwrap();
    }
    crm.list_users(&t, 0, 10).await.unwrap();
    assert_eq!(fake.system_user_sign_ins(), 1, "one sign-in for many calls");
    assert_eq!(crm.sign_ins(), 1);
    // What the sign-in service was sent, checked here as well as by the fake.
    let signed = fake.last_signed_token().unwrap();
    let (data, sig) = signed.rsplit_once('.').unwrap();
    let (token, stamp) = data.rsplit_once('.').unwrap();
    assert_eq!(token, fake::SYSTEM_USER_TOKEN);
    assert_eq!(stamp.len(), 12);
    assert!(stamp.chars().all(|c| c.is_ascii_digit()), "{stamp}");
    let now = chrono::Utc::now();
    assert!(
        [before, now]
            .iter()
            .any(|t| t.format("%Y%m%d%H%M").to_string() == stamp),
        "{stamp} is not the UTC minute"
    );
    let sig = base64::engine::general_purpose::STANDARD
        .decode(sig)
        .unwrap();
    let public = PublicKey::parse(&fixture("test-only-partner-key.pub.pem")).unwrap();
    assert!(public.verify(data.as_bytes(), &sig));
    assert!(!public.verify(b"another.202601010000", &sig));
}

#[tokio::test]
async fn every_key_form_signs_in() {
    let fake = fake_with_sign_in().await;
    for name in [
        PKCS8,
        "test-only-partner-key.pkcs1.pem",
        "test-only-partner-key.xml",
    ] {
        let c = fake.system_user_config(&fixture(name), None);
        let crm = SuperOfficeCrm::new(tenant(), &c).unwrap();
        let r = crm.test_connection().await;
        assert!(r.ok, "{name}: {r:?}");
    }
    assert_eq!(fake.system_user_sign_ins(), 3);
}

#[tokio::test]
async fn a_refused_ticket_signs_in_again_once_and_the_call_succeeds() {
    let (crm, t, fake) = on_fake_system_user().await;
    crm.catalog(&t).await.unwrap();
    let create = |user_name: &'static str| {
        let crm = &crm;
        let t = &t;
        async move {
            crm.create_user(
                t,
                &gateway_reference::crm::Person {
                    user_name: user_name.into(),
                    first_name: "A".into(),
                    last_name: "B".into(),
                    email: None,
                },
                &gateway_reference::crm::UserSettings::default(),
            )
            .await
            .unwrap()
        }
    };
    // A create with a good ticket, to compare with.
    let before = fake.requests();
    create("baseline@x.com").await;
    let baseline = fake.requests() - before;
    assert_eq!(fake.unauthorized(), 0);
    assert_eq!(fake.system_user_sign_ins(), 1);

    let before = fake.requests();
    fake.expire_issued();
    let u = create("a@x.com").await;
    assert_eq!(u.user_name, "a@x.com");
    assert_eq!(
        fake.system_user_sign_ins(),
        2,
        "exactly one re-authentication"
    );
    assert_eq!(fake.creates(), 2);
    // The refused request is the only Web API request more than with a good ticket (the
    // sign-in goes to the sign-in service).
    assert_eq!(fake.unauthorized(), 1, "one refused request");
    assert_eq!(fake.requests() - before, baseline + 1);
    crm.get_user(&t, u.associate_id).await.unwrap();
    assert_eq!(fake.system_user_sign_ins(), 2);
}

#[tokio::test]
async fn an_old_ticket_is_replaced_before_use() {
    let fake = fake_with_sign_in().await;
    let mut c = fake.system_user_config(&fixture(PKCS8), None);
    c.ticket_lifetime = Duration::ZERO;
    let crm = SuperOfficeCrm::new(tenant(), &c).unwrap();
    for _ in 0..3 {
        crm.list_users(&tenant(), 0, 10).await.unwrap();
    }
    assert_eq!(
        fake.system_user_sign_ins(),
        3,
        "one per call: each ticket was too old"
    );
}

#[tokio::test]
async fn a_refused_sign_in_is_named_by_test_connection() {
    let (crm, t, fake) = on_fake_system_user().await;
    fake.refuse_sign_in(true);
    let r = crm.test_connection().await;
    assert_eq!(r.problem, Some(ConnectionProblem::SignInRefused), "{r:?}");
    assert!(
        r.failed_call
            .as_deref()
            .unwrap()
            .contains("PartnerSystemUser/Authenticate"),
        "{r:?}"
    );
    assert!(
        r.detail.contains("refused the signed system user token") && r.detail.contains("revoked"),
        "{r:?}"
    );
    let err = crm.list_users(&t, 0, 10).await.unwrap_err();
    assert!(matches!(err, CrmError::Unauthorized(_)), "{err:?}");
    assert!(err.is_critical());
    // A key the fake does not know: the signature does not verify.
    fake.refuse_sign_in(false);
    let c = fake.system_user_config(&fixture("test-only-superoffice-signing-key.pem"), None);
    let r = SuperOfficeCrm::new(tenant(), &c)
        .unwrap()
        .test_connection()
        .await;
    assert_eq!(r.problem, Some(ConnectionProblem::SignInRefused), "{r:?}");
    assert!(r.detail.contains("does not verify"), "{r:?}");
}

#[tokio::test]
async fn an_unreachable_sign_in_and_a_forged_jwt_are_named() {
    let fake = fake_with_sign_in().await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut c = fake.system_user_config(&fixture(PKCS8), None);
    c.retry = RetryPolicy::none();
    if let SuperOfficeAuth::SystemUser(s) = &mut c.auth {
        s.login_url = format!("http://127.0.0.1:{port}");
    }
    let r = SuperOfficeCrm::new(tenant(), &c)
        .unwrap()
        .test_connection()
        .await;
    assert_eq!(
        r.problem,
        Some(ConnectionProblem::SignInUnreachable),
        "{r:?}"
    );
    assert!(r.detail.contains("unreachable"), "{r:?}");
    // The JWT is verified with the configured certificate: one of another key is refused.
    let c = fake.system_user_config(
        &fixture(PKCS8),
        Some(&fixture("test-only-partner-key.pub.pem")),
    );
    let r = SuperOfficeCrm::new(tenant(), &c)
        .unwrap()
        .test_connection()
        .await;
    assert_eq!(r.problem, Some(ConnectionProblem::Unexpected), "{r:?}");
    assert!(r.detail.contains("signature"), "{r:?}");
}

#[tokio::test]
async fn a_web_api_refusing_every_ticket_signs_in_once_more_then_gives_up() {
    let server = MockServer::start().await;
    let signer = PartnerKey::parse(&fixture("test-only-superoffice-signing-key.pem")).unwrap();
    let jwt = sign_jwt(&json!({ TICKET_CLAIM: "7T:abc" }), &signer).unwrap();
    Mock::given(method("POST"))
        .and(path("/Login/api/PartnerSystemUser/Authenticate"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"IsSuccessful": true, "ErrorMessage": "", "Token": jwt})),
        )
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/Cust1/api/v1/Agents/User/GetAllRoles"))
        .respond_with(ResponseTemplate::new(401))
        .expect(2)
        .mount(&server)
        .await;
    let mut c = SuperOfficeConfig::new(
        server.uri(),
        "Cust1",
        SuperOfficeAuth::SystemUser(SystemUserCredentials {
            login_url: server.uri(),
            system_user_token: "sut".into(),
            app_token: "app".into(),
            private_key: fixture(PKCS8),
            context_identifier: "Cust1".into(),
            jwt_certificate: Some(fixture(CERT)),
        }),
    );
    c.retry = RetryPolicy::none();
    let r = SuperOfficeCrm::new(tenant(), &c)
        .unwrap()
        .test_connection()
        .await;
    assert_eq!(
        r.problem,
        Some(ConnectionProblem::CredentialsRefused),
        "{r:?}"
    );
    assert!(r.detail.contains("Web API refused"), "{r:?}");
    for req in server.received_requests().await.unwrap() {
        if req.url.path().ends_with("GetAllRoles") {
            assert_eq!(req.headers.get("authorization").unwrap(), "SOTICKET 7T:abc");
            assert_eq!(req.headers.get("so-apptoken").unwrap(), "app");
        }
    }
}

#[tokio::test]
async fn oauth_refreshes_once_for_many_calls_and_again_on_401() {
    let (crm, t, fake) = on_fake_oauth().await;
    for _ in 0..3 {
        crm.catalog(&t).await.unwrap();
    }
    assert_eq!(fake.refreshes(), 1);
    fake.expire_issued();
    crm.list_users(&t, 0, 10).await.unwrap();
    assert_eq!(fake.refreshes(), 2, "one refresh on the 401");
    fake.refuse_sign_in(true);
    fake.expire_issued();
    let r = crm.test_connection().await;
    assert_eq!(r.problem, Some(ConnectionProblem::SignInRefused), "{r:?}");
    assert!(
        r.detail.contains("refresh token") && r.detail.contains("invalid_grant"),
        "{r:?}"
    );
}

#[tokio::test]
async fn oauth_renews_before_the_access_token_expires() {
    let fake = fake_with_sign_in().await;
    // Tokens that live shorter than the renewal margin are renewed before every call.
    fake.set_expires_in(30);
    let crm = SuperOfficeCrm::new(tenant(), &fake.oauth_config()).unwrap();
    for _ in 0..3 {
        crm.list_users(&tenant(), 0, 10).await.unwrap();
    }
    assert_eq!(fake.refreshes(), 3);
    fake.set_expires_in(3600);
    let crm = SuperOfficeCrm::new(tenant(), &fake.oauth_config()).unwrap();
    for _ in 0..3 {
        crm.list_users(&tenant(), 0, 10).await.unwrap();
    }
    assert_eq!(fake.refreshes(), 4);
}

#[test]
fn no_secret_in_the_admin_view_or_debug() {
    let key = fixture(PKCS8);
    let input = ConnectionInput {
        kind: CrmKind::Superoffice,
        base_url: Some("https://online.superoffice.com".into()),
        customer_id: Some("Cust12345".into()),
        auth: Some(AuthKind::SystemUser),
        system_user_token: Some("SUT-secret-1".into()),
        app_token: Some("APP-secret-2".into()),
        private_key: Some(key.clone()),
        environment: Some("sod".into()),
        jwt_certificate: Some(fixture(CERT)),
        ..ConnectionInput::default()
    };
    let c = merge(&CrmConnection::default(), input);
    c.validate().unwrap();
    assert_eq!(c.login_url(), "https://sod.superoffice.com");
    let view = serde_json::to_string(&ConnectionView::of(&c)).unwrap();
    let config = c.superoffice_config().unwrap();
    let crm = SuperOfficeCrm::new(tenant(), &config).unwrap();
    for shown in [
        view.clone(),
        format!("{c:?}"),
        format!("{config:?}"),
        format!("{crm:?}"),
    ] {
        for secret in ["SUT-secret-1", "APP-secret-2", "PRIVATE KEY", &key[40..80]] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }
    let v: serde_json::Value = serde_json::from_str(&view).unwrap();
    assert_eq!(v["auth"], "system-user");
    assert_eq!(v["systemUserTokenSet"], true);
    assert_eq!(v["privateKeySet"], true);
    assert_eq!(v["jwtCertificateSet"], true);
    assert_eq!(v["refreshTokenSet"], false);
    // Another save without the secrets keeps them; a bad key is refused.
    let again = merge(
        &c,
        ConnectionInput {
            kind: CrmKind::Superoffice,
            base_url: c.base_url.clone(),
            customer_id: c.customer_id.clone(),
            ..ConnectionInput::default()
        },
    );
    assert_eq!(again.secrets, c.secrets);
    let mut bad = c.clone();
    bad.secrets.private_key =
        Some("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----".into());
    assert!(bad.validate().is_err());
    // OAuth needs the client id, the client secret and the refresh token.
    let oauth = merge(
        &CrmConnection::default(),
        ConnectionInput {
            kind: CrmKind::Superoffice,
            base_url: Some("https://online.superoffice.com".into()),
            customer_id: Some("Cust12345".into()),
            auth: Some(AuthKind::Oauth),
            app_token: Some("APP-secret-2".into()),
            refresh_token: Some("RT-secret-3".into()),
            ..ConnectionInput::default()
        },
    );
    assert!(oauth.validate().is_err(), "no client id");
    let oauth = CrmConnection {
        settings: gateway_reference::crm::connections::SignInSettings {
            client_id: Some("cid".into()),
            ..Default::default()
        },
        ..oauth
    };
    oauth.validate().unwrap();
    let view = serde_json::to_string(&ConnectionView::of(&oauth)).unwrap();
    assert!(!view.contains("RT-secret-3") && !format!("{oauth:?}").contains("RT-secret-3"));
    assert!(view.contains("\"refreshTokenSet\":true"), "{view}");
}
