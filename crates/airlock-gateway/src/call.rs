//! Endpoints as values (sans-I/O): a [`Call`] describes one request and knows how to read its
//! response. Building a request and reading a response are pure functions over `http` types.

use std::borrow::Cow;
use std::marker::PhantomData;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::uri::PathAndQuery;
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ConsentDetails, Error, ProtocolError, ProtocolErrorKind, ServiceError};
use crate::retry::parse_retry_after;
use airlock_types::ErrorCode;

/// Everything outside RFC 3986 "unreserved" is encoded in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The `Accept` header sent with every request.
pub(crate) const ACCEPT_VALUE: &str = "application/json, application/harp+json";

/// Percent-encodes one path segment. The only way ids enter a path.
///
/// Refused as [`check_segment`] refuses. An id made of unreserved characters only (the usual
/// case) is returned as is.
pub(crate) fn segment<'a>(what: &str, value: &'a str) -> Result<Cow<'a, str>, Error> {
    check_segment(what, value)?;
    if value.bytes().all(|b| UNRESERVED[usize::from(b)]) {
        return Ok(Cow::Borrowed(value));
    }
    Ok(utf8_percent_encode(value, SEGMENT).into())
}

/// Checks that `value` can be a path segment (see [`segment`]): empty, `.` and `..` are
/// refused — they cannot be ids and would change the path.
pub(crate) fn check_segment(what: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::invalid_input(format!("{what} must not be empty")));
    }
    if value == "." || value == ".." {
        return Err(Error::invalid_input(format!(
            "{what} must not be `.` or `..`"
        )));
    }
    Ok(())
}

/// The bytes [`SEGMENT`] leaves as they are (RFC 3986 "unreserved"), as a table.
const UNRESERVED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~');
        b += 1;
    }
    table
};

/// Serializes a query struct (`application/x-www-form-urlencoded`).
pub(crate) fn query<Q: Serialize>(q: &Q) -> Result<Option<String>, Error> {
    let s = serde_urlencoded::to_string(q)
        .map_err(|e| Error::invalid_input(format!("query cannot be encoded: {e}")))?;
    Ok((!s.is_empty()).then_some(s))
}

/// Every request body but the largest artifact submissions fits: one allocation, no
/// regrowth (a typical submission, a 1 KiB artifact sealed, is about 2 KiB).
const BODY_CAPACITY: usize = 4096;

/// Serializes a JSON request body.
pub(crate) fn json_body<B: Serialize>(b: &B) -> Result<Bytes, Error> {
    let mut out = Vec::with_capacity(BODY_CAPACITY);
    serde_json::to_writer(&mut out, b)
        .map_err(|e| Error::invalid_input(format!("request body cannot be serialized: {e}")))?;
    Ok(out.into())
}

/// The gateway's base URL: scheme, authority and an optional path prefix (no trailing `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BaseUrl {
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
    prefix: String,
}

impl BaseUrl {
    pub(crate) fn parse(url: &str) -> Result<Self, Error> {
        let uri: Uri = url
            .trim()
            .parse()
            .map_err(|e| Error::invalid_input(format!("invalid base URL: {e}")))?;
        let parts = uri.into_parts();
        let scheme = parts
            .scheme
            .filter(|s| *s == http::uri::Scheme::HTTP || *s == http::uri::Scheme::HTTPS)
            .ok_or_else(|| Error::invalid_input("base URL must start with http:// or https://"))?;
        let authority = parts
            .authority
            .ok_or_else(|| Error::invalid_input("base URL has no host"))?;
        if authority.as_str().contains('@') {
            return Err(Error::invalid_input(
                "base URL must not contain user information",
            ));
        }
        let (prefix, query) = match &parts.path_and_query {
            Some(pq) => (pq.path(), pq.query()),
            None => ("", None),
        };
        if query.is_some() {
            return Err(Error::invalid_input("base URL must not have a query"));
        }
        Ok(Self {
            scheme,
            authority,
            prefix: prefix.trim_end_matches('/').to_owned(),
        })
    }

