"""Test doubles: a sound stream with no sound card (the test pulls audio blocks from the player's callback)."""
from __future__ import annotations

import numpy as np


class FakeStream:
    """Stands in for sounddevice.OutputStream; ``pull(seconds)`` runs the callback like the device would."""

    def __init__(self, samplerate, blocksize, channels, dtype, callback):
        self.samplerate, self.blocksize, self.channels, self.callback = samplerate, blocksize, channels, callback
        self.started = False
        self.closed = False
        self.blocks: list[np.ndarray] = []
        self.keep = False

    def start(self):
        self.started = True

    def stop(self):
        self.started = False

    def close(self):
        self.closed = True

    def pull(self, seconds: float) -> np.ndarray:
        """[frames, channels]: what the device would have played in ``seconds``."""
        n = max(1, int(round(seconds * self.samplerate / self.blocksize)))
        out = []
        for _ in range(n):
            block = np.zeros((self.blocksize, self.channels), dtype=np.float32)
            self.callback(block, self.blocksize, None, None)
            out.append(block)
        data = np.concatenate(out)
        if self.keep:
            self.blocks.append(data)
        return data


class FakeAudio:
    """A player factory whose streams are FakeStreams; ``.stream`` is the last one opened."""

    def __init__(self):
        self.stream = None

    def make_stream(self, **kwargs):
        self.stream = FakeStream(**kwargs)
        return self.stream

    def __call__(self):
        from engine.playback import Player

        return Player(sample_rate=44100, block_size=512, channels=2, stream_factory=self.make_stream)
