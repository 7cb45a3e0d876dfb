"""A churn data set the deploy tests write themselves, and a model trained on it.

Columns: ``customer`` (an id the model ignores), ``age`` (normal), ``income`` (log-normal),
``plan`` (basic/plus/pro), ``score`` (numeric, 5 % missing, filled with the mean) and the
target ``churn`` (yes/no, from a logistic rule). ``write_churn`` can shift the distribution
the way real data drifts: a moved mean, a new category, more missing values.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

PLANS = ("basic", "plus", "pro")


def churn_rows(n: int, seed: int, age_shift: float = 0.0, new_plan: float = 0.0,
               score_missing: float = 0.05) -> list[dict]:
    """``n`` rows as dicts of text, as a CSV file holds them."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40 + age_shift, 10, n)
    income = rng.lognormal(10, 0.5, n)
    plan = rng.choice(PLANS, n, p=[0.5, 0.3, 0.2]).astype(object)
    if new_plan:
        plan[rng.random(n) < new_plan] = "enterprise"
    score = rng.normal(600, 80, n)
    logit = 0.08 * (age - 40) - 0.8 * (np.log(income) - 10) + \
        np.select([plan == "basic", plan == "plus"], [0.8, 0.0], -0.8) - (score - 600) / 100
    churn = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    miss = rng.random(n) < score_missing
    return [{"customer": f"c{seed}-{i}", "age": f"{age[i]:.1f}", "income": f"{income[i]:.0f}",
             "plan": str(plan[i]), "score": "" if miss[i] else f"{score[i]:.0f}",
             "churn": str(churn[i])} for i in range(n)]


def write_churn(path: Path, n: int, seed: int, **shift) -> Path:
    rows = churn_rows(n, seed, **shift)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def train_churn(folder: Path, n: int = 3000, epochs: int = 8):
    """``(model, model_path, data_path)``: a small MLP trained on ``n`` churn rows."""
    from nnstudio.core.io.model_file import save_model
    from nnstudio.core.io.pipeline import load_data, run_training
    from nnstudio.core.io.project import Project

    data = write_churn(folder / "churn.csv", n, seed=0)
    d = {"format": "nnstudio.project", "version": 1,
         "dataset": {"source": str(data), "target": "churn", "ignore": ["customer"],
                     "missing_per_column": {"score": "mean"},
                     "split": {"train": 0.7, "validation": 0.15, "test": 0.15, "seed": 0}},
         "network": {"nodes": [{"id": "in", "type": "Input"},
                               {"id": "h", "type": "Dense", "units": 16},
                               {"id": "a", "type": "ReLU"},
                               {"id": "o", "type": "Dense", "units": 2},
                               {"id": "s", "type": "Softmax"}],
                     "edges": [["in", "h"], ["h", "a"], ["a", "o"], ["o", "s"]]},
         "training": {"loss": "cross_entropy", "optimizer": {"type": "adam",
                                                             "learning_rate": 0.01},
                      "batch_size": 64, "epochs": epochs, "seed": 0}}
    project = Project.from_dict(d, base_dir=folder, where="churn project")
    model = run_training(project, load_data(project))
    path = folder / "churn.npz"
    save_model(model, path)
    return model, path, data
