//! Single-pass parser that validates JSON text (RFC 8259, strictly) and writes
//! its RFC 8785 canonical form at the same time.
//!
//! Scalars and arrays go straight to the output. Object members are written
//! in document order while their byte ranges in the output are recorded;
//! when the object closes, the members are sorted by UTF-16 name order and,
//! only if the input order differed, the object body is rearranged through a
//! reusable scratch buffer. Names without escapes are borrowed from the input,
//! the container stack is explicit (no recursion, so no stack overflow at any
//! depth limit), and member bookkeeping lives in one shared vector.

use std::borrow::Cow;

use super::CanonicalizeError;
use super::writer::{cmp_utf16, write_char, write_f64};

/// An open container.
enum Frame {
    Array,
    Object {
        /// Index in `Parser::members` of this object's first member.
        members_base: usize,
        /// Offset in the output just after the `{`.
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

pub(super) struct Parser<'a, 'o> {
    text: &'a str,
    src: &'a [u8],
    pos: usize,
    out: &'o mut Vec<u8>,
    max_depth: usize,
    frames: Vec<Frame>,
    members: Vec<Member<'a>>,
    scratch: Vec<u8>,
}

impl<'a, 'o> Parser<'a, 'o> {
    pub(super) fn new(text: &'a str, out: &'o mut Vec<u8>, max_depth: usize) -> Self {
        Parser {
            text,
            src: text.as_bytes(),
            pos: 0,
            out,
            max_depth,
            frames: Vec::new(),
            members: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Parses the whole input as exactly one JSON value, appending its
    /// canonical form to the output.
    pub(super) fn run(mut self) -> Result<(), CanonicalizeError> {
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
                    self.out.push(byte);
                    self.skip_whitespace();
                    let close = if byte == b'[' { b']' } else { b'}' };
                    if self.peek() == Some(close) {
                        self.pos += 1;
                        self.out.push(close);
                    } else if byte == b'[' {
                        self.frames.push(Frame::Array);
                        continue 'value;
                    } else {
                        self.frames.push(Frame::Object {
                            members_base: self.members.len(),
                            body_start: self.out.len(),
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
                                self.out.push(b',');
                                continue 'value;
                            }
                            Some(b']') => {
                                self.pos += 1;
                                self.out.push(b']');
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
                        if let Some(member) = self.members.last_mut() {
                            member.end = self.out.len();
                        }
                        self.skip_whitespace();
                        match self.peek() {
                            Some(b',') => {
                                self.pos += 1;
                                self.out.push(b',');
                                self.member_name()?;
                                continue 'value;
                            }
                            Some(b'}') => {
                                self.pos += 1;
                                self.finish_object(members_base, body_start)?;
                                self.out.push(b'}');
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
        self.skip_whitespace();
        if self.pos != self.src.len() {
            return Err(CanonicalizeError::TrailingData { offset: self.pos });
        }
        Ok(())
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.src.get(self.pos) {
            self.pos += 1;
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
            self.out.extend_from_slice(word.as_bytes());
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
        let start = self.out.len();
        self.pos += 1;
        let name = self.string(true)?;
        self.skip_whitespace();
        if self.peek() != Some(b':') {
            return Err(self.syntax("expected `:` after a member name"));
        }
        self.pos += 1;
        self.out.push(b':');
        self.members.push(Member {
            name,
            name_offset,
            start,
            end: start,
        });
        Ok(())
    }

    /// Sorts the members of the object that just closed, rejects duplicate
    /// names and rewrites the body in canonical order if needed.
    fn finish_object(&mut self, base: usize, body_start: usize) -> Result<(), CanonicalizeError> {
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
        self.members.truncate(base);
        Ok(())
    }

    /// Parses a string whose opening quote was consumed and writes its
    /// canonical form. Returns the decoded content when `decode` is set or
    /// when it can be borrowed for free; otherwise an empty string.
    fn string(&mut self, decode: bool) -> Result<Cow<'a, str>, CanonicalizeError> {
        let start = self.pos;
        let src = self.src;
        self.out.push(b'"');
        // Fast path: no escapes, so the input bytes are already canonical.
        let mut i = start;
        loop {
            match src.get(i) {
                None => return Err(self.unterminated(start)),
                Some(b'"') => {
                    self.out.extend_from_slice(&src[start..i]);
                    self.out.push(b'"');
                    self.pos = i + 1;
                    return Ok(Cow::Borrowed(&self.text[start..i]));
                }
                Some(b'\\') => break,
                Some(&b) if b < 0x20 => return Err(control_character(i)),
                Some(_) => i += 1,
            }
        }
        // Slow path: decode escapes, re-escaping minimally.
        let mut decoded = decode.then(String::new);
        let mut run = start;
        loop {
            match src.get(i) {
                None => return Err(self.unterminated(start)),
                Some(&b @ (b'"' | b'\\')) => {
                    self.out.extend_from_slice(&src[run..i]);
                    if let Some(decoded) = decoded.as_mut() {
                        decoded.push_str(&self.text[run..i]);
                    }
                    if b == b'"' {
                        self.out.push(b'"');
                        self.pos = i + 1;
                        return Ok(decoded.map_or(Cow::Borrowed(""), Cow::Owned));
                    }
                    let (c, len) = escape(src, i)?;
                    write_char(self.out, c);
                    if let Some(decoded) = decoded.as_mut() {
                        decoded.push(c);
                    }
                    i += len;
                    run = i;
                }
                Some(&b) if b < 0x20 => return Err(control_character(i)),
                Some(_) => i += 1,
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
        let mut plain_integer = true;
        if src.get(i) == Some(&b'.') {
            plain_integer = false;
            let fraction = i + 1;
            i = digits_from(fraction);
            if i == fraction {
                return Err(invalid("expected a digit after the decimal point"));
            }
        }
        if let Some(b'e' | b'E') = src.get(i) {
            plain_integer = false;
            i += 1;
            if let Some(b'+' | b'-') = src.get(i) {
                i += 1;
            }
            let exponent = i;
            i = digits_from(exponent);
            if i == exponent {
                return Err(invalid("expected a digit in the exponent"));
            }
        }
        self.pos = i;
        let literal = &self.text[start..i];
        // Integers of at most 15 digits are exact doubles below 1e21, which
        // ECMAScript prints digit for digit (the grammar already excludes
        // leading zeros); only the sign of zero must go.
        if plain_integer && int_digits <= 15 {
            let bytes = if literal == "-0" { "0" } else { literal };
            self.out.extend_from_slice(bytes.as_bytes());
            return Ok(());
        }
        // `str::parse::<f64>` rounds correctly (round half to even).
        let value: f64 = literal
            .parse()
            .map_err(|_| invalid("not a decimal number"))?;
        if !value.is_finite() {
            return Err(CanonicalizeError::NumberOutOfRange { offset: start });
        }
        write_f64(self.out, value)
    }
}

fn control_character(offset: usize) -> CanonicalizeError {
    CanonicalizeError::Syntax {
        offset,
        message: "control characters must be escaped in strings",
    }
}

/// Decodes the escape sequence starting with the backslash at `at`; returns
/// the character and the number of input bytes it used.
fn escape(src: &[u8], at: usize) -> Result<(char, usize), CanonicalizeError> {
    let simple = match src.get(at + 1) {
        Some(b'"') => '"',
        Some(b'\\') => '\\',
        Some(b'/') => '/',
        Some(b'b') => '\u{8}',
        Some(b'f') => '\u{c}',
        Some(b'n') => '\n',
        Some(b'r') => '\r',
        Some(b't') => '\t',
        Some(b'u') => {
            let unit = hex4(src, at)?;
            return match unit {
                0xD800..=0xDBFF => {
                    let low_at = at + 6;
                    if src.get(low_at..low_at + 2) != Some(b"\\u") {
                        return Err(CanonicalizeError::LoneSurrogate { offset: at });
                    }
                    let low = hex4(src, low_at)?;
                    if !(0xDC00..=0xDFFF).contains(&low) {
                        return Err(CanonicalizeError::LoneSurrogate { offset: at });
                    }
                    let code =
                        0x1_0000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                    char::from_u32(code)
                        .map(|c| (c, 12))
                        .ok_or(CanonicalizeError::LoneSurrogate { offset: at })
                }
                0xDC00..=0xDFFF => Err(CanonicalizeError::LoneSurrogate { offset: at }),
                _ => char::from_u32(u32::from(unit))
                    .map(|c| (c, 6))
                    .ok_or(CanonicalizeError::InvalidEscape { offset: at }),
            };
        }
        _ => return Err(CanonicalizeError::InvalidEscape { offset: at }),
    };
    Ok((simple, 2))
}

/// Reads the four hex digits of the `\uXXXX` escape starting at `at`.
fn hex4(src: &[u8], at: usize) -> Result<u16, CanonicalizeError> {
    let digits = src
        .get(at + 2..at + 6)
        .ok_or(CanonicalizeError::InvalidEscape { offset: at })?;
    digits.iter().try_fold(0u16, |acc, &d| {
        let nibble = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return Err(CanonicalizeError::InvalidEscape { offset: at }),
        };
        Ok(acc << 4 | u16::from(nibble))
    })
}
