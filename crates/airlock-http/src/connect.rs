//! Connection setup: a connector wrapper that bounds the whole of it (DNS, TCP, TLS
//! handshake), and the resolver that pins `localhost` to the loopback addresses.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use http::Uri;
use hyper_util::client::legacy::connect::dns::{GaiResolver, Name};
use tower_service::Service;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Wraps a hyper-util connector so that establishing a connection, including the TLS
/// handshake, fails after `timeout`. (`HttpConnector::set_connect_timeout` covers only the
/// TCP connect, and splits it across the resolved addresses.)
#[derive(Debug, Clone)]
pub(crate) struct TimeoutConnector<C> {
    inner: C,
    timeout: Duration,
}

impl<C> TimeoutConnector<C> {
    pub(crate) fn new(inner: C, timeout: Duration) -> Self {
        Self { inner, timeout }
    }
}

/// The connect timeout elapsed; hyper-util reports it as a connect error.
#[derive(Debug, thiserror::Error)]
#[error("connect timed out after {0:?}")]
pub(crate) struct ConnectTimeout(Duration);

/// The host name could not be resolved (marks the resolver's error, so that
/// [`TransportError::is_unreachable`](crate::TransportError::is_unreachable) can tell it
/// from other I/O failures).
#[derive(Debug, thiserror::Error)]
#[error("name resolution failed: {0}")]
pub(crate) struct NameResolution(#[source] std::io::Error);

/// Whether `error` (a connect failure's source chain) says nothing could be reached:
/// connection refused, connect timeout, unreachable host or network, name resolution
/// failure. A TLS failure, a reset, anything after connecting is not.
pub(crate) fn is_unreachable_cause(error: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind as K;
    let mut current = Some(error);
    while let Some(err) = current {
        if err.is::<ConnectTimeout>() || err.is::<NameResolution>() {
            return true;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<NameResolution>())
            {
                return true;
            }
            if matches!(
                io.kind(),
                K::ConnectionRefused
                    | K::TimedOut
                    | K::HostUnreachable
                    | K::NetworkUnreachable
                    | K::NetworkDown
                    | K::AddrNotAvailable
            ) {
                return true;
            }
        }
        current = err.source();
    }
    false
}

impl<C> Service<Uri> for TimeoutConnector<C>
where
    C: Service<Uri>,
    C::Error: Into<BoxError>,
    C::Future: Send + 'static,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<C::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.inner.call(uri);
        let timeout = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, connecting).await {
                Ok(result) => result.map_err(Into::into),
                Err(_elapsed) => Err(Box::new(ConnectTimeout(timeout)) as BoxError),
            }
        })
    }
}

/// Resolves host names for the connector: `localhost` (any case, with or without a trailing
/// dot) to `127.0.0.1` and `::1` directly, every other name through the system resolver
/// (`getaddrinfo` on a blocking thread).
///
/// Plain `http` is allowed to `localhost` because it is the local machine; answering that
/// name here (as browsers do, RFC 6761 §6.3) makes that true whatever `/etc/hosts` or a DNS
/// server would say, so a bearer token can never travel in clear to a remote host that a
/// resolver mapped `localhost` to.
#[derive(Debug, Clone)]
pub(crate) struct LocalhostResolver {
    system: GaiResolver,
}

impl LocalhostResolver {
    pub(crate) fn new() -> Self {
        Self {
            system: GaiResolver::new(),
        }
    }
}

/// The loopback addresses `localhost` resolves to (the port is set by the connector).
fn localhost_addrs() -> Vec<SocketAddr> {
    vec![
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        SocketAddr::from((Ipv6Addr::LOCALHOST, 0)),
    ]
}

fn is_localhost_name(name: &str) -> bool {
    name.strip_suffix('.')
        .unwrap_or(name)
        .eq_ignore_ascii_case("localhost")
}

impl Service<Name> for LocalhostResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future =
        Pin<Box<dyn Future<Output = Result<Self::Response, std::io::Error>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.system.poll_ready(cx)
    }

    fn call(&mut self, name: Name) -> Self::Future {
        if is_localhost_name(name.as_str()) {
            return Box::pin(std::future::ready(Ok(localhost_addrs().into_iter())));
        }
        let resolving = self.system.call(name);
        Box::pin(async move {
            match resolving.await {
                Ok(addrs) => Ok(addrs.collect::<Vec<_>>().into_iter()),
                Err(e) => Err(std::io::Error::new(e.kind(), NameResolution(e))),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr as _;

    use super::*;

    fn resolve(name: &str) -> Vec<SocketAddr> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let name = Name::from_str(name).unwrap();
        runtime
            .block_on(async { LocalhostResolver::new().call(name).await })
            .unwrap()
            .collect()
    }

    #[test]
    fn localhost_is_answered_without_the_system_resolver() {
        for name in ["localhost", "LocalHost", "localhost."] {
            let addrs = resolve(name);
            assert_eq!(addrs, localhost_addrs(), "{name}");
            assert!(addrs.iter().all(|a| a.ip().is_loopback()));
        }
        assert!(!is_localhost_name("localhost.example.com"));
        assert!(!is_localhost_name("foo.localhost"));
        assert!(!is_localhost_name("localhost.."));
    }

    #[test]
    fn other_names_go_to_the_system_resolver() {
        // An IP literal resolves to itself through getaddrinfo, without any network access.
        assert_eq!(
            resolve("192.0.2.7"),
            vec![SocketAddr::from((Ipv4Addr::new(192, 0, 2, 7), 0))]
        );
    }
}
