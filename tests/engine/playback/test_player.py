"""The playback engine driven through its callback with a fake stream: what a listener would hear."""
import tracemalloc

import numpy as np
import pytest

from engine.errors import MotetError
from engine.playback import Player
from tests.engine.playback.fake_stream import FakeStream

SR = 44100
BLOCK = 512
FADE = 441  # 10 ms at 44.1 kHz


def make_player(block=BLOCK, channels=2):
    streams = []

    def factory(**kw):
        streams.append(FakeStream(**kw))
        return streams[-1]

    player = Player(sample_rate=SR, block_size=block, channels=channels, stream_factory=factory)
    player._streams = streams
    return player


def stream(player) -> FakeStream:
    return player._streams[-1]


def tone(seconds=2.0, hz=220.0, amp=0.5):
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def start(player, blocks=1):
    """play() and pull past the fade-in; returns the position in frames after those blocks."""
    player.play()
    for _ in range(blocks):
        stream(player).pull()
    return blocks * BLOCK


def test_silent_until_played_and_stream_opened_lazily():
    player = make_player()
    player.set_track("s", tone())
    assert player._streams == []  # no device touched yet
    player.play()
    s = stream(player)
    assert s.started and s.samplerate == SR and s.blocksize == BLOCK and s.channels == 2 and s.dtype == "float32"
    player.pause()
    assert not player.playing


def test_mono_track_plays_exactly_on_both_channels_after_fade_in():
    player = make_player()
    x = tone()
    player.set_track("s", x)
    player.play()
    first = stream(player).pull()
    ramp = (np.arange(FADE) + 0.5) / FADE
    np.testing.assert_allclose(first[:FADE, 0], x[:FADE] * ramp, atol=1e-6)  # fades in, no click
    np.testing.assert_array_equal(first[FADE:, 0], x[FADE:BLOCK])
    second = stream(player).pull()
    np.testing.assert_array_equal(second[:, 0], x[BLOCK:2 * BLOCK])
    np.testing.assert_array_equal(second[:, 1], second[:, 0])
    assert player.position_s == pytest.approx(2 * BLOCK / SR)


def test_gain_pan_and_stereo_tracks_mix_as_expected():
    player = make_player()
    a, b = tone(hz=220), tone(hz=330, amp=0.25)
    stereo = np.stack([tone(hz=440, amp=0.1), tone(hz=550, amp=0.2)])
    player.set_track("a", a, gain_db=-6.0, pan=-1.0)  # left only
    player.set_track("b", b, gain_db=0.0, pan=0.5)  # left at half, right full
    player.set_track("c", stereo, gain_db=6.0)
    pos = start(player)
    out = stream(player).pull()
    g_a, g_c = 10 ** (-6 / 20), 10 ** (6 / 20)
    seg = slice(pos, pos + BLOCK)
    left = g_a * a[seg] + 0.5 * b[seg] + g_c * stereo[0, seg]
    right = 0.0 * a[seg] + b[seg] + g_c * stereo[1, seg]
    np.testing.assert_allclose(out[:, 0], left, atol=1e-6)
    np.testing.assert_allclose(out[:, 1], right, atol=1e-6)


def test_mute_fades_out_without_a_click_and_then_is_silent():
    player = make_player()
    dc = np.full(SR, 0.5, dtype=np.float32)
    player.set_track("v", dc)
    start(player)
    player.set_mute("v", True)
    block = stream(player).pull()[:, 0]
    assert np.max(np.abs(np.diff(block))) <= 0.5 / FADE + 1e-6  # a 10-ms ramp, not a step
    np.testing.assert_array_equal(block[FADE:], 0.0)
    np.testing.assert_array_equal(stream(player).pull(), 0.0)
    player.set_mute("v", False)
    stream(player).pull()
    np.testing.assert_array_equal(stream(player).pull(), 0.5)


