"""``motet theme PIECE.mid -o THEME.mid [--occurrences CSV]``: find a piece's main theme and its occurrences."""
from __future__ import annotations

import argparse
from pathlib import Path

from engine.cli import Command
from engine.errors import MotetError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("piece", help="MIDI file of the piece")
    p.add_argument("-o", "--output", required=True, help="MIDI file to write the theme to")
    p.add_argument("--occurrences", help="CSV file for the occurrences (columns start_beat,end_beat)")


def run(args: argparse.Namespace) -> int:
    from engine.generation.theme import analyse_theme
    from engine.io.midi import read_piece, write_piece

    analysis = analyse_theme(read_piece(args.piece))
    write_piece(analysis.theme, args.output)
    if args.occurrences:
        path = Path(args.occurrences)
        if not path.parent.exists():
            raise MotetError(f"{path}: folder {path.parent} does not exist")
        lines = ["start_beat,end_beat"] + [f"{a:g},{b:g}" for a, b in analysis.occurrences]
        path.write_text("\n".join(lines) + "\n")
    print(f"theme: {analysis.length_bars} bars from beat {analysis.occurrences[0][0]:g}, "
          f"{len(analysis.occurrences)} occurrences -> {args.output}")
    return 0


COMMANDS = [Command("theme", "find the main theme of a MIDI piece and its occurrences", add_arguments, run)]
