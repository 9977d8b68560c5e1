"""``motet separate INPUT -o DIR``: one stem per voice, f0.csv and params.npz (θ, see docs/theta.md)."""
from __future__ import annotations

import argparse
import sys

from engine.cli import Command
from engine.errors import MotetError


def _add(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="choir recording (WAV/FLAC/OGG/MP3)")
    parser.add_argument("-o", "--out", required=True, help="output folder for <voice>.wav, f0.csv, params.npz")
    parser.add_argument("--voices", default="4", help="number of voices, 2..8 (default 4: SATB)")
    parser.add_argument("--f0", help="F0 CSV (time,<voice>,...) to use instead of tracking F0")
    parser.add_argument("--score", help="MusicXML/MIDI score to inform the F0 tracking")
    parser.add_argument("--refine", default="0",
                        help="steps of unsupervised adaptation to this recording (with tracked F0: a second pass of "
                        "0.4 x the steps after the F0 is corrected with the refined model)")
    parser.add_argument("--device", help="cpu, cuda, cuda:N, mps (default: MOTET_DEVICE or cpu)")
    parser.add_argument("--model", help="separation model .pt (default: the shipped one)")
    parser.add_argument("--f0-correction", choices=["auto", "on", "off"], default="auto",
                        help="correct the F0's pitch against the mixture by analysis-by-synthesis (default auto: on "
                             "when motet tracks the F0, off with --f0)")
    parser.add_argument("--harmonic-fit", choices=["auto", "on", "off"], default="auto",
                        help="masks with per-harmonic gains fitted to the recording (default auto = on; lighter after --refine)")
    parser.add_argument("--pitch-fit", choices=["auto", "on", "off"], default="auto",
                        help="fine-tune the F0 within ±30 cents to the mixture before the masks (default auto: on after "
                             "--refine)")
    parser.add_argument("--phase-fit", choices=["auto", "on", "off"], default="auto",
                        help="give each stem phases consistent with its own spectrogram instead of the mixture's "
                             "(default auto: on after --refine)")


def _int(text: str, flag: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise MotetError(f"{flag} {text}: not a whole number") from None
    if not low <= value <= high:
        raise MotetError(f"{flag} {text}: must be between {low} and {high}")
    return value


def _run(args) -> int:
    import os

    from engine.f0.tracks import F0Tracks
    from engine.io.audio import load_audio
    from engine.separation.model import SeparationModel, default_model_path
    from engine.separation.separate import check_audio, separate, write_separation

    n_voices = _int(args.voices, "--voices", 2, 8)
    refine_steps = _int(args.refine, "--refine", 0, 100000)
    audio = load_audio(args.input)
    try:
        check_audio(audio.samples, audio.sample_rate)
    except MotetError as err:
        raise MotetError(f"{args.input}: {str(err).removeprefix('audio: ')}") from None
    f0 = F0Tracks.from_csv(args.f0, n_voices) if args.f0 else None
    device = args.device or os.environ.get("MOTET_DEVICE") or "cpu"
    try:
        import torch

        torch.device(device)
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise MotetError(f"--device {device}: CUDA is not available here")
    except RuntimeError:
        raise MotetError(f"--device {device}: not a torch device") from None
    model = SeparationModel.load(args.model or default_model_path())

    def progress(fraction: float, stage: str) -> None:
        print(f"\r{stage} ({100 * fraction:.0f}%)   ", end="", file=sys.stderr, flush=True)

    sep = separate(audio.samples, audio.sample_rate, n_voices, f0=f0, score=args.score, refine_steps=refine_steps,
                   device=device, progress=progress, model=model, harmonic_fit=args.harmonic_fit,
                   f0_correction=args.f0_correction, pitch_fit=args.pitch_fit, phase_fit=args.phase_fit)
    print(file=sys.stderr)
    for path in write_separation(sep, args.out):
        print(path)
    source = {"given": f"from {args.f0}", "tracked": "tracked from the mixture",
              "score": f"tracked with the score {args.score}"}[sep.f0_source]
    print(f"F0 {source}; stems at {sep.sample_rate} Hz, full band; " + "; ".join(sep.notes), file=sys.stderr)
    return 0


COMMANDS = [Command("separate", "separate a choir recording into one stem per voice", _add, _run)]
