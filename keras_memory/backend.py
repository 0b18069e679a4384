"""The few operations `keras.ops` lacks, for each Keras backend.

Everything else in `keras_memory` is written in `keras.ops`. The sparse
memories (`keras_memory.addressing.sam`, `keras_memory.addressing.ham`) read
and write a handful of rows of a large memory each step, which needs a gather
and a scatter on explicit index tuples (TensorFlow's `gather_nd` and
`tensor_scatter_nd_*`): `keras.ops.scatter_update` has no add or max and
`keras.ops.segment_*` works on a flat axis. The searches need a top-k whose
ties go to the lowest index on every backend. HAM's hard decisions need a
stateless Bernoulli sample from a seed tensor that lives in the RNN state,
which `keras.random` does not take on every backend. This module implements
these on TensorFlow, JAX and PyTorch, importing each framework only inside the
function that runs on it, so `import keras_memory` needs none but the
backend's own.

Every update is sparse on every backend: the work per call is proportional
to the number of indexed entries, not to the size of `params` (on
TensorFlow under XLA and on JAX under `jit` the scatter runs in place; PyTorch
has no in-place update that autograd keeps differentiable through the
recurrence, so its out-of-place `index_add` copies `params` once, a memory
copy without arithmetic).

Index convention (TensorFlow's `gather_nd`): `indices` is an int tensor
`(..., D)` whose last axis holds `D` coordinates into the first `D` axes of
`params`; the result (or the `updates`) has shape
`indices.shape[:-1] + params.shape[D:]`.
"""

import keras
from keras import ops


def _backend():
    return keras.backend.backend()


def _unsupported(name):
    return NotImplementedError(
        f"keras_memory.backend.{name}: the Keras backend {_backend()!r} is not supported; "
        "use one of 'tensorflow', 'jax', 'torch'."
    )


def _split_indices(indices):
    depth = indices.shape[-1]
    return tuple(indices[..., i] for i in range(depth))


def _torch_flat(params, indices):
    """`params` with its first `D` axes flattened, and the flat row of each index."""
    import torch

    depth = indices.shape[-1]
    lead = params.shape[:depth]
    strides = [1] * depth
    for i in range(depth - 2, -1, -1):
        strides[i] = strides[i + 1] * lead[i + 1]
    flat_index = sum(indices[..., i].long() * strides[i] for i in range(depth))
    flat = params.reshape((-1,) + tuple(params.shape[depth:]))
    return flat, flat_index.reshape(-1), torch


def gather_nd(params, indices):
    """`params[indices]` with index tuples on the last axis of `indices`.

    Args:
        params: tensor `(d_0, ..., d_{D-1}, ...)`.
        indices: int tensor `(..., D)`.

    Returns:
        `indices.shape[:-1] + params.shape[D:]`. The gradient flows to the
        gathered entries of `params` only.
    """
    backend = _backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.gather_nd(params, ops.cast(indices, "int32"))
    if backend == "jax":
        return params[_split_indices(ops.cast(indices, "int32"))]
    if backend == "torch":
        return params[_split_indices(ops.cast(indices, "int64"))]
    raise _unsupported("gather_nd")


def scatter_nd_add(params, indices, updates):
    """`params` with `updates` added at `indices` (repeated indices add up).

    Args:
        params: tensor `(d_0, ..., d_{D-1}, ...)`.
        indices: int tensor `(..., D)`.
        updates: `indices.shape[:-1] + params.shape[D:]`, `params`' dtype.

    Returns:
        A new tensor shaped like `params`; gradients flow to both `params`
        (identity) and `updates` (a gather).
    """
    backend = _backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.tensor_scatter_nd_add(params, ops.cast(indices, "int32"), updates)
    if backend == "jax":
        return params.at[_split_indices(ops.cast(indices, "int32"))].add(updates)
    if backend == "torch":
        flat, rows, torch = _torch_flat(params, indices)
        source = updates.reshape((-1,) + tuple(flat.shape[1:]))
        return torch.index_add(flat, 0, rows, source).reshape(params.shape)
    raise _unsupported("scatter_nd_add")


def scatter_nd_max(params, indices, updates):
    """`params` with each indexed entry replaced by `max(entry, update)`.

    Args and returns as `scatter_nd_add`. Meant for values that carry no
    gradient (wrap the result in `keras.ops.stop_gradient`).
    """
    backend = _backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.tensor_scatter_nd_max(params, ops.cast(indices, "int32"), updates)
    if backend == "jax":
        return params.at[_split_indices(ops.cast(indices, "int32"))].max(updates)
    if backend == "torch":
        flat, rows, _ = _torch_flat(params, indices)
        source = updates.reshape((-1,) + tuple(flat.shape[1:]))
        rows = rows.reshape((-1,) + (1,) * (source.ndim - 1)).expand_as(source)
        return flat.scatter_reduce(0, rows, source, "amax", include_self=True).reshape(
            params.shape
        )
    raise _unsupported("scatter_nd_max")


