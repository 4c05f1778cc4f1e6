"""convq.sampling as a package: the public names, the engine switch, the C enums read
from _core, Chain as a Result, and the hardening regressions of transition_matrix,
theorem1_bound and ess."""
import copy
import pickle
import warnings

import numpy as np
import pytest

import convq.slow.sampling as slow
from convq import _core
from convq import sampling as S
from convq._result import Result


def test_public_names_import_from_the_package_and_its_modules():
    from convq.sampling import bodies, densities, diagnostics, exact, logsobolev, rounding, theory, walks
    home = {"Box": bodies, "Ball": bodies, "Polytope": bodies, "Intersection": bodies, "intersect": bodies,
            "Gaussian": densities, "ExpNorm": densities, "Uniform": densities, "LogisticPosterior": densities,
            "LogDensity": densities, "Chain": walks, "grid_walk": walks, "ball_walk": walks,
            "hit_and_run": walks, "GridDistribution": exact, "exact_grid_distribution": exact,
            "tv_distance": exact, "transition_matrix": exact, "spectral_gap": exact, "theorem1_bound": theory,
            "condition1_alpha": theory, "C_u": theory, "CubeSet": theory, "p_u": theory, "initial_M": theory,
            "theorem1_bound_for": theory, "Theorem1Bound": theory, "ess": diagnostics, "rhat": diagnostics,
            "billiard_walk": walks}
    from convq.sampling import volumes
    home.update({"volume": volumes, "VolumeResult": volumes})
    home.update(dict.fromkeys(logsobolev.__all__, logsobolev))
    home.update(dict.fromkeys(["AffineMap", "Rounding", "chebyshev_center", "affine_image", "affine_density",
                               "round_body", "reduce_equality"], rounding))
    assert set(home) == set(S.__all__)
    for name, mod in home.items():
        assert getattr(S, name) is getattr(mod, name), name
    assert "Frieze" in S.__doc__ and "Kannan" in S.__doc__


def test_kinds_crossing_to_c_are_the_constants_core_exports():
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    dens = {S.Uniform(): "UNIFORM", S.Gaussian([0.0, 0.0]): "GAUSS", S.ExpNorm(1.0): "EXPNORM",
            S.LogisticPosterior(X, [0, 1]): "LOGISTIC"}
    kinds = [getattr(_core, f"SMP_DENS_{v}") for v in dens.values()]
    assert sorted(kinds) == list(range(4))          # the C enum, numbered from its one list
    for d, name in dens.items():
        assert d._c_dens(2).kind == getattr(_core, f"SMP_DENS_{name}")
    walks = [getattr(_core, f"SMP_WALK_{m}") for m in ("GRID", "BALL", "HAR_COORD", "HAR_DIR")]
    assert sorted(walks) == list(range(4))
    assert _core.SMP_RESYNC == 65536


def _c_struct_fields(struct):
    """The member names of a struct of csrc/sampling/cq_sampling.h."""
    import pathlib
    import re
    src = (pathlib.Path(__file__).resolve().parents[1] / "csrc" / "sampling" / "cq_sampling.h").read_text()
    body = re.search(r"typedef struct %s \{(.*?)\} %s;" % (struct, struct), src, re.S).group(1)
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    names = set()
    for decl in body.split(";"):
        for part in decl.split(","):
            m = re.search(r"(\w+)\s*$", part.strip())
            if m:
                names.add(m.group(1))
    return names


@pytest.mark.parametrize("spec, struct, derived", [
    ("BodySpec", "cq_smp_body", {"n", "n_balls", "m"}),
    ("DensitySpec", "cq_smp_density", {"N"}),
    ("WalkSpec", "cq_smp_walk", set()),
])
def test_specs_name_the_fields_of_the_c_structs(spec, struct, derived):
    """Each named spec has exactly the fields of its C struct, less the counts the binding
    derives from the arrays' shapes (and a body's n, which is the density's)."""
    import convq._spec as specs
    assert set(getattr(specs, spec)._fields) == _c_struct_fields(struct) - derived


def test_specs_are_read_by_field_name_and_plain_tuples_are_refused():
    """A named tuple with the spec's fields in another order runs the same chain (the binding
    and the twin read by name); a plain tuple is a TypeError naming the spec."""
    import collections

    from convq._spec import WalkSpec
    d, b = _gauss_box()
    walk = WalkSpec(_core.SMP_WALK_GRID, 0.25, np.zeros(2), continuous_time=1, n_steps=50, thin=2, burn_in=3)
    shuffled = collections.namedtuple("Shuffled", list(reversed(WalkSpec._fields)))(
        **{f: getattr(walk, f) for f in WalkSpec._fields})
    x0, k0 = np.zeros((1, 2)), np.zeros((1, 2), np.int64)
    for run in (_core._smp_run, slow.smp_run):
        ref = run(b._c_body(), d._c_dens(2), walk, x0, k0, [np.random.default_rng(3)], 1)
        got = run(b._c_body(), d._c_dens(2), shuffled, x0, k0, [np.random.default_rng(3)], 1)
        for r, g in zip(ref, got):
            np.testing.assert_array_equal(r, g)
        assert ref[2] is not None and ref[0].shape == (1, 25, 2)
        for args, spec in [((tuple(b._c_body()), d._c_dens(2), walk), "BodySpec"),
                           ((b._c_body(), tuple(d._c_dens(2)), walk), "DensitySpec"),
                           ((b._c_body(), d._c_dens(2), tuple(walk)), "WalkSpec")]:
            with pytest.raises(TypeError, match=spec):
                run(*args, x0, k0, [np.random.default_rng(3)], 1)


