"""Generation: the theme as the piece's first bars, then grammar-constrained nucleus sampling with a KV cache.

The grammar (:class:`Grammar`) masks every token that would break the token language of
:mod:`engine.generation.tokens` — positions only increase within a bar, a pitch is followed by its duration,
one melody note per step, theme markers only at bar lines and properly nested, exactly ``bars`` bars, then EOS —
so every sampled sequence decodes to a valid piece. Nucleus (top-p) sampling: Holtzman et al. 2020.

Two structural aids, both on by default and both reported separately in docs/generation.md: once the theme has
been away ``theme_return_bars`` bars a theme region opens at the next bar line (both models), and inside theme
regions the conditioned model's distribution is mixed with a copy of the theme at the aligned position
(:class:`ThemePointer`, switch ``copy_weight``). ``theme_return_bars=None, copy_weight=0`` leaves the network alone.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from engine.datasets import assets_dir
from engine.errors import MotetError
from engine.generation import tokens as tk
from engine.generation.model import ThemeTransformer, load_model
from engine.generation.piece import MELODY, Note, Piece, ThemeRegion
from engine.io.midi import check_tempo
from engine.jobs import Progress, report

MODEL_FILES = {"conditioned": "theme_transformer.pt", "baseline": "baseline.pt"}
MAX_TOKENS_PER_BAR = 120
MAX_THEME_BARS = 8
THEME_RETURN_BARS = 4  # bars the theme may stay away before a region is opened
COPY_WEIGHT = 0.8  # the theme pointer's switch inside theme regions (conditioned model only)
_MODELS: dict[str, ThemeTransformer] = {}


def model_path(name: str) -> Path:
    if name not in MODEL_FILES:
        raise MotetError(f"--model: unknown model '{name}' (choose conditioned or baseline)")
    return assets_dir() / "models" / MODEL_FILES[name]


def get_model(name: str) -> ThemeTransformer:
    """The shipped model ``conditioned`` or ``baseline``, loaded once per process."""
    if name not in _MODELS:
        path = model_path(name)
        if not path.exists():
            raise MotetError(f"{path}: model weights missing (run: motet train generation)")
        _MODELS[name] = load_model(path)[0]
    return _MODELS[name]


def _mask(*ranges) -> torch.Tensor:
    m = torch.zeros(tk.VOCAB, dtype=torch.bool)
    for r in ranges:
        m[r] = True
    return m


_POS = slice(tk.POS0, tk.MEL0)
_MEL = slice(tk.MEL0, tk.ACC0)
_ACC = slice(tk.ACC0, tk.DURVEL0)


class Grammar:
    """State of the token language while sampling; :meth:`allowed` gives the bool [vocab] mask of legal tokens."""

    def __init__(self, bars: int, theme_return_bars: int | None = None):
        self.bars = bars
        self.theme_return_bars = theme_return_bars
        self.last_theme_bar = 0  # bar where the last theme region ended (or began)
        self.bar_lines = 0  # BAR tokens so far
        self.last = tk.BOS
        self.pos = -1
        self.in_theme = False
        self.region_bar = 0
        self.bar_tokens = 0
        self.done = False
        self.after_pos = _mask(_MEL, _ACC)
        self.pos_masks = [_mask(slice(tk.POS0 + p + 1, tk.MEL0)) for p in range(-1, tk.STEPS)]

    @property
    def bar(self) -> int:
        return self.bar_lines - 1

    def allowed(self) -> torch.Tensor:
        last = self.last
        if last == tk.BOS:
            return _mask(slice(tk.TEMPO0, tk.POS0))
        if tk.TEMPO0 <= last < tk.POS0:
            return _mask([tk.BAR])
        closing = self.bar_lines == self.bars + 1
        if last in (tk.BAR, tk.THEME_END, tk.THEME_START):
            if closing:
                return _mask([tk.THEME_END] if self.in_theme else [tk.EOS])
            m = self.pos_masks[0].clone()
            m[tk.BAR] = True
            if last == tk.BAR and self.in_theme:
                m[tk.THEME_END] = True
            if last != tk.THEME_START and not self.in_theme:
                m[tk.THEME_START] = True
                due = self.theme_return_bars is not None and \
                    self.bar - self.last_theme_bar >= self.theme_return_bars and self.bar < self.bars - 1
                if due:  # the theme has been away long enough: it returns at this bar line
                    return _mask([tk.THEME_START])
            return m
        if tk.POS0 <= last < tk.MEL0:
            return self.after_pos
        # after a note: another accompaniment note at this step, a later step, or the next bar line
        if self.bar_tokens >= MAX_TOKENS_PER_BAR:
            return _mask([tk.BAR])
        m = self.pos_masks[self.pos + 1].clone()
        m[_ACC] = True
        m[tk.BAR] = True
        return m

    def push(self, t: int) -> None:
        """Advance the state by token ``t`` (assumed legal)."""
        self.last = t
        self.bar_tokens += 1
        if t == tk.BAR:
            self.bar_lines += 1
            self.pos = -1
            self.bar_tokens = 0
        elif t == tk.THEME_START:
            self.in_theme = True
            self.region_bar = self.bar
        elif t == tk.THEME_END:
            self.in_theme = False
            self.last_theme_bar = self.bar
        elif tk.POS0 <= t < tk.MEL0:
            self.pos = t - tk.POS0
        elif t == tk.EOS:
            self.done = True

    def theme_pos(self, t: int) -> int:
        """Theme-aligned position of token ``t`` just pushed (as in :func:`engine.generation.tokens.encode`)."""
        if t == tk.THEME_START:
            return 1
        if not self.in_theme or t == tk.THEME_END:
            return 0
        step = (self.bar - self.region_bar) * tk.STEPS + max(self.pos, 0)
        return min(step + 1, tk.MAX_THEME_POS)

    def bar_pos(self, t: int) -> int:
        return max(self.pos, 0) if t >= tk.POS0 else 0


class CachedDecoder:
    """Incremental decoding of a :class:`ThemeTransformer` with per-layer key/value caches."""

    def __init__(self, model: ThemeTransformer, theme: tk.Encoded | None, max_len: int):
        self.model = model
        c = model.config
        self.max_len = min(max_len, c.max_len)
        self.n = 0
        hd = c.d_model // c.heads
        self.k = [torch.zeros(1, c.heads, self.max_len, hd) for _ in model.decoder]
        self.v = [torch.zeros(1, c.heads, self.max_len, hd) for _ in model.decoder]
        self.cross = None
        if c.conditioned:
            if theme is None:
                raise MotetError("the conditioned model needs a theme")
            t = lambda a: torch.from_numpy(np.asarray(a)).long()[None]
            compound, durvel = tk.to_compound(theme)
            memory = model.encode_theme(t(compound.tokens), t(durvel), t(compound.theme_pos), t(compound.bar_pos),
                                        torch.zeros(1, len(compound.tokens), dtype=torch.bool))
            self.cross = [layer.cross_attn.keys_values(memory) for layer in model.decoder]

    def __call__(self, tokens: list[int], durvel: list[int], theme_pos: list[int],
                 bar_pos: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Feed tokens; returns (logits [vocab], hidden [d]) for the token after the last one."""
        m = self.model
        t = len(tokens)
        if self.n + t > self.max_len:
            raise MotetError("piece too long for the model's context; ask for fewer bars")
        x = m.embed(torch.tensor([tokens]), torch.tensor([durvel]), torch.tensor([theme_pos]),
                    torch.tensor([bar_pos]), offset=self.n)
        gate = torch.tensor(theme_pos, dtype=x.dtype)[None, :, None] > 0
        any_gate = bool(gate.any())
        mask = None
        if t > 1:
            mask = torch.ones(t, self.n + t, dtype=torch.bool).tril(diagonal=self.n)
        end = self.n + t
        for i, layer in enumerate(m.decoder):
            att = layer.self_attn
            h = layer.ln1(x)
            q = att.split(att.q(h))
            k, v = att.keys_values(h)
            self.k[i][:, :, self.n:end] = k
            self.v[i][:, :, self.n:end] = v
            y = F.scaled_dot_product_attention(q, self.k[i][:, :, :end], self.v[i][:, :, :end], attn_mask=mask)
            y = att.out(y.transpose(1, 2).reshape(1, t, -1))
            if self.cross is not None and any_gate:
                y = y + gate * layer.cross_attn(layer.ln2(x), kv=self.cross[i])
            x = x + y
            x = x + layer.ffn(layer.ln3(x))
        self.n = end
        h = m.ln(x[0, -1])
        return m.head(h), h


