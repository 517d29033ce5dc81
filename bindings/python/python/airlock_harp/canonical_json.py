"""RFC 8785 JSON Canonicalization Scheme, exactly (UTF-16 key order, ECMAScript number
form), by the Rust core. The seed's version sorted keys by code point and printed numbers
the Python way, so some documents hashed differently from every other implementation."""

from __future__ import annotations

import json
from typing import Any

from . import _native
from .crypto_helpers import sha256_hex

__all__ = ["canonicalize", "canonical_serialize", "hash_canonical"]


def canonicalize(json_str: str) -> str:
    """The canonical form of a JSON text (``ValueError`` if it is not JSON, or has a
    number outside IEEE 754 double or a lone surrogate)."""
    return _native.canonicalize(json_str)


def canonical_serialize(obj: Any) -> str:
    """The canonical JSON form of a Python value."""
    return canonicalize(json.dumps(obj, ensure_ascii=False, allow_nan=False))


def hash_canonical(obj: Any) -> str:
    """Lowercase hex SHA-256 of the canonical JSON form of a Python value."""
    return sha256_hex(canonical_serialize(obj))
