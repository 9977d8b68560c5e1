"""Audio files: every format and rate loads, resampling is clean, every bad input is one clear error."""
import math
import os
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from engine.errors import MotetError
from engine.io.audio import audio_info, audio_stats, load_audio, save_audio

SR = 44100


def sine(seconds=1.0, hz=440.0, rate=SR, amp=0.5):
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def stereo(seconds=1.0, rate=SR):
    return np.stack([sine(seconds, 440, rate), sine(seconds, 660, rate, amp=0.25)])


# ------------------------------------------------------------------ good files


@pytest.mark.parametrize("suffix, subtype, tol", [
    (".wav", "PCM_16", 1e-4), (".wav", "FLOAT", 0.0), (".flac", "PCM_24", 1e-6),
    (".ogg", "VORBIS", None), (".mp3", "MPEG_LAYER_III", None),
])
def test_every_format_loads_stereo_as_float32_channels_first(tmp_path, suffix, subtype, tol):
    x = stereo()
    path = tmp_path / f"choir{suffix}"
    sf.write(path, x.T, SR, subtype=subtype)
    audio = load_audio(path)
    assert audio.sample_rate == SR and audio.channels == 2
    assert audio.samples.dtype == np.float32 and audio.samples.flags.c_contiguous
    if tol is not None:
        assert audio.frames == x.shape[1]
        np.testing.assert_allclose(audio.samples, x, atol=tol)
    else:  # lossy codecs: length within a codec frame, left louder than right as written
        assert abs(audio.frames - x.shape[1]) < 2 * 1152 + 1
        rms = np.sqrt(np.mean(audio.samples ** 2, axis=1))
        assert rms[0] == pytest.approx(0.5 / math.sqrt(2), rel=0.1)
        assert rms[1] == pytest.approx(0.25 / math.sqrt(2), rel=0.1)


@pytest.mark.parametrize("rate", [8000, 22050, 48000, 96000])
def test_any_rate_loads_at_its_own_rate_or_resampled(tmp_path, rate):
    path = tmp_path / "tone.flac"
    sf.write(path, sine(1.0, 440, rate), rate)
    native = load_audio(path)
    assert native.sample_rate == rate and native.frames == rate
    resampled = load_audio(path, sample_rate=SR)
    assert resampled.sample_rate == SR and resampled.frames == SR
    # soxr is transparent: the resampled tone matches the ideal one away from the edges
    ideal = sine(1.0, 440, SR)
    np.testing.assert_allclose(resampled.samples[0, 2000:-2000], ideal[2000:-2000], atol=2e-3)


def test_blockwise_resampling_equals_whole_file_resampling(tmp_path):
    import soxr

    x = stereo(3.0, 48000)  # 3 s: several read blocks
    path = tmp_path / "s.wav"
    sf.write(path, x.T, 48000, subtype="FLOAT")
    audio = load_audio(path, sample_rate=SR)
    whole = soxr.resample(x.T, 48000, SR, quality="HQ").T
    assert audio.frames == 3 * SR
    n = min(audio.frames, whole.shape[1])
    np.testing.assert_allclose(audio.samples[:, :n], whole[:, :n], atol=1e-4)


def test_mono_averages_channels(tmp_path):
    x = stereo()
    path = tmp_path / "s.wav"
    sf.write(path, x.T, SR, subtype="FLOAT")
    audio = load_audio(path, mono=True)
    assert audio.channels == 1
    np.testing.assert_allclose(audio.samples[0], x.mean(axis=0), atol=1e-7)


def test_save_wav_and_flac_round_trip_and_leave_no_temp_files(tmp_path):
    x = stereo()
    save_audio(tmp_path / "out.wav", x, SR)
    save_audio(tmp_path / "out.flac", x, SR)
    np.testing.assert_array_equal(load_audio(tmp_path / "out.wav").samples, x)
    np.testing.assert_allclose(load_audio(tmp_path / "out.flac").samples, x, atol=1e-6)
    assert sorted(os.listdir(tmp_path)) == ["out.flac", "out.wav"]


def test_save_refuses_bad_requests(tmp_path):
    x = sine()
    with pytest.raises(MotetError, match=r"out\.mp3: can save \.wav or \.flac"):
        save_audio(tmp_path / "out.mp3", x, SR)
    with pytest.raises(MotetError, match="NaN"):
        save_audio(tmp_path / "out.wav", np.array([0.0, np.inf], np.float32), SR)
    with pytest.raises(MotetError, match="does not exist"):
        save_audio(tmp_path / "nowhere" / "out.wav", x, SR)
    with pytest.raises(MotetError, match=r"\[frames, channels\]"):
        save_audio(tmp_path / "out.wav", np.zeros((1000, 2), np.float32).T.T, SR)