    /// The absolute URI of `path` (starting with `/`) and an optional encoded query.
    pub(crate) fn join(&self, path: &str, query: Option<&str>) -> Result<Uri, Error> {
        let invalid = |e: &dyn std::fmt::Display| {
            Error::invalid_input(format!("cannot build request URI: {e}"))
        };
        let query_len = query.map_or(0, |q| 1 + q.len());
        let mut pq = String::with_capacity(self.prefix.len() + path.len() + query_len);
        pq.push_str(&self.prefix);
        pq.push_str(path);
        if let Some(q) = query {
            pq.push('?');
            pq.push_str(q);
        }
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(self.scheme.clone());
        parts.authority = Some(self.authority.clone());
        parts.path_and_query = Some(PathAndQuery::try_from(pq).map_err(|e| invalid(&e))?);
        Uri::from_parts(parts).map_err(|e| invalid(&e))
    }
}

impl std::fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}{}", self.scheme, self.authority, self.prefix)
    }
}

/// How a response body becomes the call's result.
pub(crate) trait ResponseBody: Sized {
    /// True when `204 No Content` is a valid answer (if the call lists it).
    const EMPTY_OK: bool;
    fn decode(bytes: &[u8]) -> Result<Self, serde_json::Error>;
}

/// A JSON response body.
#[derive(Debug)]
pub(crate) struct Json<T>(pub(crate) T);

impl<T: DeserializeOwned> ResponseBody for Json<T> {
    const EMPTY_OK: bool = false;
    fn decode(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        // One UTF-8 check of the whole body (SIMD) spares serde_json a check of every
        // string. A body that is not UTF-8 is read as bytes, for serde_json's error.
        match simdutf8::basic::from_utf8(bytes) {
            Ok(text) => serde_json::from_str(text),
            Err(_) => serde_json::from_slice(bytes),
        }
        .map(Json)
    }
}

/// A response whose body is not needed.
#[derive(Debug)]
pub(crate) struct Discard;

impl ResponseBody for Discard {
    const EMPTY_OK: bool = true;
    fn decode(_: &[u8]) -> Result<Self, serde_json::Error> {
        Ok(Discard)
    }
}

/// One endpoint call, described as a value.
#[derive(Debug)]
pub(crate) struct Call<R> {
    /// The SDK method name (for spans and logs).
    pub(crate) name: &'static str,
    pub(crate) method: Method,
    /// The encoded path, starting with `/`, relative to the base URL.
    pub(crate) path: Cow<'static, str>,
    pub(crate) query: Option<String>,
    pub(crate) body: Option<Bytes>,
    /// Safe to send again (see [`RetryPolicy`](crate::RetryPolicy)).
    pub(crate) idempotent: bool,
    /// The success statuses of this endpoint (other 2xx are protocol errors).
    pub(crate) success: &'static [u16],
    /// `204 No Content` means "nothing yet" (`Ok(None)`).
    pub(crate) no_content_is_none: bool,
    /// A total timeout for this request, overriding the client's default.
    pub(crate) timeout: Option<Duration>,
    /// A request id for the tracing span.
    pub(crate) request_id: Option<String>,
    response: PhantomData<fn() -> R>,
}

impl<R: ResponseBody> Call<R> {
    pub(crate) fn new(
        name: &'static str,
        method: Method,
        path: impl Into<Cow<'static, str>>,
    ) -> Self {
        let idempotent = method == Method::GET;
        Self {
            name,
            method,
            path: path.into(),
            query: None,
            body: None,
            idempotent,
            success: &[200],
            no_content_is_none: false,
            timeout: None,
            request_id: None,
            response: PhantomData,
        }
    }

    pub(crate) fn get(name: &'static str, path: impl Into<Cow<'static, str>>) -> Self {
        Self::new(name, Method::GET, path)
    }

    pub(crate) fn post<B: Serialize>(
        name: &'static str,
        path: impl Into<Cow<'static, str>>,
        body: &B,
    ) -> Result<Self, Error> {
        let mut call = Self::new(name, Method::POST, path);
        call.body = Some(json_body(body)?);
        Ok(call)
    }

    pub(crate) fn idempotent(mut self, yes: bool) -> Self {
        self.idempotent = yes;
        self
    }

    pub(crate) fn success(mut self, statuses: &'static [u16]) -> Self {
        self.success = statuses;
        self
    }

    /// Names the exchange in the request's tracing span (kept only when that span is on).
    pub(crate) fn request_id(mut self, id: &str) -> Self {
        if tracing::enabled!(tracing::Level::DEBUG) {
            self.request_id = Some(id.to_owned());
        }
        self
    }

