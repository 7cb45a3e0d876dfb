"""Train the exported network with PyTorch: the same training nnstudio runs, anywhere.

    python train.py                                   # CPU (or --device cuda)
    torchrun --nproc_per_node 4 train.py --device cuda          # 4 GPUs, one machine
    torchrun --nnodes 2 --nproc_per_node 8 --rdzv_backend c10d \\
             --rdzv_endpoint HOST:29500 train.py --device cuda  # 2 machines

The settings come from ``training.json`` (written by nnstudio): loss (fused with the final
Softmax/Sigmoid as nnstudio does), optimizer, learning-rate schedule, weight decay on the
kernels only, gradient clipping, early stopping on the validation loss (restoring the best
weights), and the seed. The seed fixes the initial weights (``init_weights.npz``: nnstudio's
own initialization), the order of the samples in every epoch (the same NumPy generator as
nnstudio) and the dropout masks.

Under ``torchrun`` every process trains on its share of each batch (``DistributedSampler``;
``batch_size`` stays the global batch) and DistributedDataParallel averages the gradients:
gloo on CPU, NCCL on GPU. Only rank 0 prints, writes checkpoints and the results:

    OUT/metrics.csv, OUT/metrics.json   per-epoch loss, metrics and learning rate; summary
    OUT/checkpoint.pt                   the last epoch (continue with --resume)
    OUT/weights.npz                     the final weights in nnstudio's layout

``nnstudio import-run OUT`` brings the result back into nnstudio as a run of the project.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)
from torch.utils.data import DistributedSampler

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import data as project_data  # noqa: E402
import nnstudio_layers  # noqa: E402
from model import Net  # noqa: E402

EPS = 1e-7  # nnstudio's clipping of probabilities in the unfused losses
#: Tasks measured by accuracy (a language model: over the positions that are not padding).
ACCURACY_TASKS = ("classification", "language_model")


def read_settings(folder: Path = HERE) -> dict:
    """``training.json``."""
    return json.loads((Path(folder) / "training.json").read_text(encoding="utf-8"))


# -- loss, optimizer, schedule (nnstudio's definitions) -----------------------------------------

def compute_loss(model, x, y, settings: dict):
    """``(mean loss, output)`` for a batch: fused with the final activation when nnstudio
    fuses it (cross-entropy on logits, binary cross-entropy with logits), else on the
    output as nnstudio's losses compute it."""
    loss = settings["loss"]
    if settings.get("fused"):
        z = model(x, logits=True)
        out = torch.softmax(z, -1) if settings["fused"] == "Softmax" else torch.sigmoid(z)
        if loss == "cross_entropy" and z.dim() == 3:
            return sequence_cross_entropy(z, y, logits=True), out
        if loss == "cross_entropy":
            return F.cross_entropy(z, y), out
        return F.binary_cross_entropy_with_logits(z, y), out
    out = model(x)
    if loss == "cross_entropy" and out.dim() == 3:
        return sequence_cross_entropy(out, y), out
    if loss == "mse":
        return F.mse_loss(out, y), out
    if loss == "mae":
        return F.l1_loss(out, y), out
    if loss == "cross_entropy":
        p = out.gather(1, y.view(-1, 1)).clamp_min(EPS)
        return -torch.log(p).mean(), out
    p = out.clamp(EPS, 1 - EPS)
    return -(y * torch.log(p) + (1 - y) * torch.log1p(-p)).mean(), out


def sequence_cross_entropy(out, y, logits: bool = False):
    """Cross-entropy of one distribution per position ``(N, T, V)`` against token ids
    ``(N, T)``, mean over the positions whose target is not ``-1`` (padding), as nnstudio's
    language-model loss (0 when no position counts)."""
    v = out.shape[-1]
    flat, target = out.reshape(-1, v), y.reshape(-1)
    counted = max(int((target >= 0).sum()), 1)
    if logits:
        return F.cross_entropy(flat, target, ignore_index=-1, reduction="sum") / counted
    keep = target >= 0
    p = flat[keep].gather(1, target[keep].view(-1, 1)).clamp_min(EPS)
    return -torch.log(p).sum() / counted


# -- several outputs (training.json's "heads") -----------------------------------------------

