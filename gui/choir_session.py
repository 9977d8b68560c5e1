"""The Choir page's state and behaviour: the open recording, its spectrogram and F0, the separated voices with
their mixer settings and edits, and what the player plays. Slow work goes to the engine worker.

Per voice the state is a plain dict (JSON-ready, see :func:`new_voice_state`): mixer settings, slider edits,
pitch moves of F0 stretches (time-ranged pitch edits) and redrawn F0 stretches (F0 corrections). Undo works on
snapshots of these dicts. Edits are rendered onto the stems by ``engine.edit.VoiceRenderer`` on the worker; the
stretch around the playhead first, pushed to the player at once, then the rest.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np
from PySide6.QtGui import QUndoCommand
from PySide6.QtWidgets import QFileDialog

from engine.jobs import sub_progress
from gui.capabilities import capability
from gui.choir_page import ChoirPage
from gui.spectrogram import hz_to_midi, log_spectrogram, midi_to_hz
from gui.style import voice_color
from gui.voice_strip import PARAM_BY_KEY, PARAMS

if TYPE_CHECKING:
    from gui.main_window import MainWindow

PLAY_RATE = 44100
FIRST_S = 1.5  # seconds rendered first, from the playhead, so an edit is heard at once
EDIT_KEYS = ("pitch_st", "breath_db", "formant_pct", "loudness_db", "regions", "redraws")


def new_voice_state(name: str) -> dict:
    state = {"name": name, "solo": False, "mute": False, "regions": [], "redraws": []}
    state.update({p.key: p.default for p in PARAMS})
    return state


def voice_edits(state: dict):
    """engine.edit VoiceEdits of one voice's state (sliders, then the pitch moves of F0 stretches)."""
    from engine.edit.edits import VoiceEdits

    e = VoiceEdits()
    if state["pitch_st"]:
        e.add("pitch", round(state["pitch_st"] * 100.0, 3))
    for a, b, cents in state["regions"]:
        e.add("pitch", cents, a, b)
    if state["breath_db"]:
        e.add("breathiness", state["breath_db"])
    if state["formant_pct"]:
        e.add("formant", 1.0 + state["formant_pct"] / 100.0)
    if state["loudness_db"]:
        e.add("gain", state["loudness_db"])
    return e


def corrected_theta(theta, redraws: list):
    """``theta`` (engine.edit ThetaVoice) with redrawn F0 stretches [(times_s, midi)] written into it; a None in
    midi marks an unvoiced point (a stretch taken over from another voice keeps that voice's rests)."""
    if not redraws:
        return theta
    from engine.edit.theta_voice import ThetaVoice

    f0 = theta.f0_hz.copy()
    voiced = theta.voiced.copy()
    t = theta.times_s
    for times, midi in redraws:
        times = np.asarray(times, dtype=float)
        midi = np.array([np.nan if m is None else m for m in midi], dtype=float)
        inside = (t >= times[0]) & (t <= times[-1])
        sung = np.isfinite(midi)
        if sung.any():
            on = np.interp(t[inside], times, sung.astype(float)) > 0.5
            f0[inside] = np.where(on, midi_to_hz(np.interp(t[inside], times[sung], midi[sung])), f0[inside])
            voiced[inside] = on
        else:
            voiced[inside] = False
    return ThetaVoice(theta.name, f0, voiced, theta.hop_s, dict(theta.extra))


def open_recording_job(path: Path):
    """A worker job: load ``path`` at the playback rate, compute its spectrogram, read a sidecar F0 CSV."""

    def job(ctx):
        from engine.f0.tracks import F0Tracks
        from engine.io.audio import load_audio

        ctx.progress(0.0, "reading the file")
        audio = load_audio(path, sample_rate=PLAY_RATE)
        ctx.progress(0.3, "spectrogram")
        spec = log_spectrogram(audio.mono(), audio.sample_rate, progress=sub_progress(ctx, 0.3, 0.95))
        f0 = None
        sidecar = path.with_suffix(".f0.csv")
        if sidecar.is_file():
            try:
                f0 = F0Tracks.from_csv(sidecar)
            except Exception:  # a broken sidecar only means no F0 overlay
                f0 = None
        ctx.progress(1.0, "done")
        return audio, spec, f0

    return job


