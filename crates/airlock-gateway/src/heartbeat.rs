//! The presence heartbeat task.

use std::sync::Arc;
use std::time::Duration;

use airlock_types::{HeartbeatRequest, Timestamp};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::GatewayClient;
use crate::error::Error;

/// The recommended heartbeat interval: 30 seconds.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(30);

/// Options of [`GatewayClient::spawn_heartbeat`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HeartbeatOptions {
    /// Time between heartbeats (default [`DEFAULT_HEARTBEAT_INTERVAL`]; at least 1 ms).
    pub interval: Duration,
    /// The workspace name reported with each heartbeat.
    pub workspace_name: Option<String>,
    /// The enforcer label reported with each heartbeat.
    pub enforcer_label: Option<String>,
    /// The enforcer the heartbeats are for; `None`: the client's default
    /// ([`GatewayClientBuilder::enforcer_id`](crate::GatewayClientBuilder::enforcer_id)).
    pub enforcer_id: Option<String>,
}

impl Default for HeartbeatOptions {
    fn default() -> Self {
        Self {
            interval: DEFAULT_HEARTBEAT_INTERVAL,
            workspace_name: None,
            enforcer_label: None,
            enforcer_id: None,
        }
    }
}

impl HeartbeatOptions {
    /// The defaults: every 30 s, the client's enforcer id, no workspace name or label.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the interval.
    #[must_use]
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }
    /// Sets the workspace name.
    #[must_use]
    pub fn workspace_name(mut self, name: impl Into<String>) -> Self {
        self.workspace_name = Some(name.into());
        self
    }
    /// Sets the enforcer id (e.g. [`Pairing::enforcer_id`](crate::Pairing::enforcer_id)).
    #[must_use]
    pub fn enforcer_id(mut self, enforcer_id: impl Into<String>) -> Self {
        self.enforcer_id = Some(enforcer_id.into());
        self
    }
    /// Sets the enforcer label.
    #[must_use]
    pub fn enforcer_label(mut self, label: impl Into<String>) -> Self {
        self.enforcer_label = Some(label.into());
        self
    }
}

/// Why a heartbeat task stopped by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeartbeatStop {
    /// The gateway reported `pairing_revoked`: pair again.
    PairingRevoked,
}

/// The latest state of a heartbeat task, published through a `tokio::sync::watch` channel.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct HeartbeatStatus {
    /// Heartbeats the gateway accepted.
    pub sent: u64,
    /// When the last accepted heartbeat was sent.
    pub last_success: Option<Timestamp>,
    /// The last failure (cleared by the next success).
    pub last_error: Option<Arc<Error>>,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// Set when the task stopped by itself.
    pub stopped: Option<HeartbeatStop>,
}

/// A running heartbeat task. Dropping the handle (or [`cancel`](Self::cancel)) stops it.
#[derive(Debug)]
pub struct HeartbeatHandle {
    task: JoinHandle<()>,
    status: watch::Receiver<HeartbeatStatus>,
}

impl HeartbeatHandle {
    /// A receiver of status updates (clone it freely; `changed().await` waits for one).
    pub fn subscribe(&self) -> watch::Receiver<HeartbeatStatus> {
        self.status.clone()
    }
    /// The current status.
    pub fn status(&self) -> HeartbeatStatus {
        self.status.borrow().clone()
    }
    /// Whether the task has ended (stopped by itself or cancelled).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
    /// Stops the task.
    pub fn cancel(self) {
        // Drop aborts the task.
    }
}

impl Drop for HeartbeatHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl GatewayClient {
    /// Spawns a task on the current Tokio runtime that sends a heartbeat for
    /// `options.enforcer_id` now and then every `options.interval`. Failures are reported through
    /// [`HeartbeatHandle::subscribe`] and do not stop the task, except `pairing_revoked`,
    /// which stops it ([`HeartbeatStop::PairingRevoked`]).
    ///
    /// Fails with [`Error::InvalidInput`] outside a Tokio runtime or when no enforcer id is
    /// known.
    pub fn spawn_heartbeat(&self, options: HeartbeatOptions) -> Result<HeartbeatHandle, Error> {
        let enforcer_id = self.resolve_enforcer_id(options.enforcer_id.as_deref())?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::invalid_input("spawn_heartbeat needs a Tokio runtime"))?;
        let mut request = HeartbeatRequest::new(enforcer_id);
        request.workspace_name = options.workspace_name;
        request.enforcer_label = options.enforcer_label;
        let (tx, rx) = watch::channel(HeartbeatStatus::default());
        let client = self.clone();
        let interval = options.interval.max(Duration::from_millis(1));
        let span = tracing::debug_span!("airlock_heartbeat", enforcer_id = %request.enforcer_id);
        let task = runtime.spawn(tracing::Instrument::instrument(
            async move {
                let mut ticker = tokio::time::interval(interval);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticker.tick().await;
                    let result = client.raw().send_heartbeat(&request).await;
                    let revoked = matches!(&result, Err(e) if e.is_pairing_revoked());
                    tx.send_modify(|s| match result {
                        Ok(()) => {
                            s.sent += 1;
                            s.last_success = Some(Timestamp::now());
                            s.last_error = None;
                            s.consecutive_failures = 0;
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, "heartbeat failed");
                            s.consecutive_failures = s.consecutive_failures.saturating_add(1);
                            s.last_error = Some(Arc::new(e));
                            if revoked {
                                s.stopped = Some(HeartbeatStop::PairingRevoked);
                            }
                        }
                    });
                    if revoked {
                        tracing::info!("pairing revoked: heartbeat stopped");
                        return;
                    }
                }
            },
            span,
        ));
        Ok(HeartbeatHandle { task, status: rx })
    }
}
