"""``nnstudio serve|monitor|outcomes``: deploy a model, watch it drift, record outcomes.

``serve MODEL`` runs the HTTP API of :mod:`nnstudio.core.serve` (127.0.0.1 unless ``--host``)
and logs every prediction to SQLite. ``monitor MODEL --log DB | --data FILE`` compares what the
model sees now with its training split (:mod:`nnstudio.core.monitor`); ``--fail-on drift``
exits 3 when a column drifted, for scheduled jobs. ``outcomes --log DB --csv FILE`` imports
true outcomes by request id.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nnstudio.core.errors import DataError, NNStudioError

EXIT_DRIFT = 3
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def open_model(path: str) -> Any:
    """A TrainedModel from a model file, or from a project with a trained model once
    ``nnstudio.core.io.open_trained`` exists."""
    try:
        from nnstudio.core.io import open_trained  # type: ignore[attr-defined]
    except ImportError:
        from nnstudio.core.io import load_model

        return load_model(path)
    return open_trained(path)


def default_log_path(model_path: str) -> Path:
    """``<model stem>.predictions.db`` next to the model file."""
    p = Path(model_path)
    return p.with_name(p.stem + ".predictions.db")


def add_deploy_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    """Register the subcommands with the CLI's ``add(name, help, func)``."""
    s = add("serve", "Serve a model over HTTP (JSON API) and log every prediction.", cmd_serve)
    s.add_argument("model", help="the model file (.npz) or a project with a trained model")
    s.add_argument("--port", type=int, default=8000, help="TCP port (0: any free one); 8000")
    s.add_argument("--host", default="127.0.0.1",
                   help="address to listen on; 127.0.0.1 (this machine only) unless given")
    s.add_argument("--log", metavar="DB",
                   help="the SQLite prediction log (default: MODEL.predictions.db beside it)")
    s.add_argument("--no-log", action="store_true", help="do not log predictions")
    s.add_argument("--max-body-bytes", type=int, default=None, metavar="N",
                   help="largest request body accepted (default 1,000,000; 20,000,000 for "
                   "image and sound models)")
    s.add_argument("--max-tokens", type=int, default=1000, metavar="N",
                   help="language models: most new tokens one /generate may ask for (1000)")
    s.add_argument("--max-rows", type=int, default=1000, metavar="N",
                   help="most rows in one request (default 1000)")
    s.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)  # the GUI's process

    m = add("monitor", "Compare new data or logged predictions with the training split.",
            cmd_monitor)
    m.add_argument("model", help="the model file (.npz) or a project with a trained model")
    src = m.add_mutually_exclusive_group(required=True)
    src.add_argument("--log", metavar="DB", help="a prediction log written by `nnstudio serve`")
    src.add_argument("--data", metavar="FILE", help="a new data file (CSV/TSV) with the "
                     "model's input columns")
    m.add_argument("--labels", metavar="COLUMN",
                   help="with --data: the column of true outcomes (accuracy / error)")
    m.add_argument("--reference", metavar="FILE",
                   help="compare with this data file instead of the model's training summary")
    m.add_argument("--report", metavar="HTML", help="write a self-contained HTML report")
    m.add_argument("--json", action="store_true", help="print the whole report as JSON")
    m.add_argument("--fail-on", choices=("drift", "watch"),
                   help="exit 3 when a column or the predictions drifted (or need watching)")
    from nnstudio.core.monitor.drift import Thresholds

    d = Thresholds()
    for name, help_ in (("psi_watch", "PSI from which a column is 'watch'"),
                        ("psi_drift", "PSI from which a column is 'drifted'"),
                        ("p_value", "test p-value below which a column is 'watch'"),
                        ("missing_watch", "rise of the missing share for 'watch'"),
                        ("missing_drift", "rise of the missing share for 'drifted'"),
                        ("unseen_watch", "share of unseen categories for 'watch'"),
                        ("unseen_drift", "share of unseen categories for 'drifted'")):
        m.add_argument("--" + name.replace("_", "-"), type=float, default=getattr(d, name),
                       metavar="X", help=f"{help_} (default {getattr(d, name):g})")

    o = add("outcomes", "Import true outcomes (request id, outcome) into a prediction log.",
            cmd_outcomes)
    o.add_argument("--log", required=True, metavar="DB", help="the prediction log")
    o.add_argument("--csv", required=True, metavar="FILE",
                   help="CSV with a request id column and an outcome column (and 'row' for "
                   "batches)")
    o.add_argument("--id-column", default="request_id", metavar="NAME")
    o.add_argument("--outcome-column", default="outcome", metavar="NAME")


# -- serve -------------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    from nnstudio.core.serve import Limits, serve

    from .commands import UsageError

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be 0–65535 (got {args.port})")
    if (args.max_body_bytes is not None and args.max_body_bytes < 100) or args.max_rows < 1 \
            or args.max_tokens < 1:
        raise UsageError("--max-body-bytes must be ≥ 100, --max-rows and --max-tokens ≥ 1")
    model = open_model(args.model)
    log_path = None if args.no_log else Path(args.log) if args.log else \
        default_log_path(args.model)
    body = args.max_body_bytes
    if body is None:
        from nnstudio.core.serve.media import MEDIA_MAX_BODY

        media = getattr(model.preparation, "media", None)
        body = MEDIA_MAX_BODY if media is not None else Limits().max_body_bytes
    limits = Limits(max_body_bytes=body, max_rows=args.max_rows, max_tokens=args.max_tokens)

    def ready(url: str, predictor: Any) -> None:
        print(f"serving {args.model} (model {predictor.fingerprint}, {predictor.task}) at "
              f"{url}", flush=True)
        print(f"log: {log_path if log_path else 'off'}", flush=True)
        print(f"try: {predictor.curl(url)}", file=sys.stderr, flush=True)
        if args.host not in LOOPBACK:
            print(f"note: listening on {args.host}: other machines can reach this server",
                  file=sys.stderr, flush=True)

    serve(model, args.host, args.port, log_path, limits, on_ready=ready,
          parent_pid=args.parent_pid)
    return 0


