"""Cancelling the Python task cancels the Rust call."""

from __future__ import annotations

import asyncio
import time

import pytest

from airlock_harp import AirlockGatewayClient, Pairing
from airlock_harp.sandbox import Sandbox


async def test_cancelling_a_pending_wait(
    sandbox: Sandbox, client: AirlockGatewayClient, pairing: Pairing
) -> None:
    sandbox.approver.set_policy("manual")
    pending = await client.encrypt_and_submit(pairing, {"commandText": "make release"})
    task = asyncio.ensure_future(client.await_decision(pending, timeout=60))
    await asyncio.sleep(0.3)
    assert not task.done()
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 2

    # The Rust future is dropped (its long-poll with it) once the cancellation reaches the
    # runtime; had it lived on, it would consume the decision below and the next wait would
    # refuse the redelivery as a replay.
    await asyncio.sleep(0.3)
    sandbox.approver.decide(pending.request_id, True)
    decision = await client.await_decision(pending, timeout=10)
    assert decision.approved


async def test_wait_for_with_a_deadline(
    sandbox: Sandbox, client: AirlockGatewayClient, pairing: Pairing
) -> None:
    sandbox.approver.set_policy("manual")
    pending = await client.encrypt_and_submit(pairing, {"commandText": "make release"})
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(client.await_decision(pending, timeout=60), 0.5)
    # The event loop was never blocked: other tasks ran during the wait.
    assert (await client.echo()).utc


async def test_cancelling_the_gate_withdraws_the_request(
    sandbox: Sandbox, client: AirlockGatewayClient, pairing: Pairing
) -> None:
    sandbox.approver.set_policy("manual")
    action = {"actionType": "command", "commandText": "terraform apply"}
    task = asyncio.ensure_future(client.gate(pairing, action, workspace="acme", timeout=60))
    for _ in range(200):
        if sandbox.approver.pending():
            break
        await asyncio.sleep(0.05)
    (request_id,) = sandbox.approver.pending()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The cancellation interrupts the gate, which withdraws what it submitted.
    for _ in range(200):
        if sandbox.exchange_state(request_id) == "Withdrawn":
            break
        await asyncio.sleep(0.05)
    assert sandbox.exchange_state(request_id) == "Withdrawn"
