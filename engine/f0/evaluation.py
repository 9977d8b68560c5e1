"""Quality of the F0 trackers: mir_eval melody metrics per voice on CSD (real choir) and on the synthetic corpus.

CSD protocol (DESIGN.md): singer set 4 (Soprano_405, ContraAlt_407, tenor4-06-2, Bajos_404) summed into the
mixture; reference = CREPE on each close-mic stem, voiced where CREPE's confidence exceeds 0.7 (the threshold
that reproduces the dataset's own ``f0/crepe/Nino_Dios_SATB_gtf0.csv``). The CSD score is not shipped as MIDI:
for the score-informed run it is rebuilt from ``f0/midi/Nino_Dios_SATB_gtf0.csv`` (the score's MIDI rendered as
F0; each run of one pitch becomes a note) -- its timing is the score's, not the singers', so it must be aligned.

Modes: ``blind``, ``informed`` (score-informed), and ``<mode>+<how>``: that mode's tracks refined by
``refiners[how]``, a ``(mono [N], sample_rate, tracks) -> F0Tracks`` callable the caller passes in (the CLI passes
the separation model's refinements as ``separation`` and ``stems``; engine/f0 does not import engine/separation).
A refined mode's seconds include its base tracking (reused when the base mode runs too).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from engine.f0.tracks import F0Tracks

CSD_STEMS = ("nino_Soprano_405", "nino_ContraAlt_407", "nino_tenor4-06-2", "nino_Bajos_404")
CREPE_CONFIDENCE = 0.7
METRICS = {"rpa": "Raw Pitch Accuracy", "rca": "Raw Chroma Accuracy", "voicing_recall": "Voicing Recall",
           "voicing_false_alarm": "Voicing False Alarm"}
# raw pitch accuracy counting a frame only where the tracker also voiced it (its pitch guess on frames it calls
# unvoiced ignored): the stricter figure, reported beside mir_eval's own
STRICT_RPA = "rpa_voiced"
ESTIMATE_NOTE = ("estimate in mir_eval's convention: the tracker's pitch guess on frames it calls unvoiced as a "
                 "negative frequency (RPA/RCA score it, voicing apart); rpa_voiced = RPA without the guesses")


def score_tracks(estimate: F0Tracks, reference: F0Tracks) -> dict:
    """mir_eval RPA/RCA (50 cents), voicing recall and false alarm per voice of ``reference`` (matched by order),
    plus their mean over voices. The estimate goes to mir_eval in its own convention (:meth:`F0Tracks.signed`):
    RPA and RCA score the pitch on every reference-voiced frame, the tracker's guess where it says unvoiced
    included; ``rpa_voiced`` counts those frames as wrong."""
    import mir_eval

    out = {}
    for v, name in enumerate(reference.names):
        ref = reference.masked()[v]
        if not (ref > 0).any():
            continue
        est_times, est, strict = estimate.times_s, estimate.signed()[v], estimate.masked()[v]
        if est_times[-1] < reference.times_s[-1]:  # mir_eval resamples the estimate onto the reference times
            est_times = np.append(est_times, reference.times_s[-1] + 1.0)
            est, strict = np.append(est, 0.0), np.append(strict, 0.0)
        scores = mir_eval.melody.evaluate(reference.times_s, ref, est_times, est)
        out[name] = {key: round(float(scores[label]), 4) for key, label in METRICS.items()}
        strict_rpa = mir_eval.melody.raw_pitch_accuracy(*mir_eval.melody.to_cent_voicing(reference.times_s, ref,
                                                                                         est_times, strict))
        out[name][STRICT_RPA] = round(float(strict_rpa), 4)
    keys = [*METRICS, STRICT_RPA]
    out["mean"] = {key: round(float(np.mean([out[n][key] for n in out])), 4) for key in keys}
    return out


def csd_mixture_and_reference() -> tuple[np.ndarray, int, F0Tracks]:
    """(mixture [samples] float32, sample rate, reference F0Tracks of the 4 voices) for CSD singer set 4."""
    from engine.datasets import dataset_dir
    from engine.io.audio import load_audio

    root = dataset_dir("csd-nino-dios")
    stems = [load_audio(root / "audio" / f"{stem}.flac", mono=True) for stem in CSD_STEMS]
    rate = stems[0].sample_rate
    n = min(s.samples.shape[1] for s in stems)
    mixture = np.sum([s.mono()[:n] for s in stems], axis=0).astype(np.float32)
    tables = [np.loadtxt(root / "f0" / "crepe" / f"{stem}.f0.csv", delimiter=",", skiprows=1) for stem in CSD_STEMS]
    m = min(len(t) for t in tables)
    f0 = np.stack([t[:m, 1] for t in tables])
    voiced = np.stack([t[:m, 2] > CREPE_CONFIDENCE for t in tables])
    return mixture, rate, F0Tracks(tables[0][:m, 0], f0, voiced, ["soprano", "alto", "tenor", "bass"])


def csd_score_midi(folder: Path) -> Path:
    """Write CSD's score as MIDI (rebuilt from ``f0/midi/Nino_Dios_SATB_gtf0.csv``) into ``folder``."""
    from engine.datasets import dataset_dir
    from engine.f0.score import parts_from_f0_table, write_midi

    table = np.genfromtxt(dataset_dir("csd-nino-dios") / "f0" / "midi" / "Nino_Dios_SATB_gtf0.csv",
                          delimiter=",", skip_header=1)
    parts = parts_from_f0_table(table[:, 0] / 1000.0, np.nan_to_num(table[:, 1:]).T,
                                ["soprano", "alto", "tenor", "bass"])
    path = Path(folder) / "nino_dios_satb.mid"
    write_midi(parts, path)
    return path


