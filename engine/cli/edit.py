"""``motet edit DIR --voice NAME [--pitch ...] -o OUT.wav [--mix MIX.wav]``, ``motet eval edit``,
``motet bench edit``: edit separated voices and measure the edits (docs/edit.md)."""
from __future__ import annotations

import argparse
import json
import sys

from engine.cli import Command
from engine.errors import MotetError

FLAGS = {"pitch": ("--pitch", "CENTS"), "breathiness": ("--breathiness", "DB"), "formant": ("--formant", "FACTOR"),
         "tilt": ("--tilt", "DB"), "gain": ("--gain", "DB"), "vibrato": ("--vibrato", "SCALE")}


def _add_edit(p: argparse.ArgumentParser) -> None:
    from engine.edit.edits import KINDS

    p.add_argument("dir", help="separation folder written by 'motet separate' (stems + params.npz)")
    p.add_argument("--voice", help="the voice to edit (soprano, alto, ... as in the folder)")
    for kind, (flag, metavar) in FLAGS.items():
        spec = KINDS[kind]
        p.add_argument(flag, metavar=metavar, help=f"{spec.help} [{spec.low:g}..{spec.high:g} {spec.unit}]")
    p.add_argument("--start", type=float, metavar="S", help="apply the edits from S seconds (default: start)")
    p.add_argument("--end", type=float, metavar="S", help="apply the edits until S seconds (default: end)")
    p.add_argument("-o", "--out", help="write the edited voice here (.wav or .flac)")
    p.add_argument("--mix", help="write the remix of all voices with their edits here (.wav or .flac)")
    p.add_argument("--save", action="store_true", help="store the voice's edits in DIR/edits.json")
    p.add_argument("--reset", action="store_true", help="ignore the edits stored in DIR/edits.json")


