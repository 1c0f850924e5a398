"""Sigma log source plugins: one module per family of logs a reader produces (see ``../source.py``)."""
