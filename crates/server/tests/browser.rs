//! The web pages in real headless Chromium, driven over WebDriver (Debian's `chromium`
//! and `chromium-driver`): an owner signs up and in, a TV starts watching at home, a
//! phone abroad is asked to verify and does so with the e-mailed code from the dev
//! mailbox, a tablet verifies later, "this wasn't me", sign out of all devices, the
//! message checker on a fake "payment failed" text, and an analyst finds the flagged
//! account. With `HEARTH_SCREENSHOTS=docs/screenshots` (relative to the repository)
//! it saves a screenshot of each main page there.
//!
//! Waits are explicit: for an element of the next page, never for a fixed time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hearth_server::testkit::TestServer;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "Correct-Horse-7-Battery";
const OWNER: &str = "ana@example.com";
/// Generous: CI shares two cores between Chromium, the server and the compiler.
const WAIT: Duration = Duration::from_secs(60);

fn tool(var: &str, default: &str, package: &str) -> PathBuf {
    let path = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    if !path.exists() {
        panic!(
            "{} not found: the browser tests need Debian's {package}. Install it with \
             `apt-get install -y chromium chromium-driver` (CI's .ci/run does), or point {var} at it.",
            path.display()
        );
    }
    path
}

/// chromedriver on a free loopback port, stopped when dropped.
struct Driver {
    child: Child,
    port: u16,
    profile: PathBuf,
}

