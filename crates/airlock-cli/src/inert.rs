//! Text from the gateway or the agent made inert before it reaches a terminal.
//!
//! A reason typed by whoever runs the relay, an error message quoting a server's body, a
//! consent URL or the command an agent wants to run may carry bytes a terminal interprets:
//! ESC/CSI/OSC sequences that move the cursor, rewrite earlier lines ("approved"), set the
//! window title or the clipboard, hyperlinks, a carriage return that overprints the line, or
//! a bidi override that shows `rm -rf ~` as something else. Every such character is printed
//! as a visible escape (`\u{1b}`, `\r`, `\u{202e}`) instead: the human sees what is there and
//! the terminal sees only printable text.
//!
//! Escaped: C0 controls (U+0000–U+001F, including ESC, CR and tab), DEL, C1 controls
//! (U+0080–U+009F, including the 8-bit CSI and OSC), the Unicode bidi controls (LRM, RLM,
//! ALM, the embeddings, overrides and isolates), zero-width characters that hide text, the
//! line and paragraph separators, and the BOM. Newlines too, except with [`inert_lines`],
//! for our own multi-line messages that quote untrusted text. JSON output needs none of
//! this: serde_json escapes every control character already.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` is printed escaped (see the module documentation).
fn is_hostile(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'                 // ARABIC LETTER MARK
            | '\u{200b}'..='\u{200f}'  // zero width space/non-joiner/joiner, LRM, RLM
            | '\u{2028}' | '\u{2029}'  // line and paragraph separators
            | '\u{202a}'..='\u{202e}'  // LRE, RLE, PDF, LRO, RLO
            | '\u{2060}'..='\u{2064}'  // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}'  // LRI, RLI, FSI, PDI
            | '\u{feff}' // BOM / zero width no-break space
        )
}

fn escape(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let hostile = |c: char| is_hostile(c) && !(keep_newlines && c == '\n');
    if !text.contains(hostile) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            _ if !hostile(c) => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            _ => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
        }
    }
    Cow::Owned(out)
}

/// `text` with every character a terminal would interpret (newlines included) escaped, for
/// one line of output.
pub(crate) fn inert(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// Like [`inert`] but newlines are kept: for multi-line text, each line inert.
pub(crate) fn inert_lines(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nothing a terminal acts on survives: no control, no bidi control, no separator.
    fn assert_inert(out: &str) {
        assert!(
            !out.chars().any(is_hostile),
            "{out:?} still has hostile characters"
        );
    }

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        for s in [
            "",
            "git status -s",
            "approved by key-1: looks fine",
            "naïve — ünïcödé ✓ 日本",
        ] {
            assert!(matches!(inert(s), Cow::Borrowed(b) if b == s));
        }
        assert!(matches!(inert_lines("a\nb"), Cow::Borrowed("a\nb")));
    }

    #[test]
    fn hostile_strings_are_escaped_visibly() {
        let cases = [
            // CSI: clear the screen, move up and rewrite the previous line.
            (
                "\u{1b}[2J\u{1b}[1A\u{1b}[2Kapproved",
                r"\u{1b}[2J\u{1b}[1A\u{1b}[2Kapproved",
            ),
            // OSC 52: write the clipboard; OSC 0: window title (BEL and ST terminators).
            (
                "\u{1b}]52;c;cm0gLXJmIH4=\u{7}",
                r"\u{1b}]52;c;cm0gLXJmIH4=\u{7}",
            ),
            ("\u{1b}]0;pwned\u{1b}\\", r"\u{1b}]0;pwned\u{1b}\"),
            // OSC 8 hyperlink that hides its target.
            (
                "\u{1b}]8;;https://evil.example\u{1b}\\ok\u{1b}]8;;\u{1b}\\",
                r"\u{1b}]8;;https://evil.example\u{1b}\ok\u{1b}]8;;\u{1b}\",
            ),
            // Carriage return overprinting, backspaces, NUL, DEL.
            ("rm -rf ~\rls", r"rm -rf ~\rls"),
            ("rm\u{8}\u{8}ls\0\u{7f}", r"rm\u{8}\u{8}ls\u{0}\u{7f}"),
            // C1 8-bit CSI and OSC.
            ("\u{9b}31m\u{9d}0;t\u{9c}", r"\u{9b}31m\u{9d}0;t\u{9c}"),
            // Bidi override: `ls #~ fr- mr` displayed, `rm -rf ~ # sl` meant (or vice versa).
            (
                "ls \u{202e}~ fr- mr\u{202c}",
                r"ls \u{202e}~ fr- mr\u{202c}",
            ),
            (
                "a\u{2066}b\u{2069}\u{200f}\u{61c}",
                r"a\u{2066}b\u{2069}\u{200f}\u{61c}",
            ),
            // Zero-width and separators.
            (
                "git\u{200b} status\u{2028}x\u{feff}",
                r"git\u{200b} status\u{2028}x\u{feff}",
            ),
            // Newlines and tabs in a one-line field.
            ("line1\nline2\tend", r"line1\nline2\tend"),
        ];
        for (input, want) in cases {
            let got = inert(input);
            assert_eq!(got, want, "input {input:?}");
            assert_inert(&got);
        }
    }

    #[test]
    fn inert_lines_keeps_only_newlines() {
        let got = inert_lines("first\n\u{1b}[31msecond\r\n");
        assert_eq!(got, "first\n\\u{1b}[31msecond\\r\n");
        assert!(!got.contains('\u{1b}') && !got.contains('\r'));
    }

    #[test]
    fn every_char_class_is_covered() {
        // Every C0, DEL and C1 code point, one by one and all at once.
        let all: String = (0u32..0x20)
            .chain(0x7f..0xa0)
            .filter_map(char::from_u32)
            .collect();
        assert_inert(&inert(&all));
        for c in all.chars() {
            let s = c.to_string();
            let got = inert(&s);
            assert!(got.starts_with('\\'), "{c:?} -> {got:?}");
            assert_inert(&got);
        }
        // Kept: printable ASCII, Latin-1 letters, emoji.
        let fine: String = (0x20u32..0x7f).filter_map(char::from_u32).collect();
        assert_eq!(inert(&fine), fine);
        assert_eq!(inert("é✓🙂"), "é✓🙂");
    }
}
