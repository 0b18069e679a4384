"""The benchmark suite runs end to end (tiny sizes; timings are not checked)."""

import json
import os
import re
import sys

import pytest

BENCHMARKS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "benchmarks")
sys.path.insert(0, BENCHMARKS)

import dnc_scaling  # noqa: E402
import sam_scaling  # noqa: E402
import scaling  # noqa: E402
from suite import memory, models, report, runner  # noqa: E402
from backend_utils import BACKEND  # noqa: E402

#: scaling.py and sam_scaling.py time TensorFlow programs (`tf.function`,
#: `tf.GradientTape`, graph audits); benchmarks/backends.py is the one for every backend.
tensorflow_benchmark = pytest.mark.skipif(
    BACKEND != "tensorflow",
    reason=f"benchmarks/scaling.py runs TensorFlow programs; the backend is {BACKEND}")


@pytest.mark.slow  # Six XLA compiles of HAM (over a minute on 2 cores).
@tensorflow_benchmark
def test_scaling_measures_writes_json_markdown_and_fits_the_growth(tmp_path):
    out = tmp_path / "scaling.json"
    figure = tmp_path / "figures" / "scaling.png"
    scaling.main(["--models", "ham", "--sizes", "4,8,16", "--timesteps", "2,3", "--repeats", "1",
                  "--warmup", "0", "--memory-jit", "none", "--units", "4", "--word-size", "3",
                  "--max-seconds", "240", "--out", str(out), "--figure", str(figure)])
    result = json.loads(out.read_text())
    assert [r["n"] for r in result["time"]] == [4, 8, 16]
    assert all(r["status"] == "ok" for r in result["time"]), result["time"]
    assert all(r["model"] == "ham" and r["jit"] for r in result["time"])
    assert result["memory"] == []
    exponents = result["exponents"]["ham"]
    assert exponents["time_points"] == 3
    # The exponent is the fit of the reported times (None when fewer than two are
    # positive: a timing difference can come out <= 0 on a busy machine).
    expected = report.fit([(r["n"], r["per_step_ms"]) for r in result["time"]])
    assert exponents["time"] == (None if expected is None else expected[0])
    assert exponents["time_log2_r2"] is not None
    table = (tmp_path / "scaling.md").read_text()
    assert "| N | HAM ms/step |" in table and "| 16 |" in table
    assert "MiB/100 steps" not in table  # no memory runs asked for
    assert figure.exists() and (tmp_path / "scaling.png").exists()


def test_fit_of_the_growth_leaves_out_non_positive_times():
    assert report.fit([(4, 1.0), (8, -0.5), (16, 4.0)])[0] == pytest.approx(1.0)
    assert report.fit([(4, 1.0), (8, 0.0)]) is None
    assert report.fit([(4, 1.0), (8, None), (16, 4.0)])[0] == pytest.approx(1.0)


def test_fit_log2_recovers_a_logarithmic_cost():
    points = [(2**k, 0.5 + 0.25 * k) for k in range(4, 21, 2)]
    slope, intercept, r2 = report.fit_log2(points)
    assert slope == pytest.approx(0.25) and intercept == pytest.approx(0.5)
    assert r2 == pytest.approx(1.0)
    assert report.fit([(x, y) for x, y in points])[0] < 0.2  # far from linear


def test_the_sam_preset_keeps_the_papers_setting():
    args = scaling.parse_args([], sam_scaling.SAM)
    assert args.models == ["sam", "sam_lsh", "ntm"]
    assert args.sizes == [1000, 10000, 65536, 262144, 1000000]
    assert args.memory_jits == [True, False] and args.audit
    assert args.out.endswith("sam_scaling.json")
    suite = scaling.parse_args([])
    assert suite.models == list(models.SUITE_MODELS) and suite.memory_jits == [True]
    assert suite.sizes == [16, 1024, 65536, 2**20]


