"""Each NTM addressing equation against the loop-by-loop NumPy reference."""

import numpy as np
import pytest
from keras import ops

import numpy_ntm as ref
from backend_utils import gradients, numpy, tensor
from keras_memory.addressing import ntm

B, H, N, W = 3, 2, 11, 5
SEEDS = [0, 1, 2, 3]


def _distribution(rng, *shape):
    return ref.softmax(rng.normal(size=shape) * 2.0)


def _np(x):
    return ops.convert_to_numpy(x)


@pytest.mark.parametrize("seed", SEEDS)
def test_cosine_similarity_matches_reference(seed):
    rng = np.random.default_rng(seed)
    keys, memory = rng.normal(size=(B, H, W)), rng.normal(size=(B, N, W))
    got = _np(ntm.cosine_similarity(keys.astype("float32"), memory.astype("float32")))
    want = np.array(
        [[[ref.cosine(keys[b, h], memory[b, i]) for i in range(N)] for h in range(H)]
         for b in range(B)]
    )
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("seed", SEEDS)
def test_content_weighting_matches_reference(seed):
    rng = np.random.default_rng(seed)
    keys, memory = rng.normal(size=(B, H, W)), rng.normal(size=(B, N, W))
    beta = ref.softplus(rng.normal(size=(B, H)) * 5)
    got = _np(ntm.content_weighting(*(tensor(a.astype("float32")) for a in (keys, beta, memory))))
    want = np.array(
        [[ref.content_weighting(keys[b, h], beta[b, h], memory[b]) for h in range(H)]
         for b in range(B)]
    )
    np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-5)
    assert (got >= 0).all()


def test_content_weighting_is_uniform_and_finite_on_a_zero_memory():
    keys = np.ones((1, 1, W), "float32")
    got = _np(ntm.content_weighting(tensor(keys), tensor(np.full((1, 1), 50.0, "float32")),
                                    tensor(np.zeros((1, N, W), "float32"))))
    np.testing.assert_allclose(got, 1.0 / N, atol=1e-7)


def test_content_weighting_finds_the_matching_row():
    rng = np.random.default_rng(7)
    memory = rng.normal(size=(1, N, W)).astype("float32")
    keys = memory[:, 4:5] * 3.0  # same direction as row 4
    got = _np(ntm.content_weighting(tensor(keys), tensor(np.full((1, 1), 100.0, "float32")),
                                    tensor(memory)))
    assert got[0, 0].argmax() == 4 and got[0, 0, 4] > 0.99


@pytest.mark.parametrize("seed", SEEDS)
def test_interpolate_matches_reference(seed):
    rng = np.random.default_rng(seed)
    wc, wp = _distribution(rng, B, H, N), _distribution(rng, B, H, N)
    g = rng.random((B, H))
    got = _np(ntm.interpolate(*(a.astype("float32") for a in (wc, wp, g))))
    want = np.array([[ref.interpolate(wc[b, h], wp[b, h], g[b, h]) for h in range(H)]
                     for b in range(B)])
    np.testing.assert_allclose(got, want, atol=1e-6)
    np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-5)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shift_range", [0, 1, 2, 5])
def test_circular_shift_matches_reference(seed, shift_range):
    rng = np.random.default_rng(seed)
    w = _distribution(rng, B, H, N)
    s = _distribution(rng, B, H, 2 * shift_range + 1)
    got = _np(ntm.circular_shift(w.astype("float32"), s.astype("float32")))
    want = np.array([[ref.circular_shift(w[b, h], s[b, h]) for h in range(H)]
                     for b in range(B)])
    np.testing.assert_allclose(got, want, atol=1e-6)
    np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-5)


def test_circular_shift_by_plus_one_moves_towards_higher_indices_and_wraps():
    w = np.zeros((1, 1, N), "float32")
    w[0, 0, N - 1] = 1.0
    plus_one = np.array([[[0.0, 0.0, 1.0]]], "float32")  # offsets -1, 0, +1
    got = _np(ntm.circular_shift(w, plus_one))
    assert got[0, 0, 0] == 1.0 and got.sum() == 1.0


