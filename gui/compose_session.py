"""The Compose page's state and behaviour (filled in below)."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel


class ComposeSession:
    def __init__(self, window):
        self.window = window
        self.page = QLabel("Compose")
        self.page.set_playing = lambda playing: None

    def fill_export_menu(self, menu):
        pass

    def apply_look(self, look):
        pass

    def activate(self):
        self.window.transport.set_tracks({})

    def ensure_tracks(self):
        pass

    def on_position(self, pos):
        pass

    def import_theme(self, path):
        pass
