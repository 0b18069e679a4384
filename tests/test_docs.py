"""The documentation site builds with `mkdocs build --strict`: every page is in
the nav, every link and anchor resolves, every docstring of the API reference
parses, and every included benchmark table exists.

The NTM, SAM, DNC and SDNC sections of docs/results.md quote the results files
in docs/data/ntm, docs/data/sam, docs/data/dnc and docs/data/sdnc: every row of their tables names its results
file(s) (written by `examples/train.py --results` or
`examples/quickstart.py --results`), and the numbers of the row are the
numbers in the file, formatted as the page formats them; a row without a file
fails. Each file's command is printed on the page, and its recorded settings
are the ones that command runs with.
"""

import importlib.util
import json
import math
import os
import re
import shlex
import statistics
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_docs_build_strictly(tmp_path):
    site = tmp_path / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    api = (site / "api" / "index.html").read_text()
    for name in ("NTMCell", "SAMCell", "DNCCell", "allocation_weighting", "SDNCCell", "follow_links", "LANTMCell", "RAMCell", "HAMCell", "HAMModel",
                 "lie_access_optimizer", "plot_leaf_visits"):
        assert f'id="keras_memory.' in api and name in api, name


# ------------------------------------------- docs/results.md against docs/data
PAGE = os.path.join(ROOT, "docs", "results.md")
SECTIONS = ("NTM: copy", "Quickstart", "SAM: copy", "SAM: associative recall",
            "DNC and SDNC: copy")
DATA_DIRS = ("ntm", "sam", "dnc", "sdnc")
#: Rows that may lack a file, with the reason, while they wait for a rerun.


