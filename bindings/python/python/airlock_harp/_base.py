"""What the asyncio and the blocking client share: construction and identity."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Optional, Union

from . import _native

PathLike = Union[str, "os.PathLike[str]"]


def plaintext_json(plaintext: Union[str, Dict[str, Any]]) -> str:
    """A plaintext given as a dict becomes JSON text (the core canonicalizes it)."""
    return plaintext if isinstance(plaintext, str) else json.dumps(plaintext)


class ClientBase:
    _blocking = False

    def __init__(
        self,
        base_url: str,
        *,
        token: Optional[str] = None,
        pat: Optional[str] = None,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        timeout: Optional[float] = None,
        enforcer_id: Optional[str] = None,
        replay_journal: Optional[PathLike] = None,
    ) -> None:
        self._core = _native.GatewayCore(
            base_url,
            token=token,
            pat=pat,
            client_id=client_id,
            client_secret=client_secret,
            timeout=timeout,
            enforcer_id=enforcer_id,
            replay_journal=os.fspath(replay_journal) if replay_journal is not None else None,
            blocking=self._blocking,
        )

    def set_bearer_token(self, token: Optional[str] = None) -> None:
        """Sets (or clears) the user's bearer token."""
        self._core.set_bearer_token(token)

    def set_pat(self, pat: Optional[str] = None) -> None:
        """Sets (or clears) the personal access token (``X-PAT``; wins over a bearer token)."""
        self._core.set_pat(pat)
