//! Canonicalization of an already parsed `serde_json::Value`.

use serde_json::Value;

use super::CanonicalizeError;
use super::writer::{cmp_utf16, write_f64, write_string};

/// Appends the canonical form of `value`; `depth` counts the containers
/// enclosing it, `limit` is the maximum number of nested containers.
pub(super) fn write_value(
    out: &mut Vec<u8>,
    value: &Value,
    depth: usize,
    limit: usize,
) -> Result<(), CanonicalizeError> {
    let too_deep = || CanonicalizeError::TooDeep {
        limit,
        offset: None,
    };
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        // Integers beyond 2^53 round to the nearest double, as in ECMAScript.
        // `None` only happens with serde_json's `arbitrary_precision` feature,
        // for numbers outside the range of a finite double.
        Value::Number(number) => {
            write_f64(
                out,
                number.as_f64().ok_or(CanonicalizeError::NonFiniteNumber)?,
            )?;
        }
        Value::String(string) => write_string(out, string),
        Value::Array(items) => {
            if depth >= limit {
                return Err(too_deep());
            }
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_value(out, item, depth + 1, limit)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            if depth >= limit {
                return Err(too_deep());
            }
            // A `Map` is ordered by UTF-8 bytes (or by insertion with
            // `preserve_order`), never by UTF-16: sort here. Names are unique.
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_unstable_by(|a, b| cmp_utf16(a.0, b.0));
            out.push(b'{');
            for (index, (name, item)) in members.into_iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_string(out, name);
                out.push(b':');
                write_value(out, item, depth + 1, limit)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}