def load_example(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "examples", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_page(path=PAGE):
    with open(path) as f:
        return f.read()


def sections(text):
    """`{heading: body}` of the `## ` sections whose heading starts with one of SECTIONS."""
    found = {}
    for block in re.split(r"^## ", text, flags=re.M)[1:]:
        heading, _, body = block.partition("\n")
        for name in SECTIONS:
            if heading.startswith(name):
                found[name] = body
    return found


def split_row(line):
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def tables(body):
    """The Markdown tables of `body`: lists of `{header: cell}` rows."""
    result, lines = [], body.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and re.match(r"^\|(-+\|)+$", lines[i + 1]):
            header, rows = split_row(lines[i]), []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(dict(zip(header, split_row(lines[i]))))
                i += 1
            result.append(rows)
        else:
            i += 1
    return result


def linked_files(cell):
    return [os.path.join(ROOT, "docs", path) for path in re.findall(r"\]\((data/[^)]+\.json)\)", cell)]


def load(path):
    with open(path) as f:
        return json.load(f)


def plain(cell):
    return cell.replace("*", "").strip()


def fmt_sequences(value):
    return "not reached" if value is None else f"{value:,}"


def fmt_error(value):
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def median_sequences(values):
    """The median of the runs' sequence counts, a run that never got there sorting last."""
    value = statistics.median(math.inf if v is None else v for v in values)
    return None if math.isinf(value) else int(value) if value == int(value) else value


def check_learning_row(row, paths, where):
    """The numbers of one table row against its results file(s)."""
    files = [load(path) for path in paths]
    label = plain(row[next(iter(row))])
    for threshold in ("1", "0.1"):
        column = f"< {threshold} bit"
        values = [f["learning"]["below"][threshold] for f in files]
        expected = values[0] if len(files) == 1 else median_sequences(values)
        assert plain(row[column]) == fmt_sequences(expected), (where, label, column)
    if len(files) > 1:
        assert "median" in label, (where, label, "several files but not a median row")
        return
    (results,) = files
    end = plain(row["error at the end"])
    expected = (f"{fmt_error(results['learning']['final_error'])} after "
                f"{results['learning']['sequences']:,}")
    assert end.startswith(expected), (where, label, end, expected)
    assert plain(row["wall time"]) == f"{round(results['train_seconds']):,} s", (where, label)
    for column in row:
        if column.startswith("lengths "):  # the generalization split, e.g. lengths 21-40
            value = results["final"]["generalization"]["bit_errors_per_sequence"]
            assert plain(row[column]) == fmt_error(value), (where, label, column)


def page_rows(text):
    """`(section, row, files)` of every row of the tables of SECTIONS."""
    found = sections(text)
    assert set(found) == set(SECTIONS), sorted(found)
    for name, body in found.items():
        for table in tables(body):
            for row in table:
                yield name, row, linked_files(row.get("results file", ""))


def check_page(text):
    """Every check of this module on the text of a results page; returns the files quoted."""
    quoted = set()
    tables_seen = 0
    for name, row, files in page_rows(text):
        label = plain(row[next(iter(row))])
        assert files, f"{name}: the row {label!r} names no results file"
        quoted.update(files)
        for path in files:
            assert os.path.exists(path), (name, label, path)
        if name == "Quickstart":
            continue  # Checked by check_quickstart.
        check_learning_row(row, files, name)
    for body in sections(text).values():
        tables_seen += len(tables(body))
    assert tables_seen >= 4
    check_quickstart(text)
    return quoted


def check_quickstart(text):
    body = sections(text)["Quickstart"]
    (table,) = tables(body)
    (path,) = {p for row in table for p in linked_files(row["results file"])}
    results = load(path)
    assert len(table) == len(results["rows"]) == 2
    for row, recorded in zip(table, results["rows"]):
        label = row[next(iter(row))]
        assert f"{recorded['num_sequences']} " in label, label
        assert plain(row["bit accuracy"]) == f"{recorded['bit_accuracy']:.4f}", label
        assert plain(row["bit errors per sequence"]) == f"{recorded['bit_errors_per_sequence']:.3f}"
        assert plain(row["sequences entirely right"]) == f"{recorded['sequence_accuracy']:.2%}"
    prose = " ".join(line for line in body.splitlines() if not line.startswith("|"))
    prose = re.sub(r"\s+", " ", prose)
    assert f"trained on {results['sequences']:,} sequences in {round(results['train_seconds']):,} s" in prose
    assert f"took {round(results['script_seconds']):,} s" in prose
    assert ("stopped early" in prose) == results["stopped_early"]
    assert ("ran out of its" in prose) == results["stopped_by_time_limit"]
    best = results["best_check"]
    assert re.search(rf"best validation check[^.]* came at {best['sequences']:,} sequences", prose)


def printed_commands(text):
    """The `python examples/...` lines of the page that write a results file of DATA_DIRS."""
    commands = {}
    for line in text.splitlines():
        line = line.strip().strip("`")
        match = re.search(r"--results (docs/data/(?:%s)/\S+\.json)" % "|".join(DATA_DIRS), line)
        if line.startswith("python examples/") and match:
            commands[os.path.join(ROOT, match.group(1))] = line
    return commands


#: The scripts whose results files these sections quote.
SCRIPTS = ("python examples/train.py ", "python examples/quickstart.py ")


def data_files():
    """The results files of SCRIPTS in DATA_DIRS (under docs/data)."""
    paths = sorted(
        os.path.join(ROOT, "docs", "data", d, name)
        for d in DATA_DIRS
        for name in os.listdir(os.path.join(ROOT, "docs", "data", d))
        if name.endswith(".json")
    )
    return [path for path in paths if str(load(path).get("command", "")).startswith(SCRIPTS)]


def test_every_row_of_the_learning_tables_is_its_results_file():
    quoted = check_page(read_page())
    assert len(quoted) >= 16
    # Every results file of train.py and quickstart.py there is quoted by some row.
    assert set(data_files()) <= quoted, sorted(set(data_files()) - quoted)


def test_each_results_file_was_written_by_the_command_printed_on_the_page():
    commands = printed_commands(read_page())
    train = load_example("train")
    for path in data_files():
        results = load(path)
        assert path in commands, f"no command on the page writes {os.path.relpath(path, ROOT)}"
        command, recorded = results["command"], results.get("settings", {})
        if results.get("resumed"):
            # A run stopped and continued with --resume trains as the uninterrupted
            # run does (tests/test_examples.py): the page prints the command without
            # --resume and the progress display.
            command = re.sub(r" --resume\b| --verbose \d+", "", command)
            recorded = {k: v for k, v in recorded.items() if k not in ("resume", "verbose")}
        assert command == commands[path], path
        argv = shlex.split(commands[path])[2:]
        if commands[path].startswith("python examples/train.py"):
            settings = vars(train.parser().parse_args(argv))
            if results.get("resumed"):
                settings = {k: v for k, v in settings.items() if k not in ("resume", "verbose")}
            if not (settings["cell"] in ("sam", "sdnc") and settings["search"] == "lsh"):
                # The LSH options build nothing without the LSH search: their defaults
                # may change without changing what these commands run.
                settings = {k: v for k, v in settings.items() if not k.startswith("lsh_")}
                recorded = {k: v for k, v in recorded.items() if not k.startswith("lsh_")}
            for key in ("plot_access", "plot_split"):  # draw a trained model, train nothing
                settings.pop(key)
                recorded.pop(key, None)
            if settings["cell"] != "sdnc":
                # Likewise --num-links, which only the SDNC reads.
                settings.pop("num_links", None)
                recorded.pop("num_links", None)
            defaults = vars(train.parser().parse_args([]))
            for key in set(settings) - set(recorded):
                # An option added to train.py after the run: the command leaves it at
                # its default, which trains as the run did.
                if settings[key] == defaults[key]:
                    settings.pop(key)
            assert recorded == settings, path
            steps = settings["steps"] // settings["eval_every"] * settings["eval_every"]
            assert results["learning"]["sequences"] == steps * settings["batch_size"], path
        else:
            assert results["settings"]["results"] == argv[argv.index("--results") + 1]


def test_the_sequence_counts_in_the_prose_are_those_of_the_files():
    """Numbers like 35,200 in the text of the sections are sequence counts (of a threshold,
    a validation check or a median), steps or memory sizes of the files quoted there."""
    text = read_page()
    allowed = set()
    for _, row, files in page_rows(text):
        runs = [load(p) for p in files]
        for results in runs:
            for key in ("below",):
                allowed.update(v for v in results.get("learning", {}).get(key, {}).values() if v)
            allowed.add(results.get("sequences"))
            allowed.update(check["sequences"] for check in results.get("evaluations", []))
            settings = results.get("settings", {})
            allowed.update(settings.get(k) for k in ("steps", "memory_size"))
            if results.get("best_check"):
                allowed.add(results["best_check"]["sequences"])
        if len(runs) > 1:
            for t in ("1", "0.1"):
                allowed.add(median_sequences([r["learning"]["below"][t] for r in runs]))
    for name, body in sections(text).items():
        prose = "\n".join(line for line in body.splitlines()
                          if not line.startswith(("|", "python ", "`python", "![")))
        prose = re.sub(r"```.*?```", "", prose, flags=re.S)
        for number in re.findall(r"(?<![\w.,])\d{1,3}(?:,\d{3})+(?![\w,])", prose):
            assert int(number.replace(",", "")) in allowed, (name, number)


def test_a_changed_number_or_a_row_without_a_file_fails_the_check():
    text = read_page()
    rows = [line for line in text.splitlines() if line.startswith("| `NTMCell`, seed 1 |")]
    assert len(rows) == 1
    changed = re.sub(r"\| ([\d,]+) \|", lambda m: f"| {int(m.group(1).replace(',', '')) + 1600:,} |",
                     rows[0], count=1)
    assert changed != rows[0]
    with pytest.raises(AssertionError):
        check_page(text.replace(rows[0], changed))
    no_file = re.sub(r"\[[^]]*\]\(data/[^)]*\)", "", rows[0])
    with pytest.raises(AssertionError, match="names no results file"):
        check_page(text.replace(rows[0], no_file))
    quick = next(line for line in text.splitlines() if line.startswith("| lengths 1-20"))
    with pytest.raises(AssertionError):
        check_page(text.replace(quick, quick.replace("%", "1%", 1)))



#: The HAM sort runs of docs/results.md ("Not reproduced yet"): results file -> row label.
HAM_TREE_ROWS = {
    "sort_hard_curriculum2.json": "sort",
    "sort_hard_curriculum2_60epochs.json": "sort, `--lr-decay 0.98`",
    "sort_hard_curriculum2_60epochs_depth2.json": "sort, `--lr-decay 0.98 --mlp-depth 2`",
    "sort_hard_curriculum2_100epochs_t10.json":
        "sort, `--lr-decay 0.98 --curriculum-threshold 0.1 --seed 1`",
    "sort_hard_curriculum2_200epochs_t10.json":
        "sort, `--lr-decay 0.98 --curriculum-threshold 0.1 --seed 1 --epochs 200`",
    "search_hard_curriculum2_100epochs_t10.json":
        "search, `--lr-decay 0.98 --curriculum-threshold 0.1 --seed 1`",
    "merge_hard_curriculum2_100epochs_t10.json":
        "merge, `--lr-decay 0.98 --curriculum-threshold 0.1 --seed 1`",
    "merge_hard_curriculum2_100epochs_t10_depth2_seed3.json":
        "merge, `--mlp-depth 2 --gamma 0.95 --alpha-decay 0.95 --lr-decay 0.98 "
        "--curriculum-threshold 0.1 --seed 3`: the search row's settings",
    "search_hard_curriculum2_100epochs_t10_depth2_seed3.json":
        "search, `--mlp-depth 2 --gamma 0.95 --alpha-decay 0.95 --lr-decay 0.98 "
        "--curriculum-threshold 0.1 --seed 3`: Table 1's search row at 100 epochs",
    "search_hard_curriculum2_200epochs_t10_depth2_seed3_nojb.json":
        "search, `--mlp-depth 2 --gamma 0.95 --alpha-decay 0.95 --lr-decay 0.98 "
        "--curriculum-threshold 0.1 --seed 3 --no-join-bias --epochs 200`: Table 1's search row "
        "without JOIN's biases",
    "merge_hard_curriculum2_200epochs_t10.json":
        "merge, `--lr-decay 0.98 --curriculum-threshold 0.1 --seed 1 --epochs 200`: "
        "Table 1's merge row at 200 epochs",
    "merge_hard_curriculum2_200epochs_t10_nojb.json":
        "merge, `--lr-decay 0.98 --curriculum-threshold 0.1 --seed 1 --no-join-bias --epochs 200`: "
        "Table 1's merge row without JOIN's biases",
    "add_hard_curriculum2_eta2.json": "add, `--eta 2`: the reverse row's settings",
    "add_hard_curriculum2_eta2_nojb.json":
        "add, `--eta 2 --no-join-bias`: Table 1's add row without JOIN's biases",
    "sort_hard_curriculum2_300epochs_t10.json":
        "sort, `--lr-decay 0.98 --curriculum-threshold 0.1 --seed 1 --epochs 300`",
    "sort_hard_curriculum2_300epochs_t10_nojb_s2.json":
        "sort, `--lr-decay 0.98 --curriculum-threshold 0.1 --seed 2 --no-join-bias --epochs 300`: "
        "Table 1's sort row with seed 2",
    "sort_hard_curriculum2_300epochs_t10_nojb_d2.json":
        "sort, `--lr-decay 0.98 --curriculum-threshold 0.1 --seed 1 --no-join-bias --mlp-depth 2 "
        "--epochs 300`: Table 1's sort row with MLPs of depth 2",
    "search_hard_curriculum2_100epochs_t10_depth2.json":
        "search, `--lr-decay 0.98 --mlp-depth 2 --gamma 0.95 --alpha-decay 0.95 "
        "--curriculum-threshold 0.1 --seed 1`",
    "search_hard_curriculum2_300epochs_t10_depth2_seed3_rerun.json":
        "search, `--mlp-depth 2 --gamma 0.95 --alpha-decay 0.95 --lr-decay 0.98 "
        "--curriculum-threshold 0.1 --seed 3 --epochs 300`: Table 1's search command, run again "
        "from the start",
}


def test_the_ham_tree_task_rows_are_their_results_files():
    """Each LSTM+HAM sort, search, merge and add row quotes its file: epochs, test / generalization error,
    time; its label's options are the file's arguments, and the command printed
    below the table (without --run-dir and --resume) runs them."""
    page = read_page()
    tables = load_example("ham_tables")
    commands = [" ".join(line.strip().rstrip("\\").split()) for line in re.findall(
        r"^python examples/ham_tables.py --task (?:sort|search|merge|add) .*?(?<!\\)$",
        page.replace("\\\n", " "),
        flags=re.M)]
    for name, label in HAM_TREE_ROWS.items():
        results = load(os.path.join(ROOT, "docs", "data", "ham", name))
        row = next((line for line in page.splitlines()
                    if line.startswith(f"| LSTM+HAM | {label} |")), None)
        assert row is not None, label
        cells = [plain(c) for c in row.strip("|").split("|")]
        assert cells[2] == str(results["epochs"]), name
        assert cells[3] == (f"{results['test_error']:.1f}% / "
                            f"{results['generalization_error']:.0f}%"), name
        assert cells[5].startswith(f"{results['seconds'] / 60:.1f} min"), name
        if "args" not in results:  # the first run predates the recorded arguments
            continue
        argv = next(shlex.split(c)[2:] for c in commands
                    if shlex.split(c)[2:] and _same_run(tables, shlex.split(c)[2:], results))
        assert all(option in argv for option in re.findall(r"--[a-z-]+ [^ `]+", label)
                   for option in option.split()), (label, argv)


def _same_run(tables, argv, results):
    """Whether `argv` runs what the file recorded. An option added to the script after
    the run is absent from the file: the command must leave it at its default."""
    settings = vars(tables.parse_args(argv))
    defaults = vars(tables.parse_args([]))
    recorded = results["args"]
    skip = ("run_dir", "resume", "evaluate")
    return all(settings[k] == recorded.get(k, defaults[k]) for k in settings if k not in skip) \
        and set(recorded) - set(skip) <= set(settings)


def _arrival_at_32_leaves(results):
    """The first epoch of a `ham_tables.py` results file at the curriculum's last stage."""
    return next(e["epoch"] for e in results["history"] if e.get("curriculum_leaves") == 32)


def _above_height_5(r):
    """`N of M`: of the M inputs of an analysis file with a wrong leaf, the N whose first wrong
    turn was at a node above height 5, the root of training's 32 leaves."""
    heights = r["first_wrong_turn_heights"]
    return f"{sum(n for h, n in heights.items() if int(h) > 5):,} of {sum(heights.values()):,}"


#: The rows of the sort model's mistakes table in docs/results.md: how each cell reads its
#: analysis file (`examples/ham_sort_analysis.py`).
SORT_ANALYSIS_ROWS = {
    "sequence error": lambda r: f"{r['sequence_error']:.1f}%",
    "... of the inputs with two equal keys": lambda r: (
        f"{r['sequence_error_with_equal_keys']:.1f}% ({r['sequences_with_equal_keys']:,} inputs)"),
    "... of the inputs without": lambda r: (
        f"{r['sequence_error_without_equal_keys']:.1f}% "
        f"({r['examples'] - r['sequences_with_equal_keys']:,} inputs)"),
    "answer steps that attend the right leaf": lambda r: f"{100 * r['share_right_leaf']:.1f}%",
    "... another leaf with the same key (a stability mistake)":
        lambda r: f"{100 * r['share_tie_mistakes']:.1f}%",
    "... a leaf with another key": lambda r: f"{100 * r['share_wrong_key']:.1f}%",
    "right leaf, wrong output bits": lambda r: f"{100 * r['share_readout_mistakes']:.1f}%",
    "inputs whose first wrong leaf was taken above height 5": _above_height_5,
}


#: The row of the node norms, in the tables whose analysis files have them.
SORT_NORM_ROW = ("median norm of the nodes at heights 1, 2, ... (the root last)", lambda r: " / ".join(
    f"{v:.1f}" for h, v in r["node_norm_median_by_height"].items() if int(h) > 0))

#: The row of how alike the full nodes of a height are: 1 - their mean pairwise cosine.
SORT_COSINE_ROW = (
    "1 - the mean cosine of two full nodes at heights 1, 2, ... (the root last)",
    lambda r: " / ".join("–" if v is None else f"{1 - v:.4f}"
                         for h, v in r["full_node_cosine_mean_by_height"].items() if int(h) > 0))

#: The sort models' mistakes tables of docs/results.md whose files record the node norms
#: and cosines.
SORT_NORM_TABLES = {"**Without JOIN's biases: what it gets wrong.**"}

#: The sort models' mistakes tables of docs/results.md: the paragraph that each table follows
#: -> the prefix of its analysis files.
SORT_ANALYSES = {
    "**What it gets wrong: equal keys.**": "sort_hard_curriculum2_300epochs_t10",
    "**Without JOIN's biases: what it gets wrong.**": "sort_hard_curriculum2_300epochs_t10_nojb",
}


def test_the_full_node_and_depth_2_prose_is_its_results_files():
    """The paragraphs on how alike the full nodes of a height are and on the sort command with
    MLPs of depth 2 quote the run's file and the analysis files, and the page prints the
    commands that wrote the depth-2 analyses."""
    page = " ".join(read_page().replace("\\\n", " ").split())
    data = os.path.join(ROOT, "docs", "data", "ham")

    def analysis(name):
        return load(os.path.join(data, f"sort_hard_curriculum2_300epochs_t10_{name}.json"))

    def apart(r, height):
        return f"{1 - r['full_node_cosine_mean_by_height'][str(height)]:.4f}"

    first, second = analysis("nojb_analysis_128leaves"), analysis("nojb_s2_analysis_128leaves")
    run, d32, d128 = (analysis("nojb_d2"), analysis("nojb_d2_analysis_32leaves"),
                      analysis("nojb_d2_analysis_128leaves"))
    assert run["args"]["mlp_depth"] == 2 and run["args"]["no_join_bias"]
    assert d128["model"] == d32["model"] == "docs/data/ham/models/sort_depth2.keras"
    for r in (d32, d128):
        assert " ".join(r["command"].split()) in page
    expected = (
        f"At 128 leaves it is {apart(first, 1)} at height 1",
        f"{apart(first, 5)} at height 5, the root of training's trees, {apart(first, 6)} at "
        f"height 6 and {apart(first, 7)} at height 7 (seed 2's model: {apart(second, 5)}, "
        f"{apart(second, 6)} and {apart(second, 7)})",
        f"{run['seconds'] / 60:.1f} min) reached 32 leaves only after epoch "
        f"{_arrival_at_32_leaves(run)} and ended at {run['test_error']:.2f}% test and "
        f"{run['generalization_error']:.2f}% generalization error",
        f"at 32 leaves {d32['sequence_error_with_equal_keys']:.1f}% of the inputs with equal keys "
        f"and {d32['sequence_error_without_equal_keys']:.1f}% of those without, at 128 leaves "
        f"{d128['sequence_error_with_equal_keys']:.1f}% and "
        f"{d128['sequence_error_without_equal_keys']:.1f}%",
        f"{apart(d128, 5)} at height 5, {apart(d128, 6)} and {apart(d128, 7)} at heights 6 and 7",
    )

    def leading(r, height):
        return [f"{v:.3f}" for v in r["join_jacobian_by_height"][str(height)]]

    # JOIN's Jacobian: one map from height 3 (seed 1, seed 2) or 4 (depth 2) to 7.
    for r, heights in ((first, range(3, 8)), (second, range(3, 7)), (d128, (4, 5))):
        assert len({tuple(leading(r, h)) for h in heights}) == 1
    (a, b), (c, d), (e, f) = leading(first, 5), leading(second, 5), leading(d128, 5)
    ratios = [f"{float(x) / float(y):.2f}" for x, y in ((a, b), (c, d), (e, f))]
    expected += (
        f"its eigenvalues lead with {a} and {b} at every height from 3 to 7 (seed 2: {c} and "
        f"{d}; depth 2: {e} and {f} at heights 4 and 5)",
        f"the more the first eigenvalue leads the second (here by {ratios[0]}, {ratios[1]} and "
        f"{ratios[2]})",
    )
    for sentence in expected:
        assert sentence in page, sentence


@pytest.mark.parametrize("heading", list(SORT_ANALYSES))
def test_the_ham_sort_analysis_table_is_its_results_files(heading):
    """Each cell of a sort model's mistakes table quotes its analysis file, and the page
    prints the command that wrote each file."""
    page = read_page()
    assert page.count(heading) == 1, heading
    body = page.split(heading, 1)[1]
    table = tables(body)[0]
    rows = dict(SORT_ANALYSIS_ROWS)
    if heading in SORT_NORM_TABLES:
        rows.update([SORT_NORM_ROW, SORT_COSINE_ROW])
    assert [row[""] for row in table] == list(rows)
    commands = page.replace("\\\n", " ")
    columns = {"at 8 leaves": "8leaves", "at 16 leaves": "16leaves", "at 32 leaves": "32leaves",
               "at 64 leaves": "64leaves", "at 128 leaves": "128leaves",
               "at 128 leaves, 1-32 items": "128leaves_32items"}
    assert list(table[0])[1:] == list(columns)
    for column, name in columns.items():
        results = load(os.path.join(ROOT, "docs", "data", "ham",
                                    f"{SORT_ANALYSES[heading]}_analysis_{name}.json"))
        assert column.startswith(f"at {results['leaves']} leaves"), column
        assert results.get("max_items", results["leaves"]) == (32 if "1-32" in column
                                                                else results["leaves"]), column
        assert " ".join(results["command"].split()) in " ".join(commands.split()), column
        for row in table:
            assert row[column] == rows[row[""]](results), (column, row[""])


def test_the_capped_sort_analysis_prose_is_its_results_file():
    """The sentence on shrinking the nodes SEARCH reads quotes its analysis file and the
    uncapped 128-leaf file, and the page prints the command that wrote the capped one."""
    page = " ".join(read_page().replace("\\\n", " ").split())
    name = "sort_hard_curriculum2_300epochs_t10_nojb_analysis_128leaves"
    capped = load(os.path.join(ROOT, "docs", "data", "ham", f"{name}_cap266.json"))
    plain = load(os.path.join(ROOT, "docs", "data", "ham", f"{name}.json"))
    assert capped["cap_search_norm"] == 266 and capped["leaves"] == 128
    assert " ".join(capped["command"].split()) in page

    expected = (
        f"{capped['sequence_error']:.1f}% of the inputs wrong "
        f"({plain['sequence_error']:.1f}% without the cap), "
        f"{100 * capped['share_tie_mistakes']:.1f}% of the answer steps on another leaf with the "
        f"same key ({100 * plain['share_tie_mistakes']:.1f}%), and the first wrong leaf above "
        f"height 5 in {_above_height_5(capped)} inputs ({_above_height_5(plain)})")
    assert expected in page, expected


def test_the_second_sort_seed_prose_is_its_results_files():
    """The paragraph on the sort row's command with seed 2 quotes its run's file and its
    128-leaf analysis file, and the page prints the command that wrote the analysis."""
    page = " ".join(read_page().replace("\\\n", " ").split())
    data = os.path.join(ROOT, "docs", "data", "ham")
    run = load(os.path.join(data, "sort_hard_curriculum2_300epochs_t10_nojb_s2.json"))
    first = load(os.path.join(data, "sort_hard_curriculum2_300epochs_t10_nojb.json"))
    r = load(os.path.join(data, "sort_hard_curriculum2_300epochs_t10_nojb_s2_analysis_128leaves.json"))
    assert run["args"]["seed"] == 2 and r["model"] == "docs/data/ham/models/sort_seed2.keras"
    assert " ".join(r["command"].split()) in page

    norms = r["node_norm_median_by_height"]
    expected = (
        f"{run['seconds'] / 60:.1f} min) reached 32 leaves after epoch {_arrival_at_32_leaves(run)} "
        f"(seed 1: {_arrival_at_32_leaves(first)}) and ended at {run['test_error']:.2f}% test and "
        f"{run['generalization_error']:.2f}% generalization error",
        f"finds {r['sequence_error']:.1f}% of the inputs wrong, "
        f"{r['sequence_error_with_equal_keys']:.1f}% of those with equal keys and "
        f"{r['sequence_error_without_equal_keys']:.1f}% of those without, "
        f"{100 * r['share_tie_mistakes']:.1f}% of the answer steps on another leaf with the same "
        f"key, and the first wrong leaf above height 5 in {_above_height_5(r)} inputs",
        f"({norms['5']:.1f} at height 5, {norms['6']:.1f} and {norms['7']:.1f} at heights 6 and 7)",
    )
    for sentence in expected:
        assert sentence in page, sentence


def test_the_search_rerun_prose_is_its_results_files():
    """The paragraph on Table 1's search command run again quotes its file and the row's."""
    page = " ".join(read_page().split())
    data = os.path.join(ROOT, "docs", "data", "ham")
    run = load(os.path.join(data, "search_hard_curriculum2_300epochs_t10_depth2_seed3_rerun.json"))
    row = load(os.path.join(data, "search_hard_curriculum2_200epochs_t10_depth2_seed3.json"))
    same = {k: v for k, v in run["args"].items() if k not in ("epochs", "run_dir")}
    assert same == {k: v for k, v in row["args"].items() if k not in ("epochs", "run_dir")}

    full = [e for e in run["history"] if e.get("curriculum_leaves") == 32]
    best = min(e["validation_error"] for e in full)
    best_epoch = max(e["epoch"] for e in full if e["validation_error"] == best)
    expected = (
        f"{run['seconds'] / 60:.1f} min, resumed across two sessions) reached 32 leaves after "
        f"epoch {_arrival_at_32_leaves(run)} (the row's run: {_arrival_at_32_leaves(row)}), its best validation error there "
        f"was {best:.1f}% at epoch {best_epoch}, and it ended at {run['test_error']:.2f}% test "
        f"and {run['generalization_error']:.2f}% generalization error, against the row's "
        f"{row['test_error']:.2f}% / {row['generalization_error']:.2f}% at {row['epochs']} epochs",
        f"its validation error is {run['history'][0]['validation_error']:.1f}% here and "
        f"{row['history'][0]['validation_error']:.1f}% in the row's file. Today's code gives "
        f"{run['history'][0]['validation_error']:.1f}% for that epoch",
        f"one run of these settings reached {row['test_error']:.2f}% / "
        f"{row['generalization_error']:.2f}%, the other {run['test_error']:.2f}% / "
        f"{run['generalization_error']:.2f}%",
    )
    for sentence in expected:
        assert sentence in page, sentence


#: The columns of the long-recall table of docs/results.md and their results files.
LONG_RECALL_COLUMNS = {
    "LSH": "long_recall_100000_lsh_s1.json",
    "LSH, 4 probes": "long_recall_100000_lsh_probes4_s1.json",
    "LSH, 16 tables": "long_recall_100000_lsh_tables16_s1.json",
    "LSH, 10 bits, buckets of 256": "long_recall_100000_lsh_bits10_buckets256_s1.json",
    "LSH, 8 tables of 8 bits, buckets of 1,024":
        "long_recall_100000_lsh_tables8_bits8_buckets1024_s1.json",
    "exact search": "long_recall_100000_exact_s1.json",
}


def test_the_long_recall_table_is_its_results_files():
    """Each column of the table quotes its file, item count by item count, and the
    page prints the command each file recorded."""
    body = read_page().split("## SAM's index on episodes longer than trained", 1)[1]
    body = body.split("\n## ", 1)[0].split("\n### ", 1)[0]
    (table,) = tables(body)
    for column, name in LONG_RECALL_COLUMNS.items():
        results = load(os.path.join(ROOT, "docs", "data", "sam", name))
        assert results["command"] in body, name
        _assert_long_recall_rows(table, results["rows"], column, name)


def _assert_long_recall_rows(table, recorded_rows, column, name,
                             cell=lambda r: f"{r['bit_errors_per_sequence']:.3f}"):
    """Each row of a long-recall table is its file's row: items, steps, rows allocated and,
    in `column`, `cell` of the row (by default the bit errors per sequence)."""
    assert len(recorded_rows) == len(table), name
    for row, recorded in zip(table, recorded_rows):
        assert plain(row["items"]) == f"{recorded['items']:,}", name
        assert plain(row["steps"]) == f"{recorded['steps']:,}", name
        assert plain(row["rows allocated"]) == f"{recorded['rows_written']:,}", name
        assert plain(row[column]) == cell(recorded), name


def test_the_curriculum_model_long_recall_table_is_its_results_files():
    """The table of the curriculum's model on long episodes quotes its two files, item
    count by item count, and the page prints the command of each."""
    body = read_page().split("### The curriculum's model on episodes of up to 4008 steps", 1)[1]
    body = body.split("\n### ", 1)[0]
    (table,) = tables(body)
    last = {}
    for search in ("lsh32", "exact"):
        results = load(os.path.join(ROOT, "docs", "data", "sam",
                                    f"long_recall_curriculum_lsh32_s1_{search}.json"))
        assert results["command"] in body, search
        column = "LSH, 32 tables" if search == "lsh32" else "exact search"
        right = "sequences right, " + ("LSH" if search == "lsh32" else "exact")
        _assert_long_recall_rows(table, results["rows"], column, search)
        for row, recorded in zip(table, results["rows"]):
            assert plain(row[right]) == f"{100 * recorded['sequence_accuracy']:.1f}%", search
        last[search] = results["rows"][-1]
    prose = " ".join(body.split())
    assert (f"answers {100 * last['exact']['sequence_accuracy']:.1f}% of those episodes without an "
            f"error with the exact search and {100 * last['lsh32']['sequence_accuracy']:.1f}% "
            f"through the index ({last['exact']['bit_errors_per_sequence']:.3f} and "
            f"{last['lsh32']['bit_errors_per_sequence']:.3f} bit errors") in prose


def test_the_curriculum_through_10_bit_tables_prose_is_its_results_files():
    """The paragraph on the curriculum's third run quotes its file (each level's error in the
    period that mastered it, the periods, the time of the period at 384 items) and the second
    run's file (its one period at 384 items)."""
    prose = " ".join(read_page().split())
    data = os.path.join(ROOT, "docs", "data", "sam")
    third = load(os.path.join(data, "associative_recall_curriculum_100000_lsh32_bits10_s1.json"))
    second = load(os.path.join(data, "associative_recall_curriculum_100000_lsh32_s1.json"))
    assert third["settings"]["init_from"] == "runs/sam_long_100k_t32_s1_step4150.keras"
    assert second["settings"]["steps"] == 4150
    mastered = {h["level"]: h["bit_errors_per_sequence"] for h in third["curriculum"]["history"]
                if h["next_level"] > h["level"]}
    assert len(mastered) == len(third["curriculum"]["history"])  # each level in one period

    def last_period_seconds(results):
        *_, before, last = results["evaluations"]
        return round(last["seconds"] - before["seconds"])

    assert second["curriculum"]["history"][-1]["level"] == 384
    for sentence in (
            f"96 items at {mastered[96]:.3f} bits per sequence, 192 at {mastered[192]:.3f} and "
            f"384 items (1544 steps, 6176 rows) at {mastered[384]:.3f}",
            f"after the period that mastered 384 items, {len(mastered)} periods in all, and goes "
            f"on at {third['curriculum']['level']} items",
            f"the period at 384 items took {last_period_seconds(third)} s, where the 13-bit "
            f"tables' one period at that level took {last_period_seconds(second)} s"):
        assert sentence in prose, sentence


def test_the_curriculum_through_10_bit_tables_from_the_start_prose_is_its_results_files():
    """The paragraph on the curriculum's fourth run quotes its file (the periods at each level
    and the errors of the first and the mastering one, the level it was stopped at, the time
    of its periods at 96 items) and the third run's file (its one period at 96 items), and the
    models it names are committed."""
    prose = " ".join(read_page().split())
    data = os.path.join(ROOT, "docs", "data", "sam")
    fourth = load(os.path.join(data,
                               "associative_recall_curriculum_100000_lsh32_bits10_fresh_s1.json"))
    third = load(os.path.join(data, "associative_recall_curriculum_100000_lsh32_bits10_s1.json"))
    assert fourth["settings"]["init_from"] == "runs/sam_associative_recall_s1/best.keras"
    for name in ("associative_recall_s1", "associative_recall_curriculum_100000_lsh32_bits10_fresh_s1"):
        assert os.path.exists(os.path.join(data, "models", f"{name}.keras")), name

    def periods(results, level):
        """`(error, seconds)` of each period at `level`."""
        history, evaluations = results["curriculum"]["history"], results["evaluations"]
        starts = [0.0] + [e["seconds"] for e in evaluations[:-1]]
        return [(h["bit_errors_per_sequence"], e["seconds"] - start)
                for h, e, start in zip(history, evaluations, starts) if h["level"] == level]

    at48, at96, at192 = (periods(fourth, level) for level in (48, 96, 192))
    seconds96 = [round(t) for _, t in at96]
    (third96,) = periods(third, 96)
    assert fourth["curriculum"]["mastered"] == 96 and fourth["curriculum"]["level"] == 192
    for sentence in (
            f"It mastered 48 items in the {len(at48)}th of its periods at that level "
            f"({at48[0][0]:.3f} bits in the first, {at48[-1][0]:.3f} in the last) and 96 items in "
            f"the {len(at96)}th ({at96[-1][0]:.3f})",
            f"{len(fourth['curriculum']['history'])} periods and {fourth['sequences']:,} sequences "
            f"in all, and it was at 192 items ({at192[-1][0]:.3f} bits)",
            f"at 96 items took {min(seconds96)}-{max(seconds96)} s, where the third run's one "
            f"period there took {round(third96[1])} s"):
        assert sentence in prose, sentence


#: The columns of the table of docs/results.md on which index finds the learned queries' rows:
#: label -> the tag of docs/data/sam/long_recall_curriculum_lsh32_s1_<tag>.json.
LONG_RECALL_INDEX_COLUMNS = {
    "32 tables of 13 bits": "lsh32",
    "64 tables of 13 bits": "lsh64",
    "32 tables of 13 bits, 4 probes": "lsh32_probes4",
    "32 tables of 10 bits, buckets of 128": "lsh32_bits10_buckets128",
    "32 tables of 8 bits, buckets of 512": "lsh32_bits8_buckets512",
    "exact search": "exact",
}


def _slots_read(settings):
    """The memory slots one read of `sam_long_recall.py`'s settings scores: every slot with
    the exact search; else the query's bucket in each table and each probed neighbour, and
    the ring of recent rows (`SAMCell`'s defaults: buckets of 32, a ring of 256)."""
    if settings["search"] == "exact":
        return settings["memory_size"]
    return (settings["lsh_tables"] * (1 + settings["lsh_probes"])
            * (settings["lsh_bucket_size"] or 32) + (settings["lsh_recent"] or 256))


def test_the_index_choice_table_is_its_results_files():
    """Each column of the table of the indexes under the curriculum's model quotes its file
    (bit errors per sequence and sequences right, item count by item count); its heading
    names the file's tables, bits and probes and the slots a read scores; the page prints
    each file's command, and the prose below quotes the files' longest episodes."""
    from keras_memory.addressing.sam import default_lsh_bits

    page = read_page()
    body = page.split("### Which index finds the rows that learned queries read", 1)[1]
    body = body.split("\n### ", 1)[0]
    (table,) = tables(body)
    assert len(table[0]) == 3 + len(LONG_RECALL_INDEX_COLUMNS)
    last = {}
    for label, tag in LONG_RECALL_INDEX_COLUMNS.items():
        results = load(os.path.join(ROOT, "docs", "data", "sam",
                                    f"long_recall_curriculum_lsh32_s1_{tag}.json"))
        settings = results["settings"]
        assert results["command"] in page, tag  # the table above prints two of them
        assert settings["model"] == "runs/sam_long_100k_t32_s1_step4150.keras", tag
        column = f"{label} ({_slots_read(settings):,} slots read)"
        if settings["search"] == "lsh":
            bits = settings["lsh_bits"] or default_lsh_bits(settings["memory_size"],
                                                            settings["lsh_bucket_size"] or 32)
            assert label.startswith(f"{settings['lsh_tables']} tables of {bits} bits"), tag
            assert ("probes" in label) == bool(settings["lsh_probes"]), tag
        _assert_long_recall_rows(table, results["rows"], column, tag, cell=lambda r: (
            f"{r['bit_errors_per_sequence']:.3f} / {100 * r['sequence_accuracy']:.1f}%"))
        last[tag] = results["rows"][-1]

    def right(tag):
        return f"{100 * last[tag]['sequence_accuracy']:.1f}%"

    def bits(tag):
        return f"{last[tag]['bit_errors_per_sequence']:.3f}"

    longest = f"the {last['exact']['steps']}-step episodes of {last['exact']['items']:,} items"
    prose = " ".join(body.split())
    for sentence in (
            f"it answers {right('lsh32_bits10_buckets128')} of {longest} right, at "
            f"{bits('lsh32_bits10_buckets128')} bit errors per sequence, as it does with the exact "
            f"search ({right('exact')}, {bits('exact')})",
            f"64 of them make {bits('lsh64')} bits at {last['lsh64']['items']:,} items",
            f"comes near the exact search ({bits('lsh32_probes4')} bits, {right('lsh32_probes4')})",
            f"do no better than 10 bits ({bits('lsh32_bits8_buckets512')} bits, "
            f"{right('lsh32_bits8_buckets512')} at {last['exact']['items']:,} items)"):
        assert sentence in prose, sentence


#: The models of the key-similarity table of docs/results.md and the tag of their files
#: docs/data/sam/key_similarity_<tag>_{exact,lsh4,lsh32}.json.
KEY_SIMILARITY_MODELS = {
    "128 slots, exact search (the start)": "s1",
    "curriculum, 4 tables": "curriculum_lsh4_s1",
    "curriculum, 32 tables": "curriculum_lsh32_s1",
}


def test_the_key_similarity_table_is_its_results_files():
    """Each row of the table of the curriculum through the index quotes its model's three
    files (exact search, 4 and 32 tables), and the page prints each file's command."""
    body = read_page().split("### How near the learned queries come to their rows", 1)[1]
    body = body.split("\n## ", 1)[0]
    table = next(t for t in tables(body) if "cosine, query and row read (10th / 50th / 90th "
                                                 "percentile)" in t[0])
    assert [plain(row["model"]) for row in table] == [
        label for label in KEY_SIMILARITY_MODELS for _ in range(2)]
    for label, tag in KEY_SIMILARITY_MODELS.items():
        files = {key: load(os.path.join(ROOT, "docs", "data", "sam",
                                        f"key_similarity_{tag}_{key}.json"))
                 for key in ("exact", "lsh4", "lsh32")}
        for results in files.values():
            assert results["command"] in body, (label, results["command"])
        rows = [row for row in table if plain(row["model"]) == label]
        for i, row in enumerate(rows):
            four, many = files["lsh4"]["rows"][i], files["lsh32"]["rows"][i]
            assert plain(row["items"]) == str(files["exact"]["rows"][i]["items"]) == str(
                four["items"]), label
            assert plain(row["exact search"]) == (
                f"{files['exact']['rows'][i]['bit_errors_per_sequence']:.3f}")
            assert plain(row["LSH, 4 tables"]) == f"{four['bit_errors_per_sequence']:.3f}"
            assert plain(row["LSH, 32 tables"]) == f"{many['bit_errors_per_sequence']:.3f}"
            assert (four["key_similarity"]["index_tables"],
                    many["key_similarity"]["index_tables"]) == (4, 32)
            cosine = four["key_similarity"]["cosine_percentiles_10_50_90"]
            assert plain(row["cosine, query and row read (10th / 50th / 90th percentile)"]) == (
                " / ".join(f"{v:.2f}" for v in cosine)), label
            assert plain(row["reads"]) == str(four["key_similarity"]["reads"])
            assert plain(row["found by 4 tables"]) == (
                f"{four['key_similarity']['found_by_tables']:.0%}")
            assert plain(row["found by 32 tables"]) == (
                f"{many['key_similarity']['found_by_tables']:.0%}")


def test_the_ham_search_seeds_in_the_prose_are_their_tuning_table():
    """The three seeds of the first Search trial's settings quoted in docs/results.md are the
    rows of docs/data/tuning/ham_search_32_t10_seeds.csv."""
    import csv

    with open(os.path.join(ROOT, "docs", "data", "tuning", "ham_search_32_t10_seeds.csv")) as f:
        rows = {r["seed"]: r for r in csv.DictReader(f)}
    assert sorted(rows) == ["1", "2", "3"]
    assert all(r["status"] == "COMPLETED" for r in rows.values())
    prose = re.sub(r"\s+", " ", read_page())

    def errors(r, bold=False):
        test, gen = float(r["test_error"]), float(r["generalization_error"])
        if bold:
            return f"**{test:.2f}% test and {gen:.2f}% generalization error**"
        return f"{test:.2f}% / {gen:.2f}%"

    def reached(r):
        return f"reached {int(float(r['curriculum_final_leaves']))} leaves"

    assert f"seed 3 {reached(rows['3'])} and gave {errors(rows['3'], bold=True)}" in prose
    assert f"seed 2 {reached(rows['2'])} and gave {errors(rows['2'])}" in prose
    assert (f"seed 1 stayed at {int(float(rows['1']['curriculum_final_leaves']))} leaves "
            f"({errors(rows['1'])})") in prose


def test_the_ham_search_trial_in_the_prose_is_its_tuning_table():
    """The Search trial quoted in docs/results.md is the best completed row of
    docs/data/tuning/ham_search_32_t10.csv."""
    import csv

    with open(os.path.join(ROOT, "docs", "data", "tuning", "ham_search_32_t10.csv")) as f:
        rows = [r for r in csv.DictReader(f) if r["status"] == "COMPLETED"]
    best = min(rows, key=lambda r: float(r["objective"]))
    prose = re.sub(r"\s+", " ", read_page())
    assert (f"kept it there for its last {int(float(best['full_size_epochs']))} epochs, with a best "
            f"validation error of {float(best['objective']):.2f}% at "
            f"{int(float(best['curriculum_final_leaves']))} leaves "
            f"({float(best['final_validation_error']):.1f}% in its last epoch; "
            f"{float(best['seconds']) / 60:.1f} minutes)") in prose
    settings = (f"MLPs of depth {best['mlp_depth']}, `gamma = {best['gamma']}`, "
                f"`alpha = 1e-3` decaying {best['alpha_decay']} per epoch, threshold "
                f"{float(best['curriculum_threshold']):.0%}, seed {best['seed']})")
    assert best["alpha"] == "0.001" and best["learning_rate"] == "0.003", best
    assert settings in prose, settings
    assert (f"**{float(best['test_error']):.2f}% test error** (paper: 0.12%) and "
            f"**{float(best['generalization_error']):.2f}% generalization error** at 128 "
            "leaves") in prose


# ------------------------------------------------ files the pages point to
COMMITTED = r"(?:docs/data|docs/figures|benchmarks/results|tests/data)/[A-Za-z0-9_./-]+\.[a-z]+"


def quoted_files(text):
    """The committed files a page names: paths under docs/data, docs/figures,
    benchmarks/results and tests/data, but for what a printed command writes
    (`--out`, `--results`) and placeholders such as `copy_sS.json`."""
    found = set()
    for match in re.finditer(r"(?<![\w/])(%s)" % COMMITTED, text):
        path = match.group(1).rstrip(".")
        before = text[max(0, match.start() - 12):match.start()]
        if re.search(r"--(out|results)[ =]$", before) or re.search(r"_sS\.", path):
            continue
        found.add(path)
    return found


def test_every_file_a_page_names_is_committed():
    pages = [os.path.join(ROOT, "README.md")]
    for folder in ("docs", "benchmarks", "tuning", "examples"):
        for base, _, names in os.walk(os.path.join(ROOT, folder)):
            pages += [os.path.join(base, n) for n in names if n.endswith(".md")]
    tracked = set(subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                                 check=True).stdout.split())
    missing = {}
    for page in pages:
        with open(page) as f:
            for path in quoted_files(f.read()):
                if path not in tracked:
                    missing.setdefault(os.path.relpath(page, ROOT), []).append(path)
    assert not missing, missing


