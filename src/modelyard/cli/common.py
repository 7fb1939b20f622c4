"""What every command shares: the client, ``--json``, and parsing ``k=v`` options."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from modelyard.domain.errors import InvalidInput

if TYPE_CHECKING:
    from modelyard.sdk.client import Client


JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
EnvOpt = Annotated[
    str | None,
    typer.Option(
        "--env", "-e", help="Environment (default: the one in the reference, or sandbox)."
    ),
]


def client() -> Client:
    """The SDK client the command works with (imported now: ``--help`` never pays for it)."""
    from modelyard.sdk.client import Client

    return Client()


def pairs(items: list[str] | None, what: str) -> dict[str, str]:
    """``["a=1", "b=2"]`` -> ``{"a": "1", "b": "2"}``; a missing ``=`` is a clear error."""
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"invalid {what} {item!r}: expected KEY=VALUE")
        out[key.strip()] = value
    return out


def numbers(items: list[str] | None, what: str) -> dict[str, float]:
    """``["f1=0.7"]`` -> ``{"f1": 0.7}``; a value that is not a number is a clear error."""
    out: dict[str, float] = {}
    for key, value in pairs(items, what).items():
        try:
            out[key] = float(value)
        except ValueError:
            raise InvalidInput(
                f"invalid {what} {key}={value!r}: the value must be a number"
            ) from None
    return out
