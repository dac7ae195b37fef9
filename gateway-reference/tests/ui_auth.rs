//! The Identity Manager's sign-in and protections over HTTP, against the gateway's real
//! router (and, for the first start, the real binary): the sign-in form with its CSRF
//! cookie, wrong passwords, the per-name lockout, sign-out, CSRF and cross-site refusals,
//! security headers, `__Host-` cookies behind HTTPS and tenant isolation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::Router;
use common::ui::{Reply, get, send};
use gateway_reference::app::Gateway;
use gateway_reference::config::{Config, Partial};
use gateway_reference::tenants;
use gateway_reference::ui::accounts::{self, Access};
use gateway_reference::ui::session;

const PUBLIC: &str = "http://gw.example.test";
const PASSWORD: &str = "correct horse battery";

async fn open(dir: &std::path::Path, public: &str) -> (Gateway, Router) {
    let partial = Partial {
        data_dir: Some(dir.to_path_buf()),
        ..Partial::default()
    };
    let config = Config::resolve(partial, None, |_| None).unwrap();
    let gw = Gateway::open(&config).await.unwrap();
    let router = gw.router(public).unwrap();
    (gw, router)
}

/// A browser's same-origin form post.
async fn post(app: &Router, uri: &str, cookie: &str, form: &[(&str, &str)]) -> Reply {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let req = http::Request::builder()
        .method("POST")
        .uri(uri)
        .header("cookie", cookie)
        .header("origin", PUBLIC)
        .header("sec-fetch-site", "same-origin");
    send(app, req, Some(body)).await
}

/// Fills in the sign-in form as a browser does.
async fn sign_in(app: &Router, name: &str, password: &str) -> Reply {
    let form = get(app, "/ui/signin?next=/ui/", None).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let cookie = form.cookie_pair("gw_signin");
    let csrf = form.csrf();
    post(
        app,
        "/ui/signin",
        &cookie,
        &[
            ("csrf", &csrf),
            ("next", "/ui/"),
            ("user_name", name),
            ("password", password),
        ],
    )
    .await
}

#[tokio::test]
async fn sign_in_failures_lockout_and_sign_out() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, app) = open(dir.path(), PUBLIC).await;
    gw.first_start().await.unwrap();
    accounts::create(gw.db(), "ada", Some(PASSWORD), Access::All, "test")
        .await
        .unwrap();

    // Security headers on the form.
    let form = get(&app, "/ui/signin", None).await;
    let csp = form.header("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert_eq!(form.header("cache-control"), "no-store");
    assert_eq!(form.header("x-frame-options"), "DENY");
    assert_eq!(form.header("x-content-type-options"), "nosniff");

    // Success: 303 and an HttpOnly, SameSite=Lax session cookie (not Secure over http).
    let ok = sign_in(&app, "ADA", PASSWORD).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let set = ok.set_cookie("gw_session").unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "{set}");
    let session = ok.cookie_pair("gw_session");
    let page = get(&app, "/ui/", Some(&session)).await;
    assert_eq!(page.status, 303, "one tenant: straight to it");
    assert_eq!(page.header("location"), "/ui/t/demo/configurations");

    // Wrong password and unknown name: the same 401 page, naming neither part.
    let wrong = sign_in(&app, "ada", "not the password!").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("The name or the password is wrong."));
    assert!(wrong.set_cookie("gw_session").is_none());
    let unknown = sign_in(&app, "nobody", "not the password!").await;
    assert_eq!(unknown.status, 401);
    assert!(unknown.body.contains("The name or the password is wrong."));

    // The 6th failure for a name (with the right password even) is 429 with Retry-After.
    for _ in 0..4 {
        assert_eq!(sign_in(&app, "Ada", "still not it!!").await.status, 401);
    }
    let locked = sign_in(&app, "ada", PASSWORD).await;
    assert_eq!(locked.status, 429, "{}", locked.body);
    let retry: u64 = locked.header("retry-after").parse().unwrap();
    assert!(retry > 0 && retry <= 15 * 60, "{retry}");
    assert!(locked.set_cookie("gw_session").is_none());

    // CSRF: the session's own form works; a post without the token, from a foreign origin
    // or marked cross-site by the browser does not.
    let tenants_page = get(&app, "/ui/t/demo", Some(&session)).await;
    assert_eq!(tenants_page.status, 303);
    let csrf = session::csrf_token(session.split_once('=').unwrap().1);
    let no_token = post(&app, "/ui/signout", &session, &[]).await;
    assert_eq!(no_token.status, 403, "{}", no_token.body);
    let wrong_token = post(&app, "/ui/signout", &session, &[("csrf", "0000")]).await;
    assert_eq!(wrong_token.status, 403);
    let foreign = send(
        &app,
        http::Request::builder()
            .method("POST")
            .uri("/ui/signout")
            .header("cookie", &session)
            .header("origin", "https://evil.example"),
        Some(format!("csrf={csrf}")),
    )
    .await;
    assert_eq!(foreign.status, 403, "{}", foreign.body);
    let cross = send(
        &app,
        http::Request::builder()
            .method("POST")
            .uri("/ui/signout")
            .header("cookie", &session)
            .header("sec-fetch-site", "cross-site"),
        Some(format!("csrf={csrf}")),
    )
    .await;
    assert_eq!(cross.status, 403, "{}", cross.body);
    // Still signed in after all of those.
    assert_eq!(get(&app, "/ui/", Some(&session)).await.status, 303);
    assert_eq!(
        get(&app, "/ui/", Some(&session)).await.header("location"),
        "/ui/t/demo/configurations"
    );

    // Sign-out ends the session: the old cookie is sent to the sign-in page.
    let out = post(&app, "/ui/signout", &session, &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303, "{}", out.body);
    assert_eq!(out.header("location"), "/ui/signin");
    assert!(out.set_cookie("gw_session").unwrap().contains("Max-Age=0"));
    let after = get(&app, "/ui/", Some(&session)).await;
    assert_eq!(after.status, 303);
    assert!(after.header("location").starts_with("/ui/signin"));
}

