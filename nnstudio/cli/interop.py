"""``nnstudio export --format pytorch``, ``nnstudio import`` and ``nnstudio import-run``.

Outgrowing one machine: a project goes out as a PyTorch training project, the result comes
back as a model; ONNX files from elsewhere come in as projects. Nothing here imports PyTorch.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nnstudio.core.errors import NNStudioError


def add_parsers(add) -> None:
    """Register ``import`` and ``import-run`` with ``add(name, help, func)``."""
    i = add("import", "Import an ONNX model as a project (network + weights).", cmd_import)
    i.add_argument("model", help="the ONNX file (.onnx)")
    i.add_argument("--out", required=True, metavar="PROJECT",
                   help="the project file to write (.nnsproj); the weights are its first run")

    r = add("import-run", "Bring the result of an exported PyTorch project back: a new run "
            "of the project.", cmd_import_run)
    r.add_argument("folder", help="train.py's output folder (or the exported project's folder)")
    r.add_argument("--project", metavar="PROJECT",
                   help="the project to add the run to (default: the one it was exported "
                   "from)")
    r.add_argument("--out", metavar="MODEL",
                   help="also write the model file (without a project: FOLDER/model.npz)")


def add_export_options(x: argparse.ArgumentParser) -> None:
    """Options of ``export`` that only ``--format pytorch`` uses."""
    x.add_argument("--weights", dest="weights_model", metavar="MODEL",
                   help="pytorch: a trained model file whose weights go into weights.npz")
    x.add_argument("--copy-data", action="store_true",
                   help="pytorch: copy the data file(s) into the exported folder")
    x.add_argument("--recorded-start", action="store_true",
                   help="pytorch: start from the initial weights of the project's recorded "
                   "run (default: nnstudio's initialization of the training seed)")


def _usage(message: str) -> NNStudioError:
    from nnstudio.cli.commands import UsageError

    return UsageError(message)


def _is_project(path: Path) -> bool:
    if path.suffix.lower() == ".nnsproj":
        return True
    try:
        with open(path, "rb") as f:
            return f.read(1) in (b"{", b" ", b"\n")
    except OSError:
        return False


def cmd_export_pytorch(args: argparse.Namespace) -> int:
    """``nnstudio export PROJECT_OR_MODEL --format pytorch --out DIR``."""
    from nnstudio.core.io import load_model, load_project
    from nnstudio.core.io.export_pytorch import export_pytorch

    src = Path(args.model_or_project)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise _usage(f"--out {out}: is a file; the PyTorch export writes a folder")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise _usage(f"--out {out}: the folder {parent} does not exist")
    project = model = None
    if src.is_file() and _is_project(src):
        project = load_project(src)
        if project.dataset is None:
            raise _usage(f"{src}: the project has no dataset; export a trained model file "
                         "instead, or add data")
        if getattr(args, "model", None):
            model = load_model(args.model)
        elif project.runs.current is not None:  # the project's trained model
            try:
                model = project.trained_model()
            except NNStudioError as e:
                print(f"note: exporting without trained weights: {e}", file=sys.stderr)
    else:
        model = load_model(src)
    record = None
    if args.recorded_start:
        record = project.replay_record() if project is not None else None
        if record is None:
            problem = getattr(project, "run_problem", None) if project is not None else None
            raise _usage(f"{src}: --recorded-start: the project has no usable recorded run"
                         + (f" ({problem})" if problem else ""))
    export_pytorch(out, project=project, model=model, copy_data=args.copy_data,
                   run_record=record)
    print(f"wrote {out}/ (model.py, data.py, train.py, weights): run `python {out}/train.py`"
          f" or `torchrun --nproc_per_node N {out}/train.py`", file=sys.stderr)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """``nnstudio import model.onnx --out project.nnsproj``."""
    from nnstudio.core.io.onnx_import import import_onnx, save_imported

    out = Path(args.out)
    if out.is_dir():
        raise _usage(f"--out {out}: is a folder; give a project file name (.nnsproj)")
    if not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise _usage(f"--out {out}: the folder {out.parent} does not exist")
    model = import_onnx(args.model)
    proj = save_imported(model, out, Path(args.model).name)
    kinds = [n.type for n in model.spec.nodes]
    print(f"wrote {proj} ({len(kinds)} layers: {', '.join(kinds)}); the weights are its "
          "current run", file=sys.stderr)
    return 0


def cmd_import_run(args: argparse.Namespace) -> int:
    """``nnstudio import-run DIR``: the trained result becomes a new (current) run of the
    exported project, with its curves; ``--out`` also (or, without a project, instead) writes
    a model file."""
    from nnstudio.core.io import load_data, load_project, save_model
    from nnstudio.core.io.project import save_project
    from nnstudio.core.io.run_import import attach_run, find_run, project_of, read_run

    run_dir, _ = find_run(args.folder)
    project_path = Path(args.project) if args.project else project_of(args.folder)
    project = prepared = None
    if project_path is not None:
        project = load_project(project_path)
        if project.dataset is not None:
            try:
                prepared = load_data(project)
            except NNStudioError as e:
                print(f"note: the project's data could not be loaded ({e}); the metrics are "
                      "the ones train.py reported", file=sys.stderr)
    model = read_run(args.folder, prepared)
    test = model.summary.get("metrics", {}).get("test", {})
    epochs = len(model.history.get("loss", []))
    if project is not None:
        run = attach_run(project, model, prepared)
        save_project(project, project.path)
        print(f"added {run.name!r} ({epochs} epochs, test {test}) to {project.path} as its "
              "current run", file=sys.stderr)
    if args.out or project is None:
        out = Path(args.out) if args.out else run_dir / "model.npz"
        save_model(model, out)
        print(f"wrote {out} ({epochs} epochs trained with PyTorch; test {test})"
              + ("" if project is not None or args.out else
                 " — the exported project was not found: give it with --project"),
              file=sys.stderr)
    return 0
