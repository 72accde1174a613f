"""One module per distribution family: numba CPU kernels, the portable torch path and
the public functions that validate arguments and call them."""
