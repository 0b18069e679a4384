"""The models the suite measures: names, labels, and the training step it times.

`build_model(name, n, batch, args)` is `MemoryRNN(cell) + Dense` for inputs of
`INPUTS` features and `OUTPUTS` bit logits; the cells come from
`keras_memory.recipes.make_cell` at the suite's controller and word size.
"""

import numpy as np

MODELS = ("ntm", "sam", "sam_lsh", "lantm", "ram", "ham", "dham", "dnc", "sdnc", "sdnc_lsh")
#: The models of the default suite (`python benchmarks/scaling.py`); the DNC and
#: the SDNC have their own preset, `benchmarks/dnc_scaling.py`.
SUITE_MODELS = ("ntm", "sam", "sam_lsh", "lantm", "ram", "ham", "dham")
LABELS = {"ntm": "NTM", "sam": "SAM", "sam_lsh": "SAM-LSH", "lantm": "LANTM", "ram": "RAM",
          "ham": "HAM", "dham": "DHAM", "dnc": "DNC", "sdnc": "SDNC", "sdnc_lsh": "SDNC-LSH"}
COLORS = {"ntm": "tab:red", "sam": "tab:blue", "sam_lsh": "tab:green", "lantm": "tab:purple",
          "ram": "tab:brown", "ham": "tab:orange", "dham": "tab:olive", "dnc": "tab:pink",
          "sdnc": "tab:cyan", "sdnc_lsh": "tab:gray"}
#: Ratio columns of the table (numerator, denominator), where both models run.
PAIRS = (("ntm", "sam"), ("ntm", "sam_lsh"), ("dham", "ham"), ("ntm", "ham"), ("dnc", "sdnc"),
         ("dnc", "sdnc_lsh"))
INPUTS, OUTPUTS = 9, 8


def build_cell(name, n, args):
    """The cell `name` with a memory of `n` slots (HAM: leaves, a power of two)."""
    from keras_memory.recipes import make_cell, memory_settings

    if name not in MODELS:
        raise ValueError(f"Unknown model {name!r}; allowed: {', '.join(MODELS)}")
    heads = {"ntm": dict(num_read_heads=args.heads, num_write_heads=1),
             "sam": dict(num_heads=args.heads, k=args.k),
             "sam_lsh": dict(num_heads=args.heads, k=args.k),
             "dnc": dict(num_read_heads=args.heads),
             "sdnc": dict(num_heads=args.heads, k=args.k),
             "sdnc_lsh": dict(num_heads=args.heads, k=args.k)}.get(name, {})
    return make_cell(name, units=args.units, seed=0,
                     **memory_settings(name, n, args.word_size), **heads)


def build_model(name, n, batch, args):
    """`RNN(cell, return_sequences=True)` + `Dense(8)` for inputs `(batch, T, 9)`, any T."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((None, INPUTS), batch_size=batch)
    from keras_memory import MemoryRNN

    layer = keras.layers.RNN if getattr(args, "layer", "MemoryRNN") == "RNN" else MemoryRNN
    rnn = layer(build_cell(name, n, args), return_sequences=True)
    return keras.Model(inputs, keras.layers.Dense(OUTPUTS)(rnn(inputs)))


def make_train_step(model, jit_compile, learning_rate=1e-3, accumulate=1):
    """One training step: loss, gradients of every trainable weight, SGD update.

    With `accumulate > 1` the batch given to the step is split into
    `accumulate` micro-batches of the model's batch size: each is one compiled
    forward+backward, their mean gradient is applied once (gradient
    accumulation: the same update as the whole batch, in the memory of one
    micro-batch).
    """
    import tensorflow as tf

    variables = model.trainable_variables

    def loss_and_grads(x, y):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(y, logits))
        return loss, tape.gradient(loss, variables)

    @tf.function(jit_compile=jit_compile)
    def step(x, y):
        loss, grads = loss_and_grads(x, y)
        for v, g in zip(variables, grads):
            if g is not None:
                v.assign_sub(learning_rate * tf.convert_to_tensor(g))
        return loss

    if accumulate == 1:
        return step

    @tf.function(jit_compile=jit_compile)
    def micro_step(x, y):
        loss, grads = loss_and_grads(x, y)
        return loss, [tf.zeros_like(v) if g is None else tf.convert_to_tensor(g)
                      for v, g in zip(variables, grads)]

    @tf.function(jit_compile=jit_compile)
    def apply(grads):
        for v, g in zip(variables, grads):
            v.assign_sub(learning_rate * g / accumulate)

    def accumulated_step(x, y):
        total_loss, total = 0.0, None
        for xs, ys in zip(tf.split(x, accumulate), tf.split(y, accumulate)):
            loss, grads = micro_step(xs, ys)
            total = grads if total is None else [a + b for a, b in zip(total, grads)]
            total_loss += loss
        apply(total)
        return total_loss / accumulate

    return accumulated_step


def make_data(batch, timesteps, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((batch, timesteps, INPUTS)).astype("float32")
    y = (rng.random((batch, timesteps, OUTPUTS)) < 0.5).astype("float32")
    return x, y
