"""convq.torch.quantized_hook: a DDP communication hook sending convq messages.

Real 2-process runs (torch.multiprocessing spawn, gloo backend on 127.0.0.1 with a free
port, tests/_distributed_torch_worker.py); skipped, with the reason, only when PyTorch is
not installed (pip install "torch==2.13.0" && pip install -e ".[torch]").
"""
import json
import socket

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason='PyTorch is not installed (pip install "torch==2.13.0" && '
                                            'pip install -e ".[torch]"): DDP hook tests skipped')
if not torch.distributed.is_available():  # pragma: no cover
    pytest.skip("this PyTorch build has no torch.distributed", allow_module_level=True)


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    import torch.multiprocessing as mp

    import _distributed_torch_worker as w
    outdir = tmp_path_factory.mktemp("ddp")
    world = 2
    mp.start_processes(w.run, args=(world, _free_port(), str(outdir)), nprocs=world, join=True,
                       start_method="spawn")
    return [json.loads((outdir / f"torch{r}.json").read_text()) for r in range(world)]


def test_identity_hook_equals_ddp_allreduce(ddp_run):
    for r in ddp_run:
        # float64 model: raw float64 messages averaged == DDP's all-reduce average
        assert r["id_diff"] <= 1e-12
        np.testing.assert_allclose(r["id_losses"], r["ref_losses"], rtol=1e-12)
        n = r["n_params"]  # one bucket of n float64 per step: status byte + 8 n bytes
        assert r["id_bytes_sent"] == r["id_calls"] * (1 + 8 * n)
        assert r["id_bytes_received"] == r["id_bytes_sent"]  # 2 ranks


def test_quantized_hooks_train_and_stay_in_sync(ddp_run):
    from convq.quantize import QSGD, SimQPlus
    for r in ddp_run:
        n = r["n_params"]
        for name, q in (("simqplus", SimQPlus(B=1.0, p=2)), ("qsgd", QSGD(levels=4))):
            losses = r[f"{name}_losses"]
            # least squares with noise 0.1: the loss falls from ~1 to near 0.01 (noise floor)
            assert losses[-1] < 0.1 * losses[0], (name, losses[0], losses[-1])
            assert r[f"{name}_sync"] == 0.0                       # every rank decodes the same average
            assert r[f"{name}_bytes_per_call"] == 1 + 4 + (q.bits(n) + 7) // 8
            assert "QuantizedHook(" in r[f"{name}_repr"]


def _in_sync_and_training(r, sync, final):
    """Every run of r[sync] left identical replicas and lowered the loss (r[final])."""
    assert len(r[sync]) == 15
    for name, diff in r[sync].items():
        assert diff == 0.0, name
        first, last = r[final][name]
        assert np.isfinite(last) and last < first, (name, first, last)


def test_every_quantizer_and_feedback_keeps_replicas_identical(ddp_run):
    for r in ddp_run:
        _in_sync_and_training(r, "every_sync", "every_final")


def test_float32_models_stay_in_sync_without_a_float64_round_trip(ddp_run):
    for r in ddp_run:
        _in_sync_and_training(r, "f32_sync", "f32_final")
        for name, dt in r["f32_dtype"].items():
            assert dt == "torch.float32", name
        # the same messages (float32 encodes like its float64 copy); the float32 average is
        # accumulated in double per rank and rounded once per rank: 2 ranks, 2 roundings
        for name, rel in r["f32_err"].items():
            assert rel <= 4 * 2.0 ** -24, (name, rel)
        # error feedback on float32 buckets keeps float32 state (it was float64 before)
        assert r["f32_ef_state"] == {"ef_topk": ["float32"], "ef21_scaledsign": ["float32"]}


def test_allreduce_mode_is_unbiased_and_keeps_dtype(ddp_run):
    for r in ddp_run:
        z = np.array(r["allreduce_z"])
        # 7 coordinates, 3000 draws each: sum z^2 ~ chi2(7); 40 is a false-alarm rate < 1e-5
        assert z.size == 7 and np.sum(z * z) < 40
        assert r["allreduce_calls"] == 3000
        assert r["allreduce_float32"] == "torch.float32"   # no float64 round trip
        assert r["allreduce_nan"].startswith("DistributedError rank=1:") and "NaN or Inf" in r["allreduce_nan"]
        assert r["allreduce_after_nan"]


