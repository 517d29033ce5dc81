"""The blocking client in a script: ask once, run only on a verified approval.

    python examples/script.py
"""

from __future__ import annotations

import sys

from airlock_harp import AirlockGatewayError
from airlock_harp.sandbox import Sandbox
from airlock_harp.sync import AirlockGatewayClient


def main() -> int:
    with Sandbox() as sandbox, AirlockGatewayClient(
        sandbox.gateway_url, client_id=sandbox.client_id, client_secret=sandbox.client_secret, pat=sandbox.pat
    ) as client:
        pairing = client.pair("script-enforcer", on_code=print, poll_interval=0.1)
        pending = client.encrypt_and_submit(pairing, {"commandText": "make deploy"})
        try:
            decision = client.await_decision(pending, timeout=30)
        except AirlockGatewayError as e:
            print(f"blocked: {e}")
            return 1
        print("approved" if decision.approved else f"rejected: {decision.reason}")
        return 0 if decision.approved else 1


if __name__ == "__main__":
    sys.exit(main())
