"""The Player: owns the sounddevice output stream and the transport (play, pause, seek, loop).

Real-time rules (see DESIGN.md): the stream's callback only mixes pre-rendered float32 buffers; it never takes a
lock, never allocates audio-sized memory, never touches torch and does no work proportional to track length.
Control methods (called from the GUI or engine thread) publish new immutable state by swapping one reference:
``self._mix`` (tracks), ``self._seek_request`` (serial, frame) and ``self._loop`` (start, end) tuples, and the
``self._want_playing`` flag. The callback alone writes the position.

Clicks are avoided with ~10 ms fades: a replaced track and a gain/mute/solo/pan change crossfade; play fades in,
pause fades out; a seek while playing, and each wrap of a loop, crossfade from the old place to the new one.
"""
from __future__ import annotations

import threading
from typing import Callable, Optional

import numpy as np

from engine.errors import MotetError
from engine.playback.mixer import MixState, Mixer, TrackState, db_to_gain, pan_gains


class _TrackSettings:
    """The control-side settings of one track (not seen by the callback)."""

    __slots__ = ("samples", "gain_db", "pan", "mute", "solo")

    def __init__(self, samples: np.ndarray, gain_db: float, pan: float):
        self.samples = samples
        self.gain_db = float(gain_db)
        self.pan = float(pan)
        self.mute = False
        self.solo = False


def _default_stream_factory(**kwargs):
    try:
        import sounddevice
    except OSError as err:  # PortAudio library missing
        raise MotetError(f"audio output: {err} (install libportaudio2)") from None
    try:
        return sounddevice.OutputStream(**kwargs)
    except Exception as err:  # PortAudioError, ValueError for a bad device
        raise MotetError(f"audio output: cannot open the sound device ({str(err).splitlines()[0]})") from None


