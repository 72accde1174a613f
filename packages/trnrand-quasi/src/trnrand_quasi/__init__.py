"""trnrand_quasi."""
__version__ = "0.2.0"
