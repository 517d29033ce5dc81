"""``airlock_harp.sync.AirlockGatewayClient``: the blocking client, for scripts. Calls block
the calling thread (not the GIL) and answer Ctrl-C."""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Union

from ._base import ClientBase, plaintext_json
from ._native import GateVerdict, Pairing, PendingExchange, VerifiedDecision
from .models import (
    ArtifactSubmitRequest,
    DecisionDeliverEnvelope,
    DndEffectiveResponse,
    EchoResponse,
    EncryptedArtifactRequest,
    ExchangeStatusResponse,
    PairingClaimRequest,
    PairingClaimResponse,
    PairingInitiateRequest,
    PairingInitiateResponse,
    PairingRevokeResponse,
    PairingStatusResponse,
    PresenceHeartbeatRequest,
)

__all__ = ["AirlockGatewayClient"]


class AirlockGatewayClient(ClientBase):
    """The blocking gateway client::

        with AirlockGatewayClient(url, client_id=..., client_secret=..., pat=...) as c:
            pairing = c.pair("my-enforcer", on_code=print)
            pending = c.encrypt_and_submit(pairing, {"commandText": "ls"})
            decision = c.await_decision(pending, timeout=600)  # verified, or raises
    """

    _blocking = True

    def __enter__(self) -> "AirlockGatewayClient":
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release: connections close with the client."""

    def echo(self) -> EchoResponse:
        return EchoResponse._from_json(self._core.echo())

    def check_consent(self) -> str:
        """The consent status (``"approved"``); raises when consent is missing."""
        status: str = self._core.check_consent()
        return status

    def submit_artifact(self, request: ArtifactSubmitRequest) -> str:
        """Submits an artifact you sealed yourself; returns its request id."""
        request_id: str = self._core.submit_artifact(request._to_json())
        return request_id

    def encrypt_and_submit_artifact(self, request: EncryptedArtifactRequest) -> str:
        """Canonicalizes, hashes, encrypts and submits a JSON object; returns the request id.
        Decisions on it cannot be verified (no pairing): prefer ``encrypt_and_submit``."""
        request_id: str = self._core.encrypt_and_submit_artifact(request._to_json())
        return request_id

    def get_exchange_status(self, request_id: str) -> ExchangeStatusResponse:
        return ExchangeStatusResponse._from_json(self._core.get_exchange_status(request_id))

    def wait_for_decision(
        self, request_id: str, timeout_seconds: float = 30
    ) -> Optional[DecisionDeliverEnvelope]:
        """One long-poll; ``None`` if no decision came in time. Only decisions of exchanges
        submitted with ``encrypt_and_submit`` are verified (``body.verified``);
        ``body.is_approved`` is false for any other."""
        text = self._core.wait_for_decision(request_id, float(timeout_seconds))
        return None if text is None else DecisionDeliverEnvelope._from_json(text)

    def withdraw_exchange(self, request_id: str) -> None:
        self._core.withdraw_exchange(request_id)

    def submit_ack(self, msg_id: str, request_id: Optional[str] = None) -> None:
        self._core.submit_ack(msg_id, request_id)

    def initiate_pairing(self, request: PairingInitiateRequest) -> PairingInitiateResponse:
        return PairingInitiateResponse._from_json(
            self._core.initiate_pairing(request._to_json())
        )

    def claim_pairing(self, request: PairingClaimRequest) -> PairingClaimResponse:
        return PairingClaimResponse._from_json(self._core.claim_pairing(request._to_json()))

    def get_pairing_status(self, nonce: str) -> PairingStatusResponse:
        """The raw status (its ``response_json`` is not verified: use ``pair``)."""
        return PairingStatusResponse._from_json(self._core.get_pairing_status(nonce))

    def revoke_pairing(self, routing_token: str) -> PairingRevokeResponse:
        return PairingRevokeResponse._from_json(self._core.revoke_pairing(routing_token))

    def send_heartbeat(self, request: PresenceHeartbeatRequest) -> None:
        self._core.send_heartbeat(request._to_json())

    def get_effective_dnd_policies(
        self, enforcer_id: str, workspace_id: str, session_id: Optional[str] = None
    ) -> DndEffectiveResponse:
        return DndEffectiveResponse._from_json(
            self._core.get_effective_dnd_policies(enforcer_id, workspace_id, session_id)
        )

    # ── Verified operations (what the seed lacks) ────────────────────────────────────

    def pair(
        self,
        enforcer_id: str,
        *,
        on_code: Optional[Any] = None,
        claim_code: Optional[str] = None,
        workspace: Optional[str] = None,
        label: Optional[str] = None,
        timeout: float = 300.0,
        poll_interval: Optional[float] = None,
    ) -> Pairing:
        """Pairs with an approver: shows the code through ``on_code(code)``, waits, verifies
        the approver's signed response and agrees the end-to-end key. Show
        ``pairing.fingerprint`` to the user; keep the pairing with ``pairing.save(path)``."""
        pairing: Pairing = self._core.pair(
            enforcer_id,
            on_code=on_code,
            claim_code=claim_code,
            workspace=workspace,
            label=label,
            timeout=timeout,
            poll_interval=poll_interval,
        )
        return pairing

    def unpair(self, pairing: Pairing) -> PairingRevokeResponse:
        return PairingRevokeResponse._from_json(self._core.unpair(pairing))

    def encrypt_and_submit(
        self,
        pairing: Pairing,
        plaintext: Union[str, Dict[str, Any]],
        *,
        metadata: Optional[Dict[str, str]] = None,
        artifact_type: Optional[str] = None,
        request_id: Optional[str] = None,
        expires_in: Optional[float] = None,
    ) -> PendingExchange:
        """Seals a JSON object for the paired approver (RFC 8785, SHA-256, AES-256-GCM, bound
        to its request id) and submits it."""
        pending: PendingExchange = self._core.encrypt_and_submit(
            pairing,
            plaintext_json(plaintext),
            metadata=metadata,
            artifact_type=artifact_type,
            request_id=request_id,
            expires_in=expires_in,
        )
        return pending

    def await_decision(
        self, pending: PendingExchange, timeout: float, *, withdraw_on_timeout: bool = True
    ) -> VerifiedDecision:
        """The verified, acknowledged decision, or ``AirlockGatewayError``: nobody decided
        by ``timeout`` seconds (``is_timeout``; the artifact is withdrawn unless
        ``withdraw_on_timeout=False``), withdrawn, cancelled, or failed verification
        (``is_verification``). Only ``decision.approved`` lets the action run."""
        decision: VerifiedDecision = self._core.await_decision(
            pending, timeout, withdraw_on_timeout=withdraw_on_timeout
        )
        return decision

    def gate(
        self,
        pairing: Pairing,
        action: Union[str, Dict[str, Any]],
        *,
        workspace: str,
        timeout: float,
        patterns: Sequence[str] = (),
        dnd_trust: str = "deny-only",
        fail_open: bool = False,
        session_id: Optional[str] = None,
    ) -> GateVerdict:
        """The one decision path in front of an action (the CLI's and the hooks'):
        Do-Not-Disturb policies (a deny blocks; an approve counts only with
        ``dnd_trust="approvals"``, the user's opt-in: the gateway writes them), the local
        auto-approve ``patterns`` (plain commands only), then the paired approver,
        verified — all within ``timeout`` seconds; a request nobody decided on is
        withdrawn. Gateway failures are verdicts (``outcome="failed"``), not exceptions.
        Only ``verdict.approved`` lets the action run."""
        verdict: GateVerdict = self._core.gate(
            pairing,
            plaintext_json(action),
            workspace=workspace,
            timeout=timeout,
            patterns=list(patterns),
            dnd_trust=dnd_trust,
            fail_open=fail_open,
            session_id=session_id,
        )
        return verdict
