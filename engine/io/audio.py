"""Audio files in and out (soundfile / libsndfile), resampling with soxr.

Samples are float32 arrays shaped [channels, frames]. Loading never writes the input file. Every bad input is one
:class:`MotetError` naming the file and the problem: missing, a directory, unreadable, empty, not audio,
truncated or corrupt, no samples, NaN/inf samples, an implausible sample rate.

Files are read in blocks straight into one preallocated [channels, frames] array (resampling block by block with
a soxr stream), so a 60-minute file costs one copy of its samples plus a block, not the two or three a whole-file
read, transpose and resample would take.
"""
from __future__ import annotations

import os
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import numpy as np
import soundfile as sf

from engine.errors import MotetError

MIN_SAMPLE_RATE = 1000  # Hz; below this a file is not music (or its header is broken)
MAX_SAMPLE_RATE = 768000  # Hz; the highest rate audio interfaces offer
BLOCK_FRAMES = 1 << 16  # frames per read
# Compressed formats give an estimated length in their header; a shortfall beyond this fraction means truncation.
LENGTH_TOLERANCE = 0.10
_EXACT_LENGTH_FORMATS = {"WAV", "WAVEX", "FLAC", "AIFF", "W64", "RF64", "CAF", "AU"}


@dataclass
class Audio:
    """samples: float32 [channels, frames]; sample_rate in Hz."""

    samples: np.ndarray
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return self.samples.shape[1] / self.sample_rate

    @property
    def channels(self) -> int:
        return self.samples.shape[0]

    @property
    def frames(self) -> int:
        return self.samples.shape[1]

    def mono(self) -> np.ndarray:
        """[frames] float32 mean of the channels."""
        return self.samples.mean(axis=0) if self.channels > 1 else self.samples[0]


@dataclass
class AudioInfo:
    """What a file's header says. frames: as declared (an estimate for MP3/OGG)."""

    path: Path
    format: str
    subtype: str
    sample_rate: int
    channels: int
    frames: int

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


@dataclass
class AudioStats:
    """Levels of a whole file, measured block by block: peak and RMS over all channels, in dBFS."""

    info: AudioInfo
    frames: int
    peak_dbfs: float
    rms_dbfs: float

    @property
    def duration_s(self) -> float:
        return self.frames / self.info.sample_rate


def to_dbfs(amplitude: float) -> float:
    """20 log10 of a linear amplitude (1.0 = 0 dBFS); -inf for silence."""
    return float(20.0 * np.log10(amplitude)) if amplitude > 0 else float("-inf")


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    text = text.splitlines()[0] if text else type(err).__name__
    return text.removeprefix("Error : ").removeprefix("Error: ").rstrip(". ")


def _check_path(path: Path) -> None:
    if not path.exists():
        raise MotetError(f"{path}: file not found")
    if path.is_dir():
        raise MotetError(f"{path}: is a directory, not an audio file")
    if not os.access(path, os.R_OK):
        raise MotetError(f"{path}: permission denied")
    if path.stat().st_size == 0:
        raise MotetError(f"{path}: is empty (0 bytes)")


def _wav_truncation(path: Path) -> Optional[str]:
    """For a RIFF/WAVE file whose data chunk declares more bytes than the file holds: a description, else None.

    libsndfile silently plays what is there, so a cut-off download would otherwise load as a shorter file.
    """
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            offset = 12
            while offset + 8 <= size:
                fh.seek(offset)
                chunk_id, chunk_size = struct.unpack("<4sI", fh.read(8))
                if chunk_id == b"data":
                    if chunk_size in (0, 0xFFFFFFFF):  # streaming writers leave it unset
                        return None
                    available = size - offset - 8
                    if chunk_size > available:
                        return f"truncated or corrupt (its header declares {chunk_size} bytes of audio, " \
                               f"the file holds {available})"
                    return None
                offset += 8 + chunk_size + (chunk_size & 1)
    except (OSError, struct.error):
        return None
    return None


