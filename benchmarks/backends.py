"""Time (and memory) of a training step of every cell on every Keras backend.

For each backend (TensorFlow, JAX, PyTorch) and each cell (NTM, SAM, HAM,
LANTM, RAM, DNC, SDNC) a fresh subprocess with `KERAS_BACKEND` set builds
`keras_memory.layers.MemoryRNN(cell, return_sequences=True)` + `Dense(8)`
on inputs of 9 channels, compiles it with Adam and binary cross-entropy
(`jit_compile=True` on TensorFlow and JAX, XLA; PyTorch runs eagerly, as
Keras' `jit_compile` there is `torch.compile`), and times `train_on_batch`:
the median of `--steps` steps after `--warmup` steps (the first step, which
compiles, is reported apart). HAM trains in hard mode, so its descent samples.

Memory: on the CPU, the peak resident memory of the timed steps above the
memory resident before them (compilation left out: the free heap goes back to
the OS and the kernel's peak mark is reset after the warm-up; Linux only).
On a GPU, the framework's peak device memory over the whole run.

A backend runs under the interpreter given by `--python BACKEND=PATH` (a
virtual environment with that framework), else under this interpreter when it
can import the framework, else it is skipped with the reason. The checkout's
`keras_memory` is put on `PYTHONPATH`, so the environments need only Keras
and their framework.

    python benchmarks/backends.py                      # the backends this interpreter has
    python benchmarks/backends.py --python jax=/path/to/venv-jax/bin/python \\
        --python torch=/path/to/venv-torch/bin/python   # all three (TensorFlow here)
    python benchmarks/backends.py --backends jax --sizes 128,4096,65536   # a GPU run

Prints a Markdown table per memory size and writes JSON (`--out`).
"""

import argparse
import importlib.util
import json
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from suite.memory import current_rss, malloc_trim, peak_rss, reset_peak_rss  # noqa: E402
from suite.runner import child_result  # noqa: E402

BACKENDS = ("tensorflow", "jax", "torch")
FRAMEWORK = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
CELLS = ("ntm", "sam", "ham", "lantm", "ram", "dnc", "sdnc")
LABELS = {"ntm": "NTM", "sam": "SAM", "ham": "HAM", "lantm": "LANTM", "ram": "RAM",
          "dnc": "DNC", "sdnc": "SDNC"}
INPUTS, OUTPUTS = 9, 8
MIB = 2.0**20
# The DNC's temporal link matrix is N x N per example (and the gradient keeps
# one per timestep): above this size it is not measured.
DNC_MAX_N = 1024
RESULT_TAG = "BACKENDS_RESULT "
DEFAULT_OUT = os.path.join(HERE, "results", "backends.json")


# ------------------------------------------------------------------ models
def build_cell(name, n, args):
    """The cell `name` with `n` memory slots (HAM: leaves, a power of two)."""
    from keras_memory.recipes import make_cell, memory_settings

    if name not in CELLS:
        raise ValueError(f"Unknown cell {name!r}; allowed: {', '.join(CELLS)}")
    heads = {"ntm": dict(num_read_heads=args.heads, num_write_heads=1),
             "sam": dict(num_heads=args.heads, k=args.k),
             "dnc": dict(num_read_heads=args.heads),
             "sdnc": dict(num_heads=args.heads, k=args.k, num_links=args.k)}.get(name, {})
    return make_cell(name, units=args.units, seed=0,
                     **memory_settings(name, n, args.word_size), **heads)


def device_of(backend):
    """'gpu' or 'cpu': where Keras places the model on `backend`."""
    if backend == "tensorflow":
        import tensorflow as tf

        return "gpu" if tf.config.list_physical_devices("GPU") else "cpu"
    if backend == "jax":
        import jax

        return "gpu" if jax.default_backend() == "gpu" else jax.default_backend()
    import torch

    return "gpu" if torch.cuda.is_available() else "cpu"


def device_peak_bytes(backend):
    """The framework's peak device memory (GPU only), or None."""
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            return int(tf.config.experimental.get_memory_info("GPU:0")["peak"])
        if backend == "jax":
            import jax

            stats = jax.local_devices()[0].memory_stats() or {}
            return stats.get("peak_bytes_in_use")
        import torch

        return int(torch.cuda.max_memory_allocated())
    except Exception:  # noqa: BLE001 - no GPU or no statistics: report none
        return None


def framework_version(backend):
    return importlib.import_module(FRAMEWORK[backend]).__version__


