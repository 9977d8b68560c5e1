"""``motet data choir|demo|realism``: the synthetic choir corpus (see docs/corpus.md)."""
from __future__ import annotations

import argparse
import json
import sys

from engine.cli import Command
from engine.errors import MotetError


def _number(args, name: str, kind=float, low=None, high=None):
    """args.<name> (given as text) as ``kind`` within [low, high]; a one-line MotetError otherwise."""
    text = getattr(args, name)
    if text is None:
        return None
    flag = "--" + name
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise MotetError(f"{flag} {text}: not a {'whole ' if kind is int else ''}number") from None
    if (low is not None and value < low) or (high is not None and value > high):
        raise MotetError(f"{flag} {text}: must be between {low} and {high}")
    setattr(args, name, value)
    return value


def _add_choir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--out", help="output folder (gets <split>/<index>/ excerpt folders)")
    parser.add_argument("--hours", default=1.0, help="hours of audio to render (default 1)")
    parser.add_argument("--voices", default=4, help="voices per excerpt, 1..8 (default 4: SATB)")
    parser.add_argument("--seconds", default=4.0, help="excerpt length in s (default 4)")
    parser.add_argument("--seed", default=0, help="random seed (same seed, same corpus)")
    parser.add_argument("--rate", default=16000, help="sample rate in Hz (default 16000)")
    parser.add_argument("--split", default="train", help="train, valid, test or all (80/10/10); default train")
    parser.add_argument("--jobs", default=None, help="processes (default: all cores)")
    parser.add_argument("--json", action="store_true", help="print only the JSON summary")


def _check_choir(args) -> None:
    if not args.out:
        raise MotetError("-o/--out: give the output folder")
    _number(args, "hours", float, 1e-6, 1e5)
    _number(args, "voices", int, 1, 8)
    _number(args, "seconds", float, 0.5, 120)
    _number(args, "seed", int)
    _number(args, "rate", int, 8000, 96000)
    _number(args, "jobs", int, 1, 1024)


def _run_choir(args) -> int:
    from engine.corpus.render import render_corpus

    _check_choir(args)
    if args.split not in ("train", "valid", "test", "all"):
        raise MotetError(f"--split {args.split}: choose train, valid, test or all")

    def progress(fraction: float, stage: str) -> None:
        if not args.json:
            print(f"\r{stage} ({100 * fraction:.0f}%)", end="", file=sys.stderr, flush=True)

    summary = render_corpus(args.out, args.hours, args.voices, args.seconds, args.seed, args.rate, args.split,
                            args.jobs, progress)
    if not args.json:
        print(file=sys.stderr)
        print(f"wrote {summary['excerpts']} excerpts ({summary['audio_hours']} h) to {args.out} in "
              f"{summary['wall_s']} s on {summary['jobs']} processes: "
              f"{summary['realtime_factor_per_core']}x real time per core")
    print(json.dumps(summary))
    return 0


def _add_demo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--out", default="assets/demo", help="output folder (default assets/demo)")
    parser.add_argument("--piece", default="bach/bwv244.62", help="four-part piece of the catalogue (default bach/bwv244.62)")
    parser.add_argument("--seconds", default=28.0, help="length in s, at most 30 (default 28)")
    parser.add_argument("--seed", default=3, help="random seed")
    parser.add_argument("--stems", action="store_true", help="also write one FLAC per voice")


def _run_demo(args) -> int:
    from engine.corpus.demo import write_demo

    _number(args, "seconds", float, 1, 30)
    _number(args, "seed", int)
    paths = write_demo(args.out, args.piece, args.seconds, args.seed, args.stems)
    for path in paths:
        print(path)
    return 0


def _add_realism(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--excerpts", default=48, help="synthetic SATB excerpts to measure (default 48)")
    parser.add_argument("--seconds", default=8.0, help="length of each excerpt in s")
    parser.add_argument("--seed", default=0, help="random seed of the synthetic excerpts")
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON (last line)")


def _run_realism(args) -> int:
    from engine.corpus.realism import compare, format_table

    _number(args, "excerpts", int, 1, 10000)
    _number(args, "seconds", float, 1, 120)
    _number(args, "seed", int)
    result = compare(args.excerpts, args.seconds, args.seed)
    if not args.json:
        print(format_table(result))
    print(json.dumps(result))
    return 0


COMMANDS = [
    Command("data choir", "render the synthetic choir corpus (mixtures, stems, F0, meta)", _add_choir, _run_choir),
    Command("data demo", "render the demo choir excerpt (FLAC, F0 CSV, MIDI score)", _add_demo, _run_demo),
    Command("data realism", "compare the synthetic corpus with the real CSD singers", _add_realism, _run_realism),
]
