"""The ``nnstudio`` command.

``nnstudio`` with no subcommand opens the GUI (the only path that imports Qt);
``nnstudio train|evaluate|predict|export|selftest`` run headless on the core.
"""

from __future__ import annotations

import argparse
import sys

from nnstudio import __version__

SUBCOMMANDS = ("train", "evaluate", "predict", "export", "selftest", "serve", "monitor",
               "outcomes", "import", "import-run", "generate")


def gui_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="nnstudio",
        description="Design neural networks visually, train them while you watch, ship them. "
        f"Subcommands (run headless): {', '.join(SUBCOMMANDS)}; `nnstudio SUBCOMMAND -h`.",
    )
    p.add_argument("--version", action="version", version=f"nnstudio {__version__}")
    p.add_argument("project", nargs="?", help="a project file (.nnsproj) to open")
    p.add_argument(
        "--example", nargs="?", const="default", metavar="NAME",
        help="open an example project from resources/examples (default: the house prices one)",
    )
    p.add_argument("--screenshot", metavar="PNG", help="save a screenshot of the window once shown")
    p.add_argument(
        "--quit-after-shown", action="store_true",
        help="quit as soon as the main window is shown (start-up time measurement, smoke tests)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        from nnstudio.cli.commands import run_command

        return run_command(argv)
    args = gui_parser().parse_args(argv)
    from nnstudio.gui.app import run

    return run(
        project=args.project,
        example=args.example,
        screenshot=args.screenshot,
        quit_after_shown=args.quit_after_shown,
    )
