"""threads=None: the affinity mask and the cgroup quota, never more; per-family defaults."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from convq import _threads
from convq._validation import check_threads


@pytest.fixture
def fake_cgroup(tmp_path, monkeypatch):
    """A fake cgroup tree and /proc/self/cgroup; returns a writer of files in it."""
    monkeypatch.setattr(_threads, "CGROUP_ROOT", str(tmp_path / "cg"))
    proc = tmp_path / "proc_cgroup"
    proc.write_text("")
    monkeypatch.setattr(_threads, "PROC_CGROUP", str(proc))
    monkeypatch.setattr(_threads, "affinity_cpus", lambda: 8)

    def write(rel, text):
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return write


@pytest.mark.parametrize("files, expected", [
    ({}, 8),                                                                  # no quota: the mask
    ({"cg/cpu.max": "max 100000\n"}, 8),                                      # v2, unlimited
    ({"cg/cpu.max": "200000 100000\n"}, 2),                                   # v2 --cpus=2
    ({"cg/cpu.max": "150000 100000\n"}, 2),                                   # 1.5 CPUs -> 2
    ({"cg/cpu.max": "50000 100000\n"}, 1),                                    # half a CPU -> 1
    ({"cg/cpu.max": "2000000 100000\n"}, 8),                                  # quota above the mask
    ({"proc_cgroup": "0::/box\n", "cg/box/cpu.max": "300000 100000\n"}, 3),    # v2, own cgroup
    ({"proc_cgroup": "0::/box/job\n", "cg/box/job/cpu.max": "max 100000\n",
      "cg/box/cpu.max": "500000 100000\n"}, 5),                               # v2, a parent's quota
    ({"cg/cpu/cpu.cfs_quota_us": "400000\n", "cg/cpu/cpu.cfs_period_us": "100000\n"}, 4),  # v1
    ({"cg/cpu/cpu.cfs_quota_us": "-1\n", "cg/cpu/cpu.cfs_period_us": "100000\n"}, 8),      # v1, none
    ({"proc_cgroup": "4:cpu,cpuacct:/job\n", "cg/cpu,cpuacct/job/cpu.cfs_quota_us": "100000\n",
      "cg/cpu,cpuacct/job/cpu.cfs_period_us": "100000\n"}, 1),                  # v1, own cgroup
    ({"cg/cpu.max": "garbage\n"}, 8),                                         # unreadable: ignored
])
def test_available_cpus_honours_the_cgroup_quota(fake_cgroup, files, expected):
    for rel, text in files.items():
        fake_cgroup(rel, text)
    assert _threads.available_cpus() == expected


def test_available_cpus_honours_the_affinity_mask(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    monkeypatch.setattr(_threads, "cgroup_cpu_limit", lambda: None)
    assert _threads.available_cpus() == 3
    monkeypatch.setattr(_threads, "cgroup_cpu_limit", lambda: 2)
    assert _threads.available_cpus() == 2


@pytest.mark.parametrize("family, avail, expected", [
    ("chains", 6, 6), ("rows", 6, 6), ("objective", 6, 1), ("mlp", 6, 1), ("chains", 1, 1), ("objective", 1, 1),
])
def test_default_threads_per_family(monkeypatch, family, avail, expected):
    monkeypatch.setattr(_threads, "available_cpus", lambda: avail)
    assert check_threads(None, family) == expected
    assert check_threads(3, family) == 3     # an explicit count is honoured as given


@pytest.mark.parametrize("avail", [1, 2, 6])
def test_objective_default_follows_the_work_per_pass(monkeypatch, avail):
    from convq import objectives as O
    monkeypatch.setattr(_threads, "available_cpus", lambda: avail)
    lim = _threads.OBJECTIVE_PARALLEL_MIN
    assert check_threads(None, "objective", lim - 1) == 1
    assert check_threads(None, "objective", lim) == avail
    assert check_threads(2, "objective", 10) == 2          # an explicit count is honoured as given
    r = np.random.default_rng(0)
    small, big = r.standard_normal((50, 20)), np.zeros((lim // 64, 64))
    assert O.LeastSquares(small, np.zeros(50)).threads == 1
    assert O.Logistic(big, np.zeros(lim // 64)).threads == avail
    assert O.Quadratic(np.eye(8))._c_spec.threads == 1


def test_bad_threads_and_family():
    with pytest.raises(ValueError, match="threads must be >= 1"):
        check_threads(0)
    with pytest.raises(TypeError, match="threads"):
        check_threads(1.5)
    with pytest.raises(ValueError, match="family must be one of"):
        _threads.default_threads("gpu")


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 1
                    or subprocess.run(["which", "taskset"], capture_output=True).returncode != 0,
                    reason="needs Linux taskset")
def test_taskset_one_cpu_gives_one_thread():
    """Under `taskset -c <one cpu>` every default is 1, and the C fallback (threads <= 0) agrees."""
    cpu = str(min(os.sched_getaffinity(0)))
    code = ("from convq import _threads, _core\n"
            "print(_threads.available_cpus(), _threads.default_threads('chains'), _core.num_threads(0))")
    root = str(Path(__file__).resolve().parents[1])
    out = subprocess.run(["taskset", "-c", cpu, sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=root, env={**os.environ, "PYTHONPATH": root}, check=True).stdout.split()
    assert out == ["1", "1", "1"]


def test_lasso_takes_threads_and_its_result_does_not_depend_on_them():
    from convq.optimize import lasso
    rng = np.random.default_rng(0)
    A, b = rng.standard_normal((60, 40)), rng.standard_normal(60)
    for method in ("cd", "fista"):
        r1, r2 = lasso(A, b, 1.0, method, threads=1), lasso(A, b, 1.0, method, threads=2)
        assert np.array_equal(r1.x, r2.x)
    with pytest.raises(ValueError, match="threads"):
        lasso(A, b, 1.0, "fista", threads=0)
