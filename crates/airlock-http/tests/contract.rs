//! The cross-crate contract: the closure and `Arc` blanket impls, object safety, secrets.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use airlock_http::{
    BoxFuture, Bytes, HttpClient, HyperTransport, MaxResponseBody, RequestTimeout, SecretToken,
    TokenSource, TokenSourceError, TransportError,
};

#[tokio::test]
async fn a_closure_is_an_http_client_and_sees_the_extensions() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let client = move |request: http::Request<Bytes>| {
        seen.fetch_add(1, Ordering::SeqCst);
        async move {
            let timeout = request.extensions().get::<RequestTimeout>().copied();
            let cap = request.extensions().get::<MaxResponseBody>().copied();
            assert_eq!(timeout, Some(RequestTimeout(Duration::from_secs(65))));
            assert_eq!(cap, Some(MaxResponseBody(1024)));
            Ok::<_, TransportError>(http::Response::new(request.into_body()))
        }
    };
    let shared: Arc<dyn HttpClient> = Arc::new(client);
    let mut request = http::Request::post("https://gateway.example/v1/echo")
        .body(Bytes::from_static(b"ping"))
        .unwrap();
    request
        .extensions_mut()
        .insert(RequestTimeout(Duration::from_secs(65)));
    request.extensions_mut().insert(MaxResponseBody(1024));
    let response = shared.send(request).await.unwrap();
    assert_eq!(response.body(), "ping");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_closure_can_fail_with_a_transport_error() {
    let client = |_request: http::Request<Bytes>| async {
        Err::<http::Response<Bytes>, _>(TransportError::Timeout(Duration::from_secs(1)))
    };
    // Through `Arc<T>` as well as directly.
    let arc = Arc::new(client);
    let err = arc
        .send(http::Request::new(Bytes::new()))
        .await
        .unwrap_err();
    assert!(err.is_timeout());
}

#[test]
fn clients_are_object_safe_and_shareable() {
    fn assert_shareable<T: Send + Sync + 'static>() {}
    assert_shareable::<Arc<dyn HttpClient>>();
    assert_shareable::<Arc<dyn TokenSource>>();
    let _transport: Arc<dyn HttpClient> = Arc::new(HyperTransport::new());
}

#[test]
fn secret_token_debug_shows_no_secret() {
    let token = SecretToken::new("pat_super_secret_value");
    let debug = format!("{token:?}");
    assert!(!debug.contains("super_secret"), "{debug}");
    assert_eq!(debug, "SecretToken(<redacted>)");
    assert_eq!(token.expose_secret(), "pat_super_secret_value");
    let from_str: SecretToken = "abc".into();
    let from_string: SecretToken = String::from("abc").into();
    assert_eq!(from_str.expose_secret(), from_string.expose_secret());
    // Debug of a struct holding a token stays redacted.
    #[derive(Debug)]
    #[allow(dead_code)]
    struct Holder {
        token: SecretToken,
    }
    let holder = format!("{:?}", Holder { token });
    assert!(!holder.contains("super_secret"), "{holder}");
}

#[derive(Debug)]
struct Counting(AtomicUsize);

impl TokenSource for Counting {
    fn access_token(
        &self,
        force_refresh: bool,
    ) -> BoxFuture<'_, Result<SecretToken, TokenSourceError>> {
        Box::pin(async move {
            if force_refresh {
                return Err(TokenSourceError::new("refresh token revoked"));
            }
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            Ok(SecretToken::new(format!("token-{n}")))
        })
    }
}

#[tokio::test]
async fn token_sources_are_object_safe() {
    let source: Arc<dyn TokenSource> = Arc::new(Counting(AtomicUsize::new(0)));
    assert_eq!(
        source.access_token(false).await.unwrap().expose_secret(),
        "token-0"
    );
    let err = source.access_token(true).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "could not obtain an access token: refresh token revoked"
    );
    let io = std::io::Error::other("disk");
    let err = TokenSourceError::with_source("could not read the token file", io);
    assert!(std::error::Error::source(&err).is_some());
}
