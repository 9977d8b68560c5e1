"""Training of the theme-conditioned transformer and the baseline on the encoded POP909 songs.

Both are trained the same way: windows of ``length`` tokens cut at random bar lines of the training songs
(the header BOS TEMPO kept in front), random transposition of melody, accompaniment and theme together
(-5..+6 semitones), AdamW, linear warm-up then cosine decay over the run, bf16 autocast on CUDA. Songs 864-873
are held out for the validation loss; 874-909 never enter the data (see :mod:`engine.generation.dataset`).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from engine.generation import tokens as tk
from engine.generation.model import ModelConfig, ThemeTransformer, save_model
from engine.jobs import Progress, report

VAL_SONGS = range(864, 874)


class TokenData:
    """The .npz of :func:`engine.generation.dataset.build_dataset`, split into training and validation songs."""

    def __init__(self, path: str | Path):
        z = np.load(path)
        self.songs = z["songs"]
        off, toff = z["offsets"], z["theme_offsets"]
        def compound(t, tp, bp):
            enc, durvel = tk.to_compound(tk.Encoded(t.astype(np.int64), tp.astype(np.int64), bp.astype(np.int64)))
            return enc.tokens, durvel, enc.theme_pos, enc.bar_pos

        self.seq = [compound(z["tokens"][a:b], z["theme_pos"][a:b], z["bar_pos"][a:b])
                    for a, b in zip(off[:-1], off[1:])]
        self.theme = [compound(z["theme_tokens"][a:b], z["theme_tpos"][a:b], z["theme_bpos"][a:b])
                      for a, b in zip(toff[:-1], toff[1:])]
        self.bars = [np.flatnonzero(s[0] == tk.BAR) for s in self.seq]
        val = np.isin(self.songs, list(VAL_SONGS))
        self.train_idx, self.val_idx = np.flatnonzero(~val), np.flatnonzero(val)

    def batch(self, rng: np.random.Generator, size: int, length: int, split: str = "train",
              theme_len: int = 384, transpose: bool = True):
        idx = rng.choice(self.train_idx if split == "train" else self.val_idx, size)
        x = np.zeros((size, length), np.int64)
        tp, bp, dv = np.zeros_like(x), np.zeros_like(x), np.full_like(x, -1)
        th = np.zeros((size, theme_len), np.int64)
        th_tp, th_bp, th_dv = np.zeros_like(th), np.zeros_like(th), np.full_like(th, -1)
        th_pad = np.ones((size, theme_len), bool)
        for row, i in enumerate(idx):
            toks, durvel, tpos, bpos = self.seq[i]
            start = int(rng.choice(self.bars[i][:-1])) if len(self.bars[i]) > 1 else 2
            start = max(start, 2)
            sl = slice(start, start + length - 2)
            w = np.concatenate([toks[:2], toks[sl]])
            wt = np.concatenate([[0, 0], tpos[sl]])
            wb = np.concatenate([[0, 0], bpos[sl]])
            wd = np.concatenate([[-1, -1], durvel[sl]])
            t_toks, t_dv, t_tp, t_bp = (a[:theme_len] for a in self.theme[i])
            if transpose:
                k = int(rng.integers(-5, 7))
                w, t_toks = _transpose(w, k), _transpose(t_toks, k)
            x[row, :len(w)], tp[row, :len(w)], bp[row, :len(w)], dv[row, :len(w)] = w, wt, wb, wd
            n = len(t_toks)
            th[row, :n], th_tp[row, :n], th_bp[row, :n], th_dv[row, :n] = t_toks, t_tp, t_bp, t_dv
            th_pad[row, :len(t_toks)] = False
        return x, dv, tp, bp, (th, th_dv, th_tp, th_bp, th_pad)


def _transpose(toks: np.ndarray, k: int) -> np.ndarray:
    """Shift pitch tokens by k semitones; k is reduced to 0 if any pitch would leave the range."""
    out = toks.copy()
    for lo in (tk.MEL0, tk.ACC0):
        m = (toks >= lo) & (toks < lo + tk.PITCH_HI - tk.PITCH_LO + 1)
        if m.any() and ((toks[m] + k < lo).any() or (toks[m] + k > lo + tk.PITCH_HI - tk.PITCH_LO).any()):
            return toks
    for lo in (tk.MEL0, tk.ACC0):
        m = (toks >= lo) & (toks < lo + tk.PITCH_HI - tk.PITCH_LO + 1)
        out[m] += k
    return out


def _to(device, *arrays):
    return [torch.from_numpy(a).to(device, non_blocking=True) for a in arrays]


def loss_on(model: ThemeTransformer, batch, device) -> torch.Tensor:
    """Cross-entropy of the next token plus that of the duration-velocity class of next notes."""
    x, dv, tp, bp, theme = batch
    x, dv, tp, bp = _to(device, x, dv, tp, bp)
    theme = _to(device, *theme) if model.config.conditioned else None
    logits, hidden = model(x[:, :-1], dv[:, :-1], tp[:, :-1], bp[:, :-1], theme)
    target = x[:, 1:]
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), target.reshape(-1), ignore_index=tk.PAD)
    note = dv[:, 1:] >= 0
    if note.any():
        dv_logits = model.durvel_logits(hidden[note], target[note])
        loss = loss + F.cross_entropy(dv_logits.float(), dv[:, 1:][note])
    return loss


def train(data_path: str | Path, out_path: str | Path, conditioned: bool = True, steps: int = 3000,
          max_minutes: float = 60.0, batch_size: int = 32, length: int = 768, lr: float = 5e-4, seed: int = 0,
          device: str | None = None, progress: Progress | None = None, log=print,
          init_from: str | Path | None = None) -> dict:
    """Train one model; writes ``out_path`` (.pt with config and meta) and returns the meta dict.
    ``init_from``: a .pt of the same kind to continue from (its steps and wall time are added to the meta)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    data = TokenData(data_path)
    config = ModelConfig() if conditioned else ModelConfig.baseline()
    model = ThemeTransformer(config)
    before = {"steps": 0, "wall_time_s": 0.0}
    if init_from is not None:
        from engine.generation.model import load_model

        model, before = load_model(init_from)
        model.train()
    model = model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01, betas=(0.9, 0.98))
    warm = max(1, min(200, steps // 10))
    t0 = time.time()
    amp = device.startswith("cuda")
    step, losses = 0, []
    while step < steps:
        frac = max(step / steps, (time.time() - t0) / (max_minutes * 60))
        if frac >= 1.0:
            break
        scale = min(1.0, (step + 1) / warm) * 0.5 * (1 + np.cos(np.pi * frac))
        for g in opt.param_groups:
            g["lr"] = lr * scale
        model.train()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            loss = loss_on(model, data.batch(rng, batch_size, length), device)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(float(loss.detach()) if step % 50 == 0 else losses[-1] if losses else float(loss))
        step += 1
        if step % 100 == 0:
            log(f"step {step} loss {losses[-1]:.3f} lr {lr * scale:.2e} {time.time() - t0:.0f}s")
            report(progress, frac, f"step {step}")
    wall = time.time() - t0
    model.eval()
    vrng = np.random.default_rng(1234)
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
        val = float(np.mean([float(loss_on(model, data.batch(vrng, batch_size, length, "val", transpose=False),
                                           device)) for _ in range(8)]))
    meta = {"conditioned": conditioned, "steps": step + before["steps"],
            "wall_time_s": round(wall + before["wall_time_s"], 1),
            "stages": before.get("stages", [{"steps": before["steps"], "wall_time_s": before["wall_time_s"],
                                             "lr": before.get("lr")}] if init_from else []) +
            [{"steps": step, "wall_time_s": round(wall, 1), "lr": lr}], "batch_size": batch_size,
            "length": length, "lr": lr, "seed": seed, "device": torch.cuda.get_device_name(0) if amp else "cpu",
            "train_loss": round(float(np.mean(losses[-20:])), 4), "val_loss": round(val, 4),
            "parameters": model.parameter_count(), "train_examples": int(len(data.train_idx)),
            "train_songs": int(len(set(data.songs[data.train_idx].tolist())))}
    save_model(model.cpu(), out_path, meta)
    log(f"saved {out_path}: {meta}")
    return meta


def write_card(pt_path: str | Path, meta: dict, command: str, scores: str = "") -> Path:
    """A model card beside the weights: data, licence, command, steps, wall time, hardware, scores."""
    pt_path = Path(pt_path)
    kind = "theme-conditioned transformer" if meta["conditioned"] else "unconditioned baseline transformer"
    size_mb = pt_path.stat().st_size / 1e6 if pt_path.exists() else float("nan")
    text = f"""# {pt_path.stem}: {kind}

- Architecture: see `engine/generation/model.py` ({meta['parameters'] / 1e6:.2f} M parameters, stored as float16,
  {size_mb:.1f} MB).
- Data: POP909 (Wang et al., ISMIR 2020; MIT licence) MELODY + PIANO tracks of songs 1-863
  ({meta['train_songs']} songs with 4/4 downbeats, {meta['train_examples']} song/theme pairs), themes and their
  occurrences found by motet's theme finder; songs 864-873 validation; test songs 874-909 never used.
- Command: `{command}`
- Training: {meta['steps']} steps, batch {meta['batch_size']} x {meta['length']} tokens, AdamW lr {meta['lr']},
  seed {meta['seed']}, wall time {meta['wall_time_s']:.0f} s on {meta['device']} (1 thread, shared 2-core machine).
- Loss (next token + duration/velocity): train {meta['train_loss']}, validation {meta['val_loss']}.
- Licence of the weights: MIT (as POP909).

## Scores

{scores or 'Run `motet eval generation --json`; figures in docs/generation.md.'}
"""
    card = pt_path.with_suffix(".md")
    card.write_text(text)
    return card
