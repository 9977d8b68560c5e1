"""Progress of the engine's current job: a bar, the stage text, the time left and a Cancel button."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from gui.engine_bridge import EngineBridge


def format_eta(eta_s) -> str:
    if eta_s is None or eta_s != eta_s or eta_s < 0:
        return ""
    eta_s = int(round(eta_s))
    return f"{eta_s // 60}:{eta_s % 60:02d} left" if eta_s >= 60 else f"{eta_s} s left"


class JobPanel(QWidget):
    """Shows the most recent running job of ``bridge``; hidden while the engine is idle."""

    def __init__(self, bridge: EngineBridge, parent=None):
        super().__init__(parent)
        self.bridge = bridge
        self.current_job_id = None
        self.stage = QLabel()
        self.stage.setMinimumWidth(220)
        self.stage.setToolTip("What the engine is doing now")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setFixedWidth(180)
        self.bar.setToolTip("Progress of the running engine job")
        self.eta = QLabel()
        self.eta.setMinimumWidth(70)
        self.eta.setToolTip("Estimated time left")
        self.cancel = QPushButton("Cancel")
        self.cancel.setToolTip("Stop the running engine job (it stops at its next chunk boundary)")
        self.cancel.clicked.connect(self.cancel_current)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in (self.stage, self.bar, self.eta, self.cancel):
            layout.addWidget(w)
        layout.setAlignment(Qt.AlignVCenter)
        bridge.progress.connect(self.on_progress)
        bridge.finished.connect(self.on_finished)
        bridge.busy_changed.connect(self.setVisible)
        self.setVisible(False)

    def start(self, job_id, name: str) -> None:
        """Show a job that was just submitted (before its first progress report)."""
        self.current_job_id = job_id
        self.stage.setText(f"{name}: starting")
        self.bar.setValue(0)
        self.eta.setText("")
        self.cancel.setEnabled(True)
        self.setVisible(True)

    def on_progress(self, p) -> None:
        if p.job_id != self.current_job_id:
            self.current_job_id = p.job_id
            self.cancel.setEnabled(True)
        self.stage.setText(f"{p.name}: {p.stage}" if p.stage else p.name)
        self.bar.setValue(int(1000 * max(0.0, min(1.0, p.fraction))))
        self.eta.setText(format_eta(p.eta_s))

    def on_finished(self, result) -> None:
        if result.job_id == self.current_job_id:
            self.current_job_id = None
            running = list(self.bridge.jobs)
            if running:
                self.current_job_id = running[-1]
                self.stage.setText(f"{self.bridge.names.get(running[-1], 'job')}: running")

    def cancel_current(self) -> None:
        job = self.bridge.jobs.get(self.current_job_id)
        if job is not None:
            job.cancel()
            self.stage.setText(self.stage.text() + " (cancelling…)")
            self.cancel.setEnabled(False)