def _distribution(logits: torch.Tensor, allowed: torch.Tensor, temperature: float, top_p: float) -> torch.Tensor:
    """Probabilities [vocab] over the allowed tokens, tempered and cut to the top-p nucleus."""
    logits = logits.masked_fill(~allowed, float("-inf"))
    probs = torch.softmax(logits / temperature, -1)
    if top_p < 1.0:
        sp, si = probs.sort(descending=True)
        keep = sp.cumsum(-1) - sp < top_p
        keep[0] = True
        probs = torch.zeros_like(probs).scatter_(0, si, sp * keep)
    return probs / probs.sum()


def _sample(logits: torch.Tensor, allowed: torch.Tensor, temperature: float, top_p: float,
            gen: torch.Generator, copy: int | None = None, copy_weight: float = 0.0) -> int:
    """One token from the model's distribution, mixed with a point mass on ``copy`` (weight ``copy_weight``)."""
    probs = _distribution(logits, allowed, temperature, top_p)
    if copy is not None and copy_weight > 0 and bool(allowed[copy]):
        probs = (1 - copy_weight) * probs
        probs[copy] += copy_weight
    return int(torch.multinomial(probs, 1, generator=gen))


class ThemePointer:
    """Where the piece stands in the theme while inside a theme region: the theme's next token and its
    duration-velocity class, aligned by theme position (sixteenths since the region's start).

    A copy distribution for a pointer-generator mix (See et al. 2017) with a fixed switch ``copy_weight``:
    inside theme regions the sampler draws from (1 - w) p_model + w p_copy. Outside regions it does nothing.
    """

    def __init__(self, theme: tk.Encoded):
        compound, durvel = tk.to_compound(theme)
        self.tokens = [int(t) for t in compound.tokens]
        self.durvel = [int(d) for d in durvel]
        self.pos = [int(p) for p in compound.theme_pos]

    def target(self, last_token: int, last_theme_pos: int) -> tuple[int, int] | None:
        """(token, durvel) the theme has after ``last_token`` at ``last_theme_pos``, or None past its end."""
        if last_theme_pos <= 0:
            return None
        if last_token == tk.THEME_START:  # a region opens on a bar line: as after the theme's first BAR
            last_token = tk.BAR
        same = [i for i, (t, p) in enumerate(zip(self.tokens, self.pos)) if p == last_theme_pos and t == last_token]
        if same:
            i = same[0] + 1
            # several notes may share a step: take the first one after those already written
            return (self.tokens[i], self.durvel[i]) if i < len(self.tokens) else None
        later = [i for i, p in enumerate(self.pos) if p > last_theme_pos and not tk.is_pitch(self.tokens[i])]
        return (self.tokens[later[0]], self.durvel[later[0]]) if later else None


