"""Instruction counts of a few fixed workloads, for comparing two builds of convq where
timings are too noisy (a shared machine): run each workload in its own process under
valgrind's callgrind, which counts instructions, not seconds, so the figure is the same
whatever else the machine is doing.

    for w in import quantize objective walk sgd; do
        valgrind --tool=callgrind --callgrind-out-file=/dev/null python benchmarks/instructions.py $w 2>&1 \
            | grep 'Collected'
    done

Run it from each checkout to compare (BENCHMARKS.md, "The architecture change"). Every
workload imports the same modules first ("import" alone measures that part).
"""
import sys

import numpy as np

which = sys.argv[1]
rng = np.random.default_rng(0)
if which == "import":
    import convq.quantize, convq.objectives, convq.sampling, convq.stochastic
    sys.exit(0)
import convq.quantize as Q, convq.objectives as ob, convq.sampling as S, convq.stochastic as st
y = rng.standard_normal(4096); y /= np.abs(y).sum()
X = rng.standard_normal((2000, 200)); t = rng.standard_normal(2000); x = rng.standard_normal(200)
if which == "quantize":
    for q in (Q.SimQ(1.0), Q.SimQPlus(1.0), Q.CUQ(1.0, 16), Q.RATQ(1.0), Q.QSGD(4), Q.TopK(40)):
        for _ in range(20):
            m = q.encode(y, rng=1); q.decode(m)
elif which == "objective":
    o = ob.Logistic(X, (t > 0).astype(float), lam=1.0, threads=1)
    for _ in range(20):
        o.value_and_grad(x)
elif which == "walk":
    S.grid_walk(S.Gaussian(np.zeros(20)), S.Box(-np.ones(20), np.ones(20)), 0.1, n_steps=20000, rng=0, threads=1)
elif which == "sgd":
    prob = st.bernoulli_product_problem(100, 2.0, B=1.0, D=1.0, delta=0.2, rng=1)
    st.sgd(prob, np.zeros(100), 2000, 0.01, quantizer=Q.SimQPlus(prob.B, p=2.0), rng=0)
