//! Interop tests against node-oidc-provider, an OpenID-certified provider, started on
//! loopback over TLS (a self-signed certificate the test transport trusts) by the harness
//! (tests/support/provider.rs). The user's part (approving a
//! device code, logging in at the authorization endpoint) is scripted over plain HTTP
//! through the provider's own pages and redirects with a cookie jar.

mod support;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use airlock_auth::{
    AuthClient, AuthConfig, AuthError, AuthSession, ClientAuthMethod, Clock, LoopbackListener,
    MemoryTokenStore, PkceVerifier, RevocationOutcome, SystemClock, TokenSet,
};
use airlock_http::{BoxFuture, Bytes, HttpClient, SecretToken};
use support::browser::Browser;
use support::provider::{OidcProvider, transport};

fn client(
    provider: &OidcProvider,
    client_id: &str,
    configure: impl FnOnce(AuthConfig) -> AuthConfig,
) -> AuthClient {
    let config = AuthConfig::new(&provider.issuer, client_id)
        .unwrap()
        .with_offline_access();
    AuthClient::with_http_client(configure(config), Arc::new(transport()))
}

/// Calls the provider's userinfo endpoint with `token`; returns the status and `sub`.
async fn userinfo(provider: &OidcProvider, token: &SecretToken) -> (u16, Option<String>) {
    let request = http::Request::get(format!("{}/me", provider.issuer))
        .header(
            http::header::AUTHORIZATION,
            format!("Bearer {}", token.expose_secret()),
        )
        .body(Bytes::new())
        .unwrap();
    let response = transport().send(request).await.unwrap();
    let sub = serde_json::from_slice::<serde_json::Value>(response.body())
        .ok()
        .and_then(|v| v["sub"].as_str().map(str::to_owned));
    (response.status().as_u16(), sub)
}

/// Device sign-in with the user's part scripted in a browser task.
async fn device_login(client: &AuthClient, approve: bool) -> Result<TokenSet, AuthError> {
    let browser = Browser::new();
    let mut approval = None;
    let result = client
        .device_login(|device| {
            assert!(!device.user_code().is_empty());
            let uri = device
                .verification_uri_complete()
                .expect("node-oidc-provider sends verification_uri_complete")
                .to_owned();
            assert_eq!(device.uri_to_open(), uri);
            approval = Some(tokio::spawn(async move {
                browser.handle_device_code(&uri, approve).await
            }));
        })
        .await;
    let page = approval.unwrap().await.unwrap();
    if approve {
        assert!(page.body.contains("Sign-in Success"), "{}", page.body);
    }
    result
}

/// A short real interval: node-oidc-provider sends no `interval`, so the default 5 s
/// would apply; this clock sleeps 200 ms instead and reports real time.
#[derive(Debug)]
struct QuickClock;

impl Clock for QuickClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
    fn sleep(&self, _: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(Duration::from_millis(200)))
    }
}

/// Never advances (and never waits): polls go to the provider, whose clock decides.
#[derive(Debug)]
struct FrozenClock(SystemTime);

impl Clock for FrozenClock {
    fn now(&self) -> SystemTime {
        self.0
    }
    fn sleep(&self, _: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(Duration::from_millis(100)))
    }
}