def head_outputs(out, settings: dict) -> dict:
    """``{target: output}`` of a network trained per Output: a network with several outputs
    returns a dict keyed by target already; one Output naming its target returns a tensor."""
    if isinstance(out, dict):
        return out
    (head,) = settings["heads"]
    return {head["target"]: out}


def head_loss(out, y, head: dict, logits: bool = False):
    """One output's mean loss against its column ``y (N,)`` of the packed targets: from the
    logits when ``logits`` (the head's loss fuses with its final Softmax/Sigmoid), else
    nnstudio's formulas on the output (probabilities clipped to [1e-7, 1 − 1e-7])."""
    loss = head["loss"]
    if loss == "cross_entropy":
        classes = y.long()
        if logits:
            return F.cross_entropy(out, classes)
        return -torch.log(out.gather(1, classes.view(-1, 1)).clamp_min(EPS)).mean()
    t = y.reshape(-1, 1).to(out.dtype)
    if loss == "binary_cross_entropy":
        if logits:
            return F.binary_cross_entropy_with_logits(out, t)
        p = out.clamp(EPS, 1 - EPS)
        return -(t * torch.log(p) + (1 - t) * torch.log1p(-p)).mean()
    return F.mse_loss(out, t) if loss == "mse" else F.l1_loss(out, t)


def heads_loss(model, x, y, settings: dict):
    """``(Σ weight · loss, {target: output})`` of a batch, with the packed targets
    ``y (N, H)`` (a column per output, ``settings["heads"]`` gives each its column)."""
    heads = settings["heads"]
    fused = any(h["fused"] for h in heads)
    outs = head_outputs(model(x, logits=True) if fused else model(x), settings)
    total, shown = 0.0, {}
    for h in heads:
        z = outs[h["target"]]
        value = head_loss(z, y[:, h["column"]], h, logits=bool(h["fused"]))
        total = total + h["weight"] * value
        shown[h["target"]] = (torch.softmax(z, -1) if h["fused"] == "Softmax" else
                              torch.sigmoid(z) if h["fused"] == "Sigmoid" else z)
    return total, shown


def evaluate_heads(outs: dict, y: torch.Tensor, settings: dict,
                   preparation: dict | None = None) -> dict:
    """``loss`` (the weighted total) and per output ``<target>/loss`` and
    ``<target>/accuracy`` or ``<target>/mae``, ``/rmse``, ``/r2`` — in the units the network
    trains on, or with ``preparation`` a number's in its own units, as nnstudio reports."""
    result = {"loss": 0.0}
    stats = {h["target"]: h for h in (preparation or {}).get("heads") or []}
    for h in settings["heads"]:
        out, yh = outs[h["target"]].double(), y[:, h["column"]].double()
        value = float(head_loss(out, yh, h))
        result["loss"] += h["weight"] * value
        result[f"{h['target']}/loss"] = value
        if h["task"] == "classification":
            right = (predicted(out) == yh.long()).double().mean()
            result[f"{h['target']}/accuracy"] = float(right)
            continue
        pred, truth_ = out.reshape(-1), yh
        if h["target"] in stats and preparation is not None:
            s = stats[h["target"]]
            pred, truth_ = pred * s["std"] + s["mean"], truth_ * s["std"] + s["mean"]
        d = pred - truth_
        ss_tot = float(((truth_ - truth_.mean()) ** 2).sum())
        r2 = 1 - float((d ** 2).sum()) / ss_tot if ss_tot > 0 else 0.0
        result.update({f"{h['target']}/mae": float(d.abs().mean()),
                       f"{h['target']}/rmse": float(torch.sqrt((d ** 2).mean())),
                       f"{h['target']}/r2": r2})
    return result


def targets(y: np.ndarray, settings: dict) -> torch.Tensor:
    """Targets in the form the loss wants (class indices, or float columns; the packed
    ``(N, H)`` float32 targets of a network trained per Output)."""
    if settings.get("heads"):
        return torch.as_tensor(np.asarray(y, np.float32).reshape(len(y), -1))
    if settings["loss"] == "cross_entropy":
        return torch.as_tensor(y, dtype=torch.int64)
    return torch.as_tensor(np.asarray(y, np.float32).reshape(len(y), -1))


