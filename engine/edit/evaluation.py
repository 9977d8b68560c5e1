"""``motet eval edit`` and ``motet bench edit``: does each edit do what it says, and how fast.

Quality, per voice (synthetic voices with known truth, and real stems):

- pitch +300 cents: median F0 change (motet's tracker) minus 300 cents; formant shift factor (LTAS envelope
  alignment, :func:`engine.edit.measure.formant_shift`) and F1-F3 ratios;
- formant x1.10: the same two, F0 change in cents;
- breathiness +6 dB: change of the measured HNR (Boersma autocorrelation);
- neutral edits: SI-SDR of the resynthesis path (and of the identity fast path);
- the same +300 cents by plain resampling and by a phase vocoder without envelope preservation.

Real stems: those of a separation folder (``--dir``) or, as stand-ins for separated stems, the close-mic singers of
CSD singer set 4 (evaluation data, never trained on) with CREPE F0 as θ. Realistic synthetic stems: an SATB
chorale from engine.corpus (test split), one dry singer per part, and two singers per part in a room.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import numpy as np

from engine.edit import baselines, measure
from engine.edit.edits import VoiceEdits
from engine.edit.render import VoiceRenderer
from engine.edit.synthetic_voice import synth_voice
from engine.edit.theta_voice import ThetaVoice
from engine.jobs import Progress, report

CSD_SET4 = {"soprano": "Soprano_405", "alto": "ContraAlt_407", "tenor": "tenor4-06-2", "bass": "Bajos_404"}
TARGETS = {"pitch_f0_cents": 10.0, "pitch_formant_pct": 3.0, "formant_target": 1.10, "formant_tol": 0.02,
           "formant_f0_cents": 5.0, "breath_db": 6.0, "breath_tol_db": 1.5, "neutral_si_sdr_db": 40.0}


def synthetic_voices(sample_rate: int = 16000, duration_s: float = 4.0) -> dict[str, tuple]:
    """{name: (samples, θ)} sung vowels in the four ranges, with glide and vibrato, known F0."""
    specs = {"bass": (110.0, (650, 1100, 2500, 3300)), "tenor": (160.0, (700, 1200, 2600, 3400)),
             "alto": (230.0, (750, 1300, 2700, 3500)), "soprano": (330.0, (800, 1400, 2800, 3600))}
    out = {}
    for i, (name, (f0, formants)) in enumerate(specs.items()):
        v = synth_voice(duration_s, sample_rate, f0, formants_hz=formants, hnr_db=18.0, vibrato_cents=40.0,
                        glide_cents=300.0, seed=i)
        out[name] = (v.samples, v.theta)
    return out


def formant_measure_validation(f0s_hz=(110, 160, 230, 330, 440, 500, 600, 700, 800, 900), sample_rate: int = 16000,
                               duration_s: float = 4.0) -> dict:
    """The formant-shift measure on voices whose formants are known: for each F0, a sung vowel (300-cent glide,
    40-cent vibrato, HNR 18 dB) and the same vowel synthesised with every formant and bandwidth x1.10 (a true
    warp, no renderer involved) or x1.00 (another noise draw), and the same vowel sung 300 cents higher (gliding, and
    on a steady note): {f0: {"true_1.10": α, "true_1.00": α, "pitch+300_1.00": α, ...}} plus the worst errors of the
    new (pitch-corrected average envelope) and the old (LPC of the LTAS) measure."""
    formants, bandwidths = (800.0, 1400.0, 2800.0, 3600.0), (80.0, 90.0, 120.0, 150.0)
    out: dict = {}
    for f0 in f0s_hz:
        kw = dict(hnr_db=18.0, vibrato_cents=40.0, glide_cents=300.0)
        x = synth_voice(duration_s, sample_rate, f0, formants_hz=formants, bandwidths_hz=bandwidths, seed=1, **kw)
        y = synth_voice(duration_s, sample_rate, f0, formants_hz=[1.1 * f for f in formants],
                        bandwidths_hz=[1.1 * b for b in bandwidths], seed=2, **kw)
        z = synth_voice(duration_s, sample_rate, f0, formants_hz=formants, bandwidths_hz=bandwidths, seed=3, **kw)
        fmin = max(200.0, 1.3 * f0)
        up = 2 ** (300 / 1200)
        fmin_up = max(200.0, 1.3 * f0 * up)
        pairs = {}  # the same vowel 300 cents higher (formants kept), gliding and on a steady note
        for label, glide in (("pitch+300_1.00", 300.0), ("steady_pitch+300_1.00", 0.0)):
            kw2 = dict(kw, glide_cents=glide)
            a = synth_voice(duration_s, sample_rate, f0, formants_hz=formants, bandwidths_hz=bandwidths, seed=4, **kw2)
            b = synth_voice(duration_s, sample_rate, f0 * up, formants_hz=formants, bandwidths_hz=bandwidths, seed=5,
                            **kw2)
            pairs[label] = round(measure.formant_shift(a.samples, b.samples, sample_rate, fmin=fmin_up), 4)
            pairs[label.replace("_1.00", "_ltas_old")] = round(measure.formant_shift_ltas(
                a.samples, b.samples, sample_rate, fmin=fmin_up), 4)
        out[str(f0)] = {**pairs,
                        "true_1.10": round(measure.formant_shift(x.samples, y.samples, sample_rate, fmin=fmin), 4),
                        "true_1.00": round(measure.formant_shift(x.samples, z.samples, sample_rate, fmin=fmin), 4),
                        "true_1.10_ltas_old": round(measure.formant_shift_ltas(x.samples, y.samples, sample_rate,
                                                                               fmin=fmin), 4),
                        "true_1.00_ltas_old": round(measure.formant_shift_ltas(x.samples, z.samples, sample_rate,
                                                                               fmin=fmin), 4)}
    for suffix in ("", "_ltas_old"):
        out[f"worst_error{suffix}"] = round(max(max(abs(v[f"true_1.10{suffix}"] - 1.10), abs(v[f"true_1.00{suffix}"] - 1))
                                                for k, v in out.items() if not k.startswith("worst")), 4)
        out[f"worst_error_pitch+300{suffix}"] = round(max(
            abs(v["pitch+300_" + ("ltas_old" if suffix else "1.00")] - 1) for k, v in out.items()
            if not k.startswith("worst")), 4)
    return out


def rendered_vs_true_warp(f0_hz: float, formant: float = 1.10, sample_rate: int = 16000, duration_s: float = 4.0,
                          formants_hz=(800.0, 1400.0, 2800.0, 3600.0)) -> dict:
    """How close a rendered formant edit comes to the truth, without any formant measure: the harmonic amplitudes
    (dB, F0 from θ, 1.3·F0 to 4 kHz) of the rendered sung vowel against those of the same vowel synthesised with
    its formants and bandwidths x ``formant``; rms dB after removing the median level difference, and the same
    for the unedited vowel (how far the truth is from doing nothing)."""
    from engine.edit.pooled_envelope import harmonic_samples

    bandwidths = (80.0, 90.0, 120.0, 150.0)
    kw = dict(hnr_db=30.0, vibrato_cents=40.0, glide_cents=300.0, seed=1)
    v = synth_voice(duration_s, sample_rate, f0_hz, formants_hz=formants_hz, bandwidths_hz=bandwidths, **kw)
    truth = synth_voice(duration_s, sample_rate, f0_hz, formants_hz=[formant * f for f in formants_hz],
                        bandwidths_hz=[formant * b for b in bandwidths], **kw)
    y = VoiceRenderer(v.samples, sample_rate, v.theta).render(VoiceEdits().add("formant", formant))
    th = v.theta
    times = np.arange(len(th.f0_hz)) * th.hop_s

    def amplitudes(s):
        _, f, db, _ = harmonic_samples(s, sample_rate, times, th.f0_hz, th.voiced)
        return f, db

    f, true_db = amplitudes(truth.samples)
    band = (f > 1.3 * f0_hz) & (f < 4000)
    return {"rendered_rms_db": level_free_rms_db(amplitudes(y)[1], true_db, band),
            "unedited_rms_db": level_free_rms_db(amplitudes(v.samples)[1], true_db, band)}


def level_free_rms_db(db: np.ndarray, true_db: np.ndarray, band: np.ndarray) -> float:
    """rms dB of ``db − true_db`` over ``band`` (harmonic amplitudes [S]) after removing their median difference."""
    e = (db - true_db)[band]
    return round(float(np.sqrt(np.mean((e - np.median(e)) ** 2))), 2)


def truth_distance(truth: np.ndarray, sample_rate: int, f0_hz: np.ndarray, voiced: np.ndarray):
    """(fmin Hz, distance): fmin = max(200 Hz, 1.3 x the voice's median F0), the formant measures' lower band
    edge; distance(stem) = rms dB of the stem's harmonic amplitudes from those of ``truth`` (a truly warped
    stem; F0 [T] on the 16-ms frames) between fmin and 4 kHz, level-free (:func:`level_free_rms_db`)."""
    from engine.edit.pooled_envelope import harmonic_samples
    from engine.f0.tracks import F0_HOP_S

    times = np.arange(len(f0_hz)) * F0_HOP_S
    fmin = max(200.0, 1.3 * float(np.median(f0_hz[voiced])))

    def amplitudes_db(s):
        return harmonic_samples(s, sample_rate, times, f0_hz, voiced, quiet_db=300.0)

    _, f, true_db, _ = amplitudes_db(truth)
    band = (f > fmin) & (f < 4000)
    return fmin, lambda s: level_free_rms_db(amplitudes_db(s)[2], true_db, band)


def corpus_true_warp(singers_per_part: int, room: bool, factor: float = 1.10, seconds: float = 12.0,
                     pure_tract: bool = False) -> dict:
    """Formant measures and the renderer against realistic singers whose formants are truly scaled: the corpus
    excerpt of :func:`corpus_stems` sung again by the same singers (same notes, timing, vibrato, jitter, vowels,
    noise draws) with each singer's vocal-tract length factor ``formant_scale`` x ``factor`` (every formant and the
    fixed higher poles scale; bandwidths do not, and sopranos' F1 stays >= 1.08 F0, engine.corpus.singer).
    Per voice: the measured shift of the truth (new and old measure), of the renderer's x``factor`` edit of the
    original, and the rms dB distance of the rendered and of the unedited harmonics from the truth's.

    ``pure_tract``: the truth is instead an exact frequency warp of each singer's vocal tract, |H(f / factor)|
    (the response engine.corpus draws, F1 tuning included, read at f / factor: every pole and bandwidth scales, and
    unlike moving the digital resonators' poles no sampling-rate artefact is added); same random draws; the glottal
    source, its roll-off and the presence shelf stay. This separates what engine.corpus's own truth does not scale
    (bandwidths, sopranos' F1 >= 1.08 F0, the top pole capped at 0.45 x rate; and at 16 kHz, digital resonators
    with scaled poles gain 0.5-2 dB more than a warp at 2-5 kHz) from the errors of the measure and the renderer."""
    import dataclasses

    from engine.corpus.render import render_excerpt
    from engine.f0.tracks import F0_HOP_S

    def warped(singer):
        if pure_tract:
            return dataclasses.replace(singer, tract_warp=factor)
        return dataclasses.replace(singer, formant_scale=singer.formant_scale * factor)

    piece, bar = CORPUS_PIECE
    kw = dict(seconds=seconds, rate=16000, seed=1, room=room, singers_per_part=singers_per_part)
    ex = render_excerpt(piece, bar, 4, **kw)
    truth = render_excerpt(piece, bar, 4, adjust_singer=warped, **kw)
    out = {}
    for v, name in enumerate(ex.f0.names):
        f0, voiced = ex.f0.f0_hz[v], ex.f0.voiced[v]
        x, t = ex.stems[v].astype(np.float32), truth.stems[v].astype(np.float32)
        y = VoiceRenderer(x, 16000, ThetaVoice(name, f0, voiced, F0_HOP_S)).render(VoiceEdits().add("formant", factor))
        fmin, rms = truth_distance(t, 16000, f0, voiced)
        out[name] = {"truth_shift": round(measure.formant_shift(x, t, 16000, fmin=fmin), 4),
                     "truth_shift_ltas_old": round(measure.formant_shift_ltas(x, t, 16000, fmin=fmin), 4),
                     "rendered_shift": round(measure.formant_shift(x, y, 16000, fmin=fmin), 4),
                     "rendered_shift_ltas_old": round(measure.formant_shift_ltas(x, y, 16000, fmin=fmin), 4),
                     "rendered_vs_truth_rms_db": rms(y), "unedited_vs_truth_rms_db": rms(x)}
    return out


def leakage_check(separation_dir: Path, true_dir: Path, factor: float = 1.10) -> dict:
    """Is a separated stem's formant reading its leakage? For each voice of a separation of the demo choir and the
    true stems of that choir (``motet data demo -o TRUE_DIR --stems``: ``choir-demo.<voice>.flac``, whose sum is
    the mixture): the energy of the true stem over that of the error (separated − true) per band, in dB, and the
    formant x``factor`` edit rendered on the true stem and on the separated stem with the same θ, each measured
    by the new and the old measure."""
    from engine.edit.theta_voice import load_separation_dir
    from engine.errors import MotetError
    from engine.io.audio import load_audio

    sep = load_separation_dir(separation_dir)
    bands = ((0, 250), (250, 500), (500, 1000), (1000, 2000), (2000, 4000), (4000, 8000))
    out = {}
    for name in sep.names:
        path = Path(true_dir) / f"choir-demo.{name}.flac"
        if not path.exists():
            raise MotetError(f"{path}: no true stem (write them with 'motet data demo -o DIR --stems')")
        sep_audio, true_audio = load_audio(sep.stem_path(name), mono=True), load_audio(path, mono=True)
        if sep_audio.sample_rate != true_audio.sample_rate:
            raise MotetError(f"{path}: {true_audio.sample_rate} Hz, the separated stem is {sep_audio.sample_rate} Hz")
        sr = sep_audio.sample_rate
        n = min(len(sep_audio.mono()), len(true_audio.mono()))
        s, t = sep_audio.mono()[:n].astype(np.float32), true_audio.mono()[:n].astype(np.float32)
        true_spec, err_spec = np.abs(np.fft.rfft(t)) ** 2, np.abs(np.fft.rfft(s - t)) ** 2
        f = np.fft.rfftfreq(n, 1 / sr)
        sdr = {f"{a}-{b}_hz": round(float(10 * np.log10(true_spec[(f >= a) & (f < b)].sum()
                                                        / max(err_spec[(f >= a) & (f < b)].sum(), 1e-20))), 1)
               for a, b in bands}
        theta = sep.theta(name)
        fmin = max(200.0, 1.3 * measure.median_f0(t, sr))
        res = {"true_over_error_db": sdr}
        for label, x in (("true_stem", t), ("separated_stem", s)):
            y = VoiceRenderer(x, sr, theta).render(VoiceEdits().add("formant", factor))
            res[label] = {"formant_shift": round(measure.formant_shift(x, y, sr, fmin=fmin), 4),
                          "formant_shift_ltas_old": round(measure.formant_shift_ltas(x, y, sr, fmin=fmin), 4)}
        out[name] = res
    return out


def demo_true_warp(separation_dir: Path, true_dir: Path, factor: float = 1.10) -> dict:
    """The separated demo against its own truth: the demo choir (``motet data demo``'s defaults: the same piece,
    singers, room and random draws) sung again with every singer's vocal tract exactly warped, |H(f / factor)|
    (as :func:`corpus_true_warp` with ``pure_tract``). Per voice: the x``factor`` edit rendered on the true stem and
    on the separated stem (θ from the separation folder), each as the rms dB distance of its harmonic amplitudes
    from the truly warped true stem's (and the unedited stem's, for scale) and as the measured shift; the truth's
    own measured shift. The unwarped render must equal the true stems in ``true_dir`` (else MotetError)."""
    import dataclasses

    from engine.corpus import demo
    from engine.edit.theta_voice import load_separation_dir
    from engine.errors import MotetError
    from engine.io.audio import load_audio

    base = demo.render_demo()
    ex, gain = base.excerpt, base.gain
    warped = demo.render_demo(adjust_singer=lambda s: dataclasses.replace(s, tract_warp=factor)).excerpt
    sep = load_separation_dir(separation_dir)
    sr = demo.DEMO_RATE
    out = {}
    for v, name in enumerate(ex.f0.names):
        true_stem = load_audio(Path(true_dir) / f"choir-demo.{name}.flac", mono=True).mono().astype(np.float32)
        x, t = (ex.stems[v] * gain).astype(np.float32), (warped.stems[v] * gain).astype(np.float32)
        n = min(len(x), len(true_stem))
        if np.max(np.abs(x[:n] - true_stem[:n])) > 1e-4:
            raise MotetError(f"{true_dir}: the true stems are not those of 'motet data demo' (defaults)")
        separated = load_audio(sep.stem_path(name), mono=True).mono().astype(np.float32)
        n = min(n, len(separated))
        x, t, separated = x[:n], t[:n], separated[:n]
        fmin, rms = truth_distance(t, sr, ex.f0.f0_hz[v], ex.f0.voiced[v])
        res = {"truth_shift": round(measure.formant_shift(x, t, sr, fmin=fmin), 4)}
        for label, stem in (("true_stem", x), ("separated_stem", separated)):
            y = VoiceRenderer(stem, sr, sep.theta(name)).render(VoiceEdits().add("formant", factor))
            res[label] = {"rendered_shift": round(measure.formant_shift(stem, y, sr, fmin=fmin), 4),
                          "rendered_vs_truth_rms_db": rms(y), "unedited_vs_truth_rms_db": rms(stem)}
        out[name] = res
    return out


def csd_stand_in_stems(start_s: float = 20.0, duration_s: float = 20.0) -> dict[str, tuple]:
    """{voice: (samples [N] at 16 kHz, θ from CREPE F0, confidence > 0.5)} for CSD singer set 4, one excerpt."""
    from engine.datasets import dataset_dir
    from engine.io.audio import load_audio

    root = dataset_dir("csd-nino-dios")
    out = {}
    for voice, stem in CSD_SET4.items():
        audio = load_audio(root / "audio" / f"nino_{stem}.flac", mono=True)
        sr = audio.sample_rate
        x = audio.mono()[int(start_s * sr):int((start_s + duration_s) * sr)]
        table = np.loadtxt(root / "f0" / "crepe" / f"nino_{stem}.f0.csv", delimiter=",", skiprows=1)
        t, f0, conf = table[:, 0] - start_s, table[:, 1], table[:, 2]
        keep = (t >= -0.1) & (t <= duration_s + 0.1)
        f0 = np.where(conf[keep] > 0.5, f0[keep], 0.0)
        theta = ThetaVoice.from_f0(voice, np.maximum(t[keep], 0.0), f0)
        out[voice] = (x.astype(np.float32), sr, theta)
    return out


CORPUS_PIECE = ("bach/bwv11.6", 2)  # a test-split chorale of engine.corpus, from bar 2


def corpus_stems(singers_per_part: int, room: bool, seconds: float = 12.0) -> dict[str, tuple]:
    """{voice: (stem [N] at 16 kHz, θ from the true F0)} of an SATB excerpt sung by engine.corpus singers
    (jitter, shimmer, vibrato, portamento; ``singers_per_part`` per stem, optionally in a room)."""
    from engine.corpus.render import render_excerpt
    from engine.f0.tracks import F0_HOP_S

    piece, bar = CORPUS_PIECE
    ex = render_excerpt(piece, bar, 4, seconds=seconds, rate=16000, seed=1, room=room,
                        singers_per_part=singers_per_part)
    return {name: (ex.stems[v].astype(np.float32), 16000,
                   ThetaVoice(name, ex.f0.f0_hz[v], ex.f0.voiced[v], F0_HOP_S))
            for v, name in enumerate(ex.f0.names)}


def _cents(a_hz: float, b_hz: float) -> float:
    return float(1200 * np.log2(b_hz / a_hz)) if a_hz > 0 and b_hz > 0 else float("nan")


def evaluate_voice(samples: np.ndarray, sample_rate: int, theta: ThetaVoice, envelope: str = "stem") -> dict:
    """All quality figures for one voice (see module docstring); times in ms. ``envelope="theta"``: the ablation
    that whitens by θ's LSF envelope instead of the stem's own."""
    x = np.asarray(samples, dtype=np.float32)
    renderer = VoiceRenderer(x, sample_rate, theta, envelope=envelope)
    f0_in = measure.median_f0(x, sample_rate)
    res: dict = {"median_f0_hz": round(f0_in, 1)}

    def timed(edits, **kw):
        t = time.perf_counter()
        y = renderer.render(edits, **kw)
        return y, 1000 * (time.perf_counter() - t)

    renderer.analysis(*renderer.grid.frame_range(0, len(x)))  # analyse once (cached), as the app does
    ratio = 2 ** (300 / 1200)
    fmin = max(200.0, 1.3 * f0_in * ratio)
    y, ms = timed(VoiceEdits().add("pitch", 300))
    f0err = measure.median_f0_ratio_cents(x, y, sample_rate, 300.0)
    res["pitch+300"] = {"f0_error_cents": round(f0err["error_cents"], 2),
                        "formant_shift": round(measure.formant_shift(x, y, sample_rate, fmin=fmin), 4),
                        "hnr_change_db": round(measure.voice_hnr_db(y, sample_rate, f0_in * ratio)
                                               - measure.voice_hnr_db(x, sample_rate, f0_in), 2),
                        "render_ms": round(ms, 1)}
    res["f0_tracker"] = f0err["tracker"]
    y = baselines.resample_pitch(x, sample_rate, 300)
    res["baseline_resample+300"] = {
        "f0_error_cents": round(_cents(f0_in, measure.median_f0(y, sample_rate)) - 300, 2),
        "formant_shift": round(measure.formant_shift(x, y, sample_rate, fmin=fmin), 4),
        "duration_ratio": round(len(y) / len(x), 3)}
    t = time.perf_counter()
    y = baselines.phase_vocoder_pitch(x, sample_rate, 300)
    ms = 1000 * (time.perf_counter() - t)
    res["baseline_phase_vocoder+300"] = {
        "f0_error_cents": round(measure.median_f0_ratio_cents(x, y, sample_rate, 300.0)["error_cents"], 2),
        "formant_shift": round(measure.formant_shift(x, y, sample_rate, fmin=fmin), 4),
        "hnr_change_db": round(measure.voice_hnr_db(y, sample_rate, f0_in * ratio)
                               - measure.voice_hnr_db(x, sample_rate, f0_in), 2),
        "render_ms": round(ms, 1)}
    res["pitch+300"]["formant_shift_ltas_old"] = round(measure.formant_shift_ltas(x, renderer.render(
        VoiceEdits().add("pitch", 300)), sample_rate, fmin=fmin), 4)
    y, ms = timed(VoiceEdits().add("formant", 1.10))
    res["formant*1.10"] = {"formant_shift": round(measure.formant_shift(x, y, sample_rate,
                                                                        fmin=max(200.0, 1.3 * f0_in)), 4),
                           "formant_shift_ltas_old": round(measure.formant_shift_ltas(
                               x, y, sample_rate, fmin=max(200.0, 1.3 * f0_in)), 4),
                           "f0_error_cents": round(measure.median_f0_ratio_cents(x, y, sample_rate)["error_cents"], 2),
                           "render_ms": round(ms, 1)}
    y, ms = timed(VoiceEdits().add("breathiness", 6))
    res["breathiness+6"] = {"hnr_before_db": round(measure.voice_hnr_db(x, sample_rate, f0_in), 2),
                            "hnr_change_db": round(measure.voice_hnr_db(y, sample_rate, f0_in)
                                                   - measure.voice_hnr_db(x, sample_rate, f0_in), 2),
                            "loudness_change_db": round(float(10 * np.log10(np.mean(y ** 2) / np.mean(x ** 2))), 2),
                            "render_ms": round(ms, 1)}
    y, ms = timed(VoiceEdits().add("pitch", 0).add("formant", 1.0), force_resynthesis=True)
    res["neutral"] = {"si_sdr_db_resynthesis": round(measure.si_sdr_db(x, y), 1),
                      "identity": bool(np.array_equal(renderer.render(VoiceEdits()), x)), "render_ms": round(ms, 1)}
    return res


def check(res: dict) -> dict:
    """{target: bool} for one voice's figures against the issue's targets."""
    t = TARGETS
    return {
        "pitch_f0": abs(res["pitch+300"]["f0_error_cents"]) <= t["pitch_f0_cents"],
        "pitch_formants": abs(res["pitch+300"]["formant_shift"] - 1) * 100 <= t["pitch_formant_pct"],
        "formant_shift": abs(res["formant*1.10"]["formant_shift"] - t["formant_target"]) <= t["formant_tol"],
        "formant_f0": abs(res["formant*1.10"]["f0_error_cents"]) <= t["formant_f0_cents"],
        "breathiness": abs(-res["breathiness+6"]["hnr_change_db"] - t["breath_db"]) <= t["breath_tol_db"],
        "neutral": res["neutral"]["si_sdr_db_resynthesis"] >= t["neutral_si_sdr_db"] and res["neutral"]["identity"],
    }


def evaluate(sets: tuple = ("synthetic", "corpus", "csd"), separation_dir: Optional[Path] = None, csd_seconds: float = 20.0,
             progress: Optional[Progress] = None, envelope: str = "stem", true_stems: Optional[Path] = None) -> dict:
    """{set: {voice: figures + "pass": {target: bool}}} plus a summary of passes per target."""
    jobs = []
    if "synthetic" in sets:
        jobs += [("synthetic", name, x, 16000, th) for name, (x, th) in synthetic_voices().items()]
    if "corpus" in sets:
        jobs += [("corpus_1_singer_dry", name, x, sr, th) for name, (x, sr, th) in corpus_stems(1, False).items()]
        jobs += [("corpus_2_singers_room", name, x, sr, th) for name, (x, sr, th) in corpus_stems(2, True).items()]
    if "csd" in sets:
        jobs += [("csd_close_mic", name, x, sr, th) for name, (x, sr, th) in
                 csd_stand_in_stems(duration_s=csd_seconds).items()]
    if separation_dir is not None:
        from engine.edit.theta_voice import load_separation_dir
        from engine.io.audio import load_audio

        sep = load_separation_dir(separation_dir)
        for name in sep.names:
            audio = load_audio(sep.stem_path(name), mono=True)
            jobs.append(("separation", name, audio.mono(), audio.sample_rate, sep.theta(name)))
    out: dict = {}
    if "synthetic" in sets:
        report(progress, 0.0, "checking the formant measure on true warps")
        out["formant_measure_validation"] = formant_measure_validation()
        out["formant_render_vs_truth"] = {str(f0): rendered_vs_true_warp(f0) for f0 in (160, 330, 500, 700, 900)}
    if "corpus" in sets:
        report(progress, 0.0, "formant measure and renderer on truly scaled corpus singers")
        out["formant_truth_corpus"] = {"1_singer_dry": corpus_true_warp(1, False),
                                       "2_singers_room": corpus_true_warp(2, True)}
        out["formant_truth_corpus_pure_tract"] = {"1_singer_dry": corpus_true_warp(1, False, pure_tract=True),
                                                  "2_singers_room": corpus_true_warp(2, True, pure_tract=True)}
    if true_stems is not None and separation_dir is not None:
        report(progress, 0.0, "separated stems against the true stems (leakage)")
        out["formant_leakage_check"] = leakage_check(separation_dir, true_stems)
        report(progress, 0.0, "separated demo against the truly warped demo")
        out["formant_truth_demo_pure_tract"] = demo_true_warp(separation_dir, true_stems)
    for i, (group, name, x, sr, theta) in enumerate(jobs):
        report(progress, i / len(jobs), f"evaluating edits on {group}/{name}")
        res = evaluate_voice(x, sr, theta, envelope)
        res["pass"] = check(res)
        out.setdefault(group, {})[name] = res
    summary = {}
    for group, voices in out.items():
        if group.startswith("formant_"):
            continue
        keys = next(iter(voices.values()))["pass"].keys()
        summary[group] = {k: f"{sum(v['pass'][k] for v in voices.values())}/{len(voices)}" for k in keys}
    out["summary"] = summary
    return out


def bench(duration_s: float = 10.0, sample_rates=(16000, 44100), repeats: int = 5) -> dict:
    """Milliseconds to re-render ``duration_s`` of one voice after a slider change (analysis cached: ``warm``),
    with the analysis (``cold``), and to the first 0.5-s chunk of the played region; min over ``repeats``.
    ``*_cpu_ms``: CPU time of this process for the same work (what it costs when the machine is not shared; the
    renderer is single-threaded numpy/scipy)."""
    import os

    edits = {
        "pitch": VoiceEdits().add("pitch", 150),
        "breathiness": VoiceEdits().add("breathiness", 6),
        "formant": VoiceEdits().add("formant", 1.1),
        "gain": VoiceEdits().add("gain", -3),
        "vibrato": VoiceEdits().add("vibrato", 1.5),
        "all": VoiceEdits().add("pitch", 150).add("breathiness", 6).add("formant", 1.1).add("tilt", -3)
                           .add("gain", -3).add("vibrato", 1.5),
    }
    out: dict = {"duration_s": duration_s, "cpu_cores": len(os.sched_getaffinity(0)), "budget_ms": 150}
    for sr in sample_rates:
        v = synth_voice(duration_s + 2.0, sr, 160.0, hnr_db=18.0, vibrato_cents=40.0, glide_cents=300.0)
        fig: dict = {}
        cold = []
        for _ in range(max(1, repeats // 2)):
            t = time.perf_counter()
            VoiceRenderer(v.samples, sr, v.theta).render(edits["all"], 1.0, 1.0 + duration_s)
            cold.append(1000 * (time.perf_counter() - t))
        fig["cold_all_ms"] = round(min(cold), 1)
        renderer = VoiceRenderer(v.samples, sr, v.theta)
        renderer.render(edits["all"], 1.0, 1.0 + duration_s)
        for name, e in edits.items():
            times, cpu = [], []
            for _ in range(repeats):
                t, c = time.perf_counter(), time.process_time()
                renderer.render(e, 1.0, 1.0 + duration_s)
                times.append(1000 * (time.perf_counter() - t))
                cpu.append(1000 * (time.process_time() - c))
            fig[f"warm_{name}_ms"] = round(min(times), 1)
            fig[f"warm_{name}_cpu_ms"] = round(min(cpu), 1)
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            next(renderer.chunks(edits["all"], 1.0, 1.0 + duration_s, chunk_s=0.5))
            times.append(1000 * (time.perf_counter() - t))
        fig["first_chunk_0.5s_ms"] = round(min(times), 1)
        fig["n_fft"] = renderer.grid.n_fft
        out[f"{sr}Hz"] = fig
    worst = max(out[f"{sr}Hz"]["warm_all_ms"] for sr in sample_rates)
    out["warm_all_worst_ms"] = worst
    out["warm_all_worst_cpu_ms"] = max(out[f"{sr}Hz"]["warm_all_cpu_ms"] for sr in sample_rates)
    out["load_average_1min"] = round(os.getloadavg()[0], 2)
    out["meets_budget"] = bool(worst <= 150)
    return out
