"""The seed SDK's documented calls, unchanged but for the import line."""

from __future__ import annotations

import asyncio

import pytest

from airlock_harp import (
    AirlockGatewayClient,
    AirlockGatewayError,
    ArtifactSubmitRequest,
    EncryptedArtifactRequest,
    EncryptedPayload,
    PairingClaimRequest,
    PairingInitiateRequest,
)
from airlock_harp.crypto_helpers import aes_gcm_encrypt, generate_x25519_keypair, sha256_hex
from airlock_harp.sandbox import Sandbox


async def test_seed_pairing_calls(sandbox: Sandbox, client: AirlockGatewayClient) -> None:
    sandbox.approver.set_auto_pair(False)
    me = generate_x25519_keypair()
    resp = await client.initiate_pairing(
        PairingInitiateRequest(enforcer_id="my-enforcer", workspace_name="my-project", x25519_public_key=me.public_key)
    )
    assert resp.pairing_code and resp.nonce == resp.pairing_nonce
    sandbox.approver.complete_pairing(resp.pairing_code)
    status = await client.get_pairing_status(resp.nonce)
    assert status.state == "Completed" and status.routing_token

    claim = await client.claim_pairing(
        PairingClaimRequest(
            code=sandbox.approver.pre_generate_code(),
            enforcer_id="my-enforcer",
            workspace_name="my-project",
            x25519_public_key=me.public_key,
        )
    )
    assert claim.pairing_nonce
    revoked = await client.revoke_pairing(status.routing_token)
    assert revoked.status


async def test_seed_submit_and_wait_is_never_approved_unverified(
    sandbox: Sandbox, client: AirlockGatewayClient
) -> None:
    # A pairing done by hand (the seed's way): the gateway relays, nobody verifies.
    me = generate_x25519_keypair()
    resp = await client.initiate_pairing(
        PairingInitiateRequest(enforcer_id="my-enforcer", x25519_public_key=me.public_key)
    )
    status = await client.get_pairing_status(resp.nonce)
    for _ in range(50):
        if status.state == "Completed":
            break
        await asyncio.sleep(0.05)
        status = await client.get_pairing_status(resp.nonce)
    assert status.routing_token

    key = "A" * 43  # any 32-byte key: the approver cannot read it, and need not
    payload = aes_gcm_encrypt(key, '{"commandText":"ls"}')
    request_id = await client.submit_artifact(
        ArtifactSubmitRequest(
            enforcer_id="my-enforcer",
            artifact_hash=sha256_hex('{"commandText":"ls"}'),
            ciphertext=EncryptedPayload(alg=payload.alg, data=payload.data, nonce=payload.nonce, tag=payload.tag),
            metadata={"routingToken": status.routing_token},
        )
    )
    assert request_id.startswith("req-")
    exchange = await client.get_exchange_status(request_id)
    assert exchange.request_id == request_id and exchange.body is not None

    request_id = await client.encrypt_and_submit_artifact(
        EncryptedArtifactRequest(
            enforcer_id="my-enforcer",
            plaintext_payload='{"commandText":"ls"}',
            encryption_key_base64url=key,
            metadata={"routingToken": status.routing_token},
        )
    )
    decision = await client.wait_for_decision(request_id, timeout_seconds=5)
    # Whatever the relay says, an unverified decision never reads as approved.
    assert decision is not None and decision.body is not None
    assert decision.body.decision and not decision.verified and not decision.body.is_approved
    # Decided: withdrawing now is an idempotency conflict.
    with pytest.raises(AirlockGatewayError) as raised:
        await client.withdraw_exchange(request_id)
    assert raised.value.is_conflict and raised.value.status_code == 409


def test_seed_models_keep_their_field_names() -> None:
    request = PairingClaimRequest(pairing_code="ABCD-1234", enforcer_id="e", workspace_name="w")
    assert request.model_dump(by_alias=True)["pairingCode"] == "ABCD-1234"
    assert request.device_id == "e" and request.enforcer_label == "e"
    with pytest.raises(TypeError):
        PairingClaimRequest(enforcer_id="e")
    wire = EncryptedArtifactRequest(enforcer_id="e", plaintext_payload="{}", encryption_key_base64url="k")._to_wire()
    assert wire["encryptionKeyBase64Url"] == "k" and "artifactType" in wire
