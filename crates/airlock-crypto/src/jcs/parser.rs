//! Single-pass parser that validates JSON text (RFC 8259, strictly) and writes
//! its RFC 8785 canonical form at the same time.
//!
//! Most of a typical JSON text is already canonical: punctuation, literals,
//! plain strings, short numbers. The parser therefore copies lazily: input
//! that is canonical as it stands is not written token by token but left
//! *pending* (from `flushed` up to the current position) and copied in one
//! piece when something must change: whitespace to drop, an escape or a number
//! to rewrite, an object whose members must be reordered, the end of input.
//! Positions in the output are counted as if everything pending had been
//! written (see `Parser::out_len`).
//!
//! Object members are recorded with their ranges in the output; when an
//! object closes, the members are sorted by UTF-16 name order and, only if the
//! input order differed, the object body is rearranged (straight from the
//! input when none of it has been written yet, otherwise through a reusable
//! scratch buffer). Names without escapes are borrowed from the input, the
//! container stack is explicit (no recursion, so no stack overflow at any
//! depth limit), and member bookkeeping lives in one shared vector.

use std::borrow::Cow;

use super::CanonicalizeError;
use super::lex::{self, find_special};
use super::writer::{cmp_utf16, write_char, write_f64, write_string};

/// An open container.
enum Frame {
    Array,
    Object {
        /// Index in `Parser::members` of this object's first member.
        members_base: usize,
        /// Output offset just after the `{`.
        body_start: usize,
    },
}

/// One member of an open object.
struct Member<'a> {
    /// The decoded name.
    name: Cow<'a, str>,
    /// Offset of the name's opening quote in the input.
    name_offset: usize,
    /// Range of `"name":value` in the output.
    start: usize,
    end: usize,
}

/// A top-level member the canonical form must have (see
/// `Canonicalizer::canonicalize_with_member`).
pub(super) struct Binding<'a> {
    pub(super) name: &'a str,
    pub(super) value: &'a str,
}

pub(super) struct Parser<'a, 'o> {
    text: &'a str,
    src: &'a [u8],
    pos: usize,
    /// Input from here up to `pos` is canonical and not yet copied to `out`.
    flushed: usize,
    out: &'o mut Vec<u8>,
    max_depth: usize,
    frames: Vec<Frame>,
    members: Vec<Member<'a>>,
    scratch: Vec<u8>,
    binding: Option<Binding<'a>>,
}

impl<'a, 'o> Parser<'a, 'o> {
    /// A parser of `text` appending to `out`. With a `binding`, the top-level
    /// value must be an object whose member `binding.name` is the string
    /// `binding.value` (added when absent).
    pub(super) fn new(
        text: &'a str,
        out: &'o mut Vec<u8>,
        max_depth: usize,
        binding: Option<Binding<'a>>,
    ) -> Self {
        Parser {
            text,
            src: text.as_bytes(),
            pos: 0,
            flushed: 0,
            out,
            max_depth,
            frames: Vec::new(),
            members: Vec::new(),
            scratch: Vec::new(),
            binding,
        }
    }