def test_a_named_file_that_is_missing_is_found():
    text = ("The model is `docs/data/ham/models/reverse.keras`; "
            "`--out benchmarks/results/x.json` and `docs/data/ntm/copy_sS.json` are not checked.")
    assert quoted_files(text) == {"docs/data/ham/models/reverse.keras"}


# ------------------------------------------------ HAM: Tables 1 and 2
def test_the_ham_tables_file_is_collected_from_the_results_files():
    """docs/data/ham/tables.json is what `ham_tables.py --collect` writes from the rows'
    files today, and every row names files that exist and a command per stage."""
    records = load_example("ham_tables").collect_tables(data=os.path.join(ROOT, "docs", "data"))
    assert load(os.path.join(ROOT, "docs", "data", "ham", "tables.json")) == records
    for record in records:
        assert len(record["commands"]) == len(record["results"]) or len(record["results"]) == 1
        for path in record["results"]:
            assert os.path.exists(os.path.join(ROOT, path)), path


def test_the_ham_tables_on_the_page_are_the_tables_file():
    """Each row of the first table of the HAM section quotes its record of
    docs/data/ham/tables.json: both errors, the paper's, the time and the files;
    every record has its row."""
    records = load(os.path.join(ROOT, "docs", "data", "ham", "tables.json"))
    body = read_page().split("## HAM: Tables 1 and 2", 1)[1].split("\n## ", 1)[0]
    rows = tables(body)[0]
    assert len(rows) == len(records)
    for row, record in zip(rows, records):
        where = (record["model"], record["task"])
        assert (plain(row["model"]), plain(row["task"]).split(" ")[0].rstrip(",")) == where, row
        assert plain(row["ours test / generalization error"]) == (
            f"{record['test_error']:.2f}% / {record['generalization_error']:.2f}%"), where
        assert plain(row["paper"]) == ("none given" if record["paper_test_error"] is None else
            f"{record['paper_test_error']:g}% / {record['paper_generalization_error']:g}%"), where
        assert plain(row["training time"]).startswith(f"{record['seconds'] / 60:.1f} min"), where
        assert re.findall(r"\]\(([^)]+)\)", row["results"]) == [
            os.path.relpath(path, "docs") for path in record["results"]], where


def test_table_1_on_the_page_is_laid_out_from_the_tables_file():
    """The paper's layout of Table 1 (a row per task, a column per model) on
    the page is `ham_tables.table1` of docs/data/ham/tables.json."""
    records = load(os.path.join(ROOT, "docs", "data", "ham", "tables.json"))
    lines = load_example("ham_tables").table1(records)
    body = read_page().split("## HAM: Tables 1 and 2", 1)[1].split("\n## ", 1)[0]
    assert "\n".join(lines) in body
