"""Drift verdicts on batches the tests write: undrifted, shifted mean, new category, more
missing values; the training reference in the model file; the monitor CLI."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from nnstudio.cli import main
from nnstudio.core.io.model_file import load_model, save_model
from nnstudio.core.monitor import from_log, from_table, html_report, monitor
from nnstudio.core.serve import PredictionLog, Predictor
from tests.core.serve.churn import churn_rows, write_churn


def verdicts(report) -> dict[str, str]:
    return {e["name"]: e["verdict"] for e in report["features"]}


def test_the_model_file_carries_its_training_reference(churn_m):
    model, path, _ = churn_m
    ref = model.reference
    n_train = model.summary["samples"]["train"]
    assert ref["rows"] == n_train and ref["source"] == "training split"
    feats = {f["name"]: f for f in ref["features"]}
    assert list(feats) == ["age", "income", "plan", "score"]
    assert sum(feats["plan"]["counts"].values()) == n_train
    assert set(feats["plan"]["counts"]) == {"basic", "plus", "pro"}
    assert feats["age"]["missing"] == 0.0
    assert 0.03 < feats["score"]["missing"] < 0.07  # 5 % missing, filled with the mean
    assert len(feats["age"]["quantiles"]) == 256
    assert 38 < feats["age"]["mean"] < 42 and 9 < feats["age"]["std"] < 11
    assert sum(ref["predictions"]["counts"].values()) == n_train
    assert sum(ref["targets"]["counts"].values()) == n_train
    again = load_model(path)
    assert again.reference == json.loads(json.dumps(ref))
    # The reference is a summary of data, not part of what predicts.
    assert Predictor(again).fingerprint == Predictor(model).fingerprint


def test_an_undrifted_batch_is_stable(churn_m, tmp_path):
    model, _, _ = churn_m
    new = write_churn(tmp_path / "new.csv", 2000, seed=11)
    report = monitor(model, from_table(model, new, "churn"))
    assert verdicts(report) == dict.fromkeys(("age", "income", "plan", "score"), "stable")
    assert report["predictions"]["verdict"] == "stable"
    assert report["drifted"] is False
    for e in report["features"]:
        assert e["psi"] < 0.05 and e["p_value"] > 0.01
    perf = report["performance"]
    assert perf["metric"] == "accuracy" and perf["rows_with_outcome"] == 2000
    assert abs(perf["value"] - model.summary["metrics"]["test"]["accuracy"]) < 0.06


@pytest.mark.parametrize("shift, column, reason", [
    ({"age_shift": 10.0}, "age", r"PSI \d\.\d+ ≥ 0\.25"),
    ({"new_plan": 0.15}, "plan", r"unseen categories 1\d\.\d%"),
    ({"score_missing": 0.40}, "score", r"missing (39|4\d)\.\d% \(training [3-6]\.\d%\)"),
])
def test_a_drifted_batch_is_caught_in_its_column(churn_m, tmp_path, shift, column, reason):
    model, _, _ = churn_m
    new = write_churn(tmp_path / "new.csv", 2000, seed=12, **shift)
    report = monitor(model, from_table(model, new))
    v = verdicts(report)
    assert v[column] == "drifted", report
    assert all(v[c] == "stable" for c in v if c != column), v
    entry = next(e for e in report["features"] if e["name"] == column)
    assert any(re.search(reason, r) for r in entry["reasons"]), entry["reasons"]
    assert report["drifted"] is True


def test_unseen_categories_are_named_and_plotted(churn_m, tmp_path):
    model, _, _ = churn_m
    new = write_churn(tmp_path / "new.csv", 2000, seed=13, new_plan=0.15)
    plan = next(e for e in monitor(model, from_table(model, new))["features"]
                if e["name"] == "plan")
    assert list(plan["unseen_categories"]) == ["enterprise"]
    assert plan["bars"]["labels"][-1] == "(unseen)"
    assert plan["bars"]["current"][-1] == pytest.approx(plan["unseen"])
    assert plan["test"] == "chi2" and plan["p_value"] < 1e-10


def test_thresholds_are_configurable(churn_m, tmp_path):
    from nnstudio.core.monitor import Thresholds

    model, _, _ = churn_m
    new = write_churn(tmp_path / "new.csv", 2000, seed=12, age_shift=3.0)
    cur = from_table(model, new)
    assert verdicts(monitor(model, cur))["age"] in ("watch", "drifted")
    loose = Thresholds(psi_watch=5, psi_drift=10, p_value=1e-300)
    report = monitor(model, cur, thresholds=loose)
    assert verdicts(report)["age"] == "stable"
    assert report["thresholds"]["psi_drift"] == 10


def test_a_prediction_log_is_monitored_with_its_outcomes(churn_m, tmp_path):
    model, _, _ = churn_m
    pred = Predictor(model)
    log = PredictionLog(tmp_path / "p.db")
    rows = churn_rows(600, seed=21, age_shift=12.0)
    truth = []
    for i in range(0, 600, 3):  # batches of 3 rows, as a client would send
        batch = [{k: v for k, v in r.items() if k != "churn"} for r in rows[i:i + 3]]
        outs = pred.predict_rows(batch)
        log.append(f"r{i}", pred.fingerprint, batch, outs, [o["class"] for o in outs], 0.4)
        truth += [(f"r{i}", j, rows[i + j]["churn"]) for j in range(len(batch))]
    log.add_outcomes(truth[:300])
    log.close()
    cur = from_log(model, tmp_path / "p.db", pred.fingerprint)
    assert cur.n == 600 and cur.columns["plan"][:3].tolist() == [r["plan"] for r in rows[:3]]
    report = monitor(model, cur, fingerprint=pred.fingerprint)
    assert verdicts(report)["age"] == "drifted"
    assert verdicts(report)["plan"] == "stable"
    perf = report["performance"]
    logged = [o["class"] for o in pred.predict_rows(
        [{k: v for k, v in r.items() if k != "churn"} for r in rows[:300]])]
    expected = np.mean([p == r["churn"] for p, r in zip(logged, rows[:300], strict=True)])
    assert perf["rows_with_outcome"] == 300 and perf["value"] == pytest.approx(expected)
    assert perf["rolling"]["row"][-1] == 299


def test_unknown_categories_the_server_refused_count_as_unseen(churn_m, tmp_path):
    from nnstudio.core.serve import RequestError

    model, _, _ = churn_m
    pred = Predictor(model)
    log = PredictionLog(tmp_path / "p.db")
    rows = churn_rows(1000, seed=22, new_plan=0.2)
    for i, r in enumerate(rows):
        row = {k: v for k, v in r.items() if k != "churn"}
        try:
            out = pred.predict_rows([row])
        except RequestError as e:  # what the server does with a refused request
            log.reject(f"r{i}", e)
            continue
        log.append(f"r{i}", pred.fingerprint, [row], out, [out[0]["class"]], 0.3)
    log.close()
    cur = from_log(model, tmp_path / "p.db", pred.fingerprint)
    refused = cur.rejected["unseen"]["plan"]["enterprise"]
    assert cur.n + refused == 1000 and 150 < refused < 250
    assert cur.rejected["by_kind"] == {"unknown_category": refused}
    report = monitor(model, cur)
    plan = next(e for e in report["features"] if e["name"] == "plan")
    assert plan["verdict"] == "drifted" and plan["refused"] == refused
    assert plan["unseen"] == pytest.approx(refused / 1000)
    assert any("refused" in n for n in report["notes"])


def test_monitor_cli_fail_on_drift_json_and_html_report(churn_m, tmp_path, capsys):
    _, path, _ = churn_m
    calm = write_churn(tmp_path / "calm.csv", 2000, seed=31)
    moved = write_churn(tmp_path / "moved.csv", 2000, seed=32, age_shift=10.0)
    assert main(["monitor", str(path), "--data", str(calm), "--fail-on", "drift"]) == 0
    out = capsys.readouterr().out
    assert "no drift beyond the thresholds" in out and re.search(r"age\s+stable", out)
    report_path = tmp_path / "report.html"
    assert main(["monitor", str(path), "--data", str(moved), "--labels", "churn",
                 "--fail-on", "drift", "--report", str(report_path), "--json"]) == 3
    report = json.loads(capsys.readouterr().out)
    assert verdicts(report)["age"] == "drifted" and report["drifted"] is True
    page = report_path.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") >= 5
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)  # self-contained
    assert "<script" not in page and "Rolling accuracy" in page
    assert main(["monitor", str(path), "--data", str(moved), "--psi-drift", "50",
                 "--psi-watch", "40", "--fail-on", "drift"]) == 0
    capsys.readouterr()


def test_an_old_model_file_without_reference_says_what_is_missing(churn_m, tmp_path, capsys):
    data = churn_m[2]
    old = tmp_path / "old.npz"
    model_copy = load_model(churn_m[1])
    model_copy.reference = None
    save_model(model_copy, old)
    assert load_model(old).reference is None
    new = write_churn(tmp_path / "new.csv", 500, seed=41)
    assert main(["monitor", str(old), "--data", str(new)]) == 2
    err = capsys.readouterr().err
    assert "holds no summary of its training split" in err and "--reference" in err
    assert main(["monitor", str(old), "--data", str(new), "--reference", str(data)]) == 0
    assert "vs reference file" in capsys.readouterr().out


def test_html_report_of_a_report_without_outcomes(churn_m, tmp_path):
    model, _, _ = churn_m
    new = write_churn(tmp_path / "new.csv", 400, seed=51)
    page = html_report(monitor(model, from_table(model, new)))
    assert "No true outcomes known yet" in page and "<svg" in page
