"""Edits of one voice on θ: an ordered, non-destructive list that serialises to JSON.

An :class:`Edit` is one slider move: a ``kind`` (pitch, breathiness, formant, tilt, gain, vibrato), an ``amount``
in that kind's unit, and an optional time range ``[start_s, end_s)`` (the whole voice when both are None).
:class:`VoiceEdits` keeps the list in the order the person made the edits; rendering turns it into per-frame
curves (:meth:`VoiceEdits.curves`). Cents and dB add, factors multiply, so the neutral list (or a list of
neutral edits) is the identity.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Optional

import numpy as np

from engine.errors import MotetError


@dataclass(frozen=True)
class EditKind:
    """One kind of edit: its unit, its neutral value, its allowed range and how several combine."""

    name: str
    unit: str
    neutral: float
    low: float
    high: float
    combine: str  # "add" (cents, dB) or "multiply" (factors)
    help: str


KINDS: dict[str, EditKind] = {k.name: k for k in (
    EditKind("pitch", "cents", 0.0, -1200.0, 1200.0, "add", "pitch shift with the vocal-tract envelope kept"),
    EditKind("breathiness", "dB", 0.0, -20.0, 20.0, "add",
             "breathiness: +X dB lowers the harmonic-to-noise ratio by X dB (loudness kept)"),
    EditKind("formant", "factor", 1.0, 0.7, 1.4, "multiply", "formant (timbre) shift factor, F0 kept"),
    EditKind("tilt", "dB/octave", 0.0, -12.0, 12.0, "add",
             "spectral tilt above the fundamental: negative = darker, positive = brighter"),
    EditKind("gain", "dB", 0.0, -60.0, 24.0, "add", "loudness"),
    EditKind("vibrato", "scale", 1.0, 0.0, 3.0, "multiply", "vibrato depth scale (0 flattens, 2 doubles)"),
)}

RAMP_S = 0.03  # an edit on a time range fades in and out over this many seconds


@dataclass(frozen=True)
class Edit:
    """One edit: ``amount`` in the unit of ``KINDS[kind]`` over ``[start_s, end_s)`` seconds (None = open end)."""

    kind: str
    amount: float
    start_s: Optional[float] = None
    end_s: Optional[float] = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise MotetError(f"edit '{self.kind}': unknown kind (choose from {', '.join(KINDS)})")
        spec = KINDS[self.kind]
        try:
            amount = float(self.amount)
        except (TypeError, ValueError):
            raise MotetError(f"edit {self.kind}: amount '{self.amount}' is not a number") from None
        if not math.isfinite(amount) or not spec.low <= amount <= spec.high:
            raise MotetError(f"edit {self.kind}: {amount:g} {spec.unit} is out of range "
                             f"[{spec.low:g}, {spec.high:g}]")
        object.__setattr__(self, "amount", amount)
        for name in ("start_s", "end_s"):
            value = getattr(self, name)
            if value is not None:
                try:
                    value = float(value)
                except (TypeError, ValueError):
                    raise MotetError(f"edit {self.kind}: {name} '{value}' is not a number") from None
                if not math.isfinite(value) or value < 0:
                    raise MotetError(f"edit {self.kind}: {name} must be a time >= 0 s, not {value:g}")
                object.__setattr__(self, name, value)
        if self.start_s is not None and self.end_s is not None and self.end_s <= self.start_s:
            raise MotetError(f"edit {self.kind}: end_s {self.end_s:g} must be after start_s {self.start_s:g}")

    @property
    def is_neutral(self) -> bool:
        return self.amount == KINDS[self.kind].neutral

    def weight(self, times_s: np.ndarray) -> np.ndarray:
        """[T] how much of this edit applies at ``times_s`` (1 inside the range, ramps of RAMP_S at its ends)."""
        w = np.ones(len(times_s))
        if self.start_s is not None:
            w = np.minimum(w, np.clip((times_s - self.start_s) / RAMP_S + 0.5, 0.0, 1.0))
        if self.end_s is not None:
            w = np.minimum(w, np.clip((self.end_s - times_s) / RAMP_S + 0.5, 0.0, 1.0))
        return w


@dataclass
class VoiceEdits:
    """The ordered edits of one voice. ``VoiceEdits()`` is neutral; ``to_json``/``from_json`` round-trip."""

    edits: list[Edit] = field(default_factory=list)

    def add(self, kind: str, amount: float, start_s: float | None = None, end_s: float | None = None) -> "VoiceEdits":
        """Append one edit (validated); returns self so calls chain."""
        self.edits.append(Edit(kind, amount, start_s, end_s))
        return self

    @property
    def is_neutral(self) -> bool:
        return all(edit.is_neutral for edit in self.edits)

    def curves(self, times_s: np.ndarray) -> dict[str, np.ndarray]:
        """Per-frame value of every kind at ``times_s`` ([T] seconds): {kind: [T] in its unit}.

        Additive kinds sum ``amount * weight``; multiplicative ones multiply ``amount ** weight``.
        """
        times_s = np.asarray(times_s, dtype=np.float64)
        out = {name: np.full(len(times_s), spec.neutral) for name, spec in KINDS.items()}
        for edit in self.edits:
            if edit.is_neutral:
                continue
            w = edit.weight(times_s)
            if KINDS[edit.kind].combine == "add":
                out[edit.kind] = out[edit.kind] + edit.amount * w
            else:
                out[edit.kind] = out[edit.kind] * edit.amount ** w
        for name, spec in KINDS.items():  # the sum of several edits is clipped to the range as well
            out[name] = np.clip(out[name], spec.low, spec.high)
        return out

    def to_list(self) -> list[dict]:
        return [{k: v for k, v in asdict(edit).items() if v is not None} for edit in self.edits]

    def to_json(self) -> str:
        return json.dumps(self.to_list())

    @classmethod
    def from_list(cls, items, where: str = "edits") -> "VoiceEdits":
        if not isinstance(items, list):
            raise MotetError(f"{where}: expected a list of edits")
        edits = []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or "kind" not in item or "amount" not in item:
                raise MotetError(f"{where}[{i}]: an edit needs 'kind' and 'amount'")
            unknown = set(item) - {"kind", "amount", "start_s", "end_s"}
            if unknown:
                raise MotetError(f"{where}[{i}]: unknown field(s) {', '.join(sorted(unknown))}")
            edits.append(Edit(item["kind"], item["amount"], item.get("start_s"), item.get("end_s")))
        return cls(edits)

    @classmethod
    def from_json(cls, text: str, where: str = "edits") -> "VoiceEdits":
        try:
            items = json.loads(text)
        except json.JSONDecodeError as err:
            raise MotetError(f"{where}: not valid JSON ({err.msg} at line {err.lineno})") from None
        return cls.from_list(items, where)


def choir_edits_to_json(edits: dict[str, VoiceEdits]) -> str:
    """{voice name: VoiceEdits} as the JSON object stored in ``DIR/edits.json``."""
    return json.dumps({name: e.to_list() for name, e in edits.items()}, indent=1)


def choir_edits_from_json(text: str, where: str = "edits.json") -> dict[str, VoiceEdits]:
    """Inverse of :func:`choir_edits_to_json`; one clear MotetError for malformed content."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise MotetError(f"{where}: not valid JSON ({err.msg} at line {err.lineno})") from None
    if not isinstance(data, dict):
        raise MotetError(f"{where}: expected an object {{voice: [edits]}}")
    return {str(name): VoiceEdits.from_list(items, f"{where}: {name}") for name, items in data.items()}