class ChoirCommand(QUndoCommand):
    """One edit of the voices (a slider drag, a reset, an F0 move or redraw): snapshots before and after."""

    def __init__(self, session: "ChoirSession", what: str, before: list, after: list):
        super().__init__(what)
        self.session, self.before, self.after = session, before, after
        self.first = True

    def redo(self):
        if self.first:  # already applied while the person made it
            self.first = False
            return
        self.session.apply_voice_states(self.after)

    def undo(self):
        self.session.apply_voice_states(self.before)


class StemsCommand(QUndoCommand):
    """Stems replaced in a region (re-separation)."""

    def __init__(self, session: "ChoirSession", what: str, old: np.ndarray, new: np.ndarray):
        super().__init__(what)
        self.session, self.old, self.new = session, old, new

    def redo(self):
        self.session.set_stems(self.new)

    def undo(self):
        self.session.set_stems(self.old)


class ChoirSession:
    def __init__(self, window: "MainWindow"):
        self.window = window
        self.page = ChoirPage()
        self.recording: Optional[Path] = None
        self.project_path: Optional[Path] = None
        self.audio = None  # engine.io.audio.Audio at PLAY_RATE
        self.spec = None
        self.f0 = None  # F0Tracks of the recording (sidecar CSV) until voices are separated
        self.names: list[str] = []
        self.stems: Optional[np.ndarray] = None  # [V, frames] float32 at PLAY_RATE
        self.thetas: list = []  # engine.edit ThetaVoice per voice, as separated
        self.states: list[dict] = []  # per voice, see new_voice_state
        self.rendered: list[Optional[np.ndarray]] = []  # edited audio per voice (None: the stem itself)
        self.renderers: list = []  # engine.edit VoiceRenderer per voice, made on the worker
        self.versions: list[int] = []
        self.render_jobs: dict = {}  # voice index -> the engine job rendering its edits
        self._theta_cache: dict = {}
        self.prepare_job = None
        self.separation_settings: dict = {}
        self.saved_separation: Optional[Path] = None  # where this separation is stored on disk
        self.focused: Optional[int] = None
        self.listen = "recording"
        self.ab_original = False
        self.open_job = None
        self.separate_job = None
        p = self.page
        p.play_toggled.connect(window.toggle_play)
        p.view.seek_requested.connect(self.seek)
        p.loop_toggled.connect(lambda _on: self.update_loop())
        p.view.selection_finished.connect(lambda a, b: self.update_loop())
        p.listen_changed.connect(self.set_listen)
        p.ab_toggled.connect(self.set_ab)
        p.separate_requested.connect(self.separate)
        p.reseparate_requested.connect(self.reseparate_region)
        p.swap_requested.connect(self.swap_focused)
        p.view.selection_finished.connect(lambda a, b: self._update_region_tools())
        p.view.f0_shift_requested.connect(self.move_f0)
        p.view.voice_clicked.connect(lambda i: self.set_focus(i) if i < len(self.names) else None)
        p.view.f0_draw_requested.connect(self.redraw_f0)

    # ------------------------------------------------------------------ recording
    def open_recording(self, path: Path, then=None) -> None:
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
                if then is not None:
                    then()

        self.open_job = self.window.submit(f"Open {path.name}", open_recording_job(path), done)

    def set_recording(self, path: Path, audio, spec, f0) -> None:
        self.window.transport.pause()
        self.recording = path
        self.project_path = None
        self.audio = audio
        self.spec = spec
        self.f0 = f0
        self.clear_voices()
        self.page.view.set_spectrogram(spec)
        self.page.use_f0_file.setEnabled(f0 is not None)
        self.page.use_f0_file.setChecked(False)
        if f0 is not None:
            self.page.voices.setValue(max(2, min(8, f0.n_voices)))
        self.show_f0()
        self.listen = "recording"
        self.page.listen.setCurrentIndex(0)
        self.load_tracks()
        self.window.transport.seek(0.0)
        self.window.undo_stack.clear()
        self.window._update_title()

    def clear_voices(self) -> None:
        for job in self.render_jobs.values():
            job.cancel()
        self.render_jobs = {}
        self.names, self.stems, self.thetas, self.states = [], None, [], []
        self.rendered, self.renderers, self.versions = [], [], []
        self.saved_separation = None
        self.focused = None
        self.page.set_voices([])
        self._update_region_tools()
        self._update_exports()

    def title_name(self) -> str:
        if self.project_path is not None:
            return self.project_path.name
        return self.recording.name if self.recording is not None else ""

    # ------------------------------------------------------------------ separation
    def separate(self, n_voices: int, quality: str, score: str) -> None:
        if self.audio is None:
            self.window.show_error("Separate: open a recording first")
            return
        from gui.separation_job import separation_job

        audio = self.audio
        settings = {"n_voices": n_voices, "quality": quality, "score": score or None}
        f0 = None
        if self.page.use_f0_file.isChecked() and self.f0 is not None:
            if self.f0.n_voices != n_voices:
                self.window.show_error(f"Separate: the F0 file has {self.f0.n_voices} voices, not {n_voices}")
                return
            f0 = self.f0

        def done(result):
            self.separate_job = None
            self.page.separate.setEnabled(capability("separation").ok)
            if result.ok and self.audio is audio:  # still the same recording
                names, stems, thetas = result.value
                self.separation_settings = settings
                self.set_separation(names, stems, thetas)
                self.window.status(f"Separated {len(names)} voices: {', '.join(names)}")

        self.page.separate.setEnabled(False)
        self.separate_job = self.window.submit(
            f"Separate {n_voices} voices", separation_job(audio, n_voices, quality, score or None, f0), done)

    def open_separation_folder(self, path: Path, states: Optional[list] = None, then=None) -> None:
        """Show the voices of a folder written by ``motet separate`` (or a saved project)."""
        if self.audio is None:
            self.window.show_error(f"{path}: open the recording these voices were separated from first")
            return
        from gui.separation_job import read_separation_folder

        n = self.audio.samples.shape[1]

        def job(ctx):
            from engine.errors import MotetError

            names, stems, thetas = read_separation_folder(path, ctx)
            if abs(stems.shape[1] - n) > PLAY_RATE * 0.05:
                raise MotetError(f"{path}: its stems last {stems.shape[1] / PLAY_RATE:.2f} s but the recording "
                                 f"{n / PLAY_RATE:.2f} s; they were separated from another recording")
            stems = np.pad(stems, ((0, 0), (0, max(0, n - stems.shape[1]))))[:, :n]
            return names, stems, thetas

        audio = self.audio

        def done(result):
            if result.ok and self.audio is audio:
                names, stems, thetas = result.value
                self.set_separation(names, stems, thetas, states, saved=path)
                self.window.status(f"Opened {len(names)} voices from {path.name}")
                if then is not None:
                    then()

        self.window.submit(f"Open voices {path.name}", job, done)

    def set_separation(self, names: list[str], stems: np.ndarray, thetas: list, states: Optional[list] = None,
                       saved: Optional[Path] = None) -> None:
        """Show separated voices: stems [V, frames] at PLAY_RATE, thetas (ThetaVoice per voice), optional states."""
        self.window.transport.pause()
        for job in self.render_jobs.values():
            job.cancel()
        self.render_jobs = {}
        self.names = list(names)
        self.stems = np.ascontiguousarray(stems, dtype=np.float32)
        self.thetas = list(thetas)
        self.states = [copy.deepcopy(s) for s in states] if states else [new_voice_state(n) for n in names]
        self.rendered = [None] * len(names)
        self.renderers = [None] * len(names)
        self.versions = [0] * len(names)
        self.saved_separation = saved
        strips = self.page.set_voices(self.names)
        for i, strip in enumerate(strips):
            strip.param_live.connect(self.param_live)
            strip.param_committed.connect(self.param_committed)
            strip.solo_toggled.connect(lambda idx, on: self.set_flag(idx, "solo", on))
            strip.mute_toggled.connect(lambda idx, on: self.set_flag(idx, "mute", on))
            strip.focused.connect(self.set_focus)
            self._show_state(i)
        self.set_focus(0)
        self.listen = "voices"
        self.page.listen.blockSignals(True)
        self.page.listen.setCurrentIndex(1)
        self.page.listen.blockSignals(False)
        self.ab_original = False
        self.page.ab.setChecked(False)
        self.load_tracks()
        self.show_f0()
        self._update_exports()
        self._update_region_tools()
        self.window.undo_stack.clear()
        edited = [i for i, s in enumerate(self.states) if not voice_edits(s).is_neutral or s["redraws"]]
        for i in edited:
            self.render_voice(i)
        if not edited:
            self.prepare_renderers()

    def prepare_renderers(self) -> None:
        """Analyse every voice for editing ahead of time, so the first slider move is heard at once. Any edit
        cancels this (what was analysed stays cached)."""
        if not capability("edit").ok or self.stems is None:
            return
        from engine.edit.render import VoiceRenderer

        stems_now, n = self.stems, len(self.names)
        thetas = [self.theta_of(i) for i in range(n)]
        session = self

        def job(ctx):
            for i in range(n):
                if session.stems is not stems_now:
                    break
                renderer = session.renderers[i]
                if renderer is None:
                    renderer = VoiceRenderer(stems_now[i], PLAY_RATE, thetas[i])
                    session.renderers[i] = renderer
                step = renderer.block_frames * 4
                for lo in range(0, renderer.n_frames, step):
                    ctx.progress((i + lo / renderer.n_frames) / n, f"preparing {session.names[i]} for editing")
                    renderer.analysis(lo, min(renderer.n_frames, lo + step))

        self.prepare_job = self.window.submit("Prepare voices", job, quiet_cancel=True)

    def _update_region_tools(self) -> None:
        """Re-separate region and Swap ↑/↓ act on the selection: enabled only when there is one to act on."""
        region = self.stems is not None and self.page.view.selection() is not None
        ok = capability("separation").ok and region
        self.page.reseparate.setEnabled(ok)
        swap = region and self.focused is not None
        self.page.swap_up.setEnabled(swap and self.focused > 0)
        self.page.swap_down.setEnabled(swap and self.focused < len(self.names) - 1)
        why = "" if ok else ("\n\n" + (capability("separation").reason or "Separate first and select a time range "
                                                                           "(Shift+drag)"))
        self.page.reseparate.setToolTip("Separate the selected time range again with the corrected F0 (after "
                                        "redrawing a voice's F0)" + why)

    def reseparate_region(self) -> None:
        """Separate the selection again using the F0 as corrected by the person; stems change only there."""
        sel = self.page.view.selection()
        if sel is None or self.stems is None:
            return
        from engine.f0.tracks import F0_HOP_S, F0Tracks

        a, b = sel
        ctx_s, fade_s = 0.5, 0.03
        n = self.stems.shape[1]
        a0 = max(0, int((a - ctx_s) * PLAY_RATE))
        b0 = min(n, int((b + ctx_s) * PLAY_RATE))
        seg = self.audio.samples[:, a0:b0]
        times = np.arange(int((b0 - a0) / PLAY_RATE / F0_HOP_S) + 1) * F0_HOP_S
        f0 = np.zeros((len(self.names), len(times)))
        voiced = np.zeros_like(f0, dtype=bool)
        for i in range(len(self.names)):
            f0[i], voiced[i] = self.theta_of(i).at(times + a0 / PLAY_RATE)
        tracks = F0Tracks(times, f0, voiced, list(self.names))
        old = self.stems
        ia, ib = int(a * PLAY_RATE), int(b * PLAY_RATE)
        fade = int(fade_s * PLAY_RATE)

        def job(ctx):
            from engine.separation.separate import separate
            from gui.separation_job import mono_stems

            sep = separate(seg, PLAY_RATE, len(self.names), f0=tracks, device=ctx.device, progress=ctx)
            part = mono_stems(sep.stems, sep.sample_rate)
            new = old.copy()
            w = np.ones(ib - ia, dtype=np.float32)
            ramp = np.linspace(0, 1, min(fade, len(w) // 2), dtype=np.float32)
            w[:len(ramp)] = ramp
            w[len(w) - len(ramp):] = ramp[::-1]
            region = part[:, ia - a0:ib - a0]
            new[:, ia:ib] = old[:, ia:ib] * (1 - w) + region[:, :ib - ia] * w
            return new

        def done(result):
            if result.ok and self.stems is old:
                self.window.undo_stack.push(StemsCommand(self, f"re-separate {a:.2f}–{b:.2f} s", old, result.value))

        self.window.submit(f"Re-separate {a:.1f}–{b:.1f} s", job, done)

    def set_stems(self, stems: np.ndarray) -> None:
        """New stems (re-separation, undo): renderers and renders start again from them."""
        self.stems = stems
        self.saved_separation = None  # not what is on disk any more
        self.renderers = [None] * len(self.names)
        self.rendered = [None] * len(self.names)
        self.load_tracks()
        for i in range(len(self.names)):
            self.render_voice(i)

    # ------------------------------------------------------------------ voice state
    def _show_state(self, i: int) -> None:
        strip = self.page.strips[i]
        s = self.states[i]
        for p in PARAMS:
            strip.set_value(p.key, s[p.key])
        strip.set_solo(s["solo"])
        strip.set_mute(s["mute"])

    def set_focus(self, i: Optional[int]) -> None:
        self.focused = i
        for k, strip in enumerate(self.page.strips):
            strip.set_focused(k == i)
        self.page.view.set_focused_voice(i)
        self._update_region_tools()

    def set_flag(self, i: int, key: str, on: bool) -> None:
        self.states[i][key] = on
        self.window.transport.call("set_solo" if key == "solo" else "set_mute", f"voice{i}", on)
        self.set_focus(i)

    def toggle_focused(self, what: str) -> None:
        if self.focused is None or self.focused >= len(self.page.strips):
            return
        strip = self.page.strips[self.focused]
        (strip.solo if what == "solo" else strip.mute).toggle()

    def snapshot(self) -> list:
        return copy.deepcopy(self.states)

    def param_live(self, i: int, key: str, value: float) -> None:
        """A slider moves: apply at once (mixer settings directly, edits by re-rendering)."""
        if self._before is None:
            self._before = self.snapshot()
        self.states[i][key] = value
        if key == "gain_db":
            self.window.transport.call("set_gain_db", f"voice{i}", value)
        elif key == "pan":
            self.window.transport.call("set_pan", f"voice{i}", value)
        else:
            self.render_voice(i)
            self.show_f0()

    _before: Optional[list] = None

    def param_committed(self, i: int, key: str, old: float, new: float) -> None:
        """A slider drag (or key press, or reset) ended: one undo step."""
        before = self._before if self._before is not None else self.snapshot()
        self._before = None
        before[i][key] = old
        self.states[i][key] = new
        spec = PARAM_BY_KEY[key]
        what = f"{spec.label.lower()} of {self.names[i]} to {spec.text(new)}"
        self.window.undo_stack.push(ChoirCommand(self, what, before, self.snapshot()))

    def move_f0(self, i: int, a: float, b: float, semitones: float) -> None:
        before = self.snapshot()
        cents = float(np.clip(round(semitones * 100.0, 3), -1200, 1200))
        self.states[i]["regions"].append([round(a, 4), round(b, 4), cents])
        self.render_voice(i)
        self.show_f0()
        self.window.undo_stack.push(ChoirCommand(
            self, f"move F0 of {self.names[i]} {a:.2f}–{b:.2f} s by {semitones:+.2f} st", before, self.snapshot()))

    def redraw_f0(self, i: int, times, midi) -> None:
        self._add_redraws({i: [np.round(times, 4).tolist(), np.round(midi, 3).tolist()]},
                          f"redraw F0 of {self.names[i]} {times[0]:.2f}–{times[-1]:.2f} s")

    def _add_redraws(self, stretches: dict, label: str) -> None:
        """Write F0 stretches {voice: [times_s, midi or None]} into the voices, re-render them and push one undo
        step named ``label``."""
        before = self.snapshot()
        for k, stretch in stretches.items():
            self.states[k]["redraws"].append(stretch)
            self.renderers[k] = None  # its θ changed
            self.render_voice(k)
        self.show_f0()
        self.window.undo_stack.push(ChoirCommand(self, label, before, self.snapshot()))

    def swap_f0(self, i: int, j: int) -> None:
        """Voices i and j exchange their F0 (pitch and rests) over the selected time range: the fix for a tracker
        that gave one voice's notes to its neighbour while a voice rested. One undo step; re-separate the region
        to hear the stems follow."""
        sel = self.page.view.selection()
        if sel is None or not (0 <= i < len(self.names) and 0 <= j < len(self.names)) or i == j:
            return
        a, b = sel
        thetas = {k: self.theta_of(k) for k in (i, j)}
        stretches = {}
        for k, other in ((i, j), (j, i)):
            t = thetas[k].times_s
            times = t[(t >= a) & (t <= b)]
            if len(times) == 0:
                return
            hz, on = thetas[other].at(times)
            midi = [round(float(m), 3) if v else None for m, v in zip(hz_to_midi(np.maximum(hz, 1e-3)), on)]
            stretches[k] = [np.round(times, 4).tolist(), midi]
        self._add_redraws(stretches, f"swap F0 of {self.names[i]} and {self.names[j]} {a:.2f}–{b:.2f} s")

    def swap_focused(self, step: int) -> None:
        """The focused voice swaps its F0 over the selection with the voice ``step`` places lower (-1: above)."""
        if self.focused is not None:
            self.swap_f0(self.focused, self.focused + step)

    def apply_voice_states(self, states: list) -> None:
        """Undo/redo: bring every voice to ``states`` (solo and mute are monitoring, they stay as they are)."""
        for i, new in enumerate(states):
            old = self.states[i]
            changed_edit = any(old[k] != new[k] for k in EDIT_KEYS)
            if old["redraws"] != new["redraws"]:
                self.renderers[i] = None
            for k in ("gain_db", "pan"):
                if old[k] != new[k]:
                    self.window.transport.call("set_gain_db" if k == "gain_db" else "set_pan", f"voice{i}", new[k])
            keep = {k: old[k] for k in ("solo", "mute")}
            self.states[i] = copy.deepcopy(new)
            self.states[i].update(keep)
            self._show_state(i)
            if changed_edit:
                self.render_voice(i)
        self.show_f0()

    # ------------------------------------------------------------------ rendering edits
    def theta_of(self, i: int):
        """θ of voice ``i`` with its F0 corrections; the same object while the corrections stay the same."""
        redraws = self.states[i]["redraws"]
        cached = self._theta_cache.get(i)
        if cached is not None and cached[0] is self.thetas[i] and cached[1] == redraws:
            return cached[2]
        theta = corrected_theta(self.thetas[i], redraws)
        self._theta_cache[i] = (self.thetas[i], copy.deepcopy(redraws), theta)
        return theta

    def render_voice(self, i: int) -> None:
        """Re-render voice ``i`` with its edits on the worker; what is near the playhead is heard first."""
        if not capability("edit").ok or self.stems is None:
            return
        from engine.edit.render import VoiceRenderer

        if self.prepare_job is not None:
            self.prepare_job.cancel()
            self.prepare_job = None
        self.versions[i] += 1
        version = self.versions[i]
        previous = self.render_jobs.get(i)
        if previous is not None:
            previous.cancel()  # superseded: a queued one never starts, a running one stops at its next chunk
        edits = voice_edits(self.states[i])
        stem = self.stems[i]
        theta = self.theta_of(i)
        theta_key = [theta]
        transport = self.window.transport
        name = f"voice{i}"
        start_s = transport.position_s
        session = self
        base = self.rendered[i] if self.rendered[i] is not None else stem
        voice_name = self.names[i]
        stems_now = self.stems

        def current() -> bool:  # still the newest edit of this voice of these stems?
            return session.stems is stems_now and i < len(session.versions) and session.versions[i] == version

        def job(ctx):
            if not current():
                from engine.errors import Cancelled

                raise Cancelled("superseded")
            renderer = session.renderers[i]
            if renderer is None or renderer.theta is not theta_key[0]:
                renderer = VoiceRenderer(stem, PLAY_RATE, theta)
                if current():
                    session.renderers[i] = renderer
            live = session.listen == "voices" and not session.ab_original
            if edits.is_neutral:  # nothing to change: the stem itself
                if live and current():
                    transport.replace_audio(name, stem)
                return version, stem
            out = np.array(base, dtype=np.float32, copy=True)
            n = len(out)
            a = min(n, int(start_s * PLAY_RATE))
            b = min(n, a + int(FIRST_S * PLAY_RATE))
            ctx.progress(0.0, f"{voice_name}: near the playhead")
            out[a:b] = renderer.render(edits, a / PLAY_RATE, b / PLAY_RATE)
            if live and current():
                transport.replace_audio(name, out.copy())
            done = b - a
            for lo, hi in ((b, n), (0, a)):
                for first, chunk in renderer.chunks(edits, lo / PLAY_RATE, hi / PLAY_RATE, chunk_s=2.0):
                    out[first:first + len(chunk)] = chunk
                    done += len(chunk)
                    ctx.progress(done / max(n, 1), f"{voice_name}: rendering edits")
            return version, out

        def finished(result):
            if not result.ok:
                return
            v, out = result.value
            if self.render_jobs.get(i) is not None and self.render_jobs[i].done():
                self.render_jobs.pop(i, None)
            if not current():
                return  # a newer edit is on its way
            self.rendered[i] = out
            if self.listen == "voices" and not self.ab_original:
                transport.replace_audio(name, out)

        self.render_jobs[i] = self.window.submit(f"Render {self.names[i]}", job, finished, quiet_cancel=True)

    def voice_audio(self, i: int) -> np.ndarray:
        if self.ab_original or self.rendered[i] is None:
            return self.stems[i]
        return self.rendered[i]

    # ------------------------------------------------------------------ F0 overlay
    def show_f0(self) -> None:
        if self.thetas:
            times, midis, colors = [], [], []
            for i, s in enumerate(self.states):
                theta = self.theta_of(i)
                t = theta.times_s
                cents = voice_edits(s).curves(t)["pitch"]
                m = np.where(theta.voiced, hz_to_midi(np.maximum(theta.f0_hz, 1e-3)) + cents / 100.0, np.nan)
                times.append(t)
                midis.append(m)
                colors.append(voice_color(i))
            self.page.view.set_f0(times, midis, colors)
        elif self.f0 is not None:
            self.page.set_f0(self.f0.times_s, self.f0.f0_hz, self.f0.voiced)
        else:
            self.page.view.set_f0([], [], [])

    def edited_f0(self):
        """F0Tracks of the voices as edited (corrections and pitch edits), for the CSV export."""
        from engine.f0.tracks import F0_HOP_S, F0Tracks

        n = max(len(th.f0_hz) for th in self.thetas)
        times = np.arange(int(round(n * self.thetas[0].hop_s / F0_HOP_S))) * F0_HOP_S
        f0 = np.zeros((len(self.names), len(times)))
        voiced = np.zeros_like(f0, dtype=bool)
        for i, s in enumerate(self.states):
            theta = self.theta_of(i)
            hz, v = theta.at(times)
            f0[i] = hz * 2.0 ** (voice_edits(s).curves(times)["pitch"] / 1200.0)
            voiced[i] = v
        return F0Tracks(times, f0, voiced, list(self.names))

    # ------------------------------------------------------------------ playback
    def track_set(self) -> dict:
        if self.audio is None:
            return {}
        if self.listen == "voices" and self.stems is not None:
            return {f"voice{i}": (self.voice_audio(i), self.states[i]["gain_db"], self.states[i]["pan"])
                    for i in range(len(self.names))}
        return {"recording": (self.audio.samples, 0.0, 0.0)}

    def load_tracks(self) -> None:
        t = self.window.transport
        t.set_tracks(self.track_set())
        if self.listen == "voices" and self.stems is not None:
            for i, s in enumerate(self.states):
                t.call("set_mute", f"voice{i}", s["mute"])
                t.call("set_solo", f"voice{i}", s["solo"])
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

    def set_ab(self, original: bool) -> None:
        self.ab_original = original
        if self.listen == "voices" and self.stems is not None:
            for i in range(len(self.names)):
                self.window.transport.replace_audio(f"voice{i}", self.voice_audio(i))
        self.window.status("A: original stems" if original else "B: edited voices")

    def seek(self, seconds: float) -> None:
        self.window.transport.seek(seconds)
        self.page.set_time(self.window.transport.position_s, self.duration())

    def duration(self) -> float:
        return self.audio.duration_s if self.audio is not None else 0.0

    def on_position(self, pos: float) -> None:
        self.page.set_time(pos, self.duration())
        if self.window.transport.playing:  # keep the playhead in view (page by page)
            view = self.page.view
            (x0, x1), _ = view.viewRange()
            if pos > x1 or pos < x0:
                width = x1 - x0
                start = max(0.0, min(pos - 0.05 * width, self.duration() - width))
                view.setXRange(start, start + width, padding=0)

    def update_loop(self) -> None:
        sel = self.page.view.selection()
        if self.page.loop.isChecked() and sel is not None:
            self.window.transport.set_loop(*sel)
        else:
            self.window.transport.set_loop(None, None)

    # ------------------------------------------------------------------ export
    def fill_export_menu(self, menu) -> None:
        self.export_actions = {}
        for key, text, tip in [
            ("stems:wav", "Stems as WAV…", "Write each separated voice as a 32-bit float WAV (choose a folder)"),
            ("stems:flac", "Stems as FLAC…", "Write each separated voice as a 24-bit FLAC (choose a folder)"),
            ("edited:wav", "Edited stems as WAV…", "Write each voice with its edits as WAV (choose a folder)"),
            ("edited:flac", "Edited stems as FLAC…", "Write each voice with its edits as FLAC (choose a folder)"),
            ("remix", "Remix…", "Write the edited voices mixed with their gain, pan, mute and solo (.wav or .flac)"),
            ("f0", "F0 as CSV…", "Write every voice's F0 (with your F0 edits and pitch changes) as CSV"),
        ]:
            a = menu.addAction(text)
            a.setToolTip(tip)
            a.setStatusTip(tip)
            a.triggered.connect(lambda _c=False, k=key: self.export_dialog(k))
            self.export_actions[key] = a
        menu.addSeparator()
        self._update_exports()

    def _update_exports(self) -> None:
        actions = getattr(self, "export_actions", {})
        have = self.stems is not None
        for key, a in actions.items():
            a.setEnabled(have and (not key.startswith(("edited", "remix")) or capability("edit").ok))

    def export_dialog(self, what: str) -> None:
        if what.startswith(("stems", "edited")):
            what, fmt = what.split(":")
            folder = QFileDialog.getExistingDirectory(self.page, f"Export {what} as {fmt.upper()} to folder")
            if folder:
                self.export(what, Path(folder), fmt)
        else:
            filt = "CSV (*.csv)" if what == "f0" else "Audio (*.wav *.flac)"
            default = "f0.csv" if what == "f0" else "remix.wav"
            path, _ = QFileDialog.getSaveFileName(self.page, "Export", default, filt)
            if path:
                self.export(what, Path(path))

    def export(self, what: str, target: Path, fmt: str = "wav", on_done=None):
        """Write stems/edited stems (into folder ``target`` as <voice>.<fmt>), the remix or the F0 CSV."""
        from engine.io.audio import save_audio
        from engine.playback.mixer import db_to_gain, pan_gains

        names, stems = list(self.names), self.stems
        states = self.snapshot()
        thetas = [self.theta_of(i) for i in range(len(names))]
        renderers = list(self.renderers)
        f0 = self.edited_f0() if what == "f0" else None

        def edited(i, ctx):
            from engine.edit.render import VoiceRenderer

            e = voice_edits(states[i])
            if e.is_neutral and not states[i]["redraws"]:
                return stems[i]
            r = renderers[i] or VoiceRenderer(stems[i], PLAY_RATE, thetas[i])
            return r.render(e)

        def job(ctx):
            if what == "f0":
                f0.to_csv(target)
                return [target]
            written = []
            if what in ("stems", "edited"):
                target.mkdir(parents=True, exist_ok=True)
                for i, name in enumerate(names):
                    ctx.progress(i / len(names), f"{name}")
                    audio = stems[i] if what == "stems" else edited(i, ctx)
                    path = target / f"{name}.{fmt}"
                    save_audio(path, audio, PLAY_RATE)
                    written.append(path)
                return written
            mix = np.zeros((2, stems.shape[1]), dtype=np.float32)
            any_solo = any(s["solo"] for s in states)
            for i, s in enumerate(states):
                ctx.progress(i / len(names), f"mixing {names[i]}")
                if s["mute"] or (any_solo and not s["solo"]):
                    continue
                g = np.asarray(pan_gains(db_to_gain(s["gain_db"]), s["pan"], 2), dtype=np.float32)
                mix += g[:, None] * edited(i, ctx)[None, :]
            save_audio(target, mix, PLAY_RATE)
            return [target]

        def done(result):
            if result.ok:
                self.window.status(f"Wrote {', '.join(str(p) for p in result.value[:3])}"
                                   + (" …" if len(result.value) > 3 else ""))
            if on_done is not None:
                on_done(result)

        return self.window.submit(f"Export {what}", job, done)

    # ------------------------------------------------------------------ look, lifetime
    def apply_look(self, look) -> None:
        view = self.page.view
        view.setBackground(look.plot_bg)
        for name in ("left", "bottom"):
            axis = view.getAxis(name)
            axis.setPen(look.plot_fg)
            axis.setTextPen(look.plot_fg)

    def on_close(self) -> None:
        pass