def _number(text: str, flag: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise MotetError(f"{flag} {text}: not a number") from None


def _run_edit(args) -> int:
    from engine.edit.edits import VoiceEdits
    from engine.edit.remix import load_choir_edits, render_edited_voice, render_remix, save_choir_edits
    from engine.edit.theta_voice import load_separation_dir
    from engine.io.audio import save_audio

    sep = load_separation_dir(args.dir)
    given = {kind: getattr(args, kind) for kind in FLAGS if getattr(args, kind) is not None}
    if not args.out and not args.mix and not args.save:
        raise MotetError("nothing to do: give -o OUT.wav (one voice), --mix MIX.wav (all voices) or --save")
    if (args.out or given or args.save) and not args.voice:
        raise MotetError(f"--voice is needed (voices: {', '.join(sep.names)})")
    if args.voice:
        sep.theta(args.voice)  # one clear line for an unknown voice
    edits = {} if args.reset else load_choir_edits(sep)
    if args.voice:
        voice_edits = edits.setdefault(args.voice, VoiceEdits())
        for kind, text in given.items():
            voice_edits.add(kind, _number(text, FLAGS[kind][0]), args.start, args.end)

    def progress(fraction: float, stage: str) -> None:
        print(f"\r{stage} ({100 * fraction:.0f}%)   ", end="", file=sys.stderr, flush=True)

    if args.save:
        print(f"edits saved to {save_choir_edits(sep, edits)}")
    if args.out:
        samples, rate = render_edited_voice(sep, args.voice, edits.get(args.voice, VoiceEdits()), progress)
        print(file=sys.stderr)
        save_audio(args.out, samples, rate)
        print(f"{args.voice}: {len(samples) / rate:.2f} s written to {args.out} "
              f"({len(edits.get(args.voice, VoiceEdits()).edits)} edits)")
    if args.mix:
        samples, rate = render_remix(sep, edits, progress)
        print(file=sys.stderr)
        save_audio(args.mix, samples, rate)
        print(f"remix of {len(sep.names)} voices: {len(samples) / rate:.2f} s written to {args.mix}")
    return 0


def _add_eval(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object (last line)")
    p.add_argument("--set", choices=["synthetic", "corpus", "csd", "all", "none"], default="all",
                   help="sung-vowel test voices, engine.corpus chorale stems, CSD close-mic singers as stand-in "
                        "stems, all three (default), or none (only --dir)")
    p.add_argument("--dir", help="also evaluate the stems of this separation folder")
    p.add_argument("--true-stems", metavar="DIR", help="with --dir of a separated demo: the demo's true stems "
                   "('motet data demo -o DIR --stems') to measure the stems' leakage and what it does to the formant "
                   "measure, and to compare the formant edit with the demo sung by truly warped vocal tracts")
    p.add_argument("--csd-seconds", type=float, default=20.0, help="length of the CSD excerpt per voice")
    p.add_argument("--envelope", choices=["stem", "theta"], default="stem",
                   help="ablation: whiten by the stem's own envelope (default) or by θ's LSF envelope (needs --dir "
                        "and --set none)")


def _run_eval(args) -> int:
    from pathlib import Path

    from engine.edit.evaluation import evaluate

    sets = {"all": ("synthetic", "corpus", "csd"), "none": ()}.get(args.set, (args.set,))
    if not sets and not args.dir:
        raise MotetError("--set none: give --dir DIR (a separation folder) to evaluate")
    if not 2.0 <= args.csd_seconds <= 100.0:
        raise MotetError(f"--csd-seconds {args.csd_seconds:g}: must be between 2 and 100")

    def progress(fraction: float, stage: str) -> None:
        print(f"{stage} ({100 * fraction:.0f}%)", file=sys.stderr, flush=True)

    if args.envelope == "theta" and sets:
        raise MotetError("--envelope theta: only separation folders have θ envelopes; use --set none --dir DIR")
    if args.true_stems and not args.dir:
        raise MotetError("--true-stems: give --dir DIR (the separation of the demo whose true stems these are)")
    result = evaluate(sets, Path(args.dir) if args.dir else None, args.csd_seconds, progress, args.envelope,
                      Path(args.true_stems) if args.true_stems else None)
    if not args.json:
        for group, voices in result.items():
            if group == "summary" or group.startswith("formant_"):
                continue
            for name, res in voices.items():
                print(f"{group}/{name}: pitch+300 F0 err {res['pitch+300']['f0_error_cents']:+.2f} c, formants "
                      f"x{res['pitch+300']['formant_shift']:.3f}; formant*1.10 -> x{res['formant*1.10']['formant_shift']:.3f}"
                      f" (F0 {res['formant*1.10']['f0_error_cents']:+.2f} c); breathiness+6 -> HNR "
                      f"{res['breathiness+6']['hnr_change_db']:+.2f} dB; neutral {res['neutral']['si_sdr_db_resynthesis']:.1f} dB")
        print("passes:", json.dumps(result["summary"]))
    print(json.dumps(result))
    return 0


def _add_bench(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the timings as one JSON object (last line)")
    p.add_argument("--seconds", type=float, default=10.0, help="length of the voice re-rendered (default 10)")
    p.add_argument("--rates", default="16000,44100", help="sample rates to time, comma-separated")
    p.add_argument("--repeats", type=int, default=5, help="repeats per timing (the minimum is reported)")


def _run_bench(args) -> int:
    from engine.edit.evaluation import bench

    try:
        rates = tuple(int(r) for r in args.rates.split(","))
    except ValueError:
        raise MotetError(f"--rates {args.rates}: expected whole numbers separated by commas") from None
    if not all(8000 <= r <= 192000 for r in rates):
        raise MotetError(f"--rates {args.rates}: each rate must be 8000..192000 Hz")
    if not 1.0 <= args.seconds <= 120.0 or not 1 <= args.repeats <= 100:
        raise MotetError("--seconds must be 1..120 and --repeats 1..100")
    result = bench(args.seconds, rates, args.repeats)
    if not args.json:
        for rate in rates:
            fig = result[f"{rate}Hz"]
            print(f"{rate} Hz: {args.seconds:g} s re-rendered in {fig['warm_all_ms']} ms (all edits, analysis cached), "
                  f"{fig['cold_all_ms']} ms cold; first 0.5-s chunk {fig['first_chunk_0.5s_ms']} ms")
    print(json.dumps(result))
    return 0


COMMANDS = [
    Command("edit", "edit one separated voice (pitch, breathiness, formants, tilt, gain, vibrato) or remix all",
            _add_edit, _run_edit),
    Command("eval edit", "check that edits do what they say (F0, formants, HNR, SI-SDR) on synthetic and CSD voices",
            _add_eval, _run_eval),
    Command("bench edit", "time re-rendering 10 s of one voice after a slider change", _add_bench, _run_bench),
]
