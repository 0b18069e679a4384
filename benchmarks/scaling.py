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

This file is the command line; the suite itself is `benchmarks/suite/`:
`models.py` (the cells and the training step timed), `memory.py` (RSS probes
and the RAM estimate), `children.py` (the measurements, one process each),
`runner.py` (planning, running and saving them) and `report.py` (fits, the
table and the plot). `sam_scaling.py` and `dnc_scaling.py` are presets of it.
"""

import argparse
import json
import os
import sys
import time

from suite.children import child_main
from suite.models import MODELS, SUITE_MODELS
from suite.report import plot, report
from suite.runner import Runner, parse_pairs, reusable_measurements

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
