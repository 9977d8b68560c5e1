"""``motet f0``, ``motet eval f0`` and ``motet bench f0``: per-voice F0 of a choir recording, its quality, its speed.

Option ``--refine-with-separation [full|stems|refined|off]`` (default full for 2-8 voices; the eval modes
``<mode>+separation`` / ``<mode>+stems``): the tracks are then refined by the separation model
(:func:`engine.separation.f0_correction.refine_tracks`); ``engine/f0`` never imports ``engine/separation`` (the
separation imports the tracker), so the two meet here.
"""
from __future__ import annotations

import argparse
import json

from engine.cli import Command
from engine.errors import MotetError

# how the separation model refines tracks: the eval mode suffix -> refine_tracks' method
REFINE_METHODS = {"separation": "full", "stems": "stems", "refined": "refined"}
REFINE_NOTES = {
    "full": "pitch refined with the separation model (assets/models/separation.pt): analysis-by-synthesis "
            "correction, then re-tracked by YIN on each separated stem; voicing as tracked",
    "stems": "pitch re-tracked by YIN on each stem separated by the separation model (assets/models/separation.pt);"
             " voicing as tracked",
    "refined": "pitch refined as 'full', then again with the separation model adapted to this recording "
               "(100 refinement steps, unsupervised, from the mixture); voicing as tracked",
}


def _add_track(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="choir recording (WAV/FLAC/OGG/MP3)")
    p.add_argument("-o", "--output", required=True, help="CSV to write: time (s) and one column per voice in Hz")
    p.add_argument("--voices", type=int, default=4, help="number of voices (default 4: soprano/alto/tenor/bass)")
    p.add_argument("--score", help="MusicXML or MIDI score of the piece: score-informed tracking")
    p.add_argument("--refine-with-separation", nargs="?", const="full", choices=["full", "stems", "refined", "off"],
                   help="refine the tracks' pitch with the separation model (voicing kept): 'full' (the default "
                        "for 2 to 8 voices, and the option alone) = analysis-by-synthesis pitch correction, then "
                        "YIN on each separated stem (~0.09x real time on 2 cores with the tracking); 'stems' = the "
                        "stems' YIN only (~0.05x); 'refined' = 'full', then the separation model adapted to this "
                        "recording (100 unsupervised steps, ~50 s more) and 'full' again with it: the most "
                        "accurate, the slowest; 'off' = the tracker's own pitch. Closer to the sung pitch at note "
                        "changes and in vibrato (docs/f0.md, fifth, sixth and twelfth rounds)")


def separation_refiners(methods) -> dict:
    """{method: function (mono [N], sample_rate, tracks) -> F0Tracks} refining with the shipped separation model,
    loaded once here (for callers that refine many recordings: the evaluation, the benchmark)."""
    from engine.separation.f0_correction import refine_tracks
    from engine.separation.model import SeparationModel, default_model_path

    model = SeparationModel.load(default_model_path()).eval()
    return {m: (lambda mono, rate, tracks, m=m: refine_tracks(mono, rate, tracks, model=model, method=m))
            for m in methods}


def _run_track(args: argparse.Namespace) -> int:
    from engine.f0 import track_voices
    from engine.io.audio import load_audio

    if not 1 <= args.voices <= 8:
        raise MotetError(f"--voices {args.voices}: a choir has 1 to 8 voices")
    if not str(args.output).lower().endswith(".csv"):
        raise MotetError(f"{args.output}: the output must be a .csv file")
    audio = load_audio(args.input, mono=True)
    method = args.refine_with_separation
    if method is None:  # the default: the full refinement wherever the separation model applies
        method = "full" if 2 <= args.voices <= 8 else "off"
    elif method != "off" and not 2 <= args.voices <= 8:
        raise MotetError(f"--refine-with-separation: the separation model needs 2 to 8 voices, not {args.voices}")
    tracks = track_voices(audio.mono(), audio.sample_rate, args.voices, score=args.score)
    if method != "off":
        from engine.separation.f0_correction import refine_tracks

        tracks = refine_tracks(audio.mono(), audio.sample_rate, tracks, method=method)
    try:
        tracks.to_csv(args.output)
    except OSError as err:
        raise MotetError(f"{args.output}: cannot write ({err.strerror})") from None
    voiced = ", ".join(f"{n} {100 * tracks.voiced[i].mean():.0f}%" for i, n in enumerate(tracks.names))
    print(f"wrote {args.output}: {tracks.n_frames} frames of {tracks.n_voices} voices (voiced: {voiced})")
    if method != "off":
        print(f"note: {REFINE_NOTES[method]}")
    return 0