def test_the_dnc_preset_runs_the_dnc_and_both_sdnc_searches_from_1e3_to_1e6():
    args = scaling.parse_args([], dnc_scaling.DNC)
    assert args.models == ["dnc", "sdnc", "sdnc_lsh"]
    assert args.sizes[0] == 1000 and args.sizes[-1] == 2**20
    assert args.out.endswith("dnc_scaling.json")
    for name, search in (("sdnc", "exact"), ("sdnc_lsh", "lsh")):
        cell = models.build_cell(name, 1024, args)
        assert (type(cell).__name__, cell.search, cell.num_heads, cell.k) == (
            "SDNCCell", search, 4, 4)
        assert cell.memory_size == 1024 and cell.word_size == 32
    dnc = models.build_cell("dnc", 1024, args)
    assert (type(dnc).__name__, dnc.num_read_heads, dnc.memory_size) == ("DNCCell", 4, 1024)


def test_unknown_models_are_rejected():
    with pytest.raises(SystemExit):
        scaling.parse_args(["--models", "ham,lstm"])


@tensorflow_benchmark
def test_gradient_accumulation_makes_the_same_update_as_the_whole_batch():
    import numpy as np

    args = scaling.parse_args(["--units", "4", "--word-size", "3", "--heads", "1"])
    x, y = models.make_data(4, 3)
    whole = models.build_model("ntm", 8, 4, args)
    micro = models.build_model("ntm", 8, 1, args)
    for a, b in zip(whole.get_weights(), micro.get_weights()):
        np.testing.assert_array_equal(a, b)
    loss_whole = models.make_train_step(whole, False, learning_rate=0.5)(x, y)
    loss_micro = models.make_train_step(micro, False, learning_rate=0.5, accumulate=4)(x, y)
    np.testing.assert_allclose(float(loss_micro), float(loss_whole), rtol=1e-5)
    moved = 0.0
    for a, b in zip(whole.get_weights(), micro.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)
    for w0, w1 in zip(models.build_model("ntm", 8, 4, args).get_weights(), whole.get_weights()):
        moved += float(np.abs(w1 - w0).sum())
    assert moved > 1e-3  # the step changed the weights, so the comparison means something


def test_resume_keeps_the_earlier_measurements_but_those_redone_or_below_the_noise():
    earlier = {"time": [{"model": "ntm", "n": 8, "status": "ok", "per_step_ms": 1.0},
                        {"model": "ntm", "n": 16, "status": "ok", "per_step_ms": -0.1},
                        {"model": "sam", "n": 8, "status": "ok", "per_step_ms": 1.0},
                        {"model": "sam", "n": 16, "status": "skipped"}],
               "memory": [{"model": "ntm", "n": 8, "jit": True, "status": "ok"},
                          {"model": "sam", "n": 8, "jit": True, "status": "ok"}]}
    assert set(runner.reusable_measurements(earlier)) == {
        ("time", "ntm", 8), ("time", "sam", 8), ("memory", "ntm", 8, True),
        ("memory", "sam", 8, True)}
    assert set(runner.reusable_measurements(earlier, redo=["sam"])) == {
        ("time", "ntm", 8), ("memory", "ntm", 8, True)}
    with pytest.raises(SystemExit):  # --redo names a model of the run, with --resume
        scaling.parse_args(["--models", "ntm", "--resume", "--redo", "sam"])
    with pytest.raises(SystemExit):
        scaling.parse_args(["--models", "ntm", "--redo", "ntm"])
    assert scaling.parse_args(["--models", "ntm,sam", "--resume", "--redo", "sam"]).redo == ["sam"]


