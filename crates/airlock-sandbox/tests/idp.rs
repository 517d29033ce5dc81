//! The sandbox OIDC provider: discovery, device grant, auth code + PKCE, refresh rotation,
//! revocation, and its tokens at the gateway.

mod common;

use std::time::Duration;

use airlock_sandbox::DeviceApproval;
use base64::Engine as _;
use common::*;
use http::{Method, StatusCode};
use serde_json::Value;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

async fn form(c: &HttpClient, url: &str, pairs: &[(&str, &str)]) -> Reply {
    let body = serde_urlencoded::to_string(pairs).unwrap().into_bytes();
    send(
        c,
        Method::POST,
        url,
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(body),
    )
    .await
}

/// A `refresh_token` grant at `token_url`.
async fn refresh(c: &HttpClient, token_url: &str, refresh_token: &str, client_id: &str) -> Reply {
    form(
        c,
        token_url,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", client_id),
        ],
    )
    .await
}

/// A `device_code` grant at `token_url`.
async fn device_token(
    c: &HttpClient,
    token_url: &str,
    device_code: &str,
    client_id: &str,
) -> Reply {
    form(
        c,
        token_url,
        &[
            ("grant_type", DEVICE_GRANT),
            ("device_code", device_code),
            ("client_id", client_id),
        ],
    )
    .await
}

