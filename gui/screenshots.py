"""Take the documentation screenshots by driving the real app offscreen on the demo:

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m gui.screenshots docs/screenshots

choir.png (demo open, F0 overlay), choir-voices.png (separated, alto soloed with its pitch moved; needs the
separation model), compose.png (a drawn theme), compose-piece.png (a generated piece, or the demo's MIDI with its
theme found, when no generation model is shipped), choir-light.png (the light theme). Prints what it saved.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QSettings


def wait(app, window, timeout=600.0, until=None):
    t0 = time.time()
    while time.time() - t0 < timeout:
        app.processEvents()
        if (until is None and not window.bridge.busy) or (until is not None and until()):
            for _ in range(20):
                app.processEvents()
                time.sleep(0.01)
            return True
        time.sleep(0.02)
    return False


def main(out_dir: str = "docs/screenshots") -> int:
    from engine.generation.piece import Note
    from engine.worker import Worker
    from gui.app import make_app
    from gui.capabilities import capability
    from gui.main_window import DEMO, MainWindow

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    app = make_app()
    tmp = Path(tempfile.mkdtemp())
    window = MainWindow(worker=Worker(), settings=QSettings(str(tmp / "s.ini"), QSettings.IniFormat),
                        state_dir=tmp / "state", look="dark")
    window.confirm_close = False
    window.resize(1280, 800)
    window.show()
    saved = []

    def shot(name):
        for _ in range(30):
            app.processEvents()
            time.sleep(0.01)
        window.grab().save(str(out / name))
        saved.append(name)

    window.open_path(DEMO)
    wait(app, window)
    shot("choir.png")

    choir = window.choir
    if capability("separation").ok:
        score = DEMO.with_suffix(".mid")
        if score.is_file():  # the score of the demo guides its F0 (Score… button)
            choir.page.set_score(str(score))
        choir.separate(4, "fast", choir.page.score_path)
        wait(app, window)
        if choir.names:
            alto = choir.names.index("alto") if "alto" in choir.names else 1
            choir.page.strips[alto].solo.setChecked(True)
            choir.page.strips[alto].sliders["pitch_st"].setValue(300)
            choir.page.view.set_selection(9.0, 12.5)
            choir.page.view.selection_finished.emit(9.0, 12.5)
            choir.page.loop.setChecked(True)
            window.transport.seek(10.0)
            wait(app, window)
            shot("choir-voices.png")

    window.tabs.setCurrentIndex(1)
    compose = window.compose
    compose.set_theme([Note(p, b, d) for p, b, d in [(67, 0, 1), (69, 1, 0.5), (71, 1.5, 0.5), (72, 2, 1),
                                                      (71, 3, 0.5), (69, 3.5, 0.5), (67, 4, 2), (62, 6, 2)]])
    compose.page.roll.fit_pitch()
    shot("compose.png")
    if capability("generation").ok:
        compose.page.bars.setValue(16)
        compose.generate()
        wait(app, window)
    elif capability("theme_finder").ok and DEMO.with_suffix(".mid").is_file():
        compose.find_theme(str(DEMO.with_suffix(".mid")))
        wait(app, window)
    if compose.piece is not None:
        compose.page.roll.fit_pitch()
        shot("compose-piece.png")

    window.tabs.setCurrentIndex(0)
    window.set_look("light")
    shot("choir-light.png")
    window.tabs.setCurrentIndex(1)
    shot("compose-light.png")
    window.close()
    print("saved:", ", ".join(str(out / s) for s in saved), "; errors:", window.errors or "none")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
