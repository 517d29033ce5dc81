//! The pure request-URI policy: which URIs the transport will send to.

use std::net::{IpAddr, Ipv6Addr};

use http::uri::Scheme;

use crate::TransportError;

/// True when `host` names the local machine: an address in `127.0.0.0/8`, `::1`, an
/// IPv4-mapped loopback address (`::ffff:127.x.y.z`), or the name `localhost` (any case,
/// with or without a trailing dot). Accepts a URI host with or without IPv6 brackets.
///
/// Other spellings that a resolver might map to the loopback interface (`127.1`,
/// `2130706433`, `foo.localhost`) are deliberately *not* recognised: the answer must not
/// depend on DNS.
///
/// ```
/// use airlock_http::is_loopback_host;
///
/// assert!(is_loopback_host("127.0.0.1"));
/// assert!(is_loopback_host("[::1]"));
/// assert!(is_loopback_host("LocalHost"));
/// assert!(!is_loopback_host("192.0.2.1"));
/// assert!(!is_loopback_host("localhost.example.com"));
/// ```
pub fn is_loopback_host(host: &str) -> bool {
    // The usual spellings first, without parsing an address.
    if matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        return true;
    }
    fn v6_is_loopback(v6: Ipv6Addr) -> bool {
        v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
    }
    // Brackets enclose IPv6 literals only.
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().is_ok_and(v6_is_loopback);
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(IpAddr::V6(v6)) => v6_is_loopback(v6),
        Err(_) => false,
    }
}

/// True when `url` is an absolute `http` or `https` URL on the local machine: its host is
/// loopback ([`is_loopback_host`]) and it carries no user info. What follows `@` is the real
/// host, so `http://localhost:1@evil.example/cb` is *not* loopback. For checking an `Origin`
/// header or an OAuth loopback redirect (RFC 8252 §7.3); the scheme is any case.
///
/// ```
/// use airlock_http::is_loopback_url;
///
/// assert!(is_loopback_url("http://127.0.0.1:49152/callback"));
/// assert!(is_loopback_url("http://[::1]:3000"));
/// assert!(!is_loopback_url("http://localhost:1@evil.example/cb"));
/// assert!(!is_loopback_url("http://localhost.evil.example/"));
/// ```
pub fn is_loopback_url(url: &str) -> bool {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return false;
    };
    let web_scheme = uri
        .scheme()
        .is_some_and(|s| *s == Scheme::HTTP || *s == Scheme::HTTPS);
    uri.authority()
        .is_some_and(|a| web_scheme && !a.as_str().contains('@') && is_loopback_host(a.host()))
}