def prepare_theme(theme_notes) -> Piece:
    """The theme as a Piece starting on a bar line at beat 0; MotetError for an empty or over-long theme."""
    if isinstance(theme_notes, Piece):
        theme = theme_notes
    else:
        theme = Piece(list(theme_notes))
    if not theme.notes:
        raise MotetError("theme: no notes")
    if not theme.melody:  # a single line without roles is the melody
        theme = Piece([Note(n.pitch, n.start_beat, n.duration_beats, n.velocity, MELODY) for n in theme.notes],
                      theme.tempo_bpm, theme.beats_per_bar)
    first_bar = math.floor(min(n.start_beat for n in theme.notes) / 4 + 1e-6)
    if first_bar > 0:
        theme = theme.shifted(-first_bar * 4.0)
    # the theme's bars are those where its notes start; notes ringing on are cut at its end
    bars = math.floor(max(n.start_beat for n in theme.notes) / 4 + 1e-6) + 1
    if bars > MAX_THEME_BARS:
        raise MotetError(f"theme: {bars} bars; a theme has 1 to {MAX_THEME_BARS} bars")
    end = bars * 4.0
    notes = [Note(n.pitch, n.start_beat, max(1e-3, min(n.duration_beats, end - n.start_beat)), n.velocity, n.role)
             for n in theme.notes]
    return Piece(notes, theme.tempo_bpm, 4)


