"""REINFORCE training of hard-attention HAM models with `model.fit`.

`HAMModel` is a functional `keras.Model` whose outputs are a dict
`{"logits", "baseline", "log_prob", "inverse_entropy"}` (what
`build_ham_model` makes from a `HAMCell`). Its `compute_loss` adds to the
output log-likelihood the REINFORCE surrogate of Andrychowicz & Kurach
(2016, section 3.3), so the hard, sampled descent trains with plain
`model.fit`:

- reward `r_t`: the share of output bits whose correct value gets
  probability above 1/2 (section 3.3, "a different reward function"; the
  paper counts bits, here divided by the bits per output so that rewards lie
  in `[0, 1]` per output step);
- returns `R_t = sum_{i >= t} gamma^(i - t) r_i` (discounted, section 3.3),
  credited to every decision taken at step `t`;
- a baseline `b_t`, a linear map of the controller state the step's
  decisions were taken from (`h_{t-1}`, their query; raw HAM: the input
  `x_t`) trained by mean squared error on `R_t`. It must not see the
  decisions it judges: a baseline on `h_t`, which has read the chosen leaf,
  predicts the decision's reward and cancels its learning signal;
- the policy term `-stop_gradient(R_t - b_t) log pi_t`;
- the exploration term `alpha / H(p)` summed over the step's decisions, with
  `alpha = alpha_0 * alpha_decay ** (step / alpha_decay_steps)` decaying
  exponentially (section 3.3).

**Weighting.** The paper's estimator (section 3.3, eq. 1) is, per example,
`grad log p(y | A) + sum_t R_t grad log pi_t`: the log-likelihood summed over
the output steps and the policy term summed over the decision steps, one
against the other. Every term here is therefore a sum over its own steps
(the likelihood over the scored steps of `sample_weight`; the policy,
baseline and exploration terms over the decision steps up to and including
the last scored one, whose returns are defined) divided by one shared
normaliser, the number of scored steps in the batch. The likelihood is then
the mean per-output-step cross-entropy, and the relative weight of the
terms does not depend on how many decision steps a task takes before it
answers (on Search, `eta = 2` decision steps precede each scored one).
Decisions after the last scored step have no return and count in no term.
In soft attention
(`HAMCell(attention="soft")`) the decision terms are zero and the model is
trained by backpropagation alone.

Reference:
    - [Andrychowicz & Kurach, 2016](https://arxiv.org/abs/1602.03218),
      sections 3.3 and 4.1.
"""

import contextlib

import keras
import numpy as np
from keras import ops

from keras_memory.cells.ham import HAMCell, HAMRNN
from keras_memory.metrics import score_counts
from keras_memory.tasks import get as get_task
from keras_memory.tasks.ham_tasks import DataStructureTask, TreeTask


def discounted_returns(rewards, gamma):
    """`R_t = sum_{i >= t} gamma^(i - t) r_i` along axis 1 of `(B, T)` rewards."""
    steps = ops.shape(rewards)[1]
    index = ops.arange(steps, dtype="float32")
    lag = index[:, None] - index[None, :]  # (i, t): i - t
    weights = ops.where(lag >= 0, ops.power(gamma, ops.maximum(lag, 0.0)), 0.0)
    return ops.einsum("bi,it->bt", rewards, weights)


def decision_steps(sample_weight):
    """1 on every step up to and including the last scored one, per sequence."""
    scored = ops.cast(sample_weight > 0, "float32")
    reversed_running = ops.flip(ops.cumsum(ops.flip(scored, axis=1), axis=1), axis=1)
    return ops.cast(reversed_running > 0, "float32")


@keras.saving.register_keras_serializable(package="keras_memory")
class HAMModel(keras.Model):
    """A functional model trained with the HAM paper's REINFORCE surrogate.

    Build it like a functional model, with the dict outputs `"logits"`
    `(B, T, bits)`, `"baseline"` `(B, T, 1)`, `"log_prob"` `(B, T)` and
    `"inverse_entropy"` `(B, T)` (see `build_ham_model`), and compile it with
    only an optimizer and metrics: the loss is built in. Metrics see the
    logits.

    Args:
        *args: `inputs, outputs`, as for a functional `keras.Model`.
        gamma: Discount of the returns. Defaults to `0.9`.
        alpha: Initial weight of the `1 / H(p)` exploration term.
            Defaults to `1e-3`.
        alpha_decay: Factor applied to `alpha` every `alpha_decay_steps`
            optimizer steps (continuously). Defaults to `0.9`.
        alpha_decay_steps: Defaults to `1000` (the paper's epoch).
        baseline_weight: Weight of the baseline's squared error.
            Defaults to `1.0`.
        reward: Optional callable `reward(y, logits) -> (B, T)`, the reward
            of each output step (taken only on the scored steps of
            `sample_weight`), for targets that are not bits. Register it
            with `keras.saving.register_keras_serializable` to save the
            model. Defaults to `bit_reward`, the paper's share of output
            bits whose correct value gets probability above 1/2.
    """

    def __init__(self, *args, gamma=0.9, alpha=1e-3, alpha_decay=0.9,
                 alpha_decay_steps=1000, baseline_weight=1.0, reward=None, **kwargs):
        # `*args, **kwargs` keeps Keras' functional serialisation (it checks
        # for a functional-like constructor).
        super().__init__(*args, **kwargs)
        for name, value in (("gamma", gamma), ("alpha", alpha), ("alpha_decay", alpha_decay),
                            ("baseline_weight", baseline_weight)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(
                    f"HAMModel: `{name}` must be a non-negative number. Received: {name}={value!r}"
                )
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"HAMModel: `gamma` must be in [0, 1]. Received: gamma={gamma!r}")
        if isinstance(alpha_decay_steps, bool) or not isinstance(alpha_decay_steps, int) or (
            alpha_decay_steps < 1
        ):
            raise ValueError(
                "HAMModel: `alpha_decay_steps` must be a positive integer. "
                f"Received: alpha_decay_steps={alpha_decay_steps!r}"
            )
        self.gamma = float(gamma)
        self.alpha = float(alpha)
        self.alpha_decay = float(alpha_decay)
        self.alpha_decay_steps = alpha_decay_steps
        self.baseline_weight = float(baseline_weight)
        if reward is not None and not callable(reward):
            raise ValueError("HAMModel: `reward` must be a callable reward(y, logits) -> "
                             f"(batch, time) or None. Received: reward={reward!r}")
        self.reward = reward

    def current_alpha(self):
        """The exploration weight at the optimizer's current step."""
        step = getattr(self, "_optimizer_step", None)
        if step is None and self.optimizer:
            step = self.optimizer.iterations
        step = 0.0 if step is None else ops.cast(step, "float32")
        return self.alpha * ops.power(self.alpha_decay, step / self.alpha_decay_steps)

    def compute_loss_and_updates(self, *args, optimizer_variables=None, **kwargs):
        # Called by the JAX backend only (Keras' JAX trainer), as a pure function
        # of the variables' values: the optimizer's arrive in
        # `optimizer_variables`, and `optimizer.iterations` itself holds no value
        # during `fit`. `current_alpha` reads the step from here.
        self._optimizer_step = None
        if optimizer_variables is not None and self.optimizer is not None:
            self._optimizer_step = next(
                (value for variable, value in zip(self.optimizer.variables, optimizer_variables)
                 if variable is self.optimizer.iterations), None)
        try:
            return super().compute_loss_and_updates(
                *args, optimizer_variables=optimizer_variables, **kwargs)
        finally:
            self._optimizer_step = None

    def surrogate_terms(self, y, y_pred, sample_weight):
        """The loss terms as a dict of scalars (for inspection and tests)."""
        logits = ops.cast(y_pred["logits"], "float32")
        y = ops.cast(y, "float32")
        if sample_weight is None:
            sample_weight = ops.ones(ops.shape(y)[:2], "float32")
        weight = ops.cast(sample_weight > 0, "float32")
        scored = ops.maximum(ops.sum(weight), 1.0)
        bce = ops.sum(_bce(y, logits), axis=-1)
        likelihood = ops.sum(bce * weight) / scored

        reward = getattr(self, "reward", None) or bit_reward
        rewards = ops.stop_gradient(ops.cast(reward(y, logits), "float32") * weight)
        returns = discounted_returns(rewards, self.gamma)
        valid = decision_steps(sample_weight)
        # One normaliser for every term (see the module docstring): sums over
        # each term's own steps, divided by the number of scored steps.
        steps = scored
        baseline = ops.cast(y_pred["baseline"][..., 0], "float32")
        advantage = ops.stop_gradient(returns - baseline)
        log_prob = ops.cast(y_pred["log_prob"], "float32")
        policy = -ops.sum(advantage * log_prob * valid) / steps
        baseline_loss = ops.sum(ops.square(baseline - returns) * valid) / steps
        exploration = ops.sum(ops.cast(y_pred["inverse_entropy"], "float32") * valid) / steps
        return {
            "likelihood": likelihood,
            "policy": policy,
            "baseline": baseline_loss,
            "exploration": exploration,
            "mean_return": ops.sum(returns * valid) / steps,
        }

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        terms = self.surrogate_terms(y, y_pred, sample_weight)
        total = (terms["likelihood"] + terms["policy"]
                 + self.baseline_weight * terms["baseline"]
                 + self.current_alpha() * terms["exploration"])
        losses = self.losses
        if losses:
            total = total + ops.sum(ops.stack(losses))
        return total

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        return super().compute_metrics(x, y, y_pred["logits"], sample_weight)

    def get_config(self):
        config = super().get_config()
        config.update({
            "gamma": self.gamma, "alpha": self.alpha, "alpha_decay": self.alpha_decay,
            "alpha_decay_steps": self.alpha_decay_steps, "baseline_weight": self.baseline_weight,
            "reward": (None if self.reward is None
                       else keras.saving.serialize_keras_object(self.reward)),
        })
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        extra = {key: config.pop(key) for key in
                 ("gamma", "alpha", "alpha_decay", "alpha_decay_steps", "baseline_weight",
                  "reward")
                 if key in config}
        if extra.get("reward") is not None:
            extra["reward"] = keras.saving.deserialize_keras_object(extra["reward"])
        from keras.src.models.functional import functional_from_config

        model = functional_from_config(cls, config, custom_objects=custom_objects)
        for key, value in extra.items():
            setattr(model, key, value)
        return model


def bit_reward(y, logits):
    """The paper's reward (section 3.3): the share of an output step's bits
    whose correct value gets probability above 1/2, `(B, T)` in `[0, 1]`."""
    correct = ops.cast((logits > 0) == (ops.cast(y, "float32") > 0.5), "float32")
    return ops.mean(correct, axis=-1)


def _bce(labels, logits):
    """Binary cross-entropy on logits, element-wise, numerically stable."""
    return ops.maximum(logits, 0.0) - logits * labels + ops.log1p(ops.exp(-ops.abs(logits)))


def reinforce_outputs(cell, sequences, output_size, query=None, name_prefix=""):
    """The outputs a `HAMModel` trains on, from a HAM layer's output sequence.

    The way to train a hard HAM by REINFORCE on your own data: run the cell
    with `return_decisions=True` in a `HAMRNN` (or any RNN layer with
    `return_sequences=True`), pass its output here, and build a `HAMModel`
    on the returned dict. The logits are a linear map of the cell's output
    `y`; the baseline (section 3.3) a linear map of `query`, what the step's
    decisions were taken from: by default the gradient-stopped output of the
    previous step (`h_{t-1}`, zero at the first step), right for LSTM+HAM;
    for a raw HAM pass the step inputs `x_t`, its queries.

    Args:
        cell: The `HAMCell`, built with `return_decisions=True`.
        sequences: The `(batch, time, cell.output_size)` output sequence.
        output_size: Width of the logits.
        query: Optional `(batch, time, q)` baseline input (see above).
        name_prefix: Prefix of the two Dense layers' names (`logits`,
            `baseline`).

    Returns:
        A dict with `"logits"`, `"baseline"`, `"log_prob"` and
        `"inverse_entropy"`.

    Example:

    ```python
    cell = keras_memory.HAMCell(units=20, memory_size=16, return_decisions=True)
    items = keras.Input((None, 8), name="items")   # fills the tree
    steps = keras.Input((None, 1), name="steps")   # one row per output step
    sequences = keras_memory.HAMRNN(cell, return_sequences=True)(steps, tree_inputs=items)
    model = keras_memory.reinforce.HAMModel(
        {"items": items, "steps": steps},
        keras_memory.reinforce.reinforce_outputs(cell, sequences, output_size=8),
        reward=my_reward)  # optional; default: the share of right bits
    model.compile(keras.optimizers.Adam(1e-3, global_clipnorm=5.0))
    model.fit({"items": x, "steps": s}, y, sample_weight=w)
    ```
    """
    if not isinstance(cell, HAMCell):
        raise ValueError(f"reinforce_outputs: `cell` must be a HAMCell. Received: {cell!r}")
    if not cell.return_decisions:
        raise ValueError(
            "reinforce_outputs: the cell must be built with return_decisions=True, so "
            "that its output carries the log-probabilities and entropies of its decisions. "
            f"Received: a HAMCell with return_decisions=False ({cell.name})."
        )
    parts = cell.split_output(sequences)
    logits = keras.layers.Dense(output_size, name=f"{name_prefix}logits",
                                dtype="float32")(parts["output"])
    if query is None:  # h_{t-1}: the query of step t's decisions
        state = keras.ops.stop_gradient(parts["output"])
        query = keras.ops.pad(state, ((0, 0), (1, 0), (0, 0)))[:, :-1]
    baseline = keras.layers.Dense(1, name=f"{name_prefix}baseline", dtype="float32")(query)
    return {"logits": logits, "baseline": baseline, "log_prob": parts["log_prob"],
            "inverse_entropy": parts["inverse_entropy"]}


def build_ham_model(cell, task, memory_size=None, **model_kwargs):
    """The paper's model around a `HAMCell` for a HAM task, as a `HAMModel`.

    - `keras_memory.tasks.TreeTask` (LSTM+HAM): inputs `{"sequence",
      "decoder"}`; `HAMRNN` fills the tree from `sequence` (its last channel
      is the item mask) and runs over the decoder steps; logits are a
      linear map of the controller state (section 3.2).
    - `keras_memory.tasks.DataStructureTask` (raw HAM, `controller=False`):
      one operation per step; logits are a linear map of the cell's read-out
      of the attended leaf (section 4.3).

    The baseline is a linear map of what the step's decisions were taken
    from: the gradient-stopped controller state of the previous step
    (`h_{t-1}`, zero at the first step) for LSTM+HAM, the operation `x_t`
    for raw HAM (section 3.3: "case and timestep dependent"; a baseline on
    `h_t` would see the leaf the decisions chose).

    The cell's `return_decisions` is switched on if it is not built yet
    (the model needs the decisions' log-probabilities); for any other data
    than the package's tasks, see `reinforce_outputs`.

    Args:
        cell: A `HAMCell`.
        task: A HAM task or its name.
        memory_size: Unused unless given: must equal `cell.memory_size`
            (kept for symmetry with evaluation at other tree sizes; use
            `with_memory_size`).
        **model_kwargs: `HAMModel` arguments (`gamma`, `alpha`, ...).

    Returns:
        A `HAMModel`.
    """
    task = get_task(task)
    if not isinstance(cell, HAMCell):
        raise ValueError(f"build_ham_model: `cell` must be a HAMCell. Received: {cell!r}")
    if memory_size is not None and memory_size != cell.memory_size:
        raise ValueError(
            f"build_ham_model: `memory_size` must equal the cell's memory_size="
            f"{cell.memory_size} (use `with_memory_size` for another tree). "
            f"Received: memory_size={memory_size!r}"
        )
    if not cell.return_decisions:
        if cell.built:
            raise ValueError(
                "build_ham_model: the cell is already built without return_decisions; "
                "build a HAMCell(..., return_decisions=True)."
            )
        cell.return_decisions = True
        cell.output_size = cell.units + 4
    if isinstance(task, TreeTask):
        sequence = keras.Input((None, task.input_size), name="sequence")
        decoder = keras.Input((None, 1), name="decoder")
        rnn = HAMRNN(cell, return_sequences=True, name="ham_rnn")
        sequences = rnn(decoder, tree_inputs=sequence[..., :-1], tree_mask=sequence[..., -1])
        inputs = {"sequence": sequence, "decoder": decoder}
    elif isinstance(task, DataStructureTask):
        operations = keras.Input((None, task.input_size), name="operations")
        rnn = HAMRNN(cell, return_sequences=True, name="ham_rnn")
        sequences = rnn(operations)
        inputs = operations
    else:
        raise ValueError(
            "build_ham_model: `task` must be a HAM task (a TreeTask or a DataStructureTask). "
            f"Received: {task!r}"
        )
    # Raw HAM: the operation x_t is the query of the baseline.
    query = operations if isinstance(task, DataStructureTask) else None
    outputs = reinforce_outputs(cell, sequences, task.output_size, query=query)
    return HAMModel(inputs, outputs, name=f"ham_{task.name}", **model_kwargs)


def _set_ham_memory_size(config, memory_size):
    """Set `memory_size` in every HAMCell config nested in `config`; count them."""
    found = 0
    if isinstance(config, dict):
        if config.get("class_name") == "HAMCell" or config.get(
                "registered_name") == "keras_memory>HAMCell":
            config["config"]["memory_size"] = memory_size
            found += 1
        for value in config.values():
            found += _set_ham_memory_size(value, memory_size)
    elif isinstance(config, (list, tuple)):
        for value in config:
            found += _set_ham_memory_size(value, memory_size)
    return found


def with_memory_size(model, memory_size):
    """A copy of a model with every `HAMCell` tree resized to `memory_size` leaves.

    The weights do not depend on the number of leaves (section 3.2), so a
    model trained at 32 leaves runs at 128 for the generalization test. Works
    for any functional or sequential model whose config holds its
    `HAMCell`s (the models of `build_ham_model`, `HAMModel`s built with
    `reinforce_outputs`, `keras.Sequential` stacks), not only the package's
    tasks. The copy is not compiled.

    Args:
        model: A model holding one or more `HAMCell`s.
        memory_size: Leaves of the new trees, a power of two `>= 2`.

    Returns:
        A new model of the same class with the same weights.
    """
    if (isinstance(memory_size, bool) or not isinstance(memory_size, (int, np.integer))
            or memory_size < 2 or memory_size & (memory_size - 1)):
        raise ValueError("with_memory_size: `memory_size` must be a power of two >= 2. "
                         f"Received: memory_size={memory_size!r}")
    config = keras.saving.serialize_keras_object(model)
    if not _set_ham_memory_size(config, int(memory_size)):
        raise ValueError(
            f"with_memory_size: the model {model.name!r} holds no HAMCell in its config."
        )
    resized = keras.saving.deserialize_keras_object(config)
    resized.set_weights(model.get_weights())
    return resized


def sequence_error(model, task, split="validation", num_batches=10, batch_size=50, seed=0):
    """The paper's metric: percent of sequences with any wrong output bit.

    Greedy decisions (inference mode) on `num_batches` fresh batches of
    `split` drawn one after another from `np.random.default_rng(seed)`
    (Andrychowicz & Kurach, 2016, section 4.1); `batches_sequence_error`
    scores them.

    Args:
        model: A `build_ham_model` model (or any model whose output, or its
            `"logits"` entry, holds bit logits).
        task: The HAM task.
        split: `"train"`, `"validation"` or `"generalization"`.
        num_batches: Batches to draw.
        batch_size: Sequences per batch.
        seed: Seed of the batches.

    Returns:
        The error in percent, a float.
    """
    task = get_task(task)
    rng = np.random.default_rng(seed)
    return batches_sequence_error(
        model, (task.generate(rng, batch_size, split=split) for _ in range(int(num_batches)))
    )


def batches_sequence_error(model, batches):
    """Percent of the sequences of `batches` with any wrong output bit.

    The one implementation of the HAM paper's error (section 4.1) that the
    package's HAM loops use: greedy decisions (`model.predict_on_batch`),
    only scored steps (`sample_weight > 0`) count, and only sequences with a
    scored step (`keras_memory.metrics.score_counts`, as
    `keras_memory.metrics.SequenceAccuracy`); 0 when no sequence has one.

    Args:
        model: A model whose output, or its `"logits"` entry, holds bit logits.
        batches: An iterable of `(x, y, sample_weight)` batches.

    Returns:
        The error in percent, a float.
    """
    wrong = total = 0
    for x, y, w in batches:
        logits = model.predict_on_batch(x)
        if isinstance(logits, dict):
            logits = logits["logits"]
        counts = score_counts(logits, y, w, from_logits=True, output_type="bits")
        wrong += counts["sequences"] - counts["right_sequences"]
        total += counts["sequences"]
    return 100.0 * wrong / max(total, 1)


class TreeCurriculum(keras.callbacks.Callback):
    """The paper's curriculum: double the tree when the error falls below a threshold.

    Andrychowicz & Kurach (2016), section 4.2: training starts on a tree of
    `start_leaves` leaves with inputs of lengths `U[1, n]`; whenever the
    validation error (the share of output sequences with any wrong bit)
    falls below `threshold`, the tree doubles, up to the cell's
    `memory_size` (the paper: 32). The paper gives neither the start nor
    the threshold; the defaults are our choice.

    The model is built once, at the full size: the callback calls
    `cell.set_active_leaves(n)` (the decisions above the leftmost subtree of
    `n` leaves go left and count in no REINFORCE term, so the cell computes
    what a cell of `n` leaves would) and sets the task's sizes:
    `max_length` to the longest input that fits in `n` leaves for a
    `TreeTask`, `num_operations = n` for a raw-HAM `DataStructureTask`.
    Train on `curriculum.dataset(...)`: its batches follow the task's sizes
    and their shapes may change between stages (a `keras.utils.PyDataset`
    fixes its shapes from its first batches). At the end of every epoch below the full size it measures the
    error on `validation_batches` fresh validation batches with greedy
    decisions, and adds `curriculum_leaves` and `curriculum_error` (in
    percent) to the epoch's logs. At the end of training the cell and the
    task are left at the full size, ready for the paper's test.

    The stage is an attribute (`leaves`): set it before `fit` to resume.

    Args:
        cell: The model's `HAMCell`, or `None` for a model without one (the
            encoder-decoder baselines of `keras_memory.baselines`, which
            read inputs of any length up to the full size): then only the
            task's sizes follow the stage, up to `task.num_leaves`.
        task: The `TreeTask` or `DataStructureTask` the training data comes
            from.
        start_leaves: Leaves of the first stage, a power of two. Defaults
            to `2`. A tree too small for the task's shortest input (Add's
            `a + b` of one bit each takes 4 leaves) would leave part of
            every input out of the memory: the first stage is then the
            smallest tree that holds it.
        threshold: Validation sequence error (a fraction) below which the
            tree doubles. Defaults to `0.05`.
        validation_batches: Batches of the validation error. Defaults to
            `10`.
        batch_size: Validation batch size. Defaults to `50` (the paper's).
        seed: Seed of the validation batches (one fresh draw per epoch).
        verbose: `1` prints every change of stage.

    Example:

    ```python
    task = keras_memory.tasks.get("ham_reverse", num_leaves=32)
    cell = keras_memory.HAMCell(units=20, memory_size=32, seed=1)
    model = keras_memory.reinforce.build_ham_model(cell, task)
    model.compile(keras.optimizers.Adam(1e-3, global_clipnorm=5.0),
                  weighted_metrics=task.metrics())
    curriculum = keras_memory.reinforce.TreeCurriculum(cell, task, start_leaves=4)
    model.fit(curriculum.dataset(batch_size=50, num_batches=1000), epochs=100,
              callbacks=[curriculum])
    ```
    """

    def __init__(self, cell, task, start_leaves=2, threshold=0.05, validation_batches=10,
                 batch_size=50, seed=0, verbose=1):
        super().__init__()
        if cell is not None and not isinstance(cell, HAMCell):
            raise ValueError(
                f"TreeCurriculum: `cell` must be a HAMCell or None. Received: {cell!r}")
        task = get_task(task)
        if not isinstance(task, (TreeTask, DataStructureTask)):
            raise ValueError("TreeCurriculum: `task` must be a TreeTask or a DataStructureTask. "
                             f"Received: {task!r}")
        if not 0.0 <= float(threshold) <= 1.0:
            raise ValueError("TreeCurriculum: `threshold` is a fraction of sequences, in "
                             f"[0, 1]. Received: threshold={threshold!r}")
        self.cell, self.task = cell, task
        self.full_leaves = (cell.memory_size if cell is not None
                            else getattr(task, "num_leaves", None)
                            or getattr(task, "num_operations"))
        self.threshold = float(threshold)
        self.validation_batches = int(validation_batches)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.verbose = verbose
        self._full = {"max_length": getattr(task, "max_length", None),
                      "min_length": getattr(task, "min_length", None),
                      "num_operations": getattr(task, "num_operations", None)}
        self._check_leaves(start_leaves)
        holds = 1 if isinstance(task, DataStructureTask) else task.leaves_needed(task.shortest)
        self.leaves = max(int(start_leaves), 1 << (holds - 1).bit_length())
        if verbose and self.leaves > start_leaves:
            print(f"TreeCurriculum: the shortest input of {task.name} takes {holds} leaves: "
                  f"the first stage has {self.leaves} leaves, not {start_leaves}")
        self.history = []

    def _check_leaves(self, leaves):
        n = self.full_leaves
        if isinstance(leaves, bool) or not isinstance(leaves, int) or not (
                1 <= leaves <= n and leaves & (leaves - 1) == 0):
            raise ValueError("TreeCurriculum: `start_leaves` must be a power of two <= the "
                             f"full size {n}. Received: {leaves!r}")

    def _apply(self, leaves):
        if self.cell is not None:
            self.cell.set_active_leaves(leaves)
        task, full = self.task, self._full
        if isinstance(task, DataStructureTask):
            task.num_operations = min(leaves, full["num_operations"])
            return
        longest = full["max_length"]
        while longest > task.shortest and task.leaves_needed(longest) > leaves:
            longest -= 1
        task.max_length = longest
        task.min_length = min(full["min_length"], longest)

    def dataset(self, batch_size=50, num_batches=1000, seed=0):
        """Training batches of the task at the current stage.

        Every epoch (every new iteration) draws `num_batches` fresh batches
        of `batch_size` from `np.random.default_rng([seed, epoch])`, with the
        sizes the task has when each batch is drawn, so the shapes can change
        with the stage. On TensorFlow this is a `tf.data.Dataset` whose
        axes but the last have unknown lengths (a `keras.utils.PyDataset`
        would fix them from its first batches there); on JAX and PyTorch it
        is a `CurriculumBatches`, which draws the same batches.
        """
        if keras.backend.backend() != "tensorflow":
            return CurriculumBatches(self.task, batch_size, num_batches, seed)
        import tensorflow as tf

        task = self.task
        sample = task.generate(np.random.default_rng(0), 1)
        signature = keras.tree.map_structure(
            lambda a: tf.TensorSpec((None,) * (a.ndim - 1) + (a.shape[-1],) if a.ndim > 2
                                    else (None,) * a.ndim, tf.float32), sample)
        epochs = [0]

        def batches():
            rng = np.random.default_rng([seed, epochs[0]])
            epochs[0] += 1
            for _ in range(num_batches):
                yield task.generate(rng, batch_size)

        return tf.data.Dataset.from_generator(batches, output_signature=signature)

    def validation_error(self):
        """Percent of validation sequences with any wrong bit at the current stage."""
        return sequence_error(self.model, self.task, "validation", self.validation_batches,
                              self.batch_size, seed=self.seed * 100_003 + len(self.history))

    def on_train_begin(self, logs=None):
        self._apply(self.leaves)

    def on_epoch_end(self, epoch, logs=None):
        if self.leaves >= self.full_leaves:
            return
        error = self.validation_error()
        self.history.append({"epoch": epoch + 1, "leaves": self.leaves, "error": error})
        if logs is not None:
            logs["curriculum_leaves"] = self.leaves
            logs["curriculum_error"] = error
        if error < 100.0 * self.threshold:
            self.leaves *= 2
            self._apply(self.leaves)
            if self.verbose:
                print(f"\nTreeCurriculum: validation error {error:.2f}% < "
                      f"{100 * self.threshold:g}%: the tree grows to {self.leaves} leaves")

    def on_train_end(self, logs=None):
        self._apply(self.full_leaves)

    @contextlib.contextmanager
    def at_full_size(self):
        """A block in which the cell and the task have their full size, then the stage again.

        For measuring the model at the full size between the epochs of a
        stage (`keras_memory.recipes.ham.EpochValidation`).
        """
        self._apply(self.full_leaves)
        try:
            yield
        finally:
            self._apply(self.leaves)


class CurriculumBatches(keras.utils.PyDataset):
    """Fresh batches of a task each epoch, at the sizes the task has when they are drawn.

    What `TreeCurriculum.dataset` returns on JAX and PyTorch. Epoch `e` (the
    `e`-th call of `on_epoch_begin`, counting from 0; Keras begins one when it
    first reads a batch to build the model) draws batch after batch from
    `np.random.default_rng([seed, e])`: batch `i` is the `i`-th draw of
    `task.generate(rng, batch_size)`, whichever order Keras asks for the
    batches in (it shuffles them by default). These are the batches the
    `tf.data.Dataset` of `TreeCurriculum.dataset` yields on TensorFlow in
    its `e`-th iteration. A batch is drawn when it is first asked for, with
    the task's sizes at that time, so its shapes follow the curriculum's
    stage.

    Args:
        task: An `AlgorithmicTask` (a `TreeTask` or `DataStructureTask` for
            the curriculum).
        batch_size: Sequences per batch.
        num_batches: Batches per epoch.
        seed: Non-negative integer seed.

    Example:

    >>> task = keras_memory.tasks.get("ham_reverse", num_leaves=8)
    >>> data = CurriculumBatches(task, batch_size=4, num_batches=10, seed=0)
    >>> data.on_epoch_begin()
    >>> x, y, w = data[0]
    """

    def __init__(self, task, batch_size=50, num_batches=1000, seed=0):
        super().__init__()
        self.task = get_task(task)
        for name, value, low in (("batch_size", batch_size, 1), ("num_batches", num_batches, 1),
                                 ("seed", seed, 0)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"CurriculumBatches: `{name}` must be an integer >= {low}. "
                                 f"Received: {name}={value!r}")
        self.batch_size, self._num_batches, self.seed = int(batch_size), int(num_batches), int(seed)
        self.epoch = -1
        self._rng = None
        self._states = []  # the generator's state before each batch drawn so far

    def __len__(self):
        return self._num_batches

    def on_epoch_begin(self):
        self.epoch += 1
        self._rng = None
        self._states = []

    def __getitem__(self, index):
        index = int(index)
        if not 0 <= index < self._num_batches:
            raise IndexError(f"CurriculumBatches: batch index {index} out of range for "
                             f"{self._num_batches} batches per epoch")
        if self._rng is None:
            self._rng = np.random.default_rng([self.seed, max(self.epoch, 0)])
        while len(self._states) <= index:
            # Draw in order up to `index`, remembering where each batch starts.
            self._states.append(self._rng.bit_generator.state)
            batch = self.task.generate(self._rng, self.batch_size)
            if len(self._states) == index + 1:
                return batch
        rng = np.random.Generator(np.random.PCG64())
        rng.bit_generator.state = self._states[index]
        return self.task.generate(rng, self.batch_size)
