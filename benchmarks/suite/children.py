"""The measurements, each in its own process (`scaling.py --child SPEC`).

`child_main` runs the one measurement its spec names (time, memory or the
graph audit) and prints the result as JSON on a line starting with
`RESULT_TAG`; a watchdog stops the process when its RSS passes the budget.
"""

import json
import os
import sys
import threading
import time

import numpy as np

from suite.memory import GIB, MIB, current_rss, malloc_trim, peak_rss, reset_peak_rss
from suite.models import INPUTS, OUTPUTS, build_model, make_data, make_train_step

RESULT_TAG = "SCALING_RESULT "
RAM_EXIT_CODE = 75


def _emit(result):
    sys.stdout.write(RESULT_TAG + json.dumps(result) + "\n")
    sys.stdout.flush()


def _start_watchdog(limit_bytes, spec):
    """Stop this process (exit code 75) when its RSS passes `limit_bytes`."""
    if not limit_bytes or not os.path.exists("/proc/self/statm"):
        return

    def watch():
        while True:
            rss = current_rss()
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
        "peak_rss_mib": peak_rss() / MIB,
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
    after_import = peak_rss()
    model = build_model(spec["model"], spec["n"], spec["batch"], args)
    step = make_train_step(model, spec["jit"])
    x, y = make_data(spec["batch"], spec["t"])
    x, y = tf.constant(x), tf.constant(y)
    after_build = peak_rss()
    start = time.perf_counter()
    step(x, y).numpy()
    times = [time.perf_counter() - start]
    with_compile = peak_rss()
    trimmed = malloc_trim()
    resident = current_rss()
    reset = reset_peak_rss()
    for _ in range(max(args.memory_steps, 1)):
        start = time.perf_counter()
        step(x, y).numpy()
        times.append(time.perf_counter() - start)
    peak = peak_rss()
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
