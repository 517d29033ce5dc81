//! A `serde::Serializer` that builds a `serde_json::Value` like
//! `serde_json::to_value` does, except that it refuses what canonical JSON
//! cannot express instead of papering over it: NaN and infinite floats
//! (serde_json writes them as `null`), and map keys that collide once turned
//! into strings (serde_json keeps the last one).

use core::fmt;

use serde::Serialize;
use serde::ser;
use serde_json::{Map, Number, Value};

use super::CanonicalizeError;

/// The serializer's error: a [`CanonicalizeError`] that serde can build.
#[derive(Debug)]
pub(super) struct Error(pub(super) CanonicalizeError);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Error(CanonicalizeError::Serialize {
            message: message.to_string(),
        })
    }
}

type Result<T> = core::result::Result<T, Error>;

fn message(text: String) -> Error {
    Error(CanonicalizeError::Serialize { message: text })
}

pub(super) fn to_value<T: ?Sized + Serialize>(value: &T) -> Result<Value> {
    value.serialize(ValueSerializer)
}

fn float(value: f64) -> Result<Value> {
    Number::from_f64(value)
        .map(Value::Number)
        .ok_or(Error(CanonicalizeError::NonFiniteNumber))
}

/// Integers outside the 64-bit range become the nearest double, which is
/// what canonicalization would make of them anyway.
fn wide_integer<I: TryInto<i64> + TryInto<u64> + Copy>(value: I, lossy: f64) -> Result<Value> {
    if let Ok(small) = TryInto::<i64>::try_into(value) {
        Ok(Value::from(small))
    } else if let Ok(unsigned) = TryInto::<u64>::try_into(value) {
        Ok(Value::from(unsigned))
    } else {
        float(lossy)
    }
}

/// Turns a serialized map key into a member name, as serde_json would.
fn member_name(key: Value) -> Result<String> {
    match key {
        Value::String(name) => Ok(name),
        Value::Bool(flag) => Ok(flag.to_string()),
        Value::Number(number) if number.is_f64() => {
            let value = number
                .as_f64()
                .ok_or(Error(CanonicalizeError::NonFiniteNumber))?;
            super::canonicalize_number(value).map_err(Error)
        }
        Value::Number(number) => Ok(number.to_string()),
        other => Err(message(format!(
            "map keys must serialize as strings, numbers or booleans, not {other}"
        ))),
    }
}

fn insert_member(map: &mut Map<String, Value>, name: String, value: Value) -> Result<()> {
    if map.contains_key(&name) {
        return Err(message(format!("duplicate member name {name:?}")));
    }
    map.insert(name, value);
    Ok(())
}

struct ValueSerializer;

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = Error;
    type SerializeSeq = Seq;
    type SerializeTuple = Seq;
    type SerializeTupleStruct = Seq;
    type SerializeTupleVariant = Seq;
    type SerializeMap = Object;
    type SerializeStruct = Object;
    type SerializeStructVariant = Object;

    fn serialize_bool(self, v: bool) -> Result<Value> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value> {
        Ok(Value::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<Value> {
        Ok(Value::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<Value> {
        Ok(Value::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<Value> {
        Ok(Value::from(v))
    }
    #[allow(clippy::cast_precision_loss)]
    fn serialize_i128(self, v: i128) -> Result<Value> {
        wide_integer(v, v as f64)
    }
    fn serialize_u8(self, v: u8) -> Result<Value> {
        Ok(Value::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<Value> {
        Ok(Value::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<Value> {
        Ok(Value::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<Value> {
        Ok(Value::from(v))
    }
    #[allow(clippy::cast_precision_loss)]
    fn serialize_u128(self, v: u128) -> Result<Value> {
        wide_integer(v, v as f64)
    }
    fn serialize_f32(self, v: f32) -> Result<Value> {
        float(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Value> {
        float(v)
    }
    fn serialize_char(self, v: char) -> Result<Value> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value> {
        Ok(Value::String(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value> {
        Ok(Value::Array(
            v.iter().map(|&byte| Value::from(byte)).collect(),
        ))
    }
    fn serialize_none(self) -> Result<Value> {
        Ok(Value::Null)
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<Value> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value> {
        Ok(Value::String(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Value> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value> {
        let mut map = Map::new();
        map.insert(variant.to_owned(), to_value(value)?);
        Ok(Value::Object(map))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Seq> {
        Ok(Seq {
            variant: None,
            items: Vec::with_capacity(len.unwrap_or(0)),
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Seq> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Seq> {
        Ok(Seq {
            variant: Some(variant),
            items: Vec::with_capacity(len),
        })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Object> {
        Ok(Object {
            variant: None,
            members: Map::new(),
            pending_name: None,
        })
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Object> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Object> {
        Ok(Object {
            variant: Some(variant),
            members: Map::new(),
            pending_name: None,
        })
    }
}

/// Wraps `value` as `{"variant": value}` for enum variants (serde_json's
/// externally tagged form).
fn tagged(variant: Option<&'static str>, value: Value) -> Value {
    match variant {
        None => value,
        Some(variant) => {
            let mut map = Map::new();
            map.insert(variant.to_owned(), value);
            Value::Object(map)
        }
    }
}

struct Seq {
    variant: Option<&'static str>,
    items: Vec<Value>,
}

impl Seq {
    fn push<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.items.push(to_value(value)?);
        Ok(())
    }

    fn finish(self) -> Value {
        tagged(self.variant, Value::Array(self.items))
    }
}

impl ser::SerializeSeq for Seq {
    type Ok = Value;
    type Error = Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Value> {
        Ok(self.finish())
    }
}

impl ser::SerializeTuple for Seq {
    type Ok = Value;
    type Error = Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Value> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleStruct for Seq {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Value> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleVariant for Seq {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Value> {
        Ok(self.finish())
    }
}

struct Object {
    variant: Option<&'static str>,
    members: Map<String, Value>,
    pending_name: Option<String>,
}

impl Object {
    fn finish(self) -> Value {
        tagged(self.variant, Value::Object(self.members))
    }
}

impl ser::SerializeMap for Object {
    type Ok = Value;
    type Error = Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<()> {
        self.pending_name = Some(member_name(to_value(key)?)?);
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        let name = self
            .pending_name
            .take()
            .ok_or_else(|| message("map value serialized before its key".to_owned()))?;
        insert_member(&mut self.members, name, to_value(value)?)
    }
    fn end(self) -> Result<Value> {
        Ok(self.finish())
    }
}

impl ser::SerializeStruct for Object {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        insert_member(&mut self.members, key.to_owned(), to_value(value)?)
    }
    fn end(self) -> Result<Value> {
        Ok(self.finish())
    }
}

impl ser::SerializeStructVariant for Object {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        insert_member(&mut self.members, key.to_owned(), to_value(value)?)
    }
    fn end(self) -> Result<Value> {
        Ok(self.finish())
    }
}