def _add_eval(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", choices=["csd", "synthetic"], default="csd")
    p.add_argument("--mode", default="both",
                   help="comma-separated tracking modes among " + ", ".join(EVAL_MODES) + "; 'both' = blind,informed "
                        "(default), 'all' = all eight. <mode>+separation / +stems / +refined: that mode's tracks "
                        "refined by the separation model as motet f0 --refine-with-separation full / stems / refined "
                        "(about 15 / 7 / 120 s more per mode on CSD); blind+separation is motet f0's default")
    p.add_argument("--excerpts", type=int, default=12, help="synthetic: number of 8-s test-split excerpts")
    p.add_argument("--json", action="store_true", help="print the result as JSON on the last line")


EVAL_MODES = ("blind", "informed", "blind+separation", "informed+separation", "blind+stems", "informed+stems",
              "blind+refined", "informed+refined")


def eval_modes(text: str) -> tuple:
    """The modes named by ``--mode`` (comma-separated; 'both', 'all'), in the order given, without repeats."""
    aliases = {"both": ("blind", "informed"), "all": EVAL_MODES}
    modes = []
    for word in (w.strip() for w in text.split(",")):
        for mode in aliases.get(word, (word,)):
            if mode not in EVAL_MODES:
                raise MotetError(f"--mode {word}: not a mode (choose among {', '.join(EVAL_MODES)}, both, all)")
            if mode not in modes:
                modes.append(mode)
    return tuple(modes)


def _run_eval(args: argparse.Namespace) -> int:
    from engine.f0.evaluation import eval_csd, eval_synthetic

    modes = eval_modes(args.mode)
    if args.dataset == "synthetic" and args.excerpts < 1:
        raise MotetError(f"--excerpts {args.excerpts}: need at least 1")
    suffixes = {m.partition("+")[2] for m in modes} - {""}
    by_method = separation_refiners({REFINE_METHODS[s] for s in suffixes}) if suffixes else {}
    refiners = {s: by_method[REFINE_METHODS[s]] for s in suffixes}
    if args.dataset == "csd":
        result = eval_csd(modes, refiners=refiners)
    else:
        result = eval_synthetic(args.excerpts, modes=modes, refiners=refiners)
    for s in sorted(suffixes):
        result[s] = REFINE_NOTES[REFINE_METHODS[s]]
    for mode in modes:
        print(f"{args.dataset} {mode}: " + "; ".join(
            f"{name} RPA {m['rpa']:.3f} (voiced only {m['rpa_voiced']:.3f}) RCA {m['rca']:.3f} "
            f"VR {m['voicing_recall']:.3f} "
            f"VFA {m['voicing_false_alarm']:.3f}" for name, m in result[mode].items() if isinstance(m, dict))
              + f" ({result[mode]['seconds']:.1f} s)")
    if args.json:
        print(json.dumps(result))
    return 0


def _add_bench(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seconds", type=float, default=60.0, help="length of the synthetic choir recording timed")
    p.add_argument("--threads", type=int, default=2, help="CPU threads (the target is set for 2)")
    p.add_argument("--refine-with-separation", action="store_true",
                   help="also time blind tracking followed by the refined refinement (minutes; blind tracking "
                        "followed by the full refinement, the default of motet f0, and by the stems' one are always "
                        "timed)")
    p.add_argument("--json", action="store_true", help="print the result as JSON on the last line")


def _run_bench(args: argparse.Namespace) -> int:
    import os
    import time

    import numpy as np

    if args.seconds <= 0 or args.threads < 1:
        raise MotetError("--seconds and --threads must be positive")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))
    import torch

    torch.set_num_threads(args.threads)
    from engine.f0 import track_single, track_voices
    from engine.f0.evaluation import synthetic_excerpts

    pieces = []
    total = 0.0
    for ex in synthetic_excerpts(max(1, int(np.ceil(args.seconds / 8.0))), 8.0, seed=77):
        pieces.append(ex.mixture)
        total += len(ex.mixture) / 16000
    mixture = np.concatenate(pieces)[: int(args.seconds * 16000)]
    audio_s = len(mixture) / 16000
    result = {"audio_s": round(audio_s, 2), "threads": args.threads,
              "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default")}
    track_voices(mixture[:16000], 16000, 4)  # warm-up (imports, caches)
    t0 = time.perf_counter()
    track_voices(mixture, 16000, 4)
    blind = time.perf_counter() - t0
    t0 = time.perf_counter()
    track_single(mixture, 16000)
    single = time.perf_counter() - t0
    result.update({"blind_s": round(blind, 3), "blind_x_realtime": round(blind / audio_s, 4),  # plain tracking
                   "single_s": round(single, 3), "single_x_realtime": round(single / audio_s, 4),
                   "target_x_realtime": 0.1})
    print(f"blind 4-voice tracking: {blind:.2f} s for {audio_s:.0f} s of audio ({blind / audio_s:.3f}x real time); "
          f"one voice: {single / audio_s:.4f}x real time")
    methods = ("stems", "full", "refined") if args.refine_with_separation else ("stems", "full")
    refiners = separation_refiners(methods)  # model loaded outside the timing, as the eval does
    for method, refine in refiners.items():
        refine(mixture[:16000], 16000, track_voices(mixture[:16000], 16000, 4))  # warm-up
        t0 = time.perf_counter()
        refine(mixture, 16000, track_voices(mixture, 16000, 4))
        took = time.perf_counter() - t0
        key = {"full": "blind_separation", "stems": "blind_stems", "refined": "blind_refined"}[method]
        result.update({f"{key}_s": round(took, 3), f"{key}_x_realtime": round(took / audio_s, 4)})
        print(f"blind tracking + refinement with the separation model ({method}): {took:.2f} s "
              f"({took / audio_s:.3f}x real time)")
    if args.json:
        print(json.dumps(result))
    return 0