    /// Parses the whole input as exactly one JSON value, appending its
    /// canonical form to the output.
    pub(super) fn run(mut self) -> Result<(), CanonicalizeError> {
        self.skip_whitespace();
        if self.binding.is_some() && self.peek() != Some(b'{') {
            return Err(CanonicalizeError::NotAnObject);
        }
        'value: loop {
            self.skip_whitespace();
            let Some(&byte) = self.src.get(self.pos) else {
                return Err(self.syntax("expected a value"));
            };
            match byte {
                b'[' | b'{' => {
                    if self.frames.len() >= self.max_depth {
                        return Err(CanonicalizeError::TooDeep {
                            limit: self.max_depth,
                            offset: Some(self.pos),
                        });
                    }
                    self.pos += 1;
                    self.skip_whitespace();
                    let close = if byte == b'[' { b']' } else { b'}' };
                    if self.peek() == Some(close) {
                        if byte == b'{' && self.frames.is_empty() && self.binding.is_some() {
                            // `{}` at the top: the body is the bound member alone.
                            let body_start = self.out_len();
                            self.frames.push(Frame::Object {
                                members_base: self.members.len(),
                                body_start,
                            });
                            self.finish_object(self.members.len(), body_start)?;
                            self.frames.pop();
                        }
                        self.pos += 1;
                    } else if byte == b'[' {
                        self.frames.push(Frame::Array);
                        continue 'value;
                    } else {
                        self.frames.push(Frame::Object {
                            members_base: self.members.len(),
                            body_start: self.out_len(),
                        });
                        self.member_name()?;
                        continue 'value;
                    }
                }
                b'"' => {
                    self.pos += 1;
                    self.string(false)?;
                }
                b't' => self.literal("true")?,
                b'f' => self.literal("false")?,
                b'n' => self.literal("null")?,
                b'-' | b'0'..=b'9' => self.number()?,
                b'+' | b'.' => {
                    return Err(CanonicalizeError::InvalidNumber {
                        offset: self.pos,
                        message: "a number must start with `-` or a digit",
                    });
                }
                _ => return Err(self.syntax("expected a value")),
            }
            // A value is complete: close every container that ends here.
            loop {
                let Some(frame) = self.frames.last() else {
                    break 'value;
                };
                match *frame {
                    Frame::Array => {
                        self.skip_whitespace();
                        match self.peek() {
                            Some(b',') => {
                                self.pos += 1;
                                continue 'value;
                            }
                            Some(b']') => {
                                self.pos += 1;
                                self.frames.pop();
                            }
                            _ => {
                                return Err(
                                    self.syntax("expected `,` or `]` after an array element")
                                );
                            }
                        }
                    }
                    Frame::Object {
                        members_base,
                        body_start,
                    } => {
                        let end = self.out_len();
                        if let Some(member) = self.members.last_mut() {
                            member.end = end;
                        }
                        self.skip_whitespace();
                        match self.peek() {
                            Some(b',') => {
                                self.pos += 1;
                                self.member_name()?;
                                continue 'value;
                            }
                            Some(b'}') => {
                                self.finish_object(members_base, body_start)?;
                                self.pos += 1;
                                self.frames.pop();
                            }
                            _ => {
                                return Err(
                                    self.syntax("expected `,` or `}` after an object member")
                                );
                            }
                        }
                    }
                }
            }
        }
        self.flush();
        self.skip_whitespace();
        if self.pos != self.src.len() {
            return Err(CanonicalizeError::TrailingData { offset: self.pos });
        }
        Ok(())
    }

    /// The length the output has with everything pending written.
    fn out_len(&self) -> usize {
        self.out.len() + (self.pos - self.flushed)
    }

    /// Writes the pending input (up to the current position) to the output.
    fn flush(&mut self) {
        self.out
            .extend_from_slice(&self.src[self.flushed..self.pos]);
        self.flushed = self.pos;
    }

    /// Writes the pending input up to `at` (at most the current position)
    /// and drops the input from there to the current position: the caller
    /// writes what replaces it.
    fn replace_from(&mut self, at: usize) {
        self.out.extend_from_slice(&self.src[self.flushed..at]);
        self.flushed = self.pos;
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        if let Some(b' ' | b'\t' | b'\n' | b'\r') = self.src.get(self.pos) {
            let start = self.pos;
            while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.src.get(self.pos) {
                self.pos += 1;
            }
            // Whitespace never reaches the output.
            self.replace_from(start);
        }
    }

    fn syntax(&self, message: &'static str) -> CanonicalizeError {
        CanonicalizeError::Syntax {
            offset: self.pos,
            message,
        }
    }

    fn literal(&mut self, word: &'static str) -> Result<(), CanonicalizeError> {
        if self.src[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.syntax("invalid literal (expected `true`, `false` or `null`)"))
        }
    }

    /// Parses `"name":` (with surrounding whitespace) and opens a member.
    fn member_name(&mut self) -> Result<(), CanonicalizeError> {
        self.skip_whitespace();
        if self.peek() != Some(b'"') {
            return Err(self.syntax("expected a member name (a string)"));
        }
        let name_offset = self.pos;
        let start = self.out_len();
        self.pos += 1;
        let name = self.string(true)?;
        self.skip_whitespace();
        if self.peek() != Some(b':') {
            return Err(self.syntax("expected `:` after a member name"));
        }
        self.pos += 1;
        self.members.push(Member {
            name,
            name_offset,
            start,
            end: start,
        });
        Ok(())
    }

    /// Sorts the members of the object whose `}` is at the current position,
    /// rejects duplicate names, applies the binding to the top-level object,
    /// and rewrites the body in canonical order if needed.
    fn finish_object(&mut self, base: usize, body_start: usize) -> Result<(), CanonicalizeError> {
        if self.frames.len() == 1 && self.binding.is_some() {
            self.bind(base)?;
        }
        let members = &mut self.members[base..];
        let in_order = members
            .windows(2)
            .all(|pair| cmp_utf16(&pair[0].name, &pair[1].name).is_lt());
        if !in_order {
            members.sort_unstable_by(|a, b| {
                cmp_utf16(&a.name, &b.name).then(a.name_offset.cmp(&b.name_offset))
            });
            // Report the first repeated name in document order.
            let duplicate = members
                .windows(2)
                .filter(|pair| pair[0].name == pair[1].name)
                .map(|pair| &pair[1])
                .min_by_key(|member| member.name_offset);
            if let Some(member) = duplicate {
                return Err(CanonicalizeError::DuplicateKey {
                    key: member.name.clone().into_owned(),
                    offset: member.name_offset,
                });
            }
            let written = self.out.len();
            if body_start >= written {
                // Nothing of the body is written yet: copy the members from
                // the input, in order. Output offset `o` (at least `written`)
                // is input offset `o - written + flushed`.
                let flushed = self.flushed;
                let input = |offset: usize| offset - written + flushed;
                self.out
                    .extend_from_slice(&self.src[flushed..input(body_start)]);
                for (index, member) in members.iter().enumerate() {
                    if index > 0 {
                        self.out.push(b',');
                    }
                    self.out
                        .extend_from_slice(&self.src[input(member.start)..input(member.end)]);
                }
                self.flushed = self.pos;
            } else {
                // Write out what is pending (field by field: `members` borrows
                // `self.members`).
                self.out
                    .extend_from_slice(&self.src[self.flushed..self.pos]);
                self.flushed = self.pos;
                self.scratch.clear();
                self.scratch.extend_from_slice(&self.out[body_start..]);
                self.out.truncate(body_start);
                for (index, member) in members.iter().enumerate() {
                    if index > 0 {
                        self.out.push(b',');
                    }
                    self.out.extend_from_slice(
                        &self.scratch[member.start - body_start..member.end - body_start],
                    );
                }
            }
        }
        self.members.truncate(base);
        Ok(())
    }

    /// Checks the bound member of the top-level object whose members start
    /// at `base`, or appends it (the body is written out first).
    fn bind(&mut self, base: usize) -> Result<(), CanonicalizeError> {
        let Some(Binding { name, value }) = self.binding else {
            return Ok(());
        };
        self.flush();
        let mut expected = Vec::with_capacity(name.len() + value.len() + 8);
        write_string(&mut expected, name);
        expected.push(b':');
        write_string(&mut expected, value);
        match self.members[base..].iter().find(|m| m.name == name) {
            Some(member) => {
                if self.out[member.start..member.end] != expected[..] {
                    return Err(CanonicalizeError::MemberMismatch {
                        name: name.to_owned(),
                        offset: member.name_offset,
                    });
                }
            }
            None => {
                if self.members.len() > base {
                    self.out.push(b',');
                }
                let start = self.out.len();
                self.out.extend_from_slice(&expected);
                self.members.push(Member {
                    name: Cow::Borrowed(name),
                    // Sorts after every member of the input, should the
                    // name repeat (it cannot: it was looked for).
                    name_offset: self.src.len(),
                    start,
                    end: self.out.len(),
                });
            }
        }
        Ok(())
    }

    /// Parses a string whose opening quote was consumed and writes its
    /// canonical form. Returns the decoded content when `decode` is set or
    /// when it can be borrowed for free; otherwise an empty string.
    ///
    /// Runs of plain characters are found a word at a time and left pending;
    /// only escapes that are not canonical are decoded and rewritten.
    #[inline]
    fn string(&mut self, decode: bool) -> Result<Cow<'a, str>, CanonicalizeError> {
        let start = self.pos;
        let first = find_special(self.src, start);
        if self.src.get(first) == Some(&b'"') {
            // No escape (the common case): nothing to write, the content is borrowed.
            self.pos = first + 1;
            return Ok(Cow::Borrowed(&self.text[start..first]));
        }
        self.string_from(start, first, decode)
    }

    /// The rest of [`string`](Self::string) once the first special byte, at
    /// `first`, is not the closing quote.
    fn string_from(
        &mut self,
        start: usize,
        first: usize,
        decode: bool,
    ) -> Result<Cow<'a, str>, CanonicalizeError> {
        let src = self.src;
        // The decoded content, built once the first escape is met, and only
        // when `decode` asks for it.
        let mut decoded: Option<String> = None;
        let mut escaped = false;
        // Start of the content not yet added to `decoded`.
        let mut run = start;
        // Where the next special byte is.
        let mut i = first;
        loop {
            match src.get(i) {
                None => return Err(self.unterminated(start)),
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(match decoded {
                        Some(mut decoded) => {
                            decoded.push_str(&self.text[run..i]);
                            Cow::Owned(decoded)
                        }
                        // No escapes: the input bytes are the content.
                        None if !escaped => Cow::Borrowed(&self.text[start..i]),
                        None => Cow::Borrowed(""),
                    });
                }
                Some(b'\\') => {
                    if !escaped {
                        escaped = true;
                        if decode {
                            decoded = Some(String::new());
                        }
                    }
                    let (c, len) = lex::decode_escape(src, i)?;
                    // An escape already in canonical form stays pending.
                    if !is_canonical_escape(src, i, c, len) {
                        self.pos = i + len;
                        self.replace_from(i);
                        write_char(self.out, c);
                    }
                    if let Some(decoded) = decoded.as_mut() {
                        decoded.push_str(&self.text[run..i]);
                        decoded.push(c);
                        run = i + len;
                    }
                    i = find_special(src, i + len);
                }
                Some(_) => return Err(control_character(i)),
            }
        }
    }

    fn unterminated(&self, start: usize) -> CanonicalizeError {
        CanonicalizeError::Syntax {
            offset: start - 1,
            message: "unterminated string",
        }
    }

    /// Parses a number (strict RFC 8259 grammar) and writes it in ECMAScript form.
    fn number(&mut self) -> Result<(), CanonicalizeError> {
        let src = self.src;
        let start = self.pos;
        let invalid = |message| CanonicalizeError::InvalidNumber {
            offset: start,
            message,
        };
        let digits_from = |mut i: usize| {
            while let Some(b'0'..=b'9') = src.get(i) {
                i += 1;
            }
            i
        };
        let mut i = start;
        if src.get(i) == Some(&b'-') {
            i += 1;
        }
        let int_start = i;
        match src.get(i) {
            Some(b'0') => {
                i += 1;
                if let Some(b'0'..=b'9') = src.get(i) {
                    return Err(invalid("leading zeros are not allowed"));
                }
            }
            Some(b'1'..=b'9') => i = digits_from(i + 1),
            _ => return Err(invalid("expected a digit")),
        }
        let int_digits = i - int_start;
        let mut fraction = None;
        let mut exponent = false;
        if src.get(i) == Some(&b'.') {
            let fraction_start = i + 1;
            i = digits_from(fraction_start);
            if i == fraction_start {
                return Err(invalid("expected a digit after the decimal point"));
            }
            fraction = Some(fraction_start..i);
        }
        if let Some(b'e' | b'E') = src.get(i) {
            exponent = true;
            i += 1;
            if let Some(b'+' | b'-') = src.get(i) {
                i += 1;
            }
            let exponent_start = i;
            i = digits_from(exponent_start);
            if i == exponent_start {
                return Err(invalid("expected a digit in the exponent"));
            }
        }
        self.pos = i;
        let literal = &self.text[start..i];
        if !exponent {
            match fraction {
                // Integers of at most 15 digits are exact doubles below 1e21,
                // which ECMAScript prints digit for digit (the grammar already
                // excludes leading zeros); only the sign of zero must go.
                None if int_digits <= 15 => {
                    if literal == "-0" {
                        self.replace_from(start);
                        self.out.push(b'0');
                    }
                    return Ok(());
                }
                Some(fraction) => {
                    if let Some(end) = short_decimal_end(src, int_start, int_digits, fraction) {
                        if end != i {
                            // Trailing fraction zeros (and maybe the `.`) go.
                            self.replace_from(end);
                        }
                        return Ok(());
                    }
                }
                None => {}
            }
        }
        // `str::parse::<f64>` rounds correctly (round half to even).
        let value: f64 = literal
            .parse()
            .map_err(|_| invalid("not a decimal number"))?;
        if !value.is_finite() {
            return Err(CanonicalizeError::NumberOutOfRange { offset: start });
        }
        self.replace_from(start);
        write_f64(self.out, value)
    }
}

