//! The one way state files of this crate are written and read: JSON, written atomically
//! with owner-only permissions (`airlock_crypto::fs::atomic_write`), buffers zeroized.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::error::Error;

/// Writes `value` as pretty JSON to `path`; `what` names it in errors ("the pairing").
pub(crate) fn save_json<T: Serialize>(value: &T, path: &Path, what: &str) -> Result<(), Error> {
    let json = Zeroizing::new(
        serde_json::to_vec_pretty(value)
            .map_err(|e| Error::storage(format!("cannot serialize {what}"), e))?,
    );
    airlock_crypto::fs::atomic_write(path, &json)
        .map_err(|e| Error::storage(format!("cannot write {}", path.display()), e))
}

/// Reads a value written by [`save_json`]; `file_kind` names it in errors ("pairing file").
pub(crate) fn load_json<T: DeserializeOwned>(path: &Path, file_kind: &str) -> Result<T, Error> {
    let bytes = Zeroizing::new(
        std::fs::read(path)
            .map_err(|e| Error::storage(format!("cannot read {}", path.display()), e))?,
    );
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::storage(format!("{} is not a valid {file_kind}", path.display()), e))
}