def test_fused_own_decode_leaves_the_hook_average_unchanged(ddp_run):
    for r in ddp_run:
        assert len(r["fused_equal"]) == 32
        for name, same in r["fused_equal"].items():
            assert same, name


def test_allreduce_mode_selection():
    import convq.torch as ct
    from convq.feedback import ErrorFeedback
    from convq.quantize import QSGD, SimQ, TernGrad
    h = ct.quantized_hook(QSGD(4))
    assert h._uses_allreduce(4) and not h._uses_allreduce(2)        # "auto": N > 2
    assert ct.quantized_hook(TernGrad(), mode="allreduce")._uses_allreduce(2)
    assert not ct.quantized_hook(QSGD(4), mode="allgather")._uses_allreduce(8)
    assert not ct.quantized_hook(SimQ(1.0))._uses_allreduce(8)
    assert not ct.quantized_hook(ErrorFeedback(QSGD(4)))._uses_allreduce(8)
    with pytest.raises(ValueError, match="grid quantizer"):
        ct.quantized_hook(SimQ(1.0), mode="allreduce")
    with pytest.raises(ValueError, match="mode must be"):
        ct.quantized_hook(QSGD(4), mode="ring")


def test_error_feedback_state_survives_bucket_rebuilds(ddp_run):
    for r in ddp_run:
        sizes = r["ef_param_sizes"]
        # several buckets per step (bucket_cap_mb tiny), DDP rebuilds them after step 1
        assert r["ef_calls"] == 1 + 3 * 59
        # from the first step on, exactly one state vector per parameter, never a new key
        for keys in r["ef_keys"]:
            assert keys == list(range(len(sizes)))
        assert sorted(r["ef_shapes"].values()) == sorted(sizes)
        assert r["ef_sync"] == 0.0
        first, last = r["ef_losses"]
        assert last < 0.2 * first


def test_inadmissible_bucket_raises_on_every_rank(ddp_run):
    for r in ddp_run:
        assert r["raised"]
        assert "rank 1 of 2 failed in the convq DDP hook" in r["error"]
        assert "inadmissible for the quantizer" in r["error"]
        assert r["after"] == 2.0
    assert "SimQ needs ||y||_1 <= B" in ddp_run[1]["error"]


def test_hook_validation():
    import convq.torch as ct
    with pytest.raises(TypeError, match="convq.quantize quantizer"):
        ct.quantized_hook("qsgd")
    ct.quantized_hook(None, rng=np.random.default_rng(0))  # a Generator, as everywhere else
    with pytest.raises(TypeError, match="rng must be"):
        ct.quantized_hook(None, rng="0")
    with pytest.raises(ValueError, match="non-negative"):
        ct.quantized_hook(None, rng=-1)
    assert repr(ct.quantized_hook(None)).startswith("QuantizedHook(Identity(")


@pytest.mark.skipif(not torch.cuda.is_available() or not torch.distributed.is_nccl_available(),
                    reason="needs a CUDA GPU and NCCL (the CUDA path of the hook); CPU/gloo is tested above")
@pytest.mark.parametrize("mode", ["allgather", "allreduce"])
def test_cuda_bucket_with_nccl(mode, tmp_path):
    """One NCCL process: a CUDA float32 model trains through the hook, the gradients come back
    on the GPU in float32, and the loss falls."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    import _distributed_torch_worker as w
    import convq.torch as ct
    from convq.quantize import QSGD
    dist.init_process_group("nccl", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        torch.manual_seed(0)
        model = DDP(torch.nn.Linear(6, 1).cuda(), device_ids=[0])
        hook = ct.quantized_hook(QSGD(4), rng=0, mode=mode)
        model.register_comm_hook(None, hook)
        X = torch.randn(64, 6, device="cuda")
        y = X @ torch.linspace(-1, 1, 6, device="cuda")
        devices = []
        losses = w._train(torch, model, X, y, 100, 0.05,
                          each=lambda: devices.extend((p.grad.device.type, p.grad.dtype) for p in model.parameters()))
        assert set(devices) == {("cuda", torch.float32)}
        assert losses[-1] < 0.1 * losses[0] and hook.calls == 100
    finally:
        dist.destroy_process_group()
