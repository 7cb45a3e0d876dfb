"""Learning-rate schedules: the learning rate as a function of the epoch (0-based)."""

from __future__ import annotations

import math
from typing import Any

from nnstudio.core.errors import ConfigError

SCHEDULES = ("constant", "step", "exponential", "cosine")


class Schedule:
    """``lr(epoch)`` for a base learning rate, from a config dict.

    * ``{"type": "constant"}``
    * ``{"type": "step", "step_size": 10, "gamma": 0.5}``: ``lr·gamma^floor(epoch/step_size)``
    * ``{"type": "exponential", "gamma": 0.95}``: ``lr·gamma^epoch``
    * ``{"type": "cosine", "epochs": 100, "min_lr": 0}``: half a cosine from ``lr`` down to
      ``min_lr`` over ``epochs`` (the run's epochs when absent), then ``min_lr``.
    """

    def __init__(self, config: dict[str, Any] | None, base_lr: float, epochs: int = 1):
        config = dict(config or {"type": "constant"})
        self.type = config.pop("type", "constant")
        self.base_lr = float(base_lr)
        where = "training.schedule"
        if self.type not in SCHEDULES:
            raise ConfigError(
                f"unknown schedule {self.type!r} (known: {', '.join(SCHEDULES)})", where
            )
        allowed = {
            "constant": {},
            "step": {"step_size": 10, "gamma": 0.5},
            "exponential": {"gamma": 0.95},
            "cosine": {"epochs": max(1, epochs), "min_lr": 0.0},
        }[self.type]
        unknown = set(config) - set(allowed)
        if unknown:
            raise ConfigError(f"{self.type} schedule has no setting {sorted(unknown)}", where)
        self.options = {**allowed, **{k: float(v) for k, v in config.items()}}
        gamma = self.options.get("gamma", 0.5)
        if not 0 < gamma <= 1:
            raise ConfigError(f"gamma must be in (0, 1] (got {gamma:g})", where)
        if self.type == "step" and self.options["step_size"] < 1:
            raise ConfigError("step_size must be ≥ 1 epoch", where)
        if self.type == "cosine" and self.options["epochs"] < 1:
            raise ConfigError("a cosine schedule's epochs must be ≥ 1 (it divides by them; "
                              f"got {self.options['epochs']:g})", where)

    def __call__(self, epoch: int) -> float:
        o = self.options
        if self.type == "step":
            return self.base_lr * o["gamma"] ** (epoch // int(o["step_size"]))
        if self.type == "exponential":
            return self.base_lr * o["gamma"] ** epoch
        if self.type == "cosine":
            t = min(epoch / o["epochs"], 1.0)
            return o["min_lr"] + 0.5 * (self.base_lr - o["min_lr"]) * (1 + math.cos(math.pi * t))
        return self.base_lr

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **self.options}
