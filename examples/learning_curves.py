"""Compare learning curves of runs made with `examples/train.py`.

Reads each run's curve, from `evaluations.json` in a run directory or from a
results file `examples/train.py --results` wrote (such as
`docs/data/sam/copy_s1.json`), prints a Markdown table of the sequences each
run needed to bring the validation error (bit errors per sequence, mean of
the last `--window` checks, `keras_memory.training.learning_summary`) below
each threshold, with the median over the runs of each group, and plots the
curves.

    python examples/train.py --cell sam --task copy --memory-size 128 --word-size 32 \\
        --steps 2500 --eval-every 50 --seed 1 --run-dir runs/sam_copy_s1
    ...
    python examples/learning_curves.py --group SAM runs/sam_copy_s* --group NTM runs/ntm_copy_s* \\
        --out docs/figures/copy_learning.png --title "Copy, lengths 1-20"
    python examples/learning_curves.py --group SAM docs/data/sam/copy_s?.json \\
        --group NTM docs/data/ntm/copy_s?.json --out docs/figures/copy_learning.png

A run that never reaches a threshold counts as slower than every run that
does (it sorts last for the median).

With `--curriculum` the runs are the parts of one curriculum (`train.py
--curriculum`, each part started from the model of the one before it with
`--init-from`), in order, one `--group` per part: it plots each period's
training error (bit errors per sequence, the error the curriculum's mastery
test reads) and the level the period trained at, against the training
sequences of all parts so far, and prints each part's periods and levels.

    python examples/learning_curves.py --curriculum \\
        --group "4 tables" docs/data/sam/associative_recall_curriculum_100000_lsh_s1.json \\
        --group "32 tables" docs/data/sam/associative_recall_curriculum_100000_lsh32_s1.json \\
        --out docs/figures/sam_curriculum_100000.png
"""

import argparse
import json
import math
import os

import numpy as np

from keras_memory.training import learning_summary


def load(run):
    """The validation checks of a run directory or of a results file."""
    if os.path.isdir(run):
        with open(os.path.join(run, "evaluations.json")) as f:
            return json.load(f)
    with open(run) as f:
        results = json.load(f)
    if "evaluations" not in results:
        raise SystemExit(f"{run} has no learning curve (`evaluations`): a results file "
                         "of examples/train.py --results, or a run directory, is needed.")
    return results["evaluations"]


def load_curriculum(run):
    """`(periods, sequences per period)` of a `train.py --curriculum` results file or run
    directory: each period's level and training error (`curriculum.history`)."""
    path = os.path.join(run, "results.json") if os.path.isdir(run) else run
    with open(path) as f:
        results = json.load(f)
    if "curriculum" not in results:
        raise SystemExit(f"{run} has no curriculum history: a results file of "
                         "examples/train.py --curriculum, or its run directory, is needed.")
    settings = results["settings"]
    return results["curriculum"]["history"], settings["eval_every"] * settings["batch_size"]


