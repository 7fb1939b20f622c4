"""Forwarding a contract method from ``Client`` to the implementation it holds, typed by the
contract itself (mypy sees the Protocol's exact signature on the client)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from modelyard.services.contracts import CONTRACTS

if TYPE_CHECKING:
    from modelyard.sdk.client import Client

P = ParamSpec("P")
R = TypeVar("R")


def forward(method: Callable[Concatenate[Any, P], R]) -> Callable[Concatenate[Client, P], R]:
    """``Client.x = forward(Contract.x)``: calls ``client.api.<service>.x(...)``."""
    owner = method.__qualname__.split(".")[0]
    service = next(attr for attr, contract in CONTRACTS.items() if contract.__name__ == owner)
    name = method.__name__

    @functools.wraps(method)
    def call(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> R:
        result: R = getattr(getattr(self.api, service), name)(*args, **kwargs)
        return result

    return call
