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
                   help="the project file to write (.nnsproj); the weights go beside it (.npz)")

    r = add("import-run", "Bring the result of an exported PyTorch project back as a model.",
            cmd_import_run)
    r.add_argument("folder", help="train.py's output folder (or the exported project's folder)")
    r.add_argument("--out", metavar="MODEL",
                   help="the model file to write (default: FOLDER/model.npz)")


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
    else:
        model = load_model(src)
    record = None
    if args.recorded_start:
        record = getattr(project, "run", None)
        if record is None:
            problem = getattr(project, "run_problem", None)
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
    proj, weights = save_imported(model, out)
    kinds = [n.type for n in model.spec.nodes]
    print(f"wrote {proj} ({len(kinds)} layers: {', '.join(kinds)}) and its weights {weights}",
          file=sys.stderr)
    return 0


def cmd_import_run(args: argparse.Namespace) -> int:
    """``nnstudio import-run DIR``: the trained result as a model file (with its curves)."""
    from nnstudio.core.io import load_data, load_project, save_model
    from nnstudio.core.io.run_import import find_run, project_of, read_run

    run, _ = find_run(args.folder)
    prepared = None
    project_path = project_of(args.folder)
    if project_path is not None:
        try:
            prepared = load_data(load_project(project_path))
        except NNStudioError as e:
            print(f"note: the project's data could not be loaded ({e}); the metrics are the "
                  "ones train.py reported", file=sys.stderr)
    model = read_run(args.folder, prepared)
    out = Path(args.out) if args.out else run / "model.npz"
    save_model(model, out)
    epochs = len(model.history.get("loss", []))
    print(f"wrote {out} ({epochs} epochs trained with PyTorch; test "
          f"{model.summary.get('metrics', {}).get('test', {})})", file=sys.stderr)
    return 0
