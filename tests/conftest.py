import os
import signal

import numpy as np
import pytest


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
    from convq import _core
    return f"convq C core: sanitizer build = {bool(_core.SANITIZED)}, threads = {_core.num_threads(0)}"
