"""Wizards: the dataset import, preparation and split wizard."""
