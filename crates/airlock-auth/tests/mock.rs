//! Every error path and the polling, refresh and logout logic, against a scripted
//! closure transport and a fake clock (runs in milliseconds).

mod support;

use std::sync::Arc;
use std::time::Duration;

use airlock_auth::{
    AuthError, AuthSession, ClientAuthMethod, ConsentBackoff, ConsentError, ConsentErrorKind,
    ConsentState, ConsentWaitError, LoopbackListener, MemoryTokenStore, RevocationOutcome,
    StoreError, TokenKind, TokenSet, TokenSource, TokenStore, wait_for_consent_with_clock,
};
use airlock_http::{BoxFuture, SecretToken};
use support::mock::*;

// ----- discovery -----

#[tokio::test]
async fn discovery_is_fetched_once_and_cached() {
    let provider = MockProvider::new();
    let clock = FakeClock::new();
    let client = client(&provider, &clock);
    let meta = client.discover().await.unwrap();
    assert_eq!(meta.token_endpoint, format!("{ISSUER}/token"));
    let again = client.clone().discover().await.unwrap();
    assert!(Arc::ptr_eq(&meta, &again));
    assert_eq!(provider.seen("/.well-known/openid-configuration").len(), 1);
}

#[tokio::test]
async fn discovery_errors_are_typed() {
    let clock = FakeClock::new();
    // 404 with HTML.
    let provider = MockProvider::new();
    *provider.discovery.lock().unwrap() = None;
    let err = client(&provider, &clock).discover().await.unwrap_err();
    assert!(matches!(err, AuthError::Discovery { .. }), "{err}");
    // Issuer mismatch (a document for another issuer must not be trusted).
    let provider = MockProvider::new();
    provider.discovery.lock().unwrap().as_mut().unwrap()["issuer"] = "https://evil.test".into();
    let err = client(&provider, &clock).discover().await.unwrap_err();
    assert!(err.to_string().contains("issuer mismatch"), "{err}");
    // Missing token endpoint.
    let provider = MockProvider::new();
    provider
        .discovery
        .lock()
        .unwrap()
        .as_mut()
        .unwrap()
        .as_object_mut()
        .unwrap()
        .remove("token_endpoint");
    let err = client(&provider, &clock).discover().await.unwrap_err();
    assert!(matches!(err, AuthError::Discovery { .. }), "{err}");
    // A failed discovery is not cached: the next call tries again.
    let provider = MockProvider::new();
    *provider.discovery.lock().unwrap() = None;
    let c = client(&provider, &clock);
    assert!(c.discover().await.is_err());
    *provider.discovery.lock().unwrap() = Some(discovery_doc());
    assert!(c.discover().await.is_ok());
}

#[tokio::test]
async fn missing_endpoints_are_typed() {
    let provider = MockProvider::new();
    {
        let mut doc = provider.discovery.lock().unwrap();
        let doc = doc.as_mut().unwrap().as_object_mut().unwrap();
        doc.remove("device_authorization_endpoint");
        // `OidcDiscovery` requires the field; an empty value means "none".
        doc.insert("authorization_endpoint".into(), "".into());
        doc.remove("revocation_endpoint");
    }
    let clock = FakeClock::new();
    let client = client(&provider, &clock);
    let err = client.start_device_authorization().await.unwrap_err();
    assert!(matches!(
        err,
        AuthError::MissingEndpoint {
            endpoint: "device_authorization"
        }
    ));
    let err = client
        .authorization_url("http://127.0.0.1:1/callback")
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        AuthError::MissingEndpoint {
            endpoint: "authorization"
        }
    ));
    let err = client
        .revoke(&SecretToken::new("t"), TokenKind::AccessToken)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        AuthError::MissingEndpoint {
            endpoint: "revocation"
        }
    ));
}

// ----- device grant -----

