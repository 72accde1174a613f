"""The op programs' instructions (see ``_program``) mapped onto ``nki.isa``.

Passed as the ``ops`` object to ``_program`` functions inside ``@nki.jit`` kernels: every
function here is module level and issues exactly one instruction (``column`` issues none),
which is what the NKI frontend inlines. Importing this module never fails; ``IMPORT_ERROR``
says why the SDK is unusable when ``nki`` cannot be imported.
"""

from __future__ import annotations

try:  # the Neuron SDK is optional: nothing here may fail at import
    import nki
    import nki.isa as nisa
    import nki.language as nl
except Exception as exc:  # ImportError, or a broken SDK install
    nki = nisa = nl = None
    IMPORT_ERROR: str | None = f"nki is not importable ({exc.__class__.__name__}: {exc})"
else:
    IMPORT_ERROR = None

_OPERATORS = {
    "add": "add",
    "subtract": "subtract",
    "multiply": "multiply",
    "divide": "divide",
    "min": "minimum",
    "max": "maximum",
    "and": "bitwise_and",
    "or": "bitwise_or",
    "xor": "bitwise_xor",
    "shl": "left_shift",
    "shr": "right_shift",
}


def operator(name):
    """The ``nki.language`` operator for an op-program operator name."""
    return getattr(nl, _OPERATORS[name])


def resolve_dtype(name, like):
    """The NKI dtype called ``name`` (``None``: the dtype of tile ``like``)."""
    if name is None:
        return like.dtype
    return getattr(nl, name)


def new_tile(shape, dtype_):
    return nl.ndarray(shape, dtype=dtype_, buffer=nl.sbuf)


def scalar(x, op0, a0, op1=None, a1=None, dtype=None):
    out = new_tile(x.shape, resolve_dtype(dtype, x))
    if op1 is None:
        nisa.tensor_scalar(dst=out, data=x, op0=operator(op0), operand0=a0)
    else:
        nisa.tensor_scalar(
            dst=out, data=x, op0=operator(op0), operand0=a0, op1=operator(op1), operand1=a1
        )
    return out


def tensor(x, y, op, dtype=None):
    out = new_tile(x.shape, resolve_dtype(dtype, x))
    nisa.tensor_tensor(dst=out, data1=x, data2=y, op=operator(op))
    return out


def scalar_tensor(x, op0, a0, op1, y, dtype=None):
    out = new_tile(x.shape, resolve_dtype(dtype, x))
    nisa.scalar_tensor_tensor(
        dst=out, data=x, op0=operator(op0), operand0=a0, op1=operator(op1), operand1=y
    )
    return out


def activation(func, x, scale=1.0, bias=None):
    out = new_tile(x.shape, nl.float32)
    nisa.activation(dst=out, op=getattr(nl, func), data=x, bias=bias, scale=scale)
    return out


def column(t, index):
    return t[:, index : index + 1]


def iota(partitions, free):
    out = new_tile((partitions, free), nl.uint32)
    nisa.iota(dst=out, pattern=[[1, free]], offset=0, channel_multiplier=free)
    return out


def zeros(partitions, free):
    out = new_tile((partitions, free), nl.uint32)
    nisa.memset(dst=out, value=0)
    return out
