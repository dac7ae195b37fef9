//! The Identity Manager in a real browser: Debian's headless Chromium driven through
//! `chromedriver` (WebDriver) by [fantoccini], against the real `scim-gateway` binary on a
//! temporary data directory.
//!
//! Without Chromium or chromedriver the tests skip, unless `SCIM_REQUIRE_BROWSER=1` (set by
//! scripts/test.sh), then they fail. `SCIM_TEST_CHROMIUM` and `SCIM_TEST_CHROMEDRIVER` name
//! other binaries than `/usr/bin/chromium` and `/usr/bin/chromedriver`.
//!
//! One test at a time per test binary ([`Ui::start`] holds a lock until the [`Ui`] is dropped):
//! each test has its own chromedriver, browser profile and gateway, and two Chromiums at once
//! would overload a small CI machine.
//!
//! Accessibility: [`Ui::axe`] runs axe-core (vendored in `vendor/`, test-only) on the current
//! page. The gateway's Content-Security-Policy (`script-src 'self'`) forbids inline scripts, so
//! axe cannot be added to the page as a `<script>` element; WebDriver's Execute Script runs its
//! body through the DevTools protocol, which Chromium does not subject to the page's CSP, so the
//! library's source is run as the body of the script (it defines `window.axe`), and
//! `axe.run` is then awaited with Execute Async Script.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tokio::sync::{Mutex, MutexGuard};

#[path = "../common/mod.rs"]
pub mod common;

/// axe-core, run in the page by [`Ui::axe`].
const AXE: &str = include_str!("vendor/axe.min.js");

/// The rule sets the pages must pass: WCAG 2.0/2.1 A and AA, and axe's best practices.
const AXE_RULES: &str = "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']";

