"""The wire benchmark's own network (benchmarks/bench_wire.py): built only from namespaces it
creates, and removed again, also when building fails half-way. Needs root and iproute2."""
import os
import shutil
import subprocess

import pytest

if os.geteuid() != 0 or not (shutil.which("ip") and shutil.which("tc")):
    pytest.skip("needs root and iproute2 (ip, tc) to create network namespaces", allow_module_level=True)

from benchmarks.bench_wire import Network, _why_not  # noqa: E402


def _namespaces():
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout


def test_network_is_rate_limited_and_removed():
    net = Network(2, "1gbit", f"t{os.getpid() % 10000}")
    try:
        assert all(ns in _namespaces() for ns in net.ranks + [net.sw])
        q = subprocess.run(["ip", "netns", "exec", net.ranks[0], "tc", "qdisc", "show", "dev", "eth0"],
                           capture_output=True, text=True, check=True).stdout
        assert "tbf" in q and "rate 1Gbit" in q
        # rank 0 reaches rank 1 over the veths and the bridge, nothing else is configured
        ping = subprocess.run(["ip", "netns", "exec", net.ranks[0], "ping", "-c", "1", "-W", "2", net.addrs[1]],
                              capture_output=True, text=True)
        if shutil.which("ping"):
            assert ping.returncode == 0, ping.stdout + ping.stderr
        routes = subprocess.run(["ip", "-n", net.ranks[0], "route"], capture_output=True, text=True).stdout
        assert "default" not in routes
    finally:
        net.close()
    assert not any(ns in _namespaces() for ns in net.ranks + [net.sw])


def test_failed_build_leaves_nothing_behind():
    with pytest.raises(subprocess.CalledProcessError):
        Network(2, "not-a-rate", f"f{os.getpid() % 10000}")
    assert f"cqwf{os.getpid() % 10000}" not in _namespaces()


def test_reason_when_not_runnable():
    assert _why_not() is None or "needs" in _why_not()