def test_solo_plays_only_soloed_tracks_and_mute_wins():
    player = make_player()
    player.set_track("s", np.full(SR, 0.1, np.float32))
    player.set_track("a", np.full(SR, 0.2, np.float32))
    player.set_track("t", np.full(SR, 0.4, np.float32))
    start(player)
    np.testing.assert_allclose(stream(player).pull(), 0.7, atol=1e-6)
    player.set_solo("a", True)
    player.set_solo("t", True)
    stream(player).pull()
    np.testing.assert_allclose(stream(player).pull(), 0.6, atol=1e-6)
    player.set_mute("t", True)
    stream(player).pull()
    np.testing.assert_allclose(stream(player).pull(), 0.2, atol=1e-6)
    player.set_solo("a", False)
    player.set_solo("t", False)
    stream(player).pull()
    np.testing.assert_allclose(stream(player).pull(), 0.3, atol=1e-6)


def test_replace_audio_while_playing_crossfades_then_plays_the_new_audio():
    player = make_player()
    player.set_track("alto", np.full(SR, 0.5, np.float32), gain_db=-6.0)
    start(player, blocks=2)
    g = 10 ** (-6 / 20)
    player.replace_audio("alto", np.full(SR, -0.5, np.float32))
    block = stream(player).pull()[:, 0]
    steps = np.abs(np.diff(block))
    assert steps.max() <= g * 1.0 / FADE + 1e-6  # a linear 10-ms crossfade, no jump
    assert block[0] == pytest.approx(g * 0.5, abs=0.01)
    np.testing.assert_allclose(block[FADE:], -0.5 * g, atol=1e-6)
    assert player.track_names == ["alto"]


def test_replace_audio_keeps_a_reference_no_copy_of_mono_audio():
    player = make_player()
    x = tone()
    player.set_track("v", x)
    y = tone(hz=300)
    player.replace_audio("v", y)
    assert np.shares_memory(player._mix.tracks[0].samples, y)


def test_seek_moves_at_once_and_crossfades_while_playing():
    player = make_player()
    x = tone(seconds=3.0)
    player.set_track("v", x)
    start(player, blocks=3)
    player.seek(1.5)
    assert player.position_s == pytest.approx(1.5)  # the GUI sees it before the next block
    block = stream(player).pull()[:, 0]
    target = int(1.5 * SR)
    np.testing.assert_array_equal(block[FADE:], x[target + FADE:target + BLOCK])
    assert np.max(np.abs(np.diff(block))) < 0.05  # the crossfade keeps the waveform continuous
    assert player.position_s == pytest.approx((target + BLOCK) / SR)


def test_seek_while_paused_applies_silently():
    player = make_player()
    x = tone()
    player.set_track("v", x)
    player.seek(1.0)
    player.play()
    stream(player).pull()
    block = stream(player).pull()[:, 0]
    np.testing.assert_array_equal(block, x[SR + BLOCK:SR + 2 * BLOCK])


def test_pause_fades_out_and_holds_position():
    player = make_player()
    player.set_track("v", np.full(SR, 0.5, np.float32))
    start(player, blocks=2)
    player.pause()
    block = stream(player).pull()[:, 0]
    np.testing.assert_allclose(block[:FADE], 0.5 * (1 - (np.arange(FADE) + 0.5) / FADE), atol=1e-6)
    np.testing.assert_array_equal(block[FADE:], 0.0)
    held = player.position_s
    assert held == pytest.approx((2 * BLOCK + FADE) / SR)
    np.testing.assert_array_equal(stream(player).pull_many(3), 0.0)
    assert player.position_s == held and not player.playing


def test_loop_repeats_the_region_with_a_crossfade_at_each_wrap():
    player = make_player()
    x = tone(seconds=1.0, hz=97.0)
    player.set_track("v", x)
    start_f, end_f = 4410, 4410 + 1500  # 0.1 s .. 0.134 s: wraps fall inside blocks and across them
    length = end_f - start_f
    player.set_loop(start_f / SR, end_f / SR)
    player.seek(start_f / SR)
    player.play()
    stream(player).pull()
    out = stream(player).pull_many(8)[:, 0]
    k = np.arange(BLOCK, 9 * BLOCK)  # frames since play
    into = k % length  # frames into the current pass of the loop
    expected = x[start_f + into].copy()
    after_wrap = (k >= length) & (into < FADE)  # the first 10 ms of every pass but the first
    w = (into[after_wrap] + 0.5) / FADE
    expected[after_wrap] = x[start_f + into[after_wrap]] * w + x[end_f + into[after_wrap]] * (1 - w)
    np.testing.assert_allclose(out, expected, atol=1e-6)
    assert after_wrap.any()
    assert np.max(np.abs(np.diff(out))) < 0.01  # the 97-Hz tone's own slope is ~0.007: no click at the wraps
    assert start_f / SR <= player.position_s < end_f / SR
    player.clear_loop()
    assert player.loop_s is None


