from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from modelyard import Client, Settings
from modelyard.api import create_app

ADMIN_TOKEN = "myd_test-admin-token-000000000000000000000000"


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    """The app on a fresh home, with an admin whose token is ``ADMIN_TOKEN``."""
    with Client(settings=settings) as c:
        c._services.auth.bootstrap(ADMIN_TOKEN)
    with TestClient(create_app(settings), raise_server_exceptions=False) as http:
        http.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        yield http


@pytest.fixture
def embedded(settings: Settings, api: TestClient) -> Iterator[Client]:
    """An embedded client on the same home, to seed data the API then serves."""
    with Client(settings=settings) as c:
        yield c
