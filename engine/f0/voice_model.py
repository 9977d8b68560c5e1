"""A learned voice-role model for the blind assignment: for every F0 candidate of a frame, the probability that
the soprano, alto, tenor or bass sings it.

Harmonic salience says *that* something sounds at a pitch; in a homophonic SATB chord it does not say *who*: a
weak soprano note and the alto's strong one look alike, and the assignment then lets a voice take its
neighbour's note. What says who is mostly the candidate's place in the chord -- the soprano is the highest sung
note, the bass the lowest --, its register, and whether it could be a lower voice's overtone. This module turns
those into a few numbers per candidate and a small multi-label MLP (4 sigmoids: a candidate may be two voices in
unison) judges them. The assignment multiplies each voice's reward by its probability
(:func:`engine.f0.assign.assign_voices`, ``voice_weights``).

Trained with ``motet train f0 --voices-model`` on the synthetic choir corpus's train split only (never CSD).
Weights: ``assets/models/f0_voice.pt`` (a few kB) and its card.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from engine.datasets import assets_dir
from engine.errors import MotetError

MODEL_PATH = Path("models") / "f0_voice.pt"
STRONG = 0.35  # a candidate at least this share of the frame's strongest is 'strong' (ranks count only those)
N_FEATURES = 21
PROBABLE = 0.5  # a candidate the learned salience gives at least this probability is 'probable'
HIDDEN = 48
CONTEXT = 31  # frames (about 0.5 s) over which the chord's highest/lowest strong pitch is smoothed


def candidate_features(f0: np.ndarray, strength: np.ndarray, probability: np.ndarray | None) -> np.ndarray:
    """[T, K, N_FEATURES] float32 features of each candidate (f0, strength, probability: [T, K]; 0 = none):
    register, strength vs the frame's strongest, learned salience probability, rank from the top and from the
    bottom among the frame's strong candidates, their count, the intervals to the next strong candidate above
    and below, whether it lies on the 2nd/3rd/4th harmonic of a strong lower candidate or has one an octave
    below, and its distance to the (median-smoothed) highest and lowest strong pitch of the surrounding 0.5 s."""
    from scipy.ndimage import median_filter

    n_frames, k = f0.shape
    valid = (f0 > 0) & (strength > 0)
    top = strength.max(axis=1, keepdims=True)
    rel = np.where(valid, strength / np.maximum(top, 1e-12), 0.0)
    strong = valid & (rel >= STRONG)
    semis = np.where(valid, 12 * np.log2(np.where(valid, f0, 55.0) / 55.0), 0.0)  # semitones above A1
    s_strong = np.where(strong, semis, np.nan)
    above = (s_strong[:, None, :] > semis[:, :, None] + 0.5)  # [T, j, i]: strong i above candidate j
    below = (s_strong[:, None, :] < semis[:, :, None] - 0.5)
    rank_top = above.sum(axis=2)
    rank_bottom = below.sum(axis=2)
    n_strong = strong.sum(axis=1, keepdims=True) + np.zeros((1, k))
    diff = s_strong[:, None, :] - semis[:, :, None]  # [T, j, i]
    with np.errstate(invalid="ignore"):
        gap_up = np.nanmin(np.where(above, diff, np.nan), axis=2, initial=np.inf)
        gap_down = np.nanmin(np.where(below, -diff, np.nan), axis=2, initial=np.inf)
    gap_up = np.minimum(np.nan_to_num(gap_up, nan=24.0, posinf=24.0), 24.0)
    gap_down = np.minimum(np.nan_to_num(gap_down, nan=24.0, posinf=24.0), 24.0)
    harm = []
    for h in (2, 3, 4):
        interval = 12 * np.log2(h)
        hit = below & (np.abs(diff + interval) < 0.35)
        harm.append(hit.any(axis=2))
    sub = (valid[:, None, :] & (np.abs(np.where(valid[:, None, :], semis[:, None, :], -99) - semis[:, :, None] + 12)
                                < 0.35)).any(axis=2)
    prob = np.zeros_like(rel) if probability is None else np.where(valid, probability, 0.0)
    probable = valid & (prob >= PROBABLE) & ~(harm[0] | harm[1] | harm[2])
    s_prob = np.where(probable, semis, np.nan)
    p_above = (s_prob[:, None, :] > semis[:, :, None] + 0.5).sum(axis=2)
    p_below = (s_prob[:, None, :] < semis[:, :, None] - 0.5).sum(axis=2)
    n_probable = probable.sum(axis=1, keepdims=True) + np.zeros((1, k))
    prob_rel = prob / np.maximum(prob.max(axis=1, keepdims=True), 1e-6)
    any_strong = strong.any(axis=1)
    hi = _fill(np.where(any_strong, np.where(strong, semis, -np.inf).max(axis=1), np.nan))
    lo = _fill(np.where(any_strong, np.where(strong, semis, np.inf).min(axis=1), np.nan))
    hi = median_filter(hi, size=CONTEXT, mode="nearest")
    lo = median_filter(lo, size=CONTEXT, mode="nearest")
    out = np.stack([
        semis / 48.0, rel, np.zeros_like(rel) if probability is None else probability,
        np.minimum(rank_top, 5) / 5.0, np.minimum(rank_bottom, 5) / 5.0, np.minimum(n_strong, 8) / 8.0,
        gap_up / 24.0, gap_down / 24.0, harm[0], harm[1], harm[2], sub,
        np.clip((semis - hi[:, None]) / 24.0, -1, 1), np.clip((semis - lo[:, None]) / 24.0, -1, 1),
        strong, (hi - lo)[:, None] / 36.0 + np.zeros((1, k)),
        np.minimum(p_above, 5) / 5.0, np.minimum(p_below, 5) / 5.0, np.minimum(n_probable, 8) / 8.0, prob_rel,
        probable,
    ], axis=2).astype(np.float32)
    return np.where(valid[:, :, None], out, 0.0)


def _fill(x: np.ndarray) -> np.ndarray:
    """NaNs of [T] replaced by the nearest known value (the median of all if none is known)."""
    ok = np.isfinite(x)
    if not ok.any():
        return np.zeros_like(x)
    idx = np.arange(len(x))
    return np.interp(idx, idx[ok], x[ok])


def build_model(n_inputs: int = N_FEATURES):
    """MLP: n_inputs (:data:`N_FEATURES`; the second stage :data:`N_CONTEXT_INPUTS`) -> HIDDEN -> HIDDEN -> 4
    logits (soprano, alto, tenor, bass)."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(n_inputs, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
                         nn.Linear(HIDDEN, 4))