@tensorflow_benchmark
def test_a_batch_over_the_ram_budget_is_timed_by_gradient_accumulation(tmp_path):
    out = tmp_path / "scaling.json"
    # 8 x 64 slots need more than the budget at every T; micro-batches of 1 fit.
    argv = ["--models", "ntm", "--sizes", "64", "--timesteps", "2,3", "--fallback-timesteps", "",
            "--repeats", "1", "--warmup", "0", "--memory-jit", "none", "--units", "4",
            "--word-size", "3", "--heads", "1", "--max-seconds", "240", "--out", str(out)]
    budget = memory.estimate_ram("ntm", 64, 4, 3, scaling.parse_args(argv)) / memory.GIB
    scaling.main(argv + ["--max-ram-gib", str(budget), "--batch-size", "8"])
    skipped = json.loads(out.read_text())["time"][0]
    assert skipped["status"] == "skipped" and "micro_batch" not in skipped
    scaling.main(argv + ["--max-ram-gib", str(budget), "--batch-size", "8", "--micro-batch", "1"])
    result = json.loads(out.read_text())
    timed = result["time"][0]
    assert timed["status"] == "ok" and timed["micro_batch"] == 1 and timed["batch"] == 8
    assert "batch 8: T=2,3: estimated RAM" in timed["fallback_reason"]
    assert "‡" in (tmp_path / "scaling.md").read_text()


def test_the_ham_mask_table_on_the_cell_page_is_the_results_file():
    """docs/cells/ham.md quotes benchmarks/results/ham_mask.json, written by benchmarks/ham_mask.py."""
    import json
    import re

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "benchmarks", "results", "ham_mask.json")) as f:
        rows = json.load(f)["rows"]
    ms = {(r["leaves"], r["layer"], r["masked"]): r["ms_per_step"] for r in rows}
    with open(os.path.join(root, "docs", "cells", "ham.md")) as f:
        page = f.read()
    for leaves in (1024, 65536):
        line = next(l for l in page.splitlines() if l.startswith(f"| {leaves:,} |"))
        numbers = [float(x.replace(",", "")) for x in re.findall(r"([\d,]+\.\d) ms", line)]
        plain = sorted([ms[(leaves, "MemoryRNN", False)], ms[(leaves, "keras.layers.RNN", False)]])
        expected = [ms[(leaves, "MemoryRNN", True)], ms[(leaves, "keras.layers.RNN", True)]]
        assert numbers[:2] == [round(v, 1) for v in expected], line
        assert re.search(rf"{plain[0]:.1f}-{plain[1]:,.1f} ms", line), line


