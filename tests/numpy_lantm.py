"""A NumPy reference of LANTM, SLANTM, RAM and RAM/Tape, written from the paper.

Yang & Rush (2017), "Lie-Access Neural Turing Machines", sections 3 and 5,
with the details the paper leaves open taken from the authors' Torch code as
the dossier describes it (`/work/shared/research/lantm_ntm.md`, sections
1.2-1.8). Written entry by entry in float64, without `keras`, so that it
checks `LANTMCell` and `RAMCell` independently of how they vectorise.

The memory here is the paper's: a Python list of `(key, value, strength)`
entries that grows by one entry per written step. There is no preallocation,
no mask and no eviction, so a cell whose capacity is large enough must read
and write exactly like it.
"""

import numpy as np

WRITE_GATE_BIAS = -10.0  # `bias_gate_write`
READ_GATE_BIAS = 0.0  # `bias_gate_read`
INITIAL_STRENGTH_BIAS = -10.0  # `bias_init_mem_strength`
ANGLE_BOUND_BIAS = -5.0  # `angle_bound_bias`
SPHERE_EPS = 1e-10
INVERSE_SQUARE_EPS = 1e-10
TEMPERATURE_FLOOR = 1e-6
READ_EPS = 1e-9  # `epsilon_read_weight`
NORMALIZE_EPS = 1e-10


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softplus(x):
    return np.logaddexp(0.0, x)


def softmax(x):
    x = np.asarray(x, dtype="float64")
    e = np.exp(x - x.max())
    return e / e.sum()


def normalize(x):
    """Projection onto the unit sphere, `x / sqrt(1e-10 + |x|^2)`."""
    return x / np.sqrt(SPHERE_EPS + float(np.sum(x * x)))


def lstm_step(x, h, c, kernel, recurrent_kernel, bias):
    """keras.layers.LSTMCell's step (gates in the order i, f, c, o)."""
    z = x @ kernel + h @ recurrent_kernel + bias
    i, f, g, o = np.split(z, 4)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    h = sigmoid(o) * np.tanh(c)
    return h, c


def rotate(point, axis, cos_angle, sin_angle):
    """Rotation about `axis` as a matrix, `R = cos I + sin [u]x + (1 - cos) u u^T`."""
    x, y, z = axis
    skew = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    matrix = cos_angle * np.eye(3) + sin_angle * skew + (1.0 - cos_angle) * np.outer(axis, axis)
    return matrix @ point


# ----------------------------------------------------------------- settings
def resolve(cfg):
    """Fills the documented defaults into a config dict (e.g. `cell.get_config()`).

    `cfg["model"]` is `"lantm"` or `"ram"`.
    """
    cfg = dict(cfg)
    cfg.setdefault("embedding_size", None)
    cfg.setdefault("write_flag_input", False)
    cfg.setdefault("return_weightings", False)
    if cfg["model"] == "lantm":
        cfg.setdefault("key_space", "plane")
        cfg.setdefault("weighting", "inverse_square")
        cfg.setdefault("action_interpolation", False)
        if cfg.get("bound_action") is None:
            # The paper's configurations: bounded on the plane, not on the sphere.
            cfg["bound_action"] = cfg["key_space"] == "plane"
        cfg["key_size"] = 2 if cfg["key_space"] == "plane" else 3
        cfg["initial_slots"] = 1
    else:
        cfg.setdefault("tape", False)
        cfg.setdefault("sharpen", False)
        cfg["initial_slots"] = 2 if cfg["tape"] else 1
    return cfg


def head_layout(cfg):
    """The order of the head parameters in the controller's one linear map."""
    k, width = cfg["key_size"], cfg["memory_width"]
    if cfg["model"] == "ram":
        layout = [("read_key", k), ("write_key", k)]
        if cfg["sharpen"]:
            layout.append(("sharpening", 1))
        if cfg["tape"]:
            layout.append(("link_gate", 3))
        return layout + [("write_value", width), ("write_strength", 1)]
    layout = [("read_key", k), ("write_key", k)]
    if cfg["key_space"] == "plane":
        layout += [("read_action", 2), ("write_action", 2)]
    else:
        layout += [("read_axis", 3), ("write_axis", 3), ("read_angle", 1), ("write_angle", 1)]
    layout += [("read_gate", 1), ("write_gate", 1)]
    if cfg["weighting"] == "softmax":
        layout.append(("temperature", 1))
    if cfg["action_interpolation"]:
        layout += [("read_action_gate", 1), ("write_action_gate", 1)]
    return layout + [("write_value", width), ("write_strength", 1), ("read_coefficient", 1)]


def split_parameters(params, cfg):
    parts, start = {}, 0
    for name, size in head_layout(cfg):
        parts[name] = params[start:start + size]
        start += size
    assert start == len(params), (start, len(params))
    return parts


