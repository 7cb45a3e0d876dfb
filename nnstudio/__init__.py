"""nnstudio — design neural networks visually, train them while you watch, ship the result."""

__version__ = "0.1.0"