def _gauss_box():
    return S.Gaussian([0.2, -0.1]), S.Box([-1.0, -1.0], [1.0, 1.0])


@pytest.mark.parametrize("walk", ["grid", "ball", "har"])
def test_engines_give_the_same_chain(walk):
    d, b = _gauss_box()
    if walk == "grid":
        run = lambda e: S.grid_walk(d, b, 0.25, n_steps=200, n_chains=3, rng=4, refine=True, lazy=True, engine=e)
    elif walk == "ball":
        run = lambda e: S.ball_walk(d, b, 0.4, n_steps=200, n_chains=3, rng=4, continuous_time=True, engine=e)
    else:
        run = lambda e: S.hit_and_run(d, b, n_steps=200, n_chains=3, rng=4, direction="coordinate", engine=e)
    c, p, a = run("c"), run("python"), run("auto")
    for key in ("samples", "indices", "times", "n_accept", "n_prop"):
        if c[key] is None:
            assert p[key] is None and a[key] is None
        else:
            np.testing.assert_array_equal(c[key], p[key])
            np.testing.assert_array_equal(c[key], a[key])
    assert 0.2 < c.acceptance_rate <= 1.0


def test_engine_switch_errors():
    d, b = _gauss_box()
    ld = S.LogDensity(d.logpdf)
    with pytest.raises(ValueError, match="engine='c' is not available here: a LogDensity"):
        S.grid_walk(ld, b, 0.25, n_steps=10, engine="c")
    with pytest.raises(ValueError, match="engine='c'"):
        S.ball_walk(ld, b, 0.25, n_steps=10, engine="c")
    with pytest.raises(ValueError, match="engine='c'"):
        S.transition_matrix(ld, b, 0.5, engine="c")
    for bad in ("C", "numpy", None, 1):
        with pytest.raises(ValueError, match="engine must be one of"):
            S.grid_walk(d, b, 0.25, n_steps=10, engine=bad)
        with pytest.raises(ValueError, match="engine must be one of"):
            S.hit_and_run(d, b, n_steps=10, engine=bad)
    # a LogDensity runs its NumPy walk under "auto" and "python" alike
    a = S.grid_walk(ld, b, 0.25, n_steps=50, n_chains=2, rng=3)
    p = S.grid_walk(ld, b, 0.25, n_steps=50, n_chains=2, rng=3, engine="python")
    np.testing.assert_array_equal(a.samples, p.samples)
    P1, _ = S.transition_matrix(d, b, 0.5, engine="c")
    P2, _ = S.transition_matrix(d, b, 0.5, engine="python")
    assert (P1 != P2).nnz == 0


def test_slow_twin_agrees_with_the_numpy_log_density():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 3))
    y = (rng.random(30) < 0.5).astype(float)
    x = rng.standard_normal((7, 3))
    for d in (S.Gaussian([0.1, 0.2, 0.3], cov=np.diag([1.0, 2.0, 3.0]) + 0.1), S.ExpNorm(2.0, 1),
              S.ExpNorm(0.5, 2), S.LogisticPosterior(X, y, [1.0, 2.0, 3.0]), S.Uniform()):
        np.testing.assert_allclose(slow.smp_logf(d._c_dens(3), x), d.logpdf(x), rtol=1e-12, atol=1e-12)


def test_chain_is_a_result():
    d, b = _gauss_box()
    ch = S.grid_walk(d, b, 0.25, n_steps=30, n_chains=2, rng=1, continuous_time=True)
    assert isinstance(ch, Result) and isinstance(ch, dict)
    assert ch["samples"] is ch.samples and ch.n_chains == 2
    assert list(ch)[:3] == ["method", "samples", "indices"]
    r = repr(ch)
    assert r.startswith("Chain(") and "acceptance_rate" in r and "ndarray(2, 30, 2) float64" in r
    for c2 in (pickle.loads(pickle.dumps(ch)), ch.copy(), copy.deepcopy(ch)):
        assert type(c2) is S.Chain and c2.method == "grid" and c2.acceptance_rate == ch.acceptance_rate
        np.testing.assert_array_equal(c2.samples, ch.samples)
        x, k = c2.state_at(1.0)
        assert x.shape == (2, 2) and k.shape == (2, 2)
    assert repr(S.Chain()) == "Chain()"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        ch.nope


# ---- hardening regressions ---------------------------------------------------------------------

def test_transition_matrix_tiny_delta_raises_convq_value_error_naming_delta():
    with pytest.raises(ValueError, match=r"delta=1e-19 is too small") as info:
        S.transition_matrix(S.Gaussian([0, 0]), S.Box([-1, -1], [1, 1]), 1e-19)
    assert "max_cells" in str(info.value)     # convq's message, not SciPy's


def test_theorem1_bound_negative_t_names_t():
    with pytest.raises(ValueError, match=r"^t must be >= 0"):
        S.theorem1_bound(-1, 2, 0.1, 3.0, 0.01)
    with pytest.raises(ValueError, match=r"^t must be >= 0"):
        S.theorem1_bound(np.array([1.0, -0.5]), 2, 0.1, 3.0, 0.01)
    assert S.theorem1_bound(0, 2, 0.1, 3.0, 0.01) == pytest.approx(np.sqrt(2 * np.log(100.0)))


@pytest.mark.parametrize("empty", [[], np.zeros(0), np.zeros((0, 10)), np.zeros((3, 0)), np.zeros((2, 0, 4))])
def test_ess_and_rhat_on_empty_input_raise_value_error(empty):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="samples must not be empty"):
            S.ess(empty)
        with pytest.raises(ValueError, match="chains must not be empty"):
            S.rhat(empty)
