"""airlock_harp: the airlock-rs SDK for Python — the Airlock Integrations Gateway (HARP)
client with verified decisions.

A drop-in for the ``airlock_gateway`` package's documented surface (same names, same call
shapes), built on the Rust crates: RFC 8785 canonicalization, AES-256-GCM, X25519, and
decisions and pairings verified before you see them. Blocking client:
``airlock_harp.sync``; local test platform: ``airlock_harp.sandbox``.
"""

from __future__ import annotations

from ._native import GateVerdict, Pairing, PendingExchange, VerifiedDecision
from .auth import AirlockAuthClient, AirlockAuthOptions
from .client import AirlockGatewayClient
from .errors import AirlockAuthError, AirlockAuthException, AirlockGatewayError
from .models import (
    ArtifactSubmitRequest,
    DecisionDeliverBody,
    DecisionDeliverEnvelope,
    DndEffectiveResponse,
    DndPolicyWire,
    EchoResponse,
    DeviceCodeInfo,
    EncryptedArtifactRequest,
    EncryptedPayload,
    ExchangeStatusBody,
    ExchangeStatusResponse,
    HarpEnvelope,
    PairingClaimRequest,
    PairingClaimResponse,
    PairingInitiateRequest,
    PairingInitiateResponse,
    PairingRevokeResponse,
    PairingStatusResponse,
    PresenceHeartbeatRequest,
    RecipientInfo,
    SenderInfo,
    TokenResponse,
)

__all__ = [
    "AirlockAuthClient",
    "AirlockAuthError",
    "AirlockAuthException",
    "AirlockAuthOptions",
    "AirlockGatewayClient",
    "DeviceCodeInfo",
    "TokenResponse",
    "AirlockGatewayError",
    "ArtifactSubmitRequest",
    "DecisionDeliverBody",
    "DecisionDeliverEnvelope",
    "DndEffectiveResponse",
    "DndPolicyWire",
    "EchoResponse",
    "EncryptedArtifactRequest",
    "EncryptedPayload",
    "GateVerdict",
    "ExchangeStatusBody",
    "ExchangeStatusResponse",
    "HarpEnvelope",
    "Pairing",
    "PairingClaimRequest",
    "PairingClaimResponse",
    "PairingInitiateRequest",
    "PairingInitiateResponse",
    "PairingRevokeResponse",
    "PairingStatusResponse",
    "PendingExchange",
    "PresenceHeartbeatRequest",
    "RecipientInfo",
    "SenderInfo",
    "VerifiedDecision",
]