/// Whether the escape of `c` that takes `len` bytes at `at` is already in
/// canonical form (the escape [`lex::escape_of`] writes), so that it can be
/// copied unchanged.
fn is_canonical_escape(src: &[u8], at: usize, c: char, len: usize) -> bool {
    u8::try_from(c)
        .ok()
        .and_then(lex::escape_of)
        .is_some_and(|escape| src.get(at..at + len) == Some(escape.as_bytes()))
}

/// For a number without exponent whose fraction digits span `fraction`:
/// where its canonical form ends, when that form is the literal itself with
/// trailing fraction zeros (and a bare `.`) removed.
///
/// That holds when the number is at least 0.1 in magnitude and has at most
/// 15 significant digits: every decimal of at most 15 significant digits is
/// recovered from its nearest double, so it is the shortest one that rounds
/// to that double (the digits ECMAScript prints), and numbers from 0.1 to
/// 1e21 are printed without exponent.
fn short_decimal_end(
    src: &[u8],
    int_start: usize,
    int_digits: usize,
    fraction: core::ops::Range<usize>,
) -> Option<usize> {
    let digits = &src[fraction.clone()];
    let kept = digits
        .iter()
        .rposition(|&d| d != b'0')
        .map_or(0, |last| last + 1);
    let significant = if src[int_start] == b'0' {
        // `0.xyz`: at least 0.1 only when `x` is not zero.
        if digits.first() == Some(&b'0') {
            return None;
        }
        kept
    } else {
        int_digits + kept
    };
    if significant > 15 {
        return None;
    }
    Some(if kept == 0 {
        // All fraction digits are zero: drop the `.` as well.
        fraction.start - 1
    } else {
        fraction.start + kept
    })
}