def build_optimizer(model, settings: dict) -> torch.optim.Optimizer:
    """nnstudio's optimizer: weight decay only on the kernels (``W``, ``R``)."""
    o = settings["optimizer"]
    # once each: a module holding others (Bidirectional) names its inner layers' kernels too
    kernels = list({id(p): p for m in model.modules() if isinstance(m, nnstudio_layers.Layer)
                    for p in m.kernels()}.values())
    ids = {id(p) for p in kernels}
    rest = [p for p in model.parameters() if id(p) not in ids]
    wd = float(settings.get("weight_decay", 0.0))
    groups = [{"params": kernels, "weight_decay": wd}, {"params": rest, "weight_decay": 0.0}]
    lr = o["learning_rate"]
    kind = o["type"]
    if kind == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=o.get("momentum", 0.0),
                               nesterov=bool(o.get("nesterov", False)))
    if kind == "rmsprop":
        return torch.optim.RMSprop(groups, lr=lr, alpha=o.get("rho", 0.9),
                                   eps=o.get("epsilon", 1e-7))
    betas = (o.get("beta_1", 0.9), o.get("beta_2", 0.999))
    cls = torch.optim.AdamW if kind == "adamw" else torch.optim.Adam
    return cls(groups, lr=lr, betas=betas, eps=o.get("epsilon", 1e-7))


def learning_rate(settings: dict, epoch: int) -> float:
    """The learning rate of ``epoch`` (0-based) under nnstudio's schedule."""
    base = settings["optimizer"]["learning_rate"]
    s = settings.get("schedule") or {"type": "constant"}
    if s["type"] == "step":
        return base * s["gamma"] ** (epoch // int(s["step_size"]))
    if s["type"] == "exponential":
        return base * s["gamma"] ** epoch
    if s["type"] == "cosine":  # over the run's epochs unless the schedule names its own
        t = min(epoch / s.get("epochs", max(1, settings["epochs"])), 1.0)
        return s["min_lr"] + 0.5 * (base - s["min_lr"]) * (1 + math.cos(math.pi * t))
    return base


def clip_gradients(model, settings: dict) -> None:
    """Clip each gradient entry, then the global norm (nnstudio's order and rule)."""
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    if settings.get("clip_value"):
        for g in grads:
            g.clamp_(-settings["clip_value"], settings["clip_value"])
    if settings.get("clip_norm"):
        norm = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads))
        if norm > settings["clip_norm"]:
            for g in grads:
                g.mul_(settings["clip_norm"] / norm)


class EpochSampler(DistributedSampler):
    """``DistributedSampler`` over nnstudio's epoch order: one index array shuffled in place
    each epoch by ``np.random.default_rng(seed)``, as nnstudio's trainer does. With one process
    the batches are nnstudio's; with N each process takes every N-th sample of it, so the N
    shares of a batch together are nnstudio's batch."""

    def __init__(self, n: int, seed: int, shuffle: bool, **kw):
        super().__init__(range(n), shuffle=False, **kw)
        self.shuffle_data = shuffle
        self.rng = np.random.default_rng(seed)
        self.order = np.arange(n)

    def set_epoch(self, epoch: int) -> None:
        """Advance to ``epoch``: call it once per epoch, in order."""
        super().set_epoch(epoch)
        if self.shuffle_data:
            self.rng.shuffle(self.order)

    def __iter__(self):
        order = self.order.tolist()
        order += order[: self.total_size - len(order)]  # pad so every process gets as many
        return iter(order[self.rank:self.total_size:self.num_replicas])


# -- evaluation ----------------------------------------------------------------------------------

