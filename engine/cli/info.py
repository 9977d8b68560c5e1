"""``motet info FILE [--json]``: duration, sample rate, channels, peak and RMS level of an audio file."""
from __future__ import annotations

import argparse
import json
import math

from engine.cli import Command


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="audio file (WAV, FLAC, OGG or MP3)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60.0)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{rest:06.3f}" if hours else f"{minutes}:{rest:06.3f}"


def _db(value: float) -> str:
    return "-inf dBFS (silent)" if math.isinf(value) else f"{value:.2f} dBFS"


def run(args: argparse.Namespace) -> int:
    from engine.io.audio import audio_stats

    stats = audio_stats(args.file)  # reads block by block: constant memory for any length
    info = stats.info
    if args.json:
        finite = lambda v: None if math.isinf(v) else round(v, 3)  # noqa: E731 - JSON has no -inf
        print(json.dumps({
            "file": str(info.path), "format": info.format, "subtype": info.subtype,
            "duration_s": round(stats.duration_s, 6), "sample_rate": info.sample_rate, "channels": info.channels,
            "frames": stats.frames, "peak_dbfs": finite(stats.peak_dbfs), "rms_dbfs": finite(stats.rms_dbfs),
        }))
        return 0
    print(info.path)
    print(f"  format       {info.format} ({info.subtype})")
    print(f"  duration     {_clock(stats.duration_s)} ({stats.duration_s:.3f} s, {stats.frames} frames)")
    print(f"  sample rate  {info.sample_rate} Hz")
    print(f"  channels     {info.channels}")
    print(f"  peak         {_db(stats.peak_dbfs)}")
    print(f"  RMS          {_db(stats.rms_dbfs)}")
    return 0


COMMANDS = [Command("info", "show an audio file's duration, rate, channels, peak and RMS", add_arguments, run)]
