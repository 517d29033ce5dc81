//! Waiting for the user (or a supervisor) to interrupt: Ctrl-C, or SIGTERM on Unix.

/// Interrupt handlers, installed when created: a signal that arrives after
/// [`Interrupt::install`] is never lost (and no longer kills the process).
#[derive(Debug)]
pub(crate) struct Interrupt {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Interrupt {
    /// Installs the handlers; must be called within a Tokio runtime.
    pub(crate) fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let streams = match (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) {
                (Ok(int), Ok(term)) => Some((int, term)),
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(error = %e, "cannot install signal handlers; falling back to Ctrl-C");
                    None
                }
            };
            Self { streams }
        }
        #[cfg(not(unix))]
        {
            Self {}
        }
    }

    /// Waits for the next interrupt; returns its name.
    pub(crate) async fn wait(&mut self) -> &'static str {
        #[cfg(unix)]
        if let Some((int, term)) = &mut self.streams {
            return tokio::select! {
                _ = int.recv() => "Ctrl-C",
                _ = term.recv() => "SIGTERM",
            };
        }
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        "Ctrl-C"
    }
}
