"""The HTTP API: a FastAPI app built by ``create_app(settings)``."""

from modelyard.api.app import create_app

__all__ = ["create_app"]