def generate_piece(theme_notes, bars: int = 32, tempo: float | None = None, temperature: float = 1.0,
                   top_p: float = 0.9, seed: int = 0, model: str = "conditioned",
                   progress: Progress | None = None, network: ThemeTransformer | None = None,
                   theme_return_bars: int | None = THEME_RETURN_BARS, copy_weight: float = COPY_WEIGHT) -> Piece:
    """A piano piece of ``bars`` bars that opens with the theme and develops it.

    theme_notes: a Piece or list of Notes (beats; melody/accompaniment roles); tempo: BPM (default: the theme's);
    temperature > 0; top_p in (0, 1]; model: ``conditioned`` or ``baseline``. Returns a Piece whose
    ``theme_regions`` are where the model placed the theme. Calls ``progress`` once per bar.
    theme_return_bars: a theme region is opened at the next bar line once the theme has been away this many
    bars (None: the model alone decides). copy_weight: the conditioned model's theme pointer switch (0: off);
    the baseline has no theme memory, so no pointer.
    """
    theme = prepare_theme(theme_notes)
    tempo = check_tempo(tempo if tempo is not None else theme.tempo_bpm)
    if not isinstance(bars, int) or bars < 1 or bars > 64:
        raise MotetError(f"--bars: {bars} is not a number of bars in 1..64")
    theme_bars = max(1, theme.bars)
    if theme_bars > bars:
        raise MotetError(f"theme: {theme_bars} bars is longer than the piece ({bars} bars)")
    if not (temperature > 0 and temperature <= 5):
        raise MotetError(f"--temperature: {temperature} must be in (0, 5]")
    if not (0 < top_p <= 1):
        raise MotetError(f"--top-p: {top_p} must be in (0, 1]")
    net = network if network is not None else get_model(model)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one step is a few small matrix products: extra threads only add waiting
    try:
        with torch.inference_mode():
            return _generate(net, theme, bars, tempo, temperature, top_p, seed, progress, theme_return_bars,
                             copy_weight)
    finally:
        torch.set_num_threads(threads)


def _generate(net, theme, bars, tempo, temperature, top_p, seed, progress, theme_return_bars, copy_weight):
    theme_bars = max(1, theme.bars)
    gen = torch.Generator().manual_seed(int(seed))
    # prompt: the theme as the first bars, inside a theme region
    prompt_piece = Piece(theme.notes, tempo, 4, [ThemeRegion(0.0, theme_bars * 4.0)])
    enc = tk.encode(prompt_piece, 0, theme_bars, with_eos=False)
    theme_enc = tk.encode_theme(theme)
    decoder = CachedDecoder(net, theme_enc if net.config.conditioned else None,
                            max_len=len(enc.tokens) + bars * MAX_TOKENS_PER_BAR + 8)
    grammar = Grammar(bars, theme_return_bars)
    prompt, prompt_dv = tk.to_compound(enc)
    out, out_dv = [int(t) for t in prompt.tokens], [int(d) for d in prompt_dv]
    for t in out:  # the prompt sets the grammar's state
        grammar.push(t)
    all_durvel = torch.ones(tk.N_DURVEL, dtype=torch.bool)
    pointer = ThemePointer(theme_enc) if net.config.conditioned and copy_weight > 0 else None
    last_t, last_tp = out[-1], int(prompt.theme_pos[-1])
    with torch.inference_mode():
        logits, hidden = decoder(out, out_dv, [int(p) for p in prompt.theme_pos], [int(b) for b in prompt.bar_pos])
        while not grammar.done:
            target = pointer.target(last_t, last_tp) if pointer is not None and grammar.in_theme else None
            t = _sample(logits, grammar.allowed(), temperature, top_p, gen,
                        target[0] if target else None, copy_weight)
            d = -1
            if tk.is_pitch(t):
                copy_d = target[1] if target and target[0] == t else None
                d = _sample(net.durvel_logits(hidden, torch.tensor(t)), all_durvel, temperature, top_p, gen,
                            copy_d, copy_weight)
            grammar.push(t)
            out.append(t)
            out_dv.append(d)
            if grammar.done:
                break
            if t == tk.BAR:
                report(progress, grammar.bar / bars, f"bar {grammar.bar + 1}/{bars}")
            last_t, last_tp = t, grammar.theme_pos(t)
            logits, hidden = decoder([t], [d], [last_tp], [grammar.bar_pos(t)])
    report(progress, 1.0, "done")
    piece = tk.decode(tk.from_compound(out, out_dv), tempo_bpm=tempo)
    end = bars * 4.0  # notes ring no further than the last bar line
    piece.notes = [Note(n.pitch, n.start_beat, min(n.duration_beats, end - n.start_beat), n.velocity, n.role)
                   for n in piece.notes]
    piece.tempo_bpm = tempo
    return piece
