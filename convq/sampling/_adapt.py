r"""Step-size adaptation of the ball walk during burn-in: dual averaging on the
acceptance rate.

Y. Nesterov, "Primal-dual subgradient methods for convex problems" (Mathematical
Programming 120(1), 2009), in the form of M. D. Hoffman and A. Gelman, "The No-U-Turn
Sampler" (JMLR 15, 2014), section 3.2.1 (Algorithm 5): after round :math:`t` with observed
acceptance rate :math:`\alpha_t`,

.. math:: \bar H_t = \Bigl(1 - \frac{1}{t + t_0}\Bigr)\bar H_{t-1}
                     + \frac{1}{t + t_0}(\alpha^\star - \alpha_t),\qquad
          \log\delta_{t+1} = \mu - \frac{\sqrt t}{\gamma}\bar H_t,\qquad
          \log\bar\delta_{t+1} = t^{-\kappa}\log\delta_{t+1} + (1 - t^{-\kappa})\log\bar\delta_t,

with :math:`\mu = \log\delta_0`, :math:`\gamma = 0.05`, :math:`t_0 = 10`,
:math:`\kappa = 0.75`. Too many rejections (:math:`\alpha_t < \alpha^\star`) raise
:math:`\bar H` and shrink the radius. The walk uses :math:`\delta_t` during burn-in and
the averaged :math:`\bar\delta` afterwards, fixed: the kept chain is the ball walk with one
radius, a reversible Markov chain with the target as stationary law (the adaptation
only picks its starting point and its radius).
"""
from __future__ import annotations

import math

_GAMMA, _T0, _KAPPA = 0.05, 10.0, 0.75
# burn-in is cut into at most this many rounds (one kernel call each)
_ROUNDS = 100


def adapt_delta(run_chunk, delta0, target, burn_in, x):
    """Dual averaging of log delta over the burn-in. ``run_chunk(delta, x, steps)`` runs
    ``steps`` ball-walk steps of every chain from the states ``x`` and returns
    ``(last states, accepted moves, proposals)`` summed over the chains. Returns
    ``(delta_bar, x, steps left for a fixed-kernel burn-in, trace of the radii used)``."""
    steps = max(1, burn_in // _ROUNDS)
    rounds = burn_in // steps
    mu = math.log(delta0)
    log_d, log_bar, h_bar = mu, mu, 0.0
    trace = []
    for t in range(1, rounds + 1):
        trace.append(math.exp(log_d))
        x, acc, prop = run_chunk(math.exp(log_d), x, steps)
        alpha = acc / prop if prop > 0 else 0.0
        w = 1.0 / (t + _T0)
        h_bar = (1.0 - w) * h_bar + w * (target - alpha)
        log_d = min(max(mu - math.sqrt(t) / _GAMMA * h_bar, mu - 200.0), mu + 200.0)   # no overflow
        eta = t ** -_KAPPA
        log_bar = eta * log_d + (1.0 - eta) * log_bar
    return math.exp(log_bar), x, burn_in - rounds * steps, trace
