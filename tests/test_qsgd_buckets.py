"""QSGD with bucketing (Alistarh et al., "QSGD: Communication-Efficient SGD via Gradient
Quantization and Encoding", NeurIPS 2017, section 3.1 and Lemma 3.1)."""
import numpy as np
import pytest

from convq import DecodeError
from convq.quantize import QSGD


@pytest.mark.parametrize("d, b, s", [(1, 512, 4), (512, 512, 4), (513, 512, 4), (1000, 7, 1), (23, 5, 3),
                                     (10, 1, 2), (100, None, 8)])
def test_message_length(d, b, s):
    q = QSGD(s, bucket=b)
    nb = 1 if b is None else -(-d // b)
    lbits = int(np.ceil(np.log2(s + 1)))
    assert q.bits(d) == 32 * nb + d * (lbits + 1)
    assert q.params(d)["bucket"] == (d if b is None else min(b, d))
    m = q.encode(np.linspace(-1, 1, d), rng=0)
    assert m.nbits == q.bits(d)


def test_one_bucket_is_unbucketed_qsgd_bit_for_bit():
    """d <= bucket, and bucket=None, send the unbucketed message (the format before buckets)."""
    y = np.random.default_rng(1).standard_normal(300)
    a = QSGD(4).encode(y, rng=3)                      # default bucket 512 > d
    b = QSGD(4, bucket=None).encode(y, rng=3)
    c = QSGD(4, bucket=300).encode(y, rng=3)
    assert a.payload == b.payload == c.payload


def test_each_bucket_is_scaled_by_its_own_norm():
    y = np.concatenate([np.full(4, 1e-3), np.full(4, 10.0)])
    q = QSGD(1, bucket=4)
    out = q(y, rng=0)
    def f32_up(x):
        f = np.float32(x)
        return float(f if f >= x else np.nextafter(f, np.float32(np.inf)))

    # levels are 0 or 1 times the bucket's norm as a float32 rounded up: 2e-3 and 20
    assert set(np.abs(out[:4])) <= {0.0, f32_up(np.linalg.norm(y[:4]))}
    assert set(np.abs(out[4:])) <= {0.0, 20.0}
    assert np.any(out[4:] != 0)


def test_unbiased_and_variance_within_lemma_3_1():
    """n = 4000 draws at d = 2000, b = 100, s = 2: the mean is y within 5 SE per coordinate
    in aggregate (a chi-square-like statistic) and E||Q(y) - y||^2 / ||y||^2 is below the
    bucketed bound min(b/s^2, sqrt(b)/s) = 5 and far below the unbucketed sqrt(d)/s = 22.4."""
    rng = np.random.default_rng(7)
    y = rng.standard_normal(2000) * rng.exponential(1.0, 2000)
    q = QSGD(2, bucket=100)
    S = q.sample(y, 4000, rng=11, threads=1)
    mean = S.mean(axis=0)
    se = S.std(axis=0, ddof=1) / np.sqrt(S.shape[0])
    z = (mean - y)[se > 0] / se[se > 0]
    # sum z^2 ~ chi2(k): mean k, sd sqrt(2k); 6 sd is a false-alarm rate below 1e-8
    k = z.size
    assert abs(np.sum(z * z) - k) < 6 * np.sqrt(2 * k)
    err = np.sum((S - y) ** 2, axis=1) / np.sum(y * y)
    se_err = err.std(ddof=1) / np.sqrt(err.size)
    assert err.mean() + 6 * se_err < min(100 / 4, np.sqrt(100) / 2)
    one = QSGD(2, bucket=None).sample(y, 400, rng=12, threads=1)
    err1 = np.sum((one - y) ** 2, axis=1) / np.sum(y * y)
    assert err.mean() < 0.5 * err1.mean()                 # bucketing is what cuts the variance


def test_bad_norm_field_in_a_later_bucket_is_a_decode_error():
    q = QSGD(1, bucket=2)
    m = q.encode(np.array([0.5, -0.5, 0.25, 0.0]), rng=0)
    bits = np.unpackbits(np.frombuffer(m.payload, np.uint8), bitorder="little")
    # the second bucket's norm field starts after 32 + 2 * 2 bits: make it negative
    bits[32 + 4 + 31] = 1
    bad = np.packbits(bits, bitorder="little").tobytes()
    with pytest.raises(DecodeError, match="bucket 1"):
        q.decode(bad, 4)
    with pytest.raises(DecodeError, match="bucket 1"):
        q.decode(bad, 4, engine="python")
