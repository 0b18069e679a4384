"""Every memory cell as its memory grows: time and training memory per timestep.

One command measures `NTMCell`, `SAMCell` (exact and LSH search),
`LANTMCell`, `RAMCell`, `HAMCell` (hard, `attention="hard"`, and soft, DHAM)
against the memory size `N` (slots; HAM: leaves of the tree; LANTM and RAM:
`memory_capacity`), with one controller and word size for all (`--units`,
`--word-size`; HAM's node vectors have `--word-size` entries), fits the growth
exponent of each, and writes JSON, a PNG plot and a Markdown table.

1. Time: forward+backward per timestep at batch `--batch-size` under XLA, as
   the marginal cost of a `tf.function(jit_compile=True)` training step (loss,
   `tape.gradient` w.r.t. every trainable weight of
   `keras_memory.layers.MemoryRNN(cell, return_sequences=True)` + `Dense`, and
   an SGD update; HAM in training mode, so the hard descent samples its
   decisions) at two sequence lengths `T1 < T2`:
   `(t(T2) - t(T1)) / (T2 - T1)`, each `t` the median of `--repeats` calls
   after a warm-up. That cancels what a call pays once (the `O(N)` initial
   state, the Python call, the update), so it is the cost of one step.
2. Memory: training memory per 100 timesteps at batch 1, "excluding memory
   initialisation" as in Rae et al. (2016): the peak RSS (VmHWM; `ru_maxrss`
   where there is no /proc, as on Linux `ru_maxrss` starts at the parent's
   RSS) of a fresh process running training steps at `T1 = 2` and at
   `T2 = 100`, as `100 * (peak(T2) - peak(T1)) / (T2 - T1)`. The compilation
   is left out: after the first (compiling) call the free heap goes back to
   the OS and the kernel's peak mark is reset, so the peak is that of the
   training steps (XLA's compile peak is hundreds of MiB and depends on T;
   and a one-step loop compiles to a different program, hence `T1 = 2`, not
   1). With and/or without XLA (`--memory-jit`).
3. Audit (`--audit`, without XLA, cheap: tracing only): the bytes that
   `tf.while_loop` stores per step for backpropagation, i.e. the sizes of the
   tensors pushed by `TensorListPushBack` in the forward loop, with the part whose shape holds `N` and the part
   that is weights read inside the loop.

Every measurement runs in its own subprocess, so peaks do not mix, a
configuration can be stopped at `--max-seconds`, and one that would pass
`--max-ram-gib` is skipped beforehand (from an estimate) or stopped by a
watchdog, with the reason recorded. When the estimate at `--timesteps` is
over budget, the next pair of `--fallback-timesteps` is tried (the dense
cells at large `N`); memory falls back to `--memory-fallback-timesteps`
(marked `~`). A time that could not be measured is shown from the log-log fit
of the measured sizes, in parentheses.

The growth exponent is the least-squares slope of log time (or memory)
against log N: 1 for a cost linear in N, 0 for a flat one. For a cost that
grows like log N (HAM's hard descent) the table also gives the least-squares
line of time against log2 N: milliseconds per doubling of the memory, and the
share of the variance it explains (R^2).

    python benchmarks/scaling.py --quick            # every cell, N = 16, 256: ~10 minutes
    python benchmarks/scaling.py                    # every cell, N = 2^4, 2^10, 2^16, 2^20
    python benchmarks/scaling.py --models ham,dham,ntm --memory-jit none \\
        --sizes 16,64,256,1024,4096,16384,65536,262144,1048576
    python benchmarks/sam_scaling.py                # SAM vs NTM as in Rae et al. (2016)

Runs on a GPU unchanged when TensorFlow sees one (RSS then measures host
memory only).
"""

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import threading
import time

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
MIB, GIB = 2.0**20, 2.0**30
RESULT_TAG = "SCALING_RESULT "
RAM_EXIT_CODE = 75
HERE = os.path.dirname(os.path.abspath(__file__))

#: Rae et al. (2016), Fig. 1 captions, section 4.1 and Suppl. E.
PAPER = {
    "setup": "Torch7, Intel Xeon E5-1650 3.2 GHz (6 cores), LSTM 100, W=32, 4 heads; "
             "speed at batch 8, memory at batch 1 over 100 steps excluding initialisation",
    "time_forward_backward_N1M": {"ntm_s": 12.0, "sam_ann_s": 0.007, "ratio": 1600,
                                  "sam_linear": "over 100x faster than the NTM"},
    "memory_100_steps_N64K": {"ntm_gib": 29.0, "sam_mib": 7.8, "ratio": 3700},
    "growth": "NTM and DAM linear in N; SAM linear about 100x lower; SAM ANN sub-linear; "
              "SAM memory flat in N",
}

#: Peak RSS model for the RAM estimate: BASE + state_bytes * (FIXED + PER_STEP * T),
#: state_bytes being one copy of the batch's N-sized states, BASE the process with its
#: XLA compilation. Fitted to peaks measured on this benchmark (XLA, batch 8, N=1e3 and
#: 1e4, T=2 and 40: NTM 17 + 5.4 T copies, SAM 5.7 copies flat in T) and an estimate of 9 GiB for SAM at N=1M,
#: batch 8, rounded up; DHAM is given the NTM's; LANTM
#: and RAM one copy per step (0.85 measured at N=65,536, batch 1); hard HAM (log N nodes a
#: step) 5 copies of the tree (3.7 measured at 2^18 leaves). The sparse cells (SAM, hard
#: HAM) store no N-sized tensor per step: STEP_BYTES per example and step instead (the
#: audit counts 8-16 KiB for SAM; 1 MiB leaves room). The SDNC's peaks at N=262,144, batch 8
#: were 1.9 (exact) and 2.1 (LSH) copies above 1.1 GiB; 4 copies leave room. A watchdog
#: stops the rest.
RAM_MODEL = {  # model: (BASE bytes, FIXED copies, copies PER_STEP, STEP_BYTES per example)
    "sam": (1.5 * GIB, 9.0, 0.0, MIB),
    "sam_lsh": (2.5 * GIB, 9.0, 0.0, MIB),
    "ntm": (1.5 * GIB, 17.0, 5.4, 0),
    "lantm": (1.5 * GIB, 17.0, 1.0, 0),
    "ram": (1.5 * GIB, 17.0, 1.0, 0),
    "ham": (1.5 * GIB, 5.0, 0.0, MIB),
    "dham": (1.5 * GIB, 17.0, 5.4, 0),
    # The DNC's N x N link matrix is in every step's state: the NTM's copies.
    "dnc": (1.5 * GIB, 17.0, 5.4, 0),
    "sdnc": (1.5 * GIB, 4.0, 0.0, MIB),
    "sdnc_lsh": (2.5 * GIB, 4.0, 0.0, MIB),
}


