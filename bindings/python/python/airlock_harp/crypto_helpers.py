"""The HARP primitives of the seed's ``crypto_helpers``, by the Rust core: X25519 +
HKDF-SHA256 (``HARP-E2E-AES256GCM``), AES-256-GCM with detached nonce and tag,
SHA-256. Keys are base64url text (raw 32 bytes), as in the seed."""

from __future__ import annotations

from typing import NamedTuple, Optional, Union

from . import _native
from .models import EncryptedPayload as WireEncryptedPayload

__all__ = [
    "X25519KeyPair",
    "EncryptedPayload",
    "generate_x25519_keypair",
    "derive_shared_key",
    "aes_gcm_encrypt",
    "aes_gcm_decrypt",
    "sha256_hex",
]


class X25519KeyPair(NamedTuple):
    public_key: str
    private_key: str


class EncryptedPayload(NamedTuple):
    alg: str
    data: str
    nonce: str
    tag: Optional[str]


def generate_x25519_keypair() -> X25519KeyPair:
    """A fresh X25519 key pair (base64url)."""
    public_key, private_key = _native.generate_x25519_keypair()
    return X25519KeyPair(public_key=public_key, private_key=private_key)


def derive_shared_key(my_private_base64url: str, peer_public_base64url: str) -> str:
    """The shared AES-256 key (base64url): X25519, then HKDF-SHA256."""
    return _native.derive_shared_key(my_private_base64url, peer_public_base64url)


def aes_gcm_encrypt(key_base64url: str, plaintext: str) -> EncryptedPayload:
    """AES-256-GCM with a fresh 12-byte nonce; data, nonce and tag in standard base64."""
    return EncryptedPayload(*_native.aes_gcm_encrypt(key_base64url, plaintext))


def aes_gcm_decrypt(
    key_base64url: str, payload: Union[EncryptedPayload, WireEncryptedPayload]
) -> str:
    """Opens a payload; ``ValueError`` for a wrong key or a tampered payload."""
    aad = getattr(payload, "aad", None)
    return _native.aes_gcm_decrypt(
        key_base64url, payload.alg, payload.data, payload.nonce or "", payload.tag, aad
    )


def sha256_hex(s: str) -> str:
    """Lowercase hex SHA-256 of the UTF-8 text."""
    return _native.sha256_hex(s)
