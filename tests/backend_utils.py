"""Backend-neutral helpers for the tests: tensors, gradients, and marks for
checks that only make sense on one Keras backend.

`KERAS_BACKEND` chooses the backend (`conftest.py` defaults it to
TensorFlow); a test that inspects TensorFlow graphs or XLA HLO is marked
`only_tensorflow` and skips elsewhere.
"""

import keras
import numpy as np
import pytest
from keras import ops

BACKEND = keras.backend.backend()

only_tensorflow = pytest.mark.skipif(
    BACKEND != "tensorflow",
    reason=f"inspects TensorFlow graphs or XLA HLO; the backend is {BACKEND}",
)

#: Float64 arithmetic is float64 only on TensorFlow: JAX computes float64 in
#: float32 unless `jax_enable_x64` is set (and even then Keras' JAX
#: `ops.tanh` and `ops.sin` return float32), and Keras' PyTorch `ops.matmul`
#: (so every Dense and LSTM kernel) returns float32 for float64 inputs
#: (Keras 3.15).
needs_float64 = pytest.mark.skipif(
    BACKEND != "tensorflow",
    reason=f"float64 arithmetic: Keras computes parts of it in float32 on {BACKEND}",
)


#: `jit_compile` for a test whose subject is not the compiler: JAX runs a step
#: without jit op by op (two epochs of the stack model of `test_reinforce.py`:
#: 48 s against 6 s with jit), while TensorFlow builds its graph without XLA in
#: a fraction of XLA's compile time.
FAST_JIT = BACKEND == "jax"


def tensor(value, dtype=None):
    """`value` as a tensor of the backend (float64 NumPy stays float64)."""
    if dtype is None and isinstance(value, np.ndarray):
        dtype = value.dtype.name
    return ops.convert_to_tensor(value, dtype)


def numpy(value):
    return ops.convert_to_numpy(value)


def xla(function):
    """`function` compiled with XLA: `tf.function(jit_compile=True)` or `jax.jit`.

    Skips the calling test on a backend without XLA (PyTorch).
    """
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return tf.function(function, jit_compile=True)
    if BACKEND == "jax":
        import jax

        return jax.jit(function)
    pytest.skip(f"no XLA compilation on the {BACKEND} backend")


def gradients(loss_fn, sources, jit_compile=False, allow_missing=False):
    """Gradients of the scalar `loss_fn()` with respect to each of `sources`.

    Args:
        loss_fn: a function of no arguments that reads `sources`: each is a
            `keras.Variable` (read as usual inside `loss_fn`) or a tensor (then
            `loss_fn` takes the tensors as positional arguments instead).
        sources: a list of all `keras.Variable`s or all tensors.
        jit_compile: compile the loss and its gradient with XLA (skips the
            test on PyTorch).
        allow_missing: a source the loss does not reach gets `None` (on JAX,
            zeros) instead of failing the test.

    Returns:
        `(loss, [gradient as NumPy for each source])`.
    """
    variables = all(isinstance(s, keras.Variable) for s in sources)
    if BACKEND == "tensorflow":
        import tensorflow as tf

        if not variables:
            sources = [tf.convert_to_tensor(s) for s in sources]

        def loss_and_gradients():
            with tf.GradientTape() as tape:
                if variables:
                    loss = loss_fn()
                else:
                    tape.watch(sources)
                    loss = loss_fn(*sources)
            grads = tape.gradient(loss, sources)
            assert allow_missing or all(g is not None for g in grads), "a source has no gradient"
            return loss, grads

        if jit_compile:
            loss_and_gradients = tf.function(loss_and_gradients, jit_compile=True)
        loss, grads = loss_and_gradients()
        return numpy(loss), [None if g is None else numpy(tf.convert_to_tensor(g)) for g in grads]
    if BACKEND == "jax":
        import jax
        from keras.src.backend.common.stateless_scope import StatelessScope

        if variables:
            def pure(values):
                with StatelessScope(state_mapping=list(zip(sources, values))):
                    return loss_fn()

            function, arguments = jax.value_and_grad(pure), [s.value for s in sources]
        else:
            function = jax.value_and_grad(lambda xs: loss_fn(*xs))
            arguments = list(sources)
        if jit_compile:
            function = jax.jit(function)
        loss, grads = function(arguments)
        return numpy(loss), [numpy(g) for g in grads]
    if BACKEND == "torch":
        import torch

        if jit_compile:
            pytest.skip("no XLA compilation on the torch backend")
        if variables:
            leaves = [s.value for s in sources]
            loss = loss_fn()
        else:
            leaves = [torch.as_tensor(numpy(s)).requires_grad_(True) for s in sources]
            loss = loss_fn(*leaves)
        grads = torch.autograd.grad(loss, leaves, allow_unused=allow_missing)
        return numpy(loss.detach()), [None if g is None else g.detach().cpu().numpy()
                                      for g in grads]
    raise NotImplementedError(BACKEND)


# ------------------------------------------------- JAX programs (the audits)
def _jax_subjaxprs(eqn):
    for value in eqn.params.values():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if hasattr(item, "jaxpr") and hasattr(item, "consts"):  # a ClosedJaxpr
                yield item.jaxpr
            elif hasattr(item, "eqns"):  # a Jaxpr
                yield item


def jax_equations(jaxpr):
    """Every equation of a jaxpr and of the jaxprs nested in it (loop bodies, branches)."""
    for eqn in jaxpr.eqns:
        yield eqn
        for sub in _jax_subjaxprs(eqn):
            yield from jax_equations(sub)


def jax_model_programs(model, x):
    """The jaxprs of `model(x)` and of the gradient of `sum(model(x))` with
    respect to its trainable weights, as `jax.jit` traces them."""
    import jax

    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]

    def forward(values, x):
        return model.stateless_call(values, non_trainable, x)[0]

    def loss(values, x):
        return jax.numpy.sum(forward(values, x))

    return (jax.make_jaxpr(forward)(trainable, x).jaxpr,
            jax.make_jaxpr(jax.grad(loss))(trainable, x).jaxpr)


def jax_stored_per_step(jaxpr):
    """Shapes (without the time axis) of what each `scan` of `jaxpr` stacks per step.

    In the jaxpr of a gradient these are the forward loop's outputs and the
    residuals it keeps for the backward loop (JAX hoists loop-invariant
    residuals, such as the weights, out of the loop), the counterpart of the
    tensors TensorFlow's `while_v2` pushes to its accumulators.
    """
    stored = []
    for eqn in jax_equations(jaxpr):
        if eqn.primitive.name == "scan":
            carries = eqn.params["num_carry"]
            stored += [tuple(v.aval.shape[1:]) for v in eqn.outvars[carries:]]
    return stored


def jax_loop_selects(jaxpr):
    """Output shapes of the selects (`select_n`) inside the bodies of the `scan`s of `jaxpr`."""
    found = []
    for eqn in jax_equations(jaxpr):
        if eqn.primitive.name == "scan":
            found += [tuple(e.outvars[0].aval.shape)
                      for e in jax_equations(eqn.params["jaxpr"].jaxpr)
                      if e.primitive.name == "select_n"]
    return found