# ------------------------------------------------------------------ child
def child(spec, args):
    """One measurement in this process: `spec` = {backend, cell, n}."""
    import keras

    from keras_memory import MemoryRNN

    backend = keras.backend.backend()
    if backend != spec["backend"]:
        raise RuntimeError(f"KERAS_BACKEND is {backend!r}, expected {spec['backend']!r}")
    device = device_of(backend)
    keras.utils.set_random_seed(0)
    inputs = keras.Input((args.timesteps, INPUTS), batch_size=args.batch_size)
    rnn = MemoryRNN(build_cell(spec["cell"], spec["n"], args), return_sequences=True)
    model = keras.Model(inputs, keras.layers.Dense(OUTPUTS)(rnn(inputs)))
    jit_compile = backend != "torch"
    model.compile(keras.optimizers.Adam(1e-3),
                  keras.losses.BinaryCrossentropy(from_logits=True), jit_compile=jit_compile)
    rng = np.random.default_rng(0)
    x = rng.random((args.batch_size, args.timesteps, INPUTS)).astype("float32")
    y = (rng.random((args.batch_size, args.timesteps, OUTPUTS)) < 0.5).astype("float32")

    start = time.perf_counter()
    model.train_on_batch(x, y)
    first = time.perf_counter() - start
    for _ in range(args.warmup):
        model.train_on_batch(x, y)
    trimmed = malloc_trim()
    reset = reset_peak_rss()
    resident = current_rss()
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        loss = model.train_on_batch(x, y)
        times.append(time.perf_counter() - start)
    median = float(np.median(times))
    peak = peak_rss()
    device_peak = device_peak_bytes(backend) if device == "gpu" else None
    return {
        **spec,
        "status": "ok",
        "device": device,
        "jit_compile": jit_compile,
        "framework_version": framework_version(backend),
        "keras_version": keras.__version__,
        "first_step_s": first,
        "median_step_ms": 1000.0 * median,
        "min_step_ms": 1000.0 * min(times),
        "per_timestep_ms": 1000.0 * median / args.timesteps,
        "params": int(model.count_params()),
        "loss": float(np.asarray(loss).reshape(-1)[0]),
        # Host memory of the timed steps above what was resident before them
        # (Linux: the peak mark reset after the warm-up; else None).
        "step_peak_rss_mib": (peak - resident) / MIB if reset and trimmed else None,
        "resident_mib": resident / MIB,
        "device_peak_mib": None if device_peak is None else device_peak / MIB,
    }


# ------------------------------------------------------------------ parent
def interpreter_for(backend, args):
    """(python path, None) to run `backend` with, or (None, reason to skip)."""
    if backend in args.python:
        path = args.python[backend]
        if not os.path.exists(path):
            return None, f"--python {backend}={path}: no such file"
        return path, None
    if importlib.util.find_spec(FRAMEWORK[backend]) is not None:
        return sys.executable, None
    return None, (f"{FRAMEWORK[backend]} is not importable by {sys.executable}; "
                  f"pass --python {backend}=PATH")


def run_child(python, spec, args, argv_common):
    env = dict(os.environ, KERAS_BACKEND=spec["backend"], TF_CPP_MIN_LOG_LEVEL="2")
    env["PYTHONPATH"] = os.pathsep.join([ROOT] + [p for p in [env.get("PYTHONPATH")] if p])
    command = [python, os.path.abspath(__file__), "--child", json.dumps(spec), *argv_common]
    return child_result(command, env, spec, args.max_seconds, tag=RESULT_TAG)


