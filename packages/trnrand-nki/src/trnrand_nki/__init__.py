"""trnrand_nki."""
__version__ = "0.2.0"
