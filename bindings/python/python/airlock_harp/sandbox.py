"""``Sandbox``: a complete local Airlock platform (gateway, identity provider and the
human's approver app, with real keys) running in this process on 127.0.0.1, for testing
enforcers without an account or a network::

    with Sandbox() as sandbox:
        async with AirlockGatewayClient(sandbox.gateway_url, client_id=sandbox.client_id,
                                        client_secret=sandbox.client_secret,
                                        pat=sandbox.pat) as client:
            ...
        sandbox.approver.set_tamper("forge-signature")   # a compromised relay

The simulated approver completes pairings by itself (``auto_pair``) and decides by its
policy: ``approve``, ``reject`` or ``manual`` (then ``approver.decide``). Tamper modes:
``none``, ``forge-signature``, ``wrong-hash``, ``replay``, ``unsigned``.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from . import _native

__all__ = ["Sandbox", "ApproverControl"]


class ApproverControl:
    """The simulated approver app of a running sandbox."""

    def __init__(self, core: _native.SandboxCore) -> None:
        self._core = core

    @property
    def fingerprint(self) -> str:
        """The approver signing key's fingerprint (what ``Pairing.fingerprint`` must equal)."""
        return self._core.approver_fingerprint

    def set_policy(self, policy: str) -> None:
        """``approve``, ``reject`` or ``manual``."""
        self._core.set_policy(policy)

    def set_tamper(self, tamper: str) -> None:
        """``none``, ``forge-signature``, ``wrong-hash``, ``replay`` or ``unsigned``."""
        self._core.set_tamper(tamper)

    def set_auto_pair(self, auto_pair: bool) -> None:
        self._core.set_auto_pair(auto_pair)

    def complete_pairing(self, pairing_code: str) -> None:
        self._core.complete_pairing(pairing_code)

    def pre_generate_code(self) -> str:
        """A code for ``claim_pairing`` / ``pair(..., claim_code=...)``."""
        return self._core.pre_generate_code()

    def pending(self) -> List[str]:
        """Request ids received and not decided yet."""
        return self._core.pending()

    def wait_for_artifact(self, request_id: str, timeout: float = 10.0) -> None:
        self._core.wait_for_artifact(request_id, timeout)

    def seen_plaintext(self, request_id: str) -> Optional[Dict[str, Any]]:
        """What the approver decrypted for ``request_id`` (its hash checked), if anything."""
        text = self._core.seen_plaintext(request_id)
        return None if text is None else dict(json.loads(text))

    def decide(self, request_id: str, approve: bool, reason: Optional[str] = None) -> None:
        """Signs and submits a decision (policy ``manual``)."""
        self._core.decide(request_id, approve, reason)


class Sandbox:
    """The embedded sandbox; a context manager (``with`` or ``async with``)."""

    def __init__(
        self,
        *,
        approver_policy: str = "approve",
        tamper: str = "none",
        auto_pair: bool = True,
        decision_delay: float = 0.0,
    ) -> None:
        self._approver_policy = approver_policy
        self._tamper = tamper
        self._auto_pair = auto_pair
        self._decision_delay = decision_delay
        self._core: Optional[_native.SandboxCore] = None

    def start(self) -> "Sandbox":
        if self._core is None:
            self._core = _native.SandboxCore(
                approver_policy=self._approver_policy,
                tamper=self._tamper,
                auto_pair=self._auto_pair,
                decision_delay=self._decision_delay,
            )
        return self

    def stop(self) -> None:
        if self._core is not None:
            self._core.shutdown()
            self._core = None

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *args: Any) -> None:
        self.stop()

    async def __aenter__(self) -> "Sandbox":
        return self.start()

    async def __aexit__(self, *args: Any) -> None:
        self.stop()

    @property
    def _running(self) -> _native.SandboxCore:
        if self._core is None:
            raise RuntimeError("the sandbox is not running (use it as a context manager)")
        return self._core

    @property
    def gateway_url(self) -> str:
        return self._running.gateway_url

    @property
    def issuer_url(self) -> str:
        """The identity provider's issuer URL."""
        return self._running.issuer_url

    @property
    def client_id(self) -> str:
        """The confidential enforcer app's client id."""
        return self._running.client_id

    @property
    def client_secret(self) -> str:
        return self._running.client_secret

    @property
    def public_client_id(self) -> str:
        return self._running.public_client_id

    @property
    def idp_client_id(self) -> str:
        """The identity provider's client id for ``AirlockAuthClient``."""
        return self._running.idp_client_id

    @property
    def pat(self) -> str:
        """A personal access token of the sandbox's user."""
        return self._running.pat

    @property
    def approver(self) -> ApproverControl:
        return ApproverControl(self._running)

    def set_consent(self, state: str, app_id: Optional[str] = None) -> None:
        """``required``, ``pending``, ``allowed`` or ``denied`` (for every app, or one)."""
        self._running.set_consent(state, app_id)

    def add_dnd_policy(self, policy: Dict[str, Any]) -> None:
        """Adds a DND policy (its wire form: ``requestId``, ``policyMode``, …)."""
        self._running.add_dnd_policy(json.dumps(policy))

    def clear_dnd_policies(self) -> None:
        self._running.clear_dnd_policies()

    def exchange_state(self, request_id: str) -> Optional[str]:
        """The gateway's state of an exchange, if it knows it."""
        return self._running.exchange_state(request_id)
