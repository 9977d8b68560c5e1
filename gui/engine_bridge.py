"""The GUI's door to the engine worker: a QObject that re-emits the worker's callbacks as Qt signals.

The worker calls ``on_progress``/``on_done`` on its own thread; emitting a signal of a QObject that lives on the
GUI thread queues the call there, so every slot connected here runs on the GUI thread.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, Signal


class EngineBridge(QObject):
    """Submit engine jobs and learn about them through signals (all delivered on the GUI thread).

    ``progress(JobProgress)`` while a job runs, ``finished(JobResult)`` when it ends (ok, error or cancelled),
    ``busy_changed(bool)`` when the number of running jobs goes from 0 to 1 or back.
    """

    progress = Signal(object)
    finished = Signal(object)
    busy_changed = Signal(bool)
    _progress_from_worker = Signal(object)
    _done_from_worker = Signal(object, object)

    def __init__(self, worker, parent: Optional[QObject] = None):
        super().__init__(parent)
        self.worker = worker
        self.jobs: dict[int, Any] = {}  # job_id -> Job, while running
        self.names: dict[int, str] = {}
        self._progress_from_worker.connect(self._on_progress)
        self._done_from_worker.connect(self._on_done)

    @property
    def device_name(self) -> str:
        return str(getattr(self.worker, "device_name", "CPU"))

    @property
    def busy(self) -> bool:
        return bool(self.jobs)

    def submit(self, name: str, fn: Callable, on_done: Optional[Callable[[Any], None]] = None):
        """Run ``fn(ctx)`` on the worker; ``on_done(JobResult)`` is then called on the GUI thread."""
        was_busy = self.busy
        job = self.worker.submit(
            name, fn,
            on_progress=lambda p: self._progress_from_worker.emit(p),
            on_done=lambda r, cb=on_done: self._done_from_worker.emit(r, cb),
        )
        self.jobs[job.id] = job  # on_done arrives later: it is queued to this (the GUI) thread
        self.names[job.id] = name
        if not was_busy and self.busy:
            self.busy_changed.emit(True)
        return job

    def cancel_all(self) -> None:
        for job in list(self.jobs.values()):
            job.cancel()

    def _on_progress(self, p) -> None:
        if p.job_id in self.jobs:
            self.progress.emit(p)

    def _on_done(self, result, callback) -> None:
        was_busy = self.busy
        self.jobs.pop(result.job_id, None)
        if callback is not None:
            callback(result)
        self.finished.emit(result)
        if was_busy and not self.busy:
            self.busy_changed.emit(False)

    def shutdown(self) -> None:
        self.cancel_all()
        self.worker.shutdown()
