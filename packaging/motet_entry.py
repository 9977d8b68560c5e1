"""Entry point of the bundled app: ``motet`` with no arguments starts the GUI (on the demo)."""
import multiprocessing
import sys

from engine.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main(sys.argv[1:] or ["gui"]))