    /// Builds the request: URI, method, the caller's `headers` (user agent, `Accept`, auth)
    /// with `Content-Type` added to a body, and the per-request timeout extension.
    pub(crate) fn build(
        &self,
        base: &BaseUrl,
        mut headers: HeaderMap,
    ) -> Result<Request<Bytes>, Error> {
        let uri = base.join(&self.path, self.query.as_deref())?;
        if self.body.is_some() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let mut request = Request::new(self.body.clone().unwrap_or_default());
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        if let Some(t) = self.timeout {
            request
                .extensions_mut()
                .insert(airlock_http::RequestTimeout(t));
        }
        Ok(request)
    }

    /// Reads a response: success → decoded body (`None` for an allowed `204`), error status
    /// → a service or protocol error. Never panics.
    pub(crate) fn read(
        &self,
        response: &Response<Bytes>,
        now: SystemTime,
    ) -> Result<Option<R>, Error> {
        let status = response.status();
        let body = response.body();
        if status == StatusCode::NO_CONTENT {
            // "Nothing yet" where the call says so; an answer where the call expects an
            // empty one; anything else breaks the protocol.
            if self.no_content_is_none {
                return Ok(None);
            }
            let empty_answer = R::EMPTY_OK
                && self.success.contains(&status.as_u16())
                && body.iter().all(u8::is_ascii_whitespace);
            if !empty_answer {
                return Err(protocol(
                    ProtocolErrorKind::UnexpectedNoContent,
                    status,
                    body,
                    None,
                ));
            }
        }
        if status.is_success() && self.success.contains(&status.as_u16()) {
            return R::decode(body)
                .map(Some)
                .map_err(|e| invalid_body(status, body, e));
        }
        if status.is_client_error() || status.is_server_error() {
            let retry_after = parse_retry_after(response.headers(), now);
            return Err(match parse_error_body(status, body, response.headers()) {
                Some(mut service) => {
                    service.retry_after = retry_after;
                    Error::Service(Box::new(service))
                }
                None => {
                    let mut p = ProtocolError::new(
                        ProtocolErrorKind::UnrecognizedErrorBody,
                        status,
                        body,
                        None,
                    );
                    p.retry_after = retry_after;
                    Error::Protocol(Box::new(p))
                }
            });
        }
        Err(protocol(
            ProtocolErrorKind::UnexpectedStatus,
            status,
            body,
            None,
        ))
    }
}

fn protocol(
    kind: ProtocolErrorKind,
    status: StatusCode,
    body: &[u8],
    source: Option<serde_json::Error>,
) -> Error {
    Error::Protocol(Box::new(ProtocolError::new(kind, status, body, source)))
}

fn invalid_body(status: StatusCode, body: &[u8], e: serde_json::Error) -> Error {
    protocol(ProtocolErrorKind::InvalidBody, status, body, Some(e))
}

