"""Fixed-weight range coder: encode/decode a length-N string with K ones.

NumPy has no entropy coder; the reference is the best NumPy way to ship the same
string, numpy.packbits (N bits, uncompressed). The table reports coding speed in input
positions per second and the code length against log2 C(N, K)."""
import numpy as np

from convq.coding import decode_fixed_weight, encode_fixed_weight, log2_binomial

from ._harness import Row, time_pair


def run(ctx):
    rows = []
    n = 200_000 if ctx.quick else 2_000_000
    rng = np.random.default_rng(1)
    for k in (n // 1000, n // 20, n // 2):
        s = np.zeros(n, np.uint8)
        s[rng.choice(n, size=k, replace=False)] = 1
        payload, nbits = encode_fixed_weight(s)
        packed = np.packbits(s, bitorder="little")
        tc, tr = time_pair(lambda: encode_fixed_weight(s), lambda: np.packbits(s, bitorder="little"), repeats=5)
        note = f"{nbits} bits vs log2 C = {log2_binomial(n, k):.1f} (packbits: {n})"
        rows.append(Row("rangecoder", f"encode N={n} K={k}", tc, "numpy packbits", tr,
                        throughput=f"{n / tc / 1e6:.0f} Mpos/s", note=note))
        tc, tr = time_pair(lambda: decode_fixed_weight(payload, n, k),
                           lambda: np.unpackbits(packed, bitorder="little"), repeats=5)
        rows.append(Row("rangecoder", f"decode N={n} K={k}", tc, "numpy unpackbits", tr,
                        throughput=f"{n / tc / 1e6:.0f} Mpos/s", note="includes the canonical-code check"))
    return rows
