"""Which engine capabilities exist in this checkout, so controls can be disabled (with the reason) until they do.

A capability is there when its module imports and has the functions the GUI calls. Nothing here imports torch
at module level of the GUI; the engine modules checked may.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Capability:
    ok: bool
    reason: str  # why it is missing ("" when ok)


NEEDS = {
    "playback": ("engine.playback", ["Player"], "real-time playback"),
    "separation": ("engine.separation.separate", ["separate"], "voice separation"),
    "f0": ("engine.f0", ["track_voices"], "multi-voice F0 tracking"),
    "edit": ("engine.edit.render", ["VoiceRenderer"], "voice editing"),
    "generation": ("engine.generation.sampling", ["generate_piece"], "theme-conditioned generation"),
    "theme_finder": ("engine.generation.theme", ["find_theme"], "the theme finder"),
    "piano": ("engine.generation.piano", ["render_piano"], "piano rendering"),
}


MODEL_FILES = {"separation": "separation.pt", "generation": "theme_transformer.pt"}


@lru_cache(maxsize=None)
def capability(name: str) -> Capability:
    module_name, attrs, what = NEEDS[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return Capability(False, f"Not available yet: {what} ({module_name}) is not in this build of motet")
    except Exception as err:  # a module that fails to import is missing too, with the cause
        return Capability(False, f"Not available: {module_name} failed to load ({type(err).__name__}: {err})")
    missing = [a for a in attrs if not hasattr(module, a)]
    if missing:
        return Capability(False, f"Not available yet: {what} ({module_name}.{missing[0]}) is not in this build")
    weights = MODEL_FILES.get(name)
    if weights is not None:
        from engine.datasets import assets_dir

        if not (assets_dir() / "models" / weights).is_file():
            return Capability(False, f"Not available yet: {what} needs the trained model assets/models/{weights}")
    return Capability(True, "")


def set_enabled_by(widget, cap: Capability, tooltip: str) -> None:
    """Enable ``widget`` with ``tooltip`` when ``cap`` is there; else disable it and say why in the tooltip."""
    widget.setEnabled(cap.ok)
    widget.setToolTip(tooltip if cap.ok else f"{tooltip}\n\n{cap.reason}")
