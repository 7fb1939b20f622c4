"""Delivers the webhook outbox: signed POSTs, retries with backoff, a log of every attempt.

Events are queued in the outbox by the transaction of the change they report
(``store/webhooks.py``), so they survive a crash or a restart; the dispatcher only reads
the outbox. Each attempt claims its row first (a guarded UPDATE of ``claimed_until``), so
any number of dispatchers, one per server worker, may run on the same database without
sending a row twice at the same time. Delivery is at least once, with a stable
``Modelyard-Delivery`` id: a receiver that drops ids it has seen gets every event exactly
once, even if a dispatcher dies between a POST and its bookkeeping.

Each subscription receives its events in order: only its oldest pending event is tried;
the rest wait until it is delivered or has failed for good (after ``max_attempts``).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

import httpx

from modelyard.domain.clock import utcnow
from modelyard.domain.errors import Conflict, StorageUnavailable, describe
from modelyard.domain.webhooks import sign, verify_signature
from modelyard.services.egress import Egress
from modelyard.services.webhooks import target
from modelyard.store.unit import Store
from modelyard.store.webhooks import Due

__all__ = ["WebhookDispatcher", "backoff_delay", "verify_signature"]

log = logging.getLogger("modelyard.webhooks")

USER_AGENT = "modelyard-webhooks/1"
MAX_ERROR = 500


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based):
    ``min(cap, base * 2**(attempt-1))``, then ±10% jitter."""
    delay = min(cap, base * 2.0 ** min(attempt - 1, 62))
    return delay * (rng or random).uniform(0.9, 1.1)


class WebhookDispatcher:
    """Sends due outbox rows. ``start()`` runs it in a daemon thread that polls every
    ``poll_interval`` seconds; ``run_once()`` sends what is due now (tests, cron)."""

    def __init__(
        self,
        store: Store,
        *,
        poll_interval: float = 0.5,
        timeout: float = 5.0,
        max_attempts: int = 12,
        backoff_base: float = 1.0,
        backoff_cap: float = 300.0,
        http: httpx.Client | None = None,
        batch_size: int = 100,
        claim_ttl: float | None = None,
        egress: Egress | None = None,
    ) -> None:
        if poll_interval <= 0 or timeout <= 0 or backoff_base <= 0 or backoff_cap <= 0:
            raise ValueError("poll_interval, timeout and backoff times must be positive")
        if max_attempts < 1 or batch_size < 1:
            raise ValueError("max_attempts and batch_size must be at least 1")
        self.store = store
        self.egress = egress or Egress()  # public addresses only
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.batch_size = batch_size
        # a claim outlives the slowest possible attempt, so it never lapses mid-send
        self.claim_ttl = claim_ttl if claim_ttl is not None else 2 * timeout + 30.0
        self._given_http = http
        self._http: httpx.Client | None = http
        self._rng = random.Random()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        """Run in a daemon thread until ``stop()``; a second call does nothing."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping.clear()
            self._thread = threading.Thread(
                target=self._loop, name="modelyard-webhooks", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop after the attempt in flight (if any) is recorded. True when the thread has
        ended within ``timeout``; rows it did not get to stay queued for the next start."""
        self._stopping.set()
        with self._lock:
            thread, self._thread = self._thread, None
        stopped = True
        if thread is not None:
            thread.join(timeout)
            stopped = not thread.is_alive()
        if stopped and self._given_http is None and self._http is not None:
            self._http.close()
            self._http = None
        return stopped

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> WebhookDispatcher:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                attempted = self._run(stoppable=True)
            except StorageUnavailable:  # keep polling; the outage is logged once
                attempted = 0
            except Exception:
                log.exception("webhook dispatcher: polling the outbox failed")
                attempted = 0
            if attempted == 0:
                self._stopping.wait(self.poll_interval)

    # -- delivery -----------------------------------------------------------------------
    def run_once(self) -> int:
        """Attempt every row that is due now; returns how many attempts were made."""
        return self._run(stoppable=False)

    def _run(self, *, stoppable: bool) -> int:
        with self.store.read() as tx:
            ids = tx.webhooks.due_ids(utcnow(), self.batch_size)
        attempted = 0
        for outbox_id in ids:
            if stoppable and self._stopping.is_set():
                break
            if self._attempt(outbox_id):
                attempted += 1
        return attempted

    def _attempt(self, outbox_id: int) -> bool:
        now = utcnow()
        with self.store.write() as tx:
            due = tx.webhooks.claim(outbox_id, now, now + timedelta(seconds=self.claim_ttl))
        if due is None:
            return False  # another dispatcher has it, or it is done
        status, error, duration_ms = self._post(due)
        delivered = status is not None and 200 <= status < 300
        finished = utcnow()
        attempt = due.attempts + 1
        retry_at: datetime | None = None
        if not delivered and attempt < self.max_attempts:
            delay = backoff_delay(attempt, self.backoff_base, self.backoff_cap, self._rng)
            retry_at = finished + timedelta(seconds=delay)
        try:
            with self.store.write() as tx:
                tx.webhooks.record_attempt(
                    due,
                    now=finished,
                    status_code=status,
                    error=error,
                    duration_ms=duration_ms,
                    delivered=delivered,
                    retry_at=retry_at,
                )
        except Conflict:  # the subscription was deleted while we were sending
            log.info("webhook %s was deleted during delivery %s", due.webhook_id, due.id)
            return True
        if not delivered:
            log.info(
                "webhook %s delivery %s attempt %s failed: %s%s",
                due.webhook_id,
                due.id,
                attempt,
                error,
                "" if retry_at else " (giving up)",
            )
        return True

    def _client(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(
                timeout=self.timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT}
            )
        return self._http

    def _pinned(self, url: str, headers: dict[str, str]) -> tuple[httpx.URL, dict[str, Any]]:
        """``url`` with its host replaced by the address checked now (``Egress``), so the
        connection goes where the check looked; the name still travels in ``Host`` and,
        for TLS, as the server name the certificate is verified against."""
        parsed = httpx.URL(url)
        host, port = target(url)
        address = self.egress.address(host, port)
        headers["Host"] = parsed.netloc.decode("ascii")
        extensions = {"sni_hostname": host} if parsed.scheme == "https" else {}
        return parsed.copy_with(host=address), extensions

    def _post(self, due: Due) -> tuple[int | None, str | None, float]:
        body = due.payload.encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "Modelyard-Event": due.event_type,
            "Modelyard-Delivery": str(due.id),
            "Modelyard-Timestamp": timestamp,
            "Modelyard-Signature": sign(due.secret, timestamp, body),
        }
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            url, extensions = self._pinned(due.url, headers)
            with self._client().stream(
                "POST",
                url,
                content=body,
                headers=headers,
                timeout=self.timeout,
                extensions=extensions,
            ) as response:
                status = response.status_code
                if not 200 <= status < 300:  # the reply's body is never read nor shown
                    error = f"HTTP {status}"
        except Exception as e:  # any failure of one attempt is logged and retried
            status, error = None, describe(e)
        duration_ms = (time.perf_counter() - started) * 1000.0
        return status, (error[:MAX_ERROR] if error else None), duration_ms
