//! RFC 8785 JSON Canonicalization Scheme (JCS).
//!
//! The canonical form is what HARP hashes and signs: the artifact hash is the
//! SHA-256 of an artifact's canonical bytes, and HARP-CORE decisions are signed
//! over the canonical JSON of the decision without its signature.
//!
//! ```
//! use airlock_crypto::jcs;
//!
//! let canonical = jcs::canonicalize_str(r#"{ "b": [1.50, 1E3, -0], "a": "\u00e9\/" }"#)?;
//! assert_eq!(canonical, r#"{"a":"é/","b":[1.5,1000,0]}"#);
//!
//! // Parsed values canonicalize the same way.
//! let value = serde_json::json!({ "b": [1.5, 1000, 0], "a": "é/" });
//! assert_eq!(jcs::canonicalize_value(&value)?, canonical.as_bytes());
//!
//! // Invalid or ambiguous input is an error, never a guess.
//! assert!(matches!(
//!     jcs::canonicalize(br#"{"a":1,"a":2}"#),
//!     Err(jcs::CanonicalizeError::DuplicateKey { .. })
//! ));
//! # Ok::<(), jcs::CanonicalizeError>(())
//! ```
//!
//! # Rules
//!
//! - Output is UTF-8 without any whitespace.
//! - Object members are sorted by their names compared as arrays of UTF-16 code
//!   units (not UTF-8 bytes, not `char`s: `"\u{10000}"` sorts before
//!   `"\u{e000}"`).
//! - Strings are escaped minimally: `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`,
//!   the other controls below U+0020 as `\u00xx` (lower-case hex); everything
//!   else, including DEL, U+2028 and all non-ASCII, is written literally.
//!   Escapes in the input (`\u00e9`, `\/`, surrogate pairs) are decoded.
//! - Numbers are read as the correctly rounded IEEE-754 double and printed as
//!   ECMAScript's `Number.prototype.toString` does: `1e+21`, `1e-7`,
//!   `0.000001`, `123456789012345680000`, `4.5`, `-0` → `0`, integers without
//!   `.0`. A number that underflows (`1e-400`) becomes `0`, like in ECMAScript.
//! - `true`, `false` and `null` are kept.
//!
//! The input must be strict RFC 8259 JSON text: no comments, trailing commas,
//! leading zeros, `+` signs, unescaped control characters in strings, byte
//! order mark, `NaN` or `Infinity`. Whitespace may surround the value. On top
//! of that, RFC 8785 rejects duplicate member names (compared after
//! unescaping), lone surrogates (`"\ud800"`), and numbers outside the range
//! of a double (`1e400`). Every failure is a [`CanonicalizeError`] that names
//! the byte offset where it applies.
//!
//! # Depth limit
//!
//! Arrays and objects may nest at most [`DEFAULT_MAX_DEPTH`] (128) levels deep:
//! `[[1]]` has depth 2, a scalar depth 0. Deeper input fails with
//! [`CanonicalizeError::TooDeep`]. The parser does not recurse, so the limit
//! exists to bound work on hostile input, not to protect the stack; choose
//! another one with [`Canonicalizer::with_max_depth`]:
//!
//! ```
//! use airlock_crypto::jcs::{CanonicalizeError, Canonicalizer};
//!
//! let shallow = Canonicalizer::new().with_max_depth(1);
//! assert_eq!(shallow.canonicalize(b"[1, 2]")?, b"[1,2]");
//! assert!(matches!(
//!     shallow.canonicalize(b"[[1]]"),
//!     Err(CanonicalizeError::TooDeep { limit: 1, .. })
//! ));
//! # Ok::<(), CanonicalizeError>(())
//! ```
//!
//! # Performance
//!
//! Text is canonicalized in a single pass without building a tree. UTF-8 is
//! validated once, up front (with SIMD where the CPU has it). Input that is
//! already canonical (punctuation, literals, plain strings and escapes such
//! as `\n` or `\u001f`, short numbers) is not copied token by token but in
//! one piece up to the next place where the output must differ: whitespace,
//! another escape (`\u00e9`, `\/`, decoded and rewritten), a number in
//! another form, an object whose members must be reordered. Members are
//! rearranged only when the input did not already list them in canonical
//! order. Strings are scanned sixteen bytes per step for the next quote,
//! backslash or control character. Integers of up to 15 digits and decimals
//! of up to 15 significant digits from 0.1 up are printed from their own
//! digits instead of through a double.

mod lex;
mod parser;
mod serialize;
mod value;
mod writer;

/// The default maximum nesting depth of arrays and objects.
pub const DEFAULT_MAX_DEPTH: usize = 128;

