//! Ctrl-C and SIGTERM (on Unix).
//!
//! Two ways to be interrupted:
//! - [`exit_on_interrupt`]: from the first moment of a command, a signal ends the process at
//!   once with 130, after the command's report (an `approve --json` prints its object) —
//!   unless something is [`Interrupt::wait`]ing for it right then (a submitted request that
//!   must be withdrawn first), which then handles it.
//! - [`Interrupt`]: a handler of its own, for a command that decides what a signal means
//!   (the sandbox shuts down, the interactive enforcer withdraws what it waits for).

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::exit::Exit;

/// How many [`Interrupt::wait`] futures are waiting right now.
static WAITING: AtomicUsize = AtomicUsize::new(0);

/// Counts a waiter while it lives.
struct Waiting;

impl Waiting {
    fn new() -> Self {
        WAITING.fetch_add(1, Ordering::SeqCst);
        Self
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        WAITING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// From now on, a signal nobody [`Interrupt::wait`]s for runs `report` with its name and
/// ends the process with [`Exit::Interrupted`]. The handlers are installed before this
/// returns (within `runtime`), so no signal is lost or ignored.
pub(crate) fn exit_on_interrupt(
    runtime: &tokio::runtime::Runtime,
    report: impl Fn(&'static str) + Send + 'static,
) {
    let mut interrupt = {
        let _entered = runtime.enter();
        Interrupt::install()
    };
    runtime.spawn(async move {
        loop {
            let signal = interrupt.next().await;
            if WAITING.load(Ordering::SeqCst) == 0 {
                report(signal);
                std::process::exit(i32::from(Exit::Interrupted.code()));
            }
        }
    });
}

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

    /// Waits for the next interrupt and returns its name; while it waits, the interrupt is
    /// this caller's to handle (not [`exit_on_interrupt`]'s).
    pub(crate) async fn wait(&mut self) -> &'static str {
        let waiting = Waiting::new();
        let signal = self.next().await;
        // Handled here: the waiter stays counted, or [`exit_on_interrupt`], woken by the same
        // signal, could see no waiter and exit before the waiter withdraws its request.
        std::mem::forget(waiting);
        signal
    }

    async fn next(&mut self) -> &'static str {
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
