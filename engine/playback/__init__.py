"""Real-time playback of pre-rendered tracks: :class:`Player` (stream + transport) over :class:`Mixer` (numpy)."""
from engine.playback.mixer import FADE_S, Mixer, MixState, TrackState, db_to_gain, pan_gains
from engine.playback.player import Player

__all__ = ["FADE_S", "Mixer", "MixState", "Player", "TrackState", "db_to_gain", "pan_gains"]
