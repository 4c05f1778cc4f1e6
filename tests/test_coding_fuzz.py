"""The coding module's decoders (fixed-weight range decoder, bit-field reader) survive random
and mutated payloads: >= 2*10^5 each under the sanitizer build (where memory errors are
fatal), 2*10^4 in the plain pass; run in a subprocess so that a crash fails this test
instead of killing pytest. Accepted payloads must be the encoder's own output."""
import pytest

from _fuzz import run_worker
from convq import _core

pytestmark = pytest.mark.c_heavy


def test_coding_decoders_survive_random_and_mutated_payloads():
    rows = run_worker("fuzz_coding_worker.py", 200_000 if _core.SANITIZED else 20_000, 2)
    for name, _, rate in rows:
        assert 0.0 < rate < 1.0, (name, rate)   # both outcomes were exercised
