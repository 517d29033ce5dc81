"""The whole enforcer lifecycle through the asyncio client, against the sandbox."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List

import pytest

from airlock_harp import AirlockGatewayClient, AirlockGatewayError, Pairing, PendingExchange
from airlock_harp.models import PresenceHeartbeatRequest
from airlock_harp.sandbox import Sandbox

from conftest import ENFORCER, WORKSPACE


async def test_pair_submit_approve_reject_unpair(
    sandbox: Sandbox, client: AirlockGatewayClient, tmp_path: Path
) -> None:
    assert (await client.echo()).timezone
    codes: list = []
    pairing = await client.pair(
        ENFORCER, on_code=codes.append, workspace=WORKSPACE, poll_interval=0.05, timeout=10
    )
    assert len(codes) == 1 and codes[0]
    # The fingerprint the user compares with the app is the approver's.
    assert pairing.fingerprint == sandbox.approver.fingerprint
    assert pairing.workspace_name == WORKSPACE
    assert "routing" not in repr(pairing).lower()

    # Saved and loaded: the loaded pairing works the same.
    path = tmp_path / "pairing.json"
    pairing.save(path)
    assert path.stat().st_mode & 0o077 == 0
    loaded = Pairing.load(path)
    assert loaded.fingerprint == pairing.fingerprint

    await client.send_heartbeat(PresenceHeartbeatRequest(enforcer_id=ENFORCER, workspace_name=WORKSPACE))

    pending = await client.encrypt_and_submit(
        loaded, {"actionType": "command", "commandText": "cargo test"}, metadata={"workspaceName": WORKSPACE}
    )
    # The approver decrypted exactly the object, bound to its exchange.
    sandbox.approver.wait_for_artifact(pending.request_id)
    assert sandbox.approver.seen_plaintext(pending.request_id) == {
        "actionType": "command",
        "commandText": "cargo test",
        "requestId": pending.request_id,
    }
    decision = await client.await_decision(pending, timeout=10)
    assert decision.approved and decision.is_approved
    assert decision.signer_key_id == pairing.signer_key_id
    assert decision.artifact_hash == pending.artifact_hash

    sandbox.approver.set_policy("reject")
    pending = await client.encrypt_and_submit(loaded, '{"commandText": "git push --force"}')
    decision = await client.await_decision(pending, timeout=10)
    assert not decision.approved and decision.decision == "reject"

    await client.unpair(pairing)
    with pytest.raises(AirlockGatewayError) as raised:
        await client.encrypt_and_submit(pairing, {"commandText": "ls"})
    assert raised.value.is_pairing_revoked or raised.value.status_code in (403, 404, 410)


async def test_manual_decision_with_reason_and_pending_saved(
    sandbox: Sandbox, client: AirlockGatewayClient, pairing: Pairing, tmp_path: Path
) -> None:
    sandbox.approver.set_policy("manual")
    pending = await client.encrypt_and_submit(pairing, {"commandText": "make deploy"})
    path = tmp_path / "pending.json"
    pending.save(path)
    sandbox.approver.wait_for_artifact(pending.request_id)
    assert sandbox.approver.pending() == [pending.request_id]
    sandbox.approver.decide(pending.request_id, True, reason="looks fine")
    decision = await client.await_decision(PendingExchange.load(path), timeout=10)
    assert decision.approved and decision.reason == "looks fine"


async def test_claiming_a_pre_generated_code(sandbox: Sandbox, client: AirlockGatewayClient) -> None:
    code = sandbox.approver.pre_generate_code()
    pairing = await client.pair(ENFORCER, claim_code=code, workspace=WORKSPACE, poll_interval=0.05, timeout=10)
    assert pairing.fingerprint == sandbox.approver.fingerprint


async def test_await_decision_timeout_withdraws(
    sandbox: Sandbox, client: AirlockGatewayClient, pairing: Pairing
) -> None:
    sandbox.approver.set_policy("manual")
    pending = await client.encrypt_and_submit(pairing, {"commandText": "sleep"})
    with pytest.raises(AirlockGatewayError) as raised:
        await client.await_decision(pending, timeout=0.5, withdraw_on_timeout=True)
    assert raised.value.is_timeout
    assert sandbox.exchange_state(pending.request_id) == "Withdrawn"


def dnd_policy(policy_id: str, mode: str, argv_prefix: List[str]) -> Dict[str, Any]:
    return {
        "requestId": policy_id,
        "objectType": "airlock.dnd.action",
        "workspaceId": WORKSPACE,
        "enforcerId": ENFORCER,
        "policyMode": mode,
        "actionSelector": {"argvPrefix": argv_prefix},
        # Within the 24 h a policy may run ahead (a later expiry does not count at all).
        "expiresAt": (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def command(text: str) -> Dict[str, Any]:
    return {"actionType": "command", "commandText": text}


async def test_gate_dnd_deny_blocks_and_dnd_approve_needs_trust(
    sandbox: Sandbox, client: AirlockGatewayClient, pairing: Pairing
) -> None:
    sandbox.add_dnd_policy(dnd_policy("dnd-deny", "deny_all", ["git", "push"]))
    sandbox.add_dnd_policy(dnd_policy("dnd-allow", "approve_all", ["make"]))
    listed = await client.get_effective_dnd_policies(ENFORCER, WORKSPACE)
    assert sorted(p.request_id for p in listed.body) == ["dnd-allow", "dnd-deny"]

    verdict = await client.gate(pairing, command("git push --force"), workspace=WORKSPACE, timeout=10)
    assert (verdict.outcome, verdict.decided_by, verdict.approved) == ("rejected", "dnd", False)
    assert verdict.request_id is None  # nobody was asked

    # The gateway writes DND policies: an approve policy is ignored unless the user opted in.
    sandbox.approver.set_policy("reject")
    verdict = await client.gate(pairing, command("make deploy"), workspace=WORKSPACE, timeout=10)
    assert (verdict.outcome, verdict.decided_by) == ("rejected", "approver")
    verdict = await client.gate(
        pairing, command("make deploy"), workspace=WORKSPACE, timeout=10, dnd_trust="approvals"
    )
    assert (verdict.outcome, verdict.decided_by, verdict.approved) == ("approved", "dnd", True)


async def test_gate_patterns_approver_and_tampering(
    sandbox: Sandbox, client: AirlockGatewayClient, pairing: Pairing
) -> None:
    verdict = await client.gate(
        pairing, command("git status"), workspace=WORKSPACE, timeout=10, patterns=["git status"]
    )
    assert (verdict.outcome, verdict.decided_by) == ("approved", "pattern")
    # A pattern never approves a command with operators.
    verdict = await client.gate(
        pairing, command("git status; rm -rf ~"), workspace=WORKSPACE, timeout=10, patterns=["git status"]
    )
    assert verdict.decided_by == "approver" and verdict.signer_key_id == pairing.signer_key_id

    sandbox.approver.set_tamper("forge-signature")
    verdict = await client.gate(pairing, command("curl evil | sh"), workspace=WORKSPACE, timeout=5)
    assert verdict.outcome == "verification-failed" and not verdict.approved and verdict.harp_code

    sandbox.approver.set_tamper("none")
    sandbox.approver.set_policy("manual")
    verdict = await client.gate(pairing, command("sleep 1"), workspace=WORKSPACE, timeout=3)
    assert verdict.outcome == "timeout" and not verdict.approved
    # Nothing stays pending: withdrawn by the gate, or (the artifact's expiry is the gate's
    # deadline) expired on the gateway just before the withdrawal reached it.
    assert verdict.request_id and verdict.withdrawn is not None
    assert sandbox.exchange_state(verdict.request_id) in ("Withdrawn", "Expired")
    with pytest.raises(ValueError):
        await client.gate(pairing, command("ls"), workspace=WORKSPACE, timeout=1, dnd_trust="all")
