"""Chain.to_inference_data() and the chain-axis guard of ess / rhat."""
import numpy as np
import pytest

from convq.sampling import Box, Gaussian, ess, grid_walk, hit_and_run, rhat


def _chain(**kw):
    return hit_and_run(Gaussian(np.zeros(3), np.eye(3)), Box(-2 * np.ones(3), 2 * np.ones(3)), n_steps=400,
                       n_chains=4, rng=0, **kw)


def test_to_inference_data_layout_and_stats():
    az = pytest.importorskip("arviz")
    c = _chain()
    idata = c.to_inference_data()
    post = idata.posterior["x"]
    assert post.shape == (4, 400, 3) and post.dims[:2] == ("chain", "draw")
    np.testing.assert_array_equal(post.values, c.samples)
    acc = idata.sample_stats["acceptance_rate"].values
    assert acc.shape == (4, 400)
    np.testing.assert_array_equal(acc[:, 0], c.acceptance_rates)
    # arviz's own diagnostics read it; its ESS agrees with convq's (the same estimator family)
    ours = ess(c.samples)
    theirs = az.ess(idata, method="bulk")["x"].values
    np.testing.assert_allclose(theirs, ours, rtol=0.05)


def test_to_inference_data_grid_walk_keeps_indices_and_checks_the_name():
    pytest.importorskip("arviz")
    c = grid_walk(Gaussian(np.zeros(2), np.eye(2)), Box(-np.ones(2), np.ones(2)), 0.1, n_steps=50, n_chains=2,
                  rng=1)
    idata = c.to_inference_data(var_name="theta")
    assert idata.posterior["theta"].shape == (2, 50, 2)
    np.testing.assert_array_equal(idata.sample_stats["grid_index"].values, c.indices)
    with pytest.raises(TypeError, match="var_name must be a non-empty str"):
        c.to_inference_data(var_name=3)


def test_without_arviz_the_error_says_how_to_install(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "arviz", None)   # import arviz -> ImportError
    with pytest.raises(ImportError, match=r"convq\[arviz\]"):
        _chain().to_inference_data()


@pytest.mark.parametrize("fn", [ess, rhat])
def test_implausible_chain_axis_is_refused_unless_the_layout_is_given(fn):
    """(1000, 4): 1000 'chains' of 4 draws is almost surely (draws, chains): refused."""
    x = np.random.default_rng(0).standard_normal((1000, 4))
    with pytest.raises(ValueError, match="layout='draw_chain'"):
        fn(x)
    np.testing.assert_allclose(fn(x, layout="draw_chain"), fn(x.T))
