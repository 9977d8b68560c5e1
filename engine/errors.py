"""User-facing errors: one clear line naming what and why, never a traceback."""


class MotetError(Exception):
    """A problem the user can act on (bad file, bad argument). ``str(err)`` is the one-line message."""


class Cancelled(MotetError):
    """A job was cancelled by the user; raised from a progress callback at a chunk boundary."""

    def __init__(self, message: str = "cancelled"):
        super().__init__(message)
