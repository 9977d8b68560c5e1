"""The progress protocol every long-running engine function follows.

A function doing long work takes ``progress: Progress | None`` and calls ``progress(fraction, stage)``
at chunk boundaries, with ``fraction`` in [0, 1] and ``stage`` a short text ("separating chunk 3/20").
The caller (the worker) may raise :class:`engine.errors.Cancelled` from inside that call to stop the job.
"""
from __future__ import annotations

from typing import Callable, Optional

Progress = Callable[[float, str], None]


def report(progress: Optional[Progress], fraction: float, stage: str) -> None:
    """Call ``progress`` if given, clamping ``fraction`` to [0, 1]."""
    if progress is not None:
        progress(min(1.0, max(0.0, float(fraction))), stage)


def sub_progress(progress: Optional[Progress], start: float, end: float, label: str = "") -> Optional[Progress]:
    """A progress callback mapping [0, 1] onto [start, end] of ``progress`` (for stages of one job); ``label``
    goes before each stage's text (a stage run several times: "round 2/5: ")."""
    if progress is None:
        return None

    def inner(fraction: float, stage: str) -> None:
        progress(start + (end - start) * min(1.0, max(0.0, fraction)), label + stage)

    return inner
