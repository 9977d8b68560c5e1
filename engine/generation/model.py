"""The theme-conditioned transformer (after Shih et al., "Theme Transformer", IEEE TMM 2022) and its
unconditioned baseline.

- Theme encoder: ``enc_layers`` bidirectional self-attention layers over the theme's tokens.
- Decoder layer (pre-norm): ``x + SelfAttn(LN x) + gate * CrossAttn(LN x, theme) `` then ``x + FFN(LN x)``: the
  self-attention over the past and the cross-attention to the theme run in parallel; ``gate`` is 1 for tokens
  inside a theme region (``theme_pos > 0``) and 0 elsewhere, so the theme is consulted only where it sounds.
- Positions: learned absolute positions, the step within the bar, and the theme-aligned position (sixteenth
  offset inside the current theme occurrence), whose embedding the theme's own tokens share so that a token
  meets the theme note at the same offset.
- Baseline (``conditioned=False``): the same embeddings and decoder without encoder and cross-attention, with
  more layers to match the parameter count.

Shapes: tokens, theme_pos, bar_pos: [batch, time]; theme_*: [batch, theme_len]; logits: [batch, time, vocab].
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from engine.generation import tokens as tk


@dataclass
class ModelConfig:
    conditioned: bool = True
    d_model: int = 128
    heads: int = 4
    ffn: int = 512
    enc_layers: int = 2
    dec_layers: int = 3
    max_len: int = 2048
    dropout: float = 0.1
    vocab: int = tk.VOCAB

    @staticmethod
    def baseline() -> "ModelConfig":
        return ModelConfig(conditioned=False, enc_layers=0, dec_layers=6)


class Attention(nn.Module):
    def __init__(self, d: int, heads: int, dropout: float):
        super().__init__()
        self.h, self.hd = heads, d // heads
        self.q = nn.Linear(d, d)
        self.kv = nn.Linear(d, 2 * d)
        self.out = nn.Linear(d, d)
        self.dropout = dropout

    def split(self, x: torch.Tensor) -> torch.Tensor:  # [b, t, d] -> [b, h, t, hd]
        b, t, _ = x.shape
        return x.view(b, t, self.h, self.hd).transpose(1, 2)

    def keys_values(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k, v = self.kv(src).chunk(2, dim=-1)
        return self.split(k), self.split(v)

    def forward(self, x, src=None, causal=False, key_padding=None, kv=None):
        """x: [b, t, d]; src: [b, s, d] (None = self); key_padding: bool [b, s] True = pad."""
        q = self.split(self.q(x))
        k, v = kv if kv is not None else self.keys_values(x if src is None else src)
        mask = None
        if key_padding is not None:
            mask = ~key_padding[:, None, None, :]
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal and mask is None,
                                           dropout_p=self.dropout if self.training else 0.0)
        b, h, t, hd = y.shape
        return self.out(y.transpose(1, 2).reshape(b, t, h * hd))


class FeedForward(nn.Sequential):
    def __init__(self, d: int, ffn: int, dropout: float):
        super().__init__(nn.Linear(d, ffn), nn.GELU(), nn.Dropout(dropout), nn.Linear(ffn, d))


class EncoderLayer(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(c.d_model), nn.LayerNorm(c.d_model)
        self.attn = Attention(c.d_model, c.heads, c.dropout)
        self.ffn = FeedForward(c.d_model, c.ffn, c.dropout)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x, pad):
        x = x + self.drop(self.attn(self.ln1(x), key_padding=pad))
        return x + self.drop(self.ffn(self.ln2(x)))


class DecoderLayer(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.conditioned = c.conditioned
        self.ln1, self.ln3 = nn.LayerNorm(c.d_model), nn.LayerNorm(c.d_model)
        self.self_attn = Attention(c.d_model, c.heads, c.dropout)
        if c.conditioned:
            self.ln2 = nn.LayerNorm(c.d_model)
            self.cross_attn = Attention(c.d_model, c.heads, c.dropout)
        self.ffn = FeedForward(c.d_model, c.ffn, c.dropout)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x, gate, memory=None, memory_pad=None):
        y = self.self_attn(self.ln1(x), causal=True)
        if self.conditioned:
            y = y + gate * self.cross_attn(self.ln2(x), memory, key_padding=memory_pad)
        x = x + self.drop(y)
        return x + self.drop(self.ffn(self.ln3(x)))


class ThemeTransformer(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        c = self.config = config
        self.tok = nn.Embedding(c.vocab, c.d_model)
        self.pos = nn.Embedding(c.max_len, c.d_model)
        self.bar_pos = nn.Embedding(tk.STEPS, c.d_model)
        self.theme_pos = nn.Embedding(tk.MAX_THEME_POS + 1, c.d_model)
        self.durvel = nn.Embedding(tk.N_DURVEL + 1, c.d_model)  # 0 = not a note
        self.durvel_head = nn.Sequential(nn.Linear(c.d_model, c.d_model), nn.GELU(), nn.Linear(c.d_model, tk.N_DURVEL))
        self.encoder = nn.ModuleList([EncoderLayer(c) for _ in range(c.enc_layers)])
        self.enc_ln = nn.LayerNorm(c.d_model) if c.conditioned else None
        self.decoder = nn.ModuleList([DecoderLayer(c) for _ in range(c.dec_layers)])
        self.ln = nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, c.vocab, bias=False)
        self.head.weight = self.tok.weight  # tied
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def embed(self, tokens, durvel, theme_pos, bar_pos, offset: int = 0):
        """durvel: [b, t] duration-velocity class of note tokens, -1 elsewhere."""
        t = tokens.shape[1]
        pos = torch.arange(offset, offset + t, device=tokens.device).clamp(max=self.config.max_len - 1)
        x = self.tok(tokens) * math.sqrt(self.config.d_model) * 0.1 + self.pos(pos)[None]
        return x + self.durvel(durvel + 1) + self.bar_pos(bar_pos) + self.theme_pos(theme_pos)

    def durvel_logits(self, hidden, next_tokens):
        """Duration-velocity logits [..., N_DURVEL] of a note, from the hidden state [..., d] that predicted
        it and its pitch token [...]."""
        return self.durvel_head(hidden + self.tok(next_tokens))

    def encode_theme(self, theme_tokens, theme_durvel, theme_tpos, theme_bpos, theme_pad):
        """theme_*: [b, m] -> memory [b, m, d]."""
        m = self.tok(theme_tokens) * math.sqrt(self.config.d_model) * 0.1 + self.durvel(theme_durvel + 1)
        m = m + self.bar_pos(theme_bpos) + self.theme_pos(theme_tpos)
        for layer in self.encoder:
            m = layer(m, theme_pad)
        return self.enc_ln(m)

    def forward(self, tokens, durvel, theme_pos, bar_pos, theme=None):
        """(logits [b, t, vocab], hidden [b, t, d]); ``theme`` = (tokens, durvel, theme_pos, bar_pos, pad) for
        the conditioned model."""
        x = self.embed(tokens, durvel, theme_pos, bar_pos)
        gate = (theme_pos > 0).unsqueeze(-1).to(x.dtype)
        memory = memory_pad = None
        if self.config.conditioned:
            memory_pad = theme[4]
            memory = self.encode_theme(*theme)
        for layer in self.decoder:
            x = layer(x, gate, memory, memory_pad)
        h = self.ln(x)
        return self.head(h), h

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())


def save_model(model: ThemeTransformer, path, meta: dict) -> None:
    """Weights as float16 (half the size), the config and ``meta`` (training facts) in one .pt file."""
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    state.pop("head.weight", None)
    torch.save({"config": asdict(model.config), "state": state, "meta": meta}, path)


def load_model(path) -> tuple[ThemeTransformer, dict]:
    blob = torch.load(path, map_location="cpu", weights_only=True)
    model = ThemeTransformer(ModelConfig(**blob["config"]))
    state = {k: v.float() if v.is_floating_point() else v for k, v in blob["state"].items()}
    state["head.weight"] = state["tok.weight"]
    model.load_state_dict(state)
    model.eval()
    return model, blob["meta"]
