"""Vocal scores of music21's corpus as compact note lists (pieces), parsed once and cached.

A piece is a dict: ``name`` ("bach/bwv10.7"), ``bars`` (bar start offsets in quarter notes), ``parts``
(highest first by mean pitch), each part a dict with ``name`` and ``notes``: [n, 5] ints
``(onset, duration, midi, syllable, fermata)`` with onset/duration in 1/48 quarter note, ``syllable`` a code
``vowel + 8 * consonant`` (see :func:`syllable_code`) or -1 when the note continues a syllable (melisma), and
``fermata`` 1 for a note under a fermata.
``dynamics``: [[offset in 1/48 quarter, level 0..1], ...] from the score's marks (often empty).

The catalogue lives in ``engine/corpus/pieces.json.gz`` (built by :func:`build_catalogue` from music21, which is
slow: ~0.2 s per piece); rendering never needs music21.
"""
from __future__ import annotations

import gzip
import json
import re
from functools import lru_cache
from pathlib import Path

TICKS_PER_QUARTER = 48
CATALOGUE_PATH = Path(__file__).resolve().parent / "pieces.json.gz"

VOWELS = "aeiou"
# consonant classes: 0 none (vowel onset or voiced consonant), 1 plosive, 2 sibilant, 3 fricative, 4 aspirate
_CONSONANT_CLASS = {**{c: 1 for c in "tdpbkgqc"}, **{c: 2 for c in "sxzß"}, **{c: 3 for c in "fvw"}, "h": 4}
_VOWEL_MAP = {"a": 0, "ä": 1, "e": 1, "i": 2, "y": 2, "o": 3, "ö": 1, "u": 4, "ü": 2}


def syllable_code(text: str | None) -> int:
    """Code ``vowel + 8 * consonant`` of a lyric syllable; a plain new syllable (vowel 'a') without lyric text."""
    if not text:
        return 0
    word = text.lower()
    letters = re.sub(r"[^a-zäöüßéèàáíóúy]", "", word)
    letters = letters.translate(str.maketrans("éèàáíóú", "eeaaiou"))
    if not letters:
        return 0
    consonant = _CONSONANT_CLASS.get(letters[0], 0)
    vowel = next((_VOWEL_MAP[ch] for ch in letters if ch in _VOWEL_MAP), 0)
    return vowel + 8 * consonant


def _ticks(quarters) -> int:
    return int(round(float(quarters) * TICKS_PER_QUARTER))


def piece_from_score(name: str, score) -> dict | None:
    """Note lists of a music21 Score; None when it is not a usable vocal score (no parts, empty parts)."""
    from music21 import dynamics, expressions, stream

    if not isinstance(score, stream.Score) or len(score.parts) < 2:
        return None
    parts = list(score.parts)
    vocal = [p for p in parts if re.match(r"(?i)(sopr|alt|ten|bas|cant|quint|sext|mot|tripl|contra|voice|vox)",
                                          (p.partName or ""))]
    if len(vocal) >= 2 and len(vocal) != len(parts) and name.startswith("bach/"):
        parts = vocal
    out_parts = []
    for part in parts:
        notes = []
        flat = part.flatten().stripTies()
        for n in flat.notes:
            if n.quarterLength <= 0:
                continue
            midi = max(p.midi for p in n.pitches) if n.isChord else n.pitch.midi
            syl = syllable_code(n.lyric) if n.lyric else (-1 if n.lyrics == [] and _has_lyrics(flat) else 0)
            fermata = int(any(isinstance(e, expressions.Fermata) for e in n.expressions))
            notes.append([_ticks(n.offset), _ticks(n.quarterLength), int(midi), syl, fermata])
        if len(notes) < 8:
            return None
        dyn = [[_ticks(d.offset), round(float(d.volumeScalar or 0.5), 2)]
               for d in flat.getElementsByClass(dynamics.Dynamic)]
        out_parts.append({"name": part.partName or "", "notes": notes, "dynamics": dyn})
    out_parts.sort(key=lambda p: -sum(n[2] for n in p["notes"]) / len(p["notes"]))
    bars = [_ticks(m.offset) for m in parts[0].getElementsByClass("Measure")]
    if len(bars) < 4:
        return None
    return {"name": name, "bars": bars, "parts": out_parts}


def _has_lyrics(flat) -> bool:
    cache = getattr(flat, "_motet_has_lyrics", None)
    if cache is None:
        cache = any(n.lyric for n in flat.notes)
        flat._motet_has_lyrics = cache
    return cache


def _parse_one(args):
    name, path = args
    try:
        from music21 import corpus

        return piece_from_score(name, corpus.parse(path))
    except Exception:  # a few corpus files do not parse; they are simply left out
        return None


def corpus_sources(limit_palestrina: int = 300) -> list[tuple[str, str]]:
    """(name, path) of the vocal scores used: Bach chorales (.mxl), Palestrina, Monteverdi madrigals, trecento."""
    from music21 import corpus

    root = Path(corpus.getComposer("bach")[0]).parent.parent
    out = []
    for composer, ext, limit in (("bach", ".mxl", None), ("palestrina", ".krn", limit_palestrina),
                                 ("monteverdi", ".mxl", None), ("trecento", ".xml", None), ("josquin", None, None)):
        paths = sorted(Path(p) for p in corpus.getComposer(composer))
        paths = [p for p in paths if ext is None or p.suffix == ext][:limit]
        for p in paths:
            rel = p.relative_to(root).with_suffix("")
            out.append((str(rel), str(p)))
    return out


def build_catalogue(path: Path = CATALOGUE_PATH, jobs: int = 2, progress=None) -> int:
    """Parse every source score with music21 and write the compact catalogue; returns the number of pieces."""
    from multiprocessing import Pool

    sources = corpus_sources()
    pieces, seen = [], set()
    with Pool(jobs) as pool:
        for i, piece in enumerate(pool.imap(_parse_one, sources, chunksize=4)):
            if progress and i % 20 == 0:
                progress(i / len(sources), f"parsed {i}/{len(sources)} scores")
            if piece is None:
                continue
            key = json.dumps([p["notes"] for p in piece["parts"]])
            if key in seen:  # the corpus holds a few chorales twice
                continue
            seen.add(key)
            pieces.append(piece)
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        json.dump({"ticks_per_quarter": TICKS_PER_QUARTER, "pieces": pieces}, fh, separators=(",", ":"))
    return len(pieces)


@lru_cache(maxsize=1)
def load_catalogue() -> dict[str, dict]:
    """All pieces by name (from the shipped catalogue)."""
    from engine.errors import MotetError

    if not CATALOGUE_PATH.is_file():
        raise MotetError(f"{CATALOGUE_PATH}: score catalogue missing (build it with engine.corpus.scores.build_catalogue)")
    with gzip.open(CATALOGUE_PATH, "rt", encoding="utf-8") as fh:
        data = json.load(fh)
    return {p["name"]: p for p in data["pieces"]}


if __name__ == "__main__":
    import sys
    import time

    t0 = time.time()
    n = build_catalogue(Path(sys.argv[2]) if len(sys.argv) > 2 else CATALOGUE_PATH,
                        jobs=int(sys.argv[1]) if len(sys.argv) > 1 else 2,
                        progress=lambda f, s: print(f"{s} ({time.time() - t0:.0f} s)", flush=True))
    print(f"{n} pieces")
