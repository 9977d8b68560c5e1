"""``motet gui [FILE]``: start the app (the demo recording when no FILE is given)."""
from __future__ import annotations

import argparse
import importlib
from pathlib import Path

from engine.cli import Command
from engine.errors import MotetError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", help="a recording (WAV, FLAC, OGG, MP3), a .motet project or a MIDI "
                                                "file to open; default: the bundled demo recording")
    parser.add_argument("--device", help="engine device: cuda, mps or cpu (default: the best there is)")
    parser.add_argument("--theme", choices=["dark", "light"], help="colour theme (default: the last one used)")
    parser.add_argument("--quit-after", type=float, metavar="SECONDS",
                        help="close by itself after SECONDS (for smoke tests)")
    parser.add_argument("--screenshot", metavar="PNG", help="with --quit-after: save a screenshot before closing")


def run(args: argparse.Namespace) -> int:
    if args.file is not None and not Path(args.file).exists():
        raise MotetError(f"{args.file}: file not found")
    try:
        app = importlib.import_module("gui.app")  # Qt is imported only here: engine modules never import it
    except ImportError as err:
        raise MotetError(f"gui: cannot start the app ({err}); install motet with its GUI dependencies") from None
    return app.run(args.file, device=args.device, look=args.theme, quit_after_s=args.quit_after,
                   screenshot=args.screenshot)


COMMANDS = [Command("gui", "start the motet app (on FILE, or on the bundled demo)", add_arguments, run)]
