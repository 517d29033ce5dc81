//! `airlock canonicalize` and `airlock hash`: RFC 8785 over a file or stdin.

use std::io::Read as _;
use std::path::PathBuf;

use airlock::crypto::{ArtifactHash, CanonicalizeError, canonicalize};

use crate::exit::{CliError, Exit};

/// Where the JSON comes from.
#[derive(Debug, Clone)]
pub(crate) enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    /// `None` and `-` mean stdin.
    pub(crate) fn from_arg(arg: Option<PathBuf>) -> Self {
        match arg {
            None => Self::Stdin,
            Some(p) if p.as_os_str() == "-" => Self::Stdin,
            Some(p) => Self::File(p),
        }
    }

    fn name(&self) -> String {
        match self {
            Self::Stdin => "<stdin>".to_owned(),
            Self::File(p) => p.display().to_string(),
        }
    }

    fn read(&self) -> Result<Vec<u8>, CliError> {
        let mut bytes = Vec::new();
        let result = match self {
            Self::Stdin => std::io::stdin().lock().read_to_end(&mut bytes).map(drop),
            Self::File(p) => std::fs::read(p).map(|b| bytes = b),
        };
        result.map_err(|e| {
            CliError::new(Exit::NoInput, format!("cannot read {}: {e}", self.name()))
        })?;
        Ok(bytes)
    }
}

/// The message of an invalid input: the typed error's text (which carries the byte offset)
/// plus the line and column, counted in characters from 1.
fn invalid(input: &Input, bytes: &[u8], e: &CanonicalizeError) -> CliError {
    let mut message = format!("{} is not canonicalizable JSON: {e}", input.name());
    if let Some(offset) = e.offset() {
        let (line, column) = line_column(bytes, offset);
        message.push_str(&format!(" (line {line}, column {column})"));
    }
    CliError::new(Exit::DataError, message)
}

/// 1-based line and column (in characters; invalid UTF-8 counts per byte) of `offset`.
fn line_column(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

/// Prints exactly the RFC 8785 canonical bytes (no newline added).
pub(crate) fn run_canonicalize(input: &Input) -> Result<(), CliError> {
    let bytes = input.read()?;
    let canonical = canonicalize(&bytes).map_err(|e| invalid(input, &bytes, &e))?;
    crate::output::stdout_bytes(&canonical);
    Ok(())
}

/// Prints the artifact hash (SHA-256 of the canonical bytes) as lowercase hex and a newline.
pub(crate) fn run_hash(input: &Input) -> Result<(), CliError> {
    let bytes = input.read()?;
    let (_, hash) = ArtifactHash::of_json(&bytes).map_err(|e| invalid(input, &bytes, &e))?;
    outln!("{}", hash.as_str());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column() {
        assert_eq!(line_column(b"{}", 0), (1, 1));
        assert_eq!(line_column(b"{\n  x", 4), (2, 3));
        assert_eq!(line_column("{\"é\":x".as_bytes(), 6), (1, 6));
        assert_eq!(line_column(b"ab", 99), (1, 3));
    }
}
