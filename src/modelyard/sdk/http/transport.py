"""One HTTP connection to a server: paths in, entities out, errors as the exceptions the
embedded services raise (by their code, through ``wire.errors``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Protocol, TypeVar

import httpx

from modelyard.artifacts.digests import CHUNK, receive
from modelyard.domain import errors as e
from modelyard.wire.codec import Codec
from modelyard.wire.errors import error_class

T = TypeVar("T")


class Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


class Http:
    def __init__(self, url: str, token: str | None, timeout: float = 60.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)
        self.codec = Codec()

    # -- calls ----------------------------------------------------------------------------
    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise e.StorageUnavailable(f"cannot reach {self.client.base_url}: {exc}") from None
        check(response)
        return response

    def call(self, method: str, path: str, kind: type[T], **kwargs: Any) -> T:
        """``kind`` decoded from the JSON answer of one request."""
        return self.codec.decode(kind, self.request(method, path, **kwargs).json())

    def get(self, path: str, kind: type[T], **params: Any) -> T:
        return self.call("GET", path, kind, params=_params(params))

    def post(self, path: str, kind: type[T], body: Any = None, **params: Any) -> T:
        return self.call("POST", path, kind, json=self.encode(body), params=_params(params))

    def put(self, path: str, kind: type[T], body: Any = None) -> T:
        return self.call("PUT", path, kind, json=self.encode(body))

    def patch(self, path: str, kind: type[T], body: Any = None) -> T:
        return self.call("PATCH", path, kind, json=self.encode(body))

    def delete(self, path: str, kind: type[T]) -> T:
        return self.call("DELETE", path, kind)

    def encode(self, body: Any) -> Any:
        return None if body is None else self.codec.encode(body)

    # -- bytes ----------------------------------------------------------------------------
    def upload(self, method: str, path: str, kind: type[T], body: IO[bytes], **params: Any) -> T:
        """Stream ``body`` as the request body; ``kind`` decoded from the answer."""
        return self.codec.decode(kind, self.send(method, path, body, **params).json())

    def send(self, method: str, path: str, body: IO[bytes], **params: Any) -> httpx.Response:
        """Stream ``body`` as the request body."""
        return self.request(
            method,
            path,
            content=_chunks(body),
            params=_params(params),
            headers={"Content-Type": "application/octet-stream"},
        )

    def download(self, path: str, out: Sink, **params: Any) -> httpx.Headers:
        """Stream an answer's body into ``out``; its headers."""
        try:
            with self.client.stream("GET", path, params=_params(params)) as response:
                if response.status_code >= 400:
                    response.read()
                    check(response)
                for chunk in response.iter_bytes(CHUNK):
                    out.write(chunk)
                return response.headers
        except httpx.HTTPError as exc:
            raise e.StorageUnavailable(f"download of {path} failed: {exc}") from None

    def close(self) -> None:
        self.client.close()


class RemoteFiles:
    """A version's package files, fetched from the server and verified on arrival."""

    def __init__(self, http: Http, base: str) -> None:
        self.http = http
        self.base = base

    def get_file(self, digest: str, dest: Path) -> None:
        receive(digest, dest, lambda sink: self.http.download(f"{self.base}/files/{digest}", sink))


def check(response: httpx.Response) -> None:
    """Raise the error an answer carries, as its own class."""
    if response.status_code < 400:
        return
    try:
        body = response.json()["error"]
        code, message, details = body["code"], body["message"], body.get("details") or {}
    except (ValueError, KeyError, TypeError):
        code, message, details = "internal", f"HTTP {response.status_code}", {}
    raise error_class(code)(message, **details)


def _params(params: dict[str, Any]) -> dict[str, Any]:
    """Query parameters with the unset ones left out and booleans as JSON spells them."""
    return {
        k: (str(v).lower() if isinstance(v, bool) else v)
        for k, v in params.items()
        if v is not None
    }


def _chunks(source: IO[bytes]) -> Iterator[bytes]:
    while chunk := source.read(CHUNK):
        yield chunk
