"""The engine thread: one worker that owns the torch device and runs jobs from a FIFO queue.

Qt-free. Callbacks (``on_progress``, ``on_done``) run on the worker thread; the GUI's bridge re-emits them as
Qt signals so that widgets are only touched on the GUI thread.

A job is a function ``fn(ctx: JobContext) -> value``. It reports progress with ``ctx.progress(fraction, stage)``
(an :data:`engine.jobs.Progress`, so it can be passed straight to long engine functions); once the job is
cancelled that call raises :class:`engine.errors.Cancelled`, which stops the job cooperatively at its next chunk
boundary. Any exception becomes an error result and the thread lives on.

torch is imported when a Worker is made (not when this module is imported), so ``motet --help`` stays fast.
"""
from __future__ import annotations

import itertools
import logging
import os
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

from engine.errors import Cancelled, MotetError

log = logging.getLogger(__name__)

DEVICE_ENV = "MOTET_DEVICE"
_DEVICE_KINDS = ("cuda", "mps", "cpu")


# ----------------------------------------------------------------------------------------------- device choice

def pick_device(requested: Optional[str] = None):
    """The torch.device to compute on.

    ``requested``: "cuda" | "cuda:N" | "mps" | "cpu" | None. None means the env var ``MOTET_DEVICE`` if set,
    else auto: CUDA, then MPS, then CPU. A requested device that is not available is a :class:`MotetError`.
    """
    import torch

    choice = requested if requested is not None else os.environ.get(DEVICE_ENV) or None
    if choice is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    choice = str(choice).strip().lower()
    source = "device" if requested is not None else DEVICE_ENV
    if choice.split(":")[0] not in _DEVICE_KINDS:
        raise MotetError(f"{source} '{choice}': unknown device, use one of cuda, mps, cpu")
    if choice.startswith("cuda") and not torch.cuda.is_available():
        raise MotetError(f"{source} '{choice}': CUDA is not available on this machine (use cpu)")
    if choice == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise MotetError(f"{source} 'mps': Apple MPS is not available on this machine (use cpu)")
    try:
        device = torch.device(choice)
    except RuntimeError as err:
        raise MotetError(f"{source} '{choice}': {err}") from None
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise MotetError(f"{source} '{choice}': only {torch.cuda.device_count()} CUDA device(s) here")
    return device


def device_name(device) -> str:
    """A person-readable name: "NVIDIA H200", "Apple GPU (MPS)" or "CPU"."""
    if device.type == "cuda":
        import torch

        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return "CPU"


# ----------------------------------------------------------------------------------------------- out of memory

def is_out_of_memory(err: BaseException) -> bool:
    """True for a GPU (CUDA/MPS) out-of-memory error, or a host MemoryError."""
    if isinstance(err, MemoryError):
        return True
    try:
        import torch

        if isinstance(err, torch.cuda.OutOfMemoryError):
            return True
    except (ImportError, AttributeError):
        pass
    return isinstance(err, RuntimeError) and "out of memory" in str(err).lower()


def _free_device_memory(device) -> None:
    import torch

    if device.type == "cuda" and torch.cuda.is_available():
        torch.cuda.empty_cache()
    elif device.type == "mps":
        mps = getattr(torch, "mps", None)
        if mps is not None and hasattr(mps, "empty_cache"):
            mps.empty_cache()