@torch.no_grad()
def evaluate(model, x: torch.Tensor, y: torch.Tensor, settings: dict, batch: int = 1024,
             preparation: dict | None = None):
    """Loss and metrics on a whole split, in inference mode.

    The loss is in the units the network trains on; regression's ``mae``, ``rmse``, ``r2``
    too, unless ``preparation`` is given: then in the target's own units, as nnstudio reports
    them."""
    if len(x) == 0:
        return {}
    was = model.training
    model.eval()
    outs = [model(x[i:i + batch]) for i in range(0, len(x), batch)]
    model.train(was)
    if settings.get("heads"):
        parts = [head_outputs(o, settings) for o in outs]
        return evaluate_heads({t: torch.cat([p[t] for p in parts]) for t in parts[0]}, y,
                              settings, preparation)
    out = torch.cat(outs).float()
    loss = settings["loss"]
    if out.dim() == 3:  # a distribution per position: the positions that count (not padding)
        keep = y.reshape(-1) >= 0
        out, y = out.reshape(-1, out.shape[-1])[keep], y.reshape(-1)[keep]
    if loss == "cross_entropy":
        value = -torch.log(out.gather(1, y.view(-1, 1)).clamp_min(EPS)).mean()
    elif loss == "binary_cross_entropy":
        p = out.clamp(EPS, 1 - EPS)
        value = -(y * torch.log(p) + (1 - y) * torch.log1p(-p)).mean()
    elif loss == "mse":
        value = F.mse_loss(out, y)
    else:
        value = F.l1_loss(out, y)
    result = {"loss": float(value)}
    if settings["task"] in ACCURACY_TASKS:
        result["accuracy"] = float((predicted(out) == truth(y)).double().mean())
    else:
        yt, pred = y.double(), out.double()
        if preparation is not None:  # y·std + mean: the target's own units
            yt = torch.as_tensor(project_data.decode_target(preparation, yt.cpu().numpy()))
            pred = torch.as_tensor(project_data.decode_target(preparation, pred.cpu().numpy()))
        d = pred - yt
        ss_tot = ((yt - yt.mean(0)) ** 2).sum(0)
        r2 = torch.where(ss_tot > 0, 1 - (d ** 2).sum(0) / ss_tot, torch.zeros_like(ss_tot))
        result.update(mae=float(d.abs().mean()), rmse=float(torch.sqrt((d ** 2).mean())),
                      r2=float(r2.mean()))
    return result


