"""Training of the F0 tracker's two learned parts, the salience (:mod:`engine.f0.salience_model`) and the voice
roles (:mod:`engine.f0.voice_model`), on the synthetic choir corpus.

Excerpts are rendered on the fly by ``engine.corpus.render_excerpt`` from the corpus's train split (valid split
for the reported loss); CSD never enters. Salience targets are Gaussian bumps at every voiced F0 of the excerpt's truth.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from engine.errors import MotetError
from engine.jobs import report


def _render_one(args):
    """(harmonic stack [C, T, F] float16, target [T, F] float16) of one corpus excerpt."""
    split, index, seed, seconds, n_voices = args
    from engine.corpus.render import draw_excerpt, excerpt_seed, list_pieces, render_excerpt
    from engine.f0.salience import grid_hz, magnitude_spectrogram
    from engine.f0.salience_model import harmonic_stack, target_map

    s = excerpt_seed(seed, split, index)
    piece, bar = draw_excerpt(list_pieces(split, n_voices), seconds, s)
    ex = render_excerpt(piece, bar, n_voices, seconds, 16000, s)
    grid = grid_hz()
    mag = magnitude_spectrogram(ex.mixture.astype(np.float64))
    feats = harmonic_stack(mag, grid)
    f0 = ex.f0
    n = min(feats.shape[1], f0.n_frames)
    target = target_map(f0.f0_hz[:, :n], f0.voiced[:, :n], grid)
    return feats[:, :n].astype(np.float16), target.astype(np.float16)


def render_set(split: str, n_excerpts: int, seed: int = 0, seconds: float = 4.0, jobs: int = 2, progress=None):
    """Lists of harmonic stacks and targets for ``n_excerpts`` excerpts of ``split``, voices 2 to 4 mixed."""
    from multiprocessing import get_context

    tasks = [(split, i, seed, seconds, (4, 4, 3, 2)[i % 4]) for i in range(n_excerpts)]
    feats, targets = [], []
    with get_context("fork").Pool(jobs) as pool:
        for i, (f, t) in enumerate(pool.imap(_render_one, tasks, chunksize=4)):
            feats.append(f)
            targets.append(t)
            if i % 50 == 0:
                report(progress, i / n_excerpts, f"rendering {split} {i}/{n_excerpts}")
    return feats, targets


def sample_patches(feats, targets, rng, per_excerpt: int = 600):
    """Training patches [N, C, 5, 3] float32 and labels [N] float32 from harmonic stacks and targets: a third at
    sung F0s, a third at local maxima of the 1 x F0 channel that are not sung (ghosts, overtones), a third at
    random."""
    from engine.f0.salience_model import PATCH

    pt, pf = PATCH[0] // 2, PATCH[1] // 2
    xs, ys = [], []
    for f, y in zip(feats, targets):
        f = f.astype(np.float32)
        y = y.astype(np.float32)
        n_t, n_f = y.shape
        base = f[1]
        peak = np.zeros_like(base, dtype=bool)
        peak[:, 1:-1] = (base[:, 1:-1] > base[:, :-2]) & (base[:, 1:-1] >= base[:, 2:])
        groups = [np.argwhere(y > 0.5), np.argwhere(peak & (y < 0.1)), None]
        k = per_excerpt // 3
        picks = []
        for g in groups:
            if g is None:
                picks.append(np.stack([rng.integers(0, n_t, k), rng.integers(0, n_f, k)], axis=1))
            elif len(g):
                picks.append(g[rng.integers(0, len(g), k)])
        pos = np.concatenate(picks)
        padded = np.pad(f, ((0, 0), (pt, pt), (pf, pf)), mode="edge")
        dt, df = np.meshgrid(np.arange(PATCH[0]), np.arange(PATCH[1]), indexing="ij")
        patch = padded[:, pos[:, 0, None, None] + dt[None], pos[:, 1, None, None] + df[None]]  # [C, N, 5, 3]
        xs.append(np.moveaxis(patch, 0, 1))
        ys.append(y[pos[:, 0], pos[:, 1]])
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys).astype(np.float32)


def fit_binary(model, tx, ty, vx, vy, epochs: int, batch: int, lr: float, seed: int, progress=None,
               span: tuple[float, float] = (0.0, 1.0)) -> tuple[list[dict], float]:
    """Train ``model`` (logits shaped like the targets) with binary cross-entropy, Adam and a one-cycle learning
    rate on tx [N, ...] -> ty (targets in [0, 1]); after each epoch the loss and accuracy on vx -> vy. Progress is
    reported within ``span``. Returns (per-epoch history, training seconds)."""
    import torch

    steps = max(1, len(tx) // batch)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    gen = torch.Generator().manual_seed(seed)
    history = []
    t0 = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(tx), generator=gen)
        total = 0.0
        for i in range(steps):
            idx = order[i * batch:(i + 1) * batch]
            loss = loss_fn(model(tx[idx]).reshape(ty[idx].shape), ty[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        model.eval()
        with torch.no_grad():
            logits = model(vx).reshape(vy.shape)
            vloss = loss_fn(logits, vy).item()
            acc = float(((logits > 0) == (vy > 0.5)).float().mean())
        history.append({"epoch": epoch, "train_loss": round(total / steps, 4), "valid_loss": round(vloss, 4),
                        "valid_accuracy": round(acc, 4)})
        report(progress, span[0] + (span[1] - span[0]) * epoch / epochs,
               f"epoch {epoch}/{epochs}: valid loss {vloss:.4f}, accuracy {acc:.3f}")
    return history, time.perf_counter() - t0


def save_model(model, meta: dict, out: str | Path) -> dict:
    """Save ``{"model": state_dict, "meta": meta}`` to ``out`` and the meta as ``.json`` beside it; returns meta."""
    import torch

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.state_dict(), "meta": meta}, out)
    out.with_suffix(".json").write_text(json.dumps(meta, indent=1))
    return meta


def train_salience(out: str | Path, n_train: int = 500, n_valid: int = 40, epochs: int = 12, batch: int = 512,
                   lr: float = 3e-3, jobs: int = 2, seed: int = 0, data=None, progress=None) -> dict:
    """Render the data (or take ``data`` = (train feats, train targets, valid feats, valid targets)), train the
    salience network on patches with binary cross-entropy (Adam, one-cycle learning rate) and save
    ``{"model": state_dict, "meta": ...}`` to ``out`` (and the meta as ``.json`` beside it)."""
    import torch

    from engine.f0.salience_model import build_model

    if epochs < 1 or n_train < 1 or n_valid < 1:
        raise MotetError("--epochs, --train and --valid must be at least 1")
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    if data is None:
        train_f, train_t = render_set("train", n_train, seed, jobs=jobs, progress=progress)
        valid_f, valid_t = render_set("valid", n_valid, seed, jobs=jobs)
    else:
        train_f, train_t, valid_f, valid_t = data
    render_s = time.perf_counter() - t0
    tx, ty = (torch.from_numpy(a) for a in sample_patches(train_f, train_t, rng))
    vx, vy = (torch.from_numpy(a) for a in sample_patches(valid_f, valid_t, np.random.default_rng(seed + 1)))
    model = build_model()
    history, train_s = fit_binary(model, tx, ty, vx, vy, epochs, batch, lr, seed, progress)
    meta = {"train_excerpts": len(train_f), "valid_excerpts": len(valid_f), "excerpt_s": 4.0,
            "train_patches": int(len(tx)), "epochs": epochs, "batch": batch, "lr": lr, "seed": seed,
            "threads": torch.get_num_threads(), "render_s": round(render_s, 1), "train_s": round(train_s, 1),
            "params": int(sum(p.numel() for p in model.parameters())), "history": history}
    return save_model(model, meta, out)


def _voice_excerpt(args):
    """(candidate f0 [T, K], features [T, K, D] float32, labels [T, K, 4] float32) of one 4-voice corpus excerpt."""
    split, index, seed, seconds = args
    from engine.corpus.render import draw_excerpt, excerpt_seed, list_pieces, render_excerpt
    from engine.f0.blind import candidate_band
    from engine.f0.salience import candidates
    from engine.f0.voice_model import candidate_features, candidate_labels

    s = excerpt_seed(seed + 17, split, index)
    piece, bar = draw_excerpt(list_pieces(split, 4), seconds, s)
    ex = render_excerpt(piece, bar, 4, seconds, 16000, s)
    fmin, fmax = candidate_band(4)
    cand = candidates(ex.mixture.astype(np.float64), 8, fmin, fmax)
    n = min(cand.f0_hz.shape[0], ex.f0.n_frames)
    feats = candidate_features(cand.f0_hz[:n], cand.strength[:n], cand.probability[:n] if cand.probability is not None else None)
    labels = candidate_labels(cand.f0_hz[:n], ex.f0.f0_hz[:, :n], ex.f0.voiced[:, :n])
    return cand.f0_hz[:n], feats, labels


def _voice_data_one(args):
    """(features [N, D] float32, labels [N, 4] float32) of the valid candidates of one 4-voice corpus excerpt."""
    f0, feats, labels = _voice_excerpt(args)
    valid = f0 > 0
    return feats[valid], labels[valid]


def _voice_context_one(args):
    """(second-stage inputs [N, N_CONTEXT_INPUTS] float32, labels [N, 4] float32) of one 4-voice excerpt: the
    candidate features plus the shipped first stage's judgements of the candidate and of the same pitch nearby."""
    from engine.f0.voice_model import context_features, load_weights, role_mlp

    f0, feats, labels = _voice_excerpt(args)
    first = role_mlp(load_weights(), feats)
    x = np.concatenate([feats, context_features(f0, first)], axis=2)
    valid = f0 > 0
    return x[valid], labels[valid]


