"""The GUI's hold on the real-time player: track sets per page, play/pause/seek/loop and a 30+ Hz position.

The player (engine.playback) mixes pre-rendered float32 tracks in its audio callback; this class only tells it
what to do and polls its position with a QTimer, so nothing here runs on the audio thread.
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

POLL_MS = 25  # 40 Hz playhead


class Transport(QObject):
    """position_changed(seconds) at 40 Hz while playing (and after every seek); playing_changed(bool)."""

    position_changed = Signal(float)
    playing_changed = Signal(bool)
    error_occurred = Signal(str)

    def __init__(self, player_factory: Callable[[], object], parent: Optional[QObject] = None):
        super().__init__(parent)
        self.error: Optional[str] = None
        try:
            self.player = player_factory()
        except Exception as err:  # no sound card or PortAudio: the app still works, silently
            self.player = None
            self.error = f"no audio output ({str(err).splitlines()[0] if str(err) else type(err).__name__})"
        self.sample_rate = getattr(self.player, "sample_rate", 44100)
        self.tracks: set[str] = set()
        self._was_playing = False
        self._last_pos = -1.0
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.timer.start()

    @property
    def available(self) -> bool:
        return self.player is not None

    # ---- tracks ----
    def set_tracks(self, tracks: dict[str, tuple[np.ndarray, float, float]]) -> None:
        """Replace every track with ``tracks``: name -> (samples, gain_db, pan)."""
        if self.player is None:
            return
        for name in list(self.tracks):
            if name not in tracks:
                self.player.remove_track(name)
        for name, (samples, gain_db, pan) in tracks.items():
            self.player.set_track(name, np.ascontiguousarray(samples, dtype=np.float32), gain_db, pan)
        self.tracks = set(tracks)

    def replace_audio(self, name: str, samples: np.ndarray) -> None:
        """Swap a track's audio while it plays (the player crossfades)."""
        if self.player is not None and name in self.tracks:
            self.player.replace_audio(name, np.ascontiguousarray(samples, dtype=np.float32))

    def call(self, method: str, *args) -> None:
        """Forward a mixer setting (set_gain_db, set_pan, set_mute, set_solo) for a known track."""
        if self.player is not None and args and args[0] in self.tracks:
            getattr(self.player, method)(*args)

    # ---- transport ----
    @property
    def playing(self) -> bool:
        return bool(self.player is not None and self.player.playing)

    @property
    def position_s(self) -> float:
        return float(self.player.position_s) if self.player is not None else 0.0

    @property
    def duration_s(self) -> float:
        return float(self.player.duration_s) if self.player is not None else 0.0

    def play(self) -> None:
        if self.player is not None and self.tracks:
            try:
                self.player.play()
            except Exception as err:  # the sound device could not be opened: say so, keep running
                self.player.pause()
                self.error_occurred.emit(str(err).splitlines()[0] if str(err) else type(err).__name__)
            self.poll()

    def pause(self) -> None:
        if self.player is not None:
            self.player.pause()
            self.poll()

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def seek(self, seconds: float) -> None:
        if self.player is not None:
            self.player.seek(max(0.0, float(seconds)))
            self.poll(force=True)

    def set_loop(self, a: Optional[float], b: Optional[float]) -> None:
        if self.player is None:
            return
        if a is None or b is None or b - a < 0.05:
            self.player.clear_loop()
        else:
            self.player.set_loop(float(a), float(b))

    def poll(self, force: bool = False) -> None:
        playing = self.playing
        if playing != self._was_playing:
            self._was_playing = playing
            self.playing_changed.emit(playing)
        pos = self.position_s
        if force or pos != self._last_pos:
            self._last_pos = pos
            self.position_changed.emit(pos)

    def close(self) -> None:
        self.timer.stop()
        if self.player is not None:
            try:
                self.player.pause()
                close = getattr(self.player, "close", None)
                if close is not None:
                    close()
            except Exception:
                pass
