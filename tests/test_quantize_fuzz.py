"""Every quantizer decoder survives >= 5*10^4 random and mutated payloads under the
sanitizer build (15 decoders: 7.5*10^5 payloads; with tests/test_coding_fuzz.py over 10^6
in all, where memory errors are fatal) and >= 2*10^4 in the plain pass, run in a
subprocess so that a crash fails this test instead of killing pytest. The worker also
checks that every valid message is accepted, that wrong lengths are always rejected, and
that no accepted payload decodes to a non-finite value."""
import pathlib
import subprocess
import sys

import pytest

from convq import _core

pytestmark = pytest.mark.c_heavy

WORKER = pathlib.Path(__file__).resolve().parent / "fuzz_quantize_worker.py"


def test_decoders_survive_random_and_mutated_payloads():
    per_decoder = 50_000 if _core.SANITIZED else 20_000
    proc = subprocess.run([sys.executable, str(WORKER), str(per_decoder)], capture_output=True, text=True,
                          timeout=600)
    print(proc.stdout)
    assert proc.returncode == 0, f"fuzz worker failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    lines = [ln.split("\t") for ln in proc.stdout.splitlines() if "\t" in ln]
    assert len(lines) == 15 and proc.stdout.strip().endswith("FUZZ OK")
    for name, tried, _ in lines:
        assert int(tried) >= per_decoder, name
