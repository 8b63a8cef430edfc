"""Exploration: the functions behind the controls of ``notebooks/explore.ipynb`` and saved scenarios."""
