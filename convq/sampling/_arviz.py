"""A :class:`~convq.sampling.Chain` as an ``arviz.InferenceData`` (arviz imported lazily;
``pip install 'convq[arviz]'``)."""
from __future__ import annotations

import numpy as np

from .._optional import import_optional


def to_inference_data(chain, var_name="x"):
    """The draws of `chain` as ``arviz.InferenceData``: the ``posterior`` group holds
    `var_name` with dimensions (chain, draw, ``<var_name>_dim_0``) -- ArviZ's layout, so
    ``arviz.summary``, ``arviz.ess`` and ``arviz.rhat`` read it directly -- and the
    ``sample_stats`` group holds ``acceptance_rate``, each chain's acceptance rate
    (accepted / proposed moves over the run, burn-in included) repeated over its draws, as
    a (chain, draw) array. Grid-walk indices and continuous-time event times, when the run
    has them, go to ``sample_stats`` too (``grid_index``, ``time``).

    Works with arviz 0.x (``InferenceData``) and with 1.x, whose ``from_dict`` takes one
    dict of groups and returns an ``xarray.DataTree``."""
    az = import_optional("arviz", "Chain.to_inference_data")
    if not isinstance(var_name, str) or not var_name:
        raise TypeError(f"var_name must be a non-empty str, got {var_name!r}")
    samples = np.asarray(chain.samples, dtype=float)
    n_chains, n_draws = samples.shape[:2]
    rates = np.asarray(chain.acceptance_rates, dtype=float).reshape(n_chains)
    stats = {"acceptance_rate": np.repeat(rates[:, None], n_draws, axis=1)}
    if chain.indices is not None:
        stats["grid_index"] = np.asarray(chain.indices)
    if chain.times is not None:
        stats["time"] = np.asarray(chain.times, dtype=float)
    posterior = {var_name: samples}
    attrs = {"method": str(chain.method), "n_steps": int(chain.n_steps), "thin": int(chain.thin),
             "burn_in": int(chain.burn_in), "inference_library": "convq"}
    try:  # arviz < 1: keyword groups
        return az.from_dict(posterior=posterior, sample_stats=stats, attrs=attrs)
    except TypeError:  # arviz >= 1: one mapping of groups
        return az.from_dict({"posterior": posterior, "sample_stats": stats}, attrs=attrs)
