"""The parent process: plans each measurement within the budgets, runs it in a
child process, keeps the results and saves them (`Runner`).
"""

import json
import os
import platform
import subprocess
import sys
import time

from suite.children import RESULT_TAG
from suite.memory import GIB, estimate_ram
from suite.report import PAPER

#: The command line that runs a measurement (`--child`).
SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scaling.py")

def run_child(spec, args, argv_common):
    """Run one measurement in a fresh interpreter; returns its result dict."""
    cmd = [sys.executable, SCRIPT, *argv_common, "--child", json.dumps(spec)]
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
