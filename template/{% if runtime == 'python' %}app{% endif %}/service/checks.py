"""Readiness: every data service checked at once, each bounded by a timeout."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

from fastapi import APIRouter

Check = Callable[[], Awaitable[None]]


class Unavailable(Exception):
    """A data service failed during a request: answered 503 naming it; its error goes to the log."""

    def __init__(self, service: str) -> None:
        super().__init__(f"{service} is unavailable")
        self.service = service


@contextlib.asynccontextmanager
async def using(service: str) -> AsyncIterator[None]:
    """One use of a data service: any failure in the block (a driver's error) is Unavailable."""
    try:
        yield
    except Exception as exc:
        raise Unavailable(service) from exc


class Client(Protocol):
    """A data service's client, as the app uses it: each module in `service.data` is one."""

    name: str
    router: APIRouter

    async def start(self) -> None: ...

    async def check(self) -> None: ...

    async def close(self) -> None: ...


async def run_checks(checks: dict[str, Check], timeout: float) -> dict[str, str]:
    """Run every check at once; map each name to "ok" or the reason it failed."""

    async def one(name: str, check: Check) -> tuple[str, str]:
        try:
            await asyncio.wait_for(check(), timeout)
        except TimeoutError:
            return name, f"timeout after {timeout:g}s"
        except Exception as exc:  # a readiness probe reports every failure, whatever its type
            return name, f"{type(exc).__name__}: {exc}".strip()
        return name, "ok"

    results = await asyncio.gather(*(one(name, check) for name, check in checks.items()))
    return dict(results)