#[tokio::test]
async fn device_grant_polls_with_interval_and_slow_down() {
    let provider = MockProvider::new();
    provider.push("/device", device_response(Some(3)));
    provider.push("/token", oauth_error(400, "authorization_pending"));
    provider.push("/token", oauth_error(400, "slow_down"));
    provider.push("/token", oauth_error(400, "authorization_pending"));
    provider.push("/token", oauth_error(400, "slow_down"));
    provider.push("/token", token_response("acc-1", Some("ref-1"), 300));
    let clock = FakeClock::new();
    let client = client(&provider, &clock);
    let mut shown = None;
    let tokens = client
        .device_login(|d| {
            shown = Some((
                d.user_code().to_owned(),
                d.uri_to_open().to_owned(),
                d.interval(),
            ))
        })
        .await
        .unwrap();
    let (user_code, uri, interval) = shown.unwrap();
    assert_eq!(user_code, "ABCD-EFGH");
    assert_eq!(uri, format!("{ISSUER}/device?user_code=ABCD-EFGH"));
    assert_eq!(interval, Duration::from_secs(3));
    let secs: Vec<u64> = clock.sleeps().iter().map(Duration::as_secs).collect();
    assert_eq!(secs, [3, 8, 8, 13]);
    assert_eq!(tokens.access_token().expose_secret(), "acc-1");
    assert_eq!(tokens.refresh_token().unwrap().expose_secret(), "ref-1");
    assert_eq!(
        tokens.id_token().unwrap().expose_secret(),
        "header.payload.sig"
    );
    assert_eq!(tokens.scopes(), ["openid", "profile", "email"]);
    assert_eq!(
        tokens.expires_at(),
        Some(clock_now(&clock) + Duration::from_secs(300))
    );
    // The device request carried the client id and scopes; polls carried the device code.
    let device = &provider.seen("/device")[0];
    assert_eq!(device.param("client_id"), Some("airlock-integrations"));
    assert_eq!(device.param("scope"), Some("openid profile email"));
    let polls = provider.seen("/token");
    assert_eq!(polls.len(), 5);
    assert!(
        polls
            .iter()
            .all(|p| p.param("device_code") == Some("dev-code-secret")
                && p.param("grant_type") == Some("urn:ietf:params:oauth:grant-type:device_code"))
    );
}

fn clock_now(clock: &FakeClock) -> std::time::SystemTime {
    airlock_auth::Clock::now(clock)
}

#[tokio::test]
async fn device_grant_defaults_to_five_seconds_without_interval() {
    let provider = MockProvider::new();
    provider.push("/device", device_response(None));
    provider.push("/token", oauth_error(400, "authorization_pending"));
    provider.push("/token", token_response("acc", None, 60));
    let clock = FakeClock::new();
    client(&provider, &clock)
        .device_login(|_| {})
        .await
        .unwrap();
    assert_eq!(clock.sleeps(), [Duration::from_secs(5)]);
}

#[tokio::test]
async fn device_grant_terminal_errors_are_typed() {
    type Check = fn(&AuthError) -> bool;
    let cases: [(u16, &str, Check); 5] = [
        (400, "access_denied", |e| e.is_access_denied()),
        (400, "expired_token", |e| e.is_expired_token()),
        (400, "invalid_grant", |e| e.is_invalid_grant()),
        (401, "invalid_client", |e| e.is_invalid_client()),
        (
            400,
            "invalid_scope",
            |e| matches!(e, AuthError::OAuth { error, .. } if error == "invalid_scope"),
        ),
    ];
    for (status, code, check) in cases {
        let provider = MockProvider::new();
        provider.push("/device", device_response(Some(1)));
        provider.push("/token", oauth_error(400, "authorization_pending"));
        provider.push("/token", oauth_error(status, code));
        let clock = FakeClock::new();
        let err = client(&provider, &clock)
            .device_login(|_| {})
            .await
            .unwrap_err();
        assert!(check(&err), "{code}: {err:?}");
        assert!(!format!("{err:?}").contains("dev-code-secret"));
    }
}

#[tokio::test]
async fn device_authorization_request_errors_are_typed() {
    let provider = MockProvider::new();
    provider.push("/device", oauth_error(401, "invalid_client"));
    let clock = FakeClock::new();
    let err = client(&provider, &clock)
        .device_login(|_| panic!("no code"))
        .await
        .unwrap_err();
    assert!(err.is_invalid_client());
}

#[tokio::test]
async fn device_grant_stops_at_expires_in() {
    let provider = MockProvider::new();
    provider.push(
        "/device",
        json(
            200,
            serde_json::json!({"device_code":"d","user_code":"U","verification_uri":"https://v.test/","expires_in":20,"interval":5}),
        ),
    );
    for _ in 0..10 {
        provider.push("/token", oauth_error(400, "authorization_pending"));
    }
    let clock = FakeClock::new();
    let err = client(&provider, &clock)
        .device_login(|d| {
            assert_eq!(d.uri_to_open(), "https://v.test/");
            assert!(d.verification_uri_complete().is_none());
        })
        .await
        .unwrap_err();
    assert!(err.is_expired_token(), "{err:?}");
    // Polls at t = 0, 5, 10, 15, 20; at 25 the deadline has passed.
    assert_eq!(provider.seen("/token").len(), 5);
}