def test_stats_measure_peak_and_rms_in_dbfs(tmp_path):
    path = tmp_path / "tone.wav"
    sf.write(path, sine(2.0, 1000, amp=0.5), SR, subtype="FLOAT")
    stats = audio_stats(path)
    assert stats.duration_s == pytest.approx(2.0)
    assert stats.peak_dbfs == pytest.approx(20 * math.log10(0.5), abs=0.01)
    assert stats.rms_dbfs == pytest.approx(20 * math.log10(0.5 / math.sqrt(2)), abs=0.01)


# ------------------------------------------------------------------ bad inputs: one clear error each


def assert_one_line_error(path, fragment):
    with pytest.raises(MotetError) as caught:
        load_audio(path)
    message = str(caught.value)
    assert message.startswith(str(path)), message
    assert fragment in message, message
    assert "\n" not in message


def test_missing_file(tmp_path):
    assert_one_line_error(tmp_path / "nope.wav", "file not found")


def test_directory(tmp_path):
    assert_one_line_error(tmp_path, "is a directory")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    assert_one_line_error(path, "is empty (0 bytes)")


def test_not_audio(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("these are rehearsal notes, not audio\n" * 20)
    assert_one_line_error(path, "not an audio file")


def test_truncated_wav(tmp_path):
    path = tmp_path / "cut.wav"
    sf.write(path, sine(), SR, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert_one_line_error(path, "truncated or corrupt")


def test_truncated_flac(tmp_path):
    path = tmp_path / "cut.flac"
    sf.write(path, stereo(2.0).T, SR)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert_one_line_error(path, "truncated or corrupt")


def test_corrupt_flac(tmp_path):
    path = tmp_path / "bad.flac"
    sf.write(path, stereo(2.0).T, SR)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 300] = b"\x00" * 300
    path.write_bytes(bytes(data))
    assert_one_line_error(path, "truncated or corrupt")


def test_truncated_mp3(tmp_path):
    path = tmp_path / "cut.mp3"
    sf.write(path, sine(3.0), SR)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    assert_one_line_error(path, "truncated or corrupt")


def test_zero_samples(tmp_path):
    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros((0, 2), np.float32), SR)
    assert_one_line_error(path, "contains no audio samples")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_samples(tmp_path, bad):
    x = sine()
    x[30000] = bad
    path = tmp_path / "broken.wav"
    sf.write(path, x, SR, subtype="FLOAT")
    assert_one_line_error(path, "contains NaN or infinite samples (first at 0.680 s)")


@pytest.mark.parametrize("rate", [100, 999, 1_000_000])
def test_absurd_sample_rates(tmp_path, rate):
    path = tmp_path / "odd.wav"
    sf.write(path, np.zeros(2000, np.float32), rate, subtype="PCM_16")
    assert_one_line_error(path, f"implausible sample rate {rate} Hz")


def test_absurd_resampling_target(tmp_path):
    path = tmp_path / "ok.wav"
    sf.write(path, sine(), SR)
    with pytest.raises(MotetError, match="cannot resample to 50 Hz"):
        load_audio(path, sample_rate=50)


def test_info_reads_the_header_only(tmp_path):
    path = tmp_path / "s.flac"
    sf.write(path, stereo(1.5, 48000).T, 48000)
    info = audio_info(path)
    assert (info.format, info.sample_rate, info.channels, info.frames) == ("FLAC", 48000, 2, 72000)
    assert info.duration_s == pytest.approx(1.5)


# ------------------------------------------------------------------ memory


@pytest.mark.slow
def test_a_60_minute_file_loads_with_at_most_two_copies_in_memory(tmp_path):
    path = tmp_path / "hour.wav"
    frames = 60 * 60 * SR
    block = (0.25 * np.sin(np.arange(SR) * 0.05)).astype(np.float32)
    with sf.SoundFile(path, "w", SR, 1, subtype="PCM_16") as fh:
        for _ in range(frames // SR):
            fh.write(block)
    one_copy = frames * 4  # float32 mono
    tracemalloc.start()
    try:
        audio = load_audio(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert audio.frames == frames and audio.samples.nbytes == one_copy
    print(f"60-min mono WAV: peak {peak / 2**20:.0f} MiB for {one_copy / 2**20:.0f} MiB of samples "
          f"({peak / one_copy:.2f} copies)")
    assert peak <= 2 * one_copy
    np.testing.assert_allclose(audio.samples[0, -SR:], block, atol=1e-4)


@pytest.mark.parametrize("keep", [0.5, 0.95])
def test_truncated_ogg(tmp_path, keep):
    path = tmp_path / "cut.ogg"
    sf.write(path, (0.3 * np.random.default_rng(0).standard_normal(5 * SR)).astype(np.float32), SR)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    assert_one_line_error(path, "truncated or corrupt")
