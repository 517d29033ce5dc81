//! `HyperTransport` against in-process hyper servers on 127.0.0.1 (plain and TLS with an rcgen
//! self-signed certificate). No test sends traffic to a non-loopback address.

mod common;

use std::sync::Arc;
use std::time::Duration;

use airlock_http::{
    Bytes, HttpClient, HyperTransport, MaxResponseBody, RequestTimeout, TransportError, USER_AGENT,
};
use common::{
    TestBody, echo, get, header, plain_server, post, short_timeouts, silent_server, test_cert,
    tls_server,
};
use http::{Request, Response, StatusCode, Version};
use hyper::body::Incoming;
use tokio::net::TcpListener;

// ---------------------------------------------------------------------------------------------
// Plain HTTP and the URI policy
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn plain_http_to_loopback_works() {
    let base = plain_server(echo).await;
    let transport = HyperTransport::new();
    let response = transport
        .send(post(&format!("{base}/v1/echo?x=1"), "hello"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body(), "hello");
    assert_eq!(response.version(), Version::HTTP_11);
    assert_eq!(header(&response, "x-version"), "HTTP/1.1");
    assert_eq!(header(&response, "content-length"), "5");
}

#[tokio::test]
async fn localhost_name_is_loopback_too() {
    let base = plain_server(echo).await;
    let port = base.rsplit(':').next().unwrap();
    let response = HyperTransport::new()
        .send(post(&format!("http://localhost:{port}/"), "hi"))
        .await
        .unwrap();
    assert_eq!(response.body(), "hi");
}

#[tokio::test]
async fn each_request_carries_the_host_of_its_own_uri() {
    let base = plain_server(echo).await;
    let port = base.rsplit(':').next().unwrap();
    let transport = HyperTransport::new();
    // Alternating authorities: the `Host` remembered for one is never sent to the other.
    for authority in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("LOCALHOST:{port}"),
        format!("127.0.0.1:{port}"),
    ] {
        let response = transport
            .send(get(&format!("http://{authority}/")))
            .await
            .unwrap();
        assert_eq!(header(&response, "x-host"), authority);
    }
}

#[tokio::test]
async fn plain_http_to_a_non_loopback_host_is_refused_before_connecting() {
    // 192.0.2.1 is TEST-NET-1 (RFC 5737). Were a connection attempted, the result would be a
    // Connect or Timeout error, not InvalidRequest.
    let transport = short_timeouts();
    let err = transport
        .send(get("http://192.0.2.1/v1/x"))
        .await
        .unwrap_err();
    assert!(err.is_invalid_request(), "{err:?}");
    assert!(err.to_string().contains("192.0.2.1"), "{err}");
    let err = transport
        .send(get("http://gateway.example.com/"))
        .await
        .unwrap_err();
    assert!(err.is_invalid_request(), "{err:?}");
}

#[test]
fn the_insecure_http_opt_in_allows_any_host() {
    // The decision only; nothing is sent.
    let uri: http::Uri = "http://192.0.2.1/v1/x".parse().unwrap();
    assert!(
        HyperTransport::new()
            .check_uri(&uri)
            .unwrap_err()
            .is_invalid_request()
    );
    let opted_in = HyperTransport::builder()
        .allow_insecure_http(true)
        .build()
        .unwrap();
    assert!(opted_in.check_uri(&uri).is_ok());
    let relative: http::Uri = "/v1/x".parse().unwrap();
    assert!(opted_in.check_uri(&relative).is_err());
}

#[tokio::test]
async fn bad_uris_are_invalid_requests() {
    let transport = HyperTransport::new();
    for uri in [
        "/relative",
        "ftp://127.0.0.1/",
        "https://user:pw@127.0.0.1/",
    ] {
        let err = transport.send(get(uri)).await.unwrap_err();
        assert!(err.is_invalid_request(), "{uri}: {err:?}");
    }
}

#[tokio::test]
async fn user_agent_is_added_suffixed_or_kept() {
    let base = plain_server(echo).await;
    let response = HyperTransport::new().send(get(&base)).await.unwrap();
    assert_eq!(header(&response, "x-user-agent"), USER_AGENT);
    assert!(USER_AGENT.starts_with("airlock-rs/"));

    let transport = HyperTransport::builder()
        .user_agent_product("my-enforcer/1.2")
        .build()
        .unwrap();
    let response = transport.send(get(&base)).await.unwrap();
    assert_eq!(
        header(&response, "x-user-agent"),
        format!("{USER_AGENT} my-enforcer/1.2")
    );

    let request = Request::get(&base)
        .header(http::header::USER_AGENT, "custom/9")
        .body(Bytes::new())
        .unwrap();
    let response = transport.send(request).await.unwrap();
    assert_eq!(header(&response, "x-user-agent"), "custom/9");
}