#[tokio::test]
async fn device_grant_reports_a_persistent_transport_failure() {
    let provider = MockProvider::new();
    provider.push(
        "/device",
        json(
            200,
            serde_json::json!({"device_code":"d","user_code":"U","verification_uri":"https://v.test/","expires_in":60,"interval":5}),
        ),
    );
    for _ in 0..20 {
        provider.push("/token", Reply::Fail);
    }
    let clock = FakeClock::new();
    let err = client(&provider, &clock)
        .device_login(|_| {})
        .await
        .unwrap_err();
    assert!(err.is_transport(), "{err:?}");
    // Transport errors back off: 10, 20, 30 (capped), 30 ...
    let secs: Vec<u64> = clock.sleeps().iter().map(Duration::as_secs).collect();
    assert_eq!(&secs[..4], [10, 20, 30, 30]);
}

#[tokio::test]
async fn a_transient_transport_failure_does_not_end_device_polling() {
    let provider = MockProvider::new();
    provider.push("/device", device_response(Some(5)));
    provider.push("/token", Reply::Fail);
    provider.push("/token", token_response("acc", None, 60));
    let clock = FakeClock::new();
    let tokens = client(&provider, &clock)
        .device_login(|_| {})
        .await
        .unwrap();
    assert_eq!(tokens.access_token().expose_secret(), "acc");
}

#[tokio::test]
async fn dropping_the_device_poll_cancels_it() {
    let provider = MockProvider::new();
    provider.push("/device", device_response(Some(1)));
    for _ in 0..3 {
        provider.push("/token", oauth_error(400, "authorization_pending"));
    }
    // The real clock: the first sleep never finishes within the timeout below.
    let config = airlock_auth::AuthConfig::new(ISSUER, "c").unwrap();
    let client = airlock_auth::AuthClient::with_http_client(config, provider.http());
    let device = client.start_device_authorization().await.unwrap();
    let poll = client.poll_device_authorization(&device);
    let outcome = tokio::time::timeout(Duration::from_millis(50), poll).await;
    assert!(outcome.is_err(), "still polling");
    let polls = provider.seen("/token").len();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        provider.seen("/token").len(),
        polls,
        "no poll after the drop"
    );
}

// ----- token endpoint errors and client authentication -----

#[tokio::test]
async fn malformed_token_responses_are_bad_responses_without_secrets() {
    let cases = [
        Reply::Raw(502, "text/html", "<html>bad gateway</html>".into()),
        Reply::Raw(200, "text/html", "not json".into()),
        json(200, serde_json::json!({"access_token":"leaked-secret"})),
        json(
            200,
            serde_json::json!({"access_token":"leaked-secret","token_type":"mac"}),
        ),
        Reply::Raw(500, "application/json", String::new()),
    ];
    for reply in cases {
        let provider = MockProvider::new();
        provider.push("/token", reply);
        let clock = FakeClock::new();
        let old = TokenSet::new("a".into()).with_refresh_token("r".into());
        let err = client(&provider, &clock).refresh(&old).await.unwrap_err();
        assert!(matches!(err, AuthError::BadResponse { .. }), "{err:?}");
        assert!(!format!("{err:?} {err}").contains("leaked-secret"));
    }
}

#[tokio::test]
async fn client_secret_basic_and_post() {
    let secret = "s3cr:et/+";
    for (method, doc_methods, expect_basic) in [
        (ClientAuthMethod::Auto, None, true),
        (
            ClientAuthMethod::Auto,
            Some(vec!["client_secret_post"]),
            false,
        ),
        (
            ClientAuthMethod::SecretBasic,
            Some(vec!["client_secret_post"]),
            true,
        ),
        (ClientAuthMethod::SecretPost, None, false),
    ] {
        let provider = MockProvider::new();
        {
            let mut doc = provider.discovery.lock().unwrap();
            let doc = doc.as_mut().unwrap().as_object_mut().unwrap();
            match doc_methods {
                Some(m) => doc.insert("token_endpoint_auth_methods_supported".into(), m.into()),
                None => doc.remove("token_endpoint_auth_methods_supported"),
            };
        }
        provider.push("/token", token_response("a2", None, 60));
        let clock = FakeClock::new();
        let client = client_with(&provider, &clock, |c| {
            c.with_client_secret(secret.into())
                .with_client_auth_method(method)
        });
        let old = TokenSet::new("a".into()).with_refresh_token("r".into());
        client.refresh(&old).await.unwrap();
        let seen = &provider.seen("/token")[0];
        assert_eq!(seen.param("grant_type"), Some("refresh_token"));
        assert_eq!(seen.param("refresh_token"), Some("r"));
        if expect_basic {
            // RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
            use base64::Engine as _;
            let expected = base64::engine::general_purpose::STANDARD
                .encode("airlock-integrations:s3cr%3Aet%2F%2B");
            assert_eq!(
                seen.authorization.as_deref(),
                Some(&*format!("Basic {expected}"))
            );
            assert_eq!(seen.param("client_secret"), None);
        } else {
            assert_eq!(seen.authorization, None);
            assert_eq!(seen.param("client_id"), Some("airlock-integrations"));
            assert_eq!(seen.param("client_secret"), Some(secret));
        }
    }
}

