"""The Choir page's state and behaviour: the open recording, its spectrogram and F0, the separated voices with
their mixer settings and edits, and what the player plays. Slow work goes to the engine worker."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np

from engine.jobs import sub_progress
from gui.capabilities import capability
from gui.choir_page import ChoirPage
from gui.spectrogram import log_spectrogram
from gui.voice_strip import PARAMS

if TYPE_CHECKING:
    from gui.main_window import MainWindow

PLAY_RATE = 44100


def open_recording_job(path: Path):
    """A worker job: load ``path`` at the playback rate, compute its spectrogram, read a sidecar F0 CSV."""

    def job(ctx):
        from engine.io.audio import load_audio
        from engine.f0.tracks import F0Tracks

        ctx.progress(0.0, "reading the file")
        audio = load_audio(path, sample_rate=PLAY_RATE)
        if audio.samples.shape[1] == 0:
            from engine.errors import MotetError

            raise MotetError(f"{path}: holds no samples")
        ctx.progress(0.3, "spectrogram")
        spec = log_spectrogram(audio.mono(), audio.sample_rate, progress=sub_progress(ctx, 0.3, 0.95))
        f0 = None
        sidecar = path.with_suffix(".f0.csv")
        if sidecar.is_file():
            try:
                f0 = F0Tracks.from_csv(sidecar)
            except Exception:
                f0 = None
        ctx.progress(1.0, "done")
        return audio, spec, f0

    return job


class ChoirSession:
    def __init__(self, window: "MainWindow"):
        self.window = window
        self.page = ChoirPage()
        self.recording: Optional[Path] = None
        self.project_path: Optional[Path] = None
        self.audio = None  # engine.io.audio.Audio at PLAY_RATE
        self.spec = None
        self.f0 = None  # engine.f0.tracks.F0Tracks: the recording's F0 (sidecar, tracked or from separation)
        self.names: list[str] = []
        self.stems: Optional[np.ndarray] = None  # [V, frames] float32 at PLAY_RATE
        self.values: list[dict] = []  # per voice: PARAMS key -> value, plus solo, mute
        self.focused: Optional[int] = None
        self.listen = "recording"
        self.ab_original = False
        self.open_job = None
        p = self.page
        p.play_toggled.connect(window.toggle_play)
        p.view.seek_requested.connect(self.seek)
        p.loop_toggled.connect(lambda _on: self.update_loop())
        p.view.selection_finished.connect(lambda a, b: self.update_loop())
        p.listen_changed.connect(self.set_listen)

    # ---- recording ----
    def open_recording(self, path: Path) -> None:
        path = Path(path)
        if self.open_job is not None:
            self.open_job.cancel()

        def done(result):
            self.open_job = None
            if result.ok:
                audio, spec, f0 = result.value
                self.set_recording(path, audio, spec, f0)
                self.window.add_recent(path)
                self.window.status(f"Opened {path.name}: {audio.duration_s:.1f} s, {audio.channels} ch")

        self.open_job = self.window.submit(f"Open {path.name}", open_recording_job(path), done)

    def set_recording(self, path: Path, audio, spec, f0) -> None:
        self.window.transport.pause()
        self.recording = path
        self.audio = audio
        self.spec = spec
        self.f0 = f0
        self.names, self.stems, self.values = [], None, []
        self.page.set_voices([])
        self.page.view.set_spectrogram(spec)
        if f0 is not None:
            self.page.set_f0(f0.times_s, f0.f0_hz, f0.voiced)
        else:
            self.page.view.set_f0([], [], [])
        self.listen = "recording"
        self.page.listen.setCurrentIndex(0)
        self.load_tracks()
        self.window.transport.seek(0.0)
        self.window.undo_stack.clear()
        self.window._update_title()

    def title_name(self) -> str:
        if self.project_path is not None:
            return self.project_path.name
        return self.recording.name if self.recording is not None else ""

    # ---- playback ----
    def track_set(self) -> dict:
        if self.audio is None:
            return {}
        if self.listen == "voices" and self.stems is not None:
            return {f"voice{i}": (self.voice_audio(i), self.values[i]["gain_db"], self.values[i]["pan"])
                    for i in range(len(self.names))}
        return {"recording": (self.audio.samples, 0.0, 0.0)}

    def voice_audio(self, i: int) -> np.ndarray:
        return self.stems[i]

    def load_tracks(self) -> None:
        t = self.window.transport
        t.set_tracks(self.track_set())
        if self.listen == "voices":
            for i, v in enumerate(self.values):
                t.call("set_mute", f"voice{i}", v["mute"])
                t.call("set_solo", f"voice{i}", v["solo"])
        self.update_loop()

    def toggle_play(self) -> None:
        if not self.window.transport.tracks:
            self.load_tracks()
        self.window.transport.toggle()

    def activate(self) -> None:
        self.load_tracks()
        self.window.transport.seek(self.page.view.playhead.value())

    def set_listen(self, mode: str) -> None:
        self.listen = mode
        pos = self.window.transport.position_s
        self.load_tracks()
        self.window.transport.seek(pos)

    def seek(self, seconds: float) -> None:
        self.window.transport.seek(seconds)
        self.page.set_time(self.window.transport.position_s, self.duration())

    def duration(self) -> float:
        return self.audio.duration_s if self.audio is not None else 0.0

    def on_position(self, pos: float) -> None:
        self.page.set_time(pos, self.duration())

    def update_loop(self) -> None:
        sel = self.page.view.selection()
        if self.page.loop.isChecked() and sel is not None:
            self.window.transport.set_loop(*sel)
        else:
            self.window.transport.set_loop(None, None)

    # ---- voices ----
    def toggle_focused(self, what: str) -> None:
        if self.focused is None or self.focused >= len(self.page.strips):
            return
        strip = self.page.strips[self.focused]
        (strip.solo if what == "solo" else strip.mute).toggle()

    # ---- menus, look, lifetime ----
    def fill_export_menu(self, menu) -> None:
        self.export_actions = {}
        for key, text, tip in [
            ("stems", "Stems…", "Write each separated voice as WAV or FLAC"),
            ("edited", "Edited stems…", "Write each voice with its edits as WAV or FLAC"),
            ("remix", "Remix…", "Write the edited voices mixed with their gain, pan, mute and solo"),
            ("f0", "F0 as CSV…", "Write every voice's F0 (after your F0 edits) as CSV"),
        ]:
            a = menu.addAction(text)
            a.setToolTip(tip)
            a.setStatusTip(tip)
            a.setEnabled(False)
            a.triggered.connect(lambda _c=False, k=key: self.export(k))
            self.export_actions[key] = a
        menu.addSeparator()

    def export(self, what: str) -> None:
        pass

    def apply_look(self, look) -> None:
        pass

    def on_close(self) -> None:
        pass
