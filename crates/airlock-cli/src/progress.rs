//! Showing a wait: on a terminal (stderr), a spinner with the elapsed time and, when there
//! is one, the time left to the deadline; elsewhere (a pipe, a log) nothing moves — `approve`
//! and `run` print their one line instead. The interactive enforcer's waits use the same
//! spinner.

use std::io::IsTerminal as _;
use std::time::Duration;

/// A spinner on stderr, cleared when dropped; hidden when stderr is not a terminal.
#[derive(Debug)]
pub(crate) struct Spinner(Option<indicatif::ProgressBar>);

impl Spinner {
    /// A spinner that shows nothing.
    pub(crate) fn hidden() -> Self {
        Self(None)
    }

    /// `message` and the elapsed time, and the time left when `deadline` (from now) is given.
    pub(crate) fn on_stderr(message: &str, deadline: Option<Duration>) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self::hidden();
        }
        let bar = indicatif::ProgressBar::new_spinner();
        let template = match deadline {
            Some(_) => "{spinner} {msg} {elapsed} elapsed, {left} left",
            None => "{spinner} {msg} {elapsed}",
        };
        let deadline = deadline.unwrap_or_default();
        let style = indicatif::ProgressStyle::with_template(template).map(|style| {
            style.with_key(
                "left",
                move |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                    let left = deadline.saturating_sub(state.elapsed()).as_secs();
                    let _ = write!(out, "{}", clock(left));
                },
            )
        });
        if let Ok(style) = style {
            bar.set_style(style);
        }
        bar.set_message(crate::inert::inert(message).into_owned());
        bar.enable_steady_tick(Duration::from_millis(120));
        Self(Some(bar))
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
        }
    }
}

/// `seconds` as `1h02m03s`, `2m03s` or `3s`.
fn clock(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s:02}s"),
        _ => format!("{h}h{m:02}m{s:02}s"),
    }
}

/// The wait for a decision of `approve` and `run`: the spinner on a terminal (with the
/// deadline), else the one line `Waiting for approval of …`. Ends when dropped.
pub(crate) fn waiting_for_decision(command: &str, request_id: &str, timeout: Duration) -> Spinner {
    let what = format!("Waiting for approval of `{command}` (request {request_id})");
    if std::io::stderr().is_terminal() {
        Spinner::on_stderr(&format!("{what}:"), Some(timeout))
    } else {
        errln!(
            "{}, up to {}s...",
            crate::inert::inert(&what),
            timeout.as_secs()
        );
        Spinner::hidden()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_left_reads_as_a_clock() {
        assert_eq!(clock(0), "0s");
        assert_eq!(clock(59), "59s");
        assert_eq!(clock(600), "10m00s");
        assert_eq!(clock(3723), "1h02m03s");
    }
}