# ------------------------------------------------------------------ models
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


def state_bytes(name, n, batch, args):
    """Bytes of the N-sized recurrent states of a batch (one copy)."""
    w = args.word_size
    if name == "ntm":  # memory N*W, weightings (R + 1) * N
        per_example = n * w + (args.heads + 1) * n
    elif name in ("sam", "sam_lsh"):  # memory N*W, last access N (+ the LSH table, O(1) in N)
        per_example = n * w + n
        if name == "sam_lsh":
            per_example += 8 * 256 * 33
    elif name == "dnc":  # memory N*W, links N*N, usage, precedence, R + 1 weightings
        per_example = n * w + n * n + (args.heads + 3) * n
    elif name in ("sdnc", "sdnc_lsh"):  # memory, usage, last access, 5 sparse link arrays
        per_example = n * (w + 2 + 5 * 8)
        if name == "sdnc_lsh":  # tables (>= 2N slots each of 4), codes (4N), ring (2N)
            per_example += 14 * n
    elif name in ("ham", "dham"):  # the tree: 2N - 1 nodes of W
        per_example = (2 * n - 1) * w
    else:  # appended memory: values W, keys (<= 20), strength, last use
        per_example = n * (w + 22)
    return 4.0 * batch * per_example


def estimate_ram(name, n, batch, timesteps, args):
    base, fixed, per_step, step_bytes = RAM_MODEL[name]
    return (base + state_bytes(name, n, batch, args) * (fixed + per_step * timesteps)
            + step_bytes * batch * timesteps)


# ------------------------------------------------------------------ children
def _current_rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss():
    """Peak resident set of this process in bytes.

    VmHWM from /proc/self/status where there is one: `ru_maxrss` is not
    this process's own peak on Linux, it starts at the parent's RSS at fork
    time (`fork` and `execve` carry it over). Elsewhere `ru_maxrss`.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _malloc_trim():
    """Give the heap's free pages back to the OS (glibc), so RSS is live memory."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
        return True
    except (OSError, AttributeError):
        return False


