"""Qt workers that run core computations (training) off the GUI thread."""
