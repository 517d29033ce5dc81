"""Gateway errors map to AirlockGatewayError with the seed's fields and predicates."""

from __future__ import annotations

import pytest

from airlock_harp import AirlockGatewayClient, AirlockGatewayError
from airlock_harp.sandbox import Sandbox


async def test_consent_required_carries_its_url(sandbox: Sandbox, client: AirlockGatewayClient) -> None:
    sandbox.set_consent("required")
    with pytest.raises(AirlockGatewayError) as raised:
        await client.check_consent()
    e = raised.value
    assert e.status_code == 403 and e.error_code == "app_consent_required"
    assert e.is_consent_required and not e.is_consent_pending and not e.is_quota_exceeded
    assert e.consent_url

    sandbox.set_consent("pending")
    with pytest.raises(AirlockGatewayError) as raised:
        await client.check_consent()
    assert raised.value.is_consent_pending


async def test_bad_credentials_are_unauthorized(sandbox: Sandbox) -> None:
    async with AirlockGatewayClient(
        sandbox.gateway_url, client_id=sandbox.client_id, client_secret="wrong", pat=sandbox.pat
    ) as client:
        with pytest.raises(AirlockGatewayError) as raised:
            await client.check_consent()
    assert raised.value.status_code == 401 and raised.value.is_unauthorized
    assert "wrong" not in str(raised.value)


async def test_unknown_exchange_is_not_found_and_withdrawn_twice_conflicts(
    client: AirlockGatewayClient,
) -> None:
    with pytest.raises(AirlockGatewayError) as raised:
        await client.get_exchange_status("req-does-not-exist")
    assert raised.value.status_code == 404 and raised.value.is_not_found


async def test_unreachable_gateway_is_retryable_transport_failure() -> None:
    async with AirlockGatewayClient("http://127.0.0.1:9", pat="p", timeout=2) as client:
        with pytest.raises(AirlockGatewayError) as raised:
            await client.echo()
    assert raised.value.status_code is None


async def test_plain_http_to_a_remote_host_is_refused() -> None:
    async with AirlockGatewayClient("http://gateway.example.com", pat="secret-pat") as client:
        with pytest.raises(AirlockGatewayError) as raised:
            await client.echo()
    assert raised.value.status_code is None and "secret-pat" not in str(raised.value)


def test_bad_input_is_a_value_error(client: AirlockGatewayClient) -> None:
    with pytest.raises(ValueError):
        AirlockGatewayClient("https://gw.example", client_id="only-the-id")