def _ogg_truncation(path: Path) -> Optional[str]:
    """For an Ogg file that does not end with a complete end-of-stream page: a description, else None.

    libsndfile reports the length up to the last whole page, so a cut-off file would load as a shorter one.
    Ogg pages (RFC 3533): "OggS", version, header type (0x04 = end of stream), ..., segment count at byte 26,
    then the segment table; the page is 27 + segments + sum(table) bytes long.
    """
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            start = max(0, size - 70000)  # a page is at most 65 307 bytes
            fh.seek(start)
            tail = fh.read()
    except OSError:
        return None
    at = len(tail)
    while True:
        at = tail.rfind(b"OggS", 0, at)
        if at < 0:
            return "truncated or corrupt (its last Ogg page is incomplete or missing)"
        header = tail[at:at + 27]
        if len(header) == 27 and header[4] == 0:
            segments = header[26]
            table = tail[at + 27:at + 27 + segments]
            if len(table) == segments and at + 27 + segments + sum(table) == len(tail):
                if header[5] & 0x04:
                    return None
                return "truncated or corrupt (the stream ends without its end-of-stream page)"


def audio_info(path: str | Path) -> AudioInfo:
    """Read and validate a file's header (no samples): format, rate, channels, declared frames."""
    path = Path(path)
    _check_path(path)
    try:
        info = sf.info(str(path))
    except Exception as err:  # soundfile raises LibsndfileError, RuntimeError, TypeError for unreadable files
        message = _first_line(err)
        if "not recognised" in message.lower() or "format" in message.lower():
            raise MotetError(f"{path}: not an audio file (WAV, FLAC, OGG or MP3 expected)") from None
        raise MotetError(f"{path}: truncated or corrupt ({message})") from None
    rate = int(info.samplerate)
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise MotetError(f"{path}: implausible sample rate {rate} Hz (expected {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz)")
    if info.channels < 1:
        raise MotetError(f"{path}: declares {info.channels} channels")
    problem = None
    if info.format in ("WAV", "WAVEX"):
        problem = _wav_truncation(path)
    elif info.format == "OGG":
        problem = _ogg_truncation(path)
    if problem:
        raise MotetError(f"{path}: {problem}")
    return AudioInfo(path, info.format, info.subtype, rate, int(info.channels), max(0, int(info.frames)))


def _read_blocks(path: Path, info: AudioInfo, block_frames: int = BLOCK_FRAMES) -> Iterator[np.ndarray]:
    """Validated float32 blocks [n, channels] of the whole file; raises MotetError on corrupt data or NaN/inf."""
    frames_read = 0
    try:
        with sf.SoundFile(str(path)) as fh:
            buffer = np.empty((block_frames, info.channels), dtype=np.float32)
            while True:
                n = fh.read(block_frames, dtype="float32", always_2d=True, out=buffer).shape[0]
                if n == 0:
                    break
                block = buffer[:n]
                if info.subtype in ("FLOAT", "DOUBLE", "VORBIS", "OPUS") or info.format == "MP3":
                    if not np.isfinite(block).all():
                        bad = frames_read + int(np.argmin(np.isfinite(block).all(axis=1)))
                        raise MotetError(f"{path}: contains NaN or infinite samples "
                                         f"(first at {bad / info.sample_rate:.3f} s)")
                frames_read += n
                yield block
                if n < block_frames:
                    break
    except MotetError:
        raise
    except Exception as err:  # libsndfile decode errors ("flac decoder lost sync") mid-file
        where = f" after {frames_read / info.sample_rate:.2f} s" if frames_read else ""
        raise MotetError(f"{path}: truncated or corrupt ({_first_line(err)}{where})") from None
    if frames_read == 0:
        raise MotetError(f"{path}: contains no audio samples")
    declared = info.frames
    exact = info.format in _EXACT_LENGTH_FORMATS
    if declared and frames_read < declared * (1.0 if exact else 1.0 - LENGTH_TOLERANCE):
        raise MotetError(f"{path}: truncated or corrupt (decoded {frames_read / info.sample_rate:.2f} s of the "
                         f"{declared / info.sample_rate:.2f} s its header declares)")


