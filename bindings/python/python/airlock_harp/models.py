"""The request and response models of the gateway, with the seed SDK's field names.

They are plain data classes: the Rust core reads and writes the wire form (camelCase
JSON) and validates it; this module only maps field names (``enforcer_id`` ↔
``enforcerId``). Timestamps are :class:`datetime.datetime` (UTC).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import typing
from dataclasses import InitVar, dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Type, TypeVar

__all__ = [
    "SenderInfo",
    "RecipientInfo",
    "HarpEnvelope",
    "EncryptedPayload",
    "ArtifactSubmitRequest",
    "EncryptedArtifactRequest",
    "DecisionDeliverBody",
    "DecisionDeliverEnvelope",
    "ExchangeStatusBody",
    "ExchangeStatusResponse",
    "PairingInitiateRequest",
    "PairingInitiateResponse",
    "PairingStatusResponse",
    "PairingRevokeResponse",
    "PairingClaimRequest",
    "PairingClaimResponse",
    "PresenceHeartbeatRequest",
    "EchoResponse",
    "DndPolicyWire",
    "DndEffectiveResponse",
    "DeviceCodeInfo",
    "TokenResponse",
    "OidcDiscoveryResult",
]

M = TypeVar("M", bound="_Model")


def _wire_name(f: dataclasses.Field[Any]) -> str:
    alias = f.metadata.get("wire")
    if isinstance(alias, str):
        return alias
    head, *rest = f.name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _parse_time(text: str) -> datetime:
    # `fromisoformat` reads `Z` only from Python 3.11 on, and at most 6 fractional digits.
    text = text.replace("Z", "+00:00").replace("z", "+00:00")
    if "." in text:
        head, _, tail = text.partition(".")
        digits = len(tail) - len(tail.lstrip("0123456789"))
        text = head + "." + tail[:digits][:6].ljust(6, "0") + tail[digits:]
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _format_time(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _decode(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin is typing.Union:
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decode(inner[0], value) if len(inner) == 1 else value
    if origin in (list, List):
        (item,) = typing.get_args(tp)
        return [_decode(item, v) for v in value]
    if tp is datetime and isinstance(value, str):
        return _parse_time(value)
    if isinstance(tp, type) and issubclass(tp, _Model) and isinstance(value, dict):
        return tp._from_wire(value)
    return value


def _encode(value: Any) -> Any:
    if isinstance(value, _Model):
        return value._to_wire()
    if isinstance(value, datetime):
        return _format_time(value)
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return value


@dataclass
class _Model:
    """Maps the data class's fields to and from the wire form."""

    @classmethod
    def _from_wire(cls: Type[M], data: Dict[str, Any]) -> M:
        hints = typing.get_type_hints(cls, vars(sys.modules[cls.__module__]))
        kwargs = {}
        for f in dataclasses.fields(cls):
            name = _wire_name(f)
            if name in data:
                kwargs[f.name] = _decode(hints[f.name], data[name])
        return cls(**kwargs)

    @classmethod
    def _from_json(cls: Type[M], text: str) -> M:
        return cls._from_wire(json.loads(text))

    def _to_wire(self) -> Dict[str, Any]:
        return {
            _wire_name(f): _encode(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if getattr(self, f.name) is not None
        }

    def _to_json(self) -> str:
        return json.dumps(self._to_wire())

    # The seed's models are pydantic models: keep their two most used methods.
    def model_dump(self, *, by_alias: bool = False) -> Dict[str, Any]:
        """The model as a dict (wire names with ``by_alias=True``)."""
        if by_alias:
            return self._to_wire()
        return dataclasses.asdict(self)

    @classmethod
    def model_validate(cls: Type[M], data: Dict[str, Any]) -> M:
        """A model from its wire form (camelCase keys)."""
        return cls._from_wire(data)


# ── HARP envelope ────────────────────────────────────────────────


@dataclass
class SenderInfo(_Model):
    enforcer_id: Optional[str] = None
    approver_id: Optional[str] = None
    gateway_id: Optional[str] = None


@dataclass
class RecipientInfo(_Model):
    enforcer_id: Optional[str] = None
    approver_id: Optional[str] = None


@dataclass
class HarpEnvelope(_Model):
    msg_type: str = ""
    request_id: str = ""
    msg_id: Optional[str] = None
    created_at: Optional[datetime] = None
    expires_at: Optional[datetime] = None
    sender: Optional[SenderInfo] = None
    recipient: Optional[RecipientInfo] = None
    body: Optional[Any] = None


# ── Artifacts ────────────────────────────────────────────────────


@dataclass
class EncryptedPayload(_Model):
    alg: str = ""
    data: str = ""
    nonce: Optional[str] = None
    tag: Optional[str] = None
    aad: Optional[str] = None


@dataclass
class ArtifactSubmitRequest(_Model):
    """A sealed artifact to submit (you hashed and encrypted it yourself).

    ``expires_at`` defaults to ten minutes from now (the seed sent *now*, an artifact
    that had already expired).
    """

    enforcer_id: str
    artifact_hash: str
    ciphertext: EncryptedPayload
    artifact_type: str = "command-approval"
    expires_at: Optional[datetime] = None
    metadata: Optional[Dict[str, str]] = None
    request_id: Optional[str] = None


@dataclass
class EncryptedArtifactRequest(_Model):
    """A JSON object to canonicalize (RFC 8785), hash, encrypt and submit.

    The plaintext must be a JSON object: the core adds the exchange's ``requestId`` to
    it before hashing, so that every artifact hash is unique.
    """

    enforcer_id: str
    plaintext_payload: str
    encryption_key_base64url: str = field(metadata={"wire": "encryptionKeyBase64Url"})
    artifact_type: str = "command-approval"
    expires_at: Optional[datetime] = None
    metadata: Optional[Dict[str, str]] = None
    request_id: Optional[str] = None


# ── Decisions ────────────────────────────────────────────────────


@dataclass
class DecisionDeliverBody(_Model):
    """A decision as delivered by the gateway.

    ``verified`` is true only when the core verified it (signature of the paired
    approver over the submitted artifact hash, nonce not replayed): for exchanges
    submitted with ``encrypt_and_submit``. ``is_approved`` is false for any decision that
    was not verified — the gateway is an untrusted relay.
    """

    artifact_hash: str = ""
    decision: str = ""
    reason: Optional[str] = None
    signer_key_id: Optional[str] = None
    nonce: Optional[str] = None
    signature: Optional[str] = None
    decision_hash: Optional[str] = None
    verified: bool = False

    @property
    def is_approved(self) -> bool:
        return self.verified and self.decision.lower() == "approve"

    @property
    def is_rejected(self) -> bool:
        return self.decision.lower() == "reject"


@dataclass
class DecisionDeliverEnvelope(_Model):
    msg_type: str = ""
    request_id: str = ""
    msg_id: Optional[str] = None
    body: Optional[DecisionDeliverBody] = None

    @property
    def verified(self) -> bool:
        return self.body is not None and self.body.verified


@dataclass
class ExchangeStatusBody(_Model):
    request_id: str = ""
    state: str = ""
    created_at: Optional[datetime] = None
    expires_at: Optional[datetime] = None
    artifact_hash: Optional[str] = None
    decision: Optional[Any] = None


@dataclass
class ExchangeStatusResponse(_Model):
    msg_type: str = ""
    request_id: str = ""
    body: Optional[ExchangeStatusBody] = None


# ── Pairing ──────────────────────────────────────────────────────


@dataclass
class PairingInitiateRequest(_Model):
    """``device_id`` defaults to ``enforcer_id`` (the seed required it, its README omits it)."""

    enforcer_id: str
    device_id: str = ""
    gateway_url: Optional[str] = None
    x25519_public_key: Optional[str] = None
    enforcer_label: Optional[str] = None
    workspace_name: Optional[str] = None

    def __post_init__(self) -> None:
        self.device_id = self.device_id or self.enforcer_id


@dataclass
class PairingInitiateResponse(_Model):
    pairing_nonce: str = ""
    pairing_code: str = ""
    device_id: str = ""
    gateway_url: Optional[str] = None
    expires_at: Optional[datetime] = None

    @property
    def nonce(self) -> str:
        """The pairing nonce (the seed's README calls it ``nonce``)."""
        return self.pairing_nonce


@dataclass
class PairingStatusResponse(_Model):
    """The gateway's pairing status. ``response_json`` is NOT verified here: use
    ``AirlockGatewayClient.pair``, which verifies it."""

    pairing_nonce: str = ""
    state: str = ""
    response_json: Optional[str] = None
    routing_token: Optional[str] = None
    expires_at: Optional[datetime] = None


@dataclass
class PairingRevokeResponse(_Model):
    status: str = ""
    enforcer_id: Optional[str] = None


@dataclass
class PairingClaimRequest(_Model):
    """Claims a pre-generated code: ``pairing_code`` (or ``code``, as in the seed's README).

    ``device_id`` and ``enforcer_label`` default to ``enforcer_id``.
    """

    enforcer_id: str
    pairing_code: str = ""
    device_id: str = ""
    enforcer_label: str = ""
    workspace_name: str = ""
    gateway_url: Optional[str] = None
    x25519_public_key: Optional[str] = None
    code: InitVar[Optional[str]] = None

    def __post_init__(self, code: Optional[str]) -> None:
        self.pairing_code = self.pairing_code or code or ""
        if not self.pairing_code:
            raise TypeError("PairingClaimRequest needs pairing_code (or code)")
        self.device_id = self.device_id or self.enforcer_id
        self.enforcer_label = self.enforcer_label or self.enforcer_id


@dataclass
class PairingClaimResponse(_Model):
    pairing_nonce: str = ""
    expires_at: Optional[datetime] = None
    routing_token: Optional[str] = None


# ── Presence, echo ───────────────────────────────────────────────


@dataclass
class PresenceHeartbeatRequest(_Model):
    enforcer_id: str
    workspace_name: Optional[str] = None
    enforcer_label: Optional[str] = None


@dataclass
class EchoResponse(_Model):
    utc: str = ""
    local: str = ""
    timezone: str = ""
    offset_minutes: int = 0


# ── Do Not Disturb ───────────────────────────────────────────────


@dataclass
class DndPolicyWire(_Model):
    request_id: str = ""
    object_type: str = ""
    workspace_id: str = ""
    enforcer_id: str = ""
    policy_mode: str = ""
    expires_at: Optional[datetime] = None
    session_id: Optional[str] = None
    target_artifact_type: Optional[str] = None
    action_selector: Optional[Dict[str, Any]] = None
    selector_hash: Optional[str] = None
    created_at: Optional[datetime] = None


@dataclass
class DndEffectiveResponse(_Model):
    msg_type: str = ""
    request_id: str = ""
    body: List[DndPolicyWire] = field(default_factory=list)


# ── Sign-in (the seed's plain classes, built from the snake_case OAuth form) ────────


class DeviceCodeInfo:
    """What to show for the device grant: open ``verification_uri`` and confirm
    ``user_code`` (``device_code`` is kept secret by the core: always empty)."""

    def __init__(self, data: Dict[str, Any]) -> None:
        self.device_code: str = data.get("device_code", "")
        self.user_code: str = data.get("user_code", "")
        self.verification_uri: str = data.get("verification_uri", "")
        self.verification_uri_complete: Optional[str] = data.get("verification_uri_complete")
        self.expires_in: int = data.get("expires_in", 600)
        self.interval: int = data.get("interval", 5)


class TokenResponse:
    def __init__(self, data: Dict[str, Any]) -> None:
        self.access_token: str = data.get("access_token", "")
        self.refresh_token: str = data.get("refresh_token", "")
        self.token_type: str = data.get("token_type", "")
        self.expires_in: int = data.get("expires_in", 0)
        self.scope: str = data.get("scope", "")

    def __repr__(self) -> str:
        return f"TokenResponse(token_type={self.token_type!r}, expires_in={self.expires_in})"


class OidcDiscoveryResult:
    def __init__(self, data: Dict[str, Any]) -> None:
        self.issuer: Optional[str] = data.get("issuer")
        self.token_endpoint: Optional[str] = data.get("token_endpoint")
        self.device_authorization_endpoint: Optional[str] = data.get(
            "device_authorization_endpoint"
        )
        self.revocation_endpoint: Optional[str] = data.get("revocation_endpoint")
        self.authorization_endpoint: Optional[str] = data.get("authorization_endpoint")
