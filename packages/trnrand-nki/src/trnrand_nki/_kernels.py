"""The ``@nki.jit`` kernels (defined only when ``nki`` imports; ``None`` otherwise).

Each kernel loads its runtime operands from HBM, runs the op program of ``_program`` per
``(128, F)`` tile through ``_nki_ops`` and stores whole tiles; the host slices ragged
tails. Seeds, positions and sampler parameters are HBM tensors, so a kernel compiles
once per (sampler, dtype, tile count), never per seed. ``trnrand_nki.mirror`` emulates
the same bodies (``run_stream``, ``run_sobol``).
"""

from __future__ import annotations

from . import _nki_ops, _program

stream_kernel = None
sobol_kernel = None

if _nki_ops.IMPORT_ERROR is None:
    nki, nisa, nl = _nki_ops.nki, _nki_ops.nisa, _nki_ops.nl

    def load(src):
        """An SBUF copy of the HBM tensor ``src`` (same dtype: a DMA with no value cast)."""
        dst = nl.ndarray(src.shape, dtype=src.dtype, buffer=nl.sbuf)
        nisa.dma_copy(dst=dst, src=src)
        return dst

    @nki.jit
    def stream_kernel(keys, bases, params, kind, dtype):
        """Values of ``kind`` for ``bases.shape[0]`` tiles of first-pass blocks.

        ``keys`` (128, 20) int32 round keys; ``bases`` (tiles, 128, 4) int32 limbs of each
        tile's first block; ``params`` (128, 4) float32 sampler columns. Returns
        ``(tiles, 128, F, 4)``: int32 word bits for ``"words"``, else ``dtype`` values.
        """
        n_tiles = bases.shape[0]
        out_dtype = nl.int32 if kind == "words" else _nki_ops.resolve_dtype(dtype, None)
        out = nl.ndarray(
            (n_tiles, _program.P, _program.F, 4), dtype=out_dtype, buffer=nl.shared_hbm
        )
        key_tile = load(keys)
        param_tile = load(params)
        index = _nki_ops.iota(_program.P, _program.F)
        zero = _nki_ops.zeros(_program.P, _program.F)
        for t in nl.affine_range(n_tiles):
            base = load(bases[t])
            values = _program.stream_tile(
                _nki_ops, kind, dtype, index, key_tile, base, zero, param_tile
            )
            for w in range(4):
                if kind == "words":
                    nisa.dma_copy(dst=out[t, :, :, w], src=values[w].view(nl.int32))
                else:
                    nisa.dma_copy(dst=out[t, :, :, w], src=values[w])
        return out

    @nki.jit
    def sobol_kernel(table, starts):
        """Sobol bits ``X_b xor T[j]``: ``table`` (d, 128, F) int32, ``starts`` (tiles, 128, d)
        int32; returns (d, tiles, 128, F) int32."""
        d = table.shape[0]
        n_tiles = starts.shape[0]
        out = nl.ndarray(
            (d, n_tiles, _program.P, table.shape[2]), dtype=nl.int32, buffer=nl.shared_hbm
        )
        for k in range(d):
            coordinate = load(table[k])
            for t in nl.affine_range(n_tiles):
                start = load(starts[t])
                bits = _program.sobol_coordinate(_nki_ops, coordinate, _nki_ops.column(start, k))
                nisa.dma_copy(dst=out[k, t], src=bits)
        return out