#[tokio::test]
async fn authorization_url_has_pkce_state_and_prompt_for_offline_access() {
    let provider = MockProvider::new();
    let clock = FakeClock::new();
    let client = client_with(&provider, &clock, |c| c.with_offline_access());
    let request = client
        .authorization_url("http://127.0.0.1:4567/callback")
        .await
        .unwrap();
    let query: std::collections::HashMap<_, _> = request.url.query_pairs().into_owned().collect();
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["client_id"], "airlock-integrations");
    assert_eq!(query["redirect_uri"], "http://127.0.0.1:4567/callback");
    assert_eq!(query["scope"], "openid profile email offline_access");
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["prompt"], "consent");
    assert_eq!(query["state"], request.state);
    let verifier = request.verifier.expose_secret().to_owned();
    let verifier = verifier.as_str();
    assert!((43..=128).contains(&verifier.len()));
    let challenge = oauth2::PkceCodeChallenge::from_code_verifier_sha256(
        &oauth2::PkceCodeVerifier::new(verifier.to_owned()),
    );
    assert_eq!(query["code_challenge"], challenge.as_str());
    assert!(!format!("{request:?}").contains(verifier));
    // A fresh state and verifier every time.
    let other = client
        .authorization_url("http://127.0.0.1:4567/callback")
        .await
        .unwrap();
    assert_ne!(other.state, request.state);
    assert_ne!(other.verifier.expose_secret(), verifier);

    // The code exchange sends the verifier and the same redirect URI.
    provider.push("/token", token_response("a", Some("r"), 60));
    client
        .exchange_code("the-code", request.verifier, &request.redirect_uri)
        .await
        .unwrap();
    let seen = &provider.seen("/token")[0];
    assert_eq!(seen.param("grant_type"), Some("authorization_code"));
    assert_eq!(seen.param("code"), Some("the-code"));
    assert_eq!(seen.param("code_verifier"), Some(verifier));
    assert_eq!(
        seen.param("redirect_uri"),
        Some("http://127.0.0.1:4567/callback")
    );
}

#[tokio::test]
async fn no_prompt_without_offline_access_and_bad_redirects_are_rejected() {
    let provider = MockProvider::new();
    let clock = FakeClock::new();
    let client = client(&provider, &clock);
    let request = client
        .authorization_url("http://127.0.0.1:1/callback")
        .await
        .unwrap();
    assert!(!request.url.query_pairs().any(|(k, _)| k == "prompt"));
    let err = client.authorization_url("not a uri").await.unwrap_err();
    assert!(matches!(err, AuthError::InvalidConfig { .. }));
}

// ----- sessions: refresh, single flight, rotation, store, logout -----

/// A store that records saved refresh tokens and can be made to fail.
#[derive(Debug, Default)]
struct RecordingStore {
    inner: MemoryTokenStore,
    saved: std::sync::Mutex<Vec<Option<String>>>,
    fail: std::sync::atomic::AtomicBool,
}

impl TokenStore for RecordingStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<TokenSet>, StoreError>> {
        self.inner.load()
    }
    fn save<'a>(&'a self, tokens: &'a TokenSet) -> BoxFuture<'a, Result<(), StoreError>> {
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Box::pin(async { Err(StoreError::Other("disk full".into())) });
        }
        self.saved
            .lock()
            .unwrap()
            .push(tokens.refresh_token().map(|t| t.expose_secret().to_owned()));
        self.inner.save(tokens)
    }
    fn clear(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        self.inner.clear()
    }
}

async fn session_with(
    provider: &Arc<MockProvider>,
    clock: &Arc<FakeClock>,
    store: Arc<dyn TokenStore>,
    expires_in: u64,
) -> AuthSession {
    let session = AuthSession::open(client(provider, clock), store)
        .await
        .unwrap();
    let tokens = TokenSet::new("acc-0".into())
        .with_refresh_token("ref-0".into())
        .with_expires_at(clock_now(clock) + Duration::from_secs(expires_in));
    session.sign_in(tokens).await.unwrap();
    session
}

