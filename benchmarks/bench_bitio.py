"""Bit writer/reader: convq.coding.pack_fields / unpack_fields vs a vectorised NumPy
packer (fields expanded to a bit matrix, then numpy.packbits(bitorder="little"))."""
import numpy as np

from convq.coding import pack_fields, unpack_fields

from ._harness import Row, time_pair


def numpy_pack(values, width):
    bits = ((values[:, None] >> np.arange(width, dtype=np.int64)) & 1).astype(np.uint8)
    return np.packbits(bits.ravel(), bitorder="little").tobytes()


def numpy_unpack(payload, n, width):
    bits = np.unpackbits(np.frombuffer(payload, np.uint8), bitorder="little")[: n * width]
    return (bits.reshape(n, width).astype(np.int64) << np.arange(width, dtype=np.int64)).sum(axis=1)


def run(ctx):
    rows = []
    n = 200_000 if ctx.quick else 2_000_000
    rng = np.random.default_rng(0)
    for width in (1, 13, 32):
        values = rng.integers(0, 2**width, size=n, dtype=np.int64)
        widths = np.full(n, width, dtype=np.int64)
        payload, nbits = pack_fields(values, widths)
        assert payload == numpy_pack(values, width)
        tc, tr = time_pair(lambda: pack_fields(values, widths), lambda: numpy_pack(values, width))
        rows.append(Row("bitio", f"write {n} x {width}-bit", tc, "numpy packbits", tr,
                        throughput=f"{nbits / tc / 1e6:.0f} Mbit/s"))
        np.testing.assert_array_equal(unpack_fields(payload, nbits, widths), numpy_unpack(payload, n, width))
        tc, tr = time_pair(lambda: unpack_fields(payload, nbits, widths), lambda: numpy_unpack(payload, n, width))
        rows.append(Row("bitio", f"read {n} x {width}-bit", tc, "numpy unpackbits", tr,
                        throughput=f"{nbits / tc / 1e6:.0f} Mbit/s"))
    return rows
