//! [`SandboxError`].

use std::time::Duration;

use crate::web::ApiError;

/// What went wrong starting or driving a sandbox.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The listener could not be bound.
    #[error("could not listen on 127.0.0.1:{port}")]
    Bind {
        /// The port asked for (0 = any).
        port: u16,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The sandbox gateway refused an operation (the same answer an HTTP client would get).
    #[error("gateway refused ({status}, {code}): {message}")]
    Gateway {
        /// The HTTP status it answers with.
        status: u16,
        /// The error code (`not_found`, `conflict`, `expired`, ...).
        code: String,
        /// The message.
        message: String,
    },
    /// An argument was not acceptable.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Something awaited did not happen in time.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The sandbox has stopped.
    #[error("the sandbox has stopped")]
    Stopped,
    /// The state directory's file could not be read, parsed or written
    /// ([`SandboxConfig::state_dir`](crate::SandboxConfig::state_dir)).
    #[error("sandbox state {}: {message}", path.display())]
    State {
        /// The state file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        message: String,
    },
}

impl SandboxError {
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidInput(message.into())
    }

    pub(crate) fn state(path: &std::path::Path, message: impl Into<String>) -> Self {
        Self::State {
            path: path.to_owned(),
            message: message.into(),
        }
    }

    pub(crate) fn from_api(e: ApiError) -> Self {
        Self::Gateway {
            status: e.status.as_u16(),
            code: e.code,
            message: e.message,
        }
    }

    /// The HTTP status, for [`SandboxError::Gateway`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Gateway { status, .. } => Some(*status),
            _ => None,
        }
    }
}
