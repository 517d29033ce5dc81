//! RFC 8785 JSON Canonicalization Scheme. (Contract; being implemented.)

/// Why a JSON text could not be canonicalized.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CanonicalizeError {
    /// Placeholder until the implementation lands.
    #[error("not implemented yet")]
    Unimplemented,
}

/// Canonicalizes a JSON text (UTF-8 bytes) to its RFC 8785 form.
pub fn canonicalize(json: &[u8]) -> Result<Vec<u8>, CanonicalizeError> {
    let _ = json;
    Err(CanonicalizeError::Unimplemented)
}

/// Canonicalizes a JSON text given as `&str`.
pub fn canonicalize_str(json: &str) -> Result<String, CanonicalizeError> {
    canonicalize(json.as_bytes()).map(|v| String::from_utf8(v).expect("canonical JSON is UTF-8"))
}

/// Canonicalizes a `serde_json::Value`.
pub fn canonicalize_value(value: &serde_json::Value) -> Result<Vec<u8>, CanonicalizeError> {
    let _ = value;
    Err(CanonicalizeError::Unimplemented)
}
