"""Every quantizer decoder survives >= 5*10^4 random and mutated payloads under the
sanitizer build (16 C decoders and 3 Python composites, two GainShape and one
CoordinateSampling: 9.5*10^5 payloads; with tests/test_coding_fuzz.py over 10^6 in all, where memory errors are fatal) and >= 2*10^4 in the plain pass, run in a
subprocess so that a crash fails this test instead of killing pytest. The worker also
checks that every valid message is accepted, that wrong lengths are always rejected, and
that no accepted payload decodes to a non-finite value."""
import pytest

from _fuzz import run_worker
from convq import _core

pytestmark = pytest.mark.c_heavy


def test_decoders_survive_random_and_mutated_payloads():
    run_worker("fuzz_quantize_worker.py", 50_000 if _core.SANITIZED else 20_000, 22)
