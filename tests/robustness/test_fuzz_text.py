"""Property-based robustness of text data and generation (issue 14, point 4).

CSVs with a text column (random Unicode with lone surrogates, NUL, right-to-left marks,
100 kB cells, emptied columns) under random ``dataset.text`` settings; text corpora (invalid
UTF-8, a few bytes, one repeated character); ``nnstudio generate`` on a tiny GPT with random
prompts, lengths, temperatures, top-k and seeds. Invariant (:mod:`.harness`): success, or
exit 2 with one ``error:`` sentence — never ``internal error``, a warning or a file left.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from . import media_strategies as ms
from .fuzzrun import Workdir, report, run_and_check
from .media_seeds import examples, text_seeds


@pytest.fixture(scope="module")
def text_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("text-seeds")
    text_seeds(folder)
    return folder


@settings(max_examples=examples(150))
@given(data=st.data())
def test_mutated_text_tables(text_dir, data):
    command = data.draw(st.sampled_from(["train", "train", "evaluate", "predict"]),
                        label="command")
    with Workdir(text_dir) as d:
        if data.draw(st.integers(0, 4), label="csv") > 0:
            (d / "msgs.csv").write_bytes(data.draw(ms.text_csv(
                (text_dir / "msgs.csv").read_text(encoding="utf-8")), label="table"))
        if command == "train":
            if data.draw(st.booleans(), label="options"):
                proj = json.loads((d / "ptxt.nnsproj").read_text())
                options = data.draw(ms.TEXT_OPTIONS, label="text")
                if data.draw(st.booleans()):
                    options["columns"] = data.draw(st.sampled_from(
                        [["message"], [], ["label"], ["nosuch"], "message", [3], None]))
                proj["dataset"]["text"] = options
                (d / "ptxt.nnsproj").write_text(json.dumps(proj, allow_nan=True))
            run_and_check(d, "text/train", "train", "ptxt.nnsproj", "--out", "o.npz",
                          "--quiet", outputs=["o.npz"])
        elif command == "evaluate":
            run_and_check(d, "text/evaluate", "evaluate", "txt.npz", "--data", "msgs.csv")
        else:
            run_and_check(d, "text/predict", "predict", "txt.npz", "--data", "msgs.csv",
                          "--out", "o.csv", outputs=["o.csv"])


@settings(max_examples=examples(100))
@given(data=st.data())
def test_mutated_corpora(text_dir, data):
    content = data.draw(ms.corpus_bytes((text_dir / "story.txt").read_text(encoding="utf-8")),
                        label="corpus")
    with Workdir(text_dir) as d:
        (d / "story.txt").write_bytes(content)
        if data.draw(st.booleans(), label="options"):
            proj = json.loads((d / "pgpt.nnsproj").read_text())
            proj["dataset"]["corpus"] = data.draw(st.fixed_dictionaries({}, optional={
                "tokens": st.sampled_from(["char", "word", "byte", 3]),
                "window": st.sampled_from([1, 2, 8, 0, -1, 10**9, 2.5]),
                "stride": st.sampled_from([1, 8, 0, -4, 10**9]),
                "lowercase": st.booleans()}), label="corpus options")
            (d / "pgpt.nnsproj").write_text(json.dumps(proj))
        if data.draw(st.integers(0, 3), label="fit the network") > 0:
            _fit_vocabulary(d / "pgpt.nnsproj")
        run_and_check(d, "corpus/train", "train", "pgpt.nnsproj", "--out", "o.npz", "--quiet",
                      "--epochs", "1", outputs=["o.npz"])


def _fit_vocabulary(project: Path) -> None:
    """Give the GPT the mutated corpus's vocabulary size (Embedding and output Dense), so
    that a corpus that still reads trains instead of stopping at the size check."""
    import warnings

    from nnstudio.core.data import DatasetSpec, build_dataset
    from nnstudio.core.graph.text_templates import transformer_network

    proj = json.loads(project.read_text())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spec = DatasetSpec.from_dict({**proj["dataset"],
                                          "source": str(project.parent / "story.txt")})
            prepared = build_dataset(spec)
        window = proj["dataset"].get("corpus", {}).get("window", 8)
        proj["network"] = transformer_network("gpt", (int(window),), prepared.output_size,
                                              blocks=1, width=8, heads=2)
    except Exception:
        return
    project.write_text(json.dumps(proj))


PROMPTS = ["", " ", "the ", "\x00", "\ud800", "\udce9abc", "\u202eabc", "🙂", "ZZZ", "a" * 5000,
           "\n\n", "é✓名"]


def _sometimes_bad(valid, bad) -> st.SearchStrategy:
    """A valid value three times in four, else one from ``bad``."""
    return st.one_of(valid, valid, valid, bad)


@settings(max_examples=examples(150))
@given(prompt=_sometimes_bad(st.sampled_from(["the ", "a", "th", "the cat "]),
                             st.sampled_from(PROMPTS) | st.text(max_size=20)),
       length=_sometimes_bad(st.integers(1, 30), st.sampled_from([0, -1, 10**9, 10_001])),
       temperature=_sometimes_bad(st.floats(0.05, 5), st.sampled_from(
           [0.0, -1.0, 1e-300, 1e300, float("nan"), float("inf"), -float("inf")]) | st.floats()),
       top_k=_sometimes_bad(st.integers(0, 30), st.sampled_from([-1, 10**9, 2**63])),
       seed=_sometimes_bad(st.none() | st.integers(0, 2**32), st.sampled_from([-1, 2**64])))
def test_generate_with_fuzzed_settings(text_dir, prompt, length, temperature, top_k, seed):
    with Workdir(text_dir) as d:
        # "--option=value": a value starting with "-" is not taken for an option
        argv = ["generate", "gpt.npz", f"--prompt={prompt}", f"--length={length}",
                f"--temperature={temperature!r}", f"--top-k={top_k}"]
        if seed is not None:
            argv.append(f"--seed={seed}")
        run_and_check(d, "generate", *argv)


def test_report_counts():
    """Not a check: prints how many commands the property tests ran, by outcome (``-s``)."""
    report("text tables, corpora and generate", ("text/", "corpus/", "generate"))