def _reset_peak_rss():
    """Reset the kernel's peak-RSS mark of this process (VmHWM, and with it
    `ru_maxrss`) to the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _emit(result):
    sys.stdout.write(RESULT_TAG + json.dumps(result) + "\n")
    sys.stdout.flush()


def _start_watchdog(limit_bytes, spec):
    """Stop this process (exit code 75) when its RSS passes `limit_bytes`."""
    if not limit_bytes or not os.path.exists("/proc/self/statm"):
        return

    def watch():
        while True:
            rss = _current_rss()
            if rss > limit_bytes:
                _emit({**spec, "status": "skipped",
                       "reason": f"RSS reached {rss / GIB:.1f} GiB > --max-ram-gib "
                                 f"{limit_bytes / GIB:g}; stopped"})
                os._exit(RAM_EXIT_CODE)
            time.sleep(0.05)

    threading.Thread(target=watch, daemon=True).start()


def _setup_tf(threads):
    import tensorflow as tf

    from keras_memory.backend import limit_cpu_threads

    if threads:
        limit_cpu_threads(threads)
    return tf


def child_time(spec, args):
    """Median time of a training step at T1 and T2, batch `spec['batch']`."""
    started = time.perf_counter()
    _setup_tf(args.threads)
    micro = spec.get("micro_batch") or spec["batch"]
    model = build_model(spec["model"], spec["n"], micro, args)
    step = make_train_step(model, spec["jit"], accumulate=spec["batch"] // micro)
    t1, t2 = spec["timesteps"]
    data = {t: make_data(spec["batch"], t) for t in (t1, t2)}

    def call(t):
        start = time.perf_counter()
        step(*data[t]).numpy()
        return time.perf_counter() - start

    first = {t: call(t) for t in (t1, t2)}  # trace + XLA compile + first run
    for _ in range(args.warmup):
        for t in (t1, t2):
            call(t)
    times = {t1: [], t2: []}
    budget = spec["budget_s"]
    for _ in range(args.repeats):  # interleaved, so drifts hit both lengths
        pair_start = time.perf_counter()
        for t in (t1, t2):
            times[t].append(call(t))
        elapsed = time.perf_counter() - started
        if elapsed + (time.perf_counter() - pair_start) > 0.9 * budget:
            break
    m1, m2 = (float(np.median(times[t])) for t in (t1, t2))
    d = [b - a for a, b in zip(times[t1], times[t2])]
    return {
        **spec,
        "status": "ok",
        "first_call_s": {str(t): first[t] for t in (t1, t2)},
        "times_s": {str(t): times[t] for t in (t1, t2)},
        "median_s": {str(t1): m1, str(t2): m2},
        "repeats_done": len(times[t1]),
        "per_step_ms": 1000 * (m2 - m1) / (t2 - t1),
        "per_step_ms_min": 1000 * (min(times[t2]) - min(times[t1])) / (t2 - t1),
        "per_step_ms_median_of_differences": 1000 * float(np.median(d)) / (t2 - t1),
        "peak_rss_mib": _peak_rss() / MIB,
        "params": model.count_params(),
        "wall_s": time.perf_counter() - started,
    }


def child_memory(spec, args):
    """Peak RSS of training steps at one T (batch 1), the compilation left out.

    The first call traces, compiles (XLA's peak depends on T, and a loop of
    one step compiles to a different, smaller program) and runs once. Then
    the heap's free pages go back to the OS (`malloc_trim`), the kernel's
    peak mark is reset (`/proc/self/clear_refs`), and `--memory-steps` more
    steps run: the peak after them is the resident model, states and program
    plus the peak of a training step. Where the reset is not available, the
    peak includes the compilation (`includes_compile`).
    """
    started = time.perf_counter()
    tf = _setup_tf(args.threads)
    after_import = _peak_rss()
    model = build_model(spec["model"], spec["n"], spec["batch"], args)
    step = make_train_step(model, spec["jit"])
    x, y = make_data(spec["batch"], spec["t"])
    x, y = tf.constant(x), tf.constant(y)
    after_build = _peak_rss()
    start = time.perf_counter()
    step(x, y).numpy()
    times = [time.perf_counter() - start]
    with_compile = _peak_rss()
    trimmed = _malloc_trim()
    resident = _current_rss()
    reset = _reset_peak_rss()
    for _ in range(max(args.memory_steps, 1)):
        start = time.perf_counter()
        step(x, y).numpy()
        times.append(time.perf_counter() - start)
    peak = _peak_rss()
    result = {
        **spec,
        "status": "ok",
        "peak_rss_mib": peak / MIB,
        "includes_compile": not reset,
        "peak_with_compile_mib": with_compile / MIB,
        "peak_after_import_mib": after_import / MIB,
        "peak_after_build_mib": after_build / MIB,
        "resident_before_steps_mib": resident / MIB,
        "malloc_trim": trimmed,
        "step_times_s": times,
        "wall_s": time.perf_counter() - started,
    }
    if spec.get("audit_t"):  # after the measurement: tracing only
        result["audit"] = audit(model, spec["n"], spec["audit_t"])
    return result


def child_audit(spec, args):
    _setup_tf(args.threads)
    model = build_model(spec["model"], spec["n"], 1, args)
    return {**spec, "status": "ok", "audit": audit(model, spec["n"], spec["audit_t"])}


def child_main(spec_json, args):
    spec = json.loads(spec_json)
    _start_watchdog(args.max_ram_gib * GIB, spec)
    try:
        child = {"time": child_time, "memory": child_memory, "audit": child_audit}[spec["kind"]]
        result = child(spec, args)
        import tensorflow as tf

        result["tensorflow"] = tf.__version__
        result["device"] = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    except Exception as e:  # noqa: BLE001 - reported to the parent, which records it
        result = {**spec, "status": "failed", "reason": f"{type(e).__name__}: {e}"[:500]}
    _emit(result)


# ------------------------------------------------------------------ audit
def audit(model, n, timesteps):
    """Bytes `tf.while_loop` stores per step for backprop (no XLA, traced only).

    Sums the element sizes of the `TensorListPushBack` accumulators that
    while_v2 added to the forward loop body when the gradient was built;
    each is pushed once per iteration.
    """
    import tensorflow as tf

    step = make_train_step(model, jit_compile=False)
    concrete = step.get_concrete_function(
        tf.TensorSpec((1, timesteps, INPUTS)), tf.TensorSpec((1, timesteps, OUTPUTS)))
    total = with_n = weights = count = 0
    unknown = []

    def walk(graph, depth):
        nonlocal total, with_n, weights, count
        for op in graph.get_operations():
            body = getattr(op, "_body_graph", None)
            if op.type in ("While", "StatelessWhile") and body is not None:
                if depth > 0:
                    unknown.append("nested loop (counted as if once per step)")
                walk(body, depth + 1)
            if op.type != "TensorListPushBack" or depth == 0:
                continue
            t = op.inputs[1]
            count += 1
            if not t.shape.is_fully_defined():
                unknown.append(f"{t.name} {t.shape}")
                continue
            size = t.shape.num_elements() * t.dtype.size
            total += size
            dims = t.shape.as_list()
            if any(d >= n and d % n == 0 for d in dims):  # (.., N), (.., N * W), (.., R * N)
                with_n += size
            if t.op.type == "ReadVariableOp":
                weights += size

    walk(concrete.graph, 0)
    return {"timesteps": timesteps, "accumulators": count,
            "bytes_per_step": total, "bytes_per_step_with_n": with_n,
            "bytes_per_step_weights": weights, "unknown": unknown}


# ------------------------------------------------------------------ parent
def run_child(spec, args, argv_common):
    """Run one measurement in a fresh interpreter; returns its result dict."""
    cmd = [sys.executable, os.path.abspath(__file__), *argv_common, "--child", json.dumps(spec)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    return child_result(cmd, env, spec, args.max_seconds)


def child_result(command, env, spec, max_seconds, tag=RESULT_TAG):
    """Runs `command`, a measurement that prints its result dict as JSON on a
    line starting with `tag`, and returns that dict with `process_wall_s`.

    A run over `max_seconds` is stopped and returns `spec` with status
    `"skipped"`; one that prints no result returns it with status `"failed"`
    and the end of its error output as the reason.
    """
    start = time.perf_counter()
    try:
        proc = subprocess.run(command, capture_output=True, text=True, env=env,
                              timeout=max_seconds)
    except subprocess.TimeoutExpired:
        return {**spec, "status": "skipped",
                "reason": f"over --max-seconds {max_seconds:g}; stopped"}
    wall = time.perf_counter() - start
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(tag):
            result = json.loads(line[len(tag):])
            result["process_wall_s"] = wall
            return result
    tail = " | ".join((proc.stderr or proc.stdout or "").strip().splitlines()[-3:])
    return {**spec, "status": "failed",
            "reason": f"exit code {proc.returncode}, no result; stderr: {tail}"[:600]}


def parse_pairs(text):
    """'10,30' -> [(10, 30)]; '1,3;1,2' -> [(1, 3), (1, 2)]; '' -> []."""
    pairs = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        a, b = (int(v) for v in part.split(","))
        if not 1 <= a < b:
            raise ValueError(f"need 1 <= T1 < T2, got {part!r}")
        pairs.append((a, b))
    return pairs


def estimate_time_s(prev, n, pair, args):
    """Seconds a timing job would take, scaled linearly in N from `prev`."""
    if prev is None:
        return None
    (p1, p2), scale = prev["timesteps"], n / prev["n"]
    per_step = max(prev["per_step_ms"], 0.0) / 1000
    fixed = max(prev["median_s"][str(p1)] - per_step * p1, 0.0)
    call = [scale * (fixed + per_step * t) for t in pair]
    calls = 1 + args.warmup + 1  # first call, warm-up, at least one repeat
    compile_s = max(prev["first_call_s"].values()) - max(prev["median_s"].values())
    return 10.0 + max(compile_s, 0.0) + calls * sum(call)


def plan_pair(kind, model, n, batch, pairs, prev, args):
    """First pair of timesteps within the RAM (and time) budget, or a skip reason."""
    reasons = []
    for pair in pairs:
        ram = estimate_ram(model, n, batch, pair[1], args)
        if ram > args.max_ram_gib * GIB:
            reasons.append(f"T={pair[0]},{pair[1]}: estimated RAM {ram / GIB:.1f} GiB "
                           f"> {args.max_ram_gib:g} GiB")
            continue
        est = estimate_time_s(prev, n, pair, args) if kind == "time" else None
        if est is not None and est > args.max_seconds:
            reasons.append(f"T={pair[0]},{pair[1]}: estimated {est:.0f} s "
                           f"> --max-seconds {args.max_seconds:g}")
            continue
        return pair, reasons
    return None, reasons


def reusable_measurements(earlier, redo=()):
    """The measurements of an earlier run's JSON that `--resume` keeps.

    Every successful one but the times below the noise (zero or negative) and
    those of the models in `redo`; keyed `("time", model, n)` and
    `("memory", model, n, jit)`.
    """
    kept = {}
    for r in earlier.get("time", []):
        if r.get("status") == "ok" and r.get("per_step_ms", 0) > 0 and r["model"] not in redo:
            kept[("time", r["model"], r["n"])] = r
    for r in earlier.get("memory", []):
        if r.get("status") == "ok" and r["model"] not in redo:
            kept[("memory", r["model"], r["n"], r["jit"])] = r
    return kept


class Runner:
    def __init__(self, args, argv_common):
        self.args, self.argv_common = args, argv_common
        self.time, self.memory, self.audits = [], [], []
        self.failed = {}  # (kind, model[, jit]) -> N at which a budget was exceeded
        self.reusable = {}  # (kind, model, n[, jit]) -> a result of an earlier run (--resume)

    def log(self, text):
        print(text, flush=True)

    def _over_budget(self, result):
        return result["status"] != "ok" and (
            "max-seconds" in result.get("reason", "") or "RSS" in result.get("reason", ""))

    def run_time(self, model, n):
        args, key = self.args, ("time", model)
        if ("time", model, n) in self.reusable:
            return self._record(self.time, self.reusable[("time", model, n)])
        base = {"kind": "time", "model": model, "n": n, "batch": args.batch_size, "jit": True,
                "budget_s": args.max_seconds}
        if key in self.failed:
            return self._record(self.time, {**base, "status": "skipped",
                                            "reason": f"over budget at N={self.failed[key]}"})
        prev = next((r for r in reversed(self.time)
                     if r["model"] == model and r["status"] == "ok"), None)
        pairs = [args.timesteps] + [p for p in args.fallback_timesteps if p[1] < args.timesteps[1]]
        micro = args.micro_batch if 0 < args.micro_batch < args.batch_size else 0
        if micro and args.micro_batch_always:
            base["micro_batch"] = micro
        while pairs:
            pair, reasons = plan_pair("time", model, n, base.get("micro_batch", args.batch_size),
                                      pairs, prev, args)
            if pair is None and micro and "micro_batch" not in base:
                # Over the RAM budget at every T: gradient accumulation over micro-batches.
                base["micro_batch"] = micro
                pair, more = plan_pair("time", model, n, micro, pairs, None, args)
                reasons = ([f"batch {args.batch_size}: {r}" for r in reasons]
                           + [f"micro-batch {micro}: {r}" for r in more])
            if pair is None:
                self.failed[key] = n
                return self._record(self.time, {**base, "status": "skipped",
                                                "reason": "; ".join(reasons)})
            result = run_child({**base, "timesteps": list(pair)}, args, self.argv_common)
            if result["status"] == "ok" or not self._over_budget(result):
                if reasons:
                    result["fallback_reason"] = "; ".join(reasons)
                return self._record(self.time, result)
            pairs = [p for p in pairs if p[1] < pair[1]]  # smaller T next
            if not pairs:
                self.failed[key] = n
                return self._record(self.time, result)

    def run_memory(self, model, n, jit):
        args, key = self.args, ("memory", model, jit)
        if ("memory", model, n, jit) in self.reusable:
            return self._record(self.memory, self.reusable[("memory", model, n, jit)])
        base = {"kind": "memory", "model": model, "n": n, "batch": 1, "jit": jit}
        t1, t2 = args.memory_timesteps
        if key in self.failed:
            return self._record(self.memory, {**base, "status": "skipped", "timesteps": [t1, t2],
                                              "reason": f"over budget at N={self.failed[key]}"})
        pairs = [(t1, t2)] + [p for p in args.memory_fallback_timesteps if p[1] < t2]
        runs = {}
        while pairs:
            pair, reasons = plan_pair("memory", model, n, 1, pairs, None, args)
            if pair is None:
                self.failed[key] = n
                return self._record(self.memory, {**base, "status": "skipped",
                                                  "timesteps": [t1, t2],
                                                  "reason": "; ".join(reasons)})
            for t in pair:
                if t not in runs or runs[t]["status"] != "ok":
                    spec = {**base, "t": t}
                    if args.audit and t == t2 and jit == args.memory_jits[0]:
                        spec["audit_t"] = t2
                    runs[t] = run_child(spec, args, self.argv_common)
            a, b = runs[pair[0]], runs[pair[1]]
            bad = next((r for r in (a, b) if r["status"] != "ok"), None)
            if bad is None:
                marginal = b["peak_rss_mib"] - a["peak_rss_mib"]
                per_step = marginal / (pair[1] - pair[0])
                result = {**base, "status": "ok", "timesteps": list(pair),
                          "peak_rss_mib": {str(pair[0]): a["peak_rss_mib"],
                                           str(pair[1]): b["peak_rss_mib"]},
                          "marginal_mib": marginal, "per_step_mib": per_step,
                          # The paper's "over 100 steps, excluding initialisation".
                          "train_mib": 100 * per_step,
                          "extrapolated": tuple(pair) != (t1, t2),
                          "runs": [a, b]}
                if reasons:
                    result["fallback_reason"] = "; ".join(reasons)
                return self._record(self.memory, result)
            if not self._over_budget(bad):
                return self._record(self.memory, {**base, "status": bad["status"],
                                                  "timesteps": list(pair),
                                                  "reason": bad.get("reason"), "runs": [a, b]})
            pairs = [p for p in pairs if p[1] < pair[1]]
            if not pairs:
                self.failed[key] = n
                return self._record(self.memory, {**base, "status": "skipped",
                                                  "timesteps": list(pair),
                                                  "reason": bad.get("reason"), "runs": [a, b]})

    def run_audit(self, model, n):
        """The graph audit of (model, N): from the memory run at T2, or its own process."""
        t2 = self.args.memory_timesteps[1]
        found = None
        for r in self.memory:
            if r["model"] == model and r["n"] == n:
                found = found or next((x["audit"] for x in r.get("runs", []) if "audit" in x), None)
        if found is None:
            r = run_child({"kind": "audit", "model": model, "n": n, "audit_t": t2},
                          self.args, self.argv_common)
            found = r.get("audit") or {"error": r.get("reason", "failed")}
        a = {"model": model, "n": n, **found}
        self.audits.append(a)
        if "error" in a:
            self.log(f"  audit  {model:7s} N={n:<8d} failed: {a['error']}")
        else:
            self.log(f"  audit  {model:7s} N={n:<8d} {a['bytes_per_step'] / 1024:.1f} KiB "
                     f"stored per step for BPTT ({a['bytes_per_step_with_n'] / 1024:.1f} "
                     f"N-sized, {a['bytes_per_step_weights'] / 1024:.1f} weights)")
        self.save()

    def _record(self, bucket, result):
        for r in [result] + list(result.get("runs", [])):
            if r.get("device"):
                self.device, self.tf_version = r["device"], r.get("tensorflow")
        bucket.append(result)
        self.log("  " + describe(result))
        self.save()
        return result

    def save(self, extra=None):
        args = self.args
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        payload = {"config": {k: v for k, v in vars(args).items() if k != "child"},
                   "machine": platform.processor() or platform.machine(),
                   "cpus": os.cpu_count(), "tensorflow": self.tf_version, "device": self.device,
                   "paper": PAPER, "time": self.time, "memory": self.memory,
                   "audit": self.audits}
        if extra:
            payload.update(extra)
        with open(args.out, "w") as f:
            json.dump(payload, f, indent=2, default=str)

    tf_version = None
    device = "?"


def describe(r):
    where = f"{r['kind']:6s} {r['model']:7s} N={r['n']:<8d}"
    if r["kind"] == "memory":
        where += f" jit={str(r['jit']):5s}"
    if r["status"] != "ok":
        return f"{where} {r['status']}: {r.get('reason')}"
    if r["kind"] == "time":
        t1, t2 = r["timesteps"]
        return (f"{where} T={t1},{t2}: {r['per_step_ms']:.3f} ms/step "
                f"(calls {1000 * r['median_s'][str(t1)]:.1f} / {1000 * r['median_s'][str(t2)]:.1f} ms, "
                f"{r['repeats_done']} repeats, peak RSS {r['peak_rss_mib']:.0f} MiB)")
    t1, t2 = r["timesteps"]
    return (f"{where} T={t1},{t2}: {r['train_mib']:+.1f} MiB per 100 steps "
            f"(peaks {r['peak_rss_mib'][str(t1)]:.0f} -> {r['peak_rss_mib'][str(t2)]:.0f} MiB)")


# ------------------------------------------------------------------ report
def fmt(value, digits=2):
    if value is None:
        return "–"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.{digits}f}"


def ratio(a, b):
    if a is None or b is None or a <= 0 or b <= 0:
        return None
    return a / b


def lookup(results, model, n, jit=None):
    for r in results:
        if r["model"] == model and r["n"] == n and (jit is None or r["jit"] == jit):
            return r
    return None


def fit_log2(points):
    """Least-squares line of y on log2 x: (ms per doubling, intercept, R^2)."""
    points = [(x, y) for x, y in points if y is not None]
    if len(points) < 3:
        return None
    lx, y = np.log2([p[0] for p in points]), np.array([p[1] for p in points])
    slope, intercept = np.polyfit(lx, y, 1)
    residual = y - (slope * lx + intercept)
    total = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(residual**2)) / total if total > 0 else 1.0
    return float(slope), float(intercept), r2


def fit(points):
    """Least-squares line of log y on log x over the positive points: (slope, intercept)."""
    points = [(x, y) for x, y in points if y is not None and y > 0]
    if len(points) < 2:
        return None
    lx, ly = np.log([p[0] for p in points]), np.log([p[1] for p in points])
    slope, intercept = np.polyfit(lx, ly, 1)
    return float(slope), float(intercept)


def report(runner, args):
    models, sizes = args.models, args.sizes
    main_jit = args.memory_jits[0] if args.memory_jits else None
    notes, table, exponents = [], [], {}

    def measured(kind, model, jit=None):
        if kind == "time":
            rows = [lookup(runner.time, model, n) for n in sizes]
            return [(r["n"], r["per_step_ms"]) for r in rows if r and r["status"] == "ok"]
        rows = [lookup(runner.memory, model, n, jit) for n in sizes]
        return [(r["n"], r["train_mib"]) for r in rows if r and r["status"] == "ok"]

    fits = {(m, kind): fit(measured(kind, m, main_jit)) for m in models
            for kind in ("time", "memory")}
    for m in models:
        exponents[m] = {kind: None if fits[m, kind] is None else fits[m, kind][0]
                        for kind in ("time", "memory")}
        exponents[m].update({f"{kind}_points": len(measured(kind, m, main_jit))
                             for kind in ("time", "memory")})
        log_fit = fit_log2(measured("time", m))
        exponents[m]["time_ms_per_doubling"] = None if log_fit is None else log_fit[0]
        exponents[m]["time_log2_r2"] = None if log_fit is None else log_fit[2]

    def extrapolate(model, kind, n):
        f = fits[model, kind]
        # A line through two points is no fit: leave the size out.
        if f is None or kind == "memory" or len(measured(kind, model)) < 3:
            return None, "skip"
        value = math.exp(f[1] + f[0] * math.log(n))
        return value, f"(≈{fmt(value, 3)})"

    def time_of(model, n):
        r = lookup(runner.time, model, n)
        if r is None:
            return None, "–", False
        if r["status"] != "ok":
            notes.append(f"{LABELS[model]} N={n:,} time: {r['status']}: {r.get('reason')}")
            value, text = extrapolate(model, "time", n)
            return value, text, True
        mark = "" if tuple(r["timesteps"]) == tuple(args.timesteps) else "†"
        mark += "‡" if r.get("micro_batch") else ""
        return r["per_step_ms"], fmt(r["per_step_ms"], 3) + mark, False

    def mem_of(model, n, jit):
        r = lookup(runner.memory, model, n, jit)
        if r is None:
            return None, "–", False
        if r["status"] != "ok":
            notes.append(f"{LABELS[model]} N={n:,} memory (jit={jit}): {r['status']}: "
                         f"{r.get('reason')}")
            return None, "skip", True
        return r["train_mib"], ("~" if r["extrapolated"] else "") + fmt(r["train_mib"], 1), False

    def ratio_text(a, b):
        value = ratio(a[0], b[0])
        return "–" if value is None else (f"(≈{fmt(value, 1)})" if a[2] or b[2] else fmt(value, 1))

    t1, t2 = args.timesteps
    m1, m2 = args.memory_timesteps
    header = ["N"] + [f"{LABELS[m]} ms/step" for m in models]
    pairs = [(a, b) for a, b in PAIRS if a in models and b in models]
    header += [f"{LABELS[a]}/{LABELS[b]} time" for a, b in pairs]
    if args.memory_jits:
        header += [f"{LABELS[m]} MiB/100 steps" for m in models]
        header += [f"{LABELS[a]}/{LABELS[b]} memory" for a, b in pairs]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for n in sizes:
        times = {m: time_of(m, n) for m in models}
        mems = {m: mem_of(m, n, main_jit) for m in models}
        cells = [f"{n:,}"] + [times[m][1] for m in models]
        cells += [ratio_text(times[a], times[b]) for a, b in pairs]
        if args.memory_jits:
            cells += [mems[m][1] for m in models]
            cells += [ratio_text(mems[a], mems[b]) for a, b in pairs]
        lines.append("| " + " | ".join(cells) + " |")
        table.append({"n": n,
                      **{f"{m}_ms_per_step": times[m][0] for m in models},
                      **{f"{m}_ms_per_step_is_fit": times[m][2] for m in models},
                      **{f"{m}_train_mib_per_100_steps": mems[m][0] for m in models}})

    names = ", ".join(LABELS[m] for m in models)
    described = {"sam": f"SAM {args.heads} heads k={args.k}",
                 "ntm": f"NTM {args.heads} read + 1 write heads",
                 "lantm": "LANTM and RAM one read and one write head",
                 "ham": f"HAM nodes of {args.word_size}",
                 "dnc": f"DNC {args.heads} read heads and 1 write head",
                 "sdnc": f"SDNC {args.heads} heads k={args.k}, K_L=8"}
    family = {"sam_lsh": "sam", "ram": "lantm", "dham": "ham", "sdnc_lsh": "sdnc"}
    heads = list(dict.fromkeys(described[family.get(m, m)] for m in models
                               if family.get(m, m) in described))
    memory_text = (f"Memory: training memory per 100 timesteps, batch 1, excluding "
                   f"initialisation and compilation: 100 x (peak RSS(T={m2}) - peak "
                   f"RSS(T={m1})) / {m2 - m1}, {'XLA' if main_jit else 'no XLA'}. "
                   if args.memory_jits else "")
    out = [f"\n{names} against the memory size N. Time: forward+backward ms per timestep, "
           f"batch {args.batch_size}, XLA, marginal (t(T={t2}) - t(T={t1})) / {t2 - t1}. "
           f"{memory_text}LSTM controller {args.units}, words of {args.word_size}"
           + "".join(f", {text}" for text in heads) + ". "
           f"Device: {runner.device}, threads: {args.threads or 'default'}.\n"]
    out += lines
    marks = []
    if any("†" in line for line in lines[2:]):
        marks.append("† measured at a smaller T (`--fallback-timesteps`; the JSON has which)")
    if any("‡" in line for line in lines[2:]):
        marks.append(f"‡ batch {args.batch_size} timed as gradient accumulation over "
                     f"micro-batches of {args.micro_batch} (`--micro-batch`): the batch "
                     f"does not fit in --max-ram-gib at once")
    if any("~" in line for line in lines[2:]):
        marks.append("~ from a shorter T (`--memory-fallback-timesteps`), linear in T")
    if any("(≈" in line for line in lines[2:]):
        marks.append("(≈) not measured (over budget): from the log-log fit of the measured sizes")
    marks.append("skip: over the time or RAM budget (reasons below); –: not run")
    out += [""] + [f"{x}." for x in marks]

    # Second table: memory details (both jit settings and the graph audit).
    if len(args.memory_jits) > 1 or runner.audits:
        head = ["N", "model"] + [f"MiB/100 steps ({'XLA' if j else 'no XLA'})"
                                 for j in args.memory_jits]
        if runner.audits:
            head += ["stored for BPTT, KiB/step (audit, no XLA)", "of which N-sized",
                     "of which weights", "audit MiB/100 steps"]
        out += ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for n in sizes:
            for m in models:
                cells = [f"{n:,}", LABELS[m]] + [mem_of(m, n, j)[1] for j in args.memory_jits]
                a = next((x for x in runner.audits if x["model"] == m and x["n"] == n), None)
                if runner.audits:
                    if a is None or "error" in a:
                        cells += ["–"] * 4
                    else:
                        cells += [fmt(a["bytes_per_step"] / 1024, 1),
                                  fmt(a["bytes_per_step_with_n"] / 1024, 1),
                                  fmt(a["bytes_per_step_weights"] / 1024, 1),
                                  fmt(100 * a["bytes_per_step"] / MIB, 1)]
                out.append("| " + " | ".join(cells) + " |")
        if runner.audits:
            out += ["", "The audit adds up the logical size of every tensor the loop pushes per "
                    "step. Without XLA some of them share buffers (a weight read inside the "
                    "loop is the variable's own buffer), so the measured memory can be lower."]

    p = PAPER
    out += [] if not {"sam", "sam_lsh"} & set(models) else [
            "", "Paper (Rae et al., 2016; CPU, Torch7, Xeon E5-1650 6 cores):",
            f"- time of one forward+backward at N=1M, batch 8: NTM "
            f"{p['time_forward_backward_N1M']['ntm_s']:g} s vs SAM (k-d tree) "
            f"{1000 * p['time_forward_backward_N1M']['sam_ann_s']:g} ms "
            f"({p['time_forward_backward_N1M']['ratio']}x); SAM linear: over 100x faster than NTM",
            f"- memory to train over 100 steps, excluding initialisation, N=64K, batch 1: NTM "
            f"{p['memory_100_steps_N64K']['ntm_gib']:g} GiB vs SAM "
            f"{p['memory_100_steps_N64K']['sam_mib']:g} MiB ({p['memory_100_steps_N64K']['ratio']}x)",
            "- growth: NTM linear in N, SAM linear ~100x lower, SAM ANN sub-linear; "
            "SAM memory flat in N"]
    out += ["", "Growth exponent (least-squares slope of log y against log N; 1 = linear):"]
    for m in models:
        e = exponents[m]
        line = (f"- {LABELS[m]}: time {fmt(e['time'])} over {e['time_points']} sizes; "
                f"training memory {fmt(e['memory'])} over {e['memory_points']} sizes")
        if e["time_ms_per_doubling"] is not None:
            line += (f"; as a line in log2 N: {fmt(e['time_ms_per_doubling'], 3)} ms per "
                     f"doubling of N, R^2 = {e['time_log2_r2']:.2f}")
        out.append(line)
    if notes:
        out += ["", "Skipped or failed:"] + [f"- {x}" for x in notes]
    text = "\n".join(out)
    print(text)
    return text, table, exponents


def plot(runner, args, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib)")
        return None
    memory = bool(args.memory_jits or runner.audits)
    if memory:
        fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(11, 4.2))
    else:  # time only
        fig, ax_t = plt.subplots(1, 1, figsize=(6.5, 4.2))
        ax_m = None
    colors = COLORS
    for m in args.models:
        pts = [(r["n"], r["per_step_ms"]) for r in runner.time
               if r["model"] == m and r["status"] == "ok" and r["per_step_ms"] > 0]
        if pts:
            ax_t.plot(*zip(*pts), "o-", color=colors[m], label=LABELS[m])
        for j in args.memory_jits:
            pts = [(r["n"], r["train_mib"]) for r in runner.memory
                   if r["model"] == m and r["jit"] == j and r["status"] == "ok"
                   and r["train_mib"] > 0]
            if pts:
                ax_m.plot(*zip(*pts), "o-" if j else "s--", color=colors[m],
                          label=f"{LABELS[m]} ({'XLA' if j else 'no XLA'})")
        pts = [(a["n"], 100 * a["bytes_per_step"] / MIB) for a in runner.audits
               if a["model"] == m and a.get("bytes_per_step")]
        if pts:
            ax_m.plot(*zip(*pts), ":", color=colors[m], alpha=0.6,
                      label=f"{LABELS[m]} stored for BPTT (audit)")
    if {"sam", "sam_lsh"} & set(args.models):  # Rae et al. (2016), Fig. 1
        ax_t.plot([1e6], [12000], "*", color="tab:red", ms=12, label="paper NTM")
        ax_t.plot([1e6], [7], "*", color="tab:blue", ms=12, label="paper SAM (ANN)")
        if ax_m is not None:
            ax_m.plot([64000], [29 * 1024], "*", color="tab:red", ms=12, label="paper NTM")
            ax_m.plot([64000], [7.8], "*", color="tab:blue", ms=12, label="paper SAM")
    ax_t.set(xscale="log", yscale="log", xlabel="memory size N (slots; HAM: leaves)",
             ylabel=f"ms per timestep (fwd+bwd, batch {args.batch_size}, XLA)",
             title="Time per step")
    if ax_m is not None:
        ax_m.set(xscale="log", yscale="log", xlabel="memory size N (slots; HAM: leaves)",
                 ylabel="MiB per 100 steps (batch 1)",
                 title="Training memory, excluding initialisation")
    for ax in (ax_t, ax_m) if ax_m is not None else (ax_t,):
        ax.grid(True, which="both", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# ------------------------------------------------------------------ main
#: The defaults of `python benchmarks/scaling.py` (every cell).
SUITE = {"description": "Every memory cell: time and training memory against the memory size N.",
         "name": "scaling", "sizes": "16,1024,65536,1048576", "quick_sizes": "16,256",
         "models": ",".join(SUITE_MODELS), "memory_jit": "true", "audit": False}


def parse_args(argv, defaults=SUITE):
    p = argparse.ArgumentParser(description=defaults["description"])
    p.add_argument("--sizes", default=defaults["sizes"],
                   help="memory sizes N, comma-separated (HAM: powers of two)")
    p.add_argument("--models", default=defaults["models"],
                   help=f"subset of {','.join(MODELS)}")
    p.add_argument("--quick", action="store_true",
                   help=f"end-to-end check: N={defaults['quick_sizes']}, T=2,6, memory with XLA "
                        "only, 3 repeats; writes *_quick.json unless --out is given")
    p.add_argument("--batch-size", type=int, default=8, help="batch of the timing runs (paper: 8)")
    p.add_argument("--timesteps", default="10,30", help="T1,T2 of the timing runs")
    p.add_argument("--fallback-timesteps", default="2,4;2,3",
                   help="smaller T1,T2 pairs (';'-separated) tried in order when T would "
                        "pass a budget (the NTM at large N); keep T1 >= 2, as XLA compiles a "
                        "one-step loop into a different program")
    p.add_argument("--micro-batch", type=int, default=0,
                   help="when a timing run at --batch-size passes --max-ram-gib at every T, "
                        "time the batch as gradient accumulation over micro-batches of this "
                        "size (the same update, one compiled forward+backward per "
                        "micro-batch; marked ‡); 0: skip it instead")
    p.add_argument("--micro-batch-always", action="store_true",
                   help="time every size with --micro-batch (to compare it with the direct "
                        "measurement where both fit)")
    p.add_argument("--repeats", type=int, default=5, help="timed calls per T (median)")
    p.add_argument("--warmup", type=int, default=1, help="untimed calls per T after compiling")
    p.add_argument("--memory-timesteps", default="2,100",
                   help="T1,T2 of the memory runs: MiB per 100 steps = "
                        "100 * (peak(T2) - peak(T1)) / (T2 - T1). T1=2, not 1: XLA compiles "
                        "a one-step loop into a different, smaller program")
    p.add_argument("--memory-fallback-timesteps", default="2,20;2,6",
                   help="shorter pairs for memory when T2 is over budget ('' for none)")
    p.add_argument("--layer", choices=("MemoryRNN", "RNN"), default="MemoryRNN",
                   help="run the cells in keras_memory.MemoryRNN (default) or keras.layers.RNN")
    p.add_argument("--memory-jit", default=defaults["memory_jit"],
                   choices=("both", "true", "false", "none"),
                   help="jit_compile of the memory runs ('none': no memory runs); the table "
                        "shows XLA when measured")
    p.add_argument("--memory-steps", type=int, default=3, help="training steps per memory run")
    p.add_argument("--audit", action=argparse.BooleanOptionalAction, default=defaults["audit"],
                   help="count the bytes stored per step for backprop (graph audit, no XLA)")
    p.add_argument("--max-seconds", type=float, default=900,
                   help="time budget of one measurement process")
    p.add_argument("--max-ram-gib", type=float, default=16,
                   help="RAM budget of one measurement process (estimate and watchdog)")
    p.add_argument("--units", type=int, default=100)
    p.add_argument("--word-size", type=int, default=32)
    p.add_argument("--heads", type=int, default=4, help="SAM heads; NTM read heads (+1 write)")
    p.add_argument("--k", type=int, default=4, help="rows read per SAM head")
    p.add_argument("--threads", type=int, default=0, help="TF intra/inter-op threads (0: default)")
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                 "results", defaults["name"] + ".json"),
                   help="JSON path; the plot (.png) and the Markdown table (.md) go next to it")
    p.add_argument("--resume", action="store_true",
                   help="keep the measurements of --out from an earlier run with the same "
                        "settings and measure only the rest (a time whose marginal came out "
                        "zero or negative, i.e. below the noise, is measured again)")
    p.add_argument("--redo", default="", metavar="MODELS",
                   help="with --resume: measure these models (comma-separated) again at every "
                        "size, e.g. after a change to their cell")
    p.add_argument("--figure", default=None,
                   help="also copy the plot here (the docs use docs/figures/<name>.png)")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        quick = {"sizes": defaults["quick_sizes"], "timesteps": "2,6", "fallback_timesteps": "2,4",
                    "repeats": 3, "memory_jit": "true", "memory_steps": 2,
                    "memory_fallback_timesteps": "2,20"}
        given = {a.split("=")[0].lstrip("-").replace("-", "_") for a in (argv or sys.argv[1:])
                 if a.startswith("--")}
        for key, value in quick.items():
            if key not in given and not (key == "memory_jit" and args.memory_jit == "none"):
                setattr(args, key, value)
        if "out" not in given:  # never overwrite a full run's results
            args.out = os.path.splitext(args.out)[0] + "_quick.json"
    args.sizes = [int(float(s)) for s in str(args.sizes).split(",") if s.strip()]
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in args.models:
        if m not in MODELS:
            p.error(f"unknown model {m!r}; allowed: {', '.join(MODELS)}")
    args.redo = [m.strip() for m in args.redo.split(",") if m.strip()]
    for m in args.redo:
        if m not in args.models:
            p.error(f"--redo {m!r} is not one of --models ({', '.join(args.models)})")
    if args.redo and not args.resume:
        p.error("--redo re-measures models of an earlier run: pass it with --resume")
    try:
        args.timesteps = parse_pairs(args.timesteps)[0]
        args.fallback_timesteps = parse_pairs(args.fallback_timesteps)
        args.memory_timesteps = parse_pairs(args.memory_timesteps)[0]
        args.memory_fallback_timesteps = parse_pairs(args.memory_fallback_timesteps)
    except (ValueError, IndexError, argparse.ArgumentTypeError) as e:
        p.error(f"timesteps: {e}")
    args.memory_jits = {"both": [True, False], "true": [True], "false": [False],
                        "none": []}[args.memory_jit]
    return args


def main(argv=None, defaults=SUITE):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv, defaults)
    if args.child is not None:
        child_main(args.child, args)
        return None
    # The children get every option but --child and --quick (already resolved here).
    common = ["--threads", str(args.threads), "--repeats", str(args.repeats),
              "--warmup", str(args.warmup), "--memory-steps", str(args.memory_steps),
              "--max-ram-gib", str(args.max_ram_gib), "--units", str(args.units),
              "--word-size", str(args.word_size), "--heads", str(args.heads),
              "--k", str(args.k), "--layer", args.layer]
    runner = Runner(args, common)
    if args.resume and os.path.exists(args.out):
        with open(args.out) as f:
            runner.reusable = reusable_measurements(json.load(f), args.redo)
        print(f"Resuming {args.out}: {len(runner.reusable)} measurements kept", flush=True)
    started = time.perf_counter()
    for n in sorted(args.sizes):
        print(f"N = {n:,}", flush=True)
        for m in args.models:
            runner.run_time(m, n)
            for jit in args.memory_jits:
                runner.run_memory(m, n, jit)
            if args.audit:
                runner.run_audit(m, n)
    text, table, exponents = report(runner, args)
    base = os.path.splitext(args.out)[0]
    png = plot(runner, args, base + ".png")
    with open(base + ".md", "w") as f:  # the table the docs include (docs/performance.md)
        f.write(text.strip() + "\n")
    if png and args.figure:
        import shutil

        os.makedirs(os.path.dirname(os.path.abspath(args.figure)), exist_ok=True)
        shutil.copyfile(png, args.figure)
    runner.save({"table": table, "exponents": exponents, "report": text, "plot": png,
                 "total_wall_s": time.perf_counter() - started})
    print(f"\nWrote {args.out}, {base}.md" + (f" and {png}" if png else "")
          + (f"; copied the plot to {args.figure}" if png and args.figure else ""))
    return runner


if __name__ == "__main__":
    main()
