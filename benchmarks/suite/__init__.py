"""The benchmark suite behind `benchmarks/scaling.py` (its command line) and its presets.

- `models`: the cells measured and the training step that is timed.
- `memory`: the RSS probes of a measuring process and the RAM estimate of a run.
- `children`: the measurements (time, memory, graph audit), one process each.
- `runner`: the parent: plans each measurement within the budgets, runs and saves it.
- `report`: the growth fits, the Markdown table and the plot.

Import it with `benchmarks/` on `sys.path` (the scripts there put it).
"""