/// Why a JSON text or value could not be canonicalized.
///
/// Offsets are byte offsets into the input text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CanonicalizeError {
    /// The input is not valid UTF-8.
    #[error("invalid UTF-8 at byte {offset}")]
    InvalidUtf8 {
        /// Offset of the first byte that is not part of valid UTF-8.
        offset: usize,
    },
    /// The input is not JSON text (RFC 8259 grammar).
    #[error("invalid JSON at byte {offset}: {message}")]
    Syntax {
        /// Where the problem was found.
        offset: usize,
        /// What was expected or wrong.
        message: &'static str,
    },
    /// A string contains an unknown escape (`\x`) or a malformed `\u` escape.
    #[error("invalid escape sequence at byte {offset}")]
    InvalidEscape {
        /// Offset of the backslash.
        offset: usize,
    },
    /// A `\u` escape encodes half of a UTF-16 surrogate pair without its
    /// other half.
    #[error("lone UTF-16 surrogate escape at byte {offset}")]
    LoneSurrogate {
        /// Offset of the backslash.
        offset: usize,
    },
    /// A number violates the JSON number grammar (leading zero, `+` sign,
    /// missing digits).
    #[error("invalid number at byte {offset}: {message}")]
    InvalidNumber {
        /// Offset of the number's first byte.
        offset: usize,
        /// What is wrong with it.
        message: &'static str,
    },
    /// A number's magnitude is too large for an IEEE-754 double (`1e400`).
    #[error("number at byte {offset} is outside the range of an IEEE-754 double")]
    NumberOutOfRange {
        /// Offset of the number's first byte.
        offset: usize,
    },
    /// A NaN or infinite number was given (through [`canonicalize_number`] or
    /// a value); JSON cannot represent it.
    #[error("NaN and infinite numbers cannot be represented in JSON")]
    NonFiniteNumber,
    /// An object has two members with the same name (after unescaping).
    #[error("duplicate member name {key:?} at byte {offset}")]
    DuplicateKey {
        /// The repeated name, decoded.
        key: String,
        /// Offset of the second occurrence's opening quote.
        offset: usize,
    },
    /// Something other than whitespace follows the JSON value.
    #[error("unexpected data after the JSON value at byte {offset}")]
    TrailingData {
        /// Offset of the first unexpected byte.
        offset: usize,
    },
    /// Arrays and objects nest deeper than the configured limit.
    #[error("arrays and objects nest deeper than the limit of {limit}")]
    TooDeep {
        /// The limit in force.
        limit: usize,
        /// Offset of the bracket that went over the limit; `None` for a
        /// `serde_json::Value`.
        offset: Option<usize>,
    },
    /// [`Canonicalizer::canonicalize_with_member`] was given a JSON text whose
    /// value is not an object.
    #[error("the JSON value must be an object")]
    NotAnObject,
    /// [`Canonicalizer::canonicalize_with_member`] found the member it binds
    /// with a different value.
    #[error("member {name:?} at byte {offset} has a different value than required")]
    MemberMismatch {
        /// The member's name.
        name: String,
        /// Offset of the member name's opening quote.
        offset: usize,
    },
    /// A `Serialize` implementation failed, produced a map key that is not a
    /// string, number or boolean, or produced the same member name twice
    /// (see [`canonicalize_serialize`]).
    #[error("cannot canonicalize the serialized value: {message}")]
    Serialize {
        /// What went wrong.
        message: String,
    },
}

impl CanonicalizeError {
    /// The byte offset in the input where the error applies, if any.
    #[must_use]
    pub fn offset(&self) -> Option<usize> {
        match *self {
            Self::InvalidUtf8 { offset }
            | Self::Syntax { offset, .. }
            | Self::InvalidEscape { offset }
            | Self::LoneSurrogate { offset }
            | Self::InvalidNumber { offset, .. }
            | Self::NumberOutOfRange { offset }
            | Self::DuplicateKey { offset, .. }
            | Self::MemberMismatch { offset, .. }
            | Self::TrailingData { offset } => Some(offset),
            Self::TooDeep { offset, .. } => offset,
            Self::NonFiniteNumber | Self::NotAnObject | Self::Serialize { .. } => None,
        }
    }
}

/// A configurable canonicalizer; the free functions of this module use
/// [`Canonicalizer::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
pub struct Canonicalizer {
    max_depth: usize,
}