fn quick(config: AuthConfig) -> AuthConfig {
    config.with_clock(Arc::new(QuickClock))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery() {
    let Some(provider) = OidcProvider::start() else {
        return;
    };
    let client = client(&provider, "device-public", |c| c);
    let meta = client.discover().await.unwrap();
    assert_eq!(meta.issuer, provider.issuer);
    assert_eq!(meta.token_endpoint, format!("{}/token", provider.issuer));
    assert_eq!(
        meta.device_authorization_endpoint.as_deref(),
        Some(&*format!("{}/device/auth", provider.issuer))
    );
    assert!(meta.revocation_endpoint.is_some());
    assert_eq!(
        meta.authorization_endpoint,
        format!("{}/auth", provider.issuer)
    );
    assert!(
        meta.code_challenge_methods_supported
            .iter()
            .any(|m| m == "S256")
    );
    assert!(client.supports_revocation().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_grant_public_client() {
    let Some(provider) = OidcProvider::start() else {
        return;
    };
    let client = client(&provider, "device-public", quick);
    let tokens = device_login(&client, true).await.unwrap();
    assert!(
        tokens.refresh_token().is_some(),
        "offline_access gives a refresh token"
    );
    assert!(tokens.id_token().is_some());
    assert!(tokens.expires_at().is_some());
    assert!(tokens.scopes().iter().any(|s| s == "offline_access"));
    assert_eq!(
        userinfo(&provider, tokens.access_token()).await,
        (200, Some("test-user".into()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_grant_confidential_clients() {
    let Some(provider) = OidcProvider::start() else {
        return;
    };
    // client_secret_basic, chosen automatically from discovery.
    let basic = client(&provider, "device-confidential", |c| {
        quick(c).with_client_secret("device-confidential-secret".into())
    });
    let tokens = device_login(&basic, true).await.unwrap();
    assert_eq!(userinfo(&provider, tokens.access_token()).await.0, 200);
    // client_secret_post, configured.
    let post = client(&provider, "device-post", |c| {
        quick(c)
            .with_client_secret("device-post-secret".into())
            .with_client_auth_method(ClientAuthMethod::SecretPost)
    });
    let tokens = device_login(&post, true).await.unwrap();
    // And its refresh authenticates the same way.
    let refreshed = post.refresh(&tokens).await.unwrap();
    assert_eq!(userinfo(&provider, refreshed.access_token()).await.0, 200);
    // A wrong secret: invalid_client, before any code is shown.
    let wrong = client(&provider, "device-confidential", |c| {
        quick(c).with_client_secret("wrong".into())
    });
    let err = wrong
        .device_login(|_| panic!("no code for a bad client"))
        .await
        .unwrap_err();
    assert!(err.is_invalid_client(), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_grant_access_denied() {
    let Some(provider) = OidcProvider::start() else {
        return;
    };
    let client = client(&provider, "device-public", quick);
    let err = device_login(&client, false).await.unwrap_err();
    assert!(err.is_access_denied(), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_grant_expired_token() {
    let Some(provider) = OidcProvider::start() else {
        return;
    };
    // `device-short` codes live one second at the provider.
    let frozen = client(&provider, "device-short", |c| {
        c.with_clock(Arc::new(FrozenClock(SystemTime::now())))
    });
    let device = frozen.start_device_authorization().await.unwrap();
    assert_eq!(device.expires_in(), Duration::from_secs(1));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Our own deadline is frozen, so this is the provider's `expired_token`.
    let err = frozen.poll_device_authorization(&device).await.unwrap_err();
    assert!(err.is_expired_token(), "{err:?}");

    // With real time, polling stops at `expires_in` (one second) by itself.
    let quick_client = client(&provider, "device-short", quick);
    let device = quick_client.start_device_authorization().await.unwrap();
    let err = quick_client
        .poll_device_authorization(&device)
        .await
        .unwrap_err();
    assert!(err.is_expired_token(), "{err:?}");
}

/// Plays the browser for an authorization URL: follows the provider's redirects through
/// login and consent to the redirect URI (our loopback listener).
fn play_browser(url: &url::Url) -> tokio::task::JoinHandle<support::browser::Page> {
    let url = url.to_string();
    tokio::spawn(async move { Browser::new().open(&url).await })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_code_with_pkce_through_the_loopback_listener() {
    let Some(provider) = OidcProvider::start() else {
        return;
    };
    let client = client(&provider, "native-app", |c| c);
    let mut browser = None;
    let tokens = client
        .login_with_loopback(
            |url| {
                assert!(
                    url.as_str()
                        .starts_with(&format!("{}/auth?", provider.issuer))
                );
                browser = Some(play_browser(url));
            },
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    let page = browser.unwrap().await.unwrap();
    assert_eq!(page.url.host_str(), Some("127.0.0.1"));
    assert_eq!(page.url.path(), "/callback");
    assert!(page.body.contains("Signed in"), "{}", page.body);
    assert!(tokens.refresh_token().is_some());
    assert_eq!(
        userinfo(&provider, tokens.access_token()).await,
        (200, Some("test-user".into()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_code_error_callback() {
    let Some(provider) = OidcProvider::start() else {
        return;
    };
    let client = client(&provider, "native-app", |c| c);
    let mut browser = None;
    let err = client
        .login_with_loopback(
            |url| {
                // The test provider refuses requests with this login hint.
                let mut url = url.clone();
                url.query_pairs_mut().append_pair("login_hint", "deny");
                browser = Some(play_browser(&url));
            },
            Duration::from_secs(60),
        )
        .await
        .unwrap_err();
    assert!(err.is_access_denied(), "{err:?}");
    let page = browser.unwrap().await.unwrap();
    assert!(page.body.contains("Sign-in failed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_code_is_refused_and_revokes_its_tokens() {
    let Some(provider) = OidcProvider::start() else {
        return;
    };
    let client = client(&provider, "native-app", |c| c);
    let listener = LoopbackListener::bind().await.unwrap();
    let redirect_uri = listener.redirect_uri();
    let request = client.authorization_url(&redirect_uri).await.unwrap();
    let browser = play_browser(&request.url);
    let code = listener
        .wait_for_code(&request.state, Duration::from_secs(60), &SystemClock)
        .await
        .unwrap();
    browser.await.unwrap();
    let verifier = request.verifier.expose_secret().to_owned();
    let tokens = client
        .exchange_code(code.expose_secret(), request.verifier, &redirect_uri)
        .await
        .unwrap();
    assert_eq!(userinfo(&provider, tokens.access_token()).await.0, 200);
    let err = client
        .exchange_code(
            code.expose_secret(),
            PkceVerifier::new(verifier),
            &redirect_uri,
        )
        .await
        .unwrap_err();
    assert!(err.is_invalid_grant(), "{err:?}");
    assert_eq!(userinfo(&provider, tokens.access_token()).await.0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_rotation_and_reuse_detection() {
    let Some(provider) = OidcProvider::start() else {
        return;
    };
    let client = client(&provider, "device-public", quick);
    let first = device_login(&client, true).await.unwrap();
    let store = Arc::new(MemoryTokenStore::new());
    let session = AuthSession::open(client.clone(), store.clone())
        .await
        .unwrap();
    session.sign_in(first.clone()).await.unwrap();

    // Rotation: a new access and refresh token, saved to the store.
    let access = session.refresh().await.unwrap();
    let held = session.tokens().await.unwrap();
    let rotated = held.refresh_token().unwrap().expose_secret().to_owned();
    assert_ne!(rotated, first.refresh_token().unwrap().expose_secret());
    assert_ne!(access.expose_secret(), first.access_token().expose_secret());
    let stored = airlock_auth::TokenStore::load(&*store)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.refresh_token().unwrap().expose_secret(), rotated);
    assert_eq!(userinfo(&provider, &access).await.0, 200);

    // Reusing the rotated-away refresh token: invalid_grant, and the grant is revoked...
    let err = client.refresh(&first).await.unwrap_err();
    assert!(err.is_invalid_grant(), "{err:?}");
    assert_eq!(userinfo(&provider, &access).await.0, 401);
    // ...so the session's current refresh token is dead too, and the session signs out.
    let err = session.refresh().await.unwrap_err();
    assert!(err.is_invalid_grant() && err.requires_sign_in(), "{err:?}");
    assert!(!session.is_signed_in().await);
    assert!(
        airlock_auth::TokenStore::load(&*store)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_revokes_then_refresh_is_invalid_grant() {
    let Some(provider) = OidcProvider::start() else {
        return;
    };
    let client = client(&provider, "device-confidential", |c| {
        quick(c).with_client_secret("device-confidential-secret".into())
    });
    let tokens = device_login(&client, true).await.unwrap();
    let session = AuthSession::open(client.clone(), Arc::new(MemoryTokenStore::new()))
        .await
        .unwrap();
    session.sign_in(tokens.clone()).await.unwrap();
    assert_eq!(
        userinfo(&provider, &session.access_token().await.unwrap())
            .await
            .0,
        200
    );
    let outcome = session.logout().await.unwrap();
    assert!(matches!(outcome, RevocationOutcome::Revoked), "{outcome:?}");
    assert!(!session.is_signed_in().await);
    assert_eq!(userinfo(&provider, tokens.access_token()).await.0, 401);
    let err = client.refresh(&tokens).await.unwrap_err();
    assert!(err.is_invalid_grant(), "{err:?}");
}
