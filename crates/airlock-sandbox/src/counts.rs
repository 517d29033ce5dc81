//! Per-route request counters: what a flow costs, for tests and benchmarks.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

/// How many requests the sandbox served, by route: `"GET /v1/exchanges/{id}/wait"`,
/// `"POST /v1/pairing/initiate"`, `"POST /idp/token"`, ... (ids, nonces and codes in the path
/// are written `{id}`, `{nonce}`, `{code}`). Every request counts, refused ones included
/// (`401`, `429`, `404`), except those to the control API (`/_sandbox/`), which drive the
/// sandbox rather than use it.
///
/// Take one before a flow and one after; [`since`](Self::since) gives what the flow cost:
///
/// ```
/// # use airlock_sandbox::RequestCounts;
/// # fn check(before: RequestCounts, after: RequestCounts) {
/// let cost = after.since(&before);
/// assert!(cost.get("GET /v1/pairing/{nonce}/status") <= 20);
/// println!("{} requests in all", cost.total());
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct RequestCounts {
    routes: BTreeMap<String, u64>,
}

impl RequestCounts {
    /// Requests to `route` (`"METHOD /path"`, as the type's documentation writes them).
    pub fn get(&self, route: &str) -> u64 {
        self.routes.get(route).copied().unwrap_or(0)
    }

    /// Every request counted.
    pub fn total(&self) -> u64 {
        self.routes.values().sum()
    }

    /// Requests whose route starts with `prefix`, e.g. `"GET /v1/exchanges/"` or `"POST /idp/"`.
    pub fn with_prefix(&self, prefix: &str) -> u64 {
        self.iter()
            .filter(|(route, _)| route.starts_with(prefix))
            .map(|(_, n)| n)
            .sum()
    }

    /// The routes with at least one request, in order, with their counts.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.routes.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// What was counted after `earlier` (a snapshot of the same sandbox): the difference,
    /// route by route, without the routes that did not move.
    #[must_use]
    pub fn since(&self, earlier: &RequestCounts) -> RequestCounts {
        let routes = self
            .iter()
            .map(|(route, n)| (route.to_owned(), n.saturating_sub(earlier.get(route))))
            .filter(|(_, n)| *n > 0)
            .collect();
        RequestCounts { routes }
    }
}

/// At most this many distinct routes are kept; further unknown paths count as one
/// `"{METHOD} (other)"` route, so random paths cannot grow memory.
const MAX_ROUTES: usize = 256;

/// The live counters.
#[derive(Debug, Default)]
pub(crate) struct RequestCounter {
    routes: Mutex<BTreeMap<String, u64>>,
}

impl RequestCounter {
    /// Counts one request to `segments` (decoded path segments).
    pub(crate) fn count(&self, method: &http::Method, segments: &[String]) {
        let route = format!("{method} /{}", template(segments).join("/"));
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let route = if routes.len() >= MAX_ROUTES && !routes.contains_key(&route) {
            format!("{method} (other)")
        } else {
            route
        };
        *routes.entry(route).or_insert(0) += 1;
    }

    pub(crate) fn snapshot(&self) -> RequestCounts {
        let routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        RequestCounts {
            routes: routes.clone(),
        }
    }

    pub(crate) fn reset(&self) {
        self.routes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

/// The route a path belongs to: the variable segments of the gateway's routes replaced by
/// their names.
fn template(segments: &[String]) -> Vec<&str> {
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    match s.as_slice() {
        ["v1", "exchanges", _, rest @ ..] => [&["v1", "exchanges", "{id}"], rest].concat(),
        ["v1", "pairing", "resolve", _] => vec!["v1", "pairing", "resolve", "{code}"],
        ["v1", "pairing", _, "status"] => vec!["v1", "pairing", "{nonce}", "status"],
        ["v1", "approvers", _, rest @ ..] => [&["v1", "approvers", "{id}"], rest].concat(),
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(path: &str) -> Vec<String> {
        path.split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn ids_are_templated_and_snapshots_subtract() {
        let c = RequestCounter::default();
        let get = http::Method::GET;
        c.count(&get, &segs("/v1/exchanges/req-1/wait"));
        let before = c.snapshot();
        c.count(&get, &segs("/v1/exchanges/req-2/wait"));
        c.count(&get, &segs("/v1/exchanges/req-2"));
        c.count(&get, &segs("/v1/pairing/pn_x/status"));
        c.count(&get, &segs("/v1/pairing/resolve/ABCD-1234"));
        c.count(&http::Method::POST, &segs("/v1/pairing/initiate"));
        let after = c.snapshot();
        assert_eq!(after.get("GET /v1/exchanges/{id}/wait"), 2);
        let cost = after.since(&before);
        assert_eq!(cost.get("GET /v1/exchanges/{id}/wait"), 1);
        assert_eq!(cost.get("GET /v1/exchanges/{id}"), 1);
        assert_eq!(cost.get("GET /v1/pairing/{nonce}/status"), 1);
        assert_eq!(cost.get("GET /v1/pairing/resolve/{code}"), 1);
        assert_eq!(cost.get("POST /v1/pairing/initiate"), 1);
        assert_eq!(cost.with_prefix("GET /v1/exchanges/"), 2);
        assert_eq!(cost.total(), 5);
        c.reset();
        assert_eq!(c.snapshot().total(), 0);
    }

    #[test]
    fn random_paths_cannot_grow_the_table_without_bound() {
        let c = RequestCounter::default();
        for i in 0..(MAX_ROUTES + 50) {
            c.count(&http::Method::GET, &segs(&format!("/nope/{i}")));
        }
        let counts = c.snapshot();
        assert_eq!(counts.iter().count(), MAX_ROUTES + 1);
        assert_eq!(counts.get("GET (other)"), 50);
        assert_eq!(counts.total(), (MAX_ROUTES + 50) as u64);
    }
}