/// One browser test at a time in a test binary.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// `(chromium, chromedriver)`, or `None` to skip (panics if `SCIM_REQUIRE_BROWSER=1`).
pub fn browser_binaries() -> Option<(PathBuf, PathBuf)> {
    let pick = |var: &str, default: &str| {
        std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .map_or_else(|| PathBuf::from(default), PathBuf::from)
    };
    let chromium = pick("SCIM_TEST_CHROMIUM", "/usr/bin/chromium");
    let driver = pick("SCIM_TEST_CHROMEDRIVER", "/usr/bin/chromedriver");
    let missing: Vec<_> = [&chromium, &driver]
        .into_iter()
        .filter(|p| !p.is_file())
        .map(|p| p.display().to_string())
        .collect();
    if missing.is_empty() {
        return Some((chromium, driver));
    }
    assert!(
        std::env::var("SCIM_REQUIRE_BROWSER").map_or(true, |v| v != "1"),
        "SCIM_REQUIRE_BROWSER=1 but {missing:?} not found (apt-get install chromium chromium-driver)"
    );
    eprintln!(
        "skipped: {missing:?} not found; install chromium and chromium-driver (Debian) to run \
         the browser tests"
    );
    None
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Where [`Ui::screenshot`] saves its PNGs: `target/ui-screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("ui-screenshots")
}

/// A `chromedriver` in its own process group; dropping it kills the group (the driver and the
/// Chromium it started).
struct Driver {
    child: std::process::Child,
    url: String,
}

impl Driver {
    async fn start(path: &Path) -> Driver {
        use std::os::unix::process::CommandExt;
        let port = free_port();
        let child = std::process::Command::new(path)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("spawn chromedriver");
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return driver;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("chromedriver did not listen on port {port} in 10 s");
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &group])
            .status();
        let _ = self.child.wait();
    }
}

/// A running `scim-gateway serve` on a temporary data directory, and the first administrator
/// it printed.
pub struct Gateway {
    /// The process ([`common::Gateway`]).
    process: common::Gateway,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The data directory (`gateway.db`, `scim.db`).
    pub data: tempfile::TempDir,
    /// The first administrator's name (`admin`).
    pub admin_name: String,
    /// The first administrator's password, as printed once on the first start.
    pub admin_password: String,
    /// The `demo` tenant's Secret Token, as printed once on the first start.
    pub scim_token: String,
}

impl Gateway {
    /// Starts the gateway on a free port and reads its first-start output.
    pub async fn start() -> Gateway {
        let data = tempfile::tempdir().unwrap();
        let process = common::Gateway::start(&["--data-dir", &common::dir_arg(data.path())]).await;
        let printed = |label: &str| {
            process.printed(label).unwrap_or_else(|| {
                panic!(
                    "no {label} for the first administrator: {:#?}",
                    process.banner
                )
            })
        };
        Gateway {
            admin_name: printed("Name:"),
            admin_password: printed("Password:"),
            scim_token: printed("Secret Token:"),
            base: process.base.clone(),
            process,
            data,
        }
    }

    /// `ARGS --data-dir DATA`.
    fn with_data_dir<'a>(&self, args: &[&'a str], dir: &'a str) -> Vec<&'a str> {
        args.iter().copied().chain(["--data-dir", dir]).collect()
    }

    /// Runs `scim-gateway ARGS --data-dir DATA` (e.g. `tenant create other`) and returns its
    /// standard output; panics when it fails.
    pub async fn cli(&self, args: &[&str]) -> String {
        let dir = common::dir_arg(self.data.path());
        common::cli(&self.with_data_dir(args, &dir)).await
    }

    /// Creates an Identity Manager account for `tenants` as an operator does:
    /// `admin create NAME --tenant T… --password-stdin`.
    pub async fn create_account(&self, name: &str, password: &str, tenants: &[&str]) {
        let dir = common::dir_arg(self.data.path());
        let mut args = vec!["admin", "create", name, "--password-stdin"];
        for &t in tenants {
            args.extend(["--tenant", t]);
        }
        let (ok, _, err) = common::cli_status_with_input(
            &self.with_data_dir(&args, &dir),
            Some(&format!("{password}\n")),
        )
        .await;
        assert!(ok, "admin create {name}: {err}");
    }
}

/// A browser session on a gateway: what a test drives.
pub struct Ui {
    /// The WebDriver session.
    pub client: Client,
    /// The gateway under test.
    pub gateway: Gateway,
    _driver: Driver,
    _profile: tempfile::TempDir,
    _lock: MutexGuard<'static, ()>,
}

impl Ui {
    /// A fresh gateway and a fresh headless Chromium (1400x900), or `None` when the browser is
    /// not installed (see [`browser_binaries`]).
    pub async fn start() -> Option<Ui> {
        let (chromium, driver_path) = browser_binaries()?;
        let lock = ONE_AT_A_TIME.lock().await;
        let gateway = Gateway::start().await;
        let driver = Driver::start(&driver_path).await;
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-default-apps".into(),
            "--window-size=1400,900".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .expect("a WebDriver session in Chromium");
        Some(Ui {
            client,
            gateway,
            _driver: driver,
            _profile: profile,
            _lock: lock,
        })
    }

    /// The gateway's URL for `path` (`/ui/...`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.gateway.base)
    }

    /// Opens `path` of the gateway.
    pub async fn goto(&self, path: &str) {
        self.client.goto(&self.url(path)).await.expect("navigate");
    }

    /// The current URL's path.
    pub async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_string()
    }

    /// The `<h1>`'s text.
    pub async fn heading(&self) -> String {
        self.find("h1").await.text().await.unwrap()
    }

    /// The element `css` selects (waits for it up to the session's default).
    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} on the page: {e}"))
    }

    /// The form control labelled `label` (a `<label for=ID>` with that text), as a user finds it.
    pub async fn field(&self, label: &str) -> Element {
        let xpath = format!("//label[normalize-space()='{label}']");
        let label_el = self
            .client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no label {label:?}: {e}"));
        let id = label_el
            .attr("for")
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("the label {label:?} names no control"));
        self.client
            .find(Locator::Id(&id))
            .await
            .unwrap_or_else(|e| panic!("the label {label:?} names #{id}, which is missing: {e}"))
    }

    /// The button whose text is `text`.
    pub async fn button(&self, text: &str) -> Element {
        let xpath = format!("//button[normalize-space()='{text}']");
        self.client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no button {text:?}: {e}"))
    }

    /// Waits until the page's path is `path`.
    pub async fn wait_for_path(&self, path: &str) {
        for _ in 0..100 {
            if self.path().await == path {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("still on {} instead of {path}", self.path().await);
    }

    /// Signs in through the sign-in form: types `name` and `password` into the labelled
    /// fields and presses "Sign in" (the page that follows may be any).
    pub async fn sign_in_as(&self, name: &str, password: &str) {
        self.goto("/ui/signin").await;
        let field = self.field("Name").await;
        field.clear().await.unwrap();
        field.send_keys(name).await.unwrap();
        self.field("Password")
            .await
            .send_keys(password)
            .await
            .unwrap();
        let button = self.button("Sign in").await;
        self.click_and_load(&button).await;
    }

    /// Clicks `element` and waits until another document has loaded (the old one is gone).
    pub async fn click_and_load(&self, element: &Element) {
        let old = self.client.find(Locator::Css("html")).await.unwrap();
        element.click().await.unwrap();
        for _ in 0..200 {
            if old.tag_name().await.is_err() {
                let ready = self
                    .client
                    .execute("return document.readyState;", vec![])
                    .await
                    .unwrap();
                if ready == json!("complete") {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no new page loaded in 10 s after the click");
    }

    /// Signs in as the first administrator and waits to leave the sign-in page.
    pub async fn sign_in(&self) {
        let (name, password) = (
            self.gateway.admin_name.clone(),
            self.gateway.admin_password.clone(),
        );
        self.sign_in_as(&name, &password).await;
        for _ in 0..100 {
            if self.path().await != "/ui/signin" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("still on the sign-in page: {}", self.heading().await);
    }

    /// Saves a PNG of the viewport as `target/ui-screenshots/NAME.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        eprintln!("screenshot: {}", path.display());
        path
    }

    /// Runs axe-core on the current page and fails on any violation of impact serious or
    /// critical, listing each rule, its help and the nodes. Returns the minor and moderate ones
    /// (rule ids), which the caller may print.
    pub async fn axe(&self) -> Vec<String> {
        let page = self.client.current_url().await.unwrap();
        // The library, as the body of the script (see the module's doc on the CSP).
        let loaded = self
            .client
            .execute(&format!("{AXE}\n;return typeof window.axe;"), vec![])
            .await
            .expect("run axe-core in the page");
        assert_eq!(loaded, json!("object"), "axe-core did not load on {page}");
        let script = format!(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {{runOnly: {AXE_RULES}, resultTypes: ['violations']}})
               .then(r => done(r.violations.map(v => ({{
                   id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                   nodes: v.nodes.map(n => ({{target: n.target, summary: n.failureSummary}}))
               }}))))
               .catch(e => done({{error: String(e)}}));"
        );
        let result = self
            .client
            .execute_async(&script, vec![])
            .await
            .expect("axe.run");
        let Value::Array(violations) = result else {
            panic!("axe.run failed on {page}: {result}");
        };
        let mut serious = Vec::new();
        let mut minor = Vec::new();
        for v in &violations {
            let impact = v["impact"].as_str().unwrap_or("");
            if matches!(impact, "serious" | "critical") {
                let nodes: Vec<String> = v["nodes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|n| {
                        format!(
                            "    {} — {}",
                            n["target"],
                            n["summary"].as_str().unwrap_or("")
                        )
                    })
                    .collect();
                serious.push(format!(
                    "  [{impact}] {}: {} ({})\n{}",
                    v["id"].as_str().unwrap_or(""),
                    v["help"].as_str().unwrap_or(""),
                    v["helpUrl"].as_str().unwrap_or(""),
                    nodes.join("\n")
                ));
            } else {
                minor.push(format!("{} ({impact})", v["id"].as_str().unwrap_or("")));
            }
        }
        assert!(
            serious.is_empty(),
            "axe-core: serious or critical violations on {page}:\n{}",
            serious.join("\n")
        );
        if !minor.is_empty() {
            eprintln!("axe-core on {page}: minor/moderate: {minor:?}");
        }
        minor
    }

    /// Presses keys in the focused element (e.g. `Key::Tab.to_string()`).
    pub async fn press(&self, keys: &str) {
        self.client
            .active_element()
            .await
            .unwrap()
            .send_keys(keys)
            .await
            .unwrap();
    }

    /// What has the focus: `tag#id.class "text"`.
    pub async fn focused(&self) -> String {
        let v = self
            .client
            .execute(
                "const e = document.activeElement;
                 return e ? `${e.tagName.toLowerCase()}#${e.id}.${e.className} ${JSON.stringify((e.textContent || '').trim().slice(0, 40))}` : '';",
                vec![],
            )
            .await
            .unwrap();
        v.as_str().unwrap_or_default().to_string()
    }

    /// Chooses the option whose text is `text` in the select labelled `label`.
    pub async fn choose(&self, label: &str, text: &str) {
        self.field(label)
            .await
            .select_by_label(text)
            .await
            .unwrap_or_else(|e| panic!("no option {text:?} in {label:?}: {e}"));
    }

    /// Clicks the `<label>` whose text is `text` (a radio button or a checkbox inside it).
    pub async fn tick(&self, text: &str) {
        let xpath = format!("//label[normalize-space()='{text}']");
        self.client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no label {text:?}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// The first link whose text contains `text`.
    pub async fn link(&self, text: &str) -> Element {
        let xpath = format!("//a[contains(normalize-space(), '{text}')]");
        self.client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no link {text:?}: {e}"))
    }

    /// The text of the element `css` selects ("" when there is none).
    pub async fn text_of(&self, css: &str) -> String {
        match self.client.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Reloads `path` until the element `css` contains `text` (up to `seconds`).
    pub async fn wait_for_text(&self, path: &str, css: &str, text: &str, seconds: u64) {
        let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
        loop {
            self.goto(path).await;
            let now = self.text_of(css).await;
            if now.contains(text) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{css} on {path} never showed {text:?}; it shows {now:?}"
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Ends the WebDriver session (the browser exits), then the rest is dropped.
    pub async fn close(self) {
        let Ui { client, .. } = self;
        let _ = client.close().await;
    }
}