def _track_modes(mixture: np.ndarray, rate: int, modes, score_fn, refiners=None) -> dict:
    """{mode: (F0Tracks, seconds)} for one mixture [N]; score_fn() -> the score for the informed modes. A refined
    mode (``<base>+<how>``) reuses its base mode's tracks and adds the refinement's seconds to the base's."""
    import time

    from engine.f0 import track_voices

    base_done: dict = {}
    out = {}
    for mode in modes:
        base, _, refined = mode.partition("+")
        if base not in ("blind", "informed") or (refined and refined not in (refiners or {})):
            raise ValueError(f"unknown F0 mode {mode!r} (refiners given: {sorted(refiners or {})})")
        if base not in base_done:
            score = score_fn() if base == "informed" else None
            t0 = time.perf_counter()
            tracks = track_voices(mixture, rate, 4, score=score)
            base_done[base] = (tracks, time.perf_counter() - t0)
        tracks, seconds = base_done[base]
        if refined:
            t0 = time.perf_counter()
            tracks = refiners[refined](mixture, rate, tracks)
            seconds += time.perf_counter() - t0
        out[mode] = (tracks, seconds)
    return out


def eval_csd(modes=("blind", "informed"), progress=None, refiners=None) -> dict:
    """Metrics per voice of each tracking mode on CSD, and the seconds each took (refiners: see the module doc)."""
    mixture, rate, reference = csd_mixture_and_reference()
    out = {"dataset": "csd", "audio_s": round(len(mixture) / rate, 2),
           "reference": f"CREPE on the close-mic stems of singer set 4, voiced where confidence > {CREPE_CONFIDENCE}",
           "estimate": ESTIMATE_NOTE}
    with tempfile.TemporaryDirectory() as tmp:
        for mode, (tracks, seconds) in _track_modes(mixture, rate, modes, lambda: csd_score_midi(Path(tmp)),
                                                    refiners).items():
            out[mode] = score_tracks(tracks, reference)
            out[mode]["seconds"] = round(seconds, 2)
    if any(m.startswith("informed") for m in modes):
        out["score"] = ("not shipped as MIDI: rebuilt from f0/midi/Nino_Dios_SATB_gtf0.csv (runs of one pitch -> "
                        "notes), timing of the score, aligned by the tracker")
    return out


def synthetic_excerpts(n_excerpts: int, seconds: float = 8.0, seed: int = 2026):
    """Excerpts of the corpus's test split (pieces never used in training) in which every voice sings at least 30 %
    of the time, deterministic for ``seed``."""
    from engine.corpus.render import draw_excerpt, excerpt_seed, list_pieces, render_excerpt

    pieces = list_pieces("test", 4)
    found, i = 0, 0
    while found < n_excerpts and i < 20 * n_excerpts:
        s = excerpt_seed(seed, "test", i)
        i += 1
        piece, bar = draw_excerpt(pieces, seconds, s)
        excerpt = render_excerpt(piece, bar, 4, seconds, 16000, s)
        if excerpt.f0.voiced.mean(axis=1).min() < 0.3:  # a voice resting through the excerpt: draw another
            continue
        found += 1
        yield excerpt


