def install(window):
    """Hook for the workflow panels (data, training, results, predict, export)."""
