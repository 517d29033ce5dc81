//! Building the rustls client configuration from the builder's root options.

use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::BuildError;

/// A custom root certificate as the caller gave it; parsed in [`RootOptions::client_config`].
#[derive(Debug, Clone)]
pub(crate) enum CustomRoot {
    /// One DER-encoded certificate.
    Der(Vec<u8>),
    /// A PEM bundle of one or more `CERTIFICATE` sections.
    Pem(Vec<u8>),
}

/// Where trusted roots come from.
#[derive(Debug, Clone)]
pub(crate) struct RootOptions {
    pub(crate) webpki: bool,
    pub(crate) native: bool,
    pub(crate) custom: Vec<CustomRoot>,
}

impl Default for RootOptions {
    fn default() -> Self {
        Self {
            webpki: true,
            native: false,
            custom: Vec::new(),
        }
    }
}

impl RootOptions {
    /// The root store these options describe.
    fn root_store(&self) -> Result<RootCertStore, BuildError> {
        let mut roots = RootCertStore::empty();
        if self.webpki {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        if self.native {
            let loaded = rustls_native_certs::load_native_certs();
            for error in &loaded.errors {
                tracing::debug!(%error, "skipped part of the platform certificate store");
            }
            let (added, ignored) = roots.add_parsable_certificates(loaded.certs);
            if ignored > 0 {
                tracing::debug!(ignored, "skipped unparsable platform root certificates");
            }
            if added == 0 {
                let message = if loaded.errors.is_empty() {
                    "the store is empty".to_owned()
                } else {
                    loaded
                        .errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                };
                return Err(BuildError::NativeRoots { message });
            }
        }
        let mut index = 0;
        let mut add = |roots: &mut RootCertStore, der: CertificateDer<'static>| {
            let result = roots
                .add(der)
                .map_err(|source| BuildError::InvalidRootCertificate { index, source });
            index += 1;
            result
        };
        for root in &self.custom {
            match root {
                CustomRoot::Der(der) => add(&mut roots, CertificateDer::from(der.clone()))?,
                CustomRoot::Pem(pem) => {
                    let mut found = false;
                    for cert in CertificateDer::pem_slice_iter(pem) {
                        let cert = cert.map_err(|source| BuildError::InvalidPem { source })?;
                        add(&mut roots, cert)?;
                        found = true;
                    }
                    if !found {
                        return Err(BuildError::InvalidPem {
                            source: rustls_pki_types::pem::Error::NoItemsFound,
                        });
                    }
                }
            }
        }
        if roots.is_empty() {
            return Err(BuildError::NoRootCertificates);
        }
        Ok(roots)
    }

    /// A client configuration that trusts exactly these roots, with rustls' safe default
    /// protocol versions under the `ring` provider (named explicitly, so the result does not
    /// depend on which providers other crates in the build enable).
    pub(crate) fn client_config(&self) -> Result<ClientConfig, BuildError> {
        let roots = self.root_store()?;
        Ok(
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(BuildError::Tls)?
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(webpki: bool, custom: Vec<CustomRoot>) -> RootOptions {
        RootOptions {
            webpki,
            native: false,
            custom,
        }
    }

    #[test]
    fn web_pki_roots_by_default() {
        let store = RootOptions::default().root_store().unwrap();
        assert_eq!(store.len(), webpki_roots::TLS_SERVER_ROOTS.len());
    }

    #[test]
    fn no_roots_at_all_is_an_error() {
        let err = options(false, vec![]).root_store().unwrap_err();
        assert!(matches!(err, BuildError::NoRootCertificates), "{err:?}");
    }

    #[test]
    fn garbage_der_is_reported_with_its_index() {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let good = CustomRoot::Der(cert.cert.der().to_vec());
        let err = options(
            false,
            vec![good, CustomRoot::Der(vec![0x30, 0x03, 1, 2, 3])],
        )
        .root_store()
        .unwrap_err();
        assert!(
            matches!(err, BuildError::InvalidRootCertificate { index: 1, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn pem_bundles_add_every_certificate() {
        let a = rcgen::generate_simple_self_signed(vec!["a.test".to_owned()]).unwrap();
        let b = rcgen::generate_simple_self_signed(vec!["b.test".to_owned()]).unwrap();
        let bundle = format!("{}\n{}", a.cert.pem(), b.cert.pem());
        let store = options(false, vec![CustomRoot::Pem(bundle.into_bytes())])
            .root_store()
            .unwrap();
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn pem_without_certificates_is_an_error() {
        for pem in [&b"not pem at all"[..], b""] {
            let err = options(true, vec![CustomRoot::Pem(pem.to_vec())])
                .root_store()
                .unwrap_err();
            assert!(matches!(err, BuildError::InvalidPem { .. }), "{err:?}");
        }
        let broken = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        let err = options(true, vec![CustomRoot::Pem(broken.to_vec())])
            .root_store()
            .unwrap_err();
        assert!(matches!(err, BuildError::InvalidPem { .. }), "{err:?}");
    }
}
