"""Compression on a real link: DDP training with every byte crossing a rate-limited network.

``run(ctx)`` builds its own network (root only): one network namespace per rank and one
for a switch, a veth pair from each rank to a bridge in the switch namespace, and on every
veth end ``tc qdisc ... tbf rate R`` (token bucket: the link rate) with a ``netem`` delay
of 50 us on the rank side, so the ranks talk only over links of R = 1 and 10 Gbit/s. The
ranks (2, PyTorch gloo) run ``benchmarks/_wire_worker.py`` inside their namespaces and
address only each other's namespace addresses (10.77.x.y); every loop is bounded (fixed
steps, subprocess timeouts, a 120 s collective timeout), and the namespaces are removed on
exit, also on error or Ctrl-C.

Rows: DDP's default all-reduce, PyTorch's fp16_compress_hook and PowerSGD (rank 1 and 4,
its error feedback on), and convq's hook with SimQ+, RATQ, QSGD(4), TernGrad (both also in
the shared-scale all-reduce mode), TopK + error feedback and ScaledSign + error feedback. Columns: step time and its split (encode,
all-gather, decode: the convq hook's own counters), the bytes this rank's interface sent
per step (kernel counter, TCP/IP headers included), the speed-up against the all-reduce and
fp16 rows, and the test loss / accuracy on scikit-learn's digits after a fixed number of
full-batch steps on the same link (fixed seeds).

The same for ``convq.distributed.train`` over MPI: ``mpiexec`` (MPICH) starts one rank in
each namespace (its "ssh" is a stand-in that enters the namespace owning the host's address;
shared memory between the ranks is switched off, so MPI talks TCP over eth0), on a sparse
logistic regression with d = 2^20; rows: a plain mpi4py loop that all-reduces the float64
gradient, and distributed.train with every quantizer (step time split into gradient /
encode / communication / decode, bytes per step, the objective after a fixed number of steps).
"""
from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

from ._harness import Row

RATES = ("1gbit", "10gbit")
WORLD = 2


def _sh(*cmd, check=True):
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=30)


class Network:
    """The namespaces, veths, bridge and qdiscs of one run; ``close()`` removes them all."""

    def __init__(self, world, rate, tag):
        self.world, self.rate = world, rate
        self.sw = f"cqw{tag}sw"
        self.ranks = [f"cqw{tag}r{r}" for r in range(world)]
        self.subnet = 77
        self.addrs = [f"10.{self.subnet}.0.{r + 1}" for r in range(world)]
        self._made = []
        self.delay = "50us"  # None when the kernel has no netem
        try:
            self._build()
        except Exception:
            self.close()
            raise

    def _ns(self, name):
        _sh("ip", "netns", "add", name)
        self._made.append(name)
        _sh("ip", "-n", name, "link", "set", "lo", "up")

    def _shape(self, ns, dev, delay):
        burst = "256kb" if self.rate == "1gbit" else "2mb"
        _sh("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root", "handle", "1:", "tbf",
            "rate", self.rate, "burst", burst, "latency", "20ms")
        if delay and self.delay is not None:
            r = _sh("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "parent", "1:1", "handle", "10:",
                    "netem", "delay", self.delay, check=False)
            if r.returncode:  # e.g. a kernel built without sch_netem: rate limit only, said in the table
                self.delay = None

    def _build(self):
        self._ns(self.sw)
        _sh("ip", "-n", self.sw, "link", "add", "br0", "type", "bridge")
        _sh("ip", "-n", self.sw, "link", "set", "br0", "up")
        for r, ns in enumerate(self.ranks):
            self._ns(ns)
            _sh("ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", f"p{r}", "netns", self.sw)
            _sh("ip", "-n", ns, "addr", "add", f"{self.addrs[r]}/24", "dev", "eth0")
            _sh("ip", "-n", ns, "link", "set", "eth0", "up")
            _sh("ip", "-n", self.sw, "link", "set", f"p{r}", "master", "br0")
            _sh("ip", "-n", self.sw, "link", "set", f"p{r}", "up")
            self._shape(ns, "eth0", True)        # rank -> switch
            self._shape(self.sw, f"p{r}", False)  # switch -> rank

    def close(self):
        while self._made:
            _sh("ip", "netns", "del", self._made.pop(), check=False)


def _why_not():
    if not sys.platform.startswith("linux"):
        return "needs Linux network namespaces"
    if os.geteuid() != 0:
        return "not run as root: creating network namespaces, veth pairs and tc qdiscs needs root"
    if not (shutil.which("ip") and shutil.which("tc")):
        return "needs iproute2's ip and tc"
    try:
        import sklearn  # noqa: F401
        import torch  # noqa: F401
    except ImportError as e:
        return f"needs torch and scikit-learn ({e})"
    return None