def scatter_nd_update(params, indices, updates):
    """`params` with the entries at `indices` set to `updates`.

    Args and returns as `scatter_nd_add`; with repeated indices, which
    update wins is not specified (as in TensorFlow).
    """
    backend = _backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.tensor_scatter_nd_update(params, ops.cast(indices, "int32"), updates)
    if backend == "jax":
        return params.at[_split_indices(ops.cast(indices, "int32"))].set(updates)
    if backend == "torch":
        flat, rows, torch = _torch_flat(params, indices)
        source = updates.reshape((-1,) + tuple(flat.shape[1:]))
        return torch.index_copy(flat, 0, rows, source).reshape(params.shape)
    raise _unsupported("scatter_nd_update")


def top_k(x, k):
    """The `k` largest entries of the last axis, largest first, ties to the lowest index.

    `keras.ops.top_k` leaves the order of ties to the backend: TensorFlow's
    and JAX's put the lower index first, PyTorch's `topk` does not promise
    an order, so on PyTorch this is a stable descending sort cut to `k`.

    Returns:
        `(values, int32 indices)`, each `x.shape[:-1] + (k,)`.
    """
    if _backend() == "torch":
        import torch

        values, indices = torch.sort(x, dim=-1, descending=True, stable=True)
        values, indices = values[..., :k], indices[..., :k]
    else:
        values, indices = ops.top_k(x, k=k, sorted=True)
    return values, ops.cast(indices, "int32")


def bernoulli(logits, seed):
    """Stateless `Bernoulli(sigmoid(logits))` samples as float32 0/1, no gradient.

    The same `seed` gives the same samples; each entry of `logits` gets its
    own draw. TensorFlow samples with TensorFlow Probability's
    `Bernoulli(logits=...)` (imported here, about 1 s); JAX with
    `jax.random.uniform(key) < sigmoid(logits)`, `key` the raw two-word
    seed; PyTorch with a `torch.Generator` seeded from a hash of its two
    words (which reads the seed's value: eager execution only). The backends draw different
    streams, each reproducible.

    Args:
        logits: float tensor, the log-odds of 1.
        seed: int32 tensor `(2,)`.

    Returns:
        float32 tensor shaped like `logits`.
    """
    backend = _backend()
    logits = ops.cast(logits, "float32")
    if backend == "tensorflow":
        import tensorflow as tf
        import tensorflow_probability as tfp

        distribution = tfp.distributions.Bernoulli(logits=logits, dtype=tf.float32)
        return tf.stop_gradient(distribution.sample(seed=seed))
    if backend == "jax":
        import jax

        key = jax.lax.bitcast_convert_type(ops.cast(seed, "int32"), "uint32")
        uniform = jax.random.uniform(key, logits.shape, dtype="float32")
    elif backend == "torch":
        import torch

        import numpy as np

        words = [int(v) & 0xFFFFFFFF for v in ops.convert_to_numpy(seed).reshape(-1)]
        # The CPU generator keeps only the low 32 bits of its seed: hash both
        # words into them, so that the base seed and the counter both count.
        generator = torch.Generator(device=logits.device)
        generator.manual_seed(int(np.random.SeedSequence(words).generate_state(1)[0]))
        uniform = torch.rand(
            logits.shape, generator=generator, dtype=torch.float32, device=logits.device
        )
    else:
        raise _unsupported("bernoulli")
    return ops.stop_gradient(ops.cast(uniform < ops.sigmoid(logits), "float32"))


def limit_cpu_threads(threads):
    """Runs the backend's CPU kernels on at most `threads` threads.

    For several processes sharing a machine (the workers of a tuning search,
    say). Call it before the first operation: TensorFlow and JAX size their
    thread pools once. TensorFlow sets its intra- and inter-op pools; PyTorch
    its intra-op pool (`torch.set_num_threads`); JAX (XLA's CPU client, which
    has no thread-count setting) runs its kernels on the calling thread when
    `threads` is 1 (`--xla_cpu_multi_thread_eigen=false` in `XLA_FLAGS`,
    read when the client starts) and keeps its own pool otherwise.

    Args:
        threads: positive int.

    Raises:
        ValueError: `threads` is not a positive int.
    """
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"`threads` must be a positive int. Received: threads={threads!r}")
    backend = _backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    elif backend == "jax":
        import os

        if threads == 1:
            flag = "--xla_cpu_multi_thread_eigen=false"
            flags = os.environ.get("XLA_FLAGS", "")
            if flag not in flags:
                os.environ["XLA_FLAGS"] = f"{flags} {flag}".strip()
    elif backend == "torch":
        import torch

        torch.set_num_threads(threads)
    else:
        raise _unsupported("limit_cpu_threads")