def run_with_memory_fallback(
    step: Callable[[float, Any], Any],
    chunk_s: float,
    device,
    min_chunk_s: float = 1.0,
    cpu_fallback: bool = True,
    on_retry: Optional[Callable[[str], None]] = None,
) -> Any:
    """Run ``step(chunk_s, device)``; on out-of-memory retry with halved chunks, then on the CPU.

    ``step`` processes the whole job in chunks of ``chunk_s`` seconds on ``device`` and returns its value; it is
    re-run from the start on each retry, so it must not keep partial state between calls. Halving stops below
    ``min_chunk_s``; then (if ``cpu_fallback`` and the device is not already the CPU) the original ``chunk_s`` is
    tried on the CPU. ``on_retry(message)`` hears about each retry (e.g. to show it as a progress stage).
    Raises :class:`MotetError` with advice when nothing fits. Cancelled and other errors pass through.
    """
    import torch

    device = torch.device(device)
    chunk = float(chunk_s)
    while True:
        try:
            return step(chunk, device)
        except Exception as err:  # noqa: BLE001 - filtered just below
            if not is_out_of_memory(err) or isinstance(err, MotetError):
                raise
            _free_device_memory(device)
            if device.type != "cpu" and chunk / 2 >= min_chunk_s:
                chunk /= 2
                message = f"out of memory on {device.type}; retrying with {chunk:g}-s chunks"
            elif device.type != "cpu" and cpu_fallback:
                device, chunk = torch.device("cpu"), float(chunk_s)
                message = f"out of memory on the GPU even with {min_chunk_s:g}-s chunks; retrying on the CPU"
            else:
                where = "the CPU" if device.type == "cpu" else device.type
                raise MotetError(
                    f"out of memory on {where} (chunks of {chunk:g} s): close other programs, "
                    f"process a shorter excerpt, or use a machine with more memory"
                ) from None
            log.warning(message)
            if on_retry is not None:
                on_retry(message)


# ----------------------------------------------------------------------------------------------- jobs

@dataclass
class JobProgress:
    """One progress report. fraction in [0, 1]; eta_s: seconds left, None until it can be estimated."""

    job_id: int
    name: str
    fraction: float
    stage: str
    eta_s: Optional[float] = None


@dataclass
class JobResult:
    """How a job ended. ok: finished without error; error: one line for the person, None when ok."""

    job_id: int
    name: str
    ok: bool
    value: Any = None
    error: Optional[str] = None
    cancelled: bool = False


def error_line(err: BaseException) -> str:
    """The one line a person sees for an exception: a MotetError's message, else "TypeName: message"."""
    if isinstance(err, MotetError):
        text = str(err) or type(err).__name__
    else:
        text = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    return text.strip().splitlines()[0] if text.strip() else type(err).__name__


class JobContext:
    """What a running job sees: the device, a progress reporter that also checks for cancel."""

    # ETA is estimated only after this fraction and this many seconds, so the first guess is not wild.
    ETA_MIN_FRACTION = 0.02
    ETA_MIN_SECONDS = 0.2
    # Reports with an unchanged stage are passed on at most this often (a tight loop must not flood the GUI);
    # a new stage and the final fraction 1.0 always are.
    REPORT_INTERVAL_S = 0.05

    def __init__(self, job: "Job", device, on_progress: Optional[Callable[[JobProgress], None]]):
        self.job = job
        self.device = device
        self._on_progress = on_progress
        self._started = time.monotonic()
        self._last_sent = float("-inf")
        self._last_stage: Optional[str] = None

    @property
    def cancelled(self) -> bool:
        return self.job._cancel.is_set()

    def check_cancelled(self) -> None:
        """Raise :class:`Cancelled` if the job was cancelled."""
        if self.cancelled:
            raise Cancelled(f"{self.job.name}: cancelled")

    def progress(self, fraction: float, stage: str = "") -> None:
        """Report ``fraction`` in [0, 1] done, at ``stage``; raises :class:`Cancelled` once cancelled."""
        self.check_cancelled()
        fraction = min(1.0, max(0.0, float(fraction)))
        now = time.monotonic()
        if stage == self._last_stage and fraction < 1.0 and now - self._last_sent < self.REPORT_INTERVAL_S:
            return
        self._last_sent, self._last_stage = now, stage
        elapsed = now - self._started
        eta = None
        if fraction >= self.ETA_MIN_FRACTION and elapsed >= self.ETA_MIN_SECONDS:
            eta = elapsed * (1.0 - fraction) / fraction
        self.job._last_progress = JobProgress(self.job.id, self.job.name, fraction, stage, eta)
        if self._on_progress is not None:
            try:
                self._on_progress(self.job._last_progress)
            except Exception:  # a broken listener must not kill the job
                log.exception("progress callback of job %s failed", self.job.name)

    __call__ = progress  # a JobContext is itself an engine.jobs.Progress


