"""Dock panels of the main window (palette, properties, and the workflow panels)."""
