"""Training: the trainer generator, its events and controls, evaluation."""

from nnstudio.core.training.config import TrainingConfig
from nnstudio.core.training.control import TrainControl
from nnstudio.core.training.evaluate import evaluate, is_classification, prepare_targets
from nnstudio.core.training.events import BatchEnd, EpochEnd, TrainingFinished
from nnstudio.core.training.trainer import check_fit, fusion_point, train

__all__ = [
    "BatchEnd",
    "EpochEnd",
    "TrainControl",
    "TrainingConfig",
    "TrainingFinished",
    "check_fit",
    "evaluate",
    "fusion_point",
    "is_classification",
    "prepare_targets",
    "train",
]
