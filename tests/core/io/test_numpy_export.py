"""Standalone NumPy export: ``python predict.py input.csv`` in a fresh interpreter that cannot
import nnstudio gives our predictions; the script uses only the standard library and NumPy."""

from __future__ import annotations

import ast
import csv
import io
import subprocess
import sys

import numpy as np
import pytest

from nnstudio.core.data import EXAMPLES, load_npz, load_table
from nnstudio.core.io import numpy_export
from nnstudio.core.io.numpy_export import export_numpy, render_script

STDLIB_OK = {"__future__", "csv", "datetime", "json", "math", "re", "sys", "pathlib", "numpy",
             "unicodedata"}  # text models normalise text (NFKC) as in training


def run_script(folder, *args, cwd):
    """Run predict.py isolated (-I: no PYTHONPATH, no user site), from an unrelated folder."""
    return subprocess.run(
        [sys.executable, "-I", str(folder / "predict.py"), *map(str, args)],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )


def read_predictions(text: str):
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def write_table_csv(table, path, rows=None):
    rows = np.arange(len(table)) if rows is None else rows
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(table.columns)
        cols = [table[c].as_strings()[rows] for c in table.columns]
        w.writerows(zip(*cols, strict=True))


def test_script_imports_only_numpy_and_stdlib(mnist_conv, mnist_rnn):
    for model, _ in (mnist_conv, mnist_rnn):
        tree = ast.parse(render_script(model))
        mods = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                mods.add(node.module.split(".")[0])
        assert mods <= STDLIB_OK, mods - STDLIB_OK


def test_script_keeps_only_the_layers_used(salary_model, mnist_conv):
    small = render_script(salary_model[0])
    assert "def dense(" in small
    assert "def conv2d(" not in small and "def recurrent(" not in small
    assert "# >>>" not in small and "# <<<" not in small
    assert "Standalone predictor exported by nnstudio" in small
    conv = render_script(mnist_conv[0])
    for fn in ("def conv2d(", "def max_pool(", "def avg_pool(", "def _windows(",
               "def batch_norm(", "def global_avg_pool(", "def concatenate(", "def add("):
        assert fn in conv


