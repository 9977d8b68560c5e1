"""Where motet finds the read-only training and evaluation data (``../shared/data`` beside the checkout)."""
from __future__ import annotations

import os
from pathlib import Path

from engine.errors import MotetError

REPO_ROOT = Path(__file__).resolve().parent.parent


def data_root() -> Path:
    """The shared data folder: $MOTET_DATA, else ``<checkout>/../shared/data``."""
    env = os.environ.get("MOTET_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def dataset_dir(name: str) -> Path:
    """The folder of one data set (``csd-nino-dios``, ``pop909``, ...); a clear error when absent."""
    path = data_root() / name
    if not path.is_dir():
        raise MotetError(f"data set '{name}' not found at {path} (set MOTET_DATA to the folder holding it)")
    return path


def assets_dir() -> Path:
    """The shipped assets folder (models, demo audio, icons)."""
    return REPO_ROOT / "assets"
