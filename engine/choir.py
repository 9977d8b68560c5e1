"""What a choir is: voice names (highest first) and singing ranges."""
from __future__ import annotations

SATB = ("soprano", "alto", "tenor", "bass")

# Typical choral ranges in Hz (lowest, highest), a little wider than textbook ranges.
VOICE_RANGES_HZ = {
    "soprano": (246.9, 1046.5),  # B3..C6
    "alto": (174.6, 698.5),      # F3..F5
    "tenor": (123.5, 523.3),     # B2..C5
    "bass": (73.4, 349.2),       # D2..F4
}


def voice_names(n_voices: int) -> list[str]:
    """Names of ``n_voices`` voices, highest first: soprano/alto/tenor/bass for 4, else voice1..voiceN."""
    if not 1 <= n_voices <= 8:
        raise ValueError(f"a choir has 1 to 8 voices, not {n_voices}")
    if n_voices == 4:
        return list(SATB)
    return [f"voice{i + 1}" for i in range(n_voices)]
