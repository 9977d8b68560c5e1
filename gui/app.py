"""Start the motet app: ``run(file)`` makes the QApplication and the main window and runs the event loop."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

ICON = Path(__file__).resolve().parent.parent / "assets" / "icons" / "motet.svg"


def make_app(argv: Optional[list[str]] = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("motet")
    app.setOrganizationName("motet")
    app.setApplicationDisplayName("motet")
    app.setDesktopFileName("motet")
    if ICON.is_file():
        app.setWindowIcon(QIcon(str(ICON)))
    return app


def run(file: Optional[str] = None, device: Optional[str] = None, look: Optional[str] = None,
        quit_after_s: Optional[float] = None, screenshot: Optional[str] = None) -> int:
    """Open the window on ``file`` (a recording, project or MIDI file), else on the demo recording.

    ``quit_after_s``: close by itself after that many seconds (smoke tests); ``screenshot``: save a PNG of the
    window just before.
    """
    if (sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM")
            and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")):
        from engine.errors import MotetError

        raise MotetError("gui: no display here (DISPLAY and WAYLAND_DISPLAY are unset); start it on a desktop, "
                         "or set QT_QPA_PLATFORM=offscreen for a headless run")
    app = make_app()
    from engine.worker import Worker
    from gui.main_window import DEMO, MainWindow

    window = MainWindow(worker=Worker(device), look=look)
    window.show()
    target = file or (str(DEMO) if DEMO.is_file() else None)
    if file is None and window.offer_recovery(ask=quit_after_s is None):
        pass  # the last session's unsaved work is being recovered
    elif target:
        window.open_path(target)
    else:
        window.status("The demo recording is missing from assets/demo; open a recording with File ▸ Open…")
    if quit_after_s is not None:
        def finish():
            if screenshot:
                window.grab().save(screenshot)
            print(f"motet gui: up, {window.windowTitle()!r}, engine on {window.bridge.device_name}", flush=True)
            window.close()
            app.quit()

        QTimer.singleShot(int(quit_after_s * 1000), finish)
    return app.exec()
