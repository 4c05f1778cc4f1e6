import os
import signal
import sys

import numpy as np
import pytest

from convq import _core


class _NoMatplotlib:
    """Under the sanitizer build (LD_PRELOAD=libasan) matplotlib's own C++ extensions abort
    the interpreter at import, which is not convq's code and would end the whole run.
    There, importing matplotlib raises ModuleNotFoundError instead: tests that draw skip through
    pytest.importorskip, and convq's optional plotting takes its no-matplotlib path."""

    def find_spec(self, name, path=None, target=None):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ModuleNotFoundError("matplotlib is not imported under the sanitizer build (its C++ aborts under ASan)",
                                      name=name)
        return None


if _core.SANITIZED:
    sys.meta_path.insert(0, _NoMatplotlib())


@pytest.fixture
def rng():
    """A fixed-seed generator: statistical tests must never flake."""
    return np.random.default_rng(20261122)


@pytest.fixture(autouse=True, scope="session")
def _ctrl_c_raises_keyboard_interrupt():
    """The Ctrl-C tests simulate SIGINT with _thread.interrupt_main, which does nothing
    while SIGINT is ignored -- as it is for a job started in the background by a
    non-interactive shell, where CPython then never installs its handler. Install it."""
    if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.SIG_DFL, None):
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield


def pytest_report_header(config):
    return f"convq C core: sanitizer build = {bool(_core.SANITIZED)}, threads = {_core.num_threads(0)}"
