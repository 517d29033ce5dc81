//! Small HTTP helpers shared by the gateway, the IdP and the control API: a collected request
//! with decoded path segments and query, and response builders for the error shapes.

use std::collections::HashMap;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use http_body_util::Full;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A secret string held by the sandbox (client secret, PAT, bearer tokens): zeroized on drop.
pub(crate) type Secret = zeroize::Zeroizing<String>;

/// The response type of every handler.
pub(crate) type Resp = http::Response<Full<Bytes>>;

/// Largest request body accepted.
pub(crate) const MAX_BODY: usize = 1024 * 1024;

/// A request read in full.
#[derive(Debug)]
pub(crate) struct Req {
    pub(crate) method: Method,
    /// Percent-decoded path segments (empty segments dropped).
    pub(crate) segments: Vec<String>,
    pub(crate) query: HashMap<String, String>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Req {
    /// `segments` are the path's, as [`segments`] decodes them.
    pub(crate) fn new(parts: http::request::Parts, segments: Vec<String>, body: Bytes) -> Self {
        let query = parts
            .uri
            .query()
            .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
            .unwrap_or_default()
            .into_iter()
            .collect();
        Self {
            method: parts.method,
            segments,
            query,
            headers: parts.headers,
            body,
        }
    }

    /// The segments as `&str`s, for matching.
    pub(crate) fn path(&self) -> Vec<&str> {
        self.segments.iter().map(String::as_str).collect()
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    }

    pub(crate) fn query(&self, name: &str) -> Option<&str> {
        self.query
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The JSON body as `T`; unknown fields are ignored by the types themselves.
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T, String> {
        if self.body.is_empty() {
            return serde_json::from_slice(b"{}").map_err(|e| format!("empty body: {e}"));
        }
        serde_json::from_slice(&self.body).map_err(|e| format!("invalid JSON body: {e}"))
    }

    /// The form body (`application/x-www-form-urlencoded`) as a map.
    pub(crate) fn form(&self) -> HashMap<String, String> {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&self.body)
            .unwrap_or_default()
            .into_iter()
            .collect()
    }
}

/// The percent-decoded segments of a path (empty segments dropped).
pub(crate) fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect()
}

/// A JSON response.
pub(crate) fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Resp {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut resp = http::Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// An empty response.
pub(crate) fn empty(status: StatusCode) -> Resp {
    let mut resp = http::Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = status;
    resp
}

/// A `text/plain` response.
pub(crate) fn text(status: StatusCode, body: impl Into<String>) -> Resp {
    let mut resp = http::Response::new(Full::new(Bytes::from(body.into())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// A `302 Found` to `location`.
pub(crate) fn redirect(location: &str) -> Resp {
    let mut resp = empty(StatusCode::FOUND);
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// An error a handler returns: rendered as a HARP error envelope, or as a flat consent error
/// when it carries flat fields.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: String,
    pub(crate) message: String,
    extra: Option<Box<Extra>>,
}

/// The rarely used parts of an [`ApiError`], boxed to keep `Result`s small.
#[derive(Debug, Default)]
struct Extra {
    details: Option<serde_json::Value>,
    retry_after: Option<u64>,
    request_id: Option<String>,
    /// Set for the flat consent errors: the extra top-level fields.
    flat: Option<serde_json::Map<String, serde_json::Value>>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
            extra: None,
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", what)
    }

    pub(crate) fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    fn extra(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    pub(crate) fn with_request_id(mut self, request_id: &str) -> Self {
        self.extra().request_id = Some(request_id.to_owned());
        self
    }

    pub(crate) fn with_details(mut self, details: serde_json::Value) -> Self {
        self.extra().details = Some(details);
        self
    }

    pub(crate) fn with_retry_after(mut self, seconds: u64) -> Self {
        self.extra().retry_after = Some(seconds);
        self
    }

    /// Makes this a flat error (`{"error": code, "message", ...fields}`).
    pub(crate) fn with_flat_fields(
        mut self,
        fields: serde_json::Map<String, serde_json::Value>,
    ) -> Self {
        self.extra().flat = Some(fields);
        self
    }

    /// Renders the error.
    pub(crate) fn into_response(self) -> Resp {
        let extra = self.extra.map(|b| *b).unwrap_or_default();
        let mut resp = if let Some(mut flat) = extra.flat {
            flat.insert("error".into(), self.code.into());
            flat.insert("message".into(), self.message.into());
            json(self.status, &flat)
        } else {
            let request_id = extra.request_id.map(serde_json::Value::String);
            let body = serde_json::json!({
                "msgType": "error",
                "requestId": request_id,
                "body": {
                    "code": self.code,
                    "message": self.message,
                    "requestId": request_id,
                    "details": extra.details.unwrap_or_else(|| serde_json::json!({})),
                }
            });
            json(self.status, &body)
        };
        if let Some(secs) = extra.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// Result of a handler.
pub(crate) type HandlerResult = Result<Resp, ApiError>;

/// Random URL-safe token with a prefix: `prefix` + 32 random bytes, base64url.
pub(crate) fn random_token(prefix: &str) -> String {
    use base64::Engine as _;
    use rand::RngCore as _;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Constant-time comparison of two secrets.
pub(crate) fn secret_eq(a: &str, b: &str) -> bool {
    use sha2::Digest as _;
    // Hash first so lengths do not leak; then compare the digests without early exit.
    let (x, y) = (
        sha2::Sha256::digest(a.as_bytes()),
        sha2::Sha256::digest(b.as_bytes()),
    );
    x.iter()
        .zip(y.iter())
        .fold(0u8, |acc, (p, q)| acc | (p ^ q))
        == 0
}
