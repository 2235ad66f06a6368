"""Readiness: every data service checked at once, each bounded by a timeout."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

from fastapi import APIRouter

Check = Callable[[], Awaitable[None]]


class Store(Protocol):
    """What the app needs from each data service module in `service.data`."""

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