# ------------------------------------------------------------ initial state
def initial_state(weights, cfg):
    """The learned initial state (dossier section 1.7).

    Returns a dict with `h`, `c`, `r`, the memory list and, for LANTM,
    `heads` (2, k) and the previous actions (`translations` (2, 2) on the
    plane; `axes` (2, 3) and `trig` (2, 2) on the sphere), for RAM/Tape
    `forward` and `backward`.
    """
    sphere = cfg["model"] == "lantm" and cfg["key_space"] == "sphere"
    keys = weights["initial_memory_keys"]
    memory = []
    for i in range(cfg["initial_slots"]):
        # Raw on the sphere too (models/slantm.lua: `keys_` is not `Sproject`ed).
        key = keys[i].copy()
        value = np.tanh(weights["initial_memory_values"][i])
        strength = sigmoid(weights["initial_memory_strengths"][i] + INITIAL_STRENGTH_BIAS)
        memory.append((key, value, float(strength)))
    state = {
        "h": weights["initial_controller"][0].copy(),
        "c": weights["initial_controller"][1].copy(),
        "r": np.tanh(weights["initial_read"]),
        "memory": memory,
    }
    if cfg["model"] == "lantm":
        heads = weights["initial_heads"]
        state["heads"] = [normalize(q) if sphere else q.copy() for q in heads]
        if not sphere:
            translations = weights["initial_actions"]
            if cfg["bound_action"]:
                translations = [a / np.sqrt(1.0 + np.sum(a * a)) for a in translations]
            state["translations"] = [np.array(a) for a in translations]
        else:
            state["axes"] = [normalize(u) for u in weights["initial_axes"]]
            trig = []
            for index in range(2):
                angle = np.tanh(weights["initial_angles"][index]) * max_angle(weights, cfg, index)
                trig.append(np.array([np.cos(angle), np.sin(angle)]))
            state["trig"] = trig
    elif cfg["tape"]:
        state["forward"] = weights["initial_tape_keys"][0].copy()
        state["backward"] = weights["initial_tape_keys"][1].copy()
    return state


def max_angle(weights, cfg, index):
    """`pi * sigmoid(b - 5)` with a bounded action, 1 radian without."""
    if cfg["bound_action"]:
        return np.pi * sigmoid(weights["angle_bound_logits"][index] + ANGLE_BOUND_BIAS)
    return 1.0


# ----------------------------------------------------------------- reading
def with_strengths(w, memory):
    """`w_i <- (s_i w_i + 1e-9) / (sum_j (s_j w_j + 1e-9) + 1e-10)`."""
    scaled = np.array([s * wi + READ_EPS for wi, (_, _, s) in zip(w, memory)])
    return scaled / (scaled.sum() + NORMALIZE_EPS)


def read_values(w, memory):
    return sum(wi * value for wi, (_, value, _) in zip(w, memory))


def _controller(x, state, weights, cfg):
    if cfg["embedding_size"] is not None:
        x = x @ weights["embedding"]
    return lstm_step(
        np.concatenate([x, state["r"]]), state["h"], state["c"],
        weights["kernel"], weights["recurrent_kernel"], weights["bias"],
    )


def _pad(w, capacity):
    out = np.zeros(capacity)
    out[:len(w)] = w
    return out


