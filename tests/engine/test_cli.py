"""The motet command line: help works, errors are one line."""
import subprocess
import sys


def run_motet(*args):
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True)


def test_help_lists_commands():
    out = run_motet("--help")
    assert out.returncode == 0
    assert "usage: motet" in out.stdout