class Player:
    """Real-time playback of named tracks.

    sample_rate: Hz of every track and of the stream; block_size: frames per callback; channels: 1 or 2.
    stream_factory(samplerate=, blocksize=, channels=, dtype=, callback=) -> stream with start/stop/close;
    default sounddevice.OutputStream (tests inject a fake and call its callback directly).
    """

    def __init__(self, sample_rate: int = 44100, block_size: int = 512, channels: int = 2,
                 stream_factory: Optional[Callable] = None):
        if channels not in (1, 2):
            raise MotetError(f"playback: {channels} output channels; only 1 or 2 are supported")
        if not 1000 <= sample_rate <= 768000:
            raise MotetError(f"playback: implausible sample rate {sample_rate} Hz")
        self.sample_rate = int(sample_rate)
        self.block_size = int(block_size)
        self.channels = channels
        self._stream_factory = stream_factory or _default_stream_factory
        self._stream = None
        self._mixer = Mixer(self.sample_rate, channels, max(self.block_size, 4096))
        self._control = threading.Lock()  # serialises control methods; the callback never takes it
        self._settings: dict[str, _TrackSettings] = {}
        self._mix = MixState()
        # transport, written by control methods
        self._want_playing = False
        self._seek_request = (0, 0)  # (serial, frame)
        self._loop: Optional[tuple[int, int]] = None
        # transport, written by the callback
        self._pos = 0
        self._audible = False
        self._seek_seen = 0
        # a "tail": the old place still sounding, fading out, after a seek or a loop wrap (callback-only state)
        self._tail_pos = 0
        self._tail_done = self._mixer.fade_len  # frames of the tail's fade done; fade_len = no tail
        self.underruns = 0
        self.callback_errors = 0

    # ------------------------------------------------------------------ tracks

    def _as_track_samples(self, name: str, samples: np.ndarray, sample_rate: Optional[int]) -> np.ndarray:
        """[1 | channels, frames] float32 C-contiguous (a view when already so), resampled to the player's
        rate when ``sample_rate`` is given and differs; other channel counts are averaged to mono."""
        arr = np.asarray(samples)
        if arr.dtype.kind != "f":
            raise MotetError(f"track '{name}': samples must be floating point, not {arr.dtype}")
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] < 1 or arr.shape[0] > 64:
            raise MotetError(f"track '{name}': samples must be [frames] or [channels, frames], got {arr.shape}")
        if not np.isfinite(arr).all():
            raise MotetError(f"track '{name}': samples contain NaN or infinite values")
        if sample_rate is not None and int(sample_rate) != self.sample_rate:
            import soxr

            arr = np.stack([soxr.resample(np.ascontiguousarray(row, dtype=np.float32), int(sample_rate),
                                          self.sample_rate) for row in arr])
        if arr.shape[0] not in (1, self.channels):  # e.g. stereo on a mono output, a 4-channel recording
            arr = arr.mean(axis=0, keepdims=True)
        return np.ascontiguousarray(arr, dtype=np.float32)

    def _publish(self) -> None:
        """Rebuild the mix snapshot from the settings and swap it in. Call with ``self._control`` held.

        A track whose audio or effective gains change crossfades from what was heard before; a new track
        fades in, a removed one fades out.
        """
        old = {t.name: t for t in self._mix.tracks}
        any_solo = any(s.solo for s in self._settings.values())
        tracks = []
        for name, s in self._settings.items():
            audible = not s.mute and (s.solo or not any_solo)
            gains = pan_gains(db_to_gain(s.gain_db) if audible else 0.0, s.pan, self.channels)
            previous = old.get(name)
            if previous is not None and previous.samples is s.samples and previous.gains == gains:
                if previous.prev_samples is not None and previous.fade_pos >= self._mixer.fade_len:
                    previous = TrackState(name, s.samples, gains, fade=False)  # let the old buffer go
                tracks.append(previous)
            else:
                tracks.append(TrackState(name, s.samples, gains, previous))
        frames = max((t.frames for t in tracks), default=0)
        silence = pan_gains(0.0, 0.0, self.channels)
        for name, t in old.items():  # a removed track fades out as a silent "ghost", dropped once faded
            if name not in self._settings and not (t.silent and t.fade_pos >= self._mixer.fade_len):
                tracks.append(t if t.silent else TrackState(name, t.samples, silence, t))
        self._mix = MixState(tuple(tracks), frames)

    def set_track(self, name: str, samples: np.ndarray, gain_db: float = 0.0, pan: float = 0.0,
                  sample_rate: Optional[int] = None) -> None:
        """Add or replace track ``name``: float [frames] or [channels, frames] at the player's rate (or at
        ``sample_rate`` Hz, resampled here). The player keeps a reference: do not modify the array afterwards."""
        data = self._as_track_samples(name, samples, sample_rate)
        with self._control:
            s = self._settings.get(name)
            if s is None:
                self._settings[name] = _TrackSettings(data, gain_db, self._check_pan(pan))
            else:
                s.samples, s.gain_db, s.pan = data, float(gain_db), self._check_pan(pan)
            self._publish()

    def replace_audio(self, name: str, samples: np.ndarray, sample_rate: Optional[int] = None) -> None:
        """Swap track ``name``'s audio, keeping its settings; crossfades over ~10 ms while playing."""
        data = self._as_track_samples(name, samples, sample_rate)
        with self._control:
            self._settings_of(name).samples = data
            self._publish()

    def remove_track(self, name: str) -> None:
        with self._control:
            self._settings_of(name)
            del self._settings[name]
            self._publish()

    def _settings_of(self, name: str) -> _TrackSettings:
        try:
            return self._settings[name]
        except KeyError:
            raise MotetError(f"playback: no track named '{name}'") from None

    @staticmethod
    def _check_pan(pan: float) -> float:
        pan = float(pan)
        if not -1.0 <= pan <= 1.0:
            raise MotetError(f"playback: pan {pan} is outside -1 (left) .. 1 (right)")
        return pan

    def _change(self, name: str, field: str, value) -> None:
        with self._control:
            setattr(self._settings_of(name), field, value)
            self._publish()

    def set_gain_db(self, name: str, db: float) -> None:
        self._change(name, "gain_db", float(db))

    def set_pan(self, name: str, pan: float) -> None:
        self._change(name, "pan", self._check_pan(pan))

    def set_mute(self, name: str, mute: bool) -> None:
        self._change(name, "mute", bool(mute))

    def set_solo(self, name: str, solo: bool) -> None:
        self._change(name, "solo", bool(solo))

    @property
    def track_names(self) -> list[str]:
        return list(self._settings)

    # ------------------------------------------------------------------ transport

    def open(self) -> None:
        """Open and start the output stream (play() does this on first use)."""
        if self._stream is not None:
            return
        stream = self._stream_factory(samplerate=self.sample_rate, blocksize=self.block_size,
                                      channels=self.channels, dtype="float32", callback=self._callback)
        try:
            stream.start()
        except Exception as err:  # PortAudioError: device busy or gone
            self._want_playing = False
            try:
                stream.close()
            except Exception:
                pass
            raise MotetError(f"audio output: cannot start the sound device ({str(err).splitlines()[0]})") from None
        self._stream = stream

    def close(self) -> None:
        """Stop and close the stream (a later play() opens a new one)."""
        stream, self._stream = self._stream, None
        self._want_playing = False
        if stream is not None:
            stream.stop()
            stream.close()
        self._audible = False

    def play(self) -> None:
        """Start (or resume) playing; at the end of the audio, starts again from the beginning."""
        if self._loop is None and self._mix.frames and self._frame_now() >= self._mix.frames:
            self.seek(0.0)
        self._want_playing = True
        self.open()

    def pause(self) -> None:
        self._want_playing = False

    def toggle(self) -> None:
        """Play if paused, pause if playing (the space bar)."""
        self.pause() if self.playing else self.play()

    def seek(self, seconds: float) -> None:
        """Move the play position to ``seconds`` (clamped at 0); crossfades when playing."""
        frame = max(0, int(round(float(seconds) * self.sample_rate)))
        with self._control:
            self._seek_request = (self._seek_request[0] + 1, frame)

    def set_loop(self, start_s: float, end_s: float) -> None:
        """Loop the region [start_s, end_s) while playing through it; at least 10 ms long."""
        start = int(round(float(start_s) * self.sample_rate))
        end = int(round(float(end_s) * self.sample_rate))
        if start < 0 or end - start < self._mixer.fade_len:
            raise MotetError(f"playback: loop {start_s:g}..{end_s:g} s must start at 0 s or later and last 10 ms or more")
        self._loop = (start, end)

    def clear_loop(self) -> None:
        self._loop = None

    @property
    def loop_s(self) -> Optional[tuple[float, float]]:
        loop = self._loop
        return None if loop is None else (loop[0] / self.sample_rate, loop[1] / self.sample_rate)

    def _frame_now(self) -> int:
        serial, frame = self._seek_request
        return frame if serial != self._seek_seen else self._pos

    @property
    def position_s(self) -> float:
        """Seconds into the tracks of the next block to play (a pending seek shows at once)."""
        return self._frame_now() / self.sample_rate

    @property
    def playing(self) -> bool:
        return self._want_playing

    @property
    def duration_s(self) -> float:
        """The longest track, in seconds."""
        return self._mix.frames / self.sample_rate

    @property
    def latency_s(self) -> float:
        """The output stream's latency (0 when no stream is open)."""
        stream = self._stream
        latency = getattr(stream, "latency", 0.0) if stream is not None else 0.0
        return float(latency) if isinstance(latency, (int, float)) else 0.0

    # ------------------------------------------------------------------ the audio callback

    def _callback(self, outdata: np.ndarray, frames: int, time_info, status) -> None:
        """sounddevice's callback: fill ``outdata`` [frames, channels] float32. Runs on the audio thread."""
        try:
            if status and status.output_underflow:
                self.underruns += 1
            step = self._mixer.max_block
            for off in range(0, frames, step):
                n = min(step, frames - off)
                block = self._mixer.block[:, :n]
                block.fill(0.0)
                self._fill(block)
                np.copyto(outdata[off:off + n].T, block)
        except Exception:  # never let an exception stop the stream; silence this block instead
            self.callback_errors += 1
            outdata.fill(0.0)

    def _fill(self, block: np.ndarray) -> None:
        """Mix the next ``block`` [channels, n] (zeroed) according to the transport."""
        mixer = self._mixer
        mix = self._mix
        want = self._want_playing
        serial, target = self._seek_request
        seek = serial != self._seek_seen
        f = min(block.shape[1], mixer.fade_len)
        if not self._audible:
            if seek:
                self._pos, self._seek_seen = target, serial
            Mixer.settle(mix)  # nothing was audible: changes need no crossfade
            self._tail_done = mixer.fade_len
            if not want:
                return
            self._audible = True  # before rendering: reaching the end inside the block resets it
            self._render(block, mix)
            self._fade(block[:, :f], mixer.fade_in)
        elif not want:
            self._render(block[:, :f], mix)
            self._fade(block[:, :f], mixer.fade_out)
            self._audible = False
        else:
            if seek:  # the old place fades out while the new one fades in
                self._tail_pos, self._tail_done = self._pos, 0
                self._pos, self._seek_seen = target, serial
            self._render(block, mix)

    @staticmethod
    def _fade(block: np.ndarray, curve: np.ndarray) -> None:
        """block[c, :f] *= curve[:f] for each channel row."""
        f = block.shape[1]
        for c in range(block.shape[0]):
            row = block[c]
            np.multiply(row, curve[:f], out=row)

    def _crossfade_tail(self, dest: np.ndarray, mix: MixState) -> None:
        """While a tail sounds: fade ``dest``'s head in and add the tail's audio fading out."""
        mixer = self._mixer
        done = self._tail_done
        f = min(dest.shape[1], mixer.fade_len - done)
        self._fade(dest[:, :f], mixer.fade_in[done:done + f])
        scratch = mixer.scratch[:, :f]
        scratch.fill(0.0)
        mixer.mix(scratch, self._tail_pos, mix, fades=False)
        self._fade(scratch, mixer.fade_out[done:done + f])
        np.add(dest[:, :f], scratch, out=dest[:, :f])
        self._tail_pos += f
        self._tail_done = done + f

    def _render(self, dest: np.ndarray, mix: MixState) -> None:
        """Mix [channels, n] from the current position, wrapping at the loop end (with a crossfade from the
        audio after the loop end to the loop start), stopping at the end of the audio."""
        n = dest.shape[1]
        off = 0
        pos = self._pos
        mixer = self._mixer
        while off < n:
            loop = self._loop
            if loop is not None and pos < loop[1]:
                end = loop[1]
            else:
                loop = None
                end = mix.frames
            if pos >= end:
                self._want_playing = False  # reached the end: stop
                self._audible = False
                break
            m = min(n - off, end - pos)
            segment = dest[:, off:off + m]
            mixer.mix(segment, pos, mix)
            if self._tail_done < mixer.fade_len:
                self._crossfade_tail(segment, mix)
            off += m
            pos += m
            if loop is not None and pos >= loop[1]:
                self._tail_pos, self._tail_done = pos, 0
                pos = loop[0]
        self._pos = pos
