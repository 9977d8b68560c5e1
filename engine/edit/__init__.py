"""Edits of each separated voice — pitch, breathiness, timbre, loudness, vibrato — defined on θ and rendered onto
the real stem. See ``docs/edit.md``.

- :class:`VoiceEdits` / :class:`Edit`: the ordered, JSON-serialisable edit list of one voice.
- :class:`VoiceRenderer`: one voice's stem + θ, with a cached analysis; ``render(edits, start_s, end_s)`` and
  ``chunks(...)`` (what the app's sliders call).
- :func:`render_voice`, :func:`render_region`: one-shot forms.
- :func:`load_separation_dir`: the stems and θ that ``motet separate`` wrote.
"""
from engine.edit.edits import KINDS, Edit, VoiceEdits, choir_edits_from_json, choir_edits_to_json
from engine.edit.render import VoiceRenderer, render_region, render_voice
from engine.edit.theta_voice import SeparationDir, ThetaVoice, load_separation_dir

__all__ = ["KINDS", "Edit", "VoiceEdits", "choir_edits_from_json", "choir_edits_to_json", "VoiceRenderer",
           "render_region", "render_voice", "SeparationDir", "ThetaVoice", "load_separation_dir"]
