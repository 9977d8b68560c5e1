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


def add_train(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", choices=["both", "conditioned", "baseline"], default="both")
    p.add_argument("--data", default="data/generation/pop909_tokens.npz",
                   help="encoded training songs (.npz); built from ../shared/data/pop909 if missing")
    p.add_argument("--out-dir", default=None, help="where to write the .pt files (default assets/models)")
    p.add_argument("--steps", type=int, default=800)
    p.add_argument("--minutes", type=float, default=33.0, help="wall-clock budget per model (cosine schedule "
                   "ends at whichever comes first, steps or minutes)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--length", type=int, default=320, help="tokens per training window")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    p.add_argument("--init-from", default=None,
                   help="folder holding theme_transformer.pt/baseline.pt to continue training from")


def run_train(args: argparse.Namespace) -> int:
    from pathlib import Path

    import torch

    from engine.datasets import assets_dir
    from engine.generation.dataset import build_dataset
    from engine.generation.training import train, write_card

    data = Path(args.data)
    if not data.exists():
        data.parent.mkdir(parents=True, exist_ok=True)
        print(json.dumps(build_dataset(data, progress=_progress)), file=sys.stderr)
    if (args.device or "cpu") == "cpu":
        torch.set_num_threads(1)
    out_dir = Path(args.out_dir) if args.out_dir else assets_dir() / "models"
    out_dir.mkdir(parents=True, exist_ok=True)
    metas = {}
    for model in (["conditioned", "baseline"] if args.model == "both" else [args.model]):
        name = "theme_transformer" if model == "conditioned" else "baseline"
        metas[model] = train(data, out_dir / f"{name}.pt", conditioned=model == "conditioned", steps=args.steps,
                             max_minutes=args.minutes, batch_size=args.batch_size, length=args.length, lr=args.lr,
                             seed=args.seed, device=args.device,
                             log=lambda s, n=name: print(n, s, file=sys.stderr, flush=True),
                             init_from=Path(args.init_from) / f"{name}.pt" if args.init_from else None)
        write_card(out_dir / f"{name}.pt", metas[model], "motet " + " ".join(sys.argv[1:]))
    print(json.dumps(metas))
    return 0


def add_eval_generation(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the result as one JSON line (last line)")
    p.add_argument("--seeds", type=int, default=2, help="seeds per theme and model (default 2)")
    p.add_argument("--bars", type=int, default=32)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--top-p", type=float, default=0.9)
    p.add_argument("--limit", type=int, default=None, help="only the first N test themes")
    p.add_argument("--theme-return-bars", type=int, default=None,
                   help="open a theme region after this many bars without the theme (0: the model decides)")
    p.add_argument("--copy-weight", type=float, default=None, help="theme pointer switch (0: model only)")


def run_eval_generation(args: argparse.Namespace) -> int:
    import torch

    from engine.generation.piece_evaluation import evaluate_generation

    torch.set_num_threads(1)
    result = evaluate_generation(seeds=args.seeds, bars=args.bars, temperature=args.temperature, top_p=args.top_p,
                                 limit=args.limit, progress=_progress, theme_return_bars=args.theme_return_bars,
                                 copy_weight=args.copy_weight)
    _print_json(result, args.json)
    return 0


def add_bench(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the result as one JSON line (last line)")
    p.add_argument("--bars", type=int, default=32)
    p.add_argument("--threads", type=int, default=2, help="CPU threads the process may use (default 2; the "
                   "sampler itself runs one thread, fastest for this small model)")
    p.add_argument("--repeats", type=int, default=3)


def run_bench(args: argparse.Namespace) -> int:
    import os
    import time

    import torch

    from engine.generation import tokens as tk
    from engine.generation.piece import Note, Piece
    from engine.generation.sampling import generate_piece, get_model

    torch.set_num_threads(args.threads)
    from engine.datasets import data_root
    from engine.io.midi import read_piece

    anchor = data_root() / "theme-transformer-test" / "874_theme.mid"
    if anchor.exists():  # a real test theme (melody and accompaniment)
        theme, theme_name = read_piece(anchor), anchor.name
    else:
        scale = [60, 62, 64, 65, 67, 65, 64, 62]
        theme, theme_name = Piece([Note(p, i * 1.0, 1.0, 90) for i, p in enumerate(scale)], 100.0), "scale"
    get_model("conditioned")
    generate_piece(theme, bars=4, seed=99)  # warm-up
    walls, cpus, steps = [], [], []
    for seed in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        piece = generate_piece(theme, bars=args.bars, seed=seed)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        steps.append(len(tk.to_compound(tk.encode(piece))[0].tokens))
    best = min(walls)
    result = {"bars": args.bars, "theme": theme_name, "threads": args.threads, "seconds_wall_median": round(sorted(walls)[len(walls) // 2], 3),
              "seconds_wall_best": round(best, 3), "seconds_cpu_median": round(sorted(cpus)[len(cpus) // 2], 3),
              "model_steps_median": int(sorted(steps)[len(steps) // 2]),
              "ms_per_step": round(1000 * best / max(1, min(steps)), 2), "target_s": 3.0,
              "met": best <= 3.0, "load_average_1min": round(os.getloadavg()[0], 2), "cpu_count": os.cpu_count()}
    _print_json(result, args.json)
    return 0


COMMANDS = [
    Command("train generation", "train the theme-conditioned transformer and the baseline on POP909",
            add_train, run_train),
    Command("eval generation", "theme recurrence and similarity of generated pieces on the 29 test themes",
            add_eval_generation, run_eval_generation),
    Command("bench generation", "time to generate a 32-bar piece on the CPU", add_bench, run_bench),
    Command("eval theme", "beat F1 of the theme finder vs human phrase labels (POP909 test songs)",
            add_eval_theme, run_eval_theme),
]