async fn discovery(c: &HttpClient, issuer: &str) -> Value {
    let r = send(
        c,
        Method::GET,
        &format!("{issuer}/.well-known/openid-configuration"),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    r.json()
}

/// A bearer token works at the gateway iff `gateway_status(token) == 200`.
async fn gateway_status(sandbox: &airlock_sandbox::Sandbox, token: &str) -> StatusCode {
    let auth = format!("Bearer {token}");
    let headers = [
        ("x-client-id", sandbox.client_id()),
        ("x-client-secret", sandbox.client_secret()),
        ("authorization", auth.as_str()),
    ];
    send(
        &client(),
        Method::GET,
        &format!("{}/v1/consent/status", sandbox.gateway_url()),
        &headers,
        None,
    )
    .await
    .status
}

#[tokio::test]
async fn device_grant_automatic() {
    let sandbox = start(config().build()).await;
    let c = client();
    let d = discovery(&c, sandbox.issuer_url()).await;
    assert_eq!(d["issuer"], sandbox.issuer_url());
    let client_id = sandbox.idp_client_id();
    let r = form(
        &c,
        d["device_authorization_endpoint"].as_str().unwrap(),
        &[("client_id", client_id), ("scope", "openid offline_access")],
    )
    .await;
    let v = r.json();
    assert!(
        v["verification_uri"]
            .as_str()
            .unwrap()
            .starts_with(sandbox.issuer_url())
    );
    assert!(v["interval"].as_u64().unwrap() >= 1);
    let token_url = d["token_endpoint"].as_str().unwrap();
    let r = device_token(&c, token_url, v["device_code"].as_str().unwrap(), client_id).await;
    r.assert_ok();
    let t = r.json();
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(
        gateway_status(&sandbox, t["access_token"].as_str().unwrap()).await,
        StatusCode::OK
    );
    // The device code is single-use.
    let r = device_token(&c, token_url, v["device_code"].as_str().unwrap(), client_id).await;
    assert_eq!(r.json()["error"], "invalid_grant");
}

#[tokio::test]
async fn device_grant_manual_pending_slow_down_denied_expired() {
    let sandbox = start(
        config()
            .device_approval(DeviceApproval::Manual)
            .device_poll_interval(Duration::from_secs(5))
            .device_code_ttl(Duration::from_secs(1))
            .build(),
    )
    .await;
    let c = client();
    let issuer = sandbox.issuer_url();
    let cid = sandbox.idp_client_id();
    let start_flow = || async {
        form(&c, &format!("{issuer}/device"), &[("client_id", cid)])
            .await
            .json()
    };
    let poll = |dc: String| {
        let c = c.clone();
        async move { device_token(&c, &format!("{issuer}/token"), &dc, cid).await }
    };

    let v = start_flow().await;
    let dc = v["device_code"].as_str().unwrap().to_owned();
    let r = poll(dc.clone()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["error"], "authorization_pending");
    assert_eq!(poll(dc.clone()).await.json()["error"], "slow_down");
    sandbox
        .approve_device(v["user_code"].as_str().unwrap())
        .unwrap();
    // Approved: tokens, even though the poll came early (slow_down applies while pending).
    assert_eq!(poll(dc).await.status, StatusCode::OK);

    let v = start_flow().await;
    let code = v["user_code"].as_str().unwrap();
    assert_eq!(sandbox.pending_device_codes(), vec![code.to_owned()]);
    // Denied through the verification page, as a user would.
    let page = format!(
        "{}&action=deny",
        v["verification_uri_complete"].as_str().unwrap()
    );
    assert_eq!(
        send(&c, Method::GET, &page, &[], None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        poll(v["device_code"].as_str().unwrap().to_owned())
            .await
            .json()["error"],
        "access_denied"
    );

    let v = start_flow().await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        poll(v["device_code"].as_str().unwrap().to_owned())
            .await
            .json()["error"],
        "expired_token"
    );
    assert!(sandbox.approve_device("NOPE-NOPE").is_err());
}

fn pkce() -> (String, String) {
    use sha2::Digest as _;
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_owned();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    assert_eq!(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"); // RFC 7636 App. B
    (verifier, challenge)
}

/// Runs the authorize step; returns the redirect's query parameters.
async fn authorize(
    c: &HttpClient,
    issuer: &str,
    params: &[(&str, &str)],
) -> (StatusCode, Vec<(String, String)>) {
    let url = format!(
        "{issuer}/authorize?{}",
        serde_urlencoded::to_string(params).unwrap()
    );
    let r = send(c, Method::GET, &url, &[], None).await;
    let query = r
        .headers
        .get("location")
        .map(|l| {
            let l = l.to_str().unwrap();
            serde_urlencoded::from_str(l.split_once('?').unwrap().1).unwrap()
        })
        .unwrap_or_default();
    (r.status, query)
}

fn get<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn auth_code_with_pkce_refresh_rotation_and_revocation() {
    let sandbox = start(config().build()).await;
    let c = client();
    let issuer = sandbox.issuer_url();
    let cid = sandbox.idp_client_id();
    let (verifier, challenge) = pkce();
    let redirect = "http://127.0.0.1:49152/callback";
    let params = [
        ("response_type", "code"),
        ("client_id", cid),
        ("redirect_uri", redirect),
        ("state", "st a&te"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("scope", "openid offline_access"),
    ];
    let (status, q) = authorize(&c, issuer, &params).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(get(&q, "state"), Some("st a&te"));
    let code = get(&q, "code").unwrap().to_owned();

    let token = format!("{issuer}/token");
    // A wrong verifier fails, and burns the code.
    let wrong = "x".repeat(43);
    let r = form(
        &c,
        &token,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect),
            ("client_id", cid),
            ("code_verifier", &wrong),
        ],
    )
    .await;
    assert_eq!(r.json()["error"], "invalid_grant");
    let (_, q) = authorize(&c, issuer, &params).await;
    let code = get(&q, "code").unwrap().to_owned();
    let r = form(
        &c,
        &token,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect),
            ("client_id", cid),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    r.assert_ok();
    let t1 = r.json();
    let (a1, r1) = (
        t1["access_token"].as_str().unwrap(),
        t1["refresh_token"].as_str().unwrap(),
    );
    assert_eq!(gateway_status(&sandbox, a1).await, StatusCode::OK);

    // Refresh rotates: the old refresh token is dead after use.
    let r = refresh(&c, &token, r1, cid).await;
    assert_eq!(r.status, StatusCode::OK);
    let t2 = r.json();
    let (a2, r2) = (
        t2["access_token"].as_str().unwrap(),
        t2["refresh_token"].as_str().unwrap(),
    );
    assert_ne!(r1, r2);
    let r = refresh(&c, &token, r1, cid).await;
    assert_eq!(r.json()["error"], "invalid_grant");

    // Revoking the refresh token ends the grant: its access tokens stop working.
    let r = form(
        &c,
        &format!("{issuer}/revoke"),
        &[
            ("token", r2),
            ("token_type_hint", "refresh_token"),
            ("client_id", cid),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(gateway_status(&sandbox, a2).await, StatusCode::UNAUTHORIZED);
    assert_eq!(gateway_status(&sandbox, a1).await, StatusCode::UNAUTHORIZED);
    let r = refresh(&c, &token, r2, cid).await;
    assert_eq!(r.json()["error"], "invalid_grant");
    // Unknown tokens revoke fine (RFC 7009 §2.2).
    let r = form(
        &c,
        &format!("{issuer}/revoke"),
        &[("token", "nope"), ("client_id", cid)],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn authorize_refuses_non_loopback_redirects_and_plain_pkce() {
    let sandbox = start(config().build()).await;
    let c = client();
    let cid = sandbox.idp_client_id();
    let base = [
        ("response_type", "code"),
        ("client_id", cid),
        ("state", "s"),
        ("code_challenge", "abc"),
    ];
    // Never a redirect off this machine, however it is spelled.
    for redirect in [
        "https://evil.example/cb",
        "http://localhost:1@evil.example/cb",
        "http://127.0.0.1:80@evil.example/cb",
        "http://localhost.evil.com/cb",
        "http://127.0.0.1.nip.io/cb",
        "http://127.1/cb",
        "https://localhost/cb",
    ] {
        let mut p = base.to_vec();
        p.push(("redirect_uri", redirect));
        p.push(("code_challenge_method", "S256"));
        let (status, _) = authorize(&c, sandbox.issuer_url(), &p).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{redirect}");
    }
    let mut p = base.to_vec();
    p.push(("redirect_uri", "http://localhost:1234/cb"));
    p.push(("code_challenge_method", "plain"));
    let (status, q) = authorize(&c, sandbox.issuer_url(), &p).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(get(&q, "error"), Some("invalid_request"));
    assert_eq!(get(&q, "state"), Some("s"));
}

#[tokio::test]
async fn access_tokens_expire_and_confidential_clients_authenticate() {
    let sandbox = start(config().access_token_ttl(Duration::from_secs(1)).build()).await;
    let c = client();
    let issuer = sandbox.issuer_url();
    let dev = |cid: &str, secret: Option<&str>| {
        let mut p = vec![("client_id", cid.to_owned())];
        if let Some(s) = secret {
            p.push(("client_secret", s.to_owned()));
        }
        p
    };
    let p = dev(sandbox.client_id(), Some("wrong"));
    let p: Vec<(&str, &str)> = p.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let r = form(&c, &format!("{issuer}/device"), &p).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error"], "invalid_client");

    let p = dev(sandbox.client_id(), Some(sandbox.client_secret()));
    let p: Vec<(&str, &str)> = p.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let v = form(&c, &format!("{issuer}/device"), &p).await.json();
    let mut tp = p.clone();
    tp.push(("grant_type", DEVICE_GRANT));
    tp.push(("device_code", v["device_code"].as_str().unwrap()));
    let t = form(&c, &format!("{issuer}/token"), &tp).await.json();
    let access = t["access_token"].as_str().unwrap();
    assert_eq!(gateway_status(&sandbox, access).await, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        gateway_status(&sandbox, access).await,
        StatusCode::UNAUTHORIZED
    );
}