def _in_network(rate, commands, timeout, env=None):
    """Build the network for ``rate``, run ``commands(net, out)`` (argv lists, each started
    in the background) to completion, return the JSON rank 0 wrote to ``out``; the processes
    are killed and the namespaces removed on every exit path."""
    tag = f"{os.getpid() % 100000}"
    net = Network(WORLD, rate, tag)
    procs = []
    tmp = tempfile.mkdtemp(prefix="convq-wire-")

    def cleanup(*_):
        for p in procs:
            if p.poll() is None:
                p.kill()
        net.close()

    atexit.register(cleanup)
    old = signal.signal(signal.SIGTERM, lambda *a: (cleanup(), sys.exit(1)))
    out = os.path.join(tmp, "result.json")
    try:
        env = dict(os.environ, OMP_NUM_THREADS="1", **(env or {}),
                   PYTHONPATH=os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")]))
        for cmd in commands(net, out, tmp):
            procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
        logs = []
        for p in procs:
            try:
                logs.append(p.communicate(timeout=timeout)[0])
            except subprocess.TimeoutExpired:
                cleanup()
                raise RuntimeError(f"the wire benchmark at {rate} ran past {timeout} s")
        if any(p.returncode for p in procs):
            raise RuntimeError(f"a rank failed at {rate}:\n" + "\n".join(x[-3000:] for x in logs))
        with open(out) as f:
            res = json.load(f)
        res["delay"] = net.delay
        return res
    finally:
        cleanup()
        atexit.unregister(cleanup)
        signal.signal(signal.SIGTERM, old)
        shutil.rmtree(tmp, ignore_errors=True)


def _one(rate, cfg, timeout):
    """The DDP rows: one ``_wire_worker`` process per rank, each in its namespace (gloo)."""
    def commands(net, out, tmp):
        for r, ns in enumerate(net.ranks):
            c = dict(cfg, rank=r, world=WORLD, master=net.addrs[0], port=29411, ifname="eth0", out=out)
            yield ["ip", "netns", "exec", ns, sys.executable, "-m", "benchmarks._wire_worker", json.dumps(c)]
    return _in_network(rate, commands, timeout, env={"GLOO_SOCKET_IFNAME": "eth0"})


# MPICH's process manager (hydra) starts one proxy per host through "ssh"; this stand-in
# starts it inside the namespace that owns the host's address instead, so each rank runs in
# its own namespace and every MPI byte crosses the rate-limited veths.
_LAUNCHER = """#!/bin/sh
# hydra's "ssh": [options] host command...  ->  the command inside the host's namespace
while [ "${1#-}" != "$1" ]; do shift; done
case "$1" in
%s
  *) echo "convq wire benchmark: unknown host $1" >&2; exit 1;;
esac
shift
exec ip netns exec "$ns" sh -c "$*"
"""

# MPICH over TCP sockets on eth0 only: NOLOCAL stops it from using shared memory between
# the ranks (they share one kernel and hostname), the ofi netmod's tcp provider on eth0.
_MPI_ENV = {"MPIR_CVAR_NOLOCAL": "1", "MPIR_CVAR_CH4_NETMOD": "ofi", "FI_PROVIDER": "tcp",
            "FI_TCP_IFACE": "eth0"}


def _mpiexec():
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return here if os.path.exists(here) else shutil.which("mpiexec")


def _mpi_one(rate, cfg, timeout):
    """The ``distributed.train`` rows: ``mpiexec`` in rank 0's namespace, one rank per namespace."""
    def commands(net, out, tmp):
        launcher = os.path.join(tmp, "netns-ssh")
        cases = "\n".join(f"  {a}) ns={ns};;" for a, ns in zip(net.addrs, net.ranks))
        with open(launcher, "w") as f:
            f.write(_LAUNCHER % cases)
        os.chmod(launcher, 0o700)
        c = dict(cfg, ifname="eth0", out=out)
        yield ["ip", "netns", "exec", net.ranks[0], _mpiexec(), "-launcher", "ssh", "-launcher-exec", launcher,
               "-iface", "eth0", "-hosts", ",".join(net.addrs), "-n", str(WORLD),
               sys.executable, "-m", "benchmarks._wire_mpi_worker", json.dumps(c)]
    return _in_network(rate, commands, timeout, env=_MPI_ENV)


def _table(rate, res):
    rows = res["rows"]
    ref = next(r for r in rows if r["name"].startswith("allreduce"))
    fp16 = next(r for r in rows if "fp16" in r["name"])
    delay = (f"netem delay {res['delay']}" if res["delay"] else
             "no added delay (this kernel has no sch_netem)")
    lines = [f"\n### {rate} (tbf), {delay}: {WORLD} ranks, MLP of {res['n_params']:,} float32 parameters",
             "| row | step ms | encode ms | all-gather ms | decode ms | compute ms | kB sent/step | "
             "vs allreduce | vs fp16 | digits loss | digits acc |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        split = (f"{1e3 * r['encode_s']:.1f} | {1e3 * r['comm_s']:.1f} | {1e3 * r['decode_s']:.1f}"
                 if r["convq"] else "- | - | -")
        lines.append(f"| {r['name']} | {1e3 * r['step_s']:.1f} | {split} | {1e3 * r['compute_s']:.1f} | "
                     f"{r['tx_bytes'] / 1e3:,.0f} | {ref['step_s'] / r['step_s']:.2f}x | "
                     f"{fp16['step_s'] / r['step_s']:.2f}x | {r['digits_loss']:.3f} | {r['digits_acc']:.3f} |")
    return "\n".join(lines)


def _mpi_table(rate, res):
    rows = res["rows"]
    ref = rows[0]
    delay = (f"netem delay {res['delay']}" if res["delay"] else
             "no added delay (this kernel has no sch_netem)")
    lines = [f"\n### distributed.train over MPI, {rate} (tbf), {delay}: {res['size']} ranks, sparse logistic "
             f"regression, d = {res['d']:,}, {res['m']:,} rows per rank, {res['T']} full-batch steps",
             "| row | step ms | gradient ms | encode ms | communication ms | decode ms | kB sent/step | "
             f"vs Allreduce | objective after {res['T']} steps (start {res['loss0']:.4f}) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['name']} | {1e3 * r['step_s']:.1f} | {1e3 * r['grad_s']:.1f} | {1e3 * r['encode_s']:.1f} | "
                     f"{1e3 * r['comm_s']:.1f} | {1e3 * r['decode_s']:.1f} | {r['tx_bytes'] / 1e3:,.0f} | "
                     f"{ref['step_s'] / r['step_s']:.2f}x | {r['loss']:.4f} |")
    return "\n".join(lines)


def _why_not_mpi():
    try:
        import mpi4py  # noqa: F401
        import scipy  # noqa: F401
    except ImportError as e:
        return f"needs mpi4py and scipy ({e})"
    return None if _mpiexec() else "needs MPICH's mpiexec"


def run(ctx):
    why = _why_not()
    if why:
        print(f"wire benchmark skipped: {why}")
        return []
    if ctx.quick:
        cfg = dict(sizes=[256, 512, 256, 10], batch=32, warmup=3, steps=4, bucket_mb=25, digits_steps=30,
                   digits_lr=0.5)
    else:
        cfg = dict(sizes=[1000, 2048, 1400, 10], batch=64, warmup=3, steps=16, bucket_mb=25, digits_steps=300,
                   digits_lr=0.5)
    mcfg = (dict(d=1 << 16, m=500, nnz_row=50, T=5, step_scale=1.0, lam=0.0, seed=0) if ctx.quick else
            dict(d=1 << 20, m=4000, nnz_row=200, T=30, step_scale=1.0, lam=0.0, seed=0))
    why_mpi = _why_not_mpi()
    out = []
    for rate in RATES:
        if why_mpi:
            print(f"distributed.train over MPI skipped: {why_mpi}")
        else:
            res = _mpi_one(rate, mcfg, timeout=900)
            print(_mpi_table(rate, res))
            ref = res["rows"][0]
            for r in res["rows"]:
                out.append(Row("wire", f"MPI {rate} {r['name']}", r["step_s"], "mpi4py Allreduce float64",
                               ref["step_s"], note=f"{r['tx_bytes'] / 1e3:,.0f} kB/step, objective {r['loss']:.4f}"))
        res = _one(rate, cfg, timeout=900)
        print(_table(rate, res))
        fp16 = next(r for r in res["rows"] if "fp16" in r["name"])
        for r in res["rows"]:
            out.append(Row("wire", f"{rate} {r['name']}", r["step_s"], "fp16_compress_hook", fp16["step_s"],
                           note=f"{r['tx_bytes'] / 1e3:,.0f} kB/step, digits acc {r['digits_acc']:.3f}"))
    return out
