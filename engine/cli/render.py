"""``motet render IN.mid -o OUT.wav``: play a MIDI piece with a piano (SoundFont, else motet's own)."""
from __future__ import annotations

import argparse

from engine.cli import Command


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("midi", help="MIDI file to render")
    p.add_argument("-o", "--output", required=True, help="audio file to write (.wav or .flac)")
    p.add_argument("--engine", choices=["auto", "soundfont", "builtin"], default="auto",
                   help="auto: SoundFont piano if installed, else the built-in additive piano")
    p.add_argument("--sample-rate", type=int, default=44100, help="Hz (default 44100)")


def run(args: argparse.Namespace) -> int:
    from engine.errors import MotetError
    from engine.generation.piano import render_piano, soundfont_available
    from engine.io.audio import save_audio
    from engine.io.midi import read_piece

    piece = read_piece(args.midi)
    audio = render_piano(piece.notes, piece.tempo_bpm, args.sample_rate, args.engine)
    try:
        save_audio(args.output, audio, args.sample_rate)
    except MotetError:
        raise
    except Exception as err:
        raise MotetError(f"{args.output}: cannot write ({err})") from None
    used = "soundfont" if args.engine == "soundfont" or (args.engine == "auto" and soundfont_available()) \
        else "builtin"
    print(f"{args.output}: {audio.shape[1] / args.sample_rate:.1f} s, {used} piano")
    return 0


COMMANDS = [Command("render", "render a MIDI piece to audio with a piano sound", add_arguments, run)]