#[tokio::test]
async fn redirects_are_returned_not_followed() {
    let base = plain_server(|request: Request<Incoming>| async move {
        let status = if request.uri().path() == "/start" {
            StatusCode::FOUND
        } else {
            StatusCode::IM_A_TEAPOT
        };
        Response::builder()
            .status(status)
            .header(http::header::LOCATION, "/elsewhere")
            .body(TestBody::empty())
            .unwrap()
    })
    .await;
    let response = HyperTransport::new()
        .send(get(&format!("{base}/start")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(header(&response, "location"), "/elsewhere");
}

#[tokio::test]
async fn an_http2_version_on_the_request_is_ignored_over_plain_http() {
    let base = plain_server(echo).await;
    let request = Request::get(&base)
        .version(Version::HTTP_2)
        .body(Bytes::new())
        .unwrap();
    let response = HyperTransport::new().send(request).await.unwrap();
    assert_eq!(header(&response, "x-version"), "HTTP/1.1");
}

#[tokio::test]
async fn connection_refused_is_a_connect_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = short_timeouts()
        .send(get(&format!("http://{addr}/")))
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(err.is_unreachable(), "refused means unreachable: {err:?}");
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn a_name_that_does_not_resolve_is_unreachable() {
    // `.invalid` never resolves (RFC 6761 §6.4).
    let err = short_timeouts()
        .send(get("https://airlock-test.invalid/"))
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(err.is_unreachable(), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// TLS and HTTP/2
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn tls_with_the_self_signed_certificate_as_extra_root_negotiates_http2() {
    let cert = test_cert();
    let base = tls_server(&cert, &[b"h2", b"http/1.1"], echo).await;
    let transport = HyperTransport::builder()
        .add_root_certificate_der(cert.der.to_vec())
        .build()
        .unwrap();
    let response = transport
        .send(post(&format!("{base}/v1/echo"), "over tls"))
        .await
        .unwrap();
    assert_eq!(response.body(), "over tls");
    assert_eq!(response.version(), Version::HTTP_2);
    assert_eq!(header(&response, "x-version"), "HTTP/2.0");
}

#[tokio::test]
async fn tls_with_a_pem_root_and_an_http1_only_server() {
    let cert = test_cert();
    let base = tls_server(&cert, &[b"http/1.1"], echo).await;
    let transport = HyperTransport::builder()
        .tls_webpki_roots(false)
        .add_root_certificates_pem(&cert.pem)
        .build()
        .unwrap();
    let response = transport.send(post(&base, "h1")).await.unwrap();
    assert_eq!(response.body(), "h1");
    assert_eq!(response.version(), Version::HTTP_11);
    assert_eq!(header(&response, "x-version"), "HTTP/1.1");
}

#[tokio::test]
async fn tls_with_a_caller_supplied_client_config() {
    let cert = test_cert();
    let base = tls_server(&cert, &[b"h2"], echo).await;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der.clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let transport = HyperTransport::builder()
        .tls_config(config)
        .build()
        .unwrap();
    let response = transport.send(post(&base, "cfg")).await.unwrap();
    assert_eq!(response.body(), "cfg");
    assert_eq!(response.version(), Version::HTTP_2);
}

#[tokio::test]
async fn tls_without_the_root_fails_to_connect() {
    let cert = test_cert();
    let base = tls_server(&cert, &[b"h2", b"http/1.1"], echo).await;
    let err = HyperTransport::new().send(get(&base)).await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    // Something answered: a TLS failure is never "unreachable" (no fail-open on it).
    assert!(!err.is_unreachable(), "{err:?}");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
}

#[tokio::test]
async fn a_stalled_tls_handshake_hits_the_connect_timeout() {
    let addr = silent_server().await;
    let transport = HyperTransport::builder()
        .connect_timeout(Duration::from_millis(200))
        .request_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let err = transport
        .send(get(&format!("https://{addr}/")))
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(
        err.is_unreachable(),
        "a connect timeout is unreachable: {err:?}"
    );
    assert!(err.to_string().contains("timed out"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Timeouts
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let addr = silent_server().await;
    let err = short_timeouts()
        .send(get(&format!("http://{addr}/")))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}

#[tokio::test]
async fn a_body_that_never_ends_times_out() {
    let base = plain_server(|_request| async { Response::new(TestBody::hanging(10)) }).await;
    let err = short_timeouts().send(get(&base)).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}

#[tokio::test]
async fn request_timeout_extension_shortens_the_default() {
    let addr = silent_server().await;
    let transport = HyperTransport::new(); // 30 s default
    let mut request = get(&format!("http://{addr}/"));
    request
        .extensions_mut()
        .insert(RequestTimeout(Duration::from_millis(200)));
    let err = transport.send(request).await.unwrap_err();
    assert!(
        matches!(err, TransportError::Timeout(after) if after == Duration::from_millis(200)),
        "{err:?}"
    );
}

#[tokio::test]
async fn request_timeout_extension_lengthens_the_default() {
    let base = plain_server(|_request| async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        Response::new(TestBody::full("late"))
    })
    .await;
    let transport = HyperTransport::builder()
        .request_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let err = transport.send(get(&base)).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    let mut request = get(&base);
    request
        .extensions_mut()
        .insert(RequestTimeout(Duration::from_secs(30)));
    let response = transport.send(request).await.unwrap();
    assert_eq!(response.body(), "late");
}

// ---------------------------------------------------------------------------------------------
// Response body cap
// ---------------------------------------------------------------------------------------------

fn capped(limit: usize) -> HyperTransport {
    HyperTransport::builder()
        .max_response_body(limit)
        .build()
        .unwrap()
}

fn assert_too_large(result: Result<Response<Bytes>, TransportError>, limit: usize) {
    match result {
        Err(TransportError::BodyTooLarge { limit: l }) => assert_eq!(l, limit),
        other => panic!("expected BodyTooLarge, got {other:?}"),
    }
}

#[tokio::test]
async fn a_declared_length_over_the_cap_fails_before_reading() {
    // Declares 1 GiB, sends 10 bytes, then stalls: only the up-front check can fail fast;
    // reading would end in a Timeout instead.
    let base = plain_server(|_request| async {
        Response::builder()
            .header(http::header::CONTENT_LENGTH, "1073741824")
            .body(TestBody::hanging(10))
            .unwrap()
    })
    .await;
    assert_too_large(capped(1024).send(get(&base)).await, 1024);
}

#[tokio::test]
async fn a_chunked_body_over_the_cap_fails() {
    let base = plain_server(|_request| async { Response::new(TestBody::chunked(100, 11)) }).await;
    assert_too_large(capped(1000).send(get(&base)).await, 1000);
    // Exactly at the cap is fine.
    let base = plain_server(|_request| async { Response::new(TestBody::chunked(100, 10)) }).await;
    let response = capped(1000).send(get(&base)).await.unwrap();
    assert_eq!(response.body().len(), 1000);
    assert!(response.headers().get("content-length").is_none());
}

#[tokio::test]
async fn an_endless_chunked_body_fails() {
    let base = plain_server(|_request| async { Response::new(TestBody::endless()) }).await;
    assert_too_large(capped(64 * 1024).send(get(&base)).await, 64 * 1024);
    // Also with the default cap (8 MiB).
    assert_too_large(
        HyperTransport::new().send(get(&base)).await,
        HyperTransport::DEFAULT_MAX_RESPONSE_BODY,
    );
}

#[tokio::test]
async fn an_endless_body_over_http2_fails() {
    let cert = test_cert();
    let base = tls_server(&cert, &[b"h2"], |_request| async {
        Response::new(TestBody::endless())
    })
    .await;
    let transport = HyperTransport::builder()
        .add_root_certificate_der(cert.der.to_vec())
        .max_response_body(100_000)
        .build()
        .unwrap();
    assert_too_large(transport.send(get(&base)).await, 100_000);
}

#[tokio::test]
async fn max_response_body_extension_overrides_the_cap() {
    let base =
        plain_server(|_request| async { Response::new(TestBody::full(vec![b'y'; 2000])) }).await;
    let transport = capped(1000);
    assert_too_large(transport.send(get(&base)).await, 1000);
    let mut larger = get(&base);
    larger.extensions_mut().insert(MaxResponseBody(2000));
    assert_eq!(transport.send(larger).await.unwrap().body().len(), 2000);
    let mut smaller = get(&base);
    smaller.extensions_mut().insert(MaxResponseBody(10));
    assert_too_large(HyperTransport::new().send(smaller).await, 10);
}

#[tokio::test]
async fn head_and_no_content_answers_ignore_content_length() {
    let base = plain_server(|request: Request<Incoming>| async move {
        let status = if request.method() == http::Method::HEAD {
            StatusCode::OK
        } else {
            StatusCode::NOT_MODIFIED
        };
        Response::builder()
            .status(status)
            .header(http::header::CONTENT_LENGTH, "1073741824")
            // No body and no size hint (an exact hint of 0 would contradict the header).
            .body(TestBody::chunked(0, 0))
            .unwrap()
    })
    .await;
    let transport = capped(10);
    let head = Request::head(&base).body(Bytes::new()).unwrap();
    let response = transport.send(head).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.body().is_empty());
    let response = transport.send(get(&base)).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
}

// ---------------------------------------------------------------------------------------------
// Sharing
// ---------------------------------------------------------------------------------------------

async fn send_concurrently(client: Arc<dyn HttpClient>, base: String) {
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let client = Arc::clone(&client);
            let url = format!("{base}/v1/task/{i}");
            tokio::spawn(async move {
                let body = format!("task {i}");
                let response = client.send(post(&url, body.clone())).await.unwrap();
                assert_eq!(response.status(), StatusCode::OK);
                assert_eq!(response.body(), body.as_str());
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_tasks_share_one_client_over_http1() {
    let base = plain_server(echo).await;
    send_concurrently(Arc::new(HyperTransport::new()), base).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_tasks_share_one_client_over_http2() {
    let cert = test_cert();
    let base = tls_server(&cert, &[b"h2"], echo).await;
    let transport = HyperTransport::builder()
        .add_root_certificate_der(cert.der.to_vec())
        .build()
        .unwrap();
    // Clones share the pool.
    let clone = transport.clone();
    send_concurrently(Arc::new(clone), base).await;
}
