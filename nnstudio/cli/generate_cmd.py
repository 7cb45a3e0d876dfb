"""``nnstudio generate MODEL --prompt TEXT``: a language model continues a prompt.

The continuation is printed as it is made (prompt first, then each new token), so a long
sample shows progress; ``--seed`` makes it reproducible.
"""

from __future__ import annotations

import argparse
import sys


def add_generate(add) -> None:
    """Register the subcommand with ``build_parser``'s ``add``."""
    g = add("generate", "Continue a prompt with a language model (trained on a text corpus).",
            cmd_generate)
    g.add_argument("model", help="the model file (.npz) or a project with a trained model")
    g.add_argument("--prompt", required=True, help="the text to continue")
    g.add_argument("--length", type=int, default=200, metavar="N", help="new tokens (200)")
    g.add_argument("--temperature", type=float, default=1.0,
                   help="below 1: safer, above 1: wilder (1.0)")
    g.add_argument("--top-k", type=int, default=0, metavar="K",
                   help="draw only from the K most likely tokens (0 = all)")
    g.add_argument("--seed", type=int, default=None, help="seed of the random draws")


def cmd_generate(args: argparse.Namespace) -> int:
    from nnstudio.core.io import open_trained
    from nnstudio.core.io.generate import generate

    model = open_trained(args.model)
    out = sys.stdout

    def show(piece: str) -> None:
        out.write(piece)
        out.flush()

    out.write(args.prompt)
    generate(model, args.prompt, args.length, args.temperature, args.top_k, args.seed,
             on_token=show)
    out.write("\n")
    return 0