def eval_synthetic(n_excerpts: int = 12, seconds: float = 8.0, modes=("blind", "informed"), refiners=None) -> dict:
    """Metrics per voice on synthetic test-split excerpts (metrics averaged over excerpts). The score-informed run
    gets the excerpt's own notes as a MIDI score (at the written tempo, without the singers' timing). refiners: see
    the module doc."""
    sums: dict = {mode: [] for mode in modes}
    seconds_taken = {mode: 0.0 for mode in modes}
    audio_s = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for i, ex in enumerate(synthetic_excerpts(n_excerpts, seconds)):
            audio_s += len(ex.mixture) / 16000
            score = Path(tmp) / f"excerpt{i}.mid"

            def score_fn(ex=ex, score=score):
                excerpt_score(ex, score)
                return score

            for mode, (tracks, took) in _track_modes(ex.mixture, 16000, modes, score_fn, refiners).items():
                seconds_taken[mode] += took
                sums[mode].append(score_tracks(tracks, ex.f0))
    out = {"dataset": "synthetic", "split": "test", "excerpts": n_excerpts, "audio_s": round(audio_s, 1),
           "estimate": ESTIMATE_NOTE}
    for mode in modes:
        voices = {}
        for name in ["soprano", "alto", "tenor", "bass", "mean"]:
            rows = [r[name] for r in sums[mode] if name in r]
            voices[name] = {k: round(float(np.mean([r[k] for r in rows])), 4) for k in (*METRICS, STRICT_RPA)}
        voices["seconds"] = round(seconds_taken[mode], 2)
        out[mode] = voices
    if any(m.startswith("informed") for m in modes):
        out["score"] = "each excerpt's written notes (corpus score, nominal tempo) as MIDI"
    return out


def excerpt_score(excerpt, path: Path) -> None:
    """Write the written notes of a corpus excerpt as MIDI, from the score catalogue at the excerpt's nominal tempo
    (no fermata holds) and transposition (the singers' timing, intonation and vibrato are what the tracker must find). Pieces with
    more parts than voices fall back to notes read off the F0 truth (median-filtered, rounded to semitones)."""
    from engine.corpus.scores import TICKS_PER_QUARTER, load_catalogue
    from engine.f0.score import ScorePart, parts_from_f0_table, write_midi

    meta = excerpt.meta
    piece = load_catalogue().get(meta.get("piece", ""))
    if piece is not None and len(piece["parts"]) == excerpt.f0.n_voices:
        s_per_tick = 60.0 / (float(meta["tempo_qpm"]) * TICKS_PER_QUARTER)
        # the excerpt starts at its first bar; the score runs at the nominal tempo from there (fermatas are not
        # held in it: the singers' holds and breaths are for the alignment to find)
        t0 = piece["bars"][int(meta["bars"][0])] * s_per_tick
        end = float(meta["seconds"])
        parts = []
        for name, part in zip(excerpt.f0.names, piece["parts"]):
            notes = np.asarray(part["notes"], dtype=float)
            start = notes[:, 0] * s_per_tick - t0
            stop = start + notes[:, 1] * s_per_tick
            keep = (stop > 0) & (start < end)
            rows = np.stack([np.maximum(start[keep], 0.0), np.minimum(stop[keep], end),
                             notes[keep, 2] + meta.get("transpose_semitones", 0)], axis=1)
            parts.append(ScorePart(name, rows))
        if all(len(p.notes) for p in parts):
            write_midi(parts, path)
            return
    parts = parts_from_f0_table(excerpt.f0.times_s, _median_filter_rows(excerpt.f0.masked(), 9),
                                list(excerpt.f0.names))
    write_midi(parts, path)


def _median_filter_rows(f0: np.ndarray, width: int) -> np.ndarray:
    """[V, T] F0 median-filtered along time (vibrato removed) and snapped to equal-tempered pitches."""
    from scipy.ndimage import median_filter

    out = np.zeros_like(f0)
    for v in range(f0.shape[0]):
        midi = np.where(f0[v] > 0, np.round(69 + 12 * np.log2(np.where(f0[v] > 0, f0[v], 440.0) / 440.0)), 0)
        midi = median_filter(midi, size=width, mode="nearest")
        out[v] = np.where(midi > 0, 440.0 * 2 ** ((midi - 69) / 12), 0.0)
    return out
