"""``AirlockGatewayError``: every failure of a gateway call.

The Rust core decides what an error is (``is_quota_exceeded``, ``is_pairing_revoked``,
…) and hands the answers over; nothing is re-derived here.
"""

from __future__ import annotations

from typing import Mapping, Optional

__all__ = ["AirlockGatewayError", "AirlockAuthError", "AirlockAuthException"]


class AirlockGatewayError(Exception):
    """A gateway call failed: an error answer, a transport failure, a timeout, a decision
    that failed verification, or an exchange that ended without a decision."""

    def __init__(
        self,
        message: str,
        *,
        status_code: Optional[int] = None,
        error_code: Optional[str] = None,
        response_body: Optional[str] = None,
        request_id: Optional[str] = None,
        retry_after: Optional[float] = None,
        consent_url: Optional[str] = None,
        app_name: Optional[str] = None,
        app_id: Optional[str] = None,
        flags: Optional[Mapping[str, bool]] = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error_code = error_code
        self.response_body = response_body
        self.request_id = request_id
        self.retry_after = retry_after
        """Seconds the gateway asked to wait (``Retry-After``), if it did."""
        self.consent_url = consent_url
        self.app_name = app_name
        self.app_id = app_id
        self._flags = dict(flags or {})

    def _flag(self, name: str) -> bool:
        return bool(self._flags.get(name, False))

    @property
    def is_quota_exceeded(self) -> bool:
        """Rate limited (429) or over a quota."""
        return self._flag("is_quota_exceeded")

    @property
    def is_pairing_revoked(self) -> bool:
        """The pairing was revoked: pair again."""
        return self._flag("is_pairing_revoked")

    @property
    def is_expired(self) -> bool:
        """The exchange or resource expired."""
        return self._flag("is_expired")

    @property
    def is_conflict(self) -> bool:
        """An idempotency conflict (409)."""
        return self._flag("is_conflict")

    @property
    def is_not_found(self) -> bool:
        return self._flag("is_not_found")

    @property
    def is_unauthorized(self) -> bool:
        """Missing, invalid or expired credentials (401)."""
        return self._flag("is_unauthorized")

    @property
    def is_consent_required(self) -> bool:
        """The user has not allowed this enforcer app (``consent_url`` says where)."""
        return self._flag("is_consent_required")

    @property
    def is_consent_pending(self) -> bool:
        return self._flag("is_consent_pending")

    @property
    def is_consent_denied(self) -> bool:
        return self._flag("is_consent_denied")

    @property
    def is_timeout(self) -> bool:
        """A request or the whole wait timed out."""
        return self._flag("is_timeout")

    @property
    def is_verification(self) -> bool:
        """A decision or pairing response failed verification: the action must not run."""
        return self._flag("is_verification")

    @property
    def is_retryable(self) -> bool:
        """Worth trying again later (busy gateway, connection failure)."""
        return self._flag("is_retryable")


class AirlockAuthError(Exception):
    """Sign-in, refresh or revocation failed (``AirlockAuthException`` in the seed)."""

    def __init__(
        self,
        message: str,
        *,
        requires_sign_in: bool = False,
        is_timeout: bool = False,
        is_access_denied: bool = False,
    ) -> None:
        super().__init__(message)
        self.requires_sign_in = requires_sign_in
        """The session cannot go on without signing in again."""
        self.is_timeout = is_timeout
        self.is_access_denied = is_access_denied


AirlockAuthException = AirlockAuthError