def right_answers(out: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """``(right, counted)`` of a batch: samples, or a language model's non-padding positions."""
    if out.dim() == 3:
        keep = y.reshape(-1) >= 0
        out, y = out.reshape(-1, out.shape[-1])[keep], y.reshape(-1)[keep]
    return float((predicted(out) == truth(y)).sum()), float(len(y))


def predicted(out: torch.Tensor) -> torch.Tensor:
    return (out[:, 0] >= 0.5).long() if out.shape[1] == 1 else out.argmax(1)


def truth(y: torch.Tensor) -> torch.Tensor:
    return y if y.dim() == 1 else (y[:, 0] >= 0.5).long()


# -- the run -------------------------------------------------------------------------------------

def setup(device_arg: str):
    """``(device, rank, world_size)``; joins the process group under ``torchrun``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    cuda = device_arg == "cuda" or (device_arg == "auto" and torch.cuda.is_available())
    if cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    else:
        device = torch.device("cpu")
    if world > 1:
        dist.init_process_group("nccl" if cuda else "gloo")
    return device, rank, world


def initial_weights(model, init: str) -> str:
    """Load the starting weights: ``nnstudio`` (its initialization of this seed), ``torch``
    (PyTorch's own) or an ``.npz`` file."""
    if init == "torch":
        return "PyTorch's default initialization"
    path = HERE / "init_weights.npz" if init == "nnstudio" else Path(init)
    nnstudio_layers.load_weights(model, path)
    return str(path)


def write_metrics(out: Path, history: dict, summary: dict) -> None:
    """``metrics.csv`` (one row per epoch) and ``metrics.json`` (history and summary)."""
    keys = list(history)
    tmp = out / "metrics.csv.tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["epoch", *keys])
        for i in range(len(history["loss"])):
            w.writerow([i + 1, *(repr(float(history[k][i])) for k in keys)])
    os.replace(tmp, out / "metrics.csv")
    tmp = out / "metrics.json.tmp"
    tmp.write_text(json.dumps({"format": "nnstudio.pytorch_run", "version": 1,
                               "export": str(HERE), "history": history, "summary": summary},
                              indent=1,
                              allow_nan=True), encoding="utf-8")
    os.replace(tmp, out / "metrics.json")


def save_checkpoint(path: Path, model, optimizer, epoch, history, best, waited) -> None:
    """Everything ``--resume`` needs, the random state of the dropout masks included."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "epoch": epoch, "history": history, "best": best, "waited": waited,
                "rng": torch.get_rng_state()}, tmp)
    os.replace(tmp, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Train the exported nnstudio network.")
    parser.add_argument("--epochs", type=int, help="override training.json's epochs")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--amp", action="store_true", help="mixed precision (GPU only)")
    parser.add_argument("--init", default="nnstudio",
                        help="nnstudio (default), torch, or an .npz of weights to start from")
    parser.add_argument("--out", default=str(HERE / "run"), help="folder for the results")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    parser.add_argument("--data", help="another copy of the data file")
    parser.add_argument("--labels", help="the IDX labels file, for IDX images")
    parser.add_argument("--threads", type=int, help="CPU threads per process")
    parser.add_argument("--weights-per-rank", action="store_true",
                        help="every process also writes OUT/weights.rank<R>.npz (to check "
                        "that DistributedDataParallel kept them identical)")
    args = parser.parse_args(argv)

    settings = read_settings()
    epochs = settings["epochs"] = settings["epochs"] if args.epochs is None else args.epochs
    device, rank, world = setup(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    amp = args.amp and device.type == "cuda"
    if args.amp and not amp and rank == 0:
        print("note: --amp works on a GPU only; training in float32", file=sys.stderr)
    log = print if rank == 0 else (lambda *a, **k: None)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    torch.manual_seed(settings["seed"])
    splits = project_data.load_splits(HERE, args.data, args.labels)
    prep = project_data.read_spec(HERE)["preparation"]
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = (splits[s] for s in project_data.SPLITS)
    xt, yt = torch.as_tensor(x_tr), targets(y_tr, settings)
    xv, yv = torch.as_tensor(x_va).to(device), targets(y_va, settings).to(device)

    model = Net()
    start_from = initial_weights(model, args.init)
    model.to(device)
    optimizer = build_optimizer(model, settings)
    history: dict[str, list[float]] = {"loss": [], "val_loss": [], "learning_rate": []}
    best = {"loss": math.inf, "epoch": 0, "weights": None}
    first, waited = 1, 0
    if args.resume and (out / "checkpoint.pt").is_file():
        ck = torch.load(out / "checkpoint.pt", map_location=device, weights_only=False)
        model.load_state_dict(ck["model"])
        optimizer.load_state_dict(ck["optimizer"])
        history, best, first = ck["history"], ck["best"], ck["epoch"] + 1
        waited = ck["waited"]
        torch.set_rng_state(ck["rng"])
        start_from = f"{out / 'checkpoint.pt'} (epoch {ck['epoch']})"
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)

    n = len(xt)
    bs = min(settings["batch_size"], n)
    per_rank = math.ceil(bs / world)
    sampler = EpochSampler(n, settings["seed"], settings.get("shuffle", True),
                           num_replicas=world, rank=rank)
    for e in range(1, first):  # resumed: replay the generator to this epoch's order
        sampler.set_epoch(e)
    es = settings.get("early_stopping")
    patience = es.get("patience", 10) if es else None
    min_delta = es.get("min_delta", 0.0) if es else 0.0
    reason, message = "completed", ""
    loss_text = settings["loss"] if not settings.get("heads") else " + ".join(
        f"{h['weight']:g}·{h['loss']}({h['target']})" for h in settings["heads"])
    log(f"training {loss_text} with {settings['optimizer']['type']} on {world} "
        f"process(es), {device.type}; {n} training samples, batch {bs}; start: {start_from}")
    started = time.perf_counter()
    good = {k: v.detach().clone() for k, v in model.state_dict().items()}
    epoch = first - 1
    for epoch in range(first, epochs + 1):
        lr = learning_rate(settings, epoch - 1)
        for g in optimizer.param_groups:
            g["lr"] = lr
        sampler.set_epoch(epoch)
        mine = torch.as_tensor(list(iter(sampler)))
        net.train()
        # loss sum, right answers, answers counted
        total = torch.zeros(3, dtype=torch.float64, device=device)
        for lo in range(0, len(mine), per_rank):
            idx = mine[lo:lo + per_rank]
            xb, yb = xt[idx].to(device, non_blocking=True), yt[idx].to(device)
            with torch.autocast("cuda", enabled=amp):
                value, pred = (heads_loss(net, xb, yb, settings) if settings.get("heads")
                               else compute_loss(net, xb, yb, settings))
            if not torch.isfinite(value):
                model.load_state_dict(good)
                reason = "diverged"
                message = (f"training diverged at epoch {epoch}: the loss became {float(value)};"
                           f" try a lower learning rate (now {lr:g}). The last good weights "
                           "were kept.")
                break
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(value).backward()
            scaler.unscale_(optimizer)
            clip_gradients(model, settings)
            scaler.step(optimizer)
            scaler.update()
            total[0] += float(value.detach()) * len(idx)
            if settings["task"] in ACCURACY_TASKS and not settings.get("heads"):
                right, counted = right_answers(pred.detach().float(), yb)
                total[1] += right
                total[2] += counted
        if reason == "diverged":
            break
        if world > 1:
            dist.all_reduce(total)
        seen = len(mine) * world
        history["loss"].append(float(total[0]) / seen)
        history["learning_rate"].append(lr)
        if settings["task"] in ACCURACY_TASKS and not settings.get("heads"):
            history.setdefault("accuracy", []).append(float(total[1]) / max(float(total[2]), 1))
        val = evaluate(model, xv, yv, settings)
        val_loss = val.pop("loss", math.nan)
        history["val_loss"].append(val_loss)
        for k, v in val.items():
            history.setdefault("val_" + k, []).append(v)
        monitored = val_loss if len(xv) else history["loss"][-1]
        if not math.isfinite(monitored):
            model.load_state_dict(good)
            reason, message = "diverged", f"training diverged at epoch {epoch}"
            break
        improved = monitored < best["loss"] - min_delta
        if improved:
            best = {"loss": monitored, "epoch": epoch,
                    "weights": {k: v.detach().clone() for k, v in model.state_dict().items()}}
            waited = 0
        else:
            waited += 1
        good = {k: v.detach().clone() for k, v in model.state_dict().items()}
        log(f"epoch {epoch}/{epochs}  loss {history['loss'][-1]:.6g}  val_loss {val_loss:.6g}"
            + "".join(f"  val_{k} {v:.4g}" for k, v in val.items())
            + ("  *" if improved else ""))
        if rank == 0:
            save_checkpoint(out / "checkpoint.pt", model, optimizer, epoch, history, best,
                            waited)
            write_metrics(out, history, {"epochs": epoch, "reason": "running"})
        if patience is not None and waited >= patience:
            reason = "early_stopping"
            message = (f"stopped early at epoch {epoch}: the validation loss has not improved "
                       f"for {patience} epochs; the weights of epoch {best['epoch']} were "
                       "restored")
            break
    if patience is not None and es.get("restore_best", True) and best["weights"] is not None:
        model.load_state_dict(best["weights"])
    seconds = time.perf_counter() - started
    metrics = {}
    for name, (x, y) in (("train", (x_tr, y_tr)), ("validation", (x_va, y_va)),
                         ("test", (x_te, y_te))):
        if len(x):
            metrics[name] = evaluate(model, torch.as_tensor(x).to(device),
                                     targets(y, settings).to(device), settings,
                                     preparation=prep)
    summary = {"epochs": epoch if reason != "diverged" else epoch - 1,
               "best_epoch": best["epoch"], "reason": reason, "message": message,
               "seconds": round(seconds, 3), "metrics": metrics,
               "samples": {"train": len(x_tr), "validation": len(x_va), "test": len(x_te)},
               "world_size": world, "device": device.type, "amp": amp,
               "torch": torch.__version__, "start": start_from}
    if args.weights_per_rank:
        nnstudio_layers.save_weights(model, out / f"weights.rank{rank}.npz")
    if rank == 0:
        nnstudio_layers.save_weights(model, out / "weights.npz")
        write_metrics(out, history, summary)
        log(f"{reason}: {message or 'done'} — test {metrics.get('test', {})}")
        log(f"results in {out}; bring them back with: nnstudio import-run {out}")
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return 0 if reason != "diverged" else 2


if __name__ == "__main__":
    sys.exit(main())
