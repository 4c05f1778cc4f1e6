"""The sdist carries everything needed to build and test convq (a regression test: it once
shipped no csrc headers, no LICENSE and no tests/conftest.py, and did not install)."""
import os
import subprocess
import sys
import tarfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytest.importorskip("build")


@pytest.mark.slow
def test_sdist_has_every_source_header_test_and_license(tmp_path):
    if not os.path.exists(os.path.join(ROOT, "pyproject.toml")):
        pytest.skip("not run from a checkout")
    r = subprocess.run([sys.executable, "-m", "build", "--sdist", "--outdir", str(tmp_path), ROOT],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    (sdist,) = tmp_path.glob("convq-*.tar.gz")
    with tarfile.open(sdist) as t:
        names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    wanted = {"LICENSE", "setup.py", "pyproject.toml", "README.md", "tests/conftest.py",
              "tests/golden/golden.json", "tests/golden/golden_values.npz", "convq/py.typed", "convq/_core.pyi"}
    for dirpath, _, files in os.walk(os.path.join(ROOT, "csrc")):
        for f in files:
            if f.endswith((".c", ".h")):
                wanted.add(os.path.relpath(os.path.join(dirpath, f), ROOT))
    for f in os.listdir(os.path.join(ROOT, "tests")):
        if f.endswith(".py"):
            wanted.add(f"tests/{f}")
    missing = sorted(wanted - names)
    assert not missing, f"sdist lacks {missing}"
