"""The blocking client, for scripts: the same surface without `await`."""

from __future__ import annotations

import pytest

from airlock_harp import AirlockGatewayError
from airlock_harp.sandbox import Sandbox
from airlock_harp.sync import AirlockGatewayClient


def test_sync_lifecycle(sandbox: Sandbox) -> None:
    with AirlockGatewayClient(
        sandbox.gateway_url,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        pat=sandbox.pat,
    ) as client:
        assert client.echo().utc
        pairing = client.pair("enf-sync", workspace="ws", poll_interval=0.05, timeout=10)
        assert pairing.fingerprint == sandbox.approver.fingerprint
        pending = client.encrypt_and_submit(pairing, {"commandText": "ls"})
        assert client.await_decision(pending, timeout=10).approved

        sandbox.approver.set_tamper("forge-signature")
        pending = client.encrypt_and_submit(pairing, {"commandText": "rm -rf /"})
        with pytest.raises(AirlockGatewayError) as raised:
            client.await_decision(pending, timeout=5)
        assert raised.value.is_verification

        sandbox.set_consent("required")
        with pytest.raises(AirlockGatewayError) as consent:
            client.check_consent()
        assert consent.value.is_consent_required