def load_audio(path: str | Path, sample_rate: int | None = None, mono: bool = False) -> Audio:
    """Read WAV/FLAC/OGG/MP3 at its own rate, or resampled to ``sample_rate`` Hz (soxr, high quality);
    ``mono`` averages the channels. Returns float32 [channels, frames] in one C-contiguous array."""
    path = Path(path)
    info = audio_info(path)
    if sample_rate is not None and not MIN_SAMPLE_RATE <= int(sample_rate) <= MAX_SAMPLE_RATE:
        raise MotetError(f"{path}: cannot resample to {sample_rate} Hz (expected {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz)")
    channels = 1 if mono else info.channels
    rate_out = info.sample_rate if sample_rate is None else int(sample_rate)
    resampler = None
    if rate_out != info.sample_rate:
        import soxr

        resampler = soxr.ResampleStream(info.sample_rate, rate_out, channels, dtype="float32", quality="HQ")

    def expected(frames_in: int) -> int:
        return frames_in if resampler is None else int(round(frames_in * rate_out / info.sample_rate))

    capacity = expected(info.frames)
    out = np.empty((channels, capacity), dtype=np.float32)
    extra: list[np.ndarray] = []  # frames beyond the declared length (MP3 estimates can be short)
    filled = 0
    frames_in = 0

    def put(chunk: np.ndarray) -> None:  # chunk: [n, channels]
        nonlocal filled
        n = chunk.shape[0]
        room = min(n, capacity - filled)
        if room > 0:
            out[:, filled:filled + room] = chunk[:room].T
            filled += room
        if room < n:
            extra.append(np.ascontiguousarray(chunk[room:].T))

    for block in _read_blocks(path, info):
        frames_in += block.shape[0]
        if mono and block.shape[1] > 1:
            block = block.mean(axis=1, keepdims=True, dtype=np.float32)
        if resampler is not None:
            block = resampler.resample_chunk(np.ascontiguousarray(block), last=False)
        put(block)
    if resampler is not None:
        put(resampler.resample_chunk(np.zeros((0, channels), dtype=np.float32), last=True))

    total = expected(frames_in)
    if extra and frames_in > info.frames:  # the file held more than its header declared
        out = np.concatenate([out[:, :filled], *extra], axis=1)
        filled = out.shape[1]
    # (otherwise the extra frames are the resampler's rounding: the length is total, by definition)
    if filled < min(total, capacity):  # the resampler's flush fell a frame or two short: pad with silence
        out[:, filled:min(total, capacity)] = 0.0
    if total > out.shape[1]:
        out = np.concatenate([out, np.zeros((channels, total - out.shape[1]), np.float32)], axis=1)
    if total != out.shape[1]:
        out = np.ascontiguousarray(out[:, :total])
    return Audio(out, rate_out)


def audio_stats(path: str | Path) -> AudioStats:
    """Duration, peak and RMS (dBFS, over all channels) of a file, read block by block (constant memory)."""
    path = Path(path)
    info = audio_info(path)
    peak = 0.0
    square_sum = 0.0
    frames = 0
    for block in _read_blocks(path, info):
        peak = max(peak, float(np.max(np.abs(block))))
        square_sum += float(np.dot(block.ravel().astype(np.float64), block.ravel().astype(np.float64)))
        frames += block.shape[0]
    rms = np.sqrt(square_sum / (frames * info.channels))
    return AudioStats(info, frames, to_dbfs(peak), to_dbfs(float(rms)))


def save_audio(path: str | Path, samples: np.ndarray, sample_rate: int) -> None:
    """Write [channels, frames] or [frames] float samples as WAV (float32) or FLAC (24-bit, clipped to ±1),
    by suffix. The file appears whole or not at all (written to a temporary file, then renamed)."""
    path = Path(path)
    suffix = path.suffix.lower()
    formats = {".wav": ("WAV", "FLOAT"), ".flac": ("FLAC", "PCM_24")}
    if suffix not in formats:
        raise MotetError(f"{path}: can save .wav or .flac, not '{suffix or 'no suffix'}'")
    if not MIN_SAMPLE_RATE <= int(sample_rate) <= MAX_SAMPLE_RATE:
        raise MotetError(f"{path}: implausible sample rate {sample_rate} Hz")
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim == 1:
        samples = samples[None]
    if samples.ndim != 2 or samples.shape[0] < 1 or samples.shape[1] < 1:
        raise MotetError(f"{path}: nothing to save (samples shaped {samples.shape}, expected [channels, frames])")
    if samples.shape[0] > 64:
        raise MotetError(f"{path}: {samples.shape[0]} channels; did you pass [frames, channels]?")
    if not np.isfinite(samples).all():
        raise MotetError(f"{path}: refusing to save NaN or infinite samples")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise MotetError(f"{path}: folder {folder} does not exist")
    fmt, subtype = formats[suffix]
    data = samples.T if fmt == "WAV" else np.clip(samples, -1.0, 1.0).T
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    os.close(fd)
    try:
        sf.write(tmp, data, int(sample_rate), subtype=subtype, format=fmt)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except Exception as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, MotetError):
            raise
        raise MotetError(f"{path}: cannot write ({_first_line(err)})") from None