/// Checks that `uri` is one the transport may send to, without any network access.
///
/// The rules: the URI is absolute (scheme and host); the scheme is `https`, or `http` when
/// the host is loopback ([`is_loopback_host`]) or `allow_insecure_http` is set; and the URI
/// carries no user info (`user:password@`), which would otherwise travel in clear in logs
/// and proxies — send credentials in headers instead.
pub(crate) fn check_uri(uri: &http::Uri, allow_insecure_http: bool) -> Result<(), TransportError> {
    let Some(scheme) = uri.scheme() else {
        return Err(TransportError::invalid_request(
            "the URI must be absolute (scheme and host)",
        ));
    };
    let Some(authority) = uri.authority() else {
        return Err(TransportError::invalid_request("the URI has no host"));
    };
    if authority.as_str().contains('@') {
        return Err(TransportError::invalid_request(
            "credentials in the URI are not supported; send them in a header",
        ));
    }
    let host = authority.host();
    if host.is_empty() {
        return Err(TransportError::invalid_request("the URI has no host"));
    }
    if *scheme == Scheme::HTTPS {
        Ok(())
    } else if *scheme == Scheme::HTTP {
        if allow_insecure_http || is_loopback_host(host) {
            Ok(())
        } else {
            Err(TransportError::invalid_request(format!(
                "plain http to the non-loopback host {host} is refused; use https \
                 (or opt in with allow_insecure_http)"
            )))
        }
    } else {
        Err(TransportError::invalid_request(format!(
            "unsupported URI scheme {scheme}; only https and http are allowed"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(uri: &str, allow: bool) -> Result<(), TransportError> {
        check_uri(&uri.parse().unwrap(), allow)
    }

    #[test]
    fn loopback_hosts() {
        for host in [
            "127.0.0.1",
            "127.255.0.9",
            "::1",
            "[::1]",
            "[::ffff:127.0.0.1]",
            "localhost",
            "LOCALHOST",
            "localhost.",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "192.0.2.1",
            "128.0.0.1",
            "[::2]",
            "::",
            "0.0.0.0",
            "localhost.example.com",
            "foo.localhost",
            "127.0.0.1.nip.io",
            "2130706433",
            "",
            "[",
            "[127.0.0.1]",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    /// Origins and redirect URIs: user info, look-alike names, alternative spellings.
    #[test]
    fn loopback_urls_are_loopback_hosts_without_user_info() {
        for url in [
            "http://127.0.0.1:8080",
            "http://127.0.0.1:49152/callback?x=1",
            "http://localhost",
            "http://LOCALHOST:5173",
            "HTTP://LocalHost:1/cb",
            "http://localhost.:8080/cb",
            "https://localhost:1",
            "http://[::1]:3000/x",
            "http://[::ffff:127.0.0.1]/",
            "http://127.0.0.2/",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "http://localhost:1@evil.example/cb",
            "http://localhost@evil.example/",
            "http://127.0.0.1:80@evil.example/",
            "http://user:pw@localhost/",
            "http://evil.example#@127.0.0.1/",
            "http://evil.example?@127.0.0.1/",
            "http://evil.example\\@127.0.0.1/",
            "http://localhost.evil.com/",
            "http://localhost.evil.com:80",
            "http://127.0.0.1.nip.io/",
            "http://127.0.0.1.evil.com",
            "http://127.1/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://0.0.0.0/",
            "http://[::]/",
            "http://[::2]/",
            "http://%6cocalhost/",
            "http://foo.localhost/",
            "http:///localhost",
            "http:localhost",
            "//localhost/cb",
            "localhost:8080",
            "file://localhost/etc/passwd",
            "ftp://127.0.0.1/",
            "javascript://localhost/%0aalert(1)",
            "null",
            "",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }

    #[test]
    fn https_is_always_allowed() {
        assert!(check("https://gateway.example.com/v1/x?y=1", false).is_ok());
        assert!(check("https://192.0.2.1:8443/", false).is_ok());
    }

    #[test]
    fn plain_http_needs_loopback_or_opt_in() {
        assert!(check("http://127.0.0.1:8080/v1", false).is_ok());
        assert!(check("http://[::1]:8080/v1", false).is_ok());
        assert!(check("http://localhost/", false).is_ok());
        let err = check("http://192.0.2.1/", false).unwrap_err();
        assert!(err.is_invalid_request(), "{err}");
        assert!(check("http://gateway.example.com/", false).is_err());
        assert!(check("http://192.0.2.1/", true).is_ok());
        assert!(check("http://gateway.example.com/", true).is_ok());
    }

    /// Spellings that try to pass a remote host off as loopback, or to smuggle plain http.
    #[test]
    fn loopback_bypass_attempts_are_refused() {
        for uri in [
            "http://127.0.0.1.nip.io/",
            "http://localhost.evil.example/",
            "http://evil.example#@127.0.0.1/",
            "http://localhost@evil.example/",
            "http://127.0.0.1:80@evil.example/",
            "http://user:pw@localhost/",
            "HTTP://gateway.example.com/",
            "Http://192.0.2.1/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://2130706433/",
            "http://[::ffff:c000:201]/",
            "http://[::]/",
            "http://0.0.0.0/",
            "http://%6cocalhost/",
            "http://xn--lcalhost-9za/",
        ] {
            let Ok(parsed) = uri.parse::<http::Uri>() else {
                continue; // not even a URI: nothing can be sent to it
            };
            let err = check_uri(&parsed, false).expect_err(uri);
            assert!(err.is_invalid_request(), "{uri}: {err}");
        }
        // Genuine loopback spellings, any case of scheme and host.
        for uri in [
            "HTTP://LOCALHOST:8080/",
            "http://[::ffff:7f00:1]/",
            "http://[0:0:0:0:0:0:0:1]/",
            "http://127.0.0.2/",
        ] {
            assert!(check(uri, false).is_ok(), "{uri}");
        }
        assert!(check("HTTPS://gateway.example.com/", false).is_ok());
    }

    #[test]
    fn relative_foreign_scheme_and_userinfo_are_refused() {
        for (uri, allow) in [
            ("/v1/exchanges", true),
            ("ftp://127.0.0.1/", true),
            ("ws://127.0.0.1/", true),
            ("https://user:secret@gateway.example.com/", false),
            ("http://user@127.0.0.1/", true),
        ] {
            let err = check(uri, allow).unwrap_err();
            assert!(err.is_invalid_request(), "{uri}: {err}");
            assert!(!err.to_string().contains("secret"), "{err}");
        }
    }
}
