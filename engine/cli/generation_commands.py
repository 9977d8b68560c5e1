"""``motet train generation``, ``motet eval generation``, ``motet eval theme``, ``motet bench generation``."""
from __future__ import annotations

import argparse
import json
import sys

from engine.cli import Command


def _print_json(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=2))


def _progress(fraction: float, stage: str) -> None:
    print(f"[{fraction * 100:5.1f}%] {stage}", file=sys.stderr, flush=True)


def add_eval_theme(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the result as one JSON line (last line)")
    p.add_argument("--songs", default="874-909", help="POP909 song range, e.g. 874-909 (default: the test split)")


def run_eval_theme(args: argparse.Namespace) -> int:
    from engine.generation.theme_evaluation import evaluate_theme_finder

    a, _, b = args.songs.partition("-")
    songs = range(int(a), int(b or a) + 1)
    result = evaluate_theme_finder(songs, progress=None if args.json else _progress)
    _print_json(result, args.json)
    return 0


COMMANDS = [
    Command("eval theme", "beat F1 of the theme finder vs human phrase labels (POP909 test songs)",
            add_eval_theme, run_eval_theme),
]