#[tokio::test]
async fn access_token_refreshes_ahead_of_expiry_with_single_flight() {
    let provider = MockProvider::new();
    *provider.token_delay.lock().unwrap() = Some(Duration::from_millis(20));
    provider.push("/token", token_response("acc-1", Some("ref-1"), 3600));
    let clock = FakeClock::new();
    let store = Arc::new(RecordingStore::default());
    let session = Arc::new(session_with(&provider, &clock, store.clone(), 3600).await);

    // Fresh: no refresh.
    assert_eq!(
        session.access_token().await.unwrap().expose_secret(),
        "acc-0"
    );
    assert!(provider.seen("/token").is_empty());

    // 59 s before expiry (inside the 60 s margin): many callers, one refresh.
    clock.advance(Duration::from_secs(3600 - 59));
    let calls: Vec<_> = (0..16)
        .map(|_| {
            let s = session.clone();
            tokio::spawn(async move { s.access_token().await.unwrap() })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().expose_secret(), "acc-1");
    }
    assert_eq!(provider.seen("/token").len(), 1);
    // The rotated refresh token was saved.
    assert_eq!(
        *store.saved.lock().unwrap(),
        [Some("ref-0".to_owned()), Some("ref-1".to_owned())]
    );
    let held = session.tokens().await.unwrap();
    assert_eq!(held.refresh_token().unwrap().expose_secret(), "ref-1");
}

#[tokio::test]
async fn forced_refreshes_after_a_401_are_single_flight_too() {
    let provider = MockProvider::new();
    *provider.token_delay.lock().unwrap() = Some(Duration::from_millis(20));
    provider.push("/token", token_response("acc-1", None, 3600));
    let clock = FakeClock::new();
    let session =
        Arc::new(session_with(&provider, &clock, Arc::new(MemoryTokenStore::new()), 3600).await);
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let s = session.clone();
            tokio::spawn(async move { TokenSource::access_token(&*s, true).await.unwrap() })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().expose_secret(), "acc-1");
    }
    assert_eq!(provider.seen("/token").len(), 1);
    // Not rotated: the old refresh token is kept.
    let held = session.tokens().await.unwrap();
    assert_eq!(held.refresh_token().unwrap().expose_secret(), "ref-0");
}

#[tokio::test]
async fn a_store_failure_on_rotation_is_reported_but_the_new_token_is_kept() {
    let provider = MockProvider::new();
    provider.push("/token", token_response("acc-1", Some("ref-1"), 3600));
    let clock = FakeClock::new();
    let store = Arc::new(RecordingStore::default());
    let session = session_with(&provider, &clock, store.clone(), 10).await;
    store.fail.store(true, std::sync::atomic::Ordering::SeqCst);
    let err = session.access_token().await.unwrap_err();
    assert!(matches!(err, AuthError::Store(_)), "{err:?}");
    // The old refresh token is already spent at the provider; the new one stays in memory.
    let held = session.tokens().await.unwrap();
    assert_eq!(held.refresh_token().unwrap().expose_secret(), "ref-1");
    assert_eq!(
        session.access_token().await.unwrap().expose_secret(),
        "acc-1"
    );
}

#[tokio::test]
async fn invalid_grant_on_refresh_signs_out() {
    let provider = MockProvider::new();
    provider.push("/token", oauth_error(400, "invalid_grant"));
    let clock = FakeClock::new();
    let store = Arc::new(MemoryTokenStore::new());
    let session = session_with(&provider, &clock, store.clone(), 10).await;
    let err = session.access_token().await.unwrap_err();
    assert!(err.is_invalid_grant() && err.requires_sign_in());
    assert!(!session.is_signed_in().await);
    assert!(store.load().await.unwrap().is_none());
    let err = session.access_token().await.unwrap_err();
    assert!(matches!(err, AuthError::NotSignedIn));
    // Through the TokenSource trait, the cause is kept.
    let err = TokenSource::access_token(&session, false)
        .await
        .unwrap_err();
    assert!(err.source.is_some());
}

#[tokio::test]
async fn transient_refresh_failures_fall_back_to_a_still_valid_token() {
    let provider = MockProvider::new();
    provider.push("/token", Reply::Fail);
    provider.push("/token", oauth_error(503, "temporarily_unavailable"));
    let clock = FakeClock::new();
    let session = session_with(&provider, &clock, Arc::new(MemoryTokenStore::new()), 30).await;
    // Due for refresh (30 s < 60 s margin) but still valid: the current token is used.
    assert_eq!(
        session.access_token().await.unwrap().expose_secret(),
        "acc-0"
    );
    // Once expired, the failure surfaces.
    clock.advance(Duration::from_secs(31));
    let err = session.access_token().await.unwrap_err();
    assert!(matches!(&err, AuthError::OAuth { error, .. } if error == "temporarily_unavailable"));
    assert!(session.is_signed_in().await);
}

