"""The ``motet`` command line.

Every module in this package declares ``COMMANDS: list[Command]``; :func:`main` collects them, so adding a
subcommand means adding a module here and touching nothing else. Modules import heavy libraries (torch)
inside their ``run`` functions so that ``motet --help`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from dataclasses import dataclass
from typing import Callable, Optional

from engine.errors import MotetError


@dataclass(frozen=True)
class Command:
    """One subcommand. ``name`` is one word ("info") or a group and a word ("eval separation")."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], Optional[int]]
    description: str = ""


GROUP_HELP = {
    "bench": "measure speed (JSON with --json)",
    "eval": "measure quality on evaluation data (JSON with --json)",
    "train": "train a model",
    "data": "make training data",
}


def all_commands() -> list[Command]:
    """Every Command declared by the modules of this package, sorted by name."""
    commands = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        commands.extend(getattr(module, "COMMANDS", []))
    return sorted(commands, key=lambda c: c.name)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="motet",
        description="motet: separate a choir into its voices, edit each voice, compose around a theme.",
    )
    top = parser.add_subparsers(dest="command", metavar="COMMAND")
    groups: dict[str, argparse._SubParsersAction] = {}
    for command in all_commands():
        words = command.name.split()
        if len(words) == 1:
            sub = top.add_parser(words[0], help=command.help, description=command.description or command.help)
        else:
            group, word = words
            if group not in groups:
                gp = top.add_parser(group, help=GROUP_HELP.get(group, group))
                groups[group] = gp.add_subparsers(dest="subcommand", metavar="WHAT")
                gp.set_defaults(_group_parser=gp)
            sub = groups[group].add_parser(word, help=command.help, description=command.description or command.help)
        command.add_arguments(sub)
        sub.set_defaults(_run=command.run)
    return parser


def passive_thread_wait() -> None:
    """Let torch's idle OpenMP workers sleep instead of spinning (``OMP_WAIT_POLICY=PASSIVE``) unless the user set
    a policy. Only effective before torch is first imported (libgomp reads it when it loads). On a busy shared CPU
    a spinning worker holds a core while the thread it waits for is descheduled: on the team's 2-core VM at load
    average 6, separating 48 s of 44.1-kHz SATB with 2 threads took 8-53 s with the default policy, 2.9 s with
    the passive one (1 thread: 2.8 s). Every command gets it, the app included: its engine thread shares the
    CPU with the audio callback and the interface."""
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of the ``motet`` console script. Errors become one line on stderr and a non-zero exit."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, "_run", None)
    if run is None:
        group_parser = getattr(args, "_group_parser", None)
        (group_parser or parser).print_help(sys.stderr)
        return 2
    passive_thread_wait()
    try:
        code = run(args)
    except MotetError as err:
        print(f"motet: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("motet: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # a bug of ours: still one line unless asked for the traceback
        if os.environ.get("MOTET_DEBUG"):
            raise
        print(f"motet: internal error: {type(err).__name__}: {err} (set MOTET_DEBUG=1 for details)", file=sys.stderr)
        return 1
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
