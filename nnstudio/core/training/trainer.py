"""The trainer: a plain generator of progress events.

The caller iterates it: the CLI prints the events, the Qt worker forwards them as signals,
tests assert on them. Stopping, pausing and single-stepping are requests on a
:class:`~nnstudio.core.training.control.TrainControl` that the generator checks before each
batch, so a stop lands within one batch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import numpy as np

from nnstudio.core.engine import sequence_loss
from nnstudio.core.engine.chain import ChainStep
from nnstudio.core.engine.losses import Loss, get_loss
from nnstudio.core.engine.network import Network
from nnstudio.core.engine.optimizers import make_optimizer
from nnstudio.core.engine.schedules import Schedule
from nnstudio.core.errors import ConfigError, ShapeError
from nnstudio.core.training.config import TrainingConfig
from nnstudio.core.training.control import TrainControl
from nnstudio.core.training.divergence import DivergenceWatch
from nnstudio.core.training.evaluate import evaluate, is_classification, prepare_targets
from nnstudio.core.training.events import BatchEnd, EpochEnd, TrainingFinished
from nnstudio.core.training.heads import Heads
from nnstudio.core.training.memory import check_trainable

Event = BatchEnd | EpochEnd | TrainingFinished

#: Training sets up to this size are shuffled as a whole each epoch (batches become views).
_WHOLE_EPOCH_BYTES = 64 * 2**20


def fusion_point(net: Network, loss: Loss) -> str | None:
    """The node whose output are the logits when the final activation fuses with the loss."""
    out = net.output_id
    if loss.fuses_with and net.layers[out].type_name == loss.fuses_with:
        (pred,) = net.preds[out]
        if pred != net.input_id:
            return pred
    return None


def graph_step(
    net: Network, loss: Loss, at: str | None, x: np.ndarray, y: np.ndarray
) -> tuple[float, np.ndarray]:
    """One batch through the graph walk: forward, the loss (fused at ``at``, see
    :func:`fusion_point`) and, when the loss is finite, backward into ``net.grads``.

    Returns ``(mean loss, output)``; the output is the network's buffer, reused next call.
    """
    pred = net.forward(x, training=True)
    if at is not None:
        value = loss.fused_value(net.values[at], y)
        grad = loss.fused_grad(pred, y)
    else:
        value = loss.value(pred, y)
        grad = loss.grad(pred, y)
    if math.isfinite(value):
        net.backward(grad, at=at)
    return value, pred


def _check_input(net: Network, x: np.ndarray, where: str) -> None:
    if tuple(x.shape[1:]) != tuple(net.input_shape):
        raise ShapeError(
            f"the data's samples have shape {tuple(x.shape[1:])} but the network's Input "
            f"expects {tuple(net.input_shape)}",
            where,
        )


def check_fit(net: Network, loss_name: str, x: np.ndarray, y: np.ndarray, where: str) -> None:
    """Raise a readable error when data and network cannot train together."""
    _check_input(net, x, where)
    if net.multi_output:
        raise ShapeError("a network with several outputs trains on targets prepared for "
                         "its Output layers (one per target column)", where)
    out = tuple(net.output_shape)
    if loss_name == "cross_entropy" and (len(out) == 2 or (y.ndim == 2 and y.dtype.kind in "iu")):
        check_sequence_fit(out, y, where)
        return
    if y.ndim == 1 and loss_name == "cross_entropy":
        k = int(y.max()) + 1 if len(y) else 0
        if len(out) != 1 or out[0] < 2 or out[0] < k:
            raise ShapeError(
                f"the data has {k} classes but the network's output is {out}: end it with "
                f"Dense {max(k, 2)} + Softmax",
                where,
            )
    elif y.ndim == 1 and loss_name == "binary_cross_entropy":
        if out != (1,):
            raise ShapeError(
                f"binary cross-entropy on 0/1 labels needs an output of shape (1,), not {out}: "
                "end the network with Dense 1 + Sigmoid",
                where,
            )
    else:
        # One value per output (one-hot or soft labels, 0/1 columns, regression values):
        # a mismatch would otherwise broadcast silently or fail deep inside the loss.
        k = _per_sample(y)
        if math.prod(out) != k:
            raise ShapeError(
                f"the data has {k} target value(s) per sample but the network outputs {out}",
                where,
            )
    if loss_name == "cross_entropy" and (len(out) != 1 or out[0] < 2):
        raise ShapeError(
            f"cross-entropy needs a vector of two or more outputs, not {out}: end the network "
            "with Dense k + Softmax",
            where,
        )


def check_sequence_fit(out: tuple[int, ...], y: np.ndarray, where: str) -> None:
    """A sequence output ``(T, V)`` needs token-id targets ``(N, T)`` below ``V``."""
    if len(out) != 2 or y.ndim != 2 or y.dtype.kind not in "iu":
        raise ShapeError(
            f"a network with one output per position {out} needs token-id targets per "
            f"position (N, T), not targets of shape {tuple(y.shape)}; for one class per "
            "sample pool the sequence (GlobalAvgPool1D or LastPosition) before the last Dense",
            where,
        )
    if y.shape[1] != out[0]:
        raise ShapeError(
            f"the targets have {y.shape[1]} positions but the network outputs {out[0]}", where
        )
    top = int(y.max()) if y.size else -1
    if top >= out[1]:
        raise ShapeError(
            f"the targets use token id {top} but the network outputs {out[1]} values per "
            f"position: end it with Dense {top + 1} + Softmax",
            where,
        )


def _per_sample(y: np.ndarray) -> int:
    return math.prod(y.shape[1:])


def train(
    net: Network,
    config: TrainingConfig,
    train_data: tuple[np.ndarray, np.ndarray],
    val_data: tuple[np.ndarray, np.ndarray] | None = None,
    control: TrainControl | None = None,
    heads: Heads | None = None,
) -> Iterator[Event]:
    """Train ``net`` in place, yielding a :class:`BatchEnd` per step, an :class:`EpochEnd` per
    epoch and one final :class:`TrainingFinished`.

    Parameters
    ----------
    train_data, val_data:
        ``(x, y)`` with ``x`` of shape ``(N, *net.input_shape)`` and ``y`` class indices
        ``(N,)`` for classification or values ``(N, K)`` for regression.
    control:
        Stop/pause requests from another thread.
    heads:
        A network with several outputs: their losses and weights
        (:mod:`~nnstudio.core.training.heads`); ``y`` is then the packed ``(N, H)`` targets
        and ``config.loss`` is not used.

    A NaN or infinite loss ends the run with ``reason="diverged"`` and the last good
    weights restored; early stopping restores the best weights by validation loss.
    """
    config.validate()
    check_trainable(net.n_params)
    control = control or TrainControl()
    loss = get_loss(config.loss)
    x_tr, y_tr = train_data
    if heads is not None:
        _check_input(net, x_tr, "training data")
        heads.check_fit(y_tr, "training data")
    else:
        check_fit(net, config.loss, x_tr, y_tr, "training data")
    # A lazy source (images/sounds read from a cache, core/data/batches.py) is read batch by
    # batch into a float buffer: the whole set is never converted at once.
    lazy = getattr(x_tr, "lazy_batches", False)
    if not lazy:
        x_tr = np.ascontiguousarray(x_tr, dtype=net.dtype)
    y_tr = (np.ascontiguousarray(y_tr, np.float32) if heads is not None
            else prepare_targets(y_tr, config.loss, net.dtype))
    if val_data is not None and len(val_data[0]) == 0:
        val_data = None
    classify = heads is None and is_classification(config.loss)
    at = fusion_point(net, loss) if heads is None else None
    opt_cfg = dict(config.optimizer)
    opt_cfg.setdefault("type", "adam")
    try:
        optimizer = make_optimizer(
            opt_cfg, net.params, net.grads, net.n_decay,
            **({"weight_decay": config.weight_decay} if config.weight_decay else {}),
            clip_norm=config.clip_norm, clip_value=config.clip_value,
        )
    except TypeError as e:  # a misspelt optimizer option
        raise ConfigError(str(e), "training.optimizer") from None
    schedule = Schedule(config.schedule, config.learning_rate, config.epochs)
    rng = np.random.default_rng(config.seed)

    n = len(x_tr)
    if n == 0:
        raise ShapeError("there are no training samples", "training data")
    bs = min(config.batch_size, n)
    n_batches = math.ceil(n / bs)
    es = config.early_stopping
    patience = int(es.get("patience", 10)) if es else None
    min_delta = float(es.get("min_delta", 0.0)) if es else 0.0
    restore_best = bool(es.get("restore_best", True)) if es else True

    # Snapshots are preallocated once: best weights and the last good (epoch-end) weights.
    best_params, best_state = net.params.copy(), net.state.copy()
    good_params, good_state = net.params.copy(), net.state.copy()
    best_loss, best_epoch, waited = math.inf, 0, 0
    history: dict[str, list[float]] = {"loss": [], "val_loss": [], "learning_rate": []}
    start = time.perf_counter()
    order = np.arange(n)
    # The targets, and a small training set's samples, are put in the epoch's order once per
    # epoch, so that their batches are views; large samples are gathered batch by batch (no
    # second copy of them in memory). Without shuffling every batch is a view.
    whole = not lazy and (x_tr.nbytes <= _WHOLE_EPOCH_BYTES or not config.shuffle)
    y_ep = np.empty_like(y_tr) if config.shuffle else y_tr
    x_ep = np.empty_like(x_tr) if whole and config.shuffle else x_tr
    x_buf: dict[int, np.ndarray] = {}
    epoch = 0
    reason, message = "completed", ""

    def finish(reason: str, message: str = "", epochs_run: int | None = None) -> TrainingFinished:
        if epochs_run is None:
            epochs_run = epoch if reason != "diverged" else epoch - 1
        return TrainingFinished(
            reason, epochs_run, best_epoch,
            time.perf_counter() - start - control.waited, message, history,
        )

    # Plain Dense chains take a compiled step with the same arithmetic (see engine/chain.py).
    chain = (ChainStep.build(net, loss) if heads is None and net.input_columns is None
             else None)
    # Training accuracy is counted once per epoch from the predictions kept here, not per
    # batch: a few microseconds a batch that tiny networks notice.
    sequence = classify and len(net.output_shape) == 2  # one distribution per position
    accuracy = (
        _EpochAccuracy(n, tuple(net.output_shape), net.dtype) if classify and not sequence
        else None
    )
    seq_hits = [0, 0]  # right, counted positions of the epoch (sequence outputs)
    perf_counter, isfinite, checkpoint = time.perf_counter, math.isfinite, control.checkpoint
    # Per-epoch check for a loss that explodes without reaching inf (see divergence.py).
    watch = DivergenceWatch.start(net, x_tr, train_data[1], config.loss, heads)
    lr = schedule(0)

    for epoch in range(1, config.epochs + 1):
        lr = schedule(epoch - 1)
        optimizer.lr = lr
        if config.shuffle:
            rng.shuffle(order)
            np.take(y_tr, order, 0, y_ep, "clip")
            if whole:
                np.take(x_tr, order, 0, x_ep, "clip")
        total = 0.0
        for b in range(n_batches):
            if not checkpoint():
                # Keep the best weights so far (by validation loss), else the last good ones.
                if best_epoch:
                    net.params[...], net.state[...] = best_params, best_state
                    kept = f"the weights of epoch {best_epoch} (the best so far) were kept"
                else:
                    net.params[...], net.state[...] = good_params, good_state
                    kept = "no epoch had finished, so the initial weights were kept"
                yield finish("stopped", f"stopped by the user during epoch {epoch}; {kept}")
                return
            lo = b * bs
            hi = lo + bs
            yb = y_ep[lo:hi]
            m = len(yb)
            if whole:
                xb = x_ep[lo:hi]
            else:
                xb = x_buf.get(m)
                if xb is None:
                    xb = x_buf[m] = np.empty((m,) + x_tr.shape[1:], net.dtype)
                if lazy:
                    x_tr.take_into(order[lo:hi], xb)
                else:
                    # mode="clip": the indices are valid; "raise" would buffer a batch copy
                    np.take(x_tr, order[lo:hi], 0, xb, "clip")
            # A diverging run overflows before its loss turns NaN; that is detected and
            # reported below, so NumPy's overflow warnings would only be noise. One errstate
            # per step: entering it costs microseconds, which a tiny network notices.
            with np.errstate(over="ignore", invalid="ignore"):
                if chain is not None:
                    value = chain.step(xb, yb)
                    pred = chain.pred
                elif heads is not None:
                    value, pred = heads.step(xb, yb)
                else:
                    value, pred = graph_step(net, loss, at, xb, yb)
                finite = isfinite(value)
                if finite:
                    optimizer.step()
            if not finite:
                net.params[...], net.state[...] = good_params, good_state
                msg = (
                    f"training diverged at epoch {epoch}, batch {b + 1}: the loss became "
                    f"{'NaN' if math.isnan(value) else 'infinite'}; try a lower learning rate "
                    f"(now {lr:g}), gradient clipping, or scaled inputs. The last good weights "
                    "were kept."
                )
                yield finish("diverged", msg)
                return
            total += value * m
            if accuracy is not None:
                accuracy.pred[lo:lo + m] = pred
            elif sequence:
                right, counted = sequence_loss.accuracy_counts(pred, yb)
                seq_hits[0] += right
                seq_hits[1] += counted
            yield BatchEnd(epoch, b + 1, n_batches, value, lr,
                           perf_counter() - start - control.waited)

        train_loss = total / n
        # Regression metrics of the training split come from evaluate(), not from batches.
        metrics = {"accuracy": accuracy.count(y_ep) / n} if accuracy is not None else {}
        if sequence:
            metrics = {"accuracy": seq_hits[0] / max(seq_hits[1], 1)}
            seq_hits = [0, 0]
        if val_data is not None:
            with np.errstate(over="ignore", invalid="ignore"):
                val = (heads.evaluate(*val_data) if heads is not None
                       else evaluate(net, val_data[0], val_data[1], config.loss))
            val_loss = val.pop("loss")
            val_metrics = {k: v for k, v in val.items() if isinstance(v, float)}
        else:
            val_loss, val_metrics = math.nan, {}
        monitored = val_loss if val_data is not None else train_loss
        if not math.isfinite(monitored):
            net.params[...], net.state[...] = good_params, good_state
            yield finish(
                "diverged",
                f"training diverged at epoch {epoch}: the validation loss became "
                f"{monitored}; try a lower learning rate (now {lr:g}). The last good weights "
                "were kept.",
            )
            return
        exploded = watch.exploded(epoch, train_loss, lr)
        if exploded:
            net.params[...], net.state[...] = best_params, best_state
            kept = f"epoch {best_epoch}" if best_epoch else "the start"
            yield finish("diverged", f"{exploded}. The weights of {kept} were kept.")
            return
        improved = monitored < best_loss - min_delta
        if improved:
            best_loss, best_epoch, waited = monitored, epoch, 0
            best_params[...], best_state[...] = net.params, net.state
        else:
            waited += 1
        good_params[...], good_state[...] = net.params, net.state
        history["loss"].append(train_loss)
        history["val_loss"].append(val_loss)
        history["learning_rate"].append(lr)
        for k, v in {**metrics, **{"val_" + k: v for k, v in val_metrics.items()}}.items():
            history.setdefault(k, []).append(v)
        yield EpochEnd(
            epoch, config.epochs, train_loss, val_loss, metrics, val_metrics, lr,
            time.perf_counter() - start - control.waited, improved, best_epoch,
        )
        if patience is not None and waited >= patience:
            reason = "early_stopping"
            message = (
                f"stopped early at epoch {epoch}: the validation loss has not improved for "
                f"{patience} epochs; the weights of epoch {best_epoch} were restored"
            )
            break
    if patience is not None and restore_best and best_epoch:
        net.params[...], net.state[...] = best_params, best_state
    kept_loss = history["loss"][best_epoch - 1] if (
        patience is not None and restore_best and best_epoch) else (
        history["loss"][-1] if history["loss"] else math.nan)
    worse = watch.ended_worse(epoch, kept_loss, lr)
    if worse:
        yield finish("diverged", f"{worse}.", epochs_run=epoch)
        return
    yield finish(reason, message)


class _EpochAccuracy:
    """Training accuracy of an epoch, from the predictions made before each step.

    ``pred (n, K)`` is filled batch by batch in the epoch's order; :meth:`count` compares it
    with the targets in that order, in buffers kept between epochs.
    """

    def __init__(self, n: int, out_shape: tuple[int, ...], dtype: np.dtype):
        self.pred = np.empty((n, *out_shape), dtype)
        kind = bool if out_shape[-1] == 1 else np.intp  # a 0.5 threshold, or argmax
        self._a, self._b = np.empty(n, kind), np.empty(n, kind)
        self._hit = np.empty(n, bool)

    def count(self, y: np.ndarray) -> int:
        """How many predictions are right; ``y`` class indices ``(n,)`` or ``(n, K)``."""
        p, a, b = self.pred, self._a, self._b
        if p.shape[-1] == 1:
            np.greater_equal(p[:, 0], 0.5, out=a)
            np.greater_equal(y[:, 0], 0.5, out=b)
        else:
            np.argmax(p, axis=-1, out=a)
            if y.ndim == 1:
                b = y
            else:
                np.argmax(y, axis=-1, out=b)
        np.equal(a, b, out=self._hit)
        return int(np.count_nonzero(self._hit))
