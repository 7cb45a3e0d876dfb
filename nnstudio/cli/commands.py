"""``nnstudio train|evaluate|predict|export|selftest``: the headless commands.

Exit status: 0 on success; 2 on bad input (a project, model or data file that cannot be used,
a diverging run) with one ``error: <file>: <place>: <what>`` message on stderr and no
traceback; 1 for an internal fault (a bug: a short message asking to report it, the traceback
only with ``--debug``); 130 when a run was stopped with Ctrl-C (the best model so far is still
saved). A failed command leaves no partial output file. Nothing here imports Qt.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nnstudio import __version__
from nnstudio.core.errors import DataError, NNStudioError
from nnstudio.core.io.jsonfmt import finite_json

EXIT_OK, EXIT_FAULT, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
MODEL_HELP = "the model file (.npz), or a project with a trained model (.nnsproj)"


class UsageError(NNStudioError):
    """Bad command-line arguments."""


class _Parser(argparse.ArgumentParser):
    """argparse, but errors read ``error: ...`` and raise instead of exiting."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"{message} (see `{self.prog} -h`)")


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand."""
    p = _Parser(prog="nnstudio", description="nnstudio headless commands.")
    p.add_argument("--version", action="version", version=f"nnstudio {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def add(name: str, help: str, func: Callable[[argparse.Namespace], int]):
        sp = sub.add_parser(name, help=help, description=help)
        sp.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
        sp.set_defaults(func=func)
        return sp

    t = add("train", "Train a project's network; save the model file (--out) and/or keep the "
            "run in the project (--save).", cmd_train)
    t.add_argument("project", help="the project file (.nnsproj)")
    t.add_argument("--out", metavar="MODEL", help="the model file to write (.npz)")
    t.add_argument("--save", action="store_true",
                   help="add the run to the project's run history (it becomes the current "
                   "model) and save the project")
    t.add_argument("--epochs", type=int, metavar="N", help="override training.epochs")
    t.add_argument("--json", action="store_true", help="end stdout with one JSON summary line")
    t.add_argument("--quiet", action="store_true", help="no progress output")

    e = add("evaluate", "Score a model on a labelled data file.", cmd_evaluate)
    e.add_argument("model", help=MODEL_HELP)
    e.add_argument("--data", required=True, metavar="FILE", help="CSV/TSV, IDX or NPZ with targets")
    e.add_argument("--labels", metavar="FILE", help="IDX labels file for IDX images")
    e.add_argument("--json", action="store_true", help="print one JSON object")

    r = add("predict", "Predict every row of a data file into a CSV file.", cmd_predict)
    r.add_argument("model", help=MODEL_HELP)
    r.add_argument("--data", required=True, metavar="FILE", help="CSV/TSV, IDX or NPZ inputs")
    r.add_argument("--out", required=True, metavar="CSV", help="the predictions file to write")
    r.add_argument("--keep", action="append", default=[], metavar="COLUMN",
                   help="copy this input column (e.g. an id) into the output; repeatable")

    x = add("export", "Export a model to ONNX or to a standalone NumPy folder.", cmd_export)
    x.add_argument("model", help=MODEL_HELP)
    x.add_argument("--format", required=True, choices=("onnx", "numpy", "pytorch"))
    x.add_argument("--out", required=True, metavar="PATH",
                   help="the .onnx file, or the folder for numpy")
    from nnstudio.cli import interop  # PyTorch project export, ONNX import, import-run

    interop.add_export_options(x)
    interop.add_parsers(add)

    from .generate_cmd import add_generate

    add_generate(add)

    s = add("selftest", "Train, export and reload a tiny model: a quick health check.",
            cmd_selftest)
    s.add_argument("--json", action="store_true", help="print the checks as one JSON object")
    from .deploy import add_deploy_commands

    add_deploy_commands(add)  # serve, monitor, outcomes
    return p


def run_command(argv: list[str]) -> int:
    """Run one subcommand; returns the exit status (never raises)."""
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
    except UsageError as e:
        return _fail(str(e))
    except SystemExit as e:  # -h / --version
        return int(e.code or 0)
    try:
        return args.func(args)
    except NNStudioError as e:
        return _fail(str(e))
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except MemoryError as e:
        from nnstudio.core.memory import memory_error_message

        return _fail(memory_error_message(e))
    except OSError as e:  # the file system refused (full, read-only, gone): not a bug
        from nnstudio.core.fileaccess import os_error_reason, shorten

        return _fail(f"{shorten(e.filename) + ': ' if e.filename else ''}"
                     f"{os_error_reason(e, 'use')}")
    except Exception as e:  # a bug
        print(
            f"internal error: {type(e).__name__}: {e}\nThis is a bug in nnstudio {__version__}; "
            "please report it with the command you ran"
            + ("." if debug else " (add --debug for the details)."),
            file=sys.stderr,
        )
        if debug:
            traceback.print_exc()
        return EXIT_FAULT


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _note(message: str) -> None:
    print(f"note: {message}", file=sys.stderr)


def _check_out_file(path: str, flag: str = "--out") -> Path:
    p = Path(path)
    if len(p.name.encode("utf-8", "surrogateescape")) > 255 or "\0" in path:
        raise UsageError(f"{flag}: the file name is too long or not usable "
                         f"({len(p.name):,} characters)")
    if p.is_dir():
        raise UsageError(f"{flag} {path}: is a folder; give a file name")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"{flag} {path}: the folder {parent} does not exist")
    return p


def _in_file(err: NNStudioError, path: Path | str) -> NNStudioError:
    """The same error, prefixed with ``path`` when its place does not name a file."""
    where = err.where or ""
    if str(path) in where or str(path) in err.message:
        return err
    if "/" in where or "\\" in where or where.endswith((".csv", ".tsv", ".npz", ".gz")):
        return err
    new = type(err)(err.message, f"{path}: {where}" if where else str(path))
    return new


def _print_json(obj: Any) -> None:
    print(json.dumps(finite_json(obj), ensure_ascii=False, allow_nan=False))


def _metrics_lines(metrics: dict[str, dict[str, float]]) -> list[str]:
    lines = []
    for split, m in metrics.items():
        vals = "  ".join(f"{k} {v:.6g}" for k, v in m.items())
        lines.append(f"  {split:<10} {vals}")
    return lines


# -- train ---------------------------------------------------------------------------------------


def cmd_train(args: argparse.Namespace) -> int:
    from nnstudio.core.io.model_file import save_model
    from nnstudio.core.io.pipeline import build_network, load_data, run_training
    from nnstudio.core.io.project import load_project
    from nnstudio.core.training import TrainControl

    from .progress import Progress

    if not args.out and not args.save:
        raise UsageError("say where the trained model goes: --out MODEL.npz and/or --save "
                         "(keep the run in the project)")
    out = _check_out_file(args.out) if args.out else None
    if args.epochs is not None and args.epochs < 0:
        raise UsageError(f"--epochs must be 0 or more (got {args.epochs})")
    project = load_project(args.project)
    try:
        prepared = load_data(project)
        net = build_network(project, prepared)  # every design problem before any output
    except NNStudioError as e:
        raise _in_file(e, args.project) from None
    if not args.quiet:
        _note(f"data: {prepared.summary()}")
        for col, why in getattr(prepared, "skipped_columns", {}).items():
            _note(f"column {col!r} not used: {why}")
        skipped = (getattr(prepared, "media", None) or {}).get("skipped", [])
        for item in skipped[:20]:
            _note(f"skipped {item}")
        if len(skipped) > 20:
            _note(f"... and {len(skipped) - 20:,} more files skipped")
    control = TrainControl()
    interrupted = []

    def on_sigint(signum, frame):
        if interrupted:  # a second Ctrl-C: give up at once
            raise KeyboardInterrupt
        interrupted.append(True)
        control.stop()
        print("\nstopping after this batch (Ctrl-C again to abort without saving)...",
              file=sys.stderr)

    stream = sys.stderr
    progress = None if args.quiet else Progress(
        stream, tty=stream.isatty(), epochs=args.epochs or project.training.epochs
    )
    record = _record_start(project, prepared, net, args.epochs) if args.save else None
    started = time.time()
    old = signal.signal(signal.SIGINT, on_sigint)
    try:
        model = run_training(project, prepared, control, progress, epochs=args.epochs,
                             network=net)
    except NNStudioError as e:
        raise _in_file(e, args.project) from None
    finally:
        signal.signal(signal.SIGINT, old)
    if out is not None:
        save_model(model, out)
    if args.save:
        _keep_run(project, model, record, started)
    s = model.summary
    if args.json:
        _print_json({
            "epochs": s["epochs"], "seconds": s["seconds"], "reason": s["reason"],
            "best_epoch": s["best_epoch"], "metrics": s["metrics"], "model": str(out),
        })
    else:
        how = {"completed": "", "early_stopping": " (early stopping)",
               "stopped": " (stopped by Ctrl-C)"}.get(s["reason"], f" ({s['reason']})")
        secs = s['seconds']
        shown = f"{secs:.1f}" if secs >= 1 else f"{secs:.3f}"  # a small table: 0.042 s
        print(f"trained {s['epochs']} epoch(s) in {shown} s{how}; best epoch "
              f"{s['best_epoch']}")
        print("\n".join(_metrics_lines(s["metrics"])))
        if out is not None:
            print(f"saved {out}")
        if args.save:
            run = project.runs.last
            print(f"kept as {run.name} in {project.path} (now the current model)")
    return EXIT_INTERRUPTED if s["reason"] == "stopped" and interrupted else EXIT_OK


def _record_start(project: Any, prepared: Any, net: Any, epochs: int | None) -> Any:
    """The run's start (initial weights, split, settings) for the run history's Replay."""
    import dataclasses

    from nnstudio.core.insight.replay import RunRecord, data_fingerprint
    from nnstudio.core.io.pipeline import split_arrays

    cfg = project.training
    if epochs is not None:
        cfg = dataclasses.replace(cfg, epochs=int(epochs))
    splits = split_arrays(prepared)
    val = splits["validation"] if len(splits["validation"][0]) else None
    split = getattr(getattr(project.dataset, "split", None), "to_dict", dict)()
    return RunRecord.capture(net, cfg, split=split,
                             split_indices=getattr(prepared, "indices", None),
                             data_fp=data_fingerprint(splits["train"], val))


def _keep_run(project: Any, model: Any, record: Any, started: float) -> None:
    """Add the finished run to the project's history and save the project."""
    import datetime as dt

    from nnstudio.core.io.project import save_project
    from nnstudio.core.io.runs import run_from_model

    when = dt.datetime.fromtimestamp(started, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    run = run_from_model(project.runs, model, "train", record=record, started=when,
                         data_fp=record.data_fingerprint if record is not None else "",
                         network=project.network)
    project.runs.add(run)
    save_project(project, project.path)


# -- evaluate / predict -----------------------------------------------------------------------


def cmd_evaluate(args: argparse.Namespace) -> int:
    from nnstudio.core.io import open_trained

    from .datafiles import read_model_data

    model = open_trained(args.model)
    data = read_model_data(model, args.data, args.labels, need_targets=True)
    for n in data.notes:
        _note(n)
    metrics = model.metrics(data.x, data.y)
    if args.json:
        _print_json({"data": str(args.data), "samples": len(data.x), "metrics": metrics})
    else:
        print(f"{args.data}: {len(data.x):,} samples")
        print("\n".join(_metrics_lines({"data": metrics})))
    return EXIT_OK


def cmd_predict(args: argparse.Namespace) -> int:
    from nnstudio.core.io import open_trained
    from nnstudio.core.io.atomic import atomic_write_text

    from .datafiles import read_model_data

    out = _check_out_file(args.out)
    model = open_trained(args.model)
    data = read_model_data(model, args.data)
    for n in data.notes:
        _note(n)
    if args.keep and data.table is None:
        raise UsageError("--keep copies columns of a table; this model reads arrays")
    kept = [] if data.files is None else [("file", data.files)]
    for col in args.keep:
        if col not in data.table:
            raise DataError(f"--keep: no column named {col!r}", where=str(args.data))
        kept.append((col, data.table[col].as_strings()))
    pred = model.predict_prepared(data.x)
    try:
        atomic_write_text(out, predictions_csv(pred, kept))
    except OSError as e:  # read-only or full file system: nothing is left behind
        from nnstudio.core.fileaccess import os_error_reason

        raise DataError(os_error_reason(e, "write"), where=str(out)) from None
    print(f"wrote {len(pred):,} predictions to {out}", file=sys.stderr)
    return EXIT_OK


def predictions_csv(pred: Any, kept: list[tuple[str, Any]] = ()) -> str:
    """CSV text: kept columns, ``prediction`` (or ``prediction_<target>`` for several
    targets), and ``p_<class>`` per class for classification. A network with several
    outputs writes each output's ``prediction_<target>`` (and ``p_<target>_<class>``)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    header = [name for name, _ in kept]
    if pred.outputs is not None:
        blocks = list(pred.outputs.items())
        for t, p in blocks:
            header += [f"prediction_{t}"] + [f"p_{t}_{c}" for c in p.class_names]
        w.writerow(header)
        for i in range(len(pred)):
            row = [str(v[i]) for _, v in kept]
            for _, p in blocks:
                if p.probabilities is not None:
                    row.append(str(p.values[i]))
                    row += [format(float(q), ".9g") for q in p.probabilities[i]]
                else:
                    row.append(format(float(p.values[i, 0]), ".10g"))
            w.writerow(row)
        return buf.getvalue()
    if pred.probabilities is not None:
        header += ["prediction"] + [f"p_{c}" for c in pred.class_names]
    elif pred.values.shape[1] == 1:
        header += ["prediction"]
    else:
        header += [f"prediction_{t}" for t in pred.target_names]
    w.writerow(header)
    for i in range(len(pred)):
        row = [str(v[i]) for _, v in kept]
        if pred.probabilities is not None:
            row.append(str(pred.values[i]))
            row += [format(float(p), ".9g") for p in pred.probabilities[i]]
        else:
            row += [format(float(v), ".10g") for v in pred.values[i]]
        w.writerow(row)
    return buf.getvalue()


# -- export / selftest --------------------------------------------------------------------------


def cmd_export(args: argparse.Namespace) -> int:
    from nnstudio.core.io import open_trained

    if args.format == "pytorch":  # a project (its data, split, settings): cli/interop.py
        from nnstudio.cli.interop import cmd_export_pytorch

        args.model_or_project = args.model
        args.model = getattr(args, "weights_model", None)
        return cmd_export_pytorch(args)
    model = open_trained(args.model)
    if args.format == "onnx":
        from nnstudio.core.io.onnx_export import export_onnx

        out = _check_out_file(args.out)
        info = export_onnx(model, out)
        print(f"wrote {out} (opset {info.opset}; inputs: "
              f"{', '.join(i.describe() for i in info.inputs)}; outputs: "
              f"{', '.join(info.outputs)})", file=sys.stderr)
    else:
        from nnstudio.core.io.numpy_export import export_numpy

        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise UsageError(f"--out {out}: is a file; numpy export writes a folder")
        parent = out.parent if str(out.parent) else Path(".")
        if not parent.is_dir():
            raise UsageError(f"--out {out}: the folder {parent} does not exist")
        export_numpy(model, out)
        print(f"wrote {out}/ (predict.py, weights.npz): run `python {out}/predict.py "
              "input.csv`", file=sys.stderr)
    return EXIT_OK


def cmd_selftest(args: argparse.Namespace) -> int:
    from .selftest import run_selftest

    ok, checks = run_selftest(print_line=None if args.json else print)
    if args.json:
        _print_json({"ok": ok, "checks": checks})
    return EXIT_OK if ok else EXIT_FAULT