def table(rows, backends, n):
    """Markdown: one row per cell, ms per step (and step memory) per backend."""
    by = {(r["cell"], r["backend"]): r for r in rows if r["n"] == n}
    head = "| cell | " + " | ".join(f"{b} ms/step" for b in backends)
    head += " | " + " | ".join(f"{b} MiB" for b in backends) + " |"
    lines = [head, "|---" * (1 + 2 * len(backends)) + "|"]
    for cell in CELLS:
        if not any((cell, b) in by for b in backends):
            continue
        times, memory = [], []
        for b in backends:
            r = by.get((cell, b))
            if r is None or r["status"] != "ok":
                times.append("n/a" if r is None else r["status"])
                memory.append("")
                continue
            times.append(f"{r['median_step_ms']:.1f}")
            mib = r["device_peak_mib"] if r["device"] == "gpu" else r["step_peak_rss_mib"]
            memory.append("" if mib is None else f"{mib:.1f}")
        lines.append(f"| {LABELS[cell]} | " + " | ".join(times) + " | " + " | ".join(memory)
                     + " |")
    return "\n".join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backends", default=",".join(BACKENDS),
                   help="comma-separated, from: " + ", ".join(BACKENDS))
    p.add_argument("--cells", default=",".join(CELLS), help="from: " + ", ".join(CELLS))
    p.add_argument("--python", action="append", default=[], metavar="BACKEND=PATH",
                   help="the interpreter of a backend's environment (repeatable)")
    p.add_argument("--sizes", default="128", help="memory sizes N (HAM: powers of two)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--timesteps", type=int, default=20)
    p.add_argument("--units", type=int, default=64)
    p.add_argument("--word-size", type=int, default=20)
    p.add_argument("--heads", type=int, default=2, help="read heads (SAM, SDNC: heads)")
    p.add_argument("--k", type=int, default=4, help="SAM and SDNC: rows per head (SDNC: links)")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--max-seconds", type=float, default=600.0, help="per measurement")
    p.add_argument("--budget-seconds", type=float, default=0.0,
                   help="skip what is left once the run has taken this long (0: no limit)")
    p.add_argument("--note", default="", help="a remark stored in the JSON")
    p.add_argument("--out", default=DEFAULT_OUT)
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.backends = [b for b in args.backends.split(",") if b]
    args.cells = [c for c in args.cells.split(",") if c]
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    bad = [b for b in args.backends if b not in BACKENDS] + [c for c in args.cells
                                                           if c not in CELLS]
    if bad:
        p.error(f"unknown backends or cells: {', '.join(bad)}; backends: {', '.join(BACKENDS)}; "
                f"cells: {', '.join(CELLS)}")
    pythons = {}
    for item in args.python:
        backend, _, path = item.partition("=")
        if backend not in BACKENDS or not path:
            p.error(f"--python takes BACKEND=PATH with BACKEND one of {', '.join(BACKENDS)}; "
                    f"received {item!r}")
        pythons[backend] = path
    args.python = pythons
    return args


COMMON = ("batch_size", "timesteps", "units", "word_size", "heads", "k", "steps", "warmup")


def main(argv=None):
    args = parse_args(argv)
    if args.child is not None:
        result = child(json.loads(args.child), args)
        sys.stdout.write(RESULT_TAG + json.dumps(result) + "\n")
        return result
    argv_common = []
    for name in COMMON:
        argv_common += ["--" + name.replace("_", "-"), str(getattr(args, name))]
    started = time.perf_counter()
    rows, environments = [], {}
    for backend in args.backends:
        python, reason = interpreter_for(backend, args)
        environments[backend] = {"python": python, "skipped": reason}
        for n in args.sizes:
            for cell in args.cells:
                spec = {"backend": backend, "cell": cell, "n": n}
                if python is None:
                    result = {**spec, "status": "skipped", "reason": reason}
                elif cell == "dnc" and n > DNC_MAX_N:
                    result = {**spec, "status": "skipped",
                              "reason": f"N > {DNC_MAX_N}: the DNC's N x N link matrix"}
                elif args.budget_seconds and time.perf_counter() - started > args.budget_seconds:
                    result = {**spec, "status": "skipped",
                              "reason": f"over --budget-seconds {args.budget_seconds:g}"}
                else:
                    result = run_child(python, spec, args, argv_common)
                rows.append(result)
                shown = (f"{result['median_step_ms']:.1f} ms/step" if result["status"] == "ok"
                         else f"{result['status']}: {result.get('reason', '')}")
                print(f"{backend:10s} {LABELS[cell]:5s} N={n}: {shown}", flush=True)
    tables = {}
    for n in args.sizes:
        tables[n] = table(rows, args.backends, n)
        print(f"\nN = {n}, batch {args.batch_size}, {args.timesteps} steps, controller "
              f"{args.units}, words of {args.word_size}\n\n{tables[n]}")
    config = {k: v for k, v in vars(args).items() if k not in ("child", "out")}
    result = {
        "command": "python benchmarks/backends.py " + " ".join(argv if argv is not None
                                                              else sys.argv[1:]),
        "config": config,
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "environments": environments,
        "seconds": time.perf_counter() - started,
        "note": args.note,
        "results": rows,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print(f"\nWrote {args.out}")
    return result


if __name__ == "__main__":
    main()
