import os

import numpy as np
import pytest


@pytest.fixture
def rng():
    """A fixed-seed generator: statistical tests must never flake."""
    return np.random.default_rng(20261122)


def pytest_report_header(config):
    from convq import _core
    return f"convq C core: sanitizer build = {bool(_core.SANITIZED)}, threads = {_core.num_threads(0)}"
