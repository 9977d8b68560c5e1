"""The synthetic choir corpus: files a trainer can rely on, exact F0, determinism, clean splits, clear errors."""
import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from engine.corpus import list_pieces, render_excerpt
from engine.corpus.render import render_corpus
from engine.corpus.scores import load_catalogue
from engine.corpus.splits import SPLITS, TEST_PIECES, piece_group, piece_split
from engine.errors import MotetError
from engine.f0.tracks import F0Tracks


def run_motet(*args):
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True)


def f0_errors_cents(x, rate, times, f0, voiced):
    """How far the pitch of ``x`` is from the reported F0, in cents, at steady voiced frames.

    The audio is demodulated by the reported F0's phase at harmonics 1..4; a low-pass over 8 periods (at least
    32 ms) keeps one harmonic and averages the cycle-to-cycle jitter,
    and the slope of its phase is the frequency the reported F0 misses (the strongest harmonic is used).
    """
    n = len(x)
    fs = np.nan_to_num(np.interp(np.arange(n) / rate, times, np.where(voiced, f0, np.nan)))
    phase = 2 * np.pi * np.cumsum(fs) / rate
    length = int(max(8 * rate / f0[voiced].min(), 0.032 * rate))  # >= 8 periods: jitter averages out
    win = np.hanning(length) / np.hanning(length).sum()
    idx = np.clip(np.round(times * rate).astype(int), 0, n - 1)
    i0, i1 = np.clip(idx - length // 2, 0, n - 1), np.clip(idx + length // 2, 0, n - 1)
    best_mag, best_dev = np.zeros(len(times)), np.zeros(len(times))
    for h in (1, 2, 3, 4):
        z = np.convolve(x * np.exp(-1j * h * phase), win, mode="same")
        angle = np.unwrap(np.angle(z))
        dev = (angle[i1] - angle[i0]) * rate / np.maximum(i1 - i0, 1) / (2 * np.pi * h)
        mag = np.abs(z[idx])
        better = mag > best_mag
        best_mag, best_dev = np.where(better, mag, best_mag), np.where(better, dev, best_dev)
    steady = voiced.copy()
    for s in range(1, 5):  # away from voicing changes, where the reported F0 has no meaning
        steady &= np.r_[voiced[s:], [False] * s] & np.r_[[False] * s, voiced[:-s]]
    steady &= best_mag > 0.1 * np.median(best_mag[voiced])
    return 1200 * np.log2((f0[steady] + best_dev[steady]) / f0[steady])


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("choir")
    result = run_motet("data", "choir", "-o", str(out), "--hours", "0.001", "--seconds", "2", "--jobs", "2",
                       "--seed", "5", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["excerpts"] == 2
    return out


def test_cli_writes_excerpts_whose_stems_sum_to_the_mixture(corpus_dir):
    folders = sorted((corpus_dir / "train").iterdir())
    assert len(folders) == 2
    for folder in folders:
        meta = json.loads((folder / "meta.json").read_text())
        assert meta["voices"] == ["soprano", "alto", "tenor", "bass"]
        assert meta["split"] == "train" and piece_split(meta["piece"]) == "train"
        assert set(meta["singers"]) == set(meta["voices"])
        mixture, rate = sf.read(folder / "mixture.wav", dtype="float32")
        assert rate == 16000 and len(mixture) == 32000
        stems = np.stack([sf.read(folder / f"{v}.wav", dtype="float32")[0] for v in meta["voices"]])
        assert np.max(np.abs(stems.sum(axis=0) - mixture)) < 1e-6
        assert np.max(np.abs(mixture)) > 0.05          # not silence
        assert all(np.sqrt(np.mean(s ** 2)) > 1e-3 for s in stems)
        tracks = F0Tracks.from_csv(folder / "f0.csv", n_voices=4)
        assert tracks.names == meta["voices"]
        assert np.allclose(np.diff(tracks.times_s), 0.016, atol=1e-6)
        assert tracks.n_frames == 126
        assert tracks.voiced.mean() > 0.5


def test_reported_f0_matches_the_pitch_measured_in_the_audio():
    errors = []
    for seed, (piece, bar) in enumerate([("bach/bwv10.7", 3), ("palestrina/Agnus_01", 5)]):
        ex = render_excerpt(piece, bar, 4, 3.0, 16000, seed, room=False, singers_per_part=1)
        for v in range(4):
            errors.append(f0_errors_cents(ex.stems[v], 16000, ex.f0.times_s, ex.f0.f0_hz[v], ex.f0.voiced[v]))
    errors = np.abs(np.concatenate(errors))
    assert len(errors) > 600
    assert np.median(errors) < 1.5
    assert np.mean(errors < 5.0) > 0.97


def test_reported_f0_is_the_sung_note_not_a_constant():
    ex = render_excerpt("bach/bwv10.7", 0, 4, 4.0, 16000, 1)
    f0 = ex.f0.masked()
    for v in range(4):  # each voice sings in its range and moves
        sung = f0[v][f0[v] > 0]
        assert 60 < np.median(sung) < 1100
        assert np.ptp(1200 * np.log2(sung)) > 100
    medians = np.nanmedian(np.where(f0 > 0, f0, np.nan), axis=1)
    assert np.all(medians[:-1] > medians[1:])   # highest voice first


def test_same_seed_same_corpus_whatever_the_number_of_processes(tmp_path):
    a = render_excerpt("bach/bwv26.6", 1, 4, 1.0, 16000, 11)
    b = render_excerpt("bach/bwv26.6", 1, 4, 1.0, 16000, 11)
    c = render_excerpt("bach/bwv26.6", 1, 4, 1.0, 16000, 12)
    assert np.array_equal(a.stems, b.stems) and a.meta == b.meta
    assert not np.array_equal(a.stems, c.stems)
    render_corpus(tmp_path / "one", hours=3 / 3600, n_voices=3, seconds=1.0, seed=4, split="valid", jobs=1)
    render_corpus(tmp_path / "two", hours=3 / 3600, n_voices=3, seconds=1.0, seed=4, split="valid", jobs=2)
    for name in ("000000", "000001", "000002"):
        one, two = tmp_path / "one" / "valid" / name, tmp_path / "two" / "valid" / name
        for file in ("f0.csv", "meta.json"):
            assert (one / file).read_bytes() == (two / file).read_bytes()
        for file in ("mixture.wav", "voice1.wav", "voice3.wav"):  # float WAVs carry a time stamp: compare samples
            assert np.array_equal(sf.read(one / file)[0], sf.read(two / file)[0])


def test_splits_never_share_a_piece():
    catalogue = load_catalogue()
    splits = {s: set(list_pieces(s, 1)) for s in SPLITS}
    assert splits["train"].isdisjoint(splits["valid"]) and splits["train"].isdisjoint(splits["test"])
    assert splits["valid"].isdisjoint(splits["test"])
    assert set().union(*splits.values()) == set(catalogue)
    groups = {s: {piece_group(p) for p in pieces} for s, pieces in splits.items()}
    assert groups["train"].isdisjoint(groups["test"]) and groups["train"].isdisjoint(groups["valid"])
    assert set(TEST_PIECES) <= splits["test"]
    for n in range(2, 9):  # every split can make excerpts of 2..8 voices
        assert all(list_pieces(s, n) for s in SPLITS), n


def test_other_voice_counts_are_named_from_the_highest():
    ex = render_excerpt("monteverdi/madrigal.3.1", 2, 5, 1.0, 16000, 0)
    assert ex.meta["voices"] == ["voice1", "voice2", "voice3", "voice4", "voice5"]
    assert ex.stems.shape == (5, 16000)
    two = render_excerpt("bach/bwv10.7", 2, 2, 1.0, 22050, 0)
    assert two.stems.shape == (2, 22050) and two.f0.names == ["voice1", "voice2"]


@pytest.mark.parametrize("args, words", [
    (["--voices", "9"], "--voices"),
    (["--hours", "abc"], "--hours"),
    (["--hours", "-1"], "--hours"),
    (["--split", "dev"], "--split"),
    (["--rate", "100"], "--rate"),
    (["--seconds", "0"], "--seconds"),
])
def test_bad_arguments_give_one_clear_line(tmp_path, args, words):
    result = run_motet("data", "choir", "-o", str(tmp_path / "c"), *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("motet: error:") and words in lines[0]
    assert not (tmp_path / "c").exists()


def test_api_errors_name_the_problem():
    with pytest.raises(MotetError, match="not in the score catalogue"):
        render_excerpt("bach/nonexistent", 0)
    with pytest.raises(MotetError, match="fewer than 8 voices"):
        render_excerpt("bach/bwv10.7", 0, 8)
    with pytest.raises(MotetError, match="bar 999"):
        render_excerpt("bach/bwv10.7", 999)


def test_a_fermata_is_held_and_followed_by_a_breath():
    # BWV 244.62: the soprano's first fermata is on a crotchet at quarter 7 (bar 2); at 60 qpm it would end at
    # 8 s; held one more beat it lasts until 9 s less the breath, and the next phrase starts at about 9 s
    ex = render_excerpt("bach/bwv244.62", 0, 4, 10.0, 16000, 0, tempo_qpm=60, fermata_beats=1.0, room=False,
                        singers_per_part=1)
    soprano = ex.f0.masked()[0]
    frame = lambda seconds: int(round(seconds / 0.016))   # noqa: E731
    held = soprano[frame(7.3): frame(8.6)]
    assert np.all(held > 0) and np.ptp(1200 * np.log2(held)) < 150          # one note, still sung after 8 s
    assert np.any(soprano[frame(8.7): frame(9.0)] == 0)                      # a breath
    assert np.all(soprano[frame(9.2): frame(9.6)] > 0)                       # the next phrase


def test_corpus_never_writes_an_excerpt_where_every_voice_rests(monkeypatch):
    """bars 0-1 of this cantata chorale are an instrumental interlude: all four vocal parts rest. A corpus
    excerpt drawn there is redrawn, so training never meets a silent mixture."""
    import engine.corpus.render as render

    draws = iter([("bach/bwv248.42-4", 0)])
    real_draw = render.draw_excerpt
    monkeypatch.setattr(render, "draw_excerpt", lambda pieces, seconds, seed: next(draws, None)
                        or real_draw(pieces, seconds, seed))
    silent = render.render_excerpt("bach/bwv248.42-4", 0, 4, 2.0, 16000, 5)
    assert not silent.f0.voiced.any() and np.abs(silent.mixture).max() < 1e-6
    excerpt = render.render_sung_excerpt(render.list_pieces("train", 4), 4, 2.0, 16000, 5)
    assert excerpt.f0.voiced.any() and np.abs(excerpt.mixture).max() > 1e-3
    assert excerpt.meta["seed"] == 6