@pytest.mark.parametrize("seed", SEEDS)
def test_sharpen_matches_reference(seed):
    rng = np.random.default_rng(seed)
    w = _distribution(rng, B, H, N)
    gamma = 1.0 + ref.softplus(rng.normal(size=(B, H)) * 3)
    got = _np(ntm.sharpen(tensor(w.astype("float32")), tensor(gamma.astype("float32"))))
    want = np.array([[ref.sharpen(w[b, h], gamma[b, h]) for h in range(H)]
                     for b in range(B)])
    np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-5)


def test_sharpen_with_exact_zeros_has_finite_gradient():
    w = np.array([[[0.0, 0.25, 0.75, 0.0]]], "float32")
    gamma = np.array([[2.5]], "float32")
    probe = np.array([1.0, 2.0, 3.0, 4.0], "float32")
    _, grads = gradients(lambda w, gamma: ops.sum(ops.multiply(ntm.sharpen(w, gamma), probe)),
                         [tensor(w), tensor(gamma)])
    assert all(np.isfinite(g).all() for g in grads)
    out = numpy(ntm.sharpen(tensor(w), tensor(gamma)))
    np.testing.assert_allclose(out[0, 0], ref.sharpen(w[0, 0], 2.5), atol=1e-6)


@pytest.mark.parametrize("seed", SEEDS)
def test_address_is_the_composition_of_the_four_steps(seed):
    rng = np.random.default_rng(seed)
    memory = rng.normal(size=(B, N, W))
    wp = _distribution(rng, B, H, N)
    keys = rng.normal(size=(B, H, W))
    beta = ref.softplus(rng.normal(size=(B, H)) * 3)
    g = rng.random((B, H))
    s = _distribution(rng, B, H, 3)
    gamma = 1 + ref.softplus(rng.normal(size=(B, H)))
    args = [a.astype("float32") for a in (memory, wp, keys, beta, g, s, gamma)]
    got = _np(ntm.address(*args))
    want = np.zeros((B, H, N))
    for b in range(B):
        for h in range(H):
            x = ref.content_weighting(keys[b, h], beta[b, h], memory[b])
            x = ref.interpolate(x, wp[b, h], g[b, h])
            x = ref.circular_shift(x, s[b, h])
            want[b, h] = ref.sharpen(x, gamma[b, h])
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("seed", SEEDS)
def test_read_matches_reference(seed):
    rng = np.random.default_rng(seed)
    w, memory = _distribution(rng, B, H, N), rng.normal(size=(B, N, W))
    got = _np(ntm.read_memory(w.astype("float32"), memory.astype("float32")))
    want = np.array([[ref.read(w[b, h], memory[b]) for h in range(H)] for b in range(B)])
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("num_write_heads", [1, 3])
def test_write_matches_reference(seed, num_write_heads):
    rng = np.random.default_rng(seed)
    memory = rng.normal(size=(B, N, W))
    w = _distribution(rng, B, num_write_heads, N)
    e = rng.random((B, num_write_heads, W))
    a = rng.normal(size=(B, num_write_heads, W))
    got = _np(ntm.write_memory(*(tensor(x.astype("float32")) for x in (memory, w, e, a))))
    want = np.array([ref.write(memory[b], w[b], e[b], a[b]) for b in range(B)])
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_full_erase_with_one_hot_weighting_replaces_a_row():
    memory = np.random.default_rng(0).normal(size=(1, N, W)).astype("float32")
    w = np.zeros((1, 1, N), "float32")
    w[0, 0, 3] = 1.0
    add = np.full((1, 1, W), 0.5, "float32")
    got = _np(ntm.write_memory(tensor(memory), tensor(w), tensor(np.ones((1, 1, W), "float32")),
                                 tensor(add)))
    np.testing.assert_allclose(got[0, 3], 0.5)
    np.testing.assert_allclose(np.delete(got[0], 3, axis=0), np.delete(memory[0], 3, axis=0))
