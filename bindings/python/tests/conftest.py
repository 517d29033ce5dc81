"""Every test runs against its own embedded sandbox (in-process, 127.0.0.1)."""

from __future__ import annotations

from typing import AsyncIterator, Iterator

import pytest

from airlock_harp import AirlockGatewayClient, Pairing
from airlock_harp.sandbox import Sandbox

ENFORCER = "enf-py"
WORKSPACE = "acme-widgets"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[AirlockGatewayClient]:
    async with AirlockGatewayClient(
        sandbox.gateway_url,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        pat=sandbox.pat,
        enforcer_id=ENFORCER,
    ) as c:
        yield c


@pytest.fixture
async def pairing(client: AirlockGatewayClient) -> Pairing:
    return await client.pair(ENFORCER, workspace=WORKSPACE, poll_interval=0.05, timeout=10)
