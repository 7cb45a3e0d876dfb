"""The "Inside the network" views: decision boundary / fitted function, neuron inspector,
weights & gradients, loss landscape, and step mode — live while a network trains.

Integration: ``nnstudio.gui.insight.install(window, session)`` adds the dock to the main
window and follows the session's data, model and training runs. Computations run in a
background thread on a twin of the network (see :mod:`.compute`); the GUI thread only copies
weights and draws.
"""

from nnstudio.gui.insight.compute import ComputeThread, Snapshot
from nnstudio.gui.insight.panel import InsightPanel, connect_session, install
from nnstudio.gui.insight.source import InsightSource
from nnstudio.gui.insight.step_controls import StepControls

__all__ = [
    "ComputeThread",
    "InsightPanel",
    "InsightSource",
    "Snapshot",
    "StepControls",
    "connect_session",
    "install",
]
