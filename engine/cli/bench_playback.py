"""``motet bench playback [--json]``: the audio callback's cost and audio-file load throughput.

Callback: a :class:`engine.playback.Player` with 8 tracks (4 mono, 4 stereo) at 44.1 kHz, 512-frame blocks,
driven directly (no sound card) for ``--blocks`` blocks while a control thread keeps editing it (gain, mute,
replaced audio, seeks: the crossfade paths). Each block's cost is divided by its real-time budget
(512 / 44100 s = 11.6 ms); the goal is a median and 99th percentile share of 0.05 or less.

Load: a ``--load-seconds`` stereo recording written as 16-bit WAV and as FLAC in a temporary folder, loaded
at its own rate and resampled to 48 kHz; throughput in MB of file per second and in times real time.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from engine.cli import Command

SR = 44100
BLOCK = 512
TRACKS = 8


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the result as one JSON line (last line)")
    p.add_argument("--blocks", type=int, default=20000, help="callback blocks to time (default 20000 = 232 s)")
    p.add_argument("--load-seconds", type=float, default=600.0,
                   help="length of the recording used for the load benchmark (default 600)")


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import numpy

    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "numpy": numpy.__version__,
            "system": f"{platform.system()} {platform.release()}"}


class _NoStream:
    def __init__(self, **kwargs):
        self.callback = kwargs["callback"]

    def start(self):
        pass

    def stop(self):
        pass

    def close(self):
        pass


def bench_callback(blocks: int) -> dict:
    import numpy as np

    from engine.playback import Player

    rng = np.random.default_rng(0)
    seconds = 30
    player = Player(SR, BLOCK, 2, stream_factory=_NoStream)
    for i in range(TRACKS):
        shape = (2, seconds * SR) if i % 2 else (seconds * SR,)
        player.set_track(f"voice{i}", (0.05 * rng.standard_normal(shape)).astype(np.float32),
                         gain_db=-3.0 * i, pan=(i - 3.5) / 4)
    replacement = (0.05 * rng.standard_normal(seconds * SR)).astype(np.float32)
    player.set_loop(0.0, seconds)
    player.play()
    callback = player._stream.callback
    out = np.zeros((BLOCK, 2), dtype=np.float32)
    budget_ns = BLOCK / SR * 1e9
    costs = np.empty(blocks, dtype=np.float64)
    edits = 0
    for b in range(blocks):
        if b % 50 == 25:  # an edit every ~0.6 s, applied between blocks as the GUI thread would
            kind = (b // 50) % 4
            if kind == 0:
                player.set_gain_db("voice1", -6.0 if (b // 200) % 2 else 0.0)
            elif kind == 1:
                player.set_mute("voice2", not player._settings["voice2"].mute)
            elif kind == 2:
                player.replace_audio("voice0", replacement)
            else:
                player.seek(float(rng.uniform(0, seconds - 1)))
            edits += 1
        start = time.perf_counter_ns()
        callback(out, BLOCK, None, None)
        costs[b] = time.perf_counter_ns() - start
    share = costs / budget_ns
    return {
        "callback_budget_share_median": round(float(np.median(share)), 5),
        "callback_budget_share_p99": round(float(np.percentile(share, 99)), 5),
        "callback_budget_share_max": round(float(share.max()), 5),
        "callback_blocks_over_budget": int(np.count_nonzero(share > 1.0)),
        "callback_us_median": round(float(np.median(costs)) / 1e3, 2),
        "callback_us_p99": round(float(np.percentile(costs, 99)) / 1e3, 2),
        "callback_blocks": blocks, "callback_tracks": TRACKS, "callback_edits": edits,
        "block_frames": BLOCK, "sample_rate": SR, "block_budget_ms": round(budget_ns / 1e6, 3),
    }


def bench_load(seconds: float) -> dict:
    import numpy as np
    import soundfile as sf

    from engine.io.audio import load_audio

    result = {"load_audio_seconds": seconds}
    with tempfile.TemporaryDirectory(prefix="motet-bench-") as folder:
        t = np.arange(SR * 10) / SR
        block = np.stack([0.3 * np.sin(2 * np.pi * 220 * t), 0.2 * np.sin(2 * np.pi * 330 * t)]).T
        block = (block + 0.01 * np.random.default_rng(1).standard_normal(block.shape)).astype(np.float32)
        for fmt, subtype in (("wav", "PCM_16"), ("flac", "PCM_16")):
            path = Path(folder) / f"recording.{fmt}"
            with sf.SoundFile(path, "w", SR, 2, subtype=subtype) as fh:
                for _ in range(int(seconds // 10)):
                    fh.write(block)
            mb = path.stat().st_size / 1e6
            audio_s = int(seconds // 10) * 10
            for label, rate in (("", None), ("_resampled_48k", 48000)):
                best = float("inf")
                for _ in range(2):
                    start = time.perf_counter()
                    load_audio(path, sample_rate=rate)
                    best = min(best, time.perf_counter() - start)
                result[f"load_{fmt}{label}_mb_per_s"] = round(mb / best, 1)
                result[f"load_{fmt}{label}_x_realtime"] = round(audio_s / best, 1)
    result["load_mb_per_s"] = result["load_wav_mb_per_s"]
    result["load_x_realtime"] = result["load_wav_x_realtime"]
    return result


def run(args: argparse.Namespace) -> int:
    from engine.errors import MotetError

    if args.blocks < 100:
        raise MotetError(f"--blocks {args.blocks}: time at least 100 blocks")
    if args.load_seconds < 10:
        raise MotetError(f"--load-seconds {args.load_seconds:g}: at least 10 s")
    result = {"benchmark": "playback", **bench_callback(args.blocks), **bench_load(args.load_seconds),
              "goal_budget_share": 0.05, "machine": machine()}
    result["meets_goal"] = (result["callback_budget_share_median"] <= 0.05
                            and result["callback_budget_share_p99"] <= 0.05)
    if not args.json:
        print(f"callback, {TRACKS} tracks, {BLOCK}-frame blocks at {SR} Hz: median "
              f"{result['callback_us_median']} us = {result['callback_budget_share_median']:.4f} of the budget, "
              f"p99 {result['callback_us_p99']} us = {result['callback_budget_share_p99']:.4f}")
        print(f"load {args.load_seconds:g}-s stereo 16-bit WAV: {result['load_mb_per_s']} MB/s, "
              f"{result['load_x_realtime']}x real time; FLAC: {result['load_flac_mb_per_s']} MB/s, "
              f"{result['load_flac_x_realtime']}x real time")
    print(json.dumps(result))
    return 0


COMMANDS = [Command("bench playback", "time the audio callback (8 tracks) and audio-file loading",
                    add_arguments, run)]