def _render_candidates(one, n_train: int, n_valid: int, seed: int, seconds: float, jobs: int, progress=None):
    """(train x, train y, valid x, valid y): ``one`` ((split, index, seed, seconds) -> (x [N, D], y [N, 4])) over
    ``n_train`` excerpts of the train split and ``n_valid`` of the valid split."""
    from multiprocessing import get_context

    sets = []
    for split, n in (("train", n_train), ("valid", n_valid)):
        tasks = [(split, i, seed, seconds) for i in range(n)]
        rows = []
        # spawned workers: the tracker runs torch, which must not be forked once its thread pool exists
        pool = get_context("spawn").Pool(jobs) if jobs > 1 else None
        try:
            for i, r in enumerate(pool.imap(one, tasks, chunksize=2) if pool else map(one, tasks)):
                rows.append(r)
                if i % 20 == 0:
                    report(progress, 0.8 * i / n, f"rendering {split} {i}/{n}")
        finally:
            if pool:
                pool.close()
                pool.join()
        sets.append((np.concatenate([r[0] for r in rows]), np.concatenate([r[1] for r in rows])))
    return (*sets[0], *sets[1])


def train_voice_model(out: str | Path, n_train: int = 300, n_valid: int = 30, epochs: int = 8, seconds: float = 6.0,
                      batch: int = 1024, lr: float = 2e-3, jobs: int = 2, seed: int = 0, data=None,
                      progress=None) -> dict:
    """Render 4-voice excerpts of the corpus's train split (valid split for the reported loss; never CSD), take
    the blind tracker's F0 candidates of each, and train the voice-role MLP (:mod:`engine.f0.voice_model`) with
    binary cross-entropy to say which voice sings each candidate. Saves ``{"model", "meta"}`` to ``out`` (and the
    meta as ``.json`` beside it)."""
    import torch

    from engine.f0.voice_model import build_model

    if epochs < 1 or n_train < 1 or n_valid < 1:
        raise MotetError("--epochs, --train and --valid must be at least 1")
    t0 = time.perf_counter()
    if data is None:
        data = _render_candidates(_voice_data_one, n_train, n_valid, seed, seconds, jobs, progress)
    tx, ty, vx, vy = (torch.from_numpy(np.ascontiguousarray(a)) for a in data)
    render_s = time.perf_counter() - t0
    model = build_model()
    history, train_s = fit_binary(model, tx, ty, vx, vy, epochs, batch, lr, seed, progress, span=(0.8, 1.0))
    meta = {"train_excerpts": n_train, "valid_excerpts": n_valid, "excerpt_s": seconds,
            "train_candidates": int(len(tx)), "epochs": epochs, "batch": batch, "lr": lr, "seed": seed,
            "threads": torch.get_num_threads(), "render_s": round(render_s, 1),
            "train_s": round(train_s, 1),
            "params": int(sum(p.numel() for p in model.parameters())), "history": history}
    return save_model(model, meta, out)


