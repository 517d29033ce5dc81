//! Request bodies as compact JSON: exactly the bytes `serde_json::to_vec` writes, with string
//! contents scanned and copied in blocks.
//!
//! `serde_json` escapes a string by looking each byte up in a table; for the long base64
//! strings of an artifact submission (the ciphertext) that loop took a fifth of the CPU time
//! of a whole request. This serializer looks for the next byte that needs an escape (`"`,
//! `\` or a control character) 32 bytes per step, in code the compiler vectorizes, and copies
//! the runs in between. Everything else — numbers, escapes, the rules for map keys — is
//! `serde_json`'s own: numbers and escapes are written by its [`CompactFormatter`], errors are
//! `serde_json::Error`s with its messages, and the tests below check the output against
//! `serde_json` (every byte in every position, the whole serde data model, arbitrary JSON
//! values, the artifact submission).

use std::io;

use serde::ser::{self, Impossible, Serialize};
use serde_json::ser::{CharEscape, CompactFormatter, Formatter};

use super::{BLOCK, first_special, is_special, scan_blocks};

type Result<T> = std::result::Result<T, serde_json::Error>;

/// Serializes `value` as compact JSON, byte for byte what `serde_json::to_vec` writes.
pub(crate) fn to_vec<T: ?Sized + Serialize>(value: &T) -> Result<Vec<u8>> {
    let mut writer = Writer {
        out: Vec::with_capacity(INITIAL_CAPACITY),
    };
    value.serialize(&mut writer)?;
    Ok(writer.out)
}

/// Every request body but the largest artifact submissions fits: one allocation, no
/// regrowth (a typical submission, a 1 KiB artifact sealed, is about 2 KiB).
const INITIAL_CAPACITY: usize = 4096;

struct Writer {
    out: Vec<u8>,
}

/// Formatter calls write into a `Vec`, which cannot fail; the conversion keeps the types.
fn io(result: io::Result<()>) -> Result<()> {
    result.map_err(serde_json::Error::io)
}

/// The escape of a byte, or `None` when it is written as is (`serde_json`'s table).
fn escape_of(byte: u8) -> Option<CharEscape> {
    Some(match byte {
        b'"' => CharEscape::Quote,
        b'\\' => CharEscape::ReverseSolidus,
        0x08 => CharEscape::Backspace,
        0x09 => CharEscape::Tab,
        0x0A => CharEscape::LineFeed,
        0x0C => CharEscape::FormFeed,
        0x0D => CharEscape::CarriageReturn,
        0x00..=0x1F => CharEscape::AsciiControl(byte),
        _ => return None,
    })
}

/// The index of the first byte at or after `from` that must be escaped, or `bytes.len()`.
fn next_escape(bytes: &[u8], from: usize) -> usize {
    let rest = &bytes[from..];
    let Some(last) = rest.last_chunk::<BLOCK>() else {
        // Shorter than a block (most keys and values): one block, padded with spaces.
        let mut padded = [b' '; BLOCK];
        padded[..rest.len()].copy_from_slice(rest);
        return first_special(&padded).map_or(bytes.len(), |at| from + at);
    };
    match scan_blocks::<BLOCK>(rest) {
        Ok(at) => from + at,
        // The last block overlaps blocks already checked, which need no escape.
        Err(_) => first_special(last).map_or(bytes.len(), |at| from + rest.len() - BLOCK + at),
    }
}

/// The offset of the last special byte of `block` (`"`, `\`, a control character), if any:
/// the same vector compares as [`first_special`], read from the other end.
#[inline(always)]
fn last_special(block: &[u8; BLOCK]) -> Option<usize> {
    let mut flags = [0u8; BLOCK];
    for (flag, &b) in flags.iter_mut().zip(block) {
        *flag = if is_special(b) { 0xFF } else { 0 };
    }
    let (lanes, _) = flags.as_chunks::<16>();
    for (i, lane) in lanes.iter().enumerate().rev() {
        let bits = u128::from_le_bytes(*lane);
        if bits != 0 {
            return Some(i * 16 + 15 - bits.leading_zeros() as usize / 8);
        }
    }
    None
}

