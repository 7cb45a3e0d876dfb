"""A real run: the "tiny GPT (characters)" template trained through the CLI on public-domain
English text, within a time budget on one core.

Usage::

    .venv/bin/python benchmarks/tiny_gpt_corpus.py [--minutes 30] [--work DIR]
                                                   [--corpus FILE] [--bytes 1000000]

The text: the **World English Bible** (public domain, see
``/usr/share/doc/sword-text-web/copyright``), shipped offline by the Debian package
``sword-text-web`` and read with its command-line reader ``diatheke`` (Debian package
``diatheke``): ``apt-get install diatheke sword-text-web``. The script exports the first
``--bytes`` characters of plain text (Genesis onwards; verse numbers and the Strong's markup
removed) to ``DIR/web.txt``. Nothing of it is committed. ``--corpus FILE`` uses any other
UTF-8 text instead.

Then it writes ``DIR/tiny_gpt.nnsproj`` (dataset: the corpus, character tokens, window 64,
stride 32 — a 90/5/5 split by contiguous blocks; network: the template, 2 blocks, d = 64,
4 heads; Adam 2e-3, batch 32), runs ``nnstudio train`` pinned to one thread
(``OPENBLAS_NUM_THREADS=1``) and interrupts it with Ctrl-C (SIGINT: the CLI keeps the best
weights and saves) when the budget is spent. It prints the per-epoch losses the CLI reported,
the final validation loss in nats per character, and a sample generated from a fixed prompt.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROMPT = "And God said, "


def export_web(dest: Path, n_bytes: int) -> None:
    """Plain text of the World English Bible from the Debian package, via diatheke."""
    books = ["Genesis", "Exodus", "Leviticus", "Numbers", "Deuteronomy", "Joshua", "Judges",
             "Ruth", "1 Samuel", "2 Samuel", "1 Kings", "2 Kings"]
    out: list[str] = []
    size = 0
    for book in books:
        text = subprocess.run(["diatheke", "-b", "engWEB2015eb", "-f", "plaintext", "-k", book],
                              capture_output=True, text=True, check=True).stdout
        for line in text.splitlines():
            m = re.match(r"^[1-3]?\s?[A-Za-z ]+ \d+:\d+: (.*)$", line)
            if not m:
                continue
            verse = re.sub(r"<[^>]*>", "", m.group(1))
            verse = re.sub(r"\s+", " ", verse).strip()
            if verse:
                out.append(verse)
                size += len(verse) + 1
        if size >= n_bytes:
            break
    dest.write_text("\n".join(out)[:n_bytes] + "\n", encoding="utf-8")


def project(corpus: Path) -> dict:
    sys.path.insert(0, str(ROOT))
    from nnstudio.core.data import DatasetSpec, build_dataset
    from nnstudio.core.graph.text_templates import transformer_network

    dataset = {"source": str(corpus), "corpus": {"tokens": "char", "window": 64, "stride": 32}}
    vocab = build_dataset(DatasetSpec.from_dict(dataset)).output_size
    return {
        "format": "nnstudio.project", "version": 1, "dataset": dataset,
        "network": transformer_network("gpt", (64,), vocab, vocab),
        "training": {"loss": "cross_entropy",
                     "optimizer": {"type": "adam", "learning_rate": 0.002},
                     "batch_size": 32, "epochs": 200, "seed": 0, "clip_norm": 1.0,
                     "early_stopping": {"patience": 4}},
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=27.0)  # + the final evaluation
    ap.add_argument("--work", default=str(ROOT / "benchmarks" / ".tiny_gpt"))
    ap.add_argument("--corpus", default=None)
    ap.add_argument("--bytes", type=int, default=1_000_000)
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    corpus = Path(args.corpus) if args.corpus else work / "web.txt"
    if not corpus.exists():
        export_web(corpus, args.bytes)
    print(f"corpus: {corpus} ({corpus.stat().st_size:,} bytes)", flush=True)
    proj = work / "tiny_gpt.nnsproj"
    proj.write_text(json.dumps(project(corpus), indent=1), encoding="utf-8")
    model = work / "tiny_gpt.npz"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=str(ROOT))
    log = open(work / "train.log", "w", encoding="utf-8")  # noqa: SIM115
    t0 = time.time()
    child = subprocess.Popen([sys.executable, "-m", "nnstudio", "train", str(proj), "--out",
                              str(model), "--json"], stdout=subprocess.PIPE, stderr=log,
                             text=True, env=env)
    try:
        out, _ = child.communicate(timeout=args.minutes * 60)
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGINT)  # the CLI keeps the best weights and saves
        out, _ = child.communicate()
    elapsed = time.time() - t0
    log.close()
    print((work / "train.log").read_text(encoding="utf-8")[-3000:])
    summary = json.loads(out.strip().splitlines()[-1])
    val = summary["metrics"].get("validation", {})
    print(f"trained {summary['epochs']} epoch(s) in {elapsed / 60:.1f} min (wall), best epoch "
          f"{summary['best_epoch']}; validation loss {val.get('loss', float('nan')):.3f} "
          f"nats/char, accuracy {val.get('accuracy', float('nan')):.3f} (goal < 1.8, 1.6)")
    sample = subprocess.run([sys.executable, "-m", "nnstudio", "generate", str(model),
                             "--prompt", PROMPT, "--length", "300", "--temperature", "0.8",
                             "--top-k", "10", "--seed", "0"], capture_output=True, text=True,
                            env=env)
    print("sample:\n" + sample.stdout + sample.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
