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


def busy_cpus(sample_s: float = 0.1) -> float | None:
    """How many CPUs other work keeps busy right now (Linux ``/proc/stat``, two reads ``sample_s`` seconds
    apart); None where that cannot be read."""
    import time

    def read() -> tuple[int, int] | None:
        try:
            with open("/proc/stat") as f:
                ticks = [int(v) for v in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
        return sum(ticks) - idle, sum(ticks)

    first = read()
    time.sleep(sample_s)
    second = read()
    if first is None or second is None or second[1] <= first[1]:
        return None
    return (second[0] - first[0]) / (second[1] - first[1]) * (os.cpu_count() or 1)


def thread_wait_policy(command: str, busy: float | None) -> str | None:
    """The ``OMP_WAIT_POLICY`` for torch's OpenMP workers: None (libgomp's default: an idle worker spins a
    little before it sleeps) for a batch command on an idle CPU (busy: CPUs held by other work, < 0.5), else
    "PASSIVE" (idle workers sleep at once): for the app, whose engine thread shares the CPU with the audio
    callback and the interface, and wherever other work holds a core, since a spinning worker then holds a core
    while the thread it waits for is descheduled. Measured on the team's 2-core VM (docs/separation.md): idle,
    3 minutes of SATB separated in 9.3 s with spinning vs 18.2 s passive; with three other busy processes,
    blind F0 tracking + full refinement of 60 s took 113 s spinning vs 33 s passive."""
    if command != "gui" and busy is not None and busy < 0.5:
        return None
    return "PASSIVE"


def choose_thread_wait(command: str) -> None:
    """Set ``OMP_WAIT_POLICY`` by :func:`thread_wait_policy` unless the user set one. Only effective before torch
    is first imported (libgomp reads it when it loads)."""
    if "torch" in sys.modules or "OMP_WAIT_POLICY" in os.environ:
        return
    policy = thread_wait_policy(command, None if command == "gui" else busy_cpus())
    if policy:
        os.environ["OMP_WAIT_POLICY"] = policy


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of the ``motet`` console script. Errors become one line on stderr and a non-zero exit."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, "_run", None)
    if run is None:
        group_parser = getattr(args, "_group_parser", None)
        (group_parser or parser).print_help(sys.stderr)
        return 2
    choose_thread_wait(args.command)
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
