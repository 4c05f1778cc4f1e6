"""One rank of ``python -m benchmarks wire`` (started by bench_wire.py inside its own network
namespace; not a benchmark module itself).

Runs every row (a DDP communication hook or none) on the same process group: a timed
workload (an MLP of ~5e6 parameters on synthetic data: step time, the hook's
encode/communication/decode split, bytes through this rank's interface) and a real task
(scikit-learn's digits, fixed seeds: loss and accuracy after a fixed number of steps).
Rank 0 writes the results as JSON.
"""
from __future__ import annotations

import json
import sys
import time


def _tx_bytes(ifname):
    with open(f"/sys/class/net/{ifname}/statistics/tx_bytes") as f:
        return int(f.read())


def _rows():
    """(name, factory) with factory(torch, n_params) -> (state, hook), or None for the default
    all-reduce."""
    def convq_hook(make_q, gain_shape=True, mode="auto"):
        def f(torch, n):
            import convq.torch as ct
            h = ct.quantized_hook(make_q(n), rng=0, gain_shape=gain_shape, mode=mode)
            return None, h
        return f

    def fp16(torch, n):
        from torch.distributed.algorithms.ddp_comm_hooks import default_hooks
        return None, default_hooks.fp16_compress_hook

    def powersgd(rank):
        def f(torch, n):
            from torch.distributed.algorithms.ddp_comm_hooks import powerSGD_hook as ps
            state = ps.PowerSGDState(process_group=None, matrix_approximation_rank=rank, start_powerSGD_iter=2,
                                     use_error_feedback=True, warm_start=True)
            return state, ps.powerSGD_hook
        return f

    from convq.feedback import ErrorFeedback
    from convq.quantize import QSGD, RATQ, ScaledSign, SimQPlus, TernGrad, TopK
    return [
        ("allreduce (DDP default)", None),
        ("torch fp16_compress_hook", fp16),
        ("torch PowerSGD rank 1 (EF)", powersgd(1)),
        ("torch PowerSGD rank 4 (EF)", powersgd(4)),
        ("convq SimQ+ (p=2)", convq_hook(lambda n: SimQPlus(1.0, p=2))),
        ("convq RATQ", convq_hook(lambda n: RATQ(1.0))),
        ("convq QSGD(4), bucket 512", convq_hook(lambda n: QSGD(4), gain_shape=False)),
        ("convq QSGD(4), all-reduce mode", convq_hook(lambda n: QSGD(4), mode="allreduce")),
        ("convq TernGrad", convq_hook(lambda n: TernGrad(), gain_shape=False)),
        ("convq TernGrad, all-reduce mode", convq_hook(lambda n: TernGrad(), mode="allreduce")),
        ("convq TopK(1%) + EF", convq_hook(lambda n: ErrorFeedback(TopK(max(1, n // 100))), gain_shape=False)),
        ("convq ScaledSign + EF", convq_hook(lambda n: ErrorFeedback(ScaledSign()), gain_shape=False)),
    ]



def _mlp(torch, sizes, seed):
    torch.manual_seed(seed)
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def main(cfg):
    import numpy as np
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    torch.set_num_threads(1)
    rank, world = cfg["rank"], cfg["world"]
    dist.init_process_group("gloo", init_method=f"tcp://{cfg['master']}:{cfg['port']}", rank=rank,
                            world_size=world, timeout=__import__("datetime").timedelta(seconds=120))
    sizes = cfg["sizes"]
    n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    g = torch.Generator().manual_seed(100 + rank)
    Xs = torch.randn(cfg["batch"], sizes[0], generator=g)
    ys = torch.randint(0, sizes[-1], (cfg["batch"],), generator=g)

    # the real task: digits, standardised, rank r trains on rows r::world of the training split
    from sklearn.datasets import load_digits
    Xd, yd = load_digits(return_X_y=True)
    perm = np.random.default_rng(0).permutation(len(yd))
    Xd, yd = (Xd[perm] / 16.0).astype(np.float32), yd[perm]
    ntr = int(0.8 * len(yd))
    Xtr, ytr = torch.from_numpy(Xd[:ntr][rank::world]), torch.from_numpy(yd[:ntr][rank::world])
    Xte, yte = torch.from_numpy(Xd[ntr:]), torch.from_numpy(yd[ntr:])
    loss_fn = torch.nn.CrossEntropyLoss()

    results = []
    for name, factory in _rows():
        dist.barrier()
        # 1. step time on the ~5e6-parameter MLP
        model = DDP(_mlp(torch, sizes, 0), bucket_cap_mb=cfg["bucket_mb"])
        hook = None
        if factory is not None:
            state, hook = factory(torch, n_params)
            model.register_comm_hook(state, hook)
        opt = torch.optim.SGD(model.parameters(), lr=0.01)

        def step():
            opt.zero_grad()
            loss = loss_fn(model(Xs), ys)
            loss.backward()
            opt.step()

        for _ in range(cfg["warmup"]):
            step()
        counters0 = {k: getattr(hook, k, 0.0) for k in ("time_encode", "time_comm", "time_decode")}
        dist.barrier()
        tx0, t0 = _tx_bytes(cfg["ifname"]), time.perf_counter()
        for _ in range(cfg["steps"]):
            step()
        dist.barrier()
        dt = (time.perf_counter() - t0) / cfg["steps"]
        tx = (_tx_bytes(cfg["ifname"]) - tx0) / cfg["steps"]
        split = {k: (getattr(hook, k, 0.0) - counters0[k]) / cfg["steps"] for k in counters0}
        # a step without communication: forward + backward + update on the same model
        local = _mlp(torch, sizes, 0)
        lopt = torch.optim.SGD(local.parameters(), lr=0.01)
        t1 = time.perf_counter()
        for _ in range(2):
            lopt.zero_grad()
            loss_fn(local(Xs), ys).backward()
            lopt.step()
        compute = (time.perf_counter() - t1) / 2
        del model, opt

        # 2. digits: loss and accuracy after a fixed number of full-batch steps
        dist.barrier()
        model = DDP(_mlp(torch, [64, 64, 10], 1))
        if factory is not None:
            state, hook2 = factory(torch, 64 * 64 + 64 + 64 * 10 + 10)
            model.register_comm_hook(state, hook2)
        opt = torch.optim.SGD(model.parameters(), lr=cfg["digits_lr"])
        for _ in range(cfg["digits_steps"]):
            opt.zero_grad()
            loss_fn(model(Xtr), ytr).backward()
            opt.step()
        with torch.no_grad():
            out = model.module(Xte)
            test_loss = float(loss_fn(out, yte))
            acc = float((out.argmax(1) == yte).float().mean())
        results.append({"name": name, "step_s": dt, "tx_bytes": tx, "compute_s": compute,
                        "encode_s": split["time_encode"], "comm_s": split["time_comm"],
                        "decode_s": split["time_decode"], "convq": factory is not None and name.startswith("convq"),
                        "digits_loss": test_loss, "digits_acc": acc})
    all_results = [None] * world
    dist.all_gather_object(all_results, results)
    if rank == 0:
        merged = []
        for k, row in enumerate(all_results[0]):
            rows = [r[k] for r in all_results]
            merged.append({**row, "step_s": max(r["step_s"] for r in rows),
                           "tx_bytes": sum(r["tx_bytes"] for r in rows) / world,
                           "encode_s": max(r["encode_s"] for r in rows), "comm_s": max(r["comm_s"] for r in rows),
                           "decode_s": max(r["decode_s"] for r in rows)})
        with open(cfg["out"], "w") as f:
            json.dump({"n_params": n_params, "rows": merged}, f)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