def model_file() -> Path:
    return assets_dir() / MODEL_PATH


STACK_PATH = Path("models") / "f0_voice_context.pt"


@lru_cache(maxsize=1)
def load_stack() -> list[tuple[np.ndarray, np.ndarray]] | None:
    """The second-stage MLP's (weight, bias) pairs, or None when not shipped."""
    return _load_layers(assets_dir() / STACK_PATH)


@lru_cache(maxsize=1)
def load_weights() -> list[tuple[np.ndarray, np.ndarray]] | None:
    """The MLP's (weight, bias) pairs as numpy arrays (inference needs no torch), or None when not shipped."""
    return _load_layers(model_file())


def _load_layers(path: Path) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """(weight, bias) numpy pairs of the sequential MLP saved at ``path``; None when there is no file."""
    if not path.is_file():
        return None
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)["model"]
        layers = sorted({key.split(".")[0] for key in state}, key=int)
        return [(state[f"{i}.weight"].numpy().astype(np.float32), state[f"{i}.bias"].numpy().astype(np.float32))
                for i in layers]
    except Exception as err:
        raise MotetError(f"{path}: unreadable F0 voice-role weights ({err})") from None


def role_mlp(weights: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> np.ndarray:
    """Sigmoid outputs [..., 4] of the ReLU MLP ``weights`` on features x [..., D]."""
    h = x.reshape(-1, x.shape[-1])
    for i, (w, b) in enumerate(weights):
        h = h @ w.T + b
        if i < len(weights) - 1:
            h = np.maximum(h, 0.0)
    return (1.0 / (1.0 + np.exp(-h))).reshape(x.shape[:-1] + (4,))


CONTEXT_OFFSETS = (-16, -8, -4, 4, 8, 16)  # frames (+-64..256 ms) whose judgements the second stage reads
N_CONTEXT_INPUTS = N_FEATURES + 4 + 4 * len(CONTEXT_OFFSETS)


def context_features(f0: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """[T, K, 4 + 4 * len(CONTEXT_OFFSETS)]: the first stage's voice probabilities ``prob`` ([T, K, 4]) of each
    candidate, and for every offset o of :data:`CONTEXT_OFFSETS` the highest probability per voice among the
    candidates of frame t + o within half a semitone of it: whether the same pitch was (or will be) judged the
    soprano's, the alto's ... a quarter of a second away. f0: [T, K] Hz (0 = none)."""
    n_frames = f0.shape[0]
    semis = np.where(f0 > 0, 12 * np.log2(np.where(f0 > 0, f0, 1.0) / 55.0), -99.0)
    out = [prob]
    for o in CONTEXT_OFFSETS:
        j = np.clip(np.arange(n_frames) + o, 0, n_frames - 1)
        near = (np.abs(semis[:, :, None] - semis[j][:, None, :]) < 0.5) & (f0[j][:, None, :] > 0)  # [T, K, K']
        out.append(np.where(near[..., None], prob[j][:, None, :, :], 0.0).max(axis=2))
    return np.concatenate(out, axis=2).astype(np.float32)


def voice_probabilities(f0: np.ndarray, strength: np.ndarray, probability: np.ndarray | None) -> np.ndarray | None:
    """[4, T, K] probability that soprano/alto/tenor/bass sings each candidate ([T, K] inputs), or None when no
    weights are shipped. With the second stage shipped (:data:`STACK_PATH`), each candidate's judgement is
    revised from the first stage's judgements of the same pitch up to 256 ms before and after."""
    weights = load_weights()
    if weights is None:
        return None
    x = candidate_features(f0, strength, probability)
    prob = role_mlp(weights, x)
    stack = load_stack()
    if stack is not None:
        prob = role_mlp(stack, np.concatenate([x, context_features(f0, prob)], axis=2))
    return np.moveaxis(prob, 2, 0)


def candidate_labels(f0: np.ndarray, truth_hz: np.ndarray, truth_voiced: np.ndarray, tol_cents: float = 50.0):
    """[T, K, 4] float32: 1 where voice v's true F0 is within ``tol_cents`` of the candidate. f0: [T, K];
    truth_hz, truth_voiced: [4, T]."""
    out = np.zeros(f0.shape + (4,), dtype=np.float32)
    for v in range(4):
        on = truth_voiced[v] & (truth_hz[v] > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            cents = np.abs(1200 * np.log2(f0 / np.where(on, truth_hz[v], 1.0)[:, None]))
        out[:, :, v] = (on[:, None] & (f0 > 0) & (cents < tol_cents)).astype(np.float32)
    return out
