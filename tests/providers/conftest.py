"""Fixtures for provider tests: a running Mollie stub and a MollieProvider pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from portal.providers.mollie import MollieProvider

from .mollie_stub import MollieStub, mollie_stub

__all__ = ["mollie", "mollie_stub"]


@pytest.fixture
def mollie(mollie_stub: MollieStub) -> Iterator[MollieProvider]:
    """A MollieProvider talking to the stub; ignores proxy settings so 127.0.0.1 stays local."""
    with httpx.Client(trust_env=False) as client:
        yield MollieProvider(
            api_key=mollie_stub.api_key, base_url=mollie_stub.base_url, timeout=2.0, client=client
        )
