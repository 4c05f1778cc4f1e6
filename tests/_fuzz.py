"""Runs a fuzz worker (tests/fuzz_*_worker.py) in a subprocess, so that a crash fails the
calling test instead of killing pytest, and reads its report: one line
``name<TAB>payloads tried<TAB>fraction accepted`` per decoder, then ``FUZZ OK``."""
import pathlib
import subprocess
import sys


def run_worker(worker, per_decoder, n_decoders, timeout=900):
    """Run tests/<worker> with ``per_decoder`` payloads per decoder; assert that it exits 0,
    reports ``n_decoders`` decoders each tried at least ``per_decoder`` times, and return
    the rows [(name, tried, accepted fraction)]."""
    path = pathlib.Path(__file__).resolve().parent / worker
    proc = subprocess.run([sys.executable, str(path), str(per_decoder)], capture_output=True, text=True,
                          timeout=timeout)
    print(proc.stdout)
    assert proc.returncode == 0, f"fuzz worker failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    rows = [ln.split("\t") for ln in proc.stdout.splitlines() if "\t" in ln]
    assert len(rows) == n_decoders and proc.stdout.strip().endswith("FUZZ OK")
    for name, tried, _ in rows:
        assert int(tried) >= per_decoder, name
    return [(name, int(tried), float(rate)) for name, tried, rate in rows]