/// Whether `out[start..]` — a string just copied there — needs no escape. A string shorter
/// than a block is checked in the block of `out` that ends with it: plain when the last
/// special byte of that block (there is one: the opening quote) comes before the string.
/// No padded copy for the many short keys and values.
fn written_is_plain(out: &[u8], start: usize) -> bool {
    let len = out.len() - start;
    match out.last_chunk::<BLOCK>() {
        Some(window) if len < BLOCK => last_special(window).is_none_or(|at| at < BLOCK - len),
        _ => next_escape(&out[start..], 0) == len,
    }
}

impl Writer {
    fn string(&mut self, value: &str) -> Result<()> {
        let bytes = value.as_bytes();
        self.out.reserve(bytes.len() + 2);
        self.out.push(b'"');
        // Most strings need no escape: copied at once, then checked where they now are.
        let start = self.out.len();
        self.out.extend_from_slice(bytes);
        if !written_is_plain(&self.out, start) {
            self.out.truncate(start);
            let mut from = 0;
            loop {
                let end = next_escape(bytes, from);
                self.out.extend_from_slice(&bytes[from..end]);
                let Some(&byte) = bytes.get(end) else { break };
                if let Some(escape) = escape_of(byte) {
                    io(CompactFormatter.write_char_escape(&mut self.out, escape))?;
                }
                from = end + 1;
            }
        }
        self.out.push(b'"');
        Ok(())
    }

    /// `"key":` of a struct field or map entry, with the separator before it.
    fn key(&mut self, first: &mut bool, key: &str) -> Result<()> {
        self.separator(first);
        self.string(key)?;
        self.out.push(b':');
        Ok(())
    }

    fn separator(&mut self, first: &mut bool) {
        if !std::mem::take(first) {
            self.out.push(b',');
        }
    }
}