fn control_character(offset: usize) -> CanonicalizeError {
    CanonicalizeError::Syntax {
        offset,
        message: "control characters must be escaped in strings",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jcs::canonicalize;

    /// The reference for a number: parse as a double, print as ECMAScript.
    fn reference_number(literal: &str) -> Vec<u8> {
        let mut out = Vec::new();
        write_f64(&mut out, literal.parse().unwrap()).unwrap();
        out
    }

    /// The reference for a string literal: decode with serde_json, escape
    /// with the shared writer.
    fn reference_string(literal: &str) -> Vec<u8> {
        let decoded: String = serde_json::from_str(literal).unwrap();
        let mut out = Vec::new();
        super::super::writer::write_string(&mut out, &decoded);
        out
    }

    #[test]
    fn short_decimals_match_the_reference() {
        for literal in [
            "0.1",
            "0.5",
            "0.50",
            "-0.5",
            "0.05",
            "0.0",
            "-0.0",
            "0.000001",
            "0.0000001",
            "1.0",
            "-12.000",
            "12.50",
            "123456789012345.0",
            "123456789012345.5",
            "12345678901234.5",
            "0.123456789012345",
            "0.1234567890123456",
            "9007199254740993.0",
            "999999999999999.9",
            "0.30000000000000004",
            "100000000000000000000.0",
            "1000000000000000000000.0",
        ] {
            assert_eq!(
                canonicalize(literal.as_bytes()).unwrap(),
                reference_number(literal),
                "{literal}"
            );
        }
    }

    #[test]
    fn escapes_kept_or_rewritten_match_the_reference() {
        for literal in [
            r#""\"\\\b\f\n\r\t""#,
            r#""a\/b""#,
            r#""\u0001\u001f\u001F\u000A\u000a\u0008\u000c\u000d\u0009""#,
            r#""\u0022\u005c\u005C\u0041\u00e9\u00E9\ud83d\ude00x""#,
            r#""plain text that is longer than sixteen bytes \n and more""#,
            r#""0123456789abcdef\"0123456789abcdef\\""#,
        ] {
            assert_eq!(
                canonicalize(literal.as_bytes()).unwrap(),
                reference_string(literal),
                "{literal}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn decimals_match_the_reference(
            sign in "-?",
            int in "0|[1-9][0-9]{0,17}",
            fraction in "[0-9]{1,18}",
        ) {
            let literal = format!("{sign}{int}.{fraction}");
            proptest::prop_assert_eq!(
                canonicalize(literal.as_bytes()).unwrap(),
                reference_number(&literal)
            );
        }

        #[test]
        fn strings_match_the_reference(content in r#"([a\u{e9}\u{1f600} /]|\\[\\"/bfnrt]|\\u00[01][0-9a-fA-F]|\\u00[eE]9){0,40}"#) {
            let literal = format!("\"{content}\"");
            proptest::prop_assert_eq!(
                canonicalize(literal.as_bytes()).unwrap(),
                reference_string(&literal)
            );
        }
    }
}
