"""Prometheus metrics shared by every runtime of this template (same names, same labels)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


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
        )
