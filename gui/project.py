"""Projects: save and load everything a person made, autosave, and recovery after a crash.

A project is a JSON file ``NAME.motet``. The recording is referenced (relative to the project, and absolute as a
fallback), never copied or rewritten. Separated voices are stored once next to it in ``NAME.motet.d/voices/``
(stems + params.npz, the folder format of ``motet separate``). Saves are atomic: write a temporary file in the
same folder, fsync, rename over the old one.

Autosave writes the same JSON to ``<state dir>/autosave.motet`` every AUTOSAVE_S seconds while there are unsaved
changes; a clean exit deletes it, so finding it at start means the last session did not end cleanly.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from engine.errors import MotetError
from engine.generation.piece import Note, Piece, ThemeRegion

if TYPE_CHECKING:
    from gui.main_window import MainWindow

FORMAT = 1
AUTOSAVE_S = 15
AUTOSAVE_NAME = "autosave.motet"


# ---------------------------------------------------------------------------------------------- atomic files
def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a crash leaves either the old or the new file, never half of one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    try:
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


# ---------------------------------------------------------------------------------------------- notes
def notes_to_json(notes) -> list:
    return [[n.pitch, n.start_beat, n.duration_beats, n.velocity, n.role] for n in notes]


def notes_from_json(items) -> list[Note]:
    return [Note(int(p), float(s), float(d), int(v), str(r)) for p, s, d, v, r in items]


def piece_to_json(piece: Optional[Piece]):
    if piece is None:
        return None
    return {"notes": notes_to_json(piece.notes), "tempo_bpm": piece.tempo_bpm, "beats_per_bar": piece.beats_per_bar,
            "theme_regions": [[r.start_beat, r.end_beat] for r in piece.theme_regions]}


def piece_from_json(data) -> Optional[Piece]:
    if data is None:
        return None
    return Piece(notes_from_json(data["notes"]), float(data["tempo_bpm"]), int(data["beats_per_bar"]),
                 [ThemeRegion(float(a), float(b)) for a, b in data["theme_regions"]])


# ---------------------------------------------------------------------------------------------- state
def window_state(window: "MainWindow", project_path: Path, voices_folder: Optional[Path]) -> dict:
    choir, compose = window.choir, window.compose
    cp = compose.page
    rec = choir.recording
    sel = choir.page.view.selection()
    return {
        "motet_project": FORMAT,
        "recording": None if rec is None else {
            "relative": os.path.relpath(rec.resolve(), project_path.resolve().parent),
            "absolute": str(rec.resolve())},
        "choir": {
            "voices_folder": None if voices_folder is None else os.path.relpath(voices_folder.resolve(),
                                                                                project_path.resolve().parent),
            "voices": choir.snapshot(),
            "separation": choir.separation_settings,
            "listen": choir.listen,
            "focused": choir.focused,
            "selection": list(sel) if sel else None,
            "loop": choir.page.loop.isChecked(),
            "n_voices": choir.page.voices.value(),
            "quality": choir.page.quality.currentData(),
            "score": choir.page.score_path,
        },
        "compose": {
            "theme": notes_to_json(compose.theme),
            "piece": piece_to_json(compose.piece),
            "showing": compose.showing,
            "bars": cp.bars.value(), "tempo": cp.tempo.value(), "temperature": cp.temperature.value(),
            "seed": cp.seed.value(), "grid": cp.grid.currentIndex(), "snap": cp.snap.isChecked(),
        },
        "page": window.tabs.currentIndex(),
    }


def _voices_folder_for(window: "MainWindow", project_path: Path, temporary: bool) -> Optional[Path]:
    """Where the separated voices live for this project; written there if they are not stored yet."""
    choir = window.choir
    if choir.stems is None:
        return None
    saved = choir.saved_separation
    state_dir = window.state_dir.resolve()
    saved_is_temp = saved is not None and state_dir in Path(saved).resolve().parents
    if saved is not None and (temporary or not saved_is_temp):
        return Path(saved)
    from gui.separation_job import write_separation_folder

    folder = project_path.with_name(project_path.name + ".d") / "voices"
    write_separation_folder(folder, choir.names, choir.stems, choir.thetas)
    choir.saved_separation = folder
    return folder


def save_window(window: "MainWindow", path: Path) -> bool:
    """Save the project to ``path``; the window then shows it as saved. Errors go to the error dialog."""
    path = Path(path)
    try:
        folder = _voices_folder_for(window, path, temporary=False)
        atomic_write_text(path, json.dumps(window_state(window, path, folder), indent=1))
    except (OSError, MotetError) as err:
        window.show_error(f"{path}: cannot save the project ({err})")
        return False
    window.choir.project_path = path
    window.undo_stack.setClean()
    window.add_recent(path)
    window.status(f"Saved {path.name}")
    window._update_title()
    return True


def autosave(window: "MainWindow") -> Optional[Path]:
    """Write the autosave file (no dialogs; failures are only reported in the status bar)."""
    if window.choir.recording is None and not window.compose.theme:
        return None
    window.state_dir.mkdir(parents=True, exist_ok=True)
    path = window.state_dir / AUTOSAVE_NAME
    try:
        folder = _voices_folder_for(window, path, temporary=True)
        state = window_state(window, path, folder)
        state["project_path"] = str(window.choir.project_path) if window.choir.project_path else None
        atomic_write_text(path, json.dumps(state, indent=1))
    except (OSError, MotetError) as err:
        window.status(f"autosave failed: {err}")
        return None
    return path


def discard_autosave(window: "MainWindow") -> None:
    path = window.state_dir / AUTOSAVE_NAME
    path.unlink(missing_ok=True)
    shutil.rmtree(path.with_name(path.name + ".d"), ignore_errors=True)


def read_project(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise MotetError(f"{path}: project file not found")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise MotetError(f"{path}: not a readable motet project ({str(err).splitlines()[0]})") from None
    if not isinstance(data, dict) or data.get("motet_project") != FORMAT:
        raise MotetError(f"{path}: not a motet project (or made by another version)")
    return data


def _resolve(base: Path, entry: Optional[dict]) -> Optional[Path]:
    if entry is None:
        return None
    rel = (base.parent / entry["relative"]).resolve()
    if rel.exists():
        return rel
    return Path(entry["absolute"])


def load_window(window: "MainWindow", path: Path, recovered: bool = False, on_loaded=None) -> None:
    """Open the project at ``path``: the recording, then its voices, then every setting and edit."""
    path = Path(path)
    try:
        data = read_project(path)
    except MotetError as err:
        window.show_error(str(err))
        return
    choir_data = data.get("choir", {})
    recording = _resolve(path, data.get("recording"))
    folder = None
    if choir_data.get("voices_folder"):
        folder = (path.parent / choir_data["voices_folder"]).resolve()

    def finish():
        apply_state(window, data)
        if recovered:
            window.choir.project_path = Path(data["project_path"]) if data.get("project_path") else None
            window.status("Recovered the work of the last session (not saved yet)")
        else:
            window.choir.project_path = path
            window.undo_stack.setClean()
            window.add_recent(path)
            window.status(f"Opened project {path.name}")
        window._update_title()
        if on_loaded is not None:
            on_loaded()

    def after_recording():
        if folder is not None:
            window.choir.open_separation_folder(folder, choir_data.get("voices"), then=finish)
        else:
            finish()

    if recording is not None:
        if not recording.exists():
            window.show_error(f"{path}: its recording {recording} is missing (moved or deleted?)")
            return
        window.choir.open_recording(recording, then=after_recording)
    else:
        finish()


def apply_state(window: "MainWindow", data: dict) -> None:
    choir_data, compose_data = data.get("choir", {}), data.get("compose", {})
    choir, compose = window.choir, window.compose
    page = choir.page
    page.voices.setValue(int(choir_data.get("n_voices", 4)))
    page.quality.setCurrentIndex(max(0, page.quality.findData(choir_data.get("quality", "fast"))))
    page.set_score(choir_data.get("score") or "")
    choir.separation_settings = choir_data.get("separation") or {}
    sel = choir_data.get("selection")
    if sel:
        page.view.set_selection(*sel)
    page.loop.setChecked(bool(choir_data.get("loop")))
    if choir.stems is not None:
        if choir_data.get("focused") is not None:
            choir.set_focus(int(choir_data["focused"]))
        listen = choir_data.get("listen", "voices")
        page.listen.setCurrentIndex(max(0, page.listen.findData(listen)))
    cp = compose.page
    cp.bars.setValue(int(compose_data.get("bars", 16)))
    cp.tempo.setValue(int(compose_data.get("tempo", 100)))
    cp.temperature.setValue(float(compose_data.get("temperature", 1.0)))
    cp.seed.setValue(int(compose_data.get("seed", 0)))
    cp.grid.setCurrentIndex(int(compose_data.get("grid", 0)))
    cp.snap.setChecked(bool(compose_data.get("snap", True)))
    compose.theme = notes_from_json(compose_data.get("theme", []))
    compose.piece = piece_from_json(compose_data.get("piece"))
    compose.show(compose_data.get("showing", "theme"))
    window.tabs.setCurrentIndex(int(data.get("page", 0)))
