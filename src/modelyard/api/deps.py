"""Request dependencies: the app's services and the calling principal."""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import IO, Annotated, Any

import anyio.from_thread
from fastapi import Depends, Request
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from typing_extensions import Buffer

from modelyard.api.brake import Brake
from modelyard.artifacts.digests import CHUNK
from modelyard.domain.auth import Principal
from modelyard.domain.errors import PayloadTooLarge, Unauthenticated
from modelyard.services.container import Services
from modelyard.services.scope import Scope

_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer myd_…`")


# The dependencies are ``async``: FastAPI runs a plain ``def`` dependency in a worker
# thread, a hop per dependency per request. Only a token not seen moments ago costs a query,
# and that one runs in a worker thread.
def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


async def _services(request: Request) -> Services:
    return services(request)


async def identify(request: Request, secret: str | None) -> Principal:
    """Who ``secret`` belongs to, for every route that takes a token (the API, the landing
    page, ``POST /login``). A token seen moments ago costs nothing; any other is looked up
    in a worker thread (never on the event loop), and a client address past its failure
    limit is answered 429 before its token is looked at."""
    svc = services(request)
    if not svc.settings.auth:
        return Principal(name="anonymous", is_admin=True)
    known = svc.authenticator.cached(secret) if secret else None
    if known is not None:
        return known
    brake: Brake = request.app.state.brake
    address = request.client.host if request.client else None
    brake.check(address)
    try:
        return await run_in_threadpool(svc.authenticator.authenticate, secret)
    except Unauthenticated:
        brake.failed(address)
        raise


async def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    return await identify(request, credentials.credentials if credentials else None)


async def scope(request: Request, caller: Annotated[Principal, Depends(principal)]) -> Scope:
    """Every service, bound to the caller of this request."""
    return services(request).bind(caller)


ServicesDep = Annotated[Services, Depends(_services)]
PrincipalDep = Annotated[Principal, Depends(principal)]
ScopeDep = Annotated[Scope, Depends(scope)]


SPOOL_IN_MEMORY = 8 << 20


class BodyStream(io.RawIOBase):
    """The request body as a blocking, read-only raw stream for a worker thread: each read
    hands over bytes as they arrive from the client, so a service hashes and stores an
    upload while it arrives, written to disk once. Read it (``reader()``) only from a
    thread started by ``run_in_threadpool``: it waits on the event loop for each chunk."""

    def __init__(self, request: Request) -> None:
        super().__init__()
        self._chunks = request.stream().__aiter__()
        self._left = memoryview(b"")

    def reader(self) -> io.BufferedReader:
        return io.BufferedReader(self, buffer_size=CHUNK)

    def readable(self) -> bool:
        return True

    async def _next(self) -> bytes:
        return await self._chunks.__anext__()

    def readinto(self, buffer: Buffer) -> int:
        while not self._left:
            try:
                self._left = memoryview(anyio.from_thread.run(self._next))
            except StopAsyncIteration:
                return 0
        out = memoryview(buffer).cast("B")
        n = min(len(out), len(self._left))
        out[:n] = self._left[:n]
        self._left = self._left[n:]
        return n

    async def drain(self) -> None:
        """Receive what the client still sends, so it reads the answer (an error) instead
        of a connection closed under its upload."""
        async for _ in self._chunks:
            pass


@contextlib.asynccontextmanager
async def spooled_body(request: Request, svc: Services, limit: int) -> AsyncIterator[IO[bytes]]:
    """The request body in a temporary file (in memory up to 8 MiB): memory stays bounded
    whatever the upload's size. Positioned at the start. More than ``limit`` bytes is a
    413, checked on the declared length before any byte is read."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is {declared} bytes; at most {limit} are taken")
    with tempfile.SpooledTemporaryFile(
        max_size=SPOOL_IN_MEMORY, mode="w+b", dir=str(svc.settings.resolved_home)
    ) as spool:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"the body exceeds {limit} bytes")
            spool.write(chunk)
        spool.seek(0)
        yield spool


async def spooled_answer(
    home: Path, write: Callable[..., dict[str, Any]], *args: Any, **kwargs: Any
) -> tuple[IO[bytes], dict[str, Any]]:
    """Run ``write(*args, out, **kwargs)`` into a temporary file (in the home), off the
    event loop: an error is still answered as one, before any byte is sent."""
    spool = tempfile.TemporaryFile(dir=str(home))  # noqa: SIM115 (closed by ``streamed``)
    try:
        info = await run_in_threadpool(write, *args, spool, **kwargs)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool, info


def streamed(spool: IO[bytes], media_type: str, headers: dict[str, str]) -> StreamingResponse:
    """The answer streaming a spooled file, closed when it is sent."""

    def chunks() -> Iterator[bytes]:
        with spool:
            while chunk := spool.read(1 << 20):
                yield chunk

    return StreamingResponse(chunks(), media_type=media_type, headers=headers)