impl Driver {
    fn start() -> Driver {
        let exe = tool(
            "HEARTH_CHROMEDRIVER",
            "/usr/bin/chromedriver",
            "chromium-driver",
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(exe)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile =
            std::env::temp_dir().join(format!("hearth-chromium-{}-{port}", std::process::id()));
        Driver {
            child,
            port,
            profile,
        }
    }

    /// Waits for chromedriver to listen, then opens a Chromium session.
    async fn connect(&self) -> Client {
        let chromium = tool("HEARTH_CHROMIUM", "/usr/bin/chromium", "chromium");
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not start listening"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let caps = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--lang=en-US", "--window-size=1200,1000",
                    format!("--user-data-dir={}", self.profile.display()),
                ],
                "prefs": {"intl.accept_languages": "en-US,en"},
            },
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a Chromium session from chromedriver")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // A test that fails before closing its session leaves Chromium running once
        // chromedriver is gone: end the processes of this run's own profile, by id.
        let mark = format!("--user-data-dir={}", self.profile.display());
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            if String::from_utf8_lossy(&cmdline)
                .split('\0')
                .any(|arg| arg == mark)
            {
                let _ = Command::new("kill").arg(pid.to_string()).status();
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// The browser with the server's address and the helpers the scenario uses.
struct Page {
    c: Client,
    base: String,
    shots: Option<PathBuf>,
}

impl Page {
    async fn open(&self, path: &str, expect: &str) -> Element {
        self.c.goto(&format!("{}{path}", self.base)).await.unwrap();
        self.wait(expect).await
    }

    async fn wait(&self, css: &str) -> Element {
        match self
            .c
            .wait()
            .at_most(WAIT)
            .every(Duration::from_millis(100))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(e) => {
                let url = self.c.current_url().await.map(|u| u.to_string());
                let src = self.c.source().await.unwrap_or_default();
                panic!("no {css} on {url:?}: {e}\n{src}")
            }
        }
    }

    async fn fill(&self, css: &str, text: &str) {
        let e = self.wait(css).await;
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    async fn select(&self, css: &str, value: &str) {
        self.wait(css).await.select_by_value(value).await.unwrap();
    }

    async fn text(&self, css: &str) -> String {
        self.wait(css).await.text().await.unwrap()
    }

    /// Clicks, waits for the page to be replaced, then for `expect` on the new one.
    async fn submit(&self, click: &str, expect: &str) -> Element {
        let target = self.wait(click).await;
        self.click_through(target, expect).await
    }

    /// Clicks `target`, waits for the page to be replaced, then for `expect`.
    async fn click_through(&self, target: Element, expect: &str) -> Element {
        let old = self.c.find(Locator::Css("html")).await.unwrap();
        target.click().await.unwrap();
        let deadline = Instant::now() + WAIT;
        while old.tag_name().await.is_ok() {
            assert!(Instant::now() < deadline, "the click loaded no page");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.wait(expect).await
    }

    async fn shot(&self, name: &str) {
        if let Some(dir) = &self.shots {
            let png = self.c.screenshot().await.unwrap();
            std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
        }
    }

    /// The newest code of `purpose` sent by `channel` in the dev mailbox (the courier delivers on its
    /// next poll, so the page is looked at again until it is there).
    async fn mailbox_code(&self, channel: &str, purpose: &str) -> String {
        let deadline = Instant::now() + WAIT;
        let css = format!(".mail-{channel}[data-purpose='{purpose}'] pre");
        loop {
            self.open("/dev/mailbox", "#mails").await;
            if let Ok(newest) = self.c.find(Locator::Css(&css)).await {
                let body = newest.text().await.unwrap();
                if let Some(code) = body
                    .split(|ch: char| !ch.is_ascii_digit())
                    .find(|w| w.len() == 6)
                {
                    return code.to_owned();
                }
            }
            assert!(
                Instant::now() < deadline,
                "no {purpose} code reached the dev mailbox"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The device view: sign in as a new device of `kind` at `place`.
    async fn device_sign_in(&self, kind: &str, name: &str, place: &str) {
        self.open("/device", "#device-sign-in, #switch-device")
            .await;
        if self.c.find(Locator::Css("#switch-device")).await.is_ok() {
            self.submit("#switch-device", "#device-sign-in").await;
        }
        self.fill("#device-sign-in #email", OWNER).await;
        self.fill("#device-sign-in #password", PASSWORD).await;
        self.select("#device_type", kind).await;
        self.fill("#device_name", name).await;
        self.select("#device-sign-in #place", place).await;
        self.submit("#device-sign-in button[type=submit]", "#watch")
            .await;
    }

    /// "Start watching" at `place`; the decision's outcome class and its text.
    async fn watch(&self, place: &str) -> (String, String) {
        self.select("#watch-form #place", place).await;
        let d = self.submit("#watch", "#decision").await;
        let class = d.attr("class").await.unwrap().unwrap_or_default();
        (class, d.text().await.unwrap())
    }
}

fn screenshot_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("HEARTH_SCREENSHOTS")?;
    let dir = PathBuf::from(dir);
    // Relative to the repository, whatever folder cargo runs the test from.
    let dir = if dir.is_absolute() {
        dir
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(dir)
    };
    std::fs::create_dir_all(&dir).unwrap();
    Some(dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_devices_verification_checker_and_analyst_in_chromium() {
    let driver = Driver::start();
    let s = TestServer::start(|_| {}).await;
    let analyst_password = s
        .app
        .ensure_admin("analyst@example.com")
        .await
        .unwrap()
        .unwrap();
    // The living demo: a simulated population with shared and resold accounts.
    let demo = s.app.seed_demo().await.unwrap();
    assert!(demo.flagged_accounts > 0, "{demo:?}");
    let c = driver.connect().await;
    let p = Page {
        c,
        base: s.url(""),
        shots: screenshot_dir(),
    };

    // Sign up, with a recovery phone so that a text code is possible.
    p.open("/sign-up", "#sign-up").await;
    p.fill("#email", OWNER).await;
    p.fill("#password", PASSWORD).await;
    p.fill("#phone", "+351912345678").await;
    p.shot("sign-up").await;
    p.submit("#sign-up button[type=submit]", "#sign-in").await;
    assert!(p.text(".flash").await.contains("Account created"));

    // Sign in: the check-up says what to fix first.
    p.fill("#email", OWNER).await;
    p.fill("#password", PASSWORD).await;
    p.submit("#sign-in button[type=submit]", "#checkup").await;
    let headline = p.text("#fix-first").await;
    assert!(!headline.is_empty());
    p.shot("check-up").await;

    // A TV signs in at home in Lisbon and watches.
    p.device_sign_in("tv", "Living-room TV", "lisbon").await;
    let (outcome, text) = p.watch("lisbon").await;
    assert!(outcome.contains("decision-allow"), "{outcome}: {text}");

    // A phone signs in from another country: asked to verify, with the three choices.
    p.device_sign_in("mobile", "Rui's phone", "paris").await;
    let (outcome, text) = p.watch("paris").await;
    assert!(outcome.contains("decision-verify"), "{outcome}: {text}");
    for (id, label) in [
        ("#choose-email", "Email code"),
        ("#choose-sms", "Text code"),
        ("#choose-later", "Verify later"),
    ] {
        let b = p.wait(id).await;
        assert_eq!(b.text().await.unwrap(), label);
        assert!(b.is_enabled().await.unwrap(), "{label} is offered");
    }
    p.shot("device-verify").await;

    // Email code: the owner reads it in the dev mailbox (another tab) and types it.
    let sent = p.submit("#choose-email", "#code-form").await;
    assert!(sent.text().await.unwrap().contains("a•••@example.com"));
    let device_tab = p.c.window().await.unwrap();
    let mail_tab = p.c.new_window(true).await.unwrap().handle;
    p.c.switch_to_window(mail_tab).await.unwrap();
    let code = p.mailbox_code("email", "device_verification").await;
    p.shot("dev-mailbox").await;
    p.c.close_window().await.unwrap();
    p.c.switch_to_window(device_tab).await.unwrap();
    p.fill("#code", &code).await;
    let notice = p
        .submit("#code-form button[type=submit]", "#device-notice")
        .await;
    assert!(notice.text().await.unwrap().contains("verified"));
    let (outcome, text) = p.watch("paris").await;
    assert!(outcome.contains("decision-allow"), "after the code: {text}");

    // The owner makes a one-time sign-in code; a family member's console signs in
    // with it instead of the password, and may watch away from home.
    p.open("/account/sign-in-code", "#make-code").await;
    let code = p
        .submit("#make-code button[type=submit]", "#sign-in-code")
        .await
        .text()
        .await
        .unwrap();
    assert!(code.chars().all(|c| c.is_ascii_digit()) && code.len() >= 6);
    p.shot("sign-in-code").await;
    p.open("/device", "#switch-device").await;
    p.submit("#switch-device", "#device-sign-in").await;
    p.fill("#device-sign-in #email", OWNER).await;
    p.fill("#device-sign-in #password", &code).await;
    p.select("#device_type", "console").await;
    p.fill("#device_name", "Grandma's console").await;
    p.select("#device-sign-in #place", "porto").await;
    p.submit("#device-sign-in button[type=submit]", "#watch")
        .await;
    let (outcome, text) = p.watch("porto").await;
    assert!(
        outcome.contains("decision-allow"),
        "signed in by code: {text}"
    );

    // A household phone, seen at home, takes a travel pass with a texted code.
    p.device_sign_in("mobile", "Ana's phone", "lisbon").await;
    let (outcome, text) = p.watch("lisbon").await;
    assert!(
        outcome.contains("decision-allow"),
        "a phone at home: {text}"
    );
    p.submit("#travel-form button[value=sms]", "#code-form")
        .await;
    let travel_tab = p.c.window().await.unwrap();
    let mail_tab = p.c.new_window(true).await.unwrap().handle;
    p.c.switch_to_window(mail_tab).await.unwrap();
    let code = p.mailbox_code("sms", "travel_pass").await;
    p.c.close_window().await.unwrap();
    p.c.switch_to_window(travel_tab).await.unwrap();
    p.fill("#code", &code).await;
    let notice = p
        .submit("#code-form button[type=submit]", "#device-notice")
        .await;
    assert!(notice.text().await.unwrap().contains("Travel pass started"));
    let (outcome, text) = p.watch("madrid").await;
    assert!(outcome.contains("decision-allow"), "travelling: {text}");

    // A tablet in London chooses "verify later" and may watch for now.
    p.device_sign_in("tablet", "Travel tablet", "london").await;
    let (outcome, _) = p.watch("london").await;
    assert!(outcome.contains("decision-verify"));
    let notice = p.submit("#choose-later", "#device-notice").await;
    assert!(notice.text().await.unwrap().contains("keep watching"));
    let (outcome, text) = p.watch("london").await;
    assert!(outcome.contains("decision-allow"), "deferred: {text}");

    // The owner's device list: every device with its standing.
    p.open("/account/devices", "#devices").await;
    let list = p.text("#devices").await;
    for name in [
        "Living-room TV",
        "Rui's phone",
        "Travel tablet",
        "Grandma's console",
    ] {
        assert!(list.contains(name), "{name} in {list}");
    }
    assert!(list.contains("Verified"), "{list}");
    assert!(list.contains("Verify later"), "{list}");
    p.shot("devices").await;

    // "This wasn't me" on the tablet: signed out and the account flagged.
    let tablet = p
        .c
        .find(Locator::XPath(
            "//li[contains(@class,'device')][.//h2[contains(.,'Travel tablet')]]//form[contains(@action,'/not-me')]//button",
        ))
        .await
        .unwrap();
    let flash = p.click_through(tablet, ".flash").await;
    assert!(flash.text().await.unwrap().contains("signed out"));
    assert!(!p.text("#devices").await.contains("Travel tablet"));

    // Sign out of all other devices: only this browser is left, the devices must sign in again.
    p.submit("#sign-out-all button[type=submit]", ".flash")
        .await;
    assert_eq!(
        p.c.find_all(Locator::Css("#devices .device"))
            .await
            .unwrap()
            .len(),
        1
    );
    p.open("/device", "#device-sign-in").await;

    // The message checker on a fake "payment failed" text.
    p.open("/check", "#check-form").await;
    p.fill(
        "#text",
        "NETFLIX: your payment failed and your account will be suspended within 24h. \
         Update your billing details now: http://netflix-billing-update.top/login",
    )
    .await;
    p.fill("#sender", "+447700900123").await;
    let verdict = p
        .submit("#check-form button[type=submit]", "#verdict")
        .await;
    assert_eq!(
        verdict.attr("data-verdict").await.unwrap().as_deref(),
        Some("phishing")
    );
    let why = p.text("#why").await;
    assert!(why.contains("payment failed"), "{why}");
    assert!(p
        .text("#links")
        .await
        .contains("netflix-billing-update.top"));
    assert!(!p.text("#guidance").await.is_empty());
    p.shot("check-message").await;
    // Reported: it joins the analysts' campaigns.
    p.submit("#report-form button[type=submit]", "#reported")
        .await;

    // The same page in French, then back.
    p.submit("a[hreflang=fr]", "#check-form").await;
    assert_eq!(
        p.c.find(Locator::Css("html"))
            .await
            .unwrap()
            .attr("lang")
            .await
            .unwrap()
            .as_deref(),
        Some("fr")
    );
    assert!(p.text("h1").await.contains("Vérifier"));
    p.submit("a[hreflang=en]", "#check-form").await;

    // On a phone-sized screen the check-up still reads.
    p.c.set_window_size(390, 844).await.unwrap();
    p.open("/account", "#checkup").await;
    p.shot("check-up-phone").await;
    p.c.set_window_size(1200, 1000).await.unwrap();

    // An analyst signs in and finds the flagged account.
    p.submit("form[action='/sign-out'] button", "#sign-in")
        .await;
    p.fill("#email", "analyst@example.com").await;
    p.fill("#password", &analyst_password).await;
    p.submit("#sign-in button[type=submit]", "#checkup").await;
    p.open("/admin", "#flagged").await;
    let flagged = p.text("#flagged").await;
    assert!(flagged.contains(OWNER), "{flagged}");
    assert!(flagged.contains("this wasn't me"), "{flagged}");
    // The demo's resold account heads the queue, with its evidence.
    let first = p.text("#ranked tbody tr").await;
    assert!(first.contains("Resold"), "{first}");
    p.shot("analysts").await;
    p.submit("#ranked tbody tr a", "#evidence-chart").await;
    assert_eq!(p.text("#account-verdict").await, "Resold");
    let chart = p.wait("#evidence-chart").await.html(false).await.unwrap();
    assert!(chart.contains("foreign devices (30 days)"), "{chart}");
    p.shot("analysts-account").await;
    // The reported text forms a phishing campaign, with the message as a sample.
    p.open("/admin", "#campaigns").await;
    let ours =
        p.c.find(Locator::XPath(
            "//table[@id='campaigns']//tr[td[contains(.,'netflix-billing-update.top')]]//a",
        ))
        .await
        .unwrap();
    p.click_through(ours, "#samples").await;
    let samples = p.text("#samples").await;
    assert!(samples.contains("netflix-billing-update.top"), "{samples}");
    p.shot("analysts-campaign").await;

    p.c.close().await.unwrap();
    drop(driver);
    s.stop().await;
}