#[tokio::test]
async fn without_refresh_token_an_expired_session_needs_sign_in() {
    let provider = MockProvider::new();
    let clock = FakeClock::new();
    let session = AuthSession::open(client(&provider, &clock), Arc::new(MemoryTokenStore::new()))
        .await
        .unwrap();
    assert!(matches!(
        session.access_token().await,
        Err(AuthError::NotSignedIn)
    ));
    session
        .sign_in(
            TokenSet::new("a".into()).with_expires_at(clock_now(&clock) + Duration::from_secs(30)),
        )
        .await
        .unwrap();
    assert_eq!(session.access_token().await.unwrap().expose_secret(), "a");
    assert!(matches!(
        session.refresh().await,
        Err(AuthError::NotSignedIn)
    ));
    clock.advance(Duration::from_secs(31));
    assert!(matches!(
        session.access_token().await,
        Err(AuthError::NotSignedIn)
    ));
}

#[tokio::test]
async fn session_reopens_from_its_store() {
    let provider = MockProvider::new();
    let clock = FakeClock::new();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(airlock_auth::FileTokenStore::new(dir.path().join("t.json")));
    session_with(&provider, &clock, store.clone(), 3600).await;
    let reopened = AuthSession::open(client(&provider, &clock), store)
        .await
        .unwrap();
    assert_eq!(
        reopened.access_token().await.unwrap().expose_secret(),
        "acc-0"
    );
}

#[tokio::test]
async fn logout_revokes_refresh_then_access_token() {
    let provider = MockProvider::new();
    provider.push("/revoke", Reply::Raw(200, "text/plain", String::new()));
    provider.push("/revoke", Reply::Raw(200, "text/plain", String::new()));
    let clock = FakeClock::new();
    let store = Arc::new(MemoryTokenStore::new());
    let session = session_with(&provider, &clock, store.clone(), 3600).await;
    let outcome = session.logout().await.unwrap();
    assert!(matches!(outcome, RevocationOutcome::Revoked), "{outcome:?}");
    let seen = provider.seen("/revoke");
    assert_eq!(seen[0].param("token"), Some("ref-0"));
    assert_eq!(seen[0].param("token_type_hint"), Some("refresh_token"));
    assert_eq!(seen[1].param("token"), Some("acc-0"));
    assert_eq!(seen[1].param("token_type_hint"), Some("access_token"));
    assert!(!session.is_signed_in().await);
    assert!(store.load().await.unwrap().is_none());
    assert!(matches!(
        session.logout().await.unwrap(),
        RevocationOutcome::NothingToRevoke
    ));
}

#[tokio::test]
async fn logout_clears_state_even_when_revocation_fails() {
    let provider = MockProvider::new();
    provider.push("/revoke", Reply::Fail);
    provider.push("/revoke", oauth_error(400, "unsupported_token_type"));
    let clock = FakeClock::new();
    let store = Arc::new(MemoryTokenStore::new());
    let session = session_with(&provider, &clock, store.clone(), 3600).await;
    match session.logout().await.unwrap() {
        RevocationOutcome::Failed(failures) => {
            assert_eq!(failures.len(), 2);
            assert_eq!(failures[0].0, TokenKind::RefreshToken);
            assert!(failures[0].1.is_transport());
            assert!(
                matches!(&failures[1].1, AuthError::OAuth { error, .. } if error == "unsupported_token_type")
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(!session.is_signed_in().await);
    assert!(store.load().await.unwrap().is_none());
}

#[tokio::test]
async fn logout_without_revocation_endpoint() {
    let provider = MockProvider::new();
    provider
        .discovery
        .lock()
        .unwrap()
        .as_mut()
        .unwrap()
        .as_object_mut()
        .unwrap()
        .remove("revocation_endpoint");
    let clock = FakeClock::new();
    let session = session_with(&provider, &clock, Arc::new(MemoryTokenStore::new()), 3600).await;
    assert!(matches!(
        session.logout().await.unwrap(),
        RevocationOutcome::NotSupported
    ));
    assert!(!session.is_signed_in().await);
}

// ----- loopback listener -----

async fn raw_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).await.unwrap();
    out
}

/// A loopback listener waiting (in a task, up to 30 s) for the callback with `state`.
async fn waiting_listener(
    state: &'static str,
) -> (
    std::net::SocketAddr,
    String,
    tokio::task::JoinHandle<Result<airlock_auth::AuthorizationCode, AuthError>>,
) {
    let listener = LoopbackListener::bind().await.unwrap();
    let (addr, redirect_uri) = (listener.local_addr(), listener.redirect_uri());
    let wait = tokio::spawn(async move {
        listener
            .wait_for_code(state, Duration::from_secs(30), &airlock_auth::SystemClock)
            .await
    });
    (addr, redirect_uri, wait)
}

#[tokio::test]
async fn loopback_ignores_stray_requests_and_returns_the_code() {
    let (addr, redirect_uri, wait) = waiting_listener("st%te").await;
    assert!(addr.ip().is_loopback());
    assert_eq!(
        redirect_uri,
        format!("http://127.0.0.1:{}/callback", addr.port())
    );
    assert!(
        raw_get(addr, "/favicon.ico")
            .await
            .starts_with("HTTP/1.1 404")
    );
    assert!(raw_get(addr, "/callback").await.starts_with("HTTP/1.1 400"));
    let page = raw_get(addr, "/callback?code=c%2F1&state=st%25te&iss=x").await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("Signed in"));
    let code = wait.await.unwrap().unwrap();
    assert_eq!(code.expose_secret(), "c/1");
    // The listener is closed afterwards.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn loopback_state_mismatch_and_error_callbacks() {
    let (addr, _, wait) = waiting_listener("expected").await;
    assert!(
        raw_get(addr, "/callback?code=c&state=forged")
            .await
            .starts_with("HTTP/1.1 400")
    );
    assert!(matches!(wait.await.unwrap(), Err(AuthError::StateMismatch)));

    let (addr, _, wait) = waiting_listener("expected").await;
    let page = raw_get(
        addr,
        "/callback?error=access_denied&error_description=No%20thanks",
    )
    .await;
    assert!(page.contains("Sign-in failed"));
    let err = wait.await.unwrap().unwrap_err();
    assert!(err.is_access_denied(), "{err:?}");
    assert!(err.to_string().contains("No thanks"));
}