# -- monitor -----------------------------------------------------------------------------------


def cmd_monitor(args: argparse.Namespace) -> int:
    from nnstudio.core.monitor import (
        Thresholds,
        from_log,
        from_table,
        html_report,
        monitor,
        reference_from_table,
    )
    from nnstudio.core.serve import fingerprint

    from .commands import UsageError, _check_out_file, _print_json

    if args.labels and not args.data:
        raise UsageError("--labels goes with --data (a log gets outcomes via /feedback)")
    report_path = _check_out_file(args.report, "--report") if args.report else None
    model = open_model(args.model)
    prep = model.preparation
    media = getattr(prep, "media", None) if prep is not None else None
    if prep is None or (prep.array is not None and media is None):
        raise DataError("monitoring reads table, text, image and sound models; this model "
                        "reads plain arrays", where=args.model)
    if model.task == "language_model":
        raise DataError("a language model is not monitored: its prompts have no training "
                        "split to compare with (the log keeps every /generate request)",
                        where=args.model)
    fp = fingerprint(model)
    reference = None
    if args.reference and (media is not None or getattr(prep, "text", None) is not None):
        raise UsageError("--reference compares table columns; a text, image or sound model "
                         "is compared with the training summary in its file")
    if args.reference:
        from nnstudio.core.data import load_table

        reference = reference_from_table(model, load_table(args.reference), args.reference)
    current = from_log(model, args.log, fp) if args.log else \
        from_table(model, args.data, args.labels)
    t = Thresholds(**{k: getattr(args, k) for k in (
        "psi_watch", "psi_drift", "p_value", "missing_watch", "missing_drift", "unseen_watch",
        "unseen_drift")})
    if not (0 <= t.psi_watch <= t.psi_drift and 0 < t.p_value < 1):
        raise UsageError("thresholds: need 0 ≤ --psi-watch ≤ --psi-drift and 0 < --p-value < 1")
    try:
        report = monitor(model, current, reference, t, fp)
    except DataError as e:
        if e.where is None:
            raise DataError(e.message, where=args.model) from None
        raise
    if report_path is not None:
        from nnstudio.core.io.atomic import atomic_write_text

        atomic_write_text(report_path, html_report(report, f"Monitoring {Path(args.model).name}"))
    if args.json:
        _print_json(report)
    else:
        print_summary(report)
        if report_path is not None:
            print(f"report: {report_path}")
    worst = {e["verdict"] for e in report["features"]} | {
        (report.get("predictions") or {}).get("verdict")}
    if args.fail_on == "drift" and report["drifted"]:
        return EXIT_DRIFT
    if args.fail_on == "watch" and ({"watch", "drifted"} & worst):
        return EXIT_DRIFT
    return 0


def print_summary(report: dict[str, Any]) -> None:
    """The report as a short text table on stdout."""
    r = report
    print(f"{r['rows']:,} rows from {r['source']} vs {r['reference']['source']} "
          f"({r['reference']['rows']:,} rows)")
    for note in r.get("notes", []):
        print(f"note: {note}")
    width = max([len(e["name"]) for e in r["features"]] + [13])
    print(f"  {'column':<{width}}  {'verdict':<12} {'PSI':>7} {'p':>9} {'missing':>8}  why")
    rows = list(r["features"])
    if r.get("predictions"):
        rows.append({"name": "(predictions)", **r["predictions"]})
    for e in rows:
        psi = "" if e.get("psi") is None else f"{e['psi']:.3f}"
        p = "" if e.get("p_value") is None else f"{e['p_value']:.2g}"
        miss = "" if e.get("missing") is None else f"{e['missing']:.1%}"
        print(f"  {e['name']:<{width}}  {e['verdict']:<12} {psi:>7} {p:>9} {miss:>8}  "
              f"{'; '.join(e.get('reasons', []))}")
    perf = r.get("performance") or {}
    if perf.get("rows_with_outcome"):
        val = perf["value"]
        shown = f"{val:.1%}" if perf["metric"] == "accuracy" else f"{val:.6g}"
        trained = ", ".join(f"{k} {v:.4g}" for k, v in (perf.get("training") or {}).items())
        print(f"{perf['metric']} on {perf['rows_with_outcome']:,} known outcomes: {shown}"
              + (f" (training: {trained})" if trained else ""))
    print("drifted" if r["drifted"] else "no drift beyond the thresholds")


# -- outcomes ----------------------------------------------------------------------------------


def cmd_outcomes(args: argparse.Namespace) -> int:
    from nnstudio.core.serve.log import PredictionLog, connect, read_outcomes_csv

    connect(args.log).close()  # a clear error for a file that is not a log
    items = read_outcomes_csv(args.csv, args.id_column, args.outcome_column)
    if not items:
        raise DataError("holds no outcomes", where=args.csv)
    log = PredictionLog(args.log)
    try:
        recorded, unknown = log.add_outcomes(items, source=f"csv:{Path(args.csv).name}")
    finally:
        log.close()
    print(f"recorded {recorded:,} outcome(s) in {args.log}")
    if unknown:
        shown = ", ".join(f"{r}" + (f"[{i}]" if i else "") for r, i in unknown[:5])
        print(f"note: {len(unknown):,} id(s) match no logged prediction (e.g. {shown})",
              file=sys.stderr)
    if not recorded:
        raise NNStudioError("no outcome matched a logged prediction", where=args.csv)
    return 0