impl<'a> ser::Serializer for &'a mut Writer {
    type Ok = ();
    type Error = serde_json::Error;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_bool(self, v: bool) -> Result<()> {
        io(CompactFormatter.write_bool(&mut self.out, v))
    }
    fn serialize_i8(self, v: i8) -> Result<()> {
        io(CompactFormatter.write_i8(&mut self.out, v))
    }
    fn serialize_i16(self, v: i16) -> Result<()> {
        io(CompactFormatter.write_i16(&mut self.out, v))
    }
    fn serialize_i32(self, v: i32) -> Result<()> {
        io(CompactFormatter.write_i32(&mut self.out, v))
    }
    fn serialize_i64(self, v: i64) -> Result<()> {
        io(CompactFormatter.write_i64(&mut self.out, v))
    }
    fn serialize_i128(self, v: i128) -> Result<()> {
        io(CompactFormatter.write_i128(&mut self.out, v))
    }
    fn serialize_u8(self, v: u8) -> Result<()> {
        io(CompactFormatter.write_u8(&mut self.out, v))
    }
    fn serialize_u16(self, v: u16) -> Result<()> {
        io(CompactFormatter.write_u16(&mut self.out, v))
    }
    fn serialize_u32(self, v: u32) -> Result<()> {
        io(CompactFormatter.write_u32(&mut self.out, v))
    }
    fn serialize_u64(self, v: u64) -> Result<()> {
        io(CompactFormatter.write_u64(&mut self.out, v))
    }
    fn serialize_u128(self, v: u128) -> Result<()> {
        io(CompactFormatter.write_u128(&mut self.out, v))
    }
    fn serialize_f32(self, v: f32) -> Result<()> {
        if v.is_finite() {
            io(CompactFormatter.write_f32(&mut self.out, v))
        } else {
            self.serialize_unit()
        }
    }
    fn serialize_f64(self, v: f64) -> Result<()> {
        if v.is_finite() {
            io(CompactFormatter.write_f64(&mut self.out, v))
        } else {
            self.serialize_unit()
        }
    }
    fn serialize_char(self, v: char) -> Result<()> {
        self.string(v.encode_utf8(&mut [0u8; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<()> {
        self.string(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<()> {
        io(CompactFormatter.write_byte_array(&mut self.out, v))
    }
    fn serialize_none(self) -> Result<()> {
        self.serialize_unit()
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<()> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<()> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<()> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<()> {
        self.string(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<()> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<()> {
        self.out.push(b'{');
        self.key(&mut true, variant)?;
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a>> {
        Ok(Compound::open(self, b'[', None))
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Compound<'a>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>> {
        Ok(Compound::open(self, b'[', Some(variant)))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a>> {
        Ok(Compound::open(self, b'{', None))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'a>> {
        Ok(Compound::open(self, b'{', None))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>> {
        Ok(Compound::open(self, b'{', Some(variant)))
    }
}

/// An array or object being written. An enum variant (`{"variant":[…]}` or
/// `{"variant":{…}}`) has one more `}` to close.
struct Compound<'a> {
    writer: &'a mut Writer,
    first: bool,
    variant: bool,
}

impl<'a> Compound<'a> {
    fn open(writer: &'a mut Writer, bracket: u8, variant: Option<&str>) -> Self {
        if let Some(variant) = variant {
            writer.out.push(b'{');
            // Writing a string to a `Vec` cannot fail.
            let _ = writer.key(&mut true, variant);
        }
        writer.out.push(bracket);
        Self {
            writer,
            first: true,
            variant: variant.is_some(),
        }
    }

    fn element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.writer.separator(&mut self.first);
        value.serialize(&mut *self.writer)
    }

    fn field<T: ?Sized + Serialize>(&mut self, key: &str, value: &T) -> Result<()> {
        self.writer.key(&mut self.first, key)?;
        value.serialize(&mut *self.writer)
    }

    fn close(self, bracket: u8) -> Result<()> {
        self.writer.out.push(bracket);
        if self.variant {
            self.writer.out.push(b'}');
        }
        Ok(())
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.element(value)
    }
    fn end(self) -> Result<()> {
        self.close(b']')
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.element(value)
    }
    fn end(self) -> Result<()> {
        self.close(b']')
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.element(value)
    }
    fn end(self) -> Result<()> {
        self.close(b']')
    }
}

impl ser::SerializeTupleVariant for Compound<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.element(value)
    }
    fn end(self) -> Result<()> {
        self.close(b']')
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<()> {
        self.writer.separator(&mut self.first);
        key.serialize(MapKey(&mut *self.writer))?;
        self.writer.out.push(b':');
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        value.serialize(&mut *self.writer)
    }
    fn end(self) -> Result<()> {
        self.close(b'}')
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        self.field(key, value)
    }
    fn end(self) -> Result<()> {
        self.close(b'}')
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        self.field(key, value)
    }
    fn end(self) -> Result<()> {
        self.close(b'}')
    }
}

/// A map key: `serde_json`'s rules — strings, chars, unit variants and newtypes of them as
/// themselves; booleans and numbers (finite floats only) quoted; anything else an error.
struct MapKey<'a>(&'a mut Writer);

fn key_must_be_a_string() -> serde_json::Error {
    ser::Error::custom("key must be a string")
}

impl MapKey<'_> {
    /// A number or boolean key, written by `write` between quotes.
    fn quoted(self, write: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> Result<()> {
        self.0.out.push(b'"');
        io(write(&mut self.0.out))?;
        self.0.out.push(b'"');
        Ok(())
    }
}

impl ser::Serializer for MapKey<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    type SerializeSeq = Impossible<(), serde_json::Error>;
    type SerializeTuple = Impossible<(), serde_json::Error>;
    type SerializeTupleStruct = Impossible<(), serde_json::Error>;
    type SerializeTupleVariant = Impossible<(), serde_json::Error>;
    type SerializeMap = Impossible<(), serde_json::Error>;
    type SerializeStruct = Impossible<(), serde_json::Error>;
    type SerializeStructVariant = Impossible<(), serde_json::Error>;

    fn serialize_str(self, v: &str) -> Result<()> {
        self.0.string(v)
    }
    fn serialize_char(self, v: char) -> Result<()> {
        self.0.string(v.encode_utf8(&mut [0u8; 4]))
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<()> {
        self.0.string(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<()> {
        value.serialize(self)
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<()> {
        value.serialize(self)
    }
    fn serialize_bool(self, v: bool) -> Result<()> {
        self.quoted(|out| CompactFormatter.write_bool(out, v))
    }
    fn serialize_i8(self, v: i8) -> Result<()> {
        self.quoted(|out| CompactFormatter.write_i8(out, v))
    }
    fn serialize_i16(self, v: i16) -> Result<()> {
        self.quoted(|out| CompactFormatter.write_i16(out, v))
    }
    fn serialize_i32(self, v: i32) -> Result<()> {
        self.quoted(|out| CompactFormatter.write_i32(out, v))
    }
    fn serialize_i64(self, v: i64) -> Result<()> {
        self.quoted(|out| CompactFormatter.write_i64(out, v))
    }
    fn serialize_i128(self, v: i128) -> Result<()> {
        self.quoted(|out| CompactFormatter.write_i128(out, v))
    }
    fn serialize_u8(self, v: u8) -> Result<()> {
        self.quoted(|out| CompactFormatter.write_u8(out, v))
    }
    fn serialize_u16(self, v: u16) -> Result<()> {
        self.quoted(|out| CompactFormatter.write_u16(out, v))
    }
    fn serialize_u32(self, v: u32) -> Result<()> {
        self.quoted(|out| CompactFormatter.write_u32(out, v))
    }
    fn serialize_u64(self, v: u64) -> Result<()> {
        self.quoted(|out| CompactFormatter.write_u64(out, v))
    }
    fn serialize_u128(self, v: u128) -> Result<()> {
        self.quoted(|out| CompactFormatter.write_u128(out, v))
    }
    fn serialize_f32(self, v: f32) -> Result<()> {
        if !v.is_finite() {
            return Err(ser::Error::custom(
                "float key must be finite (got NaN or +/-inf)",
            ));
        }
        self.quoted(|out| CompactFormatter.write_f32(out, v))
    }
    fn serialize_f64(self, v: f64) -> Result<()> {
        if !v.is_finite() {
            return Err(ser::Error::custom(
                "float key must be finite (got NaN or +/-inf)",
            ));
        }
        self.quoted(|out| CompactFormatter.write_f64(out, v))
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<()> {
        Err(key_must_be_a_string())
    }
    fn serialize_none(self) -> Result<()> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit(self) -> Result<()> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<()> {
        Err(key_must_be_a_string())
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<()> {
        Err(key_must_be_a_string())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(key_must_be_a_string())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(key_must_be_a_string())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde::Serialize;
    use serde_json::Value;

    use super::*;
    use crate::json::test_values::json_value;

    /// Ours and `serde_json`'s bytes (or error messages) must be identical.
    fn same<T: ?Sized + Serialize>(value: &T) {
        let ours = to_vec(value).map_err(|e| e.to_string());
        let reference = serde_json::to_vec(value).map_err(|e| e.to_string());
        assert_eq!(
            ours.as_deref().map(String::from_utf8_lossy),
            reference.as_deref().map(String::from_utf8_lossy)
        );
    }

    #[test]
    fn every_byte_in_every_position_of_a_word() {
        let mut chars: Vec<char> = (0u8..0x80).map(char::from).collect();
        chars.extend(['é', '€', '😀', '\u{7f}', '\u{80}', '\u{2028}', '\u{ffff}']);
        for c in chars {
            for len in 0..(2 * BLOCK + 2) {
                for at in 0..=len {
                    let mut s: String = "a".repeat(len);
                    s.insert(at, c);
                    same(&s);
                }
            }
        }
    }

    #[test]
    fn every_byte_in_every_position_after_other_output() {
        // Short strings are checked in the last block of the output, which then also holds
        // what was written before them: quotes, backslashes, other strings.
        // Every special byte, and plain ones of each UTF-8 length.
        let mut chars: Vec<char> = (0u8..0x20).map(char::from).collect();
        chars.extend(['"', '\\', 'a', '~', '\u{7f}', 'é', '€', '😀']);
        for before in ["", "\"", "\\\"\\", "x\u{1}y", &"\"".repeat(40)] {
            for c in &chars {
                for len in 0..(BLOCK + 2) {
                    for at in 0..=len {
                        let mut s: String = "a".repeat(len);
                        s.insert(at, *c);
                        same(&(before, &s, before));
                    }
                }
            }
        }
    }

    #[test]
    fn last_special_finds_the_last_special_byte() {
        for byte in 0..=u8::MAX {
            for at in 0..BLOCK {
                let mut block = [b'x'; BLOCK];
                block[at] = byte;
                let expected = is_special(byte).then_some(at);
                assert_eq!(last_special(&block), expected, "{byte:#x} at {at}");
                // The last of two.
                block[0] = b'"';
                let expected = if is_special(byte) { at } else { 0 };
                assert_eq!(last_special(&block), Some(expected), "{byte:#x} at {at}");
            }
        }
    }

    #[test]
    fn the_shared_scan_is_exact_for_single_bytes() {
        for byte in 0..=u8::MAX {
            assert_eq!(
                super::super::is_special(byte),
                escape_of(byte).is_some(),
                "{byte:#x}"
            );
            for at in 0..BLOCK {
                let mut block = [b'x'; BLOCK];
                block[at] = byte;
                assert_eq!(
                    first_special(&block),
                    escape_of(byte).map(|_| at),
                    "{byte:#x} at {at}"
                );
            }
        }
    }

    #[derive(Serialize)]
    enum Shape {
        Unit,
        Newtype(u8),
        Tuple(i32, f64),
        Struct { a: Option<bool>, b: char },
    }

    #[derive(Serialize)]
    struct Everything<'a> {
        shapes: Vec<Shape>,
        tuple: (u8, i8, u16, i16, u32, i32, u64, i64, u128, i128),
        floats: [f64; 6],
        small: f32,
        #[serde(with = "serde_bytes_as_array")]
        bytes: &'a [u8],
        unit: (),
        none: Option<u8>,
        int_keys: BTreeMap<i64, &'a str>,
        bool_keys: BTreeMap<bool, u8>,
        char_keys: BTreeMap<char, u8>,
        empty_seq: Vec<u8>,
        empty_map: BTreeMap<String, u8>,
        value: Value,
    }

    /// `serialize_bytes`, which derive never calls for a slice by itself.
    mod serde_bytes_as_array {
        pub(super) fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(v)
        }
    }

    #[test]
    fn the_whole_data_model() {
        same(&Everything {
            shapes: vec![
                Shape::Unit,
                Shape::Newtype(7),
                Shape::Tuple(-1, 0.5),
                Shape::Struct {
                    a: Some(true),
                    b: '"',
                },
                Shape::Struct { a: None, b: 'é' },
            ],
            tuple: (
                1,
                -2,
                3,
                -4,
                5,
                -6,
                u64::MAX,
                i64::MIN,
                u128::MAX,
                i128::MIN,
            ),
            floats: [0.0, -0.0, 1e300, f64::NAN, f64::INFINITY, 0.1 + 0.2],
            small: 1.1,
            bytes: &[0, 1, 255],
            unit: (),
            none: None,
            int_keys: BTreeMap::from([(-3, "x"), (42, "y\n")]),
            bool_keys: BTreeMap::from([(false, 0), (true, 1)]),
            char_keys: BTreeMap::from([('\u{1}', 1), ('k', 2)]),
            empty_seq: vec![],
            empty_map: BTreeMap::new(),
            value: serde_json::json!({"n": null, "a": [1, -1, 1.5, "s"], "o": {"\\": "\u{1f}"}}),
        });
        same(&());
        same(&Shape::Unit);
        same(&Shape::Newtype(1));
    }

    #[test]
    fn keys_that_are_not_strings_fail_like_serde_json() {
        same(&BTreeMap::from([((1, 2), 3)]));
        same(&BTreeMap::from([(vec![1u8], 3)]));
        same(&BTreeMap::from([(Option::<u8>::None, 3)]));
        same(&BTreeMap::from([(Some(5u8), 3)]));
        same(&BTreeMap::from([((), 3)]));
        same(&FloatKey(f64::NAN));
        same(&FloatKey(f64::INFINITY));
        same(&FloatKey(2.5));
    }

    /// A one-entry map with a float key (floats are not `Ord`, so no `BTreeMap`).
    struct FloatKey(f64);

    impl Serialize for FloatKey {
        fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut map = s.serialize_map(Some(1))?;
            map.serialize_entry(&self.0, &1)?;
            map.end()
        }
    }

    #[test]
    fn request_bodies() {
        use airlock_types::{ArtifactSubmitBody, EncryptedPayload, Envelope, Timestamp};
        let mut body = ArtifactSubmitBody::new(
            "ab".repeat(32),
            EncryptedPayload::new("A/b+".repeat(400), "bm9uY2U=".into(), Some("dGFn".into())),
        )
        .with_expires_at(Timestamp::UNIX_EPOCH);
        body.metadata
            .insert("routingToken".into(), "rt-\"1\"".into());
        body.metadata.insert("label".into(), "naïve\tπ 😀".into());
        same(&Envelope::artifact_submit("req-1", "enf-1", body));
    }

    proptest! {
        #[test]
        fn strings_match_serde_json(s in any::<String>(), ascii in "[\\x00-\\x7f]{0,80}") {
            same(&s);
            same(&ascii);
        }

        #[test]
        fn values_match_serde_json(value in json_value()) {
            same(&value);
        }
    }
}