#[tokio::test]
async fn loopback_times_out() {
    let listener = LoopbackListener::bind().await.unwrap();
    let clock = FakeClock::new();
    let err = listener
        .wait_for_code("s", Duration::from_secs(120), &*clock)
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::Timeout(d) if d == Duration::from_secs(120)));
    assert!(err.is_timeout());
}

// ----- consent -----

#[test]
fn consent_errors_parse_from_403_bodies() {
    let body = br#"{"error":"app_consent_required","message":"Consent needed","consentUrl":"https://igw.test/consent/1","appName":"My Agent","appId":"app-1"}"#;
    let e = ConsentError::from_response(http::StatusCode::FORBIDDEN, body).unwrap();
    assert_eq!(e.kind, ConsentErrorKind::Required);
    assert_eq!(e.consent_url.as_deref(), Some("https://igw.test/consent/1"));
    assert_eq!(e.app_name.as_deref(), Some("My Agent"));
    assert_eq!(e.app_id.as_deref(), Some("app-1"));
    assert_eq!(e.message.as_deref(), Some("Consent needed"));
    assert!(matches!(ConsentState::from(e), ConsentState::Waiting(_)));

    let pending = ConsentError::from_body(br#"{"error":"app_consent_pending"}"#).unwrap();
    assert_eq!(pending.kind, ConsentErrorKind::Pending);
    let denied = ConsentError::from_body(br#"{"error":"app_consent_denied","appId":"x"}"#).unwrap();
    assert!(matches!(
        ConsentState::from(denied),
        ConsentState::Denied(_)
    ));
    // HARP error envelope with details.
    let harp = br#"{"msgType":"error","body":{"code":"app_consent_pending","message":"wait","details":{"consentUrl":"https://c.test","appName":"A","appId":"1"}}}"#;
    let e = ConsentError::from_body(harp).unwrap();
    assert_eq!(e.kind, ConsentErrorKind::Pending);
    assert_eq!(e.consent_url.as_deref(), Some("https://c.test"));

    // A successful consent-status response.
    let ok: airlock_types::ConsentStatusResponse =
        serde_json::from_str(r#"{"status":"approved"}"#).unwrap();
    assert_eq!(ConsentState::from(ok), ConsentState::Granted);
    let revoked: airlock_types::ConsentStatusResponse =
        serde_json::from_str(r#"{"status":"Revoked","consentUrl":"https://c.test"}"#).unwrap();
    assert!(
        matches!(ConsentState::from(revoked), ConsentState::Denied(e) if e.consent_url.as_deref() == Some("https://c.test"))
    );
    let pending: airlock_types::ConsentStatusResponse =
        serde_json::from_str(r#"{"status":"Pending"}"#).unwrap();
    assert!(matches!(
        ConsentState::from(pending),
        ConsentState::Waiting(_)
    ));

    // Not consent errors.
    assert!(ConsentError::from_response(http::StatusCode::UNAUTHORIZED, body).is_none());
    assert!(ConsentError::from_body(br#"{"error":"quota_exceeded"}"#).is_none());
    assert!(ConsentError::from_body(b"<html>").is_none());
}

fn waiting(status: &str) -> ConsentState {
    ConsentState::from(
        ConsentError::from_body(format!(r#"{{"error":"{status}"}}"#).as_bytes()).unwrap(),
    )
}

#[tokio::test]
async fn wait_for_consent_backs_off_until_granted() {
    let clock = FakeClock::new();
    let mut answers = vec![
        waiting("app_consent_required"),
        waiting("app_consent_pending"),
        waiting("app_consent_pending"),
        ConsentState::Granted,
    ]
    .into_iter();
    let result = wait_for_consent_with_clock(
        &*clock,
        || {
            let next = answers.next().unwrap();
            async move { Ok::<_, std::io::Error>(next) }
        },
        Duration::from_secs(600),
        ConsentBackoff::new(Duration::from_secs(2), Duration::from_secs(5)),
    )
    .await;
    assert!(result.is_ok());
    let secs: Vec<u64> = clock.sleeps().iter().map(Duration::as_secs).collect();
    assert_eq!(secs, [2, 4, 5]);
}

#[tokio::test]
async fn wait_for_consent_stops_on_denial_deadline_and_check_error() {
    let clock = FakeClock::new();
    let denied = wait_for_consent_with_clock(
        &*clock,
        || async { Ok::<_, std::io::Error>(waiting("app_consent_denied")) },
        Duration::from_secs(60),
        ConsentBackoff::default(),
    )
    .await;
    assert!(matches!(denied, Err(ConsentWaitError::Denied(_))));

    let clock = FakeClock::new();
    let mut checks = 0;
    let timed_out = wait_for_consent_with_clock(
        &*clock,
        || {
            checks += 1;
            async { Ok::<_, std::io::Error>(waiting("app_consent_pending")) }
        },
        Duration::from_secs(60),
        ConsentBackoff::default(),
    )
    .await;
    match timed_out {
        Err(ConsentWaitError::TimedOut {
            last: Some(last), ..
        }) => {
            assert_eq!(last.kind, ConsentErrorKind::Pending)
        }
        other => panic!("{other:?}"),
    }
    // 2 + 4 + 8 + 16 + 30 = 60: six checks, never past the deadline.
    assert_eq!(checks, 6);
    assert_eq!(
        clock.sleeps().iter().sum::<Duration>(),
        Duration::from_secs(60)
    );

    let failed = wait_for_consent_with_clock(
        &*FakeClock::new(),
        || async { Err::<ConsentState, _>(std::io::Error::other("gateway down")) },
        Duration::from_secs(60),
        ConsentBackoff::default(),
    )
    .await;
    assert!(matches!(failed, Err(ConsentWaitError::Check(_))));
}

#[tokio::test]
async fn plain_http_revocation_endpoints_are_refused() {
    let provider = MockProvider::new();
    provider.discovery.lock().unwrap().as_mut().unwrap()["revocation_endpoint"] =
        "http://id.example.test/revoke".into();
    let clock = FakeClock::new();
    let err = client(&provider, &clock)
        .revoke(&SecretToken::new("t"), TokenKind::RefreshToken)
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::InvalidConfig { .. }), "{err:?}");
    assert!(provider.seen("/revoke").is_empty());
}

#[tokio::test]
async fn a_cancelled_caller_does_not_lose_a_rotated_refresh_token() {
    let provider = MockProvider::new();
    *provider.token_delay.lock().unwrap() = Some(Duration::from_millis(100));
    provider.push("/token", token_response("acc-1", Some("ref-1"), 3600));
    let clock = FakeClock::new();
    let store = Arc::new(RecordingStore::default());
    let session = session_with(&provider, &clock, store.clone(), 10).await;
    // The caller gives up while the provider is answering.
    let gave_up = tokio::time::timeout(Duration::from_millis(10), session.access_token()).await;
    assert!(gave_up.is_err());
    // The refresh finishes anyway, and the rotated token is saved and held.
    assert_eq!(
        session.access_token().await.unwrap().expose_secret(),
        "acc-1"
    );
    assert_eq!(
        store
            .saved
            .lock()
            .unwrap()
            .last()
            .cloned()
            .flatten()
            .as_deref(),
        Some("ref-1")
    );
    assert_eq!(provider.seen("/token").len(), 1);
}

#[tokio::test]
async fn loopback_http_revocation_endpoints_are_allowed() {
    // A local provider (such as the Airlock sandbox) serves plain http on loopback; the
    // transport allows exactly that, and so does revocation.
    let provider = MockProvider::new();
    provider.discovery.lock().unwrap().as_mut().unwrap()["revocation_endpoint"] =
        "http://127.0.0.1:8080/revoke".into();
    provider.push("/revoke", Reply::Raw(200, "text/plain", String::new()));
    let clock = FakeClock::new();
    client(&provider, &clock)
        .revoke(&SecretToken::new("t"), TokenKind::RefreshToken)
        .await
        .unwrap();
    let seen = provider.seen("/revoke");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].param("token"), Some("t"));
    assert_eq!(seen[0].param("token_type_hint"), Some("refresh_token"));
}