# -------------------------------------------------------------------- steps
def lantm_step(x, write, state, weights, cfg):
    """One LANTM / SLANTM step for one example.

    Args:
        x: the controller's input vector (without the write flag).
        write: bool, whether this step appends its entry.
        state: dict from `initial_state` or a previous step (not modified).
        weights: dict of the cell's weights as float64 arrays.
        cfg: `resolve`d config.

    Returns:
        `(output, new_state, info)`, `info` holding the read weights over
        the entries present and the two heads.
    """
    sphere = cfg["key_space"] == "sphere"
    h, c = _controller(x, state, weights, cfg)
    p = split_parameters(h @ weights["head_kernel"] + weights["head_bias"], cfg)
    new = {"h": h, "c": c, "heads": [], "translations": [], "axes": [], "trig": []}
    for index, head in enumerate(("read", "write")):
        bias = READ_GATE_BIAS if head == "read" else WRITE_GATE_BIAS
        g = sigmoid(p[f"{head}_gate"][0] + bias)
        if cfg["action_interpolation"]:
            g_action = sigmoid(p[f"{head}_action_gate"][0] + bias)
        previous = state["heads"][index]
        if not sphere:
            q_bar = g * p[f"{head}_key"] + (1.0 - g) * previous
            a = p[f"{head}_action"]
            if cfg["bound_action"]:
                a = a / np.sqrt(1.0 + np.sum(a * a))
            if cfg["action_interpolation"]:
                a = g_action * a + (1.0 - g_action) * state["translations"][index]
            q = q_bar + a
            new["translations"].append(a)
        else:
            q_bar = normalize(g * normalize(p[f"{head}_key"]) + (1.0 - g) * previous)
            u = normalize(p[f"{head}_axis"])
            theta = np.tanh(p[f"{head}_angle"][0]) * max_angle(weights, cfg, index)
            trig = np.array([np.cos(theta), np.sin(theta)])
            if cfg["action_interpolation"]:
                u = normalize(g_action * u + (1.0 - g_action) * state["axes"][index])
                trig = normalize(g_action * trig + (1.0 - g_action) * state["trig"][index])
            q = rotate(q_bar, u, trig[0], trig[1])
            new["axes"].append(u)
            new["trig"].append(trig)
        new["heads"].append(q)

    # Read the memory as it was before this step's write.
    memory = state["memory"]
    q_read, q_write = new["heads"]
    d = np.array([np.sum((q_read - key) ** 2) for key, _, _ in memory])
    if cfg["weighting"] == "inverse_square":
        inverse = 1.0 / (d + INVERSE_SQUARE_EPS)
        w = inverse / inverse.sum()
    else:
        w = softmax(-d / (softplus(p["temperature"][0]) + TEMPERATURE_FLOOR))
    w = with_strengths(w, memory)
    r = read_values(w, memory)

    # Append (write head, tanh value, sigmoid strength).
    new_memory = list(memory)
    if write:
        new_memory.append(
            (q_write, np.tanh(p["write_value"]), float(sigmoid(p["write_strength"][0])))
        )
    new["memory"] = new_memory
    new["r"] = r
    coefficient = sigmoid(p["read_coefficient"])
    output = [h, coefficient * r, coefficient]
    if cfg["return_weightings"]:
        output += [q_read, q_write, _pad(w, cfg["memory_capacity"])]
    return np.concatenate(output), new, {"read_weights": w, "heads": (q_read, q_write)}


def ram_step(x, write, state, weights, cfg):
    """One RAM / RAM-Tape step for one example; arguments as `lantm_step`."""
    h, c = _controller(x, state, weights, cfg)
    p = split_parameters(h @ weights["head_kernel"] + weights["head_bias"], cfg)
    query = p["read_key"]
    if cfg["tape"]:
        link = softmax(p["link_gate"])
        query = link[0] * query + link[1] * state["forward"] + link[2] * state["backward"]
    memory = state["memory"]
    scores = np.array([float(query @ key) for key, _, _ in memory])
    if cfg["sharpen"]:
        scores = scores * (1.0 + softplus(p["sharpening"][0]))
    w = with_strengths(softmax(scores), memory)
    r = read_values(w, memory)
    new = {"h": h, "c": c, "r": r}
    if cfg["tape"]:
        keys = [key for key, _, _ in memory]
        n = len(keys)
        new["forward"] = sum((w[i] * keys[i + 1] for i in range(n - 1)), np.zeros_like(query))
        new["backward"] = sum((w[i] * keys[i - 1] for i in range(1, n)), np.zeros_like(query))
    new_memory = list(memory)
    if write:
        new_memory.append(
            (p["write_key"], np.tanh(p["write_value"]), float(sigmoid(p["write_strength"][0])))
        )
    new["memory"] = new_memory
    output = [h, r]
    if cfg["return_weightings"]:
        output.append(_pad(w, cfg["memory_capacity"]))
    return np.concatenate(output), new, {"read_weights": w}


def run(cell_config, weights, inputs):
    """Runs one example through the reference.

    Args:
        cell_config: dict with `"model"` (`"lantm"` or `"ram"`) and the cell's
            arguments (e.g. `cell.get_config()`).
        weights: dict of float64 arrays: `kernel`, `recurrent_kernel`, `bias`
            (controller), `head_kernel`, `head_bias`, optional `embedding`,
            `initial_controller`, `initial_read`, `initial_memory_keys`,
            `initial_memory_values`, `initial_memory_strengths` and, as the
            model needs, `initial_heads`, `initial_actions`, `initial_axes`,
            `initial_angles`, `angle_bound_logits`, `initial_tape_keys`.
        inputs: `(T, features)` array; with `write_flag_input` the last
            feature is the write flag.

    Returns:
        `(outputs (T, output_size), memory, infos)`: `memory` the final list
        of `(key, value, strength)` entries in write order, `infos` one dict
        per step (read weights over the entries present, heads).
    """
    cfg = resolve(cell_config)
    step = lantm_step if cfg["model"] == "lantm" else ram_step
    state = initial_state(weights, cfg)
    outputs, infos = [], []
    for x in np.asarray(inputs, dtype="float64"):
        if cfg["write_flag_input"]:
            x, write = x[:-1], bool(x[-1] > 0.5)
        else:
            write = True
        output, state, info = step(x, write, state, weights, cfg)
        outputs.append(output)
        infos.append(info)
    return np.stack(outputs), state["memory"], infos
