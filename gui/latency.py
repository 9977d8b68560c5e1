"""Measure how fast an edit is heard: drive the real app offscreen (fake sound stream) on the demo, separate it
with its score, then move voice sliders while playing and time each change until the re-rendered stretch at the
playhead is handed to the player (which crossfades it in within 10 ms).

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m gui.latency [--device cpu]

Prints one line per measurement and a JSON object as the last line.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path


class SilentDevice:
    """A sound card stand-in: the player's callback runs only when ``pull`` asks for audio."""

    def __init__(self):
        self.stream = None

    def __call__(self):
        from engine.playback import Player

        return Player(sample_rate=44100, block_size=512, channels=2, stream_factory=self._open)

    def _open(self, samplerate, blocksize, channels, dtype, callback):
        import numpy as np

        class Stream:
            def start(self):
                pass

            def stop(self):
                pass

            def close(self):
                pass

            def pull(self, seconds):
                block = np.zeros((blocksize, channels), dtype=np.float32)
                for _ in range(int(seconds * samplerate / blocksize) + 1):
                    callback(block, blocksize, None, None)

        self.stream = Stream()
        return self.stream


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gui.latency")
    parser.add_argument("--device", default=None)
    args = parser.parse_args(argv)
    from PySide6.QtCore import QSettings

    from engine.worker import Worker
    from gui.app import make_app
    from gui.main_window import DEMO, MainWindow
    app = make_app()
    tmp = Path(tempfile.mkdtemp())
    sound = SilentDevice()
    window = MainWindow(worker=Worker(args.device), player_factory=sound,
                        settings=QSettings(str(tmp / "s.ini"), QSettings.IniFormat), state_dir=tmp / "state")
    window.confirm_close = False
    window.show()

    def idle(limit=900.0):
        t0 = time.time()
        while time.time() - t0 < limit:
            app.processEvents()
            time.sleep(0.002)
            if not window.bridge.busy:
                return time.time() - t0
        raise TimeoutError("the engine stayed busy")

    window.open_path(DEMO)
    open_s = idle()
    choir = window.choir
    choir.page.set_score(str(DEMO.with_suffix(".mid")))
    choir.separate(4, "fast", choir.page.score_path)
    separate_s = idle()
    if not choir.names:
        print("separation failed:", window.errors)
        return 1
    window.transport.seek(8.0)
    window.transport.play()
    sound.stream.pull(0.1)
    swaps = []
    real = window.transport.replace_audio

    def replace_audio(name, samples):
        swaps.append(time.perf_counter())
        real(name, samples)

    window.transport.replace_audio = replace_audio
    results = {}
    for voice, key, values in [(1, "pitch_st", [1.0, 2.5, 4.0, -3.0, 7.0]), (2, "breath_db", [4.0, -4.0, 8.0]),
                               (0, "formant_pct", [10.0, -10.0]), (3, "loudness_db", [-6.0, 3.0])]:
        slider = choir.page.strips[voice].sliders[key]
        for v in values:
            swaps.clear()
            t0 = time.perf_counter()
            slider.setValue(round(v / slider.spec.step))
            while not swaps:
                app.processEvents()
                time.sleep(0.0005)
            ms = (swaps[0] - t0) * 1000
            results.setdefault(key, []).append(ms)
            print(f"{choir.names[voice]} {key} -> {v:+g}: heard after {ms:.0f} ms")
            idle()
    window.close()
    every = [x for xs in results.values() for x in xs]
    out = {"device": window.bridge.device_name, "demo_s": round(choir.duration(), 2), "open_s": round(open_s, 2),
           "separate_and_prepare_s": round(separate_s, 2), "edit_heard_ms_median": round(statistics.median(every), 1),
           "edit_heard_ms_max": round(max(every), 1), "goal_ms": 150}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
