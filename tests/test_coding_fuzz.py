"""The coding module's decoders (fixed-weight range decoder, bit-field reader) survive random
and mutated payloads: >= 2*10^5 each under the sanitizer build (where memory errors are
fatal), 2*10^4 in the plain pass; run in a subprocess so that a crash fails this test
instead of killing pytest. Accepted payloads must be the encoder's own output."""
import pathlib
import subprocess
import sys

import pytest

from convq import _core

pytestmark = pytest.mark.c_heavy

WORKER = pathlib.Path(__file__).resolve().parent / "fuzz_coding_worker.py"


def test_coding_decoders_survive_random_and_mutated_payloads():
    per_decoder = 200_000 if _core.SANITIZED else 20_000
    proc = subprocess.run([sys.executable, str(WORKER), str(per_decoder)], capture_output=True, text=True,
                          timeout=900)
    print(proc.stdout)
    assert proc.returncode == 0, f"fuzz worker failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    lines = [ln.split("\t") for ln in proc.stdout.splitlines() if "\t" in ln]
    assert len(lines) == 2 and proc.stdout.strip().endswith("FUZZ OK")
    for name, tried, rate in lines:
        assert int(tried) >= per_decoder, name
        assert 0.0 < float(rate) < 1.0, (name, rate)   # both outcomes were exercised
