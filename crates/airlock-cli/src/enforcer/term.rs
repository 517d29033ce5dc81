//! The terminal behind a small trait, so the enforcer's logic runs against a script in tests.
//!
//! Menus are numbered and answered with a line of input: robust over a pseudo-terminal, a
//! pipe or a screen reader alike. Secrets are read without echo when stdin is a terminal.
//! The only full-screen element is the spinner while waiting (indicatif, on stderr, and only
//! when stderr is a terminal).

use std::io::{BufRead as _, IsTerminal as _};
use std::time::Duration;

use tokio::sync::mpsc;
use zeroize::Zeroizing;

use crate::account::Say;
pub(crate) use crate::progress::Spinner;

/// The user went away: end of input (Ctrl-D, a closed pipe).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EndOfInput;

/// The enforcer's terminal: lines out, lines in, a spinner while waiting.
///
/// `print`, `read`, `interrupted` and `spinner` are the primitives; `prompt`, `secret`,
/// `select` and `confirm` are built on them, once, for every implementation.
pub(crate) trait Terminal {
    /// Shows one line of text.
    fn print(&mut self, line: &str);

    /// Shows `prompt` (no line break) and reads one line of input, without its line break.
    /// `secret` input is not echoed where the terminal allows it.
    async fn read(&mut self, prompt: &str, secret: bool) -> Result<String, EndOfInput>;

    /// Completes when the user asks to stop waiting (presses Enter); never completes when
    /// the input has ended or is not typed by a person. Cancel-safe: a line typed later is
    /// not lost.
    async fn interrupted(&mut self);

    /// Starts a spinner with `message`, the elapsed time and the time left to `deadline`
    /// (from now), when given; it disappears when dropped.
    fn spinner(&mut self, message: &str, deadline: Option<Duration>) -> Spinner;

    /// Asks for a value; an empty answer takes `default` (shown in brackets), when there is
    /// one. Asks again while the answer is empty and there is no default.
    async fn prompt(&mut self, label: &str, default: Option<&str>) -> Result<String, EndOfInput> {
        let shown = match default {
            Some(d) if !d.is_empty() => format!("{label} [{d}]: "),
            _ => format!("{label}: "),
        };
        loop {
            let answer = self.read(&shown, false).await?;
            let answer = answer.trim();
            if !answer.is_empty() {
                return Ok(answer.to_owned());
            }
            match default {
                Some(d) if !d.is_empty() => return Ok(d.to_owned()),
                _ => self.print("  A value is required."),
            }
        }
    }

    /// Asks for a secret (not echoed). An empty answer keeps `keep_hint`'s value when given
    /// (the caller decides what "keep" means); otherwise a value is required.
    async fn secret(
        &mut self,
        label: &str,
        keep_hint: Option<&str>,
    ) -> Result<Option<Zeroizing<String>>, EndOfInput> {
        let shown = match keep_hint {
            Some(hint) => format!("{label} [{hint}]: "),
            None => format!("{label}: "),
        };
        loop {
            let answer = Zeroizing::new(self.read(&shown, true).await?);
            let trimmed = answer.trim();
            if !trimmed.is_empty() {
                return Ok(Some(Zeroizing::new(trimmed.to_owned())));
            }
            if keep_hint.is_some() {
                return Ok(None);
            }
            self.print("  A value is required.");
        }
    }

    /// Shows `title` and the numbered `options`; returns the index of the chosen one. Asks
    /// again until the answer is one of the numbers.
    async fn select(&mut self, title: &str, options: &[String]) -> Result<usize, EndOfInput> {
        self.print("");
        self.print(title);
        for (i, option) in options.iter().enumerate() {
            self.print(&format!("  {}. {option}", i + 1));
        }
        let prompt = format!("Choose 1-{}: ", options.len());
        loop {
            let answer = self.read(&prompt, false).await?;
            match answer.trim().parse::<usize>() {
                Ok(n) if (1..=options.len()).contains(&n) => return Ok(n - 1),
                _ => self.print(&format!(
                    "  Please enter a number from 1 to {}.",
                    options.len()
                )),
            }
        }
    }

