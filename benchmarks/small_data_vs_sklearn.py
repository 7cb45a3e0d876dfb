"""Why nnstudio learns less than scikit-learn's MLP on small tables — measured, per setting.

Usage::

    .venv/bin/python benchmarks/small_data_vs_sklearn.py [--seeds 5] [--only diabetes,...]
                                                         [--variants defaults,issue,...]

Data sets (small tables, all on this machine: scikit-learn's bundled ones, no download):
regression ``diabetes`` (442 × 10), ``friedman1`` (500 × 10, ``make_friedman1`` with noise
1), ``house`` (600 rows of King County's numeric columns, from ``shared/datasets``, log
price); classification ``iris``, ``wine``, ``breast_cancer``, ``digits``.

Every data set is split 70/15/15 five times (seeds 0–4) by nnstudio's own seeded split (the
project file's ``split``); the test 15 % is never seen by anyone. The network is the issue's
64-32 ReLU MLP (a Softmax output for classes); nnstudio trains it through the real pipeline
(``load_data`` + ``run_training``, as ``nnstudio train`` does) with each of the **variants**
below, and scikit-learn's ``MLPRegressor``/``MLPClassifier`` (``hidden_layer_sizes=(64,
32)``, its defaults: Adam 1e-3, batch ``min(200, n)``, L2 ``alpha=1e-4``, up to 200 epochs,
stop when the training loss stalls) on the same features standardized with the training
split's statistics — fitted on train + validation (scikit-learn needs no validation split) and,
for regression, with the target standardized too (``TransformedTargetRegressor``; without it
scikit-learn's default is shown as ``sk_raw_y``).

Variants (nnstudio, Adam 1e-3 unless said):

* ``defaults`` — what a beginner gets: batch 32, 100 epochs, no early stopping;
* ``issue`` — the issue's run: batch 32, early stopping patience 30 restoring the best
  validation epoch (up to 1,000 epochs);
* ``es_trainval`` — as ``issue``, then retrain on train + validation for the best epoch count;
* ``l2`` — defaults + L2 weight decay 1e-4 (scikit-learn's ``alpha`` per sample);
* ``batch200`` — scikit-learn's schedule: batch min(200, n), 200 epochs;
* ``bs200_l2`` — ``batch200`` + L2;
* ``esP_eE`` (``_l2``) — batch 32, early stopping with patience ``P`` restoring the best
  epoch, at most ``E`` epochs (+ L2 1e-4): candidate beginner defaults.

Reported: mean test R² (regression) or accuracy (classification) over the seeds, and the
difference to scikit-learn. One thread; the machine is shared (load average printed).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import math
import os
import statistics
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

REGRESSION = ("diabetes", "friedman1", "house")
CLASSIFICATION = ("iris", "wine", "breast_cancer", "digits")
VARIANTS = ("defaults", "issue", "es_trainval", "l2", "batch200", "bs200_l2", "es10_e100",
            "es20_e200", "es20_e200_l2")


def write_csv(name: str, folder: Path) -> tuple[Path, str]:
    """The data set as a CSV (features f0..., target ``y``)."""
    from sklearn import datasets

    if name == "diabetes":
        x, y = datasets.load_diabetes(return_X_y=True)
    elif name == "friedman1":
        x, y = datasets.make_friedman1(500, 10, noise=1.0, random_state=0)
    elif name == "house":
        from nnstudio.core.data import load_table

        t = load_table(ROOT.parent / "shared/datasets/house/kc_house_data.csv")
        rows = np.random.default_rng(0).permutation(t.n_rows)[:600]
        cols = ["bedrooms", "bathrooms", "sqft_living", "sqft_lot", "floors", "waterfront",
                "view", "condition", "grade", "sqft_above", "yr_built", "lat", "long",
                "sqft_living15"]
        x = np.stack([t[c].values[rows] for c in cols], 1).astype(float)
        y = np.log(t["price"].values[rows].astype(float))
    else:
        x, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    path = folder / f"{name}.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([f"f{i}" for i in range(x.shape[1])] + ["y"])
        for row, target in zip(x, y, strict=True):
            w.writerow([repr(float(v)) for v in row] + [int(target) if name in CLASSIFICATION
                                                         else repr(float(target))])
    return path, "classification" if name in CLASSIFICATION else "regression"


def project(path: Path, task: str, seed: int, k: int, training: dict):
    from nnstudio.core.io.project import Project

    train, val, test = 0.7, 0.15, 0.15
    nodes = [{"id": "in", "type": "Input"}, {"id": "h1", "type": "Dense", "units": 64},
             {"id": "r1", "type": "ReLU"}, {"id": "h2", "type": "Dense", "units": 32},
             {"id": "r2", "type": "ReLU"}, {"id": "out", "type": "Dense", "units": k}]
    if task == "classification":
        nodes.append({"id": "sm", "type": "Softmax"})
    edges = [[a["id"], b["id"]] for a, b in itertools.pairwise(nodes)]
    train_cfg = {"loss": "cross_entropy" if task == "classification" else "mse",
                 "optimizer": {"type": "adam", "learning_rate": 1e-3}, "seed": seed,
                 **training}
    d = {"format": "nnstudio.project", "version": 1,
         "dataset": {"source": str(path), "target": "y", "task": task, "scaling": "standard",
                     "split": {"train": train, "validation": val, "test": test, "seed": seed}},
         "network": {"nodes": nodes, "edges": edges}, "training": train_cfg}
    return Project.from_dict(d, where="benchmark")


def score(model, x, y, task: str) -> float:
    m = model.metrics(x, y)
    return m["accuracy"] if task == "classification" else m["r2"]


def run_ours(path, task, seed, variant) -> float:
    from nnstudio.core.io.pipeline import load_data, run_training

    base = {"batch_size": 32, "epochs": 100}
    if variant in ("issue", "es_trainval"):
        base = {"batch_size": 32, "epochs": 1000,
                "early_stopping": {"patience": 30, "restore_best": True}}
    elif variant == "l2":
        base["weight_decay"] = 1e-4
    elif variant.startswith("es"):  # esP_eE[_l2]: patience P, at most E epochs
        parts = variant.split("_")
        base = {"batch_size": 32, "epochs": int(parts[1][1:]),
                "early_stopping": {"patience": int(parts[0][2:]), "restore_best": True}}
        if "l2" in parts:
            base["weight_decay"] = 1e-4
    elif variant in ("batch200", "bs200_l2"):
        base = {"batch_size": 200, "epochs": 200}
        if variant == "bs200_l2":
            base["weight_decay"] = 1e-4
    probe = load_data(project(path, task, seed, 1, base))
    k = len(probe.class_names) if task == "classification" else 1
    p = project(path, task, seed, k, base)
    prepared = load_data(p)
    if variant in ("batch200", "bs200_l2"):
        n = len(prepared.x_train)
        p = project(path, task, seed, k, {**base, "batch_size": min(200, n)})
    model = run_training(p, prepared)
    if variant == "es_trainval":
        # Retrain a fresh network on train + validation for the best epoch count; the same
        # test rows score it.
        from nnstudio.core.io.pipeline import build_network
        from nnstudio.core.training import TrainingConfig, evaluate, train

        best = int(model.summary.get("best_epoch") or 1)
        net = build_network(p, prepared)
        cfg = TrainingConfig(loss=p.training.loss, batch_size=32, epochs=best, seed=seed)
        xy = (np.concatenate([prepared.x_train, prepared.x_val]),
              np.concatenate([prepared.y_train, prepared.y_val]))
        for _ in train(net, cfg, xy):
            pass
        m = evaluate(net, prepared.x_test, prepared.y_test, p.training.loss)
        return m["accuracy"] if task == "classification" else m["r2"]
    return score(model, prepared.x_test, prepared.y_test, task)


def run_sklearn(path, task, seed, raw_y=False) -> float:
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.preprocessing import StandardScaler

    from nnstudio.core.data import load_table
    from nnstudio.core.data.split import split_indices

    t = load_table(path)
    cols = [c for c in t.columns if c != "y"]
    x = np.stack([t[c].values for c in cols], 1).astype(float)
    y = t["y"].values.astype(float)
    strat = y.astype(int).astype(str) if task == "classification" else None
    tr, va, te = split_indices(len(y), (0.7, 0.15, 0.15), seed, strat, True)
    fit = np.concatenate([tr, va])
    sc = StandardScaler().fit(x[fit])
    xs = sc.transform(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if task == "classification":
            m = MLPClassifier(hidden_layer_sizes=(64, 32), random_state=seed)
            m.fit(xs[fit], y[fit].astype(int))
            return float((m.predict(xs[te]) == y[te].astype(int)).mean())
        reg = MLPRegressor(hidden_layer_sizes=(64, 32), random_state=seed)
        if not raw_y:
            reg = TransformedTargetRegressor(reg, transformer=StandardScaler())
        reg.fit(xs[fit], y[fit])
        pred = reg.predict(xs[te])
    return float(1 - ((y[te] - pred) ** 2).sum() / ((y[te] - y[te].mean()) ** 2).sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--only", default=",".join(REGRESSION + CLASSIFICATION))
    ap.add_argument("--variants", default=",".join(VARIANTS))
    args = ap.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    variants = [v for v in args.variants.split(",") if v]
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())} "
          "(machine shared with other jobs)")
    head = ["data set", "sklearn", *(["sk_raw_y"] if True else []), *variants]
    print(" | ".join(f"{h:>13}" for h in head))
    with tempfile.TemporaryDirectory() as tmp:
        for name in [n for n in args.only.split(",") if n]:
            path, task = write_csv(name, Path(tmp))
            seeds = range(args.seeds)
            sk = [run_sklearn(path, task, s) for s in seeds]
            raw = [run_sklearn(path, task, s, raw_y=True) for s in seeds] \
                if task == "regression" else [math.nan]
            cells = [f"{statistics.mean(sk):.3f}", f"{statistics.mean(raw):.3f}"]
            for v in variants:
                ours = [run_ours(path, task, s, v) for s in seeds]
                diff = statistics.mean(ours) - statistics.mean(sk)
                cells.append(f"{statistics.mean(ours):.3f} ({diff:+.3f})")
            what = "R²" if task == "regression" else "acc"
            print(" | ".join(f"{c:>13}" for c in [f"{name} {what}", *cells]), flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
