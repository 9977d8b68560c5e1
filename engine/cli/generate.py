"""``motet generate --theme THEME.mid -o OUT.mid``: compose a piano piece around a theme."""
from __future__ import annotations

import argparse
import sys

from engine.cli import Command


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--theme", required=True, help="MIDI file of the theme (1-8 bars; MELODY and optional PIANO)")
    p.add_argument("-o", "--output", required=True, help="MIDI file to write (tracks MELODY and PIANO)")
    p.add_argument("--bars", type=int, default=32, help="length of the piece in bars (default 32)")
    p.add_argument("--tempo", type=float, default=None, help="tempo in BPM (default: the theme's)")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default 1.0)")
    p.add_argument("--top-p", type=float, default=0.9, help="nucleus sampling mass (default 0.9)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--model", choices=["conditioned", "baseline"], default="conditioned",
                   help="theme-conditioned transformer (default) or the unconditioned baseline")
    p.add_argument("--theme-return-bars", type=int, default=4,
                   help="open a theme region after this many bars without the theme (0: the model decides)")
    p.add_argument("--copy-weight", type=float, default=0.8,
                   help="theme pointer switch inside theme regions, 0..1 (0: the network alone)")


def run(args: argparse.Namespace) -> int:
    import torch

    from engine.generation.sampling import generate_piece
    from engine.io.midi import read_piece, write_piece

    torch.set_num_threads(min(2, torch.get_num_threads()))
    theme = read_piece(args.theme)

    def progress(fraction: float, stage: str) -> None:
        print(f"\r[{fraction * 100:5.1f}%] {stage}   ", end="", file=sys.stderr, flush=True)

    piece = generate_piece(theme, bars=args.bars, tempo=args.tempo, temperature=args.temperature,
                           top_p=args.top_p, seed=args.seed, model=args.model, progress=progress,
                           theme_return_bars=args.theme_return_bars or None, copy_weight=args.copy_weight)
    print("", file=sys.stderr)
    write_piece(piece, args.output)
    regions = ", ".join(f"{r.start_beat / 4:g}-{r.end_beat / 4:g}" for r in piece.theme_regions)
    print(f"{args.output}: {args.bars} bars, {len(piece.melody)} melody and {len(piece.accompaniment)} piano notes, "
          f"theme at bars {regions or 'none'}")
    return 0


COMMANDS = [Command("generate", "compose a piano piece around a theme (theme-conditioned transformer)",
                    add_arguments, run)]