def plot_curriculum(parts, out, title=""):
    """Plot the parts of one curriculum one after another (see the module docstring);
    returns `{part: {"periods", "sequences", "levels", "mastered"}}`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, ax = plt.subplots(figsize=(8, 4))
    level_ax = ax.twinx()
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    summary, start = {}, 0
    for i, (name, history, per_period) in enumerate(parts):
        sequences = start + per_period * np.arange(1, len(history) + 1)
        color = colors[i % len(colors)]
        ax.plot(sequences / 1000, [h["bit_errors_per_sequence"] for h in history], ".",
                color=color, markersize=4, label=name)
        level_ax.step(sequences / 1000, [h["level"] for h in history], where="pre", color=color,
                      alpha=0.5)
        mastered = [h["level"] for h in history if h["next_level"] > h["level"]]
        summary[name] = {"periods": len(history), "sequences": int(sequences[-1] - start),
                         "levels": sorted({h["level"] for h in history}),
                         "mastered": max(mastered, default=None)}
        start = int(sequences[-1])
    ax.axhline(1.0, color="0.5", linestyle=":", linewidth=1)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("training sequences (thousands)")
    ax.set_ylabel("training bit errors per sequence\n(dots: one period each)")
    level_ax.set_yscale("log", base=2)
    level_ax.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    level_ax.set_ylabel("curriculum level: items (lines)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    print(f"Wrote {out}")
    return summary


def median(values):
    return float(np.median(np.array(values, dtype=float)))  # inf sorts last


def fmt(value):
    return "not reached" if math.isinf(value) else f"{value:,.0f}"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--group", nargs="+", action="append", metavar=("NAME", "RUN_DIR"),
                   required=True, help="a label followed by run directories (repeatable)")
    p.add_argument("--thresholds", default="1,0.1", help="bit errors per sequence")
    p.add_argument("--window", type=int, default=4, help="checks averaged")
    p.add_argument("--out", default=None, help="PNG of the curves")
    p.add_argument("--json", default=None, help="write the table as JSON")
    p.add_argument("--title", default="")
    p.add_argument("--curriculum", action="store_true",
                   help="plot the training error and level of one curriculum, a group per part")
    args = p.parse_args(argv)
    thresholds = [float(t) for t in args.thresholds.split(",")]
    if args.curriculum:
        if not args.out:
            p.error("--curriculum draws a figure: give --out")
        if any(len(runs) != 1 for _, *runs in args.group):
            p.error("--curriculum: one run per --group (each group is a part of the curriculum)")
        summary = plot_curriculum([(name, *load_curriculum(run)) for name, run in args.group],
                                  args.out, args.title)
        print("| part | periods | sequences | levels | mastered |\n|---|---|---|---|---|")
        for name, part in summary.items():
            print(f"| {name} | {part['periods']} | {part['sequences']:,} | "
                  f"{part['levels'][0]}-{part['levels'][-1]} | {part['mastered']} |")
        return summary

    table = {}
    curves = {}
    for name, *runs in args.group:
        rows = []
        for run in runs:
            evaluations = load(run)
            summary = learning_summary(evaluations, thresholds, args.window)
            sequences = np.array([e["sequences"] for e in evaluations], dtype=float)
            curves.setdefault(name, []).append((run, sequences, np.array(summary["smoothed"])))
            below = summary["below"]
            rows.append({
                "run": run,
                "sequences": summary["sequences"],
                "seconds": float(evaluations[-1].get("seconds", math.nan)),
                "final_error": summary["final_error"],
                **{f"below_{t:g}": math.inf if below[f"{t:g}"] is None else float(below[f"{t:g}"])
                   for t in thresholds},
            })
        table[name] = {
            "runs": rows,
            **{f"median_below_{t:g}": median([r[f"below_{t:g}"] for r in rows])
               for t in thresholds},
        }

    header = ["group", "run"] + [f"sequences to < {t:g} bit" for t in thresholds] + [
        "trained", "final error", "wall s"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name, entry in table.items():
        for r in entry["runs"]:
            print(f"| {name} | {r['run']} | "
                  + " | ".join(fmt(r[f"below_{t:g}"]) for t in thresholds)
                  + f" | {r['sequences']:,} | {r['final_error']:.3f} | {r['seconds']:.0f} |")
        print(f"| **{name}** | **median** | "
              + " | ".join(f"**{fmt(entry[f'median_below_{t:g}'])}**" for t in thresholds)
              + " | | | |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(table, f, indent=1, default=lambda v: None if math.isinf(v) else v)
    if args.out:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4))
        colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for i, (name, runs) in enumerate(curves.items()):
            for j, (run, sequences, smoothed) in enumerate(runs):
                ax.plot(sequences / 1000, smoothed, color=colors[i % len(colors)], alpha=0.8,
                        label=name if j == 0 else None)
        ax.set_yscale("symlog", linthresh=0.1)
        ax.set_xlabel("training sequences (thousands)")
        ax.set_ylabel(f"validation bit errors per sequence\n(mean of {args.window} checks)")
        ax.set_title(args.title)
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
        fig.savefig(args.out, dpi=110)
        print(f"\nWrote {args.out}")
    return table


if __name__ == "__main__":
    main()
