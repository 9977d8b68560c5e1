"""A stand-in for sounddevice.OutputStream: the test pulls blocks by calling the player's callback."""
import numpy as np


class FakeStatus:
    def __init__(self, underflow=False):
        self.output_underflow = underflow

    def __bool__(self):
        return self.output_underflow


class FakeStream:
    instances: list["FakeStream"] = []

    def __init__(self, samplerate, blocksize, channels, dtype, callback):
        self.samplerate, self.blocksize, self.channels, self.dtype = samplerate, blocksize, channels, dtype
        self.callback = callback
        self.started = self.closed = False
        self.out = np.empty((blocksize, channels), dtype=np.float32)
        FakeStream.instances.append(self)

    def start(self):
        self.started = True

    def stop(self):
        self.started = False

    def close(self):
        self.closed = True

    def pull(self, underflow=False, copy=True):
        """One callback: returns the block [blocksize, channels] the device would play."""
        self.out.fill(123.0)  # garbage: the callback must overwrite every sample
        self.callback(self.out, self.blocksize, None, FakeStatus(underflow))
        return self.out.copy() if copy else self.out

    def pull_many(self, blocks):
        return np.concatenate([self.pull() for _ in range(blocks)])
