//! The approver page over plain HTTP: sign-in by one-time link or approver token, the
//! session cookie, CSRF and origin checks, pending requests rendered and decided by form
//! posts (the decisions verify like the simulated approver's), pairing by code, history and
//! settings. The browser test in airlock-cli drives the same page in Chromium.

mod common;

use airlock_crypto::{ExpectedDecision, MemoryReplayJournal, TrustedSigners, verify_decision};
use airlock_sandbox::{ApproverPolicy, ConsentState, Sandbox, TamperMode};
use common::*;
use http::{Method, StatusCode};
use serde_json::{Value, json};

/// A browser-like client of the approver page: its session cookie and the origin it posts
/// from.
struct Browser {
    client: HttpClient,
    base: String,
    cookie: Option<String>,
}

impl Browser {
    fn new(sandbox: &Sandbox) -> Self {
        Self {
            client: client(),
            base: sandbox.gateway_url().to_owned(),
            cookie: None,
        }
    }

    /// Opens the one-time login link; keeps the session cookie.
    async fn login(sandbox: &Sandbox) -> Self {
        let mut browser = Self::new(sandbox);
        let r = browser.get_url(&sandbox.approver_login_url()).await;
        r.assert_status(StatusCode::SEE_OTHER);
        assert_eq!(r.headers["location"], "/approver/");
        browser.cookie = Some(session_cookie(&r));
        browser
    }

    async fn get_url(&self, url: &str) -> Reply {
        let cookie = self.cookie.clone().unwrap_or_default();
        send(&self.client, Method::GET, url, &[("cookie", &cookie)], None).await
    }

    async fn get(&self, path: &str) -> Reply {
        self.get_url(&format!("{}{path}", self.base)).await
    }

    async fn page(&self, path: &str) -> String {
        let r = self.get(path).await;
        r.assert_ok();
        String::from_utf8(r.body.to_vec()).expect("UTF-8")
    }

    /// Posts a form as the page would: same `Origin`, the session cookie.
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        self.post_from(path, form, Some(&self.base.clone())).await
    }

    async fn post_from(&self, path: &str, form: &[(&str, &str)], origin: Option<&str>) -> Reply {
        let body = serde_urlencoded::to_string(form).expect("form");
        let cookie = self.cookie.clone().unwrap_or_default();
        let mut headers = vec![
            ("cookie", cookie.as_str()),
            ("content-type", "application/x-www-form-urlencoded"),
        ];
        if let Some(origin) = origin {
            headers.push(("origin", origin));
        }
        send(
            &self.client,
            Method::POST,
            &format!("{}{path}", self.base),
            &headers,
            Some(body.into_bytes()),
        )
        .await
    }

    /// The CSRF token of the page at `path`.
    async fn csrf(&self, path: &str) -> String {
        let html = self.page(path).await;
        attribute_after(&html, "name=\"csrf\" value=\"").expect("a CSRF token in the page")
    }

    /// Posts a form with the CSRF token of `page`, expecting `303 See Other` back to it;
    /// returns the notice the page then shows.
    async fn submit(&self, page: &str, action: &str, form: &[(&str, &str)]) -> String {
        let csrf = self.csrf(page).await;
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend_from_slice(form);
        let r = self.post(action, &fields).await;
        r.assert_status(StatusCode::SEE_OTHER);
        assert_eq!(r.headers["location"], page);
        let html = self.page(page).await;
        attribute_after(&html, "role=\"status\">").unwrap_or_default()
    }
}

/// `name=value` of the `Set-Cookie` header, which must be HttpOnly and SameSite=Strict.
fn session_cookie(r: &Reply) -> String {
    let set = r.headers["set-cookie"].to_str().expect("ASCII");
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Strict"), "{set}");
    assert!(set.contains("Path=/approver"), "{set}");
    set.split(';').next().expect("name=value").to_owned()
}

/// The text after `marker` up to the next `"` or `<`.
fn attribute_after(html: &str, marker: &str) -> Option<String> {
    let start = html.find(marker)? + marker.len();
    let rest = &html[start..];
    let end = rest.find(['"', '<']).unwrap_or(rest.len());
    Some(rest[..end].to_owned())
}

