//! The sandbox's approver page in a real Chromium, driven through WebDriver (chromedriver,
//! started here on a loopback port), with the `airlock` binary as the enforcer: sign in with
//! the one-time link, pair by typing the code `airlock pair` prints, see an `airlock approve`
//! request appear with its rows and approve it (exit 0), reject one with a reason (exit 1,
//! the reason printed), a post without the CSRF token refused, the page refused without the
//! session cookie, and no horizontal scrolling on a phone-sized window.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`scripts/install-browser.sh`, which
//! `cargo xtask test` runs first). Without them the test fails when `CI` is set and is
//! skipped with a message otherwise. On failure it saves a screenshot in the test target's
//! temporary directory and names it.

mod common;

use std::io::{BufRead as _, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use airlock_sandbox::{ApproverPolicy, SandboxConfig};
use common::Env;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// How long the page, the browser or the CLI may take for one step.
const STEP: Duration = Duration::from_secs(30);

type Outcome<T = ()> = Result<T, String>;

fn fail(what: &str) -> impl Fn(fantoccini::error::CmdError) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// `name` on `PATH`, or in `/usr/bin`.
fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// chromedriver on a free loopback port; returns it and its URL.
fn start_chromedriver(binary: &Path) -> Outcome<(Killed, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let child = Command::new(binary)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let driver = Killed(child);
    let deadline = Instant::now() + STEP;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err("chromedriver did not listen".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((driver, format!("http://127.0.0.1:{port}")))
}

/// A headless Chromium session with a fresh profile and no background network traffic.
async fn browser(driver_url: &str, chromium: &Path, profile: &Path) -> Outcome<Client> {
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1200,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(driver_url)
        .await
        .map_err(|e| format!("cannot start a Chromium session: {e}"))
}

/// A running `airlock` command with its stderr collected as it comes.
struct Cli {
    child: Killed,
    stderr: Arc<Mutex<String>>,
}

impl Cli {
    fn spawn(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn airlock");
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().expect("stderr");
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut all = sink.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
        });
        Self {
            child: Killed(child),
            stderr,
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until stderr has a line for which `pick` answers.
    async fn read<T>(&self, what: &str, pick: impl Fn(&str) -> Option<T>) -> Outcome<T> {
        let deadline = Instant::now() + STEP;
        loop {
            if let Some(found) = self.stderr().lines().find_map(&pick) {
                return Ok(found);
            }
            if Instant::now() > deadline {
                return Err(format!("airlock never printed {what}: {}", self.stderr()));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn running(&mut self) -> bool {
        matches!(self.child.0.try_wait(), Ok(None))
    }

    async fn exit(&mut self) -> Outcome<ExitStatus> {
        let deadline = Instant::now() + STEP;
        loop {
            if let Some(status) = self.child.0.try_wait().map_err(|e| e.to_string())? {
                // Let the reader thread take the last lines.
                tokio::time::sleep(Duration::from_millis(100)).await;
                return Ok(status);
            }
            if Instant::now() > deadline {
                return Err(format!("airlock did not exit: {}", self.stderr()));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn text(page: &Client, css: &str) -> Outcome<String> {
    page.wait()
        .at_most(STEP)
        .for_element(Locator::Css(css))
        .await
        .map_err(fail(css))?
        .text()
        .await
        .map_err(fail(css))
}

async fn click(page: &Client, css: &str) -> Outcome {
    page.wait()
        .at_most(STEP)
        .for_element(Locator::Css(css))
        .await
        .map_err(fail(css))?
        .click()
        .await
        .map_err(fail(css))
}

async fn heading(page: &Client) -> Outcome<String> {
    text(page, "main h1").await
}

/// Every scenario, in one browser session.
async fn scenarios(env: &Env, page: &Client) -> Outcome {
    let base = env.gateway_url.clone();

    // Without the session cookie: the sign-in page, nothing of the approver's.
    page.goto(&format!("{base}/approver/"))
        .await
        .map_err(fail("open the page"))?;
    let title = heading(page).await?;
    if title != "Sign in" {
        return Err(format!("without a cookie the page shows {title:?}"));
    }

    // The one-time link signs in.
    page.goto(&env.sandbox().approver_login_url())
        .await
        .map_err(fail("open the login link"))?;
    let title = heading(page).await?;
    if title != "Pending requests" {
        return Err(format!("after the login link: {title:?}"));
    }

    // Pairing: type the code `airlock pair` prints; the fingerprints match.
    page.goto(&format!("{base}/approver/pairing"))
        .await
        .map_err(fail("open pairing"))?;
    let fingerprint = text(page, "#fingerprint").await?;
    // Without a terminal, `airlock pair` stores the pairing only when the fingerprint it
    // received is the one expected: the one the page shows.
    let mut pair = Cli::spawn(env.command(&["pair", "--expect-fingerprint", &fingerprint]));
    let code = pair
        .read("the pairing code", |line| {
            let rest = line.split("pairing code ").nth(1)?;
            Some(rest.split_whitespace().next()?.to_owned())
        })
        .await?;
    // The waiting session shows up by itself (live update).
    text(page, "#waiting li").await?;
    page.find(Locator::Css("#code"))
        .await
        .map_err(fail("the code field"))?
        .send_keys(&code)
        .await
        .map_err(fail("type the code"))?;
    click(page, "form[action='/approver/pair'] button").await?;
    let status = pair.exit().await?;
    let printed = pair.stderr();
    if !status.success() || !printed.contains(&fingerprint) {
        return Err(format!(
            "airlock pair ({status}) should print the page's fingerprint {fingerprint}: {printed}"
        ));
    }

    // A pending `airlock approve` appears with its rows; a post without the CSRF token is
    // refused; Approve → exit 0.
    page.goto(&format!("{base}/approver/"))
        .await
        .map_err(fail("open pending"))?;
    let mut approve = Cli::spawn(env.command(&["approve", "--command", "make deploy"]));
    let rows = text(page, "article.request dl.rows").await?;
    for expected in [
        "Command text",
        "make deploy",
        "Workspace",
        common::WORKSPACE,
    ] {
        if !rows.contains(expected) {
            return Err(format!("the request's rows lack {expected:?}: {rows}"));
        }
    }
    let full_hash = page
        .find(Locator::Css("article.request .hash code"))
        .await
        .map_err(fail("the hash"))?
        .attr("title")
        .await
        .map_err(fail("the hash's title"))?
        .unwrap_or_default();
    if full_hash.len() < 64 {
        return Err(format!("the full hash on hover: {full_hash:?}"));
    }
    page.execute(
        "document.querySelectorAll('input[name=csrf]').forEach(function (e) { e.remove(); });",
        vec![],
    )
    .await
    .map_err(fail("remove the CSRF token"))?;
    click(page, "article.request button.approve").await?;
    let title = heading(page).await?;
    if title != "Refused" || !approve.running() {
        return Err(format!(
            "a post without the CSRF token must change nothing: {title:?}, {}",
            approve.stderr()
        ));
    }
    page.goto(&format!("{base}/approver/"))
        .await
        .map_err(fail("open pending"))?;
    click(page, "article.request button.approve").await?;
    let status = approve.exit().await?;
    if status.code() != Some(0) {
        return Err(format!("approved: exit {status}: {}", approve.stderr()));
    }

    // Reject with a reason → exit 1, the reason printed.
    let mut reject = Cli::spawn(env.command(&["approve", "--command", "rm -rf build"]));
    page.wait()
        .at_most(STEP)
        .for_element(Locator::Css("article.request input[name=reason]"))
        .await
        .map_err(fail("the reason field"))?
        .send_keys("not on a Friday")
        .await
        .map_err(fail("type the reason"))?;
    click(page, "article.request button.reject").await?;
    let status = reject.exit().await?;
    if status.code() != Some(1) || !reject.stderr().contains("not on a Friday") {
        return Err(format!(
            "rejected: exit {status}, the reason shown: {}",
            reject.stderr()
        ));
    }

    // The history has both; a phone-sized window does not scroll sideways.
    page.set_window_size(390, 844)
        .await
        .map_err(fail("resize"))?;
    for path in [
        "/approver/history",
        "/approver/pairing",
        "/approver/settings",
    ] {
        page.goto(&format!("{base}{path}"))
            .await
            .map_err(fail("open a page"))?;
        let fits = page
            .execute(
                "return document.documentElement.scrollWidth <= window.innerWidth;",
                vec![],
            )
            .await
            .map_err(fail("measure"))?;
        if fits != json!(true) {
            return Err(format!("{path} scrolls sideways on a phone"));
        }
        let shown = text(page, "main").await?;
        if path.ends_with("history") && !(shown.contains("Approved") && shown.contains("Rejected"))
        {
            return Err(format!("history: {shown}"));
        }
    }

    // The cookie is the session: without it, signed out.
    page.delete_all_cookies()
        .await
        .map_err(fail("delete cookies"))?;
    page.goto(&format!("{base}/approver/"))
        .await
        .map_err(fail("open the page"))?;
    let title = heading(page).await?;
    if title != "Sign in" {
        return Err(format!("without the cookie: {title:?}"));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_approver_page_in_chromium() {
    let (Some(chromium), Some(chromedriver)) = (find("chromium"), find("chromedriver")) else {
        let message = "chromium and chromedriver are needed: run scripts/install-browser.sh";
        assert!(std::env::var_os("CI").is_none(), "{message}");
        // Past libtest's capture, so the skip shows even though the test "passes".
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("\n!!! SKIPPED: the approver page's browser test: {message} !!!\n").as_bytes(),
        );
        return;
    };
    let config = SandboxConfig::builder()
        .approver_policy(ApproverPolicy::Manual)
        .auto_pair(false)
        .rate_limit(None)
        .build();
    let env = Env::start(config).await;
    let pat = env.sandbox().pat().to_owned();
    env.ok(&["login", "--pat", &pat]).await;

    let (_driver, driver_url) = start_chromedriver(&chromedriver).expect("chromedriver");
    let profile = tempfile::tempdir().expect("profile dir");
    let page = browser(&driver_url, &chromium, profile.path())
        .await
        .expect("Chromium");
    let outcome = scenarios(&env, &page).await;
    if let Err(why) = outcome {
        let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("approver-page-failure.png");
        let saved = match page.screenshot().await {
            Ok(png) => std::fs::write(&shot, png)
                .map(|()| format!("screenshot: {}", shot.display()))
                .unwrap_or_else(|e| format!("no screenshot: {e}")),
            Err(e) => format!("no screenshot: {e}"),
        };
        let _ = page.close().await;
        panic!("{why}\n{saved}");
    }
    page.close().await.expect("close the session");
}

/// The status line of `GET url` (plain HTTP/1.1 on loopback).
fn status_line(url: &str) -> String {
    use std::io::{Read as _, Write as _};
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = TcpStream::connect(host).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.lines().next().unwrap_or_default().to_owned()
}

/// `airlock sandbox --open` hands the default browser (`xdg-open`) a login link of its own,
/// which signs in; an opener that fails is a message, and the sandbox keeps serving.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_open_gives_the_browser_a_working_login_link() {
    use std::os::unix::fs::PermissionsExt as _;

    for opener_works in [true, false] {
        let dir = tempfile::tempdir().expect("tempdir");
        let opened = dir.path().join("opened");
        let script = if opener_works {
            format!("#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n", opened.display())
        } else {
            "#!/bin/sh\nexit 3\n".to_owned()
        };
        let opener = dir.path().join("xdg-open");
        std::fs::write(&opener, script).expect("write the opener");
        std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755)).expect("chmod");

        let mut child = common::airlock()
            .args(["sandbox", "--json", "--open"])
            .env("PATH", format!("{}:/usr/bin:/bin", dir.path().display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn airlock sandbox");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let stderr = child.stderr.take().expect("stderr");
        let mut sandbox = Cli {
            child: Killed(child),
            stderr: Arc::new(Mutex::new(String::new())),
        };
        let sink = Arc::clone(&sandbox.stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut all = sink.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
        });
        let mut first = String::new();
        stdout.read_line(&mut first).expect("the JSON line");
        let info: serde_json::Value = serde_json::from_str(&first).expect("JSON");
        let gateway = info["gatewayUrl"].as_str().expect("gatewayUrl");
        let printed = info["approverUrl"]
            .as_str()
            .expect("approverUrl")
            .to_owned();
        assert!(printed.starts_with(&format!("{gateway}/approver/login?token=")));

        if opener_works {
            let deadline = Instant::now() + STEP;
            while !opened.exists() {
                assert!(Instant::now() < deadline, "xdg-open was not run");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            let link = std::fs::read_to_string(&opened).expect("the opened link");
            assert!(
                link.starts_with(&format!("{gateway}/approver/login?token=")),
                "{link}"
            );
            assert_ne!(link, printed, "the browser gets a link of its own");
            assert!(status_line(&link).contains(" 303 "), "the link signs in");
            assert!(status_line(&link).contains(" 401 "), "once");
        } else {
            sandbox
                .read("the opener's failure", |line| {
                    line.contains("Could not open a browser").then_some(())
                })
                .await
                .expect("a message");
        }
        assert!(sandbox.running(), "the sandbox keeps serving");
        assert!(
            status_line(&printed).contains(" 303 "),
            "the printed link works"
        );
    }
}
