"""The command line entry point."""
import subprocess
import sys

import pytest


def test_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "convq", "--help"], capture_output=True, text=True, check=True)
    assert "info" in out.stdout


def test_info_runs():
    out = subprocess.run([sys.executable, "-m", "convq", "info"], capture_output=True, text=True, check=True)
    assert "convq" in out.stdout and "threads" in out.stdout


def test_version():
    import convq
    out = subprocess.run([sys.executable, "-m", "convq", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"convq {convq.__version__}"


@pytest.mark.parametrize("argv, message", [
    (["nope"], "invalid choice: 'nope'"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    ([], "a command is required"),
    (["info", "--bogus"], "unrecognized arguments: --bogus"),
    # the demo's parser reads every option before it computes: nothing runs, nothing is printed
    (["demo", "--no-plot", "--bogus"], "unrecognized arguments: --bogus"),
])
def test_unknown_commands_and_options_are_usage_errors_before_any_work(argv, message):
    out = subprocess.run([sys.executable, "-m", "convq", *argv], capture_output=True, text=True)
    assert out.returncode == 2 and message in out.stderr and "usage:" in out.stderr
    assert out.stdout == ""


# ---- the demo figure (hardening issue, item 7) -------------------------------------------------

def test_demo_joins_quantizers_that_are_the_same():
    """At p = 2 the l_p composite of Theorem 3.1 is SimQ+ and at p = inf it is SimQ: the demo
    runs such a pair once under a joined name, instead of drawing two identical curves."""
    from convq.demo import make_quantizers, merge_identical
    names = ["unquantized", "simq", "simqplus", "ratq", "lp", "qsgd", "terngrad"]
    d = 31
    assert list(merge_identical(make_quantizers(names, 2.0, 1.0, d), d)) == [
        "unquantized", "simq", "simqplus = lp", "ratq", "qsgd", "terngrad"]
    assert "simq = lp" in merge_identical(make_quantizers(names, float("inf"), 1.0, d), d)
    assert "lp" in merge_identical(make_quantizers(names, 1.5, 1.0, d), d)  # a distinct composite


def test_comparison_figure_legends_styles_and_no_forced_backend(monkeypatch):
    """Both panels have a legend, every curve its own line style or marker (covered curves stay
    visible), the unquantized run is drawn on top, and no backend is forced (which would stop
    inline figures in Jupyter)."""
    plt = pytest.importorskip("matplotlib.pyplot")   # skips under the sanitizer build (tests/conftest.py)
    import matplotlib
    from convq import quantize as Q
    from convq.stochastic import bernoulli_product_problem, compare

    def no_use(*a, **k):
        raise AssertionError("Comparison.figure must not call matplotlib.use")

    monkeypatch.setattr(matplotlib, "use", no_use)
    prob = bernoulli_product_problem(16, 2.0, B=1.0, D=1.0, delta=0.2, rng=1)
    cmp = compare(prob, {"unquantized": None, "simq": Q.SimQ(4.0), "terngrad": Q.TernGrad()}, 200, repeats=1, rng=2)
    fig = cmp.figure()
    try:
        for ax in fig.axes:
            assert ax.get_legend() is not None
            labels = [t.get_text() for t in ax.get_legend().get_texts()]
            assert {"unquantized", "simq", "terngrad"} <= set(labels)
        lines = [ln for ln in fig.axes[1].get_lines()]
        assert len({(ln.get_linestyle(), ln.get_marker()) for ln in lines}) == len(lines)
        unq = next(ln for ln in lines if ln.get_label() == "unquantized")
        assert unq.get_zorder() > max(ln.get_zorder() for ln in lines if ln is not unq)
    finally:
        plt.close(fig)
