"""motet's engine: audio I/O, DSP, voice models, separation, F0, editing, generation, playback.

Never imports Qt. Long-running functions take an optional ``progress(fraction, stage)`` callback
(see :mod:`engine.jobs`) and raise :class:`engine.errors.MotetError` for anything a user caused.
"""