def test_stops_at_the_end_and_play_restarts_from_the_beginning():
    player = make_player()
    player.set_track("v", np.full(1000, 0.25, np.float32))
    player.play()
    block1 = stream(player).pull()
    block2 = stream(player).pull()[:, 0]
    assert not player.playing
    assert player.position_s == pytest.approx(1000 / SR) == pytest.approx(player.duration_s)
    np.testing.assert_array_equal(block2[:1000 - BLOCK], 0.25)
    np.testing.assert_array_equal(block2[1000 - BLOCK:], 0.0)
    assert block1.shape == (BLOCK, 2)
    player.play()
    assert player.position_s == 0.0 and player.playing


def test_underruns_are_counted():
    player = make_player()
    player.set_track("v", tone())
    player.play()
    stream(player).pull(underflow=True)
    stream(player).pull()
    stream(player).pull(underflow=True)
    assert player.underruns == 2


def test_position_advances_every_block_for_a_30_hz_playhead():
    player = make_player()
    player.set_track("v", tone())
    player.play()
    positions = []
    for _ in range(10):
        stream(player).pull()
        positions.append(player.position_s)
    assert np.allclose(np.diff(positions), BLOCK / SR)
    assert BLOCK / SR < 1 / 30  # each block moves it by less than a 30-Hz frame


def test_remove_track_and_mono_output():
    player = make_player(channels=1)
    player.set_track("a", np.stack([np.full(SR, 0.2, np.float32), np.full(SR, 0.4, np.float32)]))
    player.set_track("b", np.full(SR, 0.1, np.float32))
    start(player)
    np.testing.assert_allclose(stream(player).pull(), 0.4, atol=1e-6)  # stereo 'a' folded to mono 0.3
    player.remove_track("b")
    block = stream(player).pull()[:, 0]
    np.testing.assert_allclose(block[:FADE], 0.3 + 0.1 * (1 - (np.arange(FADE) + 0.5) / FADE), atol=1e-6)
    np.testing.assert_allclose(block[FADE:], 0.3, atol=1e-6)  # 'b' faded out over 10 ms, no click
    np.testing.assert_allclose(stream(player).pull(), 0.3, atol=1e-6)
    player.set_gain_db("a", 0.0)  # the next change lets the faded-out track go
    assert [t.name for t in player._mix.tracks] == ["a"] and player.track_names == ["a"]
    with pytest.raises(MotetError, match="no track named 'b'"):
        player.set_gain_db("b", 0.0)


def test_resamples_a_track_given_at_another_rate():
    player = make_player()
    player.set_track("v", np.zeros(22050, np.float32), sample_rate=22050)
    assert player.duration_s == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("samples, problem", [
    (np.zeros(100, np.int16), "floating point"),
    (np.zeros((100, 2, 2), np.float32), r"\[frames\] or \[channels, frames\]"),
    (np.zeros((2, 0), np.float32), r"\[frames\] or \[channels, frames\]"),
    (np.array([0.0, np.nan], np.float32), "NaN"),
])
def test_bad_track_samples_are_clear_errors(samples, problem):
    with pytest.raises(MotetError, match=problem):
        make_player().set_track("bad", samples)


def test_bad_pan_and_loop_are_clear_errors():
    player = make_player()
    player.set_track("v", tone())
    with pytest.raises(MotetError, match="pan"):
        player.set_pan("v", 2.0)
    with pytest.raises(MotetError, match="loop"):
        player.set_loop(1.0, 1.001)