def _add_train(p: argparse.ArgumentParser) -> None:
    p.add_argument("--voice-model", action="store_true",
                   help="train the voice-role model (which voice sings each candidate) instead of the salience")
    p.add_argument("--voice-context", action="store_true",
                   help="train the voice-role model's second stage (judgements of the same pitch up to 256 ms "
                        "away; needs f0_voice.pt)")
    p.add_argument("--out", help="weights file (default: assets/models/f0_salience.pt, f0_voice.pt or "
                                 "f0_voice_context.pt)")
    p.add_argument("--train", type=int, help="training excerpts rendered from the corpus (default 500 of 4 s; "
                   "voice model: 240 of 6 s; voice context: 600 of 6 s)")
    p.add_argument("--valid", type=int, help="validation excerpts (default 40; voice model: 24)")
    p.add_argument("--epochs", type=int, help="default 12 (voice model: 8)")
    p.add_argument("--jobs", type=int, default=2, help="processes rendering the excerpts")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print the summary as JSON on the last line")


def _run_train(args: argparse.Namespace) -> int:
    import torch

    torch.set_num_threads(max(1, args.threads))
    progress = lambda f, stage: print(f"[{100 * f:5.1f}%] {stage}", flush=True)  # noqa: E731
    if args.voice_context:
        from engine.datasets import assets_dir
        from engine.f0.training import train_voice_context
        from engine.f0.voice_model import STACK_PATH

        out = args.out or assets_dir() / STACK_PATH
        meta = train_voice_context(out, args.train or 600, args.valid or 24, args.epochs or 8, jobs=args.jobs,
                                   seed=args.seed, progress=progress)
    elif args.voice_model:
        from engine.f0.training import train_voice_model
        from engine.f0.voice_model import model_file

        out = args.out or model_file()
        meta = train_voice_model(out, args.train or 240, args.valid or 24, args.epochs or 8, jobs=args.jobs,
                                 seed=args.seed, progress=progress)
    else:
        from engine.f0.salience_model import model_file
        from engine.f0.training import train_salience

        out = args.out or model_file()
        meta = train_salience(out, args.train or 500, args.valid or 40, args.epochs or 12, jobs=args.jobs,
                              seed=args.seed, progress=progress)
    print(f"wrote {out}: {meta['params']} parameters, valid loss {meta['history'][-1]['valid_loss']}")
    if args.json:
        print(json.dumps(meta))
    return 0


COMMANDS = [
    Command("train f0", "train the learned F0 salience (or --voice-model, --voice-context) on the synthetic choir "
            "corpus (CPU, minutes)",
            _add_train, _run_train),
    Command("f0", "track the F0 of every voice of a choir recording (blind, or with --score) into a CSV",
            _add_track, _run_track),
    Command("eval f0", "per-voice F0 quality (mir_eval RPA/RCA, voicing) on CSD or the synthetic test split",
            _add_eval, _run_eval),
    Command("bench f0", "speed of blind 4-voice F0 tracking (x real time)", _add_bench, _run_bench),
]
