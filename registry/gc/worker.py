"""The background collector ``custody serve`` runs: one pass every interval."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from registry.gc.collector import Collector

log = logging.getLogger("registry.gc")


class GcWorker:
    """Runs :meth:`Collector.run_pass` every ``interval`` seconds until closed.

    A failed pass is logged and retried at the next interval; the worker never
    stops the server. Several replicas may each run one: the collector's locks
    make their passes safe to overlap.
    """

    def __init__(self, collector: Collector, interval: float) -> None:
        self.collector = collector
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self.passes = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="custody-gc")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                report = await self.collector.run_pass()
            except Exception:
                log.exception("gc pass failed")
                continue
            self.passes += 1
            if report.collected or report.errors:
                log.info(
                    "gc: removed %d blobs (%d bytes) and %d manifests; %d kept, %d deferred, "
                    "%d errors",
                    len(report.blobs),
                    report.bytes_freed,
                    len(report.manifests),
                    report.kept,
                    report.deferred,
                    len(report.errors),
                )

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