def test_a_missing_sound_device_is_one_clear_error():
    def no_device(**kw):
        raise MotetError("audio output: cannot open the sound device (no default output device)")

    player = Player(stream_factory=no_device)
    player.set_track("v", tone())
    with pytest.raises(MotetError, match="audio output"):
        player.play()


def test_callback_allocates_no_audio_buffers():
    """8 tracks, big blocks, crossfades, seeks and loops: the callback's traced memory stays flat."""
    block = 4096  # one stereo block of scratch would be 32 KiB: far above the threshold
    player = make_player(block=block)
    rng = np.random.default_rng(0)
    for i in range(8):
        player.set_track(f"v{i}", (0.1 * rng.standard_normal((2 if i % 2 else 1, 5 * SR))).astype(np.float32))
    player.play()
    s = stream(player)
    for _ in range(3):
        s.pull(copy=False)
    replacement = (0.1 * rng.standard_normal(5 * SR)).astype(np.float32)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        peak = 0
        for i in range(40):
            if i == 5:
                player.seek(2.0)
            if i == 10:
                player.set_loop(1.0, 1.5)
            s.pull(copy=False)
            peak = max(peak, tracemalloc.get_traced_memory()[1] - base)
            tracemalloc.reset_peak()
        # control-thread work (allowed to allocate) between blocks, outside the measurement
        player.replace_audio("v0", replacement)
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        for i in range(5):
            s.pull(copy=False)
            peak = max(peak, tracemalloc.get_traced_memory()[1] - base)
    finally:
        tracemalloc.stop()
    print(f"callback peak traced allocation: {peak} bytes")
    assert peak < 8 * 1024, f"callback allocated {peak} bytes"


def test_a_device_that_fails_to_start_is_one_clear_error_and_play_can_retry():
    class Busy(FakeStream):
        def start(self):
            raise RuntimeError("Device unavailable [PaErrorCode -9985]")

    streams = []

    def factory(**kw):
        streams.append((Busy if len(streams) == 0 else FakeStream)(**kw))
        return streams[-1]

    player = Player(stream_factory=factory)
    player.set_track("v", tone())
    with pytest.raises(MotetError, match="cannot start the sound device"):
        player.play()
    assert not player.playing and streams[0].closed
    player.play()
    assert player.playing and streams[1].started


def test_edits_from_another_thread_while_the_callback_runs_never_break_a_block():
    import threading

    player = make_player()
    rng = np.random.default_rng(1)
    voices = [(0.1 * rng.standard_normal(SR)).astype(np.float32) for _ in range(4)]
    for i, v in enumerate(voices):
        player.set_track(f"v{i}", v)
    player.set_loop(0.0, 0.9)
    player.play()
    stop = threading.Event()
    edits = [0]

    def editor():  # the GUI/engine thread
        r = np.random.default_rng(2)
        while not stop.is_set():
            name = f"v{r.integers(4)}"
            choice = r.integers(6)
            if choice == 0:
                player.replace_audio(name, voices[r.integers(4)])
            elif choice == 1:
                player.set_gain_db(name, float(r.uniform(-20, 6)))
            elif choice == 2:
                player.set_mute(name, bool(r.integers(2)))
            elif choice == 3:
                player.set_solo(name, bool(r.integers(2)))
            elif choice == 4:
                player.seek(float(r.uniform(0, 0.9)))
            else:
                player.set_pan(name, float(r.uniform(-1, 1)))
            edits[0] += 1

    thread = threading.Thread(target=editor)
    thread.start()
    try:
        peak = 0.0
        for _ in range(400):
            block = stream(player).pull(copy=False)
            assert np.isfinite(block).all()
            peak = max(peak, float(np.abs(block).max()))
    finally:
        stop.set()
        thread.join()
    assert player.callback_errors == 0 and edits[0] > 50
    assert peak < 4 * 2.0 * 0.1 * 6  # never more than every voice at +6 dB


def test_a_four_channel_recording_plays_folded_to_mono():
    player = make_player()
    player.set_track("quad", np.stack([np.full(SR, v, np.float32) for v in (0.1, 0.2, 0.3, 0.4)]))
    start(player)
    np.testing.assert_allclose(stream(player).pull(), 0.25, atol=1e-6)