/// A script's request (`fetch` with the session's CSRF token in `X-CSRF-Token`, no form).
async fn post_with_header(app: &Router, uri: &str, cookie: &str, token: &str) -> Reply {
    let req = http::Request::builder()
        .method("POST")
        .uri(uri)
        .header("cookie", cookie)
        .header("origin", PUBLIC)
        .header("sec-fetch-site", "same-origin")
        .header("x-csrf-token", token);
    send(app, req, None).await
}

#[tokio::test]
async fn scripts_may_send_the_csrf_token_in_a_header() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, app) = open(dir.path(), PUBLIC).await;
    gw.first_start().await.unwrap();
    let a = accounts::create(gw.db(), "ada", Some(PASSWORD), Access::All, "test")
        .await
        .unwrap();
    let token = session::create(gw.db(), a.id).await.unwrap();
    let cookie = format!("gw_session={token}");
    let signed_in = |r: Reply| r.status == 303 && r.location() == "/ui/t/demo/configurations";

    // A wrong header is refused even with the right token in a form field.
    let wrong = post_with_header(&app, "/ui/signout", &cookie, "0000").await;
    assert_eq!(wrong.status, 403, "{}", wrong.body);
    let other_session = post_with_header(
        &app,
        "/ui/signout",
        &cookie,
        &session::csrf_token("another session"),
    )
    .await;
    assert_eq!(other_session.status, 403, "{}", other_session.body);
    let mixed = send(
        &app,
        http::Request::builder()
            .method("POST")
            .uri("/ui/signout")
            .header("cookie", &cookie)
            .header("origin", PUBLIC)
            .header("sec-fetch-site", "same-origin")
            .header("x-csrf-token", "0000"),
        Some(format!("csrf={}", session::csrf_token(&token))),
    )
    .await;
    assert_eq!(mixed.status, 403, "{}", mixed.body);
    assert!(signed_in(get(&app, "/ui/", Some(&cookie)).await));

    // The right header alone (no form body) passes: the sign-out happens.
    let ok = post_with_header(&app, "/ui/signout", &cookie, &session::csrf_token(&token)).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(ok.location(), "/ui/signin");
    assert!(!signed_in(get(&app, "/ui/", Some(&cookie)).await));
    assert!(session::load(gw.db(), &token).await.unwrap().is_none());
}

