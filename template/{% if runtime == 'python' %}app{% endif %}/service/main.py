"""The HTTP app: /healthz, /readyz and /metrics, plus request metrics and JSON access logs."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from .checks import Check, Store, run_checks
from .config import Settings
from .data import build_stores
from .metrics import Metrics

log = logging.getLogger("service")

PROBES = {"/healthz", "/readyz", "/metrics"}


def create_app(
    settings: Settings, stores: list[Store] | None = None, checks: dict[str, Check] | None = None
) -> FastAPI:
    """Build the app. Tests pass stand-in `stores`, or only `checks`, for the real services."""
    if stores is None:
        stores = [] if checks is not None else build_stores(settings)
    active_checks = checks if checks is not None else {store.name: store.check for store in stores}
    metrics = Metrics(CollectorRegistry())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        for store in stores:
            await store.start()
        log.info("started", extra={"port": settings.port, "checks": sorted(active_checks)})
        yield
        for store in stores:
            await store.close()
        log.info("stopped")

    app = FastAPI(title=settings.service_name, version=settings.service_version, lifespan=lifespan)

    @app.middleware("http")
    async def observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        elapsed = time.perf_counter() - start
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        metrics.requests.labels(request.method, path, str(response.status_code)).inc()
        metrics.duration.labels(request.method, path).observe(elapsed)
        log.log(
            logging.DEBUG if path in PROBES else logging.INFO,
            "request",
            extra={
                "method": request.method,
                "path": request.url.path,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 2),
            },
        )
        return response

    @app.get("/")
    async def index() -> dict[str, str]:
        return {"service": settings.service_name, "version": settings.service_version}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        results = await run_checks(active_checks, settings.ready_timeout_seconds)
        for name, result in results.items():
            metrics.dependency_up.labels(name).set(1 if result == "ok" else 0)
        ready = all(result == "ok" for result in results.values())
        if not ready:
            log.warning("not ready", extra={"checks": results})
        return JSONResponse(
            {"status": "ok" if ready else "unavailable", "checks": results},
            status_code=200 if ready else 503,
        )

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    for store in stores:
        app.include_router(store.router, prefix=f"/api/{store.name}")

    return app
