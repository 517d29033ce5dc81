//! A minimal scripted browser: follows redirects, keeps cookies, submits the provider's
//! forms. Plays the user in the interop tests.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use airlock_http::{Bytes, HttpClient, HyperTransport};

use super::provider::transport;

/// One page: where it came from, its status and body.
#[derive(Debug)]
pub struct Page {
    pub url: url::Url,
    pub status: u16,
    pub body: String,
}

#[derive(Debug, Clone)]
pub struct Browser {
    http: Arc<HyperTransport>,
    cookies: Arc<Mutex<BTreeMap<String, String>>>,
}

impl Browser {
    pub fn new() -> Self {
        Self {
            http: Arc::new(transport()),
            cookies: Arc::default(),
        }
    }

    async fn request(
        &self,
        method: http::Method,
        url: &url::Url,
        form: Option<String>,
    ) -> http::Response<Bytes> {
        let mut builder = http::Request::builder().method(method).uri(url.as_str());
        let cookie = self
            .cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        if !cookie.is_empty() {
            builder = builder.header(http::header::COOKIE, cookie);
        }
        let body = match form {
            Some(form) => {
                builder = builder.header(
                    http::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                );
                Bytes::from(form)
            }
            None => Bytes::new(),
        };
        let response = self
            .http
            .send(builder.body(body).unwrap())
            .await
            .unwrap_or_else(|e| panic!("browser request to {url} failed: {e}"));
        let mut jar = self.cookies.lock().unwrap();
        for value in response.headers().get_all(http::header::SET_COOKIE) {
            let value = value.to_str().unwrap();
            let pair = value.split(';').next().unwrap();
            let (name, val) = pair.split_once('=').unwrap();
            let lower = value.to_ascii_lowercase();
            if val.is_empty()
                || lower.contains("expires=thu, 01 jan 1970")
                || lower.contains("max-age=0")
            {
                jar.remove(name.trim());
            } else {
                jar.insert(name.trim().to_owned(), val.to_owned());
            }
        }
        response
    }

    /// GETs `url` and follows redirects (at most 20) to the final page.
    pub async fn open(&self, url: &str) -> Page {
        let url = url::Url::parse(url).unwrap();
        self.follow(http::Method::GET, url, None).await
    }

    async fn follow(
        &self,
        mut method: http::Method,
        mut url: url::Url,
        mut form: Option<String>,
    ) -> Page {
        for _ in 0..20 {
            let response = self.request(method.clone(), &url, form.take()).await;
            let status = response.status();
            if status.is_redirection() {
                let location = response.headers()[http::header::LOCATION].to_str().unwrap();
                url = url.join(location).unwrap();
                method = http::Method::GET;
                continue;
            }
            return Page {
                url,
                status: status.as_u16(),
                body: String::from_utf8_lossy(response.body()).into_owned(),
            };
        }
        panic!("too many redirects");
    }

    /// Submits the first form of `page` (its hidden inputs plus `extra`) and follows the
    /// redirects.
    pub async fn submit(&self, page: &Page, extra: &[(&str, &str)]) -> Page {
        let form_re =
            regex::Regex::new(r#"(?s)<form[^>]*action="([^"]*)"[^>]*>(.*?)</form>"#).unwrap();
        let input_re =
            regex::Regex::new(r#"<input type="hidden" name="([^"]*)" value="([^"]*)"\s*/>"#)
                .unwrap();
        let form = form_re
            .captures(&page.body)
            .unwrap_or_else(|| panic!("no form on {}: {}", page.url, page.body));
        let action = page.url.join(&unescape(&form[1])).unwrap();
        let body = {
            let mut fields = url::form_urlencoded::Serializer::new(String::new());
            for input in input_re.captures_iter(&form[2]) {
                fields.append_pair(&input[1], &unescape(&input[2]));
            }
            for (k, v) in extra {
                fields.append_pair(k, v);
            }
            fields.finish()
        };
        self.follow(http::Method::POST, action, Some(body)).await
    }

    /// Approves (or aborts) a device sign-in at its `verification_uri_complete`.
    pub async fn handle_device_code(&self, verification_uri_complete: &str, approve: bool) -> Page {
        // The provider answers with an auto-submitting form carrying the user code...
        let autosubmit = self.open(verification_uri_complete).await;
        // ...then shows the confirmation page...
        let confirm = self.submit(&autosubmit, &[]).await;
        assert!(
            confirm.body.contains("op.deviceConfirmForm"),
            "{}",
            confirm.body
        );
        // ...whose "Continue" submits `confirm=yes`, and whose "Abort" adds `abort=yes`.
        let extra: &[(&str, &str)] = if approve { &[] } else { &[("abort", "yes")] };
        self.submit(&confirm, extra).await
    }
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