#[tokio::test]
async fn https_gateways_use_host_prefixed_secure_cookies() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, app) = open(dir.path(), "https://gw.example.test").await;
    accounts::create(gw.db(), "ada", Some(PASSWORD), Access::All, "test")
        .await
        .unwrap();
    let form = get(&app, "/ui/signin", None).await;
    assert!(form.set_cookie("gw_signin").unwrap().contains("Secure"));
    assert!(
        form.header("strict-transport-security")
            .starts_with("max-age=")
    );
    let cookie = form.cookie_pair("gw_signin");
    let csrf = form.csrf();
    let req = http::Request::builder()
        .method("POST")
        .uri("/ui/signin")
        .header("cookie", &cookie)
        .header("origin", "https://gw.example.test")
        .header("sec-fetch-site", "same-origin");
    let body = format!(
        "csrf={csrf}&next=%2Fui%2F&user_name=ada&password={}",
        PASSWORD.replace(' ', "+")
    );
    let ok = send(&app, req, Some(body)).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let set = ok.set_cookie("__Host-gw_session").unwrap();
    assert!(set.contains("; Secure") && set.contains("Path=/"), "{set}");
    assert!(!set.contains("Domain="), "{set}");
    assert!(ok.set_cookie("gw_session").is_none());
    // The plain name is not accepted in its place.
    let token = ok.cookie_pair("__Host-gw_session");
    let plain = format!("gw_session={}", token.split_once('=').unwrap().1);
    assert!(
        get(&app, "/ui/", Some(&plain))
            .await
            .header("location")
            .starts_with("/ui/signin")
    );
    assert!(
        !get(&app, "/ui/", Some(&token))
            .await
            .header("location")
            .starts_with("/ui/signin")
    );
}

#[tokio::test]
async fn an_account_limited_to_tenants_sees_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, app) = open(dir.path(), PUBLIC).await;
    let db = gw.db();
    for t in ["acme", "globex", "initech"] {
        tenants::create(db, t).await.unwrap();
    }
    let a = accounts::create(
        db,
        "ops",
        Some(PASSWORD),
        Access::Tenants(vec!["acme".into(), "initech".into()]),
        "test",
    )
    .await
    .unwrap();
    let cookie = format!("gw_session={}", session::create(db, a.id).await.unwrap());
    let home = get(&app, "/ui/", Some(&cookie)).await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home.body.contains("acme") && home.body.contains("initech"));
    assert!(!home.body.contains("globex"), "{}", home.body);
    let own = get(&app, "/ui/t/acme", Some(&cookie)).await;
    assert_eq!(own.status, 303);
    let other = get(&app, "/ui/t/globex", Some(&cookie)).await;
    assert_eq!(other.status, 404, "{}", other.body);
    let missing = get(&app, "/ui/t/nonexistent", Some(&cookie)).await;
    assert_eq!(missing.status, 404);
    // Another tenant answers exactly as a tenant that does not exist.
    assert_eq!(
        other.body.replace("globex", "X"),
        missing.body.replace("nonexistent", "X")
    );
}

#[tokio::test]
async fn the_first_start_prints_an_administrator_who_can_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::dir_arg(dir.path());
    let gw = common::Gateway::start(&["--data-dir", &data]).await;
    let name = gw.printed("Name:").expect("the first administrator's name");
    let password = gw.printed("Password:").expect("its password");
    assert_eq!(name, "admin");
    let base = &gw.base;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = Reply::of(http.get(format!("{base}/ui/signin")).send().await.unwrap()).await;
    let signed_in = Reply::of(
        http.post(format!("{base}/ui/signin"))
            .header("cookie", form.cookie_pair("gw_signin"))
            .header("origin", base)
            .header("sec-fetch-site", "same-origin")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                form_urlencoded::Serializer::new(String::new())
                    .extend_pairs([
                        ("csrf", form.csrf().as_str()),
                        ("next", "/ui/"),
                        ("user_name", name.as_str()),
                        ("password", password.as_str()),
                    ])
                    .finish(),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let home = Reply::of(
        http.get(format!("{base}/ui/"))
            .header("cookie", signed_in.cookie_pair("gw_session"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(home.location(), "/ui/t/demo/configurations");
    // The second start prints no new administrator. (Killed, not stopped: graceful
    // shutdown is tested in gateway_process.rs.)
    let mut gw = gw;
    gw.child.kill().await.unwrap();
    let mut again = common::Gateway::start(&["--data-dir", &data]).await;
    assert!(again.printed("Password:").is_none(), "{:?}", again.banner);
    again.child.kill().await.unwrap();
}