def test_ham_mask_benchmark_writes_its_table(tmp_path):
    import importlib.util

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    spec = importlib.util.spec_from_file_location(
        "ham_mask", os.path.join(root, "benchmarks", "ham_mask.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "m.json"
    result = module.main(["--leaves", "4", "--steps", "1", "--warmup", "0", "--timesteps", "4",
                          "--batch-size", "2", "--output", str(out)])
    assert len(result["rows"]) == 4 and out.exists()
    assert json.load(open(out))["environment"]["backend"] == BACKEND
    timed = [r for r in result["rows"] if "skipped" not in r]
    assert all(r["ms_per_step"] > 0 for r in timed)
    # On JAX, Keras' own RNN cannot mask a HAMCell: that row says so.
    skipped = [(r["layer"], r["masked"]) for r in result["rows"] if "skipped" in r]
    assert skipped == ([("keras.layers.RNN", True)] if BACKEND == "jax" else [])


def _sam_index():
    import importlib.util

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    spec = importlib.util.spec_from_file_location(
        "sam_index", os.path.join(root, "benchmarks", "sam_index.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, root


@pytest.mark.parametrize("name", ["sam_index.json", "sam_index_tables32.json"])
def test_the_sam_index_tables_on_the_cell_page_are_the_results_files(name):
    """docs/cells/sam.md quotes benchmarks/results/<name>, written by sam_index.py with the
    command printed beside it."""
    module, root = _sam_index()
    with open(os.path.join(root, "benchmarks", "results", name)) as f:
        result = json.load(f)
    with open(os.path.join(root, "docs", "cells", "sam.md")) as f:
        page = f.read()
    assert module.markdown(result) in page
    assert result["command"] in " ".join(page.split())
    assert [r["N"] for r in result["rows"]][-1] == 1_048_576


def test_sam_index_benchmark_finds_every_row_and_prints_its_summary(tmp_path, capsys):
    module, _ = _sam_index()
    out = tmp_path / "i.json"
    result = module.main(["--sizes", "64,512", "--self-queries", "64", "--queries", "16",
                          "--repeats", "1", "--probes", "0,2", "--output", str(out)])
    assert [(r["N"], r["probes"]) for r in result["rows"]] == [
        (64, 0), (64, 2), (512, 0), (512, 2)] and out.exists()
    assert json.load(open(out))["environment"]["backend"] == BACKEND
    # Every row of every age comes back when queried with its own content.
    assert all(r["self_recall"] == 1.0 for r in result["rows"])
    # Probing more buckets reads a superset of the candidates: recall never drops.
    for without, probed in zip(result["rows"][::2], result["rows"][1::2]):
        for key in ("near_recall_at_k", "near_recall_at_1", "random_recall_at_k",
                    "random_recall_at_1"):
            assert probed[key] >= without[key], key
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("N=512 self-recall 1.0000 recall@K ") and last.endswith(" ms")


def test_the_layer_memory_table_on_the_sam_page_is_the_results_files():
    """docs/cells/sam.md quotes benchmarks/results/layers/{RNN,MemoryRNN}.json."""
    import re

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "docs", "cells", "sam.md")) as f:
        page = f.read()
    for layer, label in (("RNN", "`keras.layers.RNN`"), ("MemoryRNN", "`keras_memory.MemoryRNN`")):
        with open(os.path.join(root, "benchmarks", "results", "layers", f"{layer}.json")) as f:
            result = json.load(f)
        assert result["config"]["layer"] == layer and result["config"]["sizes"] == [65536]
        per_step = {r["model"]: r["per_step_mib"] for r in result["memory"]}
        line = next(l for l in page.splitlines() if l.startswith(f"| {label} |"))
        assert re.findall(r"-?\d+\.\d+", line) == [
            f"{per_step['sam_lsh']:.2f}", f"{per_step['ham']:.2f}"], line
        if layer == "RNN":
            ham_page = open(os.path.join(root, "docs", "cells", "ham.md")).read()
            assert f"{per_step['ham']:.2f} MiB per step for `HAMCell`" in ham_page


def test_the_backends_tables_on_the_performance_page_are_the_results_file():
    """docs/performance.md quotes benchmarks/results/backends.json, written by backends.py."""
    import backends as module  # benchmarks/ is on sys.path (above)

    root = os.path.dirname(BENCHMARKS)
    with open(os.path.join(root, "benchmarks", "results", "backends.json")) as f:
        result = json.load(f)
    with open(os.path.join(root, "docs", "performance.md")) as f:
        page = f.read()
    config = result["config"]
    assert set(config["backends"]) == {"tensorflow", "jax", "torch"}
    assert result["command"] in page
    for n in config["sizes"]:
        assert module.table(result["results"], config["backends"], n) in page, n
    # Every cell ran on every backend, except the DNC above its size limit.
    for row in result["results"]:
        if not (row["cell"] == "dnc" and row["n"] > module.DNC_MAX_N):
            assert row["status"] == "ok", row


def test_the_sam_vs_ntm_times_at_a_million_slots_are_their_results_files():
    """docs/performance.md's SAM-LSH vs NTM paragraph quotes benchmarks/results/sam_vs_ntm_1m/."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    folder = os.path.join(root, "benchmarks", "results", "sam_vs_ntm_1m")

    def timed(name, n):
        with open(os.path.join(folder, name)) as f:
            return next(t for t in json.load(f)["time"] if t["n"] == n)

    with open(os.path.join(root, "docs", "performance.md")) as f:
        page = f.read()
    ntm = timed("ntm_1m_accumulated.json", 1048576)
    sam_1m = timed("sam_lsh_1m.json", 1048576)
    sam_64k = timed("sam_lsh_64k.json", 65536)
    assert sam_1m["timesteps"] == sam_64k["timesteps"] == [110, 410]
    ratio = ntm["per_step_ms"] / sam_1m["per_step_ms"]
    assert (f"**the NTM {ntm['per_step_ms']:,.0f} ms per step, SAM with the LSH index "
            f"{sam_1m['per_step_ms']:.2f} ms: {ratio:,.0f}x**") in page
    assert f"| {sam_64k['per_step_ms']:.2f} ms (T = 110, 410) |" in page
    assert f"| **{sam_1m['per_step_ms']:.2f} ms** (T = 110, 410) |" in page
    assert (f"SAM's step is flat in N ({sam_64k['per_step_ms']:.2f} ms at\n  64K, "
            f"{sam_1m['per_step_ms']:.2f} ms at 1M)") in page
    median = sam_1m["per_step_ms_median_of_differences"]
    assert f"median of per-call differences ({median:.2f} ms)" in page
    assert f"ratio is {ntm['per_step_ms'] / 1.05 / median:,.0f}x" in page
    assert f"fastest calls of each, {ntm['per_step_ms_min'] / sam_1m['per_step_ms_min']:,.0f}x" in page


def _results_and_page(name):
    """`(result, page, time, memory)`: benchmarks/results/<name>.json, docs/performance.md with its
    whitespace collapsed, and the successful times (ms per step) and training memories (MiB per
    100 steps) keyed by `(model, n)`."""
    root = os.path.dirname(BENCHMARKS)
    with open(os.path.join(root, "benchmarks", "results", f"{name}.json")) as f:
        result = json.load(f)
    with open(os.path.join(root, "docs", "performance.md")) as f:
        page = " ".join(f.read().split())
    time = {(r["model"], r["n"]): r["per_step_ms"] for r in result["time"] if r["status"] == "ok"}
    memory = {(r["model"], r["n"]): r["train_mib"] for r in result["memory"]
              if r["status"] == "ok"}
    return result, page, time, memory


def test_the_sdnc_vs_dnc_prose_on_the_performance_page_is_the_results_file():
    """docs/performance.md's SDNC vs DNC section quotes benchmarks/results/dnc_scaling.json."""
    result, page, time, memory = _results_and_page("dnc_scaling")
    exponents = result["exponents"]
    lsh_times = [v for (m, _), v in time.items() if m == "sdnc_lsh"]
    lsh_memory = [v for (m, _), v in memory.items() if m == "sdnc_lsh"]
    assert len(lsh_times) == len(lsh_memory) == 6  # every size, 1e3 .. 1e6
    expected = [
        f"{min(lsh_times):.1f}-{max(lsh_times):.1f} ms per step from 1,000 to 1,048,576 slots",
        f"growth exponent {exponents['sdnc_lsh']['time']:.2f} in time and "
        f"{exponents['sdnc_lsh']['memory']:.2f} in training memory "
        f"({min(lsh_memory):.0f}-{max(lsh_memory):.0f} MiB per 100 steps",
        f"flat memory (exponent {exponents['sdnc']['memory']:.2f})",
        f"{time['sdnc', 1048576]:.0f} ms per step at a million slots "
        f"(exponent {exponents['sdnc']['time']:.2f})",
        f"takes {time['dnc', 1000]:.1f} ms per step and {memory['dnc', 1000]:,.0f} MiB per 100 "
        f"steps at 1,000 slots, and {time['dnc', 4096]:,.0f} ms and about "
        f"{memory['dnc', 4096]:,.0f} MiB",
        f"{time['dnc', 1000] / time['sdnc', 1000]:.0f}x faster and "
        f"{memory['dnc', 1000] / memory['sdnc', 1000]:.0f}x less memory at 1,000 slots and "
        f"{time['dnc', 4096] / time['sdnc', 4096]:,.0f}x and "
        f"{memory['dnc', 4096] / memory['sdnc', 4096]:,.0f}x at 4,096",
    ]
    for text in expected:
        assert text in page, text
    dnc_4k = next(r for r in result["time"] if r["model"] == "dnc" and r["n"] == 4096)
    assert dnc_4k["micro_batch"] == 1  # the page says it was accumulated


def test_the_suite_prose_on_sam_lsh_is_the_results_file():
    """docs/performance.md's 'Flat in N' SAM-LSH numbers are benchmarks/results/scaling.json's."""
    result, page, time, memory = _results_and_page("scaling")
    lsh_times = [v for (m, _), v in time.items() if m == "sam_lsh"]
    lsh_memory = [v for (m, _), v in memory.items() if m == "sam_lsh"]
    assert len(lsh_times) == len(lsh_memory) == 4
    assert (f"SAM with the LSH index ({min(lsh_times):.1f}-{max(lsh_times):.1f} ms per step and "
            f"{min(lsh_memory):.0f}-{max(lsh_memory):.0f} MiB per 100 steps at every size, time "
            f"exponent {result['exponents']['sam_lsh']['time']:.2f})") in page
    ratio = time["ntm", 1048576] / time["sam_lsh", 1048576]
    assert (f"the table's {ratio:,.0f}x rests on SAM's {time['sam_lsh', 1048576]:.2f} ms"
            in page)


def _numbers_of_row(line):
    """The first number of each cell of a Markdown table row (None for an empty cell), as
    `(value, decimals)`; `~`, `(`, thousands separators and notes such as `(T = 2, 4)` are
    dropped."""
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    out = []
    for c in cells:
        m = re.search(r"-?[\d,]*\d(?:\.\d+)?", c.replace("**", ""))
        if not m:
            out.append(None)
            continue
        text = m.group(0).replace(",", "")
        out.append((float(text), len(text.split(".")[1]) if "." in text else 0))
    return out


def _shown_as(value, shown):
    """`value` rounds to `shown` (value, decimals), or to its 3 significant digits."""
    number, decimals = shown
    return (abs(value - number) <= 0.5 * 10 ** -decimals + 1e-9
            or abs(value - number) <= 0.005 * abs(value))


def test_the_sam_vs_ntm_table_on_the_performance_page_is_the_results_file():
    """Every number of docs/performance.md's SAM vs NTM table is benchmarks/results/sam_scaling.json's."""
    result, _, _, _ = _results_and_page("sam_scaling")
    with open(os.path.join(os.path.dirname(BENCHMARKS), "docs", "performance.md")) as f:
        section = f.read().split("## SAM vs NTM as the memory grows", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][1:]
    by_n = {r["n"]: r for r in result["table"]}
    assert len(rows) == len(by_n) + 1  # every size, then the growth exponents
    for line, n in zip(rows, sorted(by_n)):
        r = by_n[n]
        shown = _numbers_of_row(line)
        assert shown[0][0] == n, line
        times = [r[f"{m}_ms_per_step"] for m in ("sam", "sam_lsh", "ntm")]
        mems = [r[f"{m}_train_mib_per_100_steps"] for m in ("sam", "sam_lsh", "ntm")]
        expected = times + [times[2] / times[0], times[2] / times[1]] + mems + [
            mems[2] / mems[0], mems[2] / mems[1]]
        for value, cell in zip(expected, shown[1:]):
            assert _shown_as(value, cell), (line, value, cell)
        assert ("fit" in line) == r["ntm_ms_per_step_is_fit"], line
    exponents = result["exponents"]
    expected = [exponents[m]["time"] for m in ("sam", "sam_lsh", "ntm")]
    expected += [None, None] + [exponents[m]["memory"] for m in ("sam", "sam_lsh", "ntm")]
    for value, cell in zip(expected, _numbers_of_row(rows[-1])[1:]):
        assert (cell is None) if value is None else _shown_as(value, cell), (rows[-1], value)