def test_king_county_script_matches(kc_model, datasets, tmp_path):
    model, _ = kc_model
    export_numpy(model, tmp_path / "kc")
    table = load_table(datasets / "house" / "kc_house_data.csv")
    rows = np.arange(0, len(table), 20)  # 1,081 rows keep the subprocess quick
    write_table_csv(table, tmp_path / "in.csv", rows)
    r = run_script(tmp_path / "kc", tmp_path / "in.csv", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    header, body = read_predictions(r.stdout)
    assert header == ["prediction"]
    got = np.array([float(row[0]) for row in body])
    ours = model.predict_raw(table.take(rows)).values[:, 0]
    np.testing.assert_allclose(got, ours, rtol=1e-5)


def test_classification_script_writes_out_file(tmp_path):
    from .conftest import chain, make_project, trained

    project = make_project(
        {"example": "house_price", "target": "location"},  # a category from area and price
        chain("Input", ("Dense", {"units": 8}), "ReLU", ("Dense", {"units": 3}), "Softmax"),
        loss="cross_entropy", epochs=5,
    )
    model, _ = trained(project)
    export_numpy(model, tmp_path / "exp")
    table = EXAMPLES["house_price"].make(seed=0)
    write_table_csv(table, tmp_path / "in.csv")
    r = run_script(tmp_path / "exp", tmp_path / "in.csv", "--out", tmp_path / "p.csv",
                   cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    header, body = read_predictions((tmp_path / "p.csv").read_text())
    assert header == ["prediction", "p_city", "p_suburb", "p_village"]
    ours = model.predict_raw(table)
    assert [row[0] for row in body] == list(ours.values)
    probs = np.array([[float(v) for v in row[1:]] for row in body])
    np.testing.assert_allclose(probs, ours.probabilities, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("fixture", ["mnist_mlp", "mnist_conv", "mnist_rnn"])
def test_mnist_scripts_match(fixture, request, mnist_npz, tmp_path):
    model, _ = request.getfixturevalue(fixture)
    export_numpy(model, tmp_path / "exp")
    x = load_npz(mnist_npz).x[:150]
    np.savetxt(tmp_path / "pixels.csv", x.reshape(len(x), -1), fmt="%d", delimiter=",")
    r = run_script(tmp_path / "exp", tmp_path / "pixels.csv", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    header, body = read_predictions(r.stdout)
    assert header == ["prediction"] + [f"p_{i}" for i in range(10)]
    probs = np.array([[float(v) for v in row[1:]] for row in body])
    ours = model.predict_raw(x)
    np.testing.assert_allclose(probs, ours.probabilities, rtol=1e-5, atol=1e-7)


def test_bad_input_is_an_error_line(salary_model, tmp_path):
    export_numpy(salary_model[0], tmp_path / "exp")
    (tmp_path / "bad.csv").write_text("Years,Salary\n1,2\n")
    r = run_script(tmp_path / "exp", tmp_path / "bad.csv", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.startswith("error:") and "YearsExperience" in r.stderr
    assert "Traceback" not in r.stderr
    (tmp_path / "bad2.csv").write_text("YearsExperience\nabc\n")
    r = run_script(tmp_path / "exp", tmp_path / "bad2.csv", cwd=tmp_path)
    assert r.returncode == 2 and "row 2" in r.stderr and "'abc'" in r.stderr


def test_failed_export_leaves_old_folder(salary_model, monkeypatch, tmp_path):
    dest = tmp_path / "exp"
    export_numpy(salary_model[0], dest)
    before = {p.name: p.read_bytes() for p in dest.iterdir()}

    def broken(model, path):
        path.write_bytes(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(numpy_export, "write_weights", broken)
    with pytest.raises(Exception, match="No space"):
        export_numpy(salary_model[0], dest)
    assert {p.name: p.read_bytes() for p in dest.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp"]


def test_weights_file_has_no_pickle(salary_model, tmp_path):
    export_numpy(salary_model[0], tmp_path / "exp")
    with np.load(tmp_path / "exp" / "weights.npz", allow_pickle=False) as z:
        assert "model.json" in z.files and "n1/W" in z.files
        assert all(z[k].dtype != object for k in z.files)


# Names from data files that would break out of (or break) generated Python source if pasted.
HOSTILE_CLASSES = [
    '"""\nimport os; os.system("echo pwned")\n"""',
    "C:\\x\\N",
    "it's \"quoted\"",
    "ünïcødé ✓ 名前",
    "ends with a backslash\\",
]
HOSTILE_COLUMN = 'col """ \\N{x} \'q\'\nline2 é'


def test_hostile_names_stay_data(tmp_path):
    """Class and column names with triple quotes, newlines, backslashes (``C:\\x\\N``), quotes
    and non-ASCII text: ``predict.py`` compiles, runs nothing of them and prints them back."""
    from .conftest import chain, make_project, trained

    rng = np.random.default_rng(0)
    n = 200
    x = rng.normal(size=n)
    labels = np.array(HOSTILE_CLASSES)[np.digitize(x, [-1.0, -0.3, 0.3, 1.0])]
    src = tmp_path / "hostile.csv"
    with open(src, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow([HOSTILE_COLUMN, "label"])
        w.writerows(zip([f"{v:.4f}" for v in x], labels, strict=True))
    project = make_project(
        {"source": str(src), "target": "label"},
        chain("Input", ("Dense", {"units": 8}), "ReLU",
              ("Dense", {"units": len(HOSTILE_CLASSES)}), "Softmax"),
        loss="cross_entropy", epochs=3,
    )
    model, _ = trained(project)
    assert sorted(model.class_names) == sorted(HOSTILE_CLASSES)
    script = render_script(model)
    tree = ast.parse(script)  # compiles
    doc = ast.get_docstring(tree, clean=False)
    for name in [*HOSTILE_CLASSES, HOSTILE_COLUMN]:
        assert repr(name) in doc  # described, as a literal, inside the docstring only
    # The only top-level statements are the template's own: no injected expression or call.
    assert not any(isinstance(node, ast.Expr) for node in tree.body[1:])
    after_doc = script.splitlines()[tree.body[0].end_lineno:]
    assert not any("pwned" in line or "os.system" in line for line in after_doc)

    export_numpy(model, tmp_path / "exp")
    r = run_script(tmp_path / "exp", src, "--out", tmp_path / "p.csv", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""  # nothing ran that prints
    with open(tmp_path / "p.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["prediction"] + [f"p_{c}" for c in model.class_names]
    ours = model.predict_raw(load_table(src))
    assert [row[0] for row in rows[1:]] == list(ours.values)
    assert set(ours.values) <= set(HOSTILE_CLASSES)


@pytest.mark.parametrize("text", [
    '"""', '"', '\\', 'C:\\x\\N', "a\nb\r\nc", "\x00\x1b[31m", "\ud800 lone", "\u2028",
    "\U0001f600 emoji", "tab\there", "x" * 5000, "end\\", 'end"',
])
def test_docstring_literal_round_trips(text):
    lit = numpy_export.docstring_literal(text)
    assert ast.literal_eval(lit) == text
    lit.encode("utf-8")  # strict: valid source text
    tree = ast.parse(lit + "\nx = 1\n")
    assert ast.get_docstring(tree, clean=False) == text and len(tree.body) == 2
