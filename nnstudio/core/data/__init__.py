"""GUI-free data layer (work in progress)."""
from .csv_reader import load_table
from .table import ArrayData, Column, Table

__all__ = ["ArrayData", "Column", "Table", "load_table"]
