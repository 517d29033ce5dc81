//! Serde helpers shared by every wire type of this crate.
//!
//! Public so that crates defining their own protocol types (the sandbox, extensions) read
//! documents the same tolerant way.

use serde::{Deserialize, Deserializer};

/// Reads a missing **or explicit `null`** value as `T::default()`.
///
/// Use it on every list and map so that `"items": null` and a missing `items` both read as
/// empty:
///
/// ```
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Page {
///     #[serde(default, deserialize_with = "airlock_types::serde_util::null_as_default")]
///     items: Vec<String>,
/// }
///
/// let page: Page = serde_json::from_str(r#"{"items": null}"#).unwrap();
/// assert!(page.items.is_empty());
/// let page: Page = serde_json::from_str("{}").unwrap();
/// assert!(page.items.is_empty());
/// ```
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
