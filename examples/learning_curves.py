"""Compare learning curves of runs made with `examples/train.py`.

Reads `evaluations.json` from each run directory, prints a Markdown table of
the sequences each run needed to bring the validation error (bit errors per
sequence, mean of the last `--window` checks) below each threshold, with the
median over the runs of each group, and plots the curves.

    python examples/train.py --cell sam --task copy --memory-size 128 --word-size 32 \\
        --steps 2500 --eval-every 50 --seed 1 --run-dir runs/sam_copy_s1
    ...
    python examples/learning_curves.py --group SAM runs/sam_copy_s* --group NTM runs/ntm_copy_s* \\
        --out docs/figures/copy_learning.png --title "Copy, lengths 1-20"

A run that never reaches a threshold counts as slower than every run that
does (it sorts last for the median).
"""

import argparse
import json
import math
import os

import numpy as np


def load(run_dir):
    with open(os.path.join(run_dir, "evaluations.json")) as f:
        evaluations = json.load(f)
    sequences = np.array([e["sequences"] for e in evaluations], dtype=float)
    errors = np.array([e["validation_bit_errors_per_sequence"] for e in evaluations])
    seconds = np.array([e.get("seconds", math.nan) for e in evaluations])
    return sequences, errors, seconds


def smooth(errors, window):
    return np.array([errors[max(0, i - window + 1): i + 1].mean() for i in range(len(errors))])


def first_below(sequences, smoothed, threshold):
    below = np.nonzero(smoothed < threshold)[0]
    return float(sequences[below[0]]) if len(below) else math.inf


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
    args = p.parse_args(argv)
    thresholds = [float(t) for t in args.thresholds.split(",")]

    table = {}
    curves = {}
    for name, *runs in args.group:
        rows = []
        for run in runs:
            sequences, errors, seconds = load(run)
            smoothed = smooth(errors, args.window)
            curves.setdefault(name, []).append((run, sequences, smoothed))
            rows.append({
                "run": run,
                "sequences": int(sequences[-1]),
                "seconds": float(seconds[-1]),
                "final_error": float(smoothed[-1]),
                **{f"below_{t:g}": first_below(sequences, smoothed, t) for t in thresholds},
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
