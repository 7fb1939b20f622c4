"""The HTTP protocol ``modelyard server`` runs: uvicorn's (httptools), with deadlines on
requests that do not arrive.

uvicorn closes a kept-alive connection that stays idle after a response, but nothing
else: a connection that never sends a request, or sends half a request head and stops,
or starts a body and stops, is held for ever (1,200 of them were held for 20 s, none
closed). Here, as nginx's ``client_header_timeout`` and ``client_body_timeout`` do:

- a request head must be whole ``MODELYARD_REQUEST_HEAD_SECONDS`` (10) after its
  connection opened or its first byte arrived;
- a request body may pause at most ``MODELYARD_REQUEST_IDLE_SECONDS`` (30) between two
  reads (a large upload may take as long as it needs while bytes flow).

Past either, the connection is closed. Read from the environment, where ``modelyard
server`` puts its settings, because uvicorn builds one protocol per connection and knows
nothing of ours.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("modelyard.server")

HEAD_ENV, HEAD_DEFAULT = "MODELYARD_REQUEST_HEAD_SECONDS", 10.0
IDLE_ENV, IDLE_DEFAULT = "MODELYARD_REQUEST_IDLE_SECONDS", 30.0


class GuardedHttp(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_seconds = float(os.environ.get(HEAD_ENV, HEAD_DEFAULT))
        self._idle_seconds = float(os.environ.get(IDLE_ENV, IDLE_DEFAULT))
        self._awaiting_head = True
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._last_read = 0.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head()

    def data_received(self, data: bytes) -> None:
        self._last_read = time.monotonic()
        if self._awaiting_head and self._head_timer is None:
            self._arm_head()  # the first byte of a request on a kept-alive connection
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._cancel()
        self._body_timer = self.loop.call_later(self._idle_seconds, self._body_check)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._cancel()
        self._awaiting_head = True
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)

    # -- deadlines -------------------------------------------------------------------------
    def _arm_head(self) -> None:
        self._head_timer = self.loop.call_later(self._head_seconds, self._expire, "head")

    def _body_check(self) -> None:
        if self.flow.read_paused:  # the app is the slow one, not the client: wait for it
            self._last_read = time.monotonic()
        quiet = time.monotonic() - self._last_read
        if quiet >= self._idle_seconds:
            self._expire("body")
        else:  # bytes arrived meanwhile: look again when the pause could be long enough
            self._body_timer = self.loop.call_later(self._idle_seconds - quiet, self._body_check)

    def _expire(self, part: str) -> None:
        self._head_timer = self._body_timer = None
        if not self.transport.is_closing():
            log.debug("closing %s: request %s too slow", self.client, part)
            self.transport.close()

    def _cancel(self) -> None:
        for timer in (self._head_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = None
