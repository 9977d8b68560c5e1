"""Edited voices of a separation folder: one voice, or the remix of all, with ``DIR/edits.json``."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Optional

import numpy as np

from engine.edit.edits import VoiceEdits, choir_edits_from_json, choir_edits_to_json
from engine.edit.render import VoiceRenderer
from engine.edit.theta_voice import SeparationDir
from engine.errors import MotetError
from engine.jobs import Progress, report, sub_progress


def load_choir_edits(sep: SeparationDir) -> dict[str, VoiceEdits]:
    """{voice: VoiceEdits} from ``DIR/edits.json`` (empty when absent); unknown voice names are an error."""
    path = sep.edits_path
    if not path.is_file():
        return {}
    edits = choir_edits_from_json(path.read_text(), str(path))
    for name in edits:
        sep.theta(name)  # raises for a voice the separation does not have
    return edits


def save_choir_edits(sep: SeparationDir, edits: dict[str, VoiceEdits]) -> Path:
    """Write ``DIR/edits.json`` atomically (temporary file, fsync, rename); returns its path."""
    path = sep.edits_path
    fd, tmp = tempfile.mkstemp(prefix=".edits.", suffix=".part", dir=sep.path)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(choir_edits_to_json({k: v for k, v in edits.items() if v.edits}))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise MotetError(f"{path}: cannot write ({err})") from None
    return path


def load_stem(sep: SeparationDir, name: str) -> tuple[np.ndarray, int]:
    """([N] float32 mono samples, sample rate) of one voice's stem."""
    from engine.io.audio import load_audio

    sep.theta(name)
    path = sep.stem_path(name)
    if not path.is_file():
        raise MotetError(f"{path}: stem of voice '{name}' not found in the separation folder")
    audio = load_audio(path, mono=True)
    return audio.mono().astype(np.float32), audio.sample_rate


def render_edited_voice(sep: SeparationDir, name: str, edits: VoiceEdits,
                        progress: Optional[Progress] = None) -> tuple[np.ndarray, int]:
    """([N] float32, sample rate): the voice's stem with ``edits``, rendered in 2-s chunks."""
    stem, rate = load_stem(sep, name)
    renderer = VoiceRenderer(stem, rate, sep.theta(name))
    out = np.empty_like(stem)
    for start, chunk in renderer.chunks(edits, chunk_s=2.0, progress=progress):
        out[start:start + len(chunk)] = chunk
    return out, rate


def render_remix(sep: SeparationDir, edits: dict[str, VoiceEdits],
                 progress: Optional[Progress] = None) -> tuple[np.ndarray, int]:
    """([N] float32, sample rate): the sum of every voice's edited stem (voices without edits unchanged)."""
    mix, rate = None, None
    for i, name in enumerate(sep.names):
        part = sub_progress(progress, i / len(sep.names), (i + 1) / len(sep.names))
        voice, voice_rate = render_edited_voice(sep, name, edits.get(name, VoiceEdits()), part)
        if mix is None:
            mix, rate = voice.astype(np.float32), voice_rate
        else:
            if voice_rate != rate:
                raise MotetError(f"{sep.stem_path(name)}: {voice_rate} Hz, other stems are {rate} Hz")
            n = max(len(mix), len(voice))
            mix = np.pad(mix, (0, n - len(mix))) + np.pad(voice, (0, n - len(voice)))
    report(progress, 1.0, "remix done")
    return mix, rate
