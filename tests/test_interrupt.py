"""Long C loops release the GIL and stop promptly on Ctrl-C (SIGINT -> KeyboardInterrupt):
the quantized SGD loop, MLP training and the optimisation loop, each in a subprocess that
is interrupted one second into a run that would take far longer."""
import signal
import subprocess
import sys
import time

import pytest

LONG_RUNS = {
    "sgd": "import numpy as np, convq.stochastic as s, convq.quantize as Q\n"
           "p = s.bernoulli_product_problem(2000, 2.0, rng=0)\n"
           "print('ready', flush=True)\n"
           "s.sgd(p, np.zeros(2000), 10**7, 1e-3, quantizer=Q.SimQPlus(B=1.0), rng=0, record_every=10**7)\n",
    "mlp": "import numpy as np\nfrom convq.models import MLPClassifier\n"
           "rng = np.random.default_rng(0); X = rng.normal(size=(5000, 50)); y = (X[:, 0] > 0).astype(int)\n"
           "print('ready', flush=True)\n"
           "MLPClassifier(hidden=(200, 200), epochs=10**6, rng=0).fit(X, y)\n",
    "minimize": "import numpy as np\nfrom convq import objectives, optimize\n"
                "rng = np.random.default_rng(0); X = rng.normal(size=(20000, 300)); y = X @ rng.normal(size=300)\n"
                "obj = objectives.LeastSquares(X, y)\n"
                "print('ready', flush=True)\n"
                "optimize.minimize(obj, np.zeros(300), method='gd', step='fixed', t=1e-12, tol=0, max_iter=10**7)\n",
}


@pytest.mark.parametrize("name", sorted(LONG_RUNS))
def test_ctrl_c_interrupts_promptly(name):
    proc = subprocess.Popen([sys.executable, "-c", LONG_RUNS[name]], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(1.0)
        assert proc.poll() is None, "the run finished before it could be interrupted"
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        elapsed = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "KeyboardInterrupt" in err, err[-2000:]
    assert elapsed < 10, f"took {elapsed:.1f} s to stop"