class Job:
    """A handle on a submitted job: cancel it, ask if it is done, wait for its result."""

    def __init__(self, job_id: int, name: str, fn, on_progress, on_done):
        self.id = job_id
        self.name = name
        self._fn = fn
        self._on_progress = on_progress
        self._on_done = on_done
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._result: Optional[JobResult] = None
        self._last_progress: Optional[JobProgress] = None

    def cancel(self) -> None:
        """Ask the job to stop: a queued job never starts, a running one stops at its next progress call."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def done(self) -> bool:
        return self._done.is_set()

    @property
    def last_progress(self) -> Optional[JobProgress]:
        return self._last_progress

    def result(self, timeout: Optional[float] = None) -> JobResult:
        """Wait for the result; raises TimeoutError after ``timeout`` seconds."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"job {self.name} not done after {timeout} s")
        assert self._result is not None
        return self._result

    def __repr__(self) -> str:
        return f"Job({self.id}, {self.name!r}, done={self.done()})"


_STOP = object()


class Worker:
    """One thread owning the torch device; runs submitted jobs one at a time, first in first out.

    ``device``: "cuda" | "mps" | "cpu" | None (auto: CUDA, then MPS, then CPU; env MOTET_DEVICE overrides auto).
    """

    def __init__(self, device: Optional[str] = None, name: str = "motet-engine"):
        self.device = pick_device(device)
        self.device_name = device_name(self.device)
        self._queue: "queue.Queue[Any]" = queue.Queue()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._closed = False
        self._current: Optional[Job] = None
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    # -- public API

    def submit(
        self,
        name: str,
        fn: Callable[[JobContext], Any],
        on_progress: Optional[Callable[[JobProgress], None]] = None,
        on_done: Optional[Callable[[JobResult], None]] = None,
    ) -> Job:
        """Queue ``fn(ctx)``; returns its Job at once. Callbacks run on the worker thread."""
        with self._lock:
            if self._closed:
                raise MotetError(f"{name}: the engine is shut down")
            job = Job(next(self._ids), name, fn, on_progress, on_done)
            self._queue.put(job)
        return job

    @property
    def current_job(self) -> Optional[Job]:
        """The job running now, or None."""
        return self._current

    @property
    def pending(self) -> int:
        """Jobs queued and not started."""
        return self._queue.qsize()

    def cancel_all(self) -> None:
        """Cancel the running job and every queued one."""
        current = self._current
        if current is not None:
            current.cancel()
        with self._queue.mutex:
            for item in list(self._queue.queue):
                if isinstance(item, Job):
                    item.cancel()

    def shutdown(self, wait: bool = True, cancel: bool = False) -> None:
        """Stop taking jobs. Queued jobs still run unless ``cancel``; ``wait`` joins the thread."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._queue.put(_STOP)
        if cancel:
            self.cancel_all()
        if wait and threading.current_thread() is not self._thread:
            self._thread.join()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # -- the thread

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            self._run(item)

    def _run(self, job: Job) -> None:
        self._current = job
        try:
            if job.cancelled:
                result = JobResult(job.id, job.name, ok=False, error=f"{job.name}: cancelled", cancelled=True)
            else:
                result = self._execute(job)
        finally:
            self._current = None
        job._result = result
        job._fn = None  # drop references the job closed over
        job._done.set()
        if job._on_done is not None:
            try:
                job._on_done(result)
            except Exception:
                log.exception("on_done callback of job %s failed", job.name)

    def _execute(self, job: Job) -> JobResult:
        ctx = JobContext(job, self.device, job._on_progress)
        try:
            value = job._fn(ctx)
        except Cancelled as err:
            return JobResult(job.id, job.name, ok=False, error=error_line(err), cancelled=True)
        except BaseException as err:  # noqa: BLE001 - every failure becomes a result; the thread lives on
            if isinstance(err, (KeyboardInterrupt, SystemExit)):
                log.warning("job %s raised %s", job.name, type(err).__name__)
            elif not isinstance(err, MotetError):
                log.exception("job %s failed", job.name)
            if is_out_of_memory(err) and not isinstance(err, MotetError):
                line = f"{job.name}: out of memory on {self.device.type}: try a shorter excerpt or the CPU"
            else:
                line = error_line(err)
            return JobResult(job.id, job.name, ok=False, error=line)
        return JobResult(job.id, job.name, ok=True, value=value)