    /// Asks a yes/no question; an empty answer takes `default`.
    async fn confirm(&mut self, question: &str, default: bool) -> Result<bool, EndOfInput> {
        let prompt = format!("{question} [{}]: ", if default { "Y/n" } else { "y/N" });
        loop {
            let answer = self.read(&prompt, false).await?;
            match answer.trim().to_ascii_lowercase().as_str() {
                "" => return Ok(default),
                "y" | "yes" => return Ok(true),
                "n" | "no" => return Ok(false),
                _ => self.print("  Please answer y or n."),
            }
        }
    }
}

/// The account flows shared with the `airlock` commands (`account.rs`) speak through the
/// terminal.
impl<T: Terminal> Say for T {
    fn say(&mut self, line: &str) {
        self.print(line);
    }
}

/// What the input thread is asked to read.
#[derive(Debug, Clone, Copy)]
enum ReadKind {
    Line,
    Secret,
}

/// The process's terminal: stdout for text, stdin read by one thread that answers one
/// request at a time (so a read abandoned while waiting is picked up by the next prompt and
/// no keystroke is lost or read twice).
#[derive(Debug)]
pub(crate) struct StdTerminal {
    requests: std::sync::mpsc::Sender<ReadKind>,
    answers: mpsc::UnboundedReceiver<Option<String>>,
    outstanding: bool,
    ended: bool,
    /// Whether a person types the input (stdin is a terminal): only then does Enter stop a
    /// wait. Piped input is all answers.
    interactive: bool,
}

impl StdTerminal {
    /// Starts the input thread.
    pub(crate) fn new() -> Self {
        let (requests, wanted) = std::sync::mpsc::channel::<ReadKind>();
        let (answer, answers) = mpsc::unbounded_channel();
        let spawned = std::thread::Builder::new()
            .name("airlock-enforcer-stdin".to_owned())
            .spawn(move || {
                let hidden_input =
                    std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
                while let Ok(kind) = wanted.recv() {
                    let line = match kind {
                        ReadKind::Secret if hidden_input => {
                            console::Term::stdout().read_secure_line().ok()
                        }
                        _ => {
                            let mut line = String::new();
                            match std::io::stdin().lock().read_line(&mut line) {
                                Ok(0) | Err(_) => None,
                                Ok(_) => Some(line),
                            }
                        }
                    };
                    if answer.send(line).is_err() {
                        return;
                    }
                }
            });
        let ended = spawned.is_err();
        Self {
            requests,
            answers,
            outstanding: false,
            ended,
            interactive: std::io::stdin().is_terminal(),
        }
    }

    /// The next line from the input thread, asking for one unless a request is pending.
    async fn next_line(&mut self, kind: ReadKind) -> Option<String> {
        if self.ended {
            return None;
        }
        if !self.outstanding {
            if self.requests.send(kind).is_err() {
                self.ended = true;
                return None;
            }
            self.outstanding = true;
        }
        let line = self.answers.recv().await.flatten();
        self.outstanding = false;
        if line.is_none() {
            self.ended = true;
        }
        line
    }
}

impl Terminal for StdTerminal {
    /// Lines quote the gateway (reasons, error bodies, consent URLs) and stored values: made
    /// inert here, once, for every line the enforcer shows.
    fn print(&mut self, line: &str) {
        outln!("{}", crate::inert::inert_lines(line));
    }

    async fn read(&mut self, prompt: &str, secret: bool) -> Result<String, EndOfInput> {
        crate::output::stdout_bytes(crate::inert::inert(prompt).as_bytes());
        let kind = if secret {
            ReadKind::Secret
        } else {
            ReadKind::Line
        };
        match self.next_line(kind).await {
            Some(mut line) => {
                // Trimmed in place: a secret is never copied.
                let len = line.trim_end_matches(['\r', '\n']).len();
                line.truncate(len);
                Ok(line)
            }
            None => {
                self.print("");
                Err(EndOfInput)
            }
        }
    }

