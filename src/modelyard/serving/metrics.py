"""Prometheus metrics of one app, in the app's own registry (no process-global state).

A server of several workers answers ``/metrics`` for all of them, whichever worker is
asked: its supervisor gives the workers one folder (``MULTIPROCESS_ENV``, prometheus_client's
multiprocess mode), where each worker's series live in memory-mapped files, and a scrape
adds them up. Counters and histograms are sums over every worker since the server
started (a replaced worker's counts stay); the queue gauge sums the live workers; the
revision and load-time gauges show each live worker (label ``pid``). One worker keeps
its series in memory, as before.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from modelyard.serving import MULTIPROCESS_ENV

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)


@dataclass(frozen=True, slots=True)
class VariantSeries:
    """The series every scoring request of one variant touches, labelled once when the
    variant is loaded (``labels()`` on each request was 3 % of a worker's CPU)."""

    answered: Any  # requests answered 200
    latency: Any
    queue: Any


class ServingMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ("deployment", "variant")
        self.requests = Counter(
            "modelyard_scoring_requests",
            "Scoring requests answered, by status code.",
            (*labels, "status"),
            registry=self.registry,
        )
        self.errors = Counter(
            "modelyard_scoring_errors",
            "Scoring requests answered with an error, by status code and error code.",
            ("deployment", "status", "code"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "modelyard_scoring_latency_seconds",
            "Time from receiving a scoring request to its answer.",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_rows = Histogram(
            "modelyard_batch_rows",
            "Rows per model call (adaptive batching).",
            labels,
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.batch_requests = Histogram(
            "modelyard_batch_requests",
            "Requests merged into one model call.",
            labels,
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.model_seconds = Histogram(
            "modelyard_model_call_seconds",
            "Time inside the model per call.",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "modelyard_queue_depth",
            "Requests waiting for the model (summed over the live workers).",
            labels,
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.load_seconds = Gauge(
            "modelyard_model_load_seconds",
            "Time to load and warm up the model version a variant serves.",
            labels,
            registry=self.registry,
            multiprocess_mode="liveall",
        )
        self.revision = Gauge(
            "modelyard_deployment_revision",
            "The revision a worker serves.",
            ("deployment",),
            registry=self.registry,
            multiprocess_mode="liveall",
        )
        self.shadow = Counter(
            "modelyard_shadow_comparisons",
            "Shadow predictions compared with the live answer.",
            (*labels, "agreement"),
            registry=self.registry,
        )
        self.collection_dropped = Counter(
            "modelyard_collection_dropped_rows",
            "Scored rows not recorded for monitoring (buffer full or the disk failed).",
            ("deployment",),
            registry=self.registry,
        )
        self.dropped_shadow = Counter(
            "modelyard_shadow_dropped",
            "Shadow copies not scored (shadow queue full or input not valid for it).",
            labels,
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        """The text ``/metrics`` answers: every worker's series when they share a folder."""
        if not os.environ.get(MULTIPROCESS_ENV):
            return bytes(generate_latest(self.registry))
        from prometheus_client import multiprocess

        everyone = CollectorRegistry()
        multiprocess.MultiProcessCollector(everyone)
        return bytes(generate_latest(everyone))

    def variant(self, deployment: str, variant: str) -> VariantSeries:
        return VariantSeries(
            self.requests.labels(deployment, variant, "200"),
            self.latency.labels(deployment, variant),
            self.queue_depth.labels(deployment, variant),
        )
