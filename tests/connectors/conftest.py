"""Shared fixtures for the connector tests: a fixed clock, an HTTP client, a token store, contexts."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime

import httpx
import pytest

from connectors.base import AccountContext, InMemoryTokenStore

# 10:00 in Beijing on a Monday.
NOW = datetime(2024, 5, 6, 2, 0, 0, tzinfo=UTC)


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as client:
        yield client


@pytest.fixture
def tokens() -> InMemoryTokenStore:
    return InMemoryTokenStore()


@pytest.fixture
def make_ctx(http: httpx.Client, tokens: InMemoryTokenStore) -> Callable[..., AccountContext]:
    def make(secrets: Mapping[str, str], external_id: str, key: str = "1") -> AccountContext:
        return AccountContext(key=key, external_id=external_id, secrets=secrets, http=http, tokens=tokens)

    return make
