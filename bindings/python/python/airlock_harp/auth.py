"""``AirlockAuthClient``: user sign-in for enforcer apps (OIDC), by the Rust core's
``AuthSession``: device grant (RFC 8628), auth code + PKCE (RFC 7636) with a loopback
redirect on an ephemeral port (RFC 8252), refresh ahead of expiry (single flight), and
revocation on logout. Tokens stay in memory, or in ``token_store`` (a file written
atomically, owner-only) to survive restarts."""

from __future__ import annotations

import json
import os
from typing import Callable, Dict, Optional

from . import _native
from ._base import PathLike
from .models import DeviceCodeInfo, OidcDiscoveryResult, TokenResponse

__all__ = ["AirlockAuthClient", "AirlockAuthOptions"]


class AirlockAuthOptions:
    """The identity provider: its issuer (realm) URL and the OIDC client id."""

    def __init__(self, keycloak_realm_url: str, oidc_client_id: str = "airlock-integrations") -> None:
        self.keycloak_realm_url = keycloak_realm_url
        self.oidc_client_id = oidc_client_id


class AirlockAuthClient:
    """Sign-in for asyncio. Every method raises ``AirlockAuthError`` on failure."""

    def __init__(
        self,
        options: AirlockAuthOptions,
        *,
        client_secret: Optional[str] = None,
        token_store: Optional[PathLike] = None,
    ) -> None:
        self.options = options
        self._core = _native.AuthCore(
            options.keycloak_realm_url,
            options.oidc_client_id,
            client_secret=client_secret,
            token_store=os.fspath(token_store) if token_store is not None else None,
        )

    async def discover(self) -> OidcDiscoveryResult:
        return OidcDiscoveryResult(json.loads(await self._core.discover()))

    async def login(self, on_user_code: Callable[[DeviceCodeInfo], None]) -> TokenResponse:
        """Device grant: ``on_user_code`` shows the URL and code; returns once approved."""
        text = await self._core.login(lambda info: on_user_code(DeviceCodeInfo(info)))
        return TokenResponse(json.loads(text))

    async def login_with_auth_code(
        self, on_browser_url: Callable[[str], None], redirect_port: int = 0, *, timeout: float = 300.0
    ) -> TokenResponse:
        """Auth code + PKCE: ``on_browser_url(url)`` opens the browser; the redirect comes
        back to an ephemeral port of 127.0.0.1 (a fixed ``redirect_port`` is refused: any
        local program could hold it first)."""
        if redirect_port:
            raise ValueError("redirect_port: the loopback redirect always uses an ephemeral port")
        text = await self._core.login_with_auth_code(on_browser_url, timeout)
        return TokenResponse(json.loads(text))

    async def get_authorization_url(self, redirect_uri: str) -> Dict[str, str]:
        """``authorization_url``, ``state``, ``code_verifier``, ``redirect_uri`` for a redirect
        you handle yourself; check the redirect's ``state`` before ``exchange_code``."""
        url, state, verifier, redirect = await self._core.get_authorization_url(redirect_uri)
        return {
            "authorization_url": url,
            "state": state,
            "code_verifier": verifier,
            "redirect_uri": redirect,
        }

    async def exchange_code(self, code: str, redirect_uri: str, code_verifier: str) -> TokenResponse:
        text = await self._core.exchange_code(code, redirect_uri, code_verifier)
        return TokenResponse(json.loads(text))

    async def refresh_token(self) -> TokenResponse:
        text = await self._core.refresh_token()
        return TokenResponse(json.loads(text) if text else {})

    async def get_access_token(self) -> str:
        """A valid access token, refreshed ahead of expiry."""
        token: str = await self._core.get_access_token()
        return token

    async def is_logged_in(self) -> bool:
        signed_in: bool = await self._core.is_logged_in()
        return signed_in

    async def logout(self) -> str:
        """Forgets the tokens first, then revokes them: ``revoked``, ``not_supported``,
        ``nothing_to_revoke`` or ``failed``."""
        outcome: str = await self._core.logout()
        return outcome
