from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from modelyard import Client, Settings
from modelyard.api import create_app
from modelyard.services.container import Services

ADMIN_TOKEN = "myd_test-admin-token-000000000000000000000000"


def bootstrap(settings: Settings, token: str = ADMIN_TOKEN) -> None:
    """Create the home's admin with ``token``, as a server's first start does."""
    services = Services.open(settings)
    try:
        services.authenticator.bootstrap(token)
    finally:
        services.close()


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    """The app on a fresh home, with an admin whose token is ``ADMIN_TOKEN``."""
    bootstrap(settings)
    with TestClient(create_app(settings), raise_server_exceptions=False) as http:
        http.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        yield http


@pytest.fixture
def embedded(settings: Settings, api: TestClient) -> Iterator[Client]:
    """An embedded client on the same home, to seed data the API then serves."""
    with Client(settings=settings) as c:
        yield c
