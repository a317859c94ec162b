"""Gather partition results again when the scattered data they read was lost.

Why this exists: Dask's active memory manager keeps one replica of scattered data by
default, however it was broadcast, so a lost host can take the only copy of the model (or
the pool) with it. Scattered data has no task to recompute it from, so the futures that
read it are cancelled; the only remedy is to scatter it again and resubmit.
"""

from __future__ import annotations

from asyncio import CancelledError
from collections.abc import Callable
from typing import Any

from labelwise._lazy import optional_import

ATTEMPTS = 3


def lost_data_errors() -> tuple[type[BaseException], ...]:
    """The errors a gather raises when a future's input was lost with its worker."""
    errors: list[type[BaseException]] = [CancelledError]
    client_module = optional_import("distributed.client", "distributed", "cluster=")
    for name in ("FutureCancelledError", "CancelledError"):
        error = getattr(client_module, name, None)
        if isinstance(error, type) and issubclass(error, BaseException):
            errors.append(error)
    return tuple(errors)


def gather_resubmitting(client: Any, submit: Callable[[], list[Any]],
                        before_retry: Callable[[], None] | None = None) -> list[Any]:
    """``client.gather(submit())``; when inputs were lost, call ``before_retry`` (scatter
    them again) and resubmit, up to :data:`ATTEMPTS` times in all."""
    lost = lost_data_errors()
    for attempt in range(ATTEMPTS):
        try:
            return client.gather(submit())
        except lost:
            if attempt == ATTEMPTS - 1:
                raise
            if before_retry is not None:
                before_retry()
    raise AssertionError("unreachable")
