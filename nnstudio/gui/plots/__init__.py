"""pyqtgraph plots: live training curves and the charts of the results panel."""
