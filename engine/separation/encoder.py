"""The encoder f_W: mixture + each voice's F0 -> raw controls of each voice's source-filter model.

Per voice and frame it reads that voice's own harmonic features (:mod:`engine.separation.features`) plus a shared
mel summary of the mixture; bidirectional GRUs model time (voices folded into the batch, shared weights), and
attention across the voices at every frame lets each voice see what the others take (e.g. shared partials).
"""
from __future__ import annotations

import torch
from torch import nn

from engine.separation.features import N_MEL, n_voice_features


class CrossVoiceAttention(nn.Module):
    """Self-attention over the voices of one frame: x [B, V, T, H] -> x + attn(x)."""

    def __init__(self, hidden: int, heads: int = 4):
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.attn = nn.MultiheadAttention(hidden, heads, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, v, t, h = x.shape
        y = self.norm(x).permute(0, 2, 1, 3).reshape(b * t, v, h)
        y, _ = self.attn(y, y, y, need_weights=False)
        return x + y.reshape(b, t, v, h).permute(0, 2, 1, 3)


class TimeGRU(nn.Module):
    """Bidirectional GRU over time for every voice: x [B, V, T, H] -> x + gru(x)."""

    def __init__(self, hidden: int):
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.gru = nn.GRU(hidden, hidden // 2, batch_first=True, bidirectional=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, v, t, h = x.shape
        y, _ = self.gru(self.norm(x).reshape(b * v, t, h))
        return x + y.reshape(b, v, t, h)


class VoiceEncoder(nn.Module):
    """(per-voice features [B, V, T, D], mel [B, T, N_MEL]) -> raw controls [B, V, T, n_raw]."""

    def __init__(self, n_raw: int, hidden: int = 256, n_blocks: int = 2):
        super().__init__()
        self.voice_in = nn.Linear(n_voice_features(), hidden)
        self.mix_in = nn.Linear(N_MEL, hidden)
        self.blocks = nn.ModuleList()
        for _ in range(n_blocks):
            self.blocks.append(TimeGRU(hidden))
            self.blocks.append(CrossVoiceAttention(hidden))
        self.out_norm = nn.LayerNorm(hidden)
        self.out = nn.Linear(hidden, n_raw)

    def forward(self, per_voice: torch.Tensor, mel: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.voice_in(per_voice) + self.mix_in(mel).unsqueeze(1))
        for block in self.blocks:
            x = block(x)
        return self.out(self.out_norm(x))