    async fn interrupted(&mut self) {
        if !self.interactive || self.next_line(ReadKind::Line).await.is_none() {
            std::future::pending::<()>().await;
        }
    }

    fn spinner(&mut self, message: &str, deadline: Option<Duration>) -> Spinner {
        Spinner::on_stderr(message, deadline)
    }
}

/// A terminal that plays a script: answers in order, every printed line recorded.
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct Script {
    pub(crate) answers: std::collections::VecDeque<String>,
    pub(crate) output: Vec<String>,
    /// Whether `interrupted` completes (the user pressed Enter while waiting).
    pub(crate) interrupt: bool,
}

#[cfg(test)]
impl Script {
    pub(crate) fn new<I: IntoIterator<Item = &'static str>>(answers: I) -> Self {
        Self {
            answers: answers.into_iter().map(str::to_owned).collect(),
            ..Self::default()
        }
    }

    /// Everything shown, one line each.
    pub(crate) fn text(&self) -> String {
        self.output.join("\n")
    }
}

#[cfg(test)]
impl Terminal for Script {
    fn print(&mut self, line: &str) {
        self.output.push(line.to_owned());
    }

    async fn read(&mut self, prompt: &str, _secret: bool) -> Result<String, EndOfInput> {
        self.output.push(prompt.to_owned());
        self.answers.pop_front().ok_or(EndOfInput)
    }

    async fn interrupted(&mut self) {
        if !self.interrupt {
            std::future::pending::<()>().await;
        }
    }

    fn spinner(&mut self, message: &str, _deadline: Option<Duration>) -> Spinner {
        self.output.push(format!("(spinner) {message}"));
        Spinner::hidden()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn select_asks_again_until_a_listed_number() {
        let mut t = Script::new(["0", "x", "4", " 2 "]);
        let options = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        assert_eq!(block(t.select("Pick", &options)), Ok(1));
        assert_eq!(
            t.text()
                .matches("Please enter a number from 1 to 3.")
                .count(),
            3
        );
        assert!(t.text().contains("  3. c"));
    }

    #[test]
    fn prompt_takes_the_default_and_requires_a_value_without_one() {
        let mut t = Script::new(["", "", " value "]);
        assert_eq!(block(t.prompt("Name", Some("dflt"))), Ok("dflt".to_owned()));
        assert_eq!(block(t.prompt("Other", None)), Ok("value".to_owned()));
        assert!(t.text().contains("Name [dflt]: "));
        assert!(t.text().contains("A value is required."));
    }

    #[test]
    fn secret_can_keep_the_current_value() {
        let mut t = Script::new(["", "", "s3cret"]);
        assert!(
            block(t.secret("Secret", Some("keep the current one")))
                .unwrap()
                .is_none()
        );
        let secret = block(t.secret("Secret", None)).unwrap().unwrap();
        assert_eq!(secret.as_str(), "s3cret");
    }

    #[test]
    fn confirm_understands_yes_no_and_the_default() {
        let mut t = Script::new(["", "maybe", "N", "yes"]);
        assert_eq!(block(t.confirm("Sure?", true)), Ok(true));
        assert_eq!(block(t.confirm("Sure?", true)), Ok(false));
        assert_eq!(block(t.confirm("Sure?", false)), Ok(true));
        assert!(t.text().contains("Please answer y or n."));
    }

    #[test]
    fn end_of_input_is_reported() {
        let mut t = Script::new([]);
        assert_eq!(block(t.confirm("Sure?", true)), Err(EndOfInput));
        assert_eq!(block(t.select("Pick", &["a".to_owned()])), Err(EndOfInput));
    }
}
