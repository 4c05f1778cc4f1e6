"""NumPy is the only required dependency: features that need an optional package say
which one and how to install it."""
import subprocess
import sys


def test_missing_scipy_gives_a_clear_message():
    code = ("import sys; sys.modules['scipy'] = None\n"
            "import numpy as np, convq.sampling as S\n"
            "try:\n"
            "    S.Polytope(np.vstack([np.eye(2), -np.eye(2)]), np.ones(4)).start_point()\n"
            "except ImportError as e:\n"
            "    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "needs scipy, an optional dependency of convq: pip install 'convq[scipy]'" in out.stdout


def test_core_works_with_numpy_only():
    code = ("import sys\n"
            "for m in ('scipy', 'sklearn', 'matplotlib'): sys.modules[m] = None\n"
            "import numpy as np, convq.quantize as Q, convq.stochastic as St, convq.optimize as O, convq.objectives as Ob\n"
            "q = Q.SimQPlus(B=1.0); y = np.full(10, 0.1); assert q.decode(q.encode(y, rng=0)).shape == (10,)\n"
            "p = St.bernoulli_product_problem(32, 2, rng=0); St.sgd(p, np.zeros(32), 100, 'theory', quantizer=q, rng=0)\n"
            "X = np.random.default_rng(0).normal(size=(50, 3)); obj = Ob.LeastSquares(X, X @ np.ones(3))\n"
            "assert O.minimize(obj, np.zeros(3), method='bb', tol=1e-10).success\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr
