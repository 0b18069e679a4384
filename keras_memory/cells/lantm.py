"""The Lie-access Neural Turing Machine cell (Yang & Rush, 2017)."""

import keras
import numpy as np
from keras import ops

from keras_memory.addressing import lantm as addressing
from keras_memory.cells.appended import AppendedMemoryCell
from keras_memory.validation import check_bool, check_option

KEY_SPACES = ("plane", "sphere")
WEIGHTINGS = ("inverse_square", "softmax")
#: `bias_gate_write = -10`: the write head starts out purely relative (Lie access).
WRITE_GATE_BIAS = -10.0


@keras.saving.register_keras_serializable(package="keras_memory")
class LANTMCell(AppendedMemoryCell):
    """Cell class for the Lie-access Neural Turing Machine (LANTM and SLANTM).

    Memory is a list of `(key, value, strength)` entries whose keys live in a
    key space, the plane `R^2` (LANTM) or the sphere `S^2` (SLANTM). A read
    and a write head are points of that space. Each step they move, either by
    a jump to a key the controller proposes (random access) or by the action
    of a Lie group element (relative access): a translation of the plane or a
    rotation of the sphere. Reading weighs every entry by how close its key is
    to the read head; writing appends a new entry at the write head, so the
    memory grows by one entry per step (Yang & Rush, 2017, section 3).

    Each step, following the authors' code (`models/lantm.lua`,
    `models/slantm.lua`) where the paper is silent:

    1. The controller, an LSTM of `units`, reads `[embedding(x_t), r_{t-1}]`.
       One linear map of its new state `h_t` gives every head parameter.
    2. Random-access interpolation (section 3.2): per head a candidate key
       `q_cand` and a gate `g = sigmoid(.)` give
       `q_bar = g q_cand + (1 - g) q_{t-1}` (on the sphere both are
       projected onto it). The write gate has a bias of -10, so the write
       head starts purely relative, as in the authors' code.
    3. The Lie action (section 3.1). Plane: a translation
       `q_t = q_bar + a`, with `a` bounded to `a / (1 + |a|^2)^(1/2)`
       (`bound_action`). Sphere: a rotation of `q_bar` about the unit axis
       `u` by the angle `theta = tanh(.)` (times a learned bound
       `pi * sigmoid(b - 5)` with `bound_action`), by Rodrigues' formula.
       With `action_interpolation` (Appendix B) the action is first mixed with
       the previous one by a further gate.
    4. Read (section 3.2) the memory as it was before this step's write.
       `weighting="inverse_square"`: `w_i proportional to 1/(|q - k_i|^2 +
       1e-10)` (a head sitting on a key gives it the limit weight, never a
       NaN); `weighting="softmax"`: `softmax(-|q - k_i|^2 / softplus(T))` with
       a learned temperature `T`. Both are then multiplied by the strengths,
       `w_i <- (s_i w_i + 1e-9) / sum_j (s_j w_j + 1e-9)`, and
       `r_t = sum_i w_i v_i`.
    5. Write (section 3): append `(q_t^write, tanh(.), sigmoid(.))`.
    6. The output is `[h_t, c_t r_t, c_t]` with a gate
       `c_t = sigmoid(.)`. A `keras.layers.Dense` after the RNN then computes
       exactly the authors' prediction `W_p h + b_p + c_t (W_r r_t + b_r)`.

    The memory is preallocated: `memory_capacity` slots, of which the first
    holds a learned initial entry (strength `sigmoid(b - 10)`, nearly empty,
    as in the authors' code). Slots never written take no part in reading, so
    the preallocated memory reads exactly like the paper's growing list. A
    sequence of `T` steps needs `T + 1` slots; when the memory is full, the
    next entry replaces the least recently used slot (last written, or read
    with weight at least `usage_threshold`), the bound the paper suggests
    (section 6), instead of failing or dropping the entry.

    The initial controller state, read vector, heads and actions are learned
    vectors (the authors' `learnable_init_states`), uniform in (-1, 1) at
    first. The default initializers are Torch's (uniform in
    `+-1/sqrt(fan_in)`), which most of the paper's configurations use, with
    one difference: the controller's forget gates start with bias 1 (Keras'
    `unit_forget_bias`), where the authors' code leaves them uniform like
    the other biases (pass `forget_bias` to set another value). The other
    configurations (`init_magnitude=1`) correspond to
    `kernel_initializer=keras.initializers.RandomUniform(-1, 1)` and
    `forget_bias=2.0`.

    Under a mixed-precision policy the controller and embedding compute in
    half precision; the memory, the heads and every state stay in float32.

    The state is a list of 2-D tensors: `[h, c, r, heads, actions, keys,
    values, strengths, last_used, time]` with sizes `units, units, W, 2k,
    2a, C k, C W, C, C, 1`, where `k` is 2 on the plane and 3 on the sphere,
    `a` is `k` on the plane (the translations) and 5 on the sphere (an axis
    and the cosine and sine of an angle), and `C` is `memory_capacity`.
    `split_memory(states)` unpacks the memory.

    Args:
        units: Positive integer, size of the LSTM controller (the paper: 50).
        memory_width: Positive integer, width `W` of the stored values.
            Defaults to `20`.
        key_space: `"plane"` (LANTM, translations of `R^2`) or `"sphere"`
            (SLANTM, rotations of `S^2`). Defaults to `"plane"`.
        weighting: `"inverse_square"` (LANTM, SLANTM) or `"softmax"`
            (LANTM-s, SLANTM-s). Defaults to `"inverse_square"`.
        action_interpolation: Boolean, mix each action with the previous one
            (Appendix B). Defaults to `False` (every result in Table 1).
        bound_action: Boolean or `None`. Plane: bound the translation to
            `|a| < 1`. Sphere: bound the angle by a learned
            `pi * sigmoid(b - 5)`. `None` picks what most of the paper's
            configurations use: `True` on the plane, `False` on the sphere.
        memory_capacity: Positive integer, number of preallocated slots,
            including the initial one. A sequence of `T` steps fits in
            `T + 1` slots. Defaults to `128`.
        embedding_size: Optional positive integer. If set, the input (a
            one-hot symbol) goes through a linear embedding without bias
            (Torch's lookup table, N(0, 1)) before the controller; the paper
            uses 14. Defaults to `None` (the controller reads the input).
        write_flag_input: Boolean. If `True`, the last input feature is a
            0/1 write flag that is not given to the controller: a step with
            flag 0 appends nothing (the authors discard the entries written
            while the model answers). Defaults to `False`.
        usage_threshold: Float in (0, 1]; a read with at least this weight
            counts as a use for the least-recently-used eviction.
            Defaults to `0.01`.
        return_weightings: Boolean. If `True`, the output also holds the read
            head, the write head and the read weights (see `split_output`),
            for plotting head trajectories. Defaults to `False`.
        kernel_initializer: Initializer of the controller's kernels and the
            head layer. Defaults to Torch's, uniform in `+-1/sqrt(fan_in)`.
        forget_bias: Optional float; if set, the controller's forget-gate
            bias starts at this value. Defaults to `None`: 1 (Keras'
            `unit_forget_bias`), the other gates' biases uniform in
            `+-1/sqrt(units)`.
        seed: Optional integer seed of the initializers.
        project_initial_key: Boolean, sphere only. If `True`, the learned key
            of the initial memory slot is projected onto the sphere, where the
            heads can reach it. The authors' code leaves it raw (the default);
            the paper is silent. On SLANTM repeat copy more seeds generalize
            with it projected (see docs/results.md). Defaults to `False`.
        **kwargs: Other keyword arguments of `keras.layers.Layer`.

    Attributes:
        output_size: `units + W + 1`, plus `2k + C` with
            `return_weightings=True`.
        state_size: See above.

    Call arguments:
        inputs: A 2-D tensor of shape `(batch, features)`.
        states: The list of 10 state tensors of the previous step.
        training: Python boolean, passed to the controller.

    Example:

    >>> inputs = np.random.random((32, 10, 12)).astype("float32")
    >>> rnn = keras.layers.RNN(
    ...     LANTMCell(units=50, key_space="sphere", memory_capacity=11),
    ...     return_sequences=True,
    ... )
    >>> rnn(inputs).shape
    (32, 10, 71)

    Reference:
        - [Yang & Rush, 2017. Lie-Access Neural Turing Machines](
          https://arxiv.org/abs/1611.02854)
    """

    _name = "LANTMCell"

    def __init__(
        self,
        units=50,
        memory_width=20,
        key_space="plane",
        weighting="inverse_square",
        action_interpolation=False,
        bound_action=None,
        memory_capacity=128,
        embedding_size=None,
        write_flag_input=False,
        usage_threshold=0.01,
        return_weightings=False,
        kernel_initializer=None,
        forget_bias=None,
        seed=None,
        project_initial_key=False,
        **kwargs,
    ):
        self.key_space = check_option("key_space", key_space, KEY_SPACES, self._name)
        if not isinstance(project_initial_key, (bool, np.bool_)) or (
            project_initial_key and self.key_space != "sphere"
        ):
            raise ValueError(
                f"{self._name}: `project_initial_key` must be a boolean, and True only "
                f"with key_space='sphere'. Received: project_initial_key="
                f"{project_initial_key!r} with key_space={self.key_space!r}"
            )
        self.project_initial_key = bool(project_initial_key)
        self.weighting = check_option("weighting", weighting, WEIGHTINGS, self._name)
        self.action_interpolation = check_bool(
            "action_interpolation", action_interpolation, self._name
        )
        if bound_action is not None and not isinstance(bound_action, (bool, np.bool_)):
            raise ValueError(
                f"{self._name}: `bound_action` must be True, False or None. "
                f"Received: bound_action={bound_action!r}"
            )
        if bound_action is not None:
            bound_action = bool(bound_action)
        self.bound_action = self.key_space == "plane" if bound_action is None else bound_action
        self._bound_action_arg = bound_action
        self.action_size = 2 if self.key_space == "plane" else 5
        super().__init__(
            units,
            memory_width=memory_width,
            key_size=2 if self.key_space == "plane" else 3,
            memory_capacity=memory_capacity,
            embedding_size=embedding_size,
            write_flag_input=write_flag_input,
            usage_threshold=usage_threshold,
            return_weightings=return_weightings,
            kernel_initializer=kernel_initializer,
            forget_bias=forget_bias,
            seed=seed,
            **kwargs,
        )

    # ------------------------------------------------------------ the layout
    def _head_layout(self):
        key = 2 if self.key_space == "plane" else 3
        layout = [("read_key", key), ("write_key", key)]
        if self.key_space == "plane":
            layout += [("read_action", key), ("write_action", key)]
        else:
            layout += [("read_axis", 3), ("write_axis", 3), ("read_angle", 1), ("write_angle", 1)]
        layout += [("read_gate", 1), ("write_gate", 1)]
        if self.weighting == "softmax":
            layout.append(("temperature", 1))
        if self.action_interpolation:
            layout += [("read_action_gate", 1), ("write_action_gate", 1)]
        layout += [
            ("write_value", self.memory_width),
            ("write_strength", 1),
            ("read_coefficient", 1),
        ]
        return layout

    def _extra_state_sizes(self):
        key = 2 if self.key_space == "plane" else 3
        return [2 * key, 2 * self.action_size]

    def _output_size(self):
        size = self.units + self.memory_width + 1
        if self.return_weightings:
            size += 2 * self.key_size + self.memory_capacity
        return size

    # ------------------------------------------------------------------ build
    def _build_heads(self):
        self.initial_heads = self._uniform_weight((2, self.key_size), "initial_heads", 20)
        if self.key_space == "plane":
            self.initial_actions = self._uniform_weight((2, 2), "initial_actions", 21)
        else:
            self.initial_axes = self._uniform_weight((2, 3), "initial_axes", 21)
            self.initial_angles = self._uniform_weight((2,), "initial_angles", 22)
            if self.bound_action:
                self.angle_bound_logits = self._uniform_weight((2,), "angle_bound_logits", 23)

    def _initial_memory_key(self):
        if self.project_initial_key:  # Not in the authors' code: see the docstring.
            return addressing.normalize(self.initial_memory_keys)
        return super()._initial_memory_key()

    def _initial_key(self, raw):
        return addressing.normalize(raw) if self.key_space == "sphere" else raw

    def _max_angle(self):
        """The bound on each head's angle: `pi * sigmoid(b - 5)`, or 1 radian unbounded."""
        if self.bound_action:
            return addressing.angle_bound(self.angle_bound_logits)
        return ops.ones((2,), self.compute_dtype)

    def _initial_extra_states(self, tile):
        heads = tile(self._initial_key(self.initial_heads))
        if self.key_space == "plane":
            actions = self.initial_actions
            if self.bound_action:
                actions = addressing.bound_translation(actions)
            return [heads, tile(actions)]
        axes = addressing.normalize(self.initial_axes)
        angles = self._max_angle() * ops.tanh(self.initial_angles)
        trig = ops.stack([ops.cos(angles), ops.sin(angles)], axis=-1)
        return [heads, tile(ops.concatenate([axes, trig], axis=-1))]

    # ------------------------------------------------------------------- step
    def _move_heads(self, parts, extra):
        heads, actions = extra
        key = self.key_size
        new_heads, new_actions = [], []
        gate_biases = {"read": 0.0, "write": WRITE_GATE_BIAS}
        previous_actions = ops.reshape(actions, (-1, 2, self.action_size))
        previous_heads = ops.reshape(heads, (-1, 2, key))
        max_angle = self._max_angle() if self.key_space == "sphere" else None
        for index, head in enumerate(("read", "write")):
            gate = ops.sigmoid(parts[f"{head}_gate"] + gate_biases[head])
            # Random-access interpolation (section 3.2).
            q_bar = addressing.interpolate_head(
                parts[f"{head}_key"], previous_heads[:, index], gate, self.key_space
            )
            previous_action = previous_actions[:, index]
            if self.action_interpolation:
                # Appendix B. The authors' read gate is sigmoid(sigmoid(x)), a
                # slip; this is the clean sigmoid(x + bias) the paper writes.
                action_gate = ops.sigmoid(parts[f"{head}_action_gate"] + gate_biases[head])
            if self.key_space == "plane":
                action = parts[f"{head}_action"]
                if self.bound_action:
                    action = addressing.bound_translation(action)
                if self.action_interpolation:
                    action = action_gate * action + (1.0 - action_gate) * previous_action
                q_t = q_bar + action  # The translation (section 3.1).
            else:
                axis = addressing.normalize(parts[f"{head}_axis"])
                angle = max_angle[index] * ops.tanh(parts[f"{head}_angle"])
                trig = ops.concatenate([ops.cos(angle), ops.sin(angle)], axis=-1)
                if self.action_interpolation:
                    axis = addressing.normalize(
                        action_gate * axis + (1.0 - action_gate) * previous_action[:, :3]
                    )
                    trig = addressing.normalize(
                        action_gate * trig + (1.0 - action_gate) * previous_action[:, 3:]
                    )
                action = ops.concatenate([axis, trig], axis=-1)
                # The rotation (section 3.1, Rodrigues' formula).
                q_t = addressing.rodrigues_rotate(q_bar, axis, trig[:, :1], trig[:, 1:])
            new_heads.append(q_t)
            new_actions.append(action)
        extra = [ops.concatenate(new_heads, axis=-1), ops.concatenate(new_actions, axis=-1)]
        return new_heads[0], extra, new_heads[1]

    def _weigh(self, query, keys, valid, parts):
        distances = addressing.squared_distances(query, keys)
        if self.weighting == "inverse_square":
            return addressing.inverse_square_weights(distances, valid)
        return addressing.softmax_distance_weights(distances, parts["temperature"], valid)

    def _after_read(self, weights, keys, valid, extra):
        return extra

    def _output(self, h, read, parts, extra, weights):
        coefficient = ops.sigmoid(parts["read_coefficient"])
        outputs = [h, coefficient * read, coefficient]
        if self.return_weightings:
            outputs += [extra[0], weights]
        return ops.concatenate(outputs, axis=-1)

    def split_output(self, outputs):
        """Split the cell's output (or an RNN's output sequence) into its parts.

        Args:
            outputs: A tensor or array whose last axis has size `output_size`.

        Returns:
            A dict with `"controller"` (`..., units`), `"read"` (the gated
            read `c_t r_t`, `..., W`), `"read_coefficient"` (`..., 1`) and,
            with `return_weightings=True`, `"read_head"`, `"write_head"`
            (`..., k`) and `"read_weightings"` (`..., C`).
        """
        units, width, key = self.units, self.memory_width, self.key_size
        parts = {
            "controller": outputs[..., :units],
            "read": outputs[..., units : units + width],
            "read_coefficient": outputs[..., units + width : units + width + 1],
        }
        if self.return_weightings:
            start = units + width + 1
            parts["read_head"] = outputs[..., start : start + key]
            parts["write_head"] = outputs[..., start + key : start + 2 * key]
            parts["read_weightings"] = outputs[..., start + 2 * key :]
        return parts

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "key_space": self.key_space,
                "weighting": self.weighting,
                "action_interpolation": self.action_interpolation,
                "bound_action": self._bound_action_arg,
                "project_initial_key": self.project_initial_key,
            }
        )
        return config