/// Parses both error shapes of the gateway:
/// the HARP envelope `{"msgType":"error","requestId":…,"body":{"code","message","requestId","details"}}`
/// and the flat `{"error":…,"message":…,"consentUrl":…,"appName":…,"appId":…}`.
fn parse_error_body(status: StatusCode, body: &[u8], headers: &HeaderMap) -> Option<ServiceError> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let obj = value.as_object()?;
    let text = |o: &serde_json::Map<String, serde_json::Value>, k: &str| {
        o.get(k).and_then(|v| v.as_str()).map(str::to_owned)
    };
    let header_request_id = || {
        headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (code, message, request_id, details, consent_src) = if let Some(inner) =
        obj.get("body").and_then(|b| b.as_object()).filter(|b| {
            b.contains_key("code") || obj.get("msgType").and_then(|m| m.as_str()) == Some("error")
        }) {
        let details = inner.get("details").cloned().filter(|d| !d.is_null());
        (
            text(inner, "code"),
            text(inner, "message"),
            text(obj, "requestId").or_else(|| text(inner, "requestId")),
            details,
            inner
                .get("details")
                .and_then(|d| d.as_object())
                .or(Some(inner)),
        )
    } else if obj.contains_key("error") || obj.contains_key("code") || obj.contains_key("message") {
        let code = match obj.get("error") {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Object(e)) => text(e, "code"),
            _ => text(obj, "code"),
        };
        let message = text(obj, "message").or_else(|| {
            obj.get("error")
                .and_then(|e| e.as_object())
                .and_then(|e| text(e, "message"))
        });
        (code, message, text(obj, "requestId"), None, Some(obj))
    } else {
        return None;
    };
    let consent = consent_src.and_then(|o| {
        let c = ConsentDetails {
            consent_url: text(o, "consentUrl"),
            app_name: text(o, "appName"),
            app_id: text(o, "appId"),
        };
        (c != ConsentDetails::default()).then_some(c)
    });
    Some(ServiceError {
        status,
        code: code.map(ErrorCode::from),
        message,
        request_id: request_id.or_else(header_request_id),
        consent,
        retry_after: None,
        details,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> Response<Bytes> {
        let mut r = Response::new(Bytes::from(body.to_owned()));
        *r.status_mut() = StatusCode::from_u16(status).unwrap();
        r
    }

    fn json_call() -> Call<Json<serde_json::Value>> {
        Call::get("test", "/x")
    }

    #[test]
    fn the_unreserved_table_is_the_encode_set_complement() {
        for b in 0..=255u8 {
            let text = [b];
            let encoded = percent_encoding::percent_encode(&text, SEGMENT).to_string();
            assert_eq!(
                UNRESERVED[usize::from(b)],
                encoded.as_bytes() == text,
                "{b:#04x}"
            );
        }
    }

    #[test]
    fn segments_encode_everything_but_unreserved() {
        assert_eq!(segment("id", "req-AZaz09._~").unwrap(), "req-AZaz09._~");
        assert_eq!(
            segment("id", "a/b?c#d%e f").unwrap(),
            "a%2Fb%3Fc%23d%25e%20f"
        );
        assert_eq!(segment("id", "é").unwrap(), "%C3%A9");
        assert_eq!(segment("id", "...").unwrap(), "...");
        for bad in ["", ".", ".."] {
            assert!(matches!(
                segment("id", bad),
                Err(Error::InvalidInput { .. })
            ));
        }
    }

    #[test]
    fn base_url_keeps_prefix() {
        let b = BaseUrl::parse("https://host:8443/prefix/").unwrap();
        assert_eq!(
            b.join("/v1/echo", Some("a=b")).unwrap().to_string(),
            "https://host:8443/prefix/v1/echo?a=b"
        );
        let b = BaseUrl::parse("http://127.0.0.1:1").unwrap();
        assert_eq!(
            b.join("/echo", None).unwrap().to_string(),
            "http://127.0.0.1:1/echo"
        );
        for bad in [
            "ftp://x",
            "/relative",
            "https://u:p@host",
            "https://h/?q=1",
            "",
            "https://",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn build_sets_headers_and_timeout() {
        let base = BaseUrl::parse("https://gw.example/p").unwrap();
        let mut call: Call<Discard> =
            Call::post("t", "/v1/x", &serde_json::json!({"a": 1})).unwrap();
        call.timeout = Some(Duration::from_secs(5));
        let mut extra = HeaderMap::new();
        extra.insert("x-pat", HeaderValue::from_static("p"));
        let req = call.build(&base, extra).unwrap();
        assert_eq!(req.method(), Method::POST);
        assert_eq!(req.uri(), "https://gw.example/p/v1/x");
        assert_eq!(req.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(req.headers()["x-pat"], "p");
        assert_eq!(req.body().as_ref(), br#"{"a":1}"#);
        assert_eq!(
            req.extensions().get::<airlock_http::RequestTimeout>(),
            Some(&airlock_http::RequestTimeout(Duration::from_secs(5)))
        );
        let get = json_call().build(&base, HeaderMap::new()).unwrap();
        assert!(get.headers().get(CONTENT_TYPE).is_none());
        assert!(get.body().is_empty());
    }

    #[test]
    fn reads_success_and_no_content() {
        let now = SystemTime::now();
        let c = json_call();
        assert_eq!(
            c.read(&response(200, r#"{"a":1}"#), now)
                .unwrap()
                .unwrap()
                .0["a"],
            1
        );
        let e = c.read(&response(204, ""), now).unwrap_err();
        assert!(
            matches!(&e, Error::Protocol(p) if p.kind() == ProtocolErrorKind::UnexpectedNoContent)
        );
        let e = c.read(&response(201, "{}"), now).unwrap_err();
        assert!(
            matches!(&e, Error::Protocol(p) if p.kind() == ProtocolErrorKind::UnexpectedStatus)
        );
        let e = c.read(&response(302, ""), now).unwrap_err();
        assert!(
            matches!(&e, Error::Protocol(p) if p.kind() == ProtocolErrorKind::UnexpectedStatus)
        );
        let e = c.read(&response(200, "<html>"), now).unwrap_err();
        assert!(
            matches!(&e, Error::Protocol(p) if p.kind() == ProtocolErrorKind::InvalidBody && p.body_excerpt() == "<html>")
        );
        let mut waiting = json_call();
        waiting.no_content_is_none = true;
        assert!(waiting.read(&response(204, ""), now).unwrap().is_none());
        let d: Call<Discard> = Call::get("d", "/").success(&[200, 204]);
        assert!(d.read(&response(204, ""), now).unwrap().is_some());
        assert!(d.read(&response(200, "not json"), now).unwrap().is_some());
        // A 204 with a body, or one the call does not list, breaks the protocol.
        let only_200: Call<Discard> = Call::get("d", "/");
        for (call, body) in [(&d, "{}"), (&only_200, "")] {
            let e = call.read(&response(204, body), now).unwrap_err();
            assert!(
                matches!(&e, Error::Protocol(p) if p.kind() == ProtocolErrorKind::UnexpectedNoContent)
            );
        }
    }

    #[test]
    fn reads_both_error_shapes() {
        let now = SystemTime::now();
        let c = json_call();
        let e = c
            .read(
                &response(404, r#"{"msgType":"error","requestId":"req-1","body":{"code":"not_found","message":"no such exchange","details":{"x":1}}}"#),
                now,
            )
            .unwrap_err();
        let s = e.as_service().unwrap();
        assert_eq!(s.status(), StatusCode::NOT_FOUND);
        assert_eq!(s.code(), Some(&ErrorCode::NotFound));
        assert_eq!(s.message(), Some("no such exchange"));
        assert_eq!(s.request_id(), Some("req-1"));
        assert_eq!(s.details().unwrap()["x"], 1);

        let e = c
            .read(
                &response(
                    409,
                    r#"{"msgType":"error","body":{"code":"conflict","requestId":"req-2"}}"#,
                ),
                now,
            )
            .unwrap_err();
        assert_eq!(e.as_service().unwrap().request_id(), Some("req-2"));
        assert!(e.is_conflict());

        let e = c
            .read(
                &response(403, r#"{"error":"app_consent_required","message":"m","consentUrl":"https://c","appName":"A","appId":"id"}"#),
                now,
            )
            .unwrap_err();
        assert!(e.is_consent_required() && !e.is_consent_pending() && !e.is_consent_denied());
        let consent = e.consent().unwrap();
        assert_eq!(consent.consent_url.as_deref(), Some("https://c"));
        assert_eq!(consent.app_name.as_deref(), Some("A"));
        assert_eq!(consent.app_id.as_deref(), Some("id"));
    }

    #[test]
    fn unrecognized_error_bodies_keep_status_and_excerpt() {
        let now = SystemTime::now();
        let c = json_call();
        let long = "x".repeat(10_000);
        for (status, body) in [
            (502, "<html>bad gateway</html>"),
            (500, ""),
            (400, "[1,2]"),
            (503, long.as_str()),
            (418, "\"str\""),
        ] {
            let e = c.read(&response(status, body), now).unwrap_err();
            let Error::Protocol(p) = &e else {
                panic!("{e:?}")
            };
            assert_eq!(p.status().as_u16(), status);
            assert_eq!(p.kind(), ProtocolErrorKind::UnrecognizedErrorBody);
            assert!(p.body_excerpt().len() <= crate::error::BODY_EXCERPT_LIMIT);
            assert!(body.starts_with(p.body_excerpt()));
        }
        let mut r = response(429, "");
        r.headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from_static("7"));
        let e = c.read(&r, now).unwrap_err();
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        assert!(e.is_quota_exceeded() && e.is_retryable());
    }

    #[test]
    fn excerpt_is_bounded_on_multibyte_text() {
        let body = "é".repeat(1000);
        let e = crate::error::excerpt(body.as_bytes());
        assert!(e.len() <= crate::error::BODY_EXCERPT_LIMIT);
        assert!(e.starts_with("éé"));
    }
}