/// A sandbox deciding by hand and a paired enforcer.
async fn manual() -> (Sandbox, Enforcer, TrustedSigners) {
    let sandbox = start(config().approver_policy(ApproverPolicy::Manual).build()).await;
    let mut e = Enforcer::new(&sandbox);
    let approver = e.pair().await;
    let mut signers = TrustedSigners::new();
    signers.insert_approver(&approver);
    (sandbox, e, signers)
}

/// Submits `plaintext` with a label and a repository in the metadata; returns its hash.
async fn submit(sandbox: &Sandbox, e: &Enforcer, request_id: &str, plaintext: &Value) -> String {
    let (mut env, hash) = e.artifact(request_id, plaintext, None);
    env["body"]["metadata"]["requestLabel"] = "Deploy to production".into();
    env["body"]["metadata"]["repoName"] = "acme/widgets".into();
    e.post("/v1/artifacts", env)
        .await
        .assert_status(StatusCode::ACCEPTED);
    sandbox
        .approver()
        .wait_for_artifact(request_id, std::time::Duration::from_secs(10))
        .await
        .expect("the approver received it");
    hash
}

#[tokio::test]
async fn the_login_link_works_once_and_the_page_needs_the_cookie() {
    let sandbox = start(config().build()).await;
    let info_link = sandbox.info().approver_url.clone();
    assert!(info_link.starts_with(&format!("{}/approver/login?token=", sandbox.gateway_url())));

    // Without a session: 401 and the sign-in form, nothing of the approver's state.
    let anonymous = Browser::new(&sandbox);
    for path in ["/approver/", "/approver/settings", "/approver/pairing"] {
        let r = anonymous.get(path).await;
        r.assert_status(StatusCode::UNAUTHORIZED);
        let html = String::from_utf8_lossy(&r.body);
        assert!(html.contains("name=\"token\""), "{html}");
        assert!(!html.contains(&sandbox.approver().public_key().fingerprint()));
    }
    let r = anonymous
        .post("/approver/policy", &[("policy", "reject")])
        .await;
    r.assert_status(StatusCode::UNAUTHORIZED);
    assert_eq!(sandbox.approver().policy(), ApproverPolicy::Approve);
    let r = anonymous.get_url(&format!("{}x", info_link)).await;
    r.assert_status(StatusCode::UNAUTHORIZED);

    // The link printed at start signs in once.
    let r = anonymous.get_url(&info_link).await;
    r.assert_status(StatusCode::SEE_OTHER);
    let cookie = session_cookie(&r);
    anonymous
        .get_url(&info_link)
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    let browser = Browser {
        cookie: Some(cookie),
        ..Browser::new(&sandbox)
    };
    let r = browser.get("/approver/").await;
    r.assert_ok();
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(r.headers["x-frame-options"], "DENY");
    assert_eq!(r.headers["cache-control"], "no-store");

    // Signing out ends the session.
    let csrf = browser.csrf("/approver/").await;
    let r = browser.post("/approver/logout", &[("csrf", &csrf)]).await;
    r.assert_status(StatusCode::SEE_OTHER);
    assert!(
        r.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    browser
        .get("/approver/")
        .await
        .assert_status(StatusCode::UNAUTHORIZED);

    // The approver token works in the sign-in form; anything else does not.
    let origin = sandbox.gateway_url().to_owned();
    let r = anonymous
        .post_from("/approver/login", &[("token", "nope")], Some(&origin))
        .await;
    r.assert_status(StatusCode::UNAUTHORIZED);
    assert!(r.headers.get("set-cookie").is_none());
    let r = anonymous
        .post_from(
            "/approver/login",
            &[("token", sandbox.approver_token())],
            Some("http://evil.example"),
        )
        .await;
    r.assert_status(StatusCode::FORBIDDEN);
    let r = anonymous
        .post_from(
            "/approver/login",
            &[("token", sandbox.approver_token())],
            Some(&origin),
        )
        .await;
    r.assert_status(StatusCode::SEE_OTHER);
    session_cookie(&r);

    // Static files need no session and come with the same headers.
    let r = anonymous.get("/approver/static/approver.js").await;
    r.assert_ok();
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(r.headers.contains_key("content-security-policy"));
}

#[tokio::test]
async fn another_host_name_is_refused() {
    let sandbox = start(config().build()).await;
    let browser = Browser::login(&sandbox).await;
    let cookie = browser.cookie.clone().unwrap();
    let r = send(
        &browser.client,
        Method::GET,
        &format!("{}/approver/", sandbox.gateway_url()),
        &[("cookie", &cookie), ("host", "attacker.example")],
        None,
    )
    .await;
    r.assert_status(StatusCode::MISDIRECTED_REQUEST);
}

#[tokio::test]
async fn a_pending_request_is_shown_escaped_and_decided_by_a_signed_form_post() {
    let (sandbox, e, signers) = manual().await;
    let browser = Browser::login(&sandbox).await;
    let html = browser.page("/approver/").await;
    assert!(html.contains("Nothing is waiting for you"), "{html}");

    let id = new_request_id();
    let script = format!("#!/bin/sh\n{}", "echo step\n".repeat(30));
    let plaintext = json!({
        "actionType": "command",
        "commandText": "make deploy <b>now</b>",
        "env": { "STAGE": "prod" },
        "script": script,
    });
    let hash = submit(&sandbox, &e, &id, &plaintext).await;
    let html = browser.page("/approver/").await;
    // Each top-level key a labelled row; nested values pretty-printed; long text folded.
    for label in ["Action type", "Command text", "Env", "Script"] {
        assert!(html.contains(&format!(">{label}</dt>")), "{label}: {html}");
    }
    assert!(
        html.contains("make deploy &#60;b&#62;now&#60;/b&#62;")
            || html.contains("make deploy &lt;b&gt;now"),
        "escaped: {html}"
    );
    assert!(!html.contains("<b>now</b>"));
    assert!(
        html.contains("&#34;STAGE&#34;: &#34;prod&#34;")
            || html.contains("&quot;STAGE&quot;: &quot;prod&quot;"),
        "{html}"
    );
    assert!(
        html.contains("<details><summary>#!/bin/sh…</summary>"),
        "{html}"
    );
    // Metadata, the short hash with the full one on hover, the time left.
    for text in [
        "Deploy to production",
        "acme/widgets",
        "<b>Workspace</b> ws",
        " min left",
    ] {
        assert!(html.contains(text), "{text}: {html}");
    }
    assert!(
        html.contains(&format!("title=\"{hash}\">{}</code>", &hash[..12])),
        "{html}"
    );

    // Refused: no CSRF token, a wrong one, or a post from another origin.
    let csrf = browser.csrf("/approver/").await;
    for (form, origin) in [
        (
            vec![("requestId", id.as_str()), ("decision", "approve")],
            Some(sandbox.gateway_url()),
        ),
        (
            vec![
                ("csrf", "forged"),
                ("requestId", id.as_str()),
                ("decision", "approve"),
            ],
            Some(sandbox.gateway_url()),
        ),
        (
            vec![
                ("csrf", csrf.as_str()),
                ("requestId", id.as_str()),
                ("decision", "approve"),
            ],
            Some("http://127.0.0.1:1"),
        ),
    ] {
        let r = browser.post_from("/approver/decide", &form, origin).await;
        r.assert_status(StatusCode::FORBIDDEN);
    }
    assert_eq!(sandbox.approver().pending().len(), 1, "nothing was decided");

    // Rejected with a reason: the enforcer receives a decision signed by the paired key.
    let notice = browser
        .submit(
            "/approver/",
            "/approver/decide",
            &[
                ("requestId", &id),
                ("decision", "reject"),
                ("reason", "not on a Friday"),
            ],
        )
        .await;
    assert_eq!(notice, format!("Rejected {id}."));
    let body = e.wait(&id, 10).await.json()["body"].clone();
    assert_eq!(body["reason"], "not on a Friday");
    let verified = verify_decision(
        &body,
        &ExpectedDecision::new(hash, id.clone()),
        &signers,
        &MemoryReplayJournal::new(),
        time::OffsetDateTime::now_utc(),
    )
    .expect("the page's decision verifies");
    assert!(!verified.is_approved());

    // Gone from the pending list, in the history with its outcome.
    let html = browser.page("/approver/").await;
    assert!(!html.contains(&id));
    let html = browser.page("/approver/history").await;
    assert!(html.contains(&format!("id=\"request-{id}\"")), "{html}");
    assert!(html.contains(">Rejected</span>"), "{html}");
    assert!(
        html.contains("<b>Reason</b> not on a Friday"),
        "the reason: {html}"
    );

    // Deciding it again is refused with a message, not an error page.
    let notice = browser
        .submit(
            "/approver/",
            "/approver/decide",
            &[("requestId", &id), ("decision", "approve")],
        )
        .await;
    assert!(
        notice.starts_with(&format!("Could not decide {id}")),
        "{notice}"
    );
}

#[tokio::test]
async fn approving_and_withdrawn_requests_reach_the_history() {
    let (sandbox, e, signers) = manual().await;
    let browser = Browser::login(&sandbox).await;
    let (first, second) = (new_request_id(), new_request_id());
    let hash = submit(&sandbox, &e, &first, &command("ls")).await;
    submit(&sandbox, &e, &second, &command("rm -rf /")).await;
    // Newest first.
    let html = browser.page("/approver/").await;
    let (a, b) = (html.find(&second).unwrap(), html.find(&first).unwrap());
    assert!(a < b, "newest first");
    assert!(html.contains("<b class=\"badge\">2</b>"), "{html}");

    browser
        .submit(
            "/approver/",
            "/approver/decide",
            &[("requestId", &first), ("decision", "approve")],
        )
        .await;
    let body = e.wait(&first, 10).await.json()["body"].clone();
    let verified = verify_decision(
        &body,
        &ExpectedDecision::new(hash, first.clone()),
        &signers,
        &MemoryReplayJournal::new(),
        time::OffsetDateTime::now_utc(),
    )
    .expect("verifies");
    assert!(verified.is_approved());

    e.post(&format!("/v1/exchanges/{second}/withdraw"), json!({}))
        .await
        .assert_ok();
    let html = browser.page("/approver/").await;
    assert!(
        !html.contains(&second),
        "a withdrawn request is no longer pending"
    );
    let html = browser.page("/approver/history").await;
    assert!(html.contains(">Approved</span>"), "{html}");
    assert!(html.contains(">Withdrawn</span>"), "{html}");
}

#[tokio::test]
async fn pairing_by_typing_the_code_and_pre_generated_codes() {
    let sandbox = start(config().auto_pair(false).build()).await;
    let browser = Browser::login(&sandbox).await;
    let fingerprint = sandbox.approver().public_key().fingerprint();
    let html = browser.page("/approver/pairing").await;
    assert!(
        html.contains(&format!("id=\"fingerprint\">{fingerprint}<")),
        "{html}"
    );
    assert!(
        html.contains("Auto-pairing is <strong>off</strong>"),
        "{html}"
    );

    let mut e = Enforcer::new(&sandbox);
    let (nonce, code) = e.initiate().await;
    let html = browser.page("/approver/pairing").await;
    assert!(
        html.contains("test enforcer · ws"),
        "the waiting session: {html}"
    );
    assert!(!html.contains(&code), "the code is typed, not shown");

    let notice = browser
        .submit("/approver/pairing", "/approver/pair", &[("code", "WRONG1")])
        .await;
    assert!(
        notice.starts_with("Could not pair with code WRONG1"),
        "{notice}"
    );
    let notice = browser
        .submit("/approver/pairing", "/approver/pair", &[("code", &code)])
        .await;
    assert!(notice.contains(&fingerprint), "{notice}");
    let approver = e.finish_pairing(&nonce).await;
    assert_eq!(approver.signing_key.fingerprint(), fingerprint);
    let html = browser.page("/approver/pairing").await;
    assert!(html.contains(&e.enforcer_id), "listed as paired: {html}");

    let notice = browser
        .submit("/approver/pairing", "/approver/pre-generate", &[])
        .await;
    let code = notice
        .strip_prefix("New pairing code ")
        .and_then(|rest| rest.split(':').next())
        .expect("the code")
        .to_owned();
    let html = browser.page("/approver/pairing").await;
    assert!(
        html.contains(&format!("<code class=\"code\">{code}</code>")),
        "{html}"
    );
    let r = e
        .post(
            "/v1/pairing/claim",
            json!({ "pairingCode": code, "enforcerId": "enf-claim", "x25519PublicKey": e.x25519.public_key().to_base64url() }),
        )
        .await;
    r.assert_ok();

    browser
        .submit(
            "/approver/pairing",
            "/approver/auto-pair",
            &[("enabled", "on")],
        )
        .await;
    assert!(sandbox.approver().auto_pair());
}

#[tokio::test]
async fn settings_change_the_sandbox() {
    let sandbox = start(config().build()).await;
    let browser = Browser::login(&sandbox).await;
    let html = browser.page("/approver/settings").await;
    assert!(
        html.contains("<option value=\"approve\" selected>"),
        "{html}"
    );

    browser
        .submit(
            "/approver/settings",
            "/approver/policy",
            &[("policy", "manual")],
        )
        .await;
    assert_eq!(sandbox.approver().policy(), ApproverPolicy::Manual);
    let notice = browser
        .submit(
            "/approver/settings",
            "/approver/policy",
            &[("policy", "maybe")],
        )
        .await;
    assert!(notice.contains("approve, reject or manual"), "{notice}");
    assert_eq!(sandbox.approver().policy(), ApproverPolicy::Manual);

    browser
        .submit(
            "/approver/settings",
            "/approver/tamper",
            &[("mode", "wrong-hash")],
        )
        .await;
    assert_eq!(sandbox.approver().tamper(), TamperMode::WrongHash);

    browser
        .submit(
            "/approver/settings",
            "/approver/consent",
            &[("appId", airlock_sandbox::CLIENT_ID), ("state", "denied")],
        )
        .await;
    let e = Enforcer::new(&sandbox);
    let r = e.get("/v1/consent/status").await;
    r.assert_status(StatusCode::FORBIDDEN);
    let html = browser.page("/approver/settings").await;
    assert!(
        html.contains("<option value=\"denied\" selected>"),
        "{html}"
    );
    sandbox.set_consent(None, ConsentState::Allowed);

    // DND: create, served to enforcers, listed, deleted.
    let notice = browser
        .submit(
            "/approver/settings",
            "/approver/dnd",
            &[
                ("enforcerId", "enf-1"),
                ("workspaceId", "widgets"),
                ("mode", "deny_all"),
                ("minutes", "30"),
            ],
        )
        .await;
    assert_eq!(notice, "DND deny_all for widgets (enf-1) for 30 min.");
    let served = e
        .get("/v1/policy/dnd/effective?enforcerId=enf-1&workspaceId=widgets")
        .await
        .json();
    let policies = served["body"].as_array().expect("policies");
    assert_eq!(policies.len(), 1, "{served}");
    assert_eq!(policies[0]["policyMode"], "deny_all");
    let id = policies[0]["requestId"].as_str().unwrap().to_owned();
    let html = browser.page("/approver/settings").await;
    assert!(html.contains(&format!("value=\"{id}\"")), "{html}");
    for bad in [("minutes", "0"), ("mode", "sometimes"), ("enforcerId", "")] {
        let mut form = vec![
            ("enforcerId", "enf-1"),
            ("workspaceId", "widgets"),
            ("mode", "deny_all"),
            ("minutes", "30"),
        ];
        for field in &mut form {
            if field.0 == bad.0 {
                field.1 = bad.1;
            }
        }
        let notice = browser
            .submit("/approver/settings", "/approver/dnd", &form)
            .await;
        assert!(!notice.starts_with("DND"), "{bad:?} refused: {notice}");
    }
    browser
        .submit("/approver/settings", "/approver/dnd-delete", &[("id", &id)])
        .await;
    let served = e
        .get("/v1/policy/dnd/effective?enforcerId=enf-1")
        .await
        .json();
    assert_eq!(served["body"], json!([]), "{served}");
}