def train_voice_context(out: str | Path, n_train: int = 600, n_valid: int = 24, epochs: int = 8, seconds: float = 6.0,
                        batch: int = 1024, lr: float = 2e-3, jobs: int = 2, seed: int = 0, progress=None) -> dict:
    """Train the voice-role model's second stage (:func:`engine.f0.voice_model.context_features`): the same MLP
    shape on each candidate's features plus the shipped first stage's judgements of it and of the same pitch up
    to 256 ms away, on 4-voice excerpts of the corpus's train split (valid split for the reported loss; never
    CSD). Saves ``{"model", "meta"}`` to ``out`` (and the meta as ``.json`` beside it)."""
    import torch

    from engine.f0.voice_model import N_CONTEXT_INPUTS, build_model, load_weights

    if epochs < 1 or n_train < 1 or n_valid < 1:
        raise MotetError("--epochs, --train and --valid must be at least 1")
    if load_weights() is None:
        raise MotetError("assets/models/f0_voice.pt: the first stage must be trained first (motet train f0 --voice-model)")
    t0 = time.perf_counter()
    data = _render_candidates(_voice_context_one, n_train, n_valid, seed, seconds, jobs, progress)
    tx, ty, vx, vy = (torch.from_numpy(np.ascontiguousarray(a)) for a in data)
    render_s = time.perf_counter() - t0
    model = build_model(N_CONTEXT_INPUTS)
    history, train_s = fit_binary(model, tx, ty, vx, vy, epochs, batch, lr, seed, progress, span=(0.8, 1.0))
    meta = {"train_excerpts": n_train, "valid_excerpts": n_valid, "excerpt_s": seconds,
            "train_candidates": int(len(tx)), "epochs": epochs, "batch": batch, "lr": lr, "seed": seed,
            "threads": torch.get_num_threads(), "render_s": round(render_s, 1), "train_s": round(train_s, 1),
            "params": int(sum(p.numel() for p in model.parameters())), "history": history}
    return save_model(model, meta, out)
