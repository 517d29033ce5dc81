"""canonical_json and crypto_helpers: exact RFC 8785, the seed's primitives, tampering."""

from __future__ import annotations

import hashlib
import json

import pytest

from airlock_harp import canonical_json, crypto_helpers
from airlock_harp.models import EncryptedPayload


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        # RFC 8785 §3.2.2.3 numbers: ECMAScript form (the seed printed `1e+21` as `1e21`,
        # `1e-07` for 1e-7, and kept `-0.0`).
        ('{"n": [1.0, -0.0, 1e21, 1e-7, 0.000001, 123456789012345680000]}',
         '{"n":[1,0,1e+21,1e-7,0.000001,123456789012345680000]}'),
        # §3.2.3 keys sorted by UTF-16 code units: U+E000 sorts after U+1F600's surrogates
        # (the seed sorted by code point: the other way round).
        ('{"\ue000": 1, "\U0001f600": 2, "a": 3}', '{"a":3,"\U0001f600":2,"\ue000":1}'),
        # §3.2.2.2 strings: only the required escapes.
        ('{"s": "\\u00e9\\u001f\\"\\\\/"}', '{"s":"é\\u001f\\"\\\\/"}'),
        ("[true, false, null, {}]", "[true,false,null,{}]"),
    ],
)
def test_canonicalize_is_rfc8785(text: str, canonical: str) -> None:
    assert canonical_json.canonicalize(text) == canonical


def test_canonicalize_refuses_what_is_not_json() -> None:
    for bad in ['{"a": 1', '{"a": NaN}', '{"a": 1e400}', "[1] x"]:
        with pytest.raises(ValueError):
            canonical_json.canonicalize(bad)


def test_hash_canonical_hashes_the_canonical_form() -> None:
    obj = {"b": [1.5, "x"], "a": None}
    expected = hashlib.sha256(b'{"a":null,"b":[1.5,"x"]}').hexdigest()
    assert canonical_json.hash_canonical(obj) == expected
    assert crypto_helpers.sha256_hex("é") == hashlib.sha256("é".encode()).hexdigest()


def test_key_agreement_and_aes_gcm_round_trip() -> None:
    me, peer = crypto_helpers.generate_x25519_keypair(), crypto_helpers.generate_x25519_keypair()
    key = crypto_helpers.derive_shared_key(me.private_key, peer.public_key)
    assert key == crypto_helpers.derive_shared_key(peer.private_key, me.public_key)
    sealed = crypto_helpers.aes_gcm_encrypt(key, '{"commandText":"ls"}')
    assert sealed.alg == "AES-256-GCM"
    assert crypto_helpers.aes_gcm_decrypt(key, sealed) == '{"commandText":"ls"}'
    # The wire model is accepted too.
    wire = EncryptedPayload(alg=sealed.alg, data=sealed.data, nonce=sealed.nonce, tag=sealed.tag)
    assert crypto_helpers.aes_gcm_decrypt(key, wire) == '{"commandText":"ls"}'


def test_tampered_ciphertext_and_wrong_keys_are_refused() -> None:
    a, b = crypto_helpers.generate_x25519_keypair(), crypto_helpers.generate_x25519_keypair()
    key = crypto_helpers.derive_shared_key(a.private_key, b.public_key)
    sealed = crypto_helpers.aes_gcm_encrypt(key, "secret")
    flipped = sealed._replace(data=sealed.data[:-4] + ("AAAA" if sealed.data[-4:] != "AAAA" else "BBBB"))
    with pytest.raises(ValueError):
        crypto_helpers.aes_gcm_decrypt(key, flipped)
    other = crypto_helpers.derive_shared_key(a.private_key, a.public_key)
    with pytest.raises(ValueError):
        crypto_helpers.aes_gcm_decrypt(other, sealed)
    with pytest.raises(ValueError, match="32 bytes"):
        crypto_helpers.aes_gcm_encrypt("c2hvcnQ", "x")
    with pytest.raises(ValueError):
        crypto_helpers.derive_shared_key(a.private_key, "not-a-key")


def test_canonical_serialize_matches_json_dumps_then_canonicalize() -> None:
    obj = {"z": 1, "a": {"y": [3, 2.5]}}
    assert canonical_json.canonical_serialize(obj) == canonical_json.canonicalize(json.dumps(obj))
