//! Who may use the approver page: one-time login links, sessions held in an HttpOnly,
//! SameSite=Strict cookie, and a CSRF token per session.
//!
//! Tokens are kept only as SHA-256 digests, so a lookup reveals nothing by its timing.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sha2::Digest as _;

use crate::web::{Req, random_token, secret_eq};

/// The session cookie's name.
pub(crate) const COOKIE: &str = "airlock_approver";

/// Login links not yet used, at most (the oldest is dropped first).
const MAX_LOGINS: usize = 32;
/// Sessions at once, at most (the oldest is dropped first).
const MAX_SESSIONS: usize = 32;
/// How long a session lasts.
const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

type Digest = [u8; 32];

fn digest(token: &str) -> Digest {
    sha2::Sha256::digest(token.as_bytes()).into()
}

/// Something to tell the user on the next page they see (after a form post).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Notice {
    /// `ok` or `error` (a CSS class).
    pub(crate) kind: &'static str,
    pub(crate) text: String,
}

impl Notice {
    pub(crate) fn ok(text: impl Into<String>) -> Self {
        Self {
            kind: "ok",
            text: text.into(),
        }
    }

    pub(crate) fn error(text: impl Into<String>) -> Self {
        Self {
            kind: "error",
            text: text.into(),
        }
    }
}

#[derive(Debug)]
struct Session {
    csrf: String,
    notice: Option<Notice>,
    created: Instant,
}

#[derive(Debug, Default)]
struct Inner {
    logins: VecDeque<Digest>,
    sessions: HashMap<Digest, Session>,
}

/// The login links and sessions of one sandbox.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    inner: Mutex<Inner>,
}

/// A signed-in request's session: its CSRF token and the notice left for it.
#[derive(Debug)]
pub(crate) struct Current {
    /// The cookie value (to leave a notice for the next page).
    pub(crate) id: String,
    pub(crate) csrf: String,
    pub(crate) notice: Option<Notice>,
}

impl Sessions {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new one-time login token.
    pub(crate) fn mint_login(&self) -> String {
        let token = random_token("login-");
        let mut inner = self.lock();
        if inner.logins.len() >= MAX_LOGINS {
            inner.logins.pop_front();
        }
        inner.logins.push_back(digest(&token));
        token
    }

    /// Uses up a login token; whether it was valid.
    pub(crate) fn redeem_login(&self, token: &str) -> bool {
        let wanted = digest(token);
        let mut inner = self.lock();
        let before = inner.logins.len();
        inner.logins.retain(|d| *d != wanted);
        inner.logins.len() != before
    }

    /// Starts a session; returns its cookie value.
    pub(crate) fn start(&self) -> String {
        let id = random_token("");
        let mut inner = self.lock();
        let now = Instant::now();
        inner
            .sessions
            .retain(|_, s| now.duration_since(s.created) < SESSION_TTL);
        if inner.sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = inner
                .sessions
                .iter()
                .min_by_key(|(_, s)| s.created)
                .map(|(k, _)| *k)
        {
            inner.sessions.remove(&oldest);
        }
        inner.sessions.insert(
            digest(&id),
            Session {
                csrf: random_token(""),
                notice: None,
                created: now,
            },
        );
        id
    }

    /// The session the request's cookie names, if it is live; takes its notice.
    pub(crate) fn current(&self, req: &Req) -> Option<Current> {
        let id = cookie(req, COOKIE)?;
        let mut inner = self.lock();
        let key = digest(&id);
        let session = inner.sessions.get_mut(&key)?;
        if session.created.elapsed() >= SESSION_TTL {
            inner.sessions.remove(&key);
            return None;
        }
        Some(Current {
            csrf: session.csrf.clone(),
            notice: session.notice.take(),
            id,
        })
    }

    /// Leaves `notice` for the session's next page.
    pub(crate) fn notify(&self, id: &str, notice: Notice) {
        if let Some(session) = self.lock().sessions.get_mut(&digest(id)) {
            session.notice = Some(notice);
        }
    }

    /// Ends the session.
    pub(crate) fn end(&self, id: &str) {
        self.lock().sessions.remove(&digest(id));
    }
}

impl Current {
    /// Whether `token` is this session's CSRF token.
    pub(crate) fn csrf_matches(&self, token: Option<&str>) -> bool {
        token.is_some_and(|t| secret_eq(t, &self.csrf))
    }
}

/// The value of cookie `name` (every `Cookie` header is read).
pub(crate) fn cookie(req: &Req, name: &str) -> Option<String> {
    req.headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
}

/// The `Set-Cookie` value of a session (no `Max-Age`: it ends with the browser session).
pub(crate) fn set_cookie(id: &str) -> String {
    format!("{COOKIE}={id}; Path=/approver; HttpOnly; SameSite=Strict")
}

/// The `Set-Cookie` value that removes the session cookie.
pub(crate) fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/approver; HttpOnly; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req_with_cookie(value: &str) -> Req {
        let (parts, ()) = http::Request::builder()
            .uri("/approver/")
            .header("cookie", value)
            .body(())
            .expect("request")
            .into_parts();
        let segments = crate::web::segments(parts.uri.path());
        Req::new(parts, segments, bytes::Bytes::new())
    }

    #[test]
    fn a_login_token_works_once() {
        let sessions = Sessions::default();
        let token = sessions.mint_login();
        assert!(!sessions.redeem_login("login-guess"));
        assert!(sessions.redeem_login(&token));
        assert!(!sessions.redeem_login(&token), "one-time");
    }

    #[test]
    fn only_the_newest_login_tokens_are_kept() {
        let sessions = Sessions::default();
        let first = sessions.mint_login();
        let rest: Vec<String> = (0..MAX_LOGINS).map(|_| sessions.mint_login()).collect();
        assert!(!sessions.redeem_login(&first));
        assert!(rest.iter().all(|t| sessions.redeem_login(t)));
    }

    #[test]
    fn a_session_is_found_by_its_cookie_and_carries_one_notice() {
        let sessions = Sessions::default();
        let id = sessions.start();
        assert!(
            sessions
                .current(&req_with_cookie("other=1; airlock_approver=nope"))
                .is_none()
        );
        let req = req_with_cookie(&format!("theme=dark; {COOKIE}={id}"));
        let current = sessions.current(&req).expect("signed in");
        assert!(current.csrf_matches(Some(&current.csrf)));
        assert!(!current.csrf_matches(Some("forged")));
        assert!(!current.csrf_matches(None));
        sessions.notify(&id, Notice::ok("done"));
        assert_eq!(
            sessions.current(&req).and_then(|c| c.notice),
            Some(Notice::ok("done"))
        );
        assert_eq!(sessions.current(&req).and_then(|c| c.notice), None);
        sessions.end(&id);
        assert!(sessions.current(&req).is_none());
    }

    #[test]
    fn the_cookie_is_http_only_and_same_site_strict() {
        let value = set_cookie("abc");
        assert!(value.contains("HttpOnly"));
        assert!(value.contains("SameSite=Strict"));
        assert!(value.starts_with("airlock_approver=abc;"));
        assert!(clear_cookie().contains("Max-Age=0"));
    }
}
