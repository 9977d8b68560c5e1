"""``motet train separation``, ``motet eval separation``, ``motet bench separation``."""
from __future__ import annotations

import argparse
import json

from engine.cli import Command
from engine.errors import MotetError


def _add_train(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", help="folder of training excerpts (from 'motet data choir'); mixtures + F0 only are used")
    p.add_argument("-o", "--out", default="assets/models/separation.pt", help="where to save the model")
    p.add_argument("--valid", help="folder of validation excerpts (stems used for the SI-SDR metric only)")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--minutes", type=float, help="stop after this wall time")
    p.add_argument("--seconds", type=float, default=4.0, help="excerpt length used for training")
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--blocks", type=int, default=2)
    p.add_argument("--power-weight", type=float, default=1.0)
    p.add_argument("--device", help="cpu, cuda (default: cuda if available); torchrun sets it per process")
    p.add_argument("--log", help="append JSON lines of the training log here")
    p.add_argument("--limit", type=int, help="use at most this many training excerpts")
    p.add_argument("--segment", type=float, help="seconds per training segment (default: whole excerpts)")
    p.add_argument("--synth-items", type=int, help="items of each batch synthesised in the time domain (default all)")
    p.add_argument("--synth-seconds", type=float, help="seconds of them synthesised (default: the whole segment)")
    p.add_argument("--checkpoint-every", type=int, default=0, help="save the model every N steps")
    p.add_argument("--keep-checkpoints", action="store_true",
                   help="also keep each checkpoint as OUT_STEM.stepN.pt beside --out")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--init", help="start from the weights of this separation model .pt (resume / fine-tune)")
    p.add_argument("--warmup", type=int, default=100, help="learning-rate warm-up steps (default 100)")
    p.add_argument("--json", action="store_true")


def _run_train(args) -> int:
    from engine.separation.train import train

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.steps < 1 or args.batch < 1:
        raise MotetError("--steps and --batch must be at least 1")
    summary = train(args.data, args.out, args.steps, args.batch, args.lr, args.seed, args.device, args.minutes,
                    args.seconds, args.hidden, args.blocks, args.power_weight, args.valid, args.log,
                    limit=args.limit, segment_s=args.segment, synth_items=args.synth_items,
                    synth_s=args.synth_seconds, checkpoint_every=args.checkpoint_every,
                    init_path=args.init, warmup=args.warmup, keep_checkpoints=args.keep_checkpoints)
    print(json.dumps(summary))
    return 0


def _add_eval(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", choices=["csd", "synthetic"], default="csd")
    p.add_argument("--f0", choices=["oracle", "estimated"], default="oracle")
    p.add_argument("--data", help="synthetic: folder of excerpts with stems (default: render 24 test excerpts)")
    p.add_argument("--refine", type=int, default=500, help="refinement steps for the refined model (0: skip; default 500)")
    p.add_argument("--model", help="separation model .pt (default: the shipped one)")
    p.add_argument("--device", help="torch device (default cpu)")
    p.add_argument("--limit", type=int, help="evaluate only the first N excerpts")
    p.add_argument("--json", action="store_true", help="print only the JSON result")


def _run_eval(args) -> int:
    from engine.separation.evaluate import evaluate, format_table

    result = evaluate(args.dataset, args.f0, model_path=args.model, refine_steps=args.refine, device=args.device,
                      data=args.data, limit=args.limit)
    if not args.json:
        print(format_table(result))
    print(json.dumps(result))
    return 0


def _add_bench(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seconds", type=float, default=180.0, help="length of the SATB test recording (default 180)")
    p.add_argument("--rate", type=int, default=44100, help="its sample rate (default 44100)")
    p.add_argument("--device", help="torch device (default cpu)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    p.add_argument("--track-f0", action="store_true", help="also time F0 tracking alone, and the whole separation with tracked F0 (no --f0)")
    p.add_argument("--refine", type=int, default=0, help="also time separation with this many refinement steps")
    p.add_argument("--json", action="store_true")


def _run_bench(args) -> int:
    from engine.separation.bench import bench

    result = bench(args.seconds, args.rate, args.device, args.threads, args.track_f0, args.refine)
    if not args.json:
        for key, value in result.items():
            print(f"{key}: {value}")
    print(json.dumps(result))
    return 0


COMMANDS = [
    Command("train separation", "train the separation model on mixtures only", _add_train, _run_train),
    Command("eval separation", "SI-SDR of the separation on CSD or the synthetic corpus", _add_eval, _run_eval),
    Command("bench separation", "time the separation of a 3-minute SATB recording", _add_bench, _run_bench),
]
