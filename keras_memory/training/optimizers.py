"""Optimizers of the papers' protocols: overflow-safe clipping and the Lie-access schedule.

`ClippedAdam` and `ClippedRMSprop` are Keras' optimizers whose
`global_clipnorm` cannot overflow (`clip_by_global_norm`);
`lie_access_optimizer` and `LieAccessDecay` are the RMSprop and learning-rate
decay of Yang & Rush (2017)'s `train.lua`.
"""

import keras


# ---------------------------------------------------------------------------
# The training protocol of Yang & Rush (2017), from the authors' `train.lua`.


@keras.saving.register_keras_serializable(package="keras_memory")
class LieAccessDecay(keras.optimizers.schedules.LearningRateSchedule):
    """The learning-rate decay of the Lie-access paper's code (`train.lua`).

    The authors count "iters" of `iter_size = 10` optimizer steps and multiply
    the rate by `0.99` at the end of every even iter after `decay_delay`:

    `lr(step) = lr0 * 0.99 ** max(0, floor((iter - 1 - decay_delay) / 2))`,
    `iter = floor(step / 10) + 1`.

    With their 10,000 steps the final factor is 0.030 for a delay of 300,
    0.135 for 600 and 0.224 for 700.

    Args:
        initial_learning_rate: `lr0`.
        decay_delay: Iters (of 10 steps) before the decay starts.
        rate: Factor per decay. Defaults to `0.99`.
        steps_per_iter: Defaults to `10`.
    """

    def __init__(self, initial_learning_rate, decay_delay, rate=0.99, steps_per_iter=10):
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_delay = int(decay_delay)
        self.rate = float(rate)
        self.steps_per_iter = int(steps_per_iter)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        iteration = keras.ops.floor(step / self.steps_per_iter) + 1.0
        decays = keras.ops.maximum(
            0.0, keras.ops.floor((iteration - 1.0 - self.decay_delay) / 2.0)
        )
        return self.initial_learning_rate * keras.ops.power(self.rate, decays)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_delay": self.decay_delay,
            "rate": self.rate,
            "steps_per_iter": self.steps_per_iter,
        }


def clip_by_global_norm(gradients, clip_norm):
    """Rescales `gradients` to a global L2 norm of at most `clip_norm`, without overflow.

    Keras' `global_clipnorm` sums the squared gradients in their own dtype, so
    in float32 one gradient entry above about `1.8e19` makes the norm `inf`,
    the scale `NaN` and every weight `NaN` after the step, although the
    gradient itself is finite. The Lie-access models meet such gradients:
    the inverse-square weighting (`d^-2` with `eps = 1e-10`) gives gradients
    of 1e29 when a head comes close to a key, and the authors' code clips
    them in double precision. Where Keras' norm is finite this returns
    exactly what Keras does; where it overflows, the norm is computed as
    `m * sqrt(sum((g / m)^2))` with `m` the largest `|g|`. Gradients that
    are themselves `inf` or `NaN` still give `NaN`, as in Keras.

    Args:
        gradients: A list of tensors or NumPy arrays (entries may be `None`).
        clip_norm: The largest global norm.

    Returns:
        The list of rescaled gradients, as tensors (`None` entries kept).
    """
    # NumPy gradients become tensors (on PyTorch, an array times a tensor is an error).
    gradients = [None if g is None else keras.ops.convert_to_tensor(g) for g in gradients]
    present = [g for g in gradients if g is not None]
    if not present:
        return list(gradients)
    norm = keras.ops.sqrt(keras.ops.sum(keras.ops.stack(
        [keras.ops.sum(keras.ops.square(g)) for g in present])))
    largest = keras.ops.max(keras.ops.stack([keras.ops.max(keras.ops.abs(g)) for g in present]))
    safe_largest = keras.ops.where(largest > 0, largest, keras.ops.ones_like(largest))
    rescaled = safe_largest * keras.ops.sqrt(keras.ops.sum(keras.ops.stack(
        [keras.ops.sum(keras.ops.square(g / safe_largest)) for g in present])))
    norm = keras.ops.where(keras.ops.isfinite(norm), norm, rescaled)
    # Keras' own formula (`optimizers.base_optimizer.clip_by_global_norm`).
    scale = clip_norm * keras.ops.minimum(1.0 / norm, 1.0 / clip_norm)
    scale = scale + (norm - norm)
    return [None if g is None else g * scale for g in gradients]