impl Default for Canonicalizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Canonicalizer {
    /// A canonicalizer with the [`DEFAULT_MAX_DEPTH`].
    pub const fn new() -> Self {
        Canonicalizer {
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }

    /// Sets how deeply arrays and objects may nest (0 allows only scalars).
    pub const fn with_max_depth(mut self, max_depth: usize) -> Self {
        self.max_depth = max_depth;
        self
    }

    /// The maximum nesting depth in force.
    #[must_use]
    pub const fn max_depth(&self) -> usize {
        self.max_depth
    }

    /// Canonicalizes a JSON text (UTF-8 bytes).
    pub fn canonicalize(&self, json: &[u8]) -> Result<Vec<u8>, CanonicalizeError> {
        let mut out = Vec::new();
        self.canonicalize_to(json, &mut out)?;
        Ok(out)
    }

    /// Canonicalizes a JSON text, appending the result to `out`.
    ///
    /// On error `out` is left as it was.
    pub fn canonicalize_to(&self, json: &[u8], out: &mut Vec<u8>) -> Result<(), CanonicalizeError> {
        self.parse(json, out, None)
    }

    /// The text path of every entry point: UTF-8 check, then one parser pass
    /// appending to `out` (left as it was on error).
    fn parse(
        &self,
        json: &[u8],
        out: &mut Vec<u8>,
        binding: Option<parser::Binding<'_>>,
    ) -> Result<(), CanonicalizeError> {
        let text = validate_utf8(json)?;
        let initial_len = out.len();
        // Canonical text is rarely longer than its input (plus a bound member).
        let bound_len = binding
            .as_ref()
            .map_or(0, |b| b.name.len() + b.value.len() + 8);
        out.reserve(json.len() + bound_len);
        let result = parser::Parser::new(text, out, self.max_depth, binding).run();
        if result.is_err() {
            out.truncate(initial_len);
        }
        result
    }

    /// Canonicalizes a JSON object whose top-level member `name` must be the
    /// string `value`: the member is added when the object lacks it, kept
    /// when it has that value (compared after unescaping), and refused with
    /// [`CanonicalizeError::MemberMismatch`] when it has any other value. A
    /// value other than an object is [`CanonicalizeError::NotAnObject`].
    ///
    /// One pass, like [`canonicalize`](Self::canonicalize). This is how a
    /// plaintext is bound to the request that carries it:
    ///
    /// ```
    /// use airlock_crypto::jcs::{CanonicalizeError, Canonicalizer};
    ///
    /// let jcs = Canonicalizer::new();
    /// assert_eq!(
    ///     jcs.canonicalize_with_member(br#"{"z": 1, "a": 2}"#, "id", "r-1")?,
    ///     br#"{"a":2,"id":"r-1","z":1}"#
    /// );
    /// assert_eq!(
    ///     jcs.canonicalize_with_member(br#"{"id": "r\u002d1"}"#, "id", "r-1")?,
    ///     br#"{"id":"r-1"}"#
    /// );
    /// assert!(matches!(
    ///     jcs.canonicalize_with_member(br#"{"id": "r-2"}"#, "id", "r-1"),
    ///     Err(CanonicalizeError::MemberMismatch { .. })
    /// ));
    /// assert_eq!(
    ///     jcs.canonicalize_with_member(b"[]", "id", "r-1"),
    ///     Err(CanonicalizeError::NotAnObject)
    /// );
    /// # Ok::<(), CanonicalizeError>(())
    /// ```
    pub fn canonicalize_with_member(
        &self,
        json: &[u8],
        name: &str,
        value: &str,
    ) -> Result<Vec<u8>, CanonicalizeError> {
        let mut out = Vec::new();
        self.parse(json, &mut out, Some(parser::Binding { name, value }))?;
        Ok(out)
    }

    /// Canonicalizes a parsed `serde_json::Value`.
    pub fn canonicalize_value(
        &self,
        value: &serde_json::Value,
    ) -> Result<Vec<u8>, CanonicalizeError> {
        let mut out = Vec::new();
        self.canonicalize_value_to(value, &mut out)?;
        Ok(out)
    }

    /// Canonicalizes a `serde_json::Value`, appending the result to `out`.
    ///
    /// On error `out` is left as it was.
    pub fn canonicalize_value_to(
        &self,
        value: &serde_json::Value,
        out: &mut Vec<u8>,
    ) -> Result<(), CanonicalizeError> {
        let initial_len = out.len();
        let result = value::write_value(out, value, 0, self.max_depth);
        if result.is_err() {
            out.truncate(initial_len);
        }
        result
    }

    /// Serializes `value` with serde and canonicalizes the result; see
    /// [`canonicalize_serialize`].
    pub fn canonicalize_serialize<T: ?Sized + serde::Serialize>(
        &self,
        value: &T,
    ) -> Result<Vec<u8>, CanonicalizeError> {
        let value = serialize::to_value(value).map_err(|error| error.0)?;
        self.canonicalize_value(&value)
    }
}

/// Checks that `json` is UTF-8 (with SIMD where the CPU has it); the error names
/// the offset of the first invalid byte.
fn validate_utf8(json: &[u8]) -> Result<&str, CanonicalizeError> {
    simdutf8::basic::from_utf8(json).or_else(|_| {
        // The fast check only says whether; `std` says where.
        std::str::from_utf8(json).map_err(|error| CanonicalizeError::InvalidUtf8 {
            offset: error.valid_up_to(),
        })
    })
}

/// Canonicalizes a JSON text (UTF-8 bytes) to its RFC 8785 form.
///
/// ```
/// let canonical = airlock_crypto::jcs::canonicalize(b"{\"b\": 2, \"a\": [1e21, 1E-7]}")?;
/// assert_eq!(canonical, br#"{"a":[1e+21,1e-7],"b":2}"#);
/// # Ok::<(), airlock_crypto::jcs::CanonicalizeError>(())
/// ```
pub fn canonicalize(json: &[u8]) -> Result<Vec<u8>, CanonicalizeError> {
    Canonicalizer::new().canonicalize(json)
}

/// Canonicalizes a JSON text given as `&str`.
pub fn canonicalize_str(json: &str) -> Result<String, CanonicalizeError> {
    let bytes = canonicalize(json.as_bytes())?;
    // The output is built from valid UTF-8 only; this cannot fail.
    String::from_utf8(bytes).map_err(|error| CanonicalizeError::InvalidUtf8 {
        offset: error.utf8_error().valid_up_to(),
    })
}

/// Canonicalizes a `serde_json::Value`.
///
/// Numbers are taken as doubles: integers beyond ±2^53 are rounded to the
/// nearest double, as ECMAScript would.
///
/// serde_json's default float parser may be off by one unit in the last
/// place for long decimals (e.g. `333333333.33333329`); a `Value` parsed that
/// way would canonicalize differently from the text. This crate therefore
/// turns on serde_json's `float_roundtrip` feature, which Cargo applies to
/// every `Value` parsed in the same program, so text and `Value` agree.
pub fn canonicalize_value(value: &serde_json::Value) -> Result<Vec<u8>, CanonicalizeError> {
    Canonicalizer::new().canonicalize_value(value)
}

/// Serializes `value` with serde (in serde_json's data model) and
/// canonicalizes the result.
///
/// Unlike `serde_json::to_vec`, which writes NaN and infinities as `null` and
/// keeps the last of two map keys that stringify alike, this fails with
/// [`CanonicalizeError::NonFiniteNumber`] or [`CanonicalizeError::Serialize`].
/// Map keys may be strings, integers, booleans or finite floats (written as
/// canonical numbers).
///
/// ```
/// #[derive(serde::Serialize)]
/// #[serde(rename_all = "camelCase")]
/// struct Decision<'a> {
///     signer_key_id: &'a str,
///     decision: &'a str,
///     artifact_hash: &'a str,
/// }
///
/// let decision = Decision { signer_key_id: "k1", decision: "approve", artifact_hash: "8e32" };
/// assert_eq!(
///     airlock_crypto::jcs::canonicalize_serialize(&decision)?,
///     br#"{"artifactHash":"8e32","decision":"approve","signerKeyId":"k1"}"#
/// );
/// assert!(airlock_crypto::jcs::canonicalize_serialize(&[f64::NAN]).is_err());
/// # Ok::<(), airlock_crypto::jcs::CanonicalizeError>(())
/// ```
pub fn canonicalize_serialize<T: ?Sized + serde::Serialize>(
    value: &T,
) -> Result<Vec<u8>, CanonicalizeError> {
    Canonicalizer::new().canonicalize_serialize(value)
}

/// Formats a double as RFC 8785 (ECMAScript `Number.prototype.toString`)
/// prints it.
///
/// ```
/// use airlock_crypto::jcs::canonicalize_number;
///
/// assert_eq!(canonicalize_number(1e21)?, "1e+21");
/// assert_eq!(canonicalize_number(-0.0)?, "0");
/// assert!(canonicalize_number(f64::NAN).is_err());
/// # Ok::<(), airlock_crypto::jcs::CanonicalizeError>(())
/// ```
pub fn canonicalize_number(value: f64) -> Result<String, CanonicalizeError> {
    let mut out = Vec::with_capacity(24);
    writer::write_f64(&mut out, value)?;
    // ryu-js prints ASCII only; this cannot fail.
    String::from_utf8(out).map_err(|error| CanonicalizeError::InvalidUtf8 {
        offset: error.utf8_error().valid_up_to(),
    })
}
