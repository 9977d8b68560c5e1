"""Shared test setup: headless Qt, and the data/asset locations."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
