//! The errors of this crate: [`TransportError`] for sending, [`BuildError`] for building a
//! [`HyperTransport`](crate::HyperTransport).

use std::error::Error as StdError;
use std::time::Duration;

/// What went wrong moving bytes. Grouped by what the caller does next.
///
/// | variant | what happened | safe to retry? |
/// |---|---|---|
/// | [`InvalidRequest`](Self::InvalidRequest) | refused locally, nothing sent | no, fix the request |
/// | [`Connect`](Self::Connect) | no connection, nothing reached the server | yes |
/// | [`Timeout`](Self::Timeout) | the total timeout elapsed, maybe after sending | idempotent requests only |
/// | [`BodyTooLarge`](Self::BodyTooLarge) | the server answered too much | no |
/// | [`Dispatch`](Self::Dispatch) | the connection failed after (maybe) sending | idempotent requests only |
///
/// Messages never contain header values, query strings or bodies.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The request was refused before anything was sent (bad URI, plain `http` to a
    /// non-loopback host without opt-in, ...).
    #[error("invalid request: {message}")]
    InvalidRequest {
        /// What is wrong with the request.
        message: String,
    },
    /// No connection could be made (DNS, TCP connect, TLS handshake, connect timeout).
    #[error("could not connect: {message}")]
    Connect {
        /// A description without secrets.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn StdError + Send + Sync>>,
    },
    /// The request did not complete within its timeout.
    #[error("request timed out after {0:?}")]
    Timeout(Duration),
    /// The response body exceeded the cap.
    #[error("response body larger than the limit of {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The connection failed after the request was (maybe) sent.
    #[error("request failed: {message}")]
    Dispatch {
        /// A description without secrets.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn StdError + Send + Sync>>,
    },
}

impl TransportError {
    /// True for failures to connect (nothing reached the server).
    pub fn is_connect(&self) -> bool {
        matches!(self, Self::Connect { .. })
    }

    /// True when the server could not be reached at all: connection refused, connect
    /// timeout, unreachable host or network, name resolution failure. False for a TLS
    /// handshake failure (something answered) and for every failure after connecting.
    pub fn is_unreachable(&self) -> bool {
        match self {
            Self::Connect {
                source: Some(source),
                ..
            } => crate::connect::is_unreachable_cause(source.as_ref()),
            _ => false,
        }
    }

    /// True for timeouts.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout(_))
    }

    /// True when the request was refused locally before anything was sent.
    pub fn is_invalid_request(&self) -> bool {
        matches!(self, Self::InvalidRequest { .. })
    }

    /// True when the response body exceeded the cap.
    pub fn is_body_too_large(&self) -> bool {
        matches!(self, Self::BodyTooLarge { .. })
    }

    /// True when the connection failed after the request was (maybe) sent.
    pub fn is_dispatch(&self) -> bool {
        matches!(self, Self::Dispatch { .. })
    }

    pub(crate) fn invalid_request(message: impl Into<String>) -> Self {
        Self::InvalidRequest {
            message: message.into(),
        }
    }

    /// A [`Dispatch`](Self::Dispatch) error whose message summarises `source`'s chain.
    pub(crate) fn dispatch(source: impl StdError + Send + Sync + 'static) -> Self {
        Self::Dispatch {
            message: summarize(&source),
            source: Some(Box::new(source)),
        }
    }
}

/// Joins the messages of an error's source chain (`a: b: c`), skipping repeats: hyper and
/// hyper-util wrap the real cause (`connection refused`, `invalid peer certificate`) in
/// generic layers (`client error (Connect)`), and a message that names only the outer layer
/// tells the reader nothing.
pub(crate) fn summarize(error: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(err) = current {
        let text = err.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        current = err.source();
    }
    parts.join(": ")
}

/// Why a [`HyperTransport`](crate::HyperTransport) could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A custom root certificate (DER) was rejected by rustls.
    #[error("custom root certificate #{index} is not a usable certificate")]
    InvalidRootCertificate {
        /// The zero-based position among all custom root certificates added.
        index: usize,
        /// The parse error.
        #[source]
        source: rustls::Error,
    },
    /// A PEM bundle of custom root certificates could not be read, or held no certificate.
    #[error("invalid PEM certificate bundle")]
    InvalidPem {
        /// The PEM error (`NoItemsFound` when the bundle held no `CERTIFICATE` section).
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    /// Native roots were requested but the platform store yielded none.
    #[error("no usable root certificates in the platform store: {message}")]
    NativeRoots {
        /// What the loader reported.
        message: String,
    },
    /// Every root source was disabled, so no server could ever be verified.
    #[error(
        "no root certificates: enable the web PKI or native roots, or add a custom root certificate"
    )]
    NoRootCertificates,
    /// A complete `rustls::ClientConfig` was supplied together with root certificate options,
    /// which it replaces. Configure the roots inside the `ClientConfig` instead.
    #[error("a custom TLS config cannot be combined with root certificate options")]
    ConflictingTlsOptions,
    /// The user agent product is not a valid header value (visible ASCII only).
    #[error("invalid user agent product: only visible ASCII and spaces are allowed")]
    InvalidUserAgent,
    /// rustls refused the protocol configuration.
    #[error("TLS configuration rejected")]
    Tls(#[source] rustls::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn summary_walks_the_chain_without_repeats() {
        let inner = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(summarize(&Outer(inner)), "outer: refused");
        let wrapped = std::io::Error::other(Outer(std::io::Error::other("x")));
        // io::Error::other displays its inner error, and its source is the inner's source.
        assert_eq!(summarize(&wrapped), "outer: x");
    }

    #[test]
    fn errors_are_send_sync_static_and_small() {
        fn assert_bounds<T: StdError + Send + Sync + 'static>() {}
        assert_bounds::<TransportError>();
        assert_bounds::<BuildError>();
        assert!(std::mem::size_of::<TransportError>() <= 48);
    }
}
