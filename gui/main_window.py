"""motet's main window: menus, the Choir and Compose pages, the status bar with the engine's device and job.

Everything slow runs on the engine worker through :class:`gui.engine_bridge.EngineBridge`; results come back as
signals on the GUI thread. Errors are shown in a dialog with their one-line cause; the app stays up.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QUndoStack
from PySide6.QtWidgets import QApplication, QFileDialog, QLabel, QMainWindow, QMessageBox, QTabWidget

from gui.choir_session import ChoirSession
from gui.engine_bridge import EngineBridge
from gui.job_panel import JobPanel
from gui.style import LOOKS, apply_look
from gui.transport import Transport

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff")
PROJECT_SUFFIX = ".motet"
MAX_RECENT = 8
REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "assets" / "demo" / "choir-demo.flac"


def default_player_factory():
    from engine.playback import Player

    return Player(sample_rate=44100, block_size=512, channels=2)


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "motet"


class MainWindow(QMainWindow):
    """The app. ``worker``: an engine.worker.Worker (made if None); ``player_factory``: makes the Player (tests
    inject one with a fake stream); ``settings``: where recent files and the look are kept; ``state_dir``: where
    autosaves live."""

    def __init__(self, worker=None, player_factory: Optional[Callable] = None,
                 settings: Optional[QSettings] = None, state_dir: Optional[Path] = None,
                 look: Optional[str] = None):
        super().__init__()
        if worker is None:
            from engine.worker import Worker

            worker = Worker()
        self.settings = settings or QSettings("motet", "motet")
        self.state_dir = Path(state_dir) if state_dir is not None else default_state_dir()
        self.bridge = EngineBridge(worker, self)
        self.transport = Transport(player_factory or default_player_factory, self)
        self.undo_stack = QUndoStack(self)
        self.error_box: Optional[QMessageBox] = None
        self.errors: list[str] = []  # every error shown, newest last (tests and the log read it)
        self.setWindowTitle("motet")
        self.setAcceptDrops(True)
        self.resize(1280, 800)

        from gui.compose_session import ComposeSession

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.choir = ChoirSession(self)
        self.compose = ComposeSession(self)
        self.tabs.addTab(self.choir.page, "Choir")
        self.tabs.addTab(self.compose.page, "Compose")
        self.tabs.setTabToolTip(0, "Separate a choir recording into its voices and edit each voice")
        self.tabs.setTabToolTip(1, "Draw a theme and let motet write a piano piece around it")
        self.tabs.currentChanged.connect(self._page_changed)
        self.setCentralWidget(self.tabs)

        self._build_menus()
        self._build_status_bar()
        self.set_look(look or str(self.settings.value("look", "dark")))
        self.transport.position_changed.connect(self._position)
        self.transport.playing_changed.connect(self._playing)
        self.transport.error_occurred.connect(self.show_error)
        self.bridge.busy_changed.connect(self._busy)
        self.undo_stack.cleanChanged.connect(lambda _c: self._update_title())
        self.undo_stack.indexChanged.connect(lambda _i: setattr(self, "autosave_due", True))
        self.autosave_due = False
        from gui import project

        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(project.AUTOSAVE_S * 1000)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()
        self._update_title()

    # ------------------------------------------------------------------ menus and status bar
    def _action(self, menu, text, slot, shortcut=None, tip="") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(tip or text)
        action.setStatusTip(tip or text)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self._action(file, "&Open…", self.open_dialog, QKeySequence.Open,
                     "Open a recording (WAV, FLAC, OGG, MP3) or a motet project")
        self._action(file, "Open &Separation Folder…", self.open_separation_dialog,
                     tip="Open the voices written by 'motet separate' (stems and params.npz) for the open recording")
        self.recent_menu = file.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self._fill_recent()
        file.addSeparator()
        self.save_action = self._action(file, "&Save Project", self.save_project, QKeySequence.Save,
                                        "Save the project (edits, voices, theme, piece); the recording is referenced")
        self._action(file, "Save Project &As…", self.save_project_as, QKeySequence.SaveAs,
                     "Save the project under a new name")
        file.addSeparator()
        self.export_menu = file.addMenu("&Export")
        self.choir.fill_export_menu(self.export_menu)
        self.compose.fill_export_menu(self.export_menu)
        file.addSeparator()
        self._action(file, "&Quit", self.close, QKeySequence.Quit, "Quit motet")

        edit = bar.addMenu("&Edit")
        self.undo_action = self.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence("Ctrl+Z"))
        self.redo_action = self.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        edit.addAction(self.undo_action)
        edit.addAction(self.redo_action)

        play = bar.addMenu("&Playback")
        self.play_action = self._action(play, "Play / Pause", self.toggle_play, Qt.Key_Space,
                                        "Play or pause the current page")
        self.play_action.setShortcutContext(Qt.WindowShortcut)
        self._action(play, "Back to start", lambda: self.transport.seek(0.0), Qt.Key_Home, "Playhead to 0:00")
        self._action(play, "Loop selection", lambda: self.choir.page.loop.toggle(), Qt.Key_L,
                     "Loop the selected time range")
        self._action(play, "Solo focused voice", lambda: self.choir.toggle_focused("solo"), Qt.Key_S,
                     "Solo the focused voice strip")
        self._action(play, "Mute focused voice", lambda: self.choir.toggle_focused("mute"), Qt.Key_M,
                     "Mute the focused voice strip")

        view = bar.addMenu("&View")
        group = QActionGroup(self)
        self.look_actions = {}
        for name in LOOKS:
            a = QAction(f"{name.capitalize()} theme", self, checkable=True)
            a.setToolTip(f"Use the {name} colour theme")
            a.triggered.connect(lambda _c=False, n=name: self.set_look(n))
            group.addAction(a)
            view.addAction(a)
            self.look_actions[name] = a
        view.addSeparator()
        self._action(view, "Choir page", lambda: self.tabs.setCurrentIndex(0), "Ctrl+1", "Show the Choir page")
        self._action(view, "Compose page", lambda: self.tabs.setCurrentIndex(1), "Ctrl+2", "Show the Compose page")

        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "About motet", self._about, tip="What motet is")

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.activity = QLabel("Ready")
        self.activity.setToolTip("What motet is doing")
        status.addWidget(self.activity, 1)
        self.job_panel = JobPanel(self.bridge)
        status.addPermanentWidget(self.job_panel)
        audio = "audio: " + ("ready" if self.transport.available else self.transport.error or "off")
        self.audio_label = QLabel(audio)
        self.audio_label.setToolTip("Audio output (playback runs in real time on its own thread)")
        status.addPermanentWidget(self.audio_label)
        self.device_label = QLabel(f"Engine: {self.bridge.device_name}")
        self.device_label.setToolTip("The device the engine computes on (GPU when there is one, else CPU)")
        status.addPermanentWidget(self.device_label)

    def set_look(self, name: str) -> None:
        look = LOOKS.get(name, LOOKS["dark"])
        self.look = look
        apply_look(QApplication.instance(), look)
        self.settings.setValue("look", look.name)
        if look.name in getattr(self, "look_actions", {}):
            self.look_actions[look.name].setChecked(True)
        self.choir.apply_look(look)
        self.compose.apply_look(look)

    def _about(self) -> None:
        QMessageBox.about(self, "About motet",
                          "motet separates a choir into its voices with differentiable source–filter voice "
                          "models, lets you edit each voice, and composes piano pieces around a theme.")

    # ------------------------------------------------------------------ jobs, errors, status
    def submit(self, name: str, fn, on_done=None, quiet_cancel: bool = False):
        """Run ``fn(ctx)`` on the engine; show its progress; errors become a dialog. ``quiet_cancel``: a
        cancelled job (superseded by a newer one) is not reported."""

        def done(result):
            if not result.ok and not result.cancelled:
                self.show_error(result.error or f"{name}: failed")
            elif result.cancelled and not quiet_cancel:
                self.activity.setText(f"{name}: cancelled")
            if on_done is not None:
                on_done(result)

        job = self.bridge.submit(name, fn, done)
        self.job_panel.start(job.id, name)
        self.activity.setText(f"{name}…")
        return job

    def show_error(self, message: str) -> None:
        """A dialog with the one-line cause; not blocking, the app stays up."""
        self.errors.append(message)
        self.activity.setText(message)
        if self.error_box is not None:
            self.error_box.close()
        box = QMessageBox(QMessageBox.Critical, "motet", message, QMessageBox.Ok, self)
        box.setWindowModality(Qt.WindowModal)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.finished.connect(lambda _r, b=box: setattr(self, "error_box", None) if self.error_box is b else None)
        self.error_box = box
        box.open()

    def _busy(self, busy: bool) -> None:
        if not busy and not self.activity.text().endswith("cancelled"):
            if self.activity.text().endswith("…"):
                self.activity.setText("Ready")

    def status(self, text: str) -> None:
        self.activity.setText(text)

    # ------------------------------------------------------------------ transport
    def current_session(self):
        return self.choir if self.tabs.currentIndex() == 0 else self.compose

    def toggle_play(self) -> None:
        self.current_session().toggle_play()

    def _position(self, pos: float) -> None:
        self.current_session().on_position(pos)

    def _playing(self, playing: bool) -> None:
        self.choir.page.set_playing(playing)
        self.compose.page.set_playing(playing)

    def _page_changed(self, index: int) -> None:
        self.transport.pause()
        (self.choir if index == 0 else self.compose).activate()

    # ------------------------------------------------------------------ files
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a recording or project", str(self.settings.value("last_dir", "")),
            "Recordings and projects (*.wav *.flac *.ogg *.mp3 *.motet);;All files (*)")
        if path:
            self.open_path(path)

    def open_separation_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a separation folder", str(self.settings.value("last_dir", "")))
        if path:
            self.tabs.setCurrentIndex(0)
            self.choir.open_separation_folder(Path(path))

    def open_path(self, path: str | Path) -> None:
        """Open a recording or a project, by suffix."""
        path = Path(path)
        self.settings.setValue("last_dir", str(path.parent))
        if path.suffix.lower() == PROJECT_SUFFIX:
            self.load_project(path)
        elif path.suffix.lower() in (".mid", ".midi"):
            self.tabs.setCurrentIndex(1)
            self.compose.import_theme(str(path))
        elif path.is_dir() and (path / "params.npz").is_file():
            self.tabs.setCurrentIndex(0)
            self.choir.open_separation_folder(path)
        else:
            self.tabs.setCurrentIndex(0)
            self.choir.open_recording(path)

    def add_recent(self, path: str | Path) -> None:
        path = str(Path(path).resolve())
        recent = [p for p in self.recent_files() if p != path]
        self.settings.setValue("recent", [path, *recent][:MAX_RECENT])

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for p in files:
            a = self.recent_menu.addAction(Path(p).name)
            a.setToolTip(p)
            a.setStatusTip(p)
            a.triggered.connect(lambda _c=False, q=p: self.open_path(q))
        if not files:
            a = self.recent_menu.addAction("(none yet)")
            a.setEnabled(False)

    def dragEnterEvent(self, ev):
        if ev.mimeData().hasUrls() and any(u.isLocalFile() for u in ev.mimeData().urls()):
            ev.acceptProposedAction()

    def dropEvent(self, ev):
        files = [u.toLocalFile() for u in ev.mimeData().urls() if u.isLocalFile()]
        if files:
            ev.acceptProposedAction()
            self.open_path(files[0])

    # ------------------------------------------------------------------ project
    def save_project(self) -> bool:
        from gui import project

        path = self.choir.project_path
        if path is None:
            return self.save_project_as()
        return project.save_window(self, path)

    def save_project_as(self) -> bool:
        from gui import project

        start = str(self.choir.project_path or Path(str(self.settings.value("last_dir", ""))) / "untitled.motet")
        path, _ = QFileDialog.getSaveFileName(self, "Save project", start, "motet projects (*.motet)")
        if not path:
            return False
        if not path.endswith(PROJECT_SUFFIX):
            path += PROJECT_SUFFIX
        return project.save_window(self, Path(path))

    def load_project(self, path: Path) -> None:
        from gui import project

        project.load_window(self, path)

    def _update_title(self) -> None:
        try:
            clean = self.undo_stack.isClean()
        except RuntimeError:  # the window is being destroyed
            return
        name = self.choir.title_name()
        dirty = "" if clean else " •"
        self.setWindowTitle(f"{name}{dirty} — motet" if name else "motet")

    def autosave(self) -> None:
        """Write the autosave file if something changed since the last one."""
        from gui import project

        if self.autosave_due and not self.undo_stack.isClean():
            if project.autosave(self) is not None:
                self.autosave_due = False

    def autosave_path(self) -> Path:
        from gui import project

        return self.state_dir / project.AUTOSAVE_NAME

    def offer_recovery(self, ask: bool = True) -> bool:
        """If the last session did not end cleanly, offer its autosaved work. True when recovery started."""
        if not self.autosave_path().is_file():
            return False
        if ask:
            answer = QMessageBox.question(
                self, "Recover unsaved work?",
                "motet did not close normally last time. Recover the work it saved automatically?",
                QMessageBox.Yes | QMessageBox.No, QMessageBox.Yes)
            if answer != QMessageBox.Yes:
                from gui import project

                project.discard_autosave(self)
                return False
        self.recover_autosave()
        return True

    def recover_autosave(self, on_loaded=None) -> None:
        from gui import project

        project.load_window(self, self.autosave_path(), recovered=True, on_loaded=on_loaded)

    # ------------------------------------------------------------------ lifetime
    confirm_close = True

    def closeEvent(self, ev):
        if self.confirm_close and not self.undo_stack.isClean():
            answer = QMessageBox.question(self, "Save changes?", "Save your changes before closing?",
                                          QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel,
                                          QMessageBox.Save)
            if answer == QMessageBox.Cancel or (answer == QMessageBox.Save and not self.save_project()):
                ev.ignore()
                return
        self.transport.close()
        self.bridge.cancel_all()
        try:
            self.bridge.worker.shutdown(wait=False, cancel=True)
        except TypeError:
            self.bridge.worker.shutdown()
        self.choir.on_close()
        self.autosave_timer.stop()
        from gui import project

        project.discard_autosave(self)  # a clean exit: nothing to recover next time
        super().closeEvent(ev)
