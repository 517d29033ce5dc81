//! Writing to stdout and stderr without ever panicking, and colour only where it belongs.
//!
//! - stdout carries results. When its reader goes away (a closed pipe: `airlock demo |
//!   head -1`), the process ends at once and quietly with [`Exit::ClosedPipe`] (141, the
//!   status of a process ended by `SIGPIPE`); any other write failure (a full disk,
//!   `> /dev/full`) prints one `airlock:` line on stderr and exits [`Exit::IoError`] (74).
//!   Nothing is ever reported as done whose result was not written.
//! - stderr carries progress and diagnostics: best effort, a failure to write them is
//!   ignored (the command's result and exit code do not depend on them).
//!
//! Every line of the crate goes through `outln!` and `errln!` (the `print_stdout` and
//! `print_stderr` lints are on).

#![allow(clippy::print_stderr)] // The one place that reports a failed stdout.

use std::fmt;
use std::io::{IsTerminal as _, Write as _};

use crate::exit::Exit;

/// Prints a line on stdout (the arguments of `println!`); see the module docs for failures.
macro_rules! outln {
    () => { $crate::output::stdout_bytes(b"\n") };
    ($($arg:tt)*) => { $crate::output::stdout_line(format_args!($($arg)*)) };
}

/// Prints a line on stderr (the arguments of `eprintln!`), best effort.
macro_rules! errln {
    () => { $crate::output::stderr_line(format_args!("")) };
    ($($arg:tt)*) => { $crate::output::stderr_line(format_args!($($arg)*)) };
}

/// Writes `line` and a line break to stdout.
pub(crate) fn stdout_line(line: fmt::Arguments<'_>) {
    stdout_bytes(format!("{line}\n").as_bytes());
}

/// Writes `bytes` to stdout and flushes; a failure ends the process (module docs).
pub(crate) fn stdout_bytes(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(bytes).and_then(|()| out.flush()) {
        drop(out);
        std::process::exit(i32::from(stdout_failed(&e).code()));
    }
}

/// What a failed stdout write means: a closed pipe ends quietly, anything else is reported.
pub(crate) fn stdout_failed(e: &std::io::Error) -> Exit {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return Exit::ClosedPipe;
    }
    let _ = writeln!(
        std::io::stderr().lock(),
        "airlock: cannot write the output: {e}"
    );
    Exit::IoError
}

/// Writes `line` and a line break to stderr, ignoring failures.
pub(crate) fn stderr_line(line: fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Whether colours and styles may be written to stderr: a terminal, and `NO_COLOR` unset or
/// empty (<https://no-color.org>).
pub(crate) fn stderr_colours() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_pipe_is_quiet_and_other_failures_are_74() {
        let pipe = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        assert_eq!(stdout_failed(&pipe), Exit::ClosedPipe);
        assert_eq!(Exit::ClosedPipe.code(), 141);
        let full = std::io::Error::from_raw_os_error(28);
        assert_eq!(stdout_failed(&full), Exit::IoError);
    }
}