class _OverflowSafeClip:
    """Mixin: `global_clipnorm` through `clip_by_global_norm` (see there)."""

    def _clip_gradients(self, grads):
        if self.global_clipnorm and self.global_clipnorm > 0:
            return clip_by_global_norm(grads, self.global_clipnorm)
        return super()._clip_gradients(grads)


@keras.saving.register_keras_serializable(package="keras_memory")
class ClippedRMSprop(_OverflowSafeClip, keras.optimizers.RMSprop):
    """`keras.optimizers.RMSprop` whose `global_clipnorm` cannot overflow.

    Identical to Keras' `RMSprop` (same arguments and config) except that
    `global_clipnorm` goes through `clip_by_global_norm`, which gives the
    same result wherever Keras' norm is finite and a finite rescaling where
    the sum of squares overflows (see there).

    Example:

    >>> optimizer = ClippedRMSprop(0.01, rho=0.99, global_clipnorm=32.0)
    >>> variable = keras.Variable(np.zeros(2, "float32"))
    >>> _ = optimizer.apply_gradients([(np.array([1e30, 0.0], "float32"), variable)])
    >>> bool(np.isfinite(keras.ops.convert_to_numpy(variable)).all())
    True
    """


@keras.saving.register_keras_serializable(package="keras_memory")
class ClippedAdam(_OverflowSafeClip, keras.optimizers.Adam):
    """`keras.optimizers.Adam` whose `global_clipnorm` cannot overflow.

    Identical to Keras' `Adam` (same arguments and config) except that
    `global_clipnorm` goes through `clip_by_global_norm`: the same result
    wherever Keras' norm is finite, a finite rescaling where the sum of
    squares overflows float32 (see there). `default_optimizer` returns one.

    Example:

    >>> optimizer = ClippedAdam(1e-3, global_clipnorm=1.0)
    >>> variable = keras.Variable(np.zeros(2, "float32"))
    >>> _ = optimizer.apply_gradients([(np.array([1e30, 0.0], "float32"), variable)])
    >>> bool(np.isfinite(keras.ops.convert_to_numpy(variable)).all())
    True
    """


def lie_access_optimizer(learning_rate=0.01, decay_delay=300, global_clipnorm=32.0):
    """The optimizer of the Lie-access paper's code (`train.lua`, `options.lua`).

    Torch's `optim.rmsprop` (`m <- 0.99 m + 0.01 g^2`,
    `x <- x - lr g / (sqrt(m) + 1e-8)`, no momentum) as Keras' `RMSprop` with
    `rho=0.99` and `epsilon=1e-16` (Keras adds it inside the square root),
    the `LieAccessDecay` schedule, and gradients rescaled to a global norm of
    at most 32 (`max_grad_norm`). The rescaling is `clip_by_global_norm`,
    which stays finite where the gradients' squares overflow float32 (the
    authors computed in double precision).

    Args:
        learning_rate: The initial rate. The paper's grid: 0.01, 0.02, 0.04
            for the memory models, 0.002 for the LSTM.
        decay_delay: Iters before the decay starts (300 to 700 in the grid).
        global_clipnorm: Defaults to `32`.

    Returns:
        A `ClippedRMSprop` (a `keras.optimizers.RMSprop`).
    """
    return ClippedRMSprop(
        LieAccessDecay(learning_rate, decay_delay),
        rho=0.99,
        epsilon=1e-16,
        global_clipnorm=global_clipnorm,
    )
