"""Prometheus metrics shared by every runtime of this template (same names, same labels)."""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

# Set (by `python -m service`) when several server processes share the port: each writes its
# metrics to files there, and /metrics sums every process's (prometheus_client's multiprocess mode).
MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


class Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests handled, by method, route and status code.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency in seconds, by method and route.",
            ["method", "route"],
            registry=registry,
        )
        self.dependency_up = Gauge(
            "app_dependency_up",
            "1 when the last readiness check of a data service passed, else 0.",
            ["service"],
            registry=registry,
            # across processes: the value the latest check set, whichever process ran it
            multiprocess_mode="mostrecent",
        )

    def exposition(self) -> bytes:
        """The Prometheus text of this process's metrics, or of every server process's."""
        if not os.environ.get(MULTIPROCESS_DIR_ENV):
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry)
