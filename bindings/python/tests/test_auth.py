"""AirlockAuthClient against the sandbox's identity provider."""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest

from airlock_harp import (
    AirlockAuthClient,
    AirlockAuthError,
    AirlockAuthOptions,
    AirlockGatewayClient,
    DeviceCodeInfo,
)
from airlock_harp.sandbox import Sandbox


async def test_device_login_refresh_use_and_logout(sandbox: Sandbox, tmp_path: Path) -> None:
    auth = AirlockAuthClient(
        AirlockAuthOptions(sandbox.issuer_url, sandbox.idp_client_id), token_store=tmp_path / "tokens.json"
    )
    discovery = await auth.discover()
    assert discovery.token_endpoint and discovery.device_authorization_endpoint
    assert not await auth.is_logged_in()

    shown: List[DeviceCodeInfo] = []
    tokens = await auth.login(shown.append)
    assert shown[0].user_code and shown[0].verification_uri and not shown[0].device_code
    assert tokens.access_token and tokens.token_type == "Bearer"
    assert await auth.is_logged_in()
    assert (tmp_path / "tokens.json").stat().st_mode & 0o077 == 0

    refreshed = await auth.refresh_token()
    assert refreshed.access_token and refreshed.access_token != tokens.access_token

    # The seed's dual auth: the app's credentials plus the user's bearer token.
    async with AirlockGatewayClient(
        sandbox.gateway_url, client_id=sandbox.client_id, client_secret=sandbox.client_secret
    ) as client:
        client.set_bearer_token(await auth.get_access_token())
        assert await client.check_consent()

    assert await auth.logout() in ("revoked", "not_supported")
    assert not await auth.is_logged_in()
    with pytest.raises(AirlockAuthError) as raised:
        await auth.get_access_token()
    assert raised.value.requires_sign_in


async def test_authorization_url_carries_pkce(sandbox: Sandbox) -> None:
    auth = AirlockAuthClient(AirlockAuthOptions(sandbox.issuer_url, sandbox.idp_client_id))
    request = await auth.get_authorization_url("http://127.0.0.1:8765/callback")
    assert "code_challenge_method=S256" in request["authorization_url"]
    assert request["state"] and len(request["code_verifier"]) >= 43
    with pytest.raises(ValueError):
        await auth.login_with_auth_code(print, redirect_port=8080)
