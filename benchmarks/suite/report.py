"""The report: growth fits, the Markdown table, the comparison with the paper, the plot."""

import math

import numpy as np

from suite.memory import MIB
from suite.models import COLORS, LABELS, PAIRS

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
