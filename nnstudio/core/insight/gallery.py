"""A gallery of test samples: true vs predicted class, most confident mistakes first.

:func:`gallery` runs the network over a split (in batches, from the lazy image/sound cache)
and orders the samples for a learner to look at: the mistakes the network was surest about
first (the most instructive), then the right answers it was least sure about, then the rest.
Per-class precision and recall come with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnstudio.core.engine import metrics as m_
from nnstudio.core.engine.network import Network


@dataclass
class Gallery:
    """Samples of one split in showing order.

    Attributes
    ----------
    order : int64 (N,)
        Positions in the split, mistakes first (most confident first), then right answers
        (least confident first).
    true, pred : int64 (N,)
        Class indices, in split order.
    confidence : float (N,)
        The predicted class's probability, in split order.
    per_class : dict
        ``precision``, ``recall``, ``f1``, ``support`` lists, one value per class.
    class_names : list of str
    """

    order: np.ndarray
    true: np.ndarray
    pred: np.ndarray
    confidence: np.ndarray
    per_class: dict
    class_names: list[str]

    @property
    def n_mistakes(self) -> int:
        return int(np.count_nonzero(self.true != self.pred))


def gallery(net: Network, x, y: np.ndarray, class_names: list[str],
            batch_size: int = 256) -> Gallery:
    """The gallery of ``(x, y)``: ``x`` prepared samples (array or lazy source), ``y`` class
    indices ``(N,)``."""
    out = net.predict(x if getattr(x, "lazy_batches", False) else np.asarray(x, net.dtype),
                      batch_size)
    out = out.reshape(len(out), -1)
    probs = np.concatenate([1 - out, out], axis=1) if out.shape[1] == 1 else out
    pred = probs.argmax(axis=1).astype(np.int64)
    conf = probs[np.arange(len(pred)), pred].astype(np.float64)
    true = np.asarray(y, np.int64)
    wrong = true != pred
    # lexsort: last key first — wrong before right; within wrong high confidence first,
    # within right low confidence first.
    key = np.where(wrong, -conf, conf)
    order = np.lexsort((key, ~wrong)).astype(np.int64)
    k = max(2, probs.shape[1])
    report = m_.classification_report(true, pred, k)
    per_class = {name: report[name] for name in ("precision", "recall", "f1", "support")
                 if name in report}
    return Gallery(order, true, pred, conf, per_class, list(class_names))
