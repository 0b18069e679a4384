"""Train a HAM on one task of Andrychowicz & Kurach (2016) and print ours next to the paper's.

    # Raw HAM (no controller) as a stack, then a queue (Table 2).
    python examples/ham_tables.py --task stack --epochs 20
    python examples/ham_tables.py --task queue --epochs 20

    # LSTM+HAM on Reverse and Sort (Table 1); the soft DHAM for comparison.
    python examples/ham_tables.py --task reverse --epochs 20
    python examples/ham_tables.py --task sort --attention soft --epochs 20

The paper's protocol (section 4.1): Adam with an exponentially decaying
learning rate, gradients clipped to norm 5, epochs of 1,000 batches of 50 on
fresh data, after each epoch a validation pass, the parameters of the best
epoch kept; the test error is measured on 2,500 fresh examples with a tree
of 32 leaves and the generalization error with 128 leaves and 2-4x longer
inputs, with greedy decisions. The error is the share of output sequences
with any wrong bit. The paper trains 100 epochs with a curriculum on the
tree size; `--curriculum N` does that (`keras_memory.reinforce.TreeCurriculum`:
start with N leaves, double the tree whenever the validation error falls below
`--curriculum-threshold`), otherwise every epoch trains at the final size.

    python examples/ham_tables.py --task reverse --curriculum 2 --epochs 30

The paper's two baselines on the same protocol (`keras_memory.baselines`):
an encoder-decoder LSTM and one with soft attention over the input:

    python examples/ham_tables.py --task sort --model lstm_attention --curriculum 2 --epochs 30

Writes `results.json` (with the package versions and machine of the process
that wrote it, `keras_memory.training.environment()`), `model.keras` (the best
epoch) and `leaves.png` (the leaf attended at each step of one test example)
to `--run-dir`. After every epoch it also writes `checkpoint.weights.h5` (the weights and the optimizer's
state) and `state.json` (the epochs done, the curriculum's stage, the best
epoch so far): a run stopped at any point goes on from its last finished
epoch with `--resume` and the same arguments, and trains what the
uninterrupted run would have (each epoch's batches come from its own seed).

    python examples/ham_tables.py --task sort --curriculum 2 --epochs 100 \
        --run-dir runs/ham/sort100 --resume

Re-evaluate a trained model on fresh examples (2,500 test sequences at the
model's tree size and 2,500 generalization sequences at 4x the size); the
last line printed is `test X% generalization Y%`. `--seed 0` draws the
examples the training run reported on; a model trained with `--eta` is
evaluated with the same `--eta` (the model does not record it):

    python examples/ham_tables.py --evaluate docs/data/ham/models/reverse.keras \
        --task reverse --seed 5

Collect the rows of Tables 1 and 2 in `docs/results.md` (`TABLE_ROWS`) from
their results files into one record per row (model, task, both errors, the
paper's, the commands, the wall time):

    python examples/ham_tables.py --collect docs/data/ham/tables.json
"""

import argparse
import json
import os
import time

import keras
import numpy as np

from keras_memory import papers
from keras_memory.baselines import KINDS as BASELINES
from keras_memory.recipes import ham as recipe
from keras_memory.recipes.ham import make_task
from keras_memory.tasks.ham_tasks import bits_to_int
from keras_memory.training import environment, resume_state

#: Table 1 (LSTM+HAM) and Table 2 (raw HAM) of the paper: (test, generalization) error in %.
PAPER = papers.HAM_TABLES
RAW = recipe.RAW_TASKS

#: The names of Table 1's baselines in the tables (`keras_memory.baselines`).
BASELINE_NAMES = {"LSTM": "lstm", "LSTM+A": "lstm_attention"}

#: The rows of Tables 1 and 2 in docs/results.md: `(model, task, results)`,
#: the results files of this script's runs in docs/data/ham (the stages of one
#: model, in order).
TABLE_ROWS = (
    ("LSTM", "reverse", ["reverse_lstm_curriculum2_15x400.json"]),
    ("LSTM+A", "reverse", ["reverse_lstm_attention_curriculum2_15x400.json"]),
    ("LSTM+HAM", "reverse", ["reverse_hard_curriculum2.json"]),
    ("LSTM", "search", ["search_lstm_curriculum2_15x400.json"]),
    ("LSTM+A", "search", ["search_lstm_attention_curriculum2_15x400.json"]),
    ("LSTM+HAM", "search", ["search_hard_curriculum2_200epochs_t10_depth2_seed3.json"]),
    ("LSTM", "merge", ["merge_lstm_curriculum2_15x400.json"]),
    ("LSTM+A", "merge", ["merge_lstm_attention_curriculum2_15x400.json"]),
    ("LSTM+HAM", "merge", ["merge_hard_curriculum2_250epochs_t10.json"]),
    ("LSTM", "sort", ["sort_lstm_curriculum2_15x400.json"]),
    ("LSTM+A", "sort", ["sort_lstm_attention_curriculum2_15x400.json"]),
    ("LSTM+HAM", "sort", ["sort_hard_curriculum2_300epochs_t10_nojb.json"]),
    ("LSTM+DHAM", "sort", ["dham_sort_curriculum2_20epochs.json"]),
    ("LSTM", "add", ["add_lstm_curriculum2_15x400.json"]),
    ("LSTM+A", "add", ["add_lstm_attention_curriculum2_15x400.json"]),
    ("LSTM+HAM", "add", ["add_hard_curriculum2_60epochs_t10_eta2.json"]),
    ("raw HAM", "stack", ["stack_search_t09_nojb_stage1_8leaves.json",
                          "stack_search_t09_nojb_stage2_32leaves.json"]),
    ("raw HAM", "queue", ["queue_search_t00_stage1_8leaves.json",
                          "queue_search_t00_stage2_32leaves.json"]),
    ("raw HAM", "priority_queue", ["priority_queue_curriculum2_150epochs_lr1e3_t10_nojb.json"]),
    ("raw DHAM", "priority_queue", ["dham_priority_queue_curriculum2_20epochs.json"]),
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(PAPER), default="stack")
    parser.add_argument("--model", choices=("ham",) + BASELINES, default="ham",
                        help="LSTM+HAM / raw HAM, or a Table 1 baseline (tree tasks only)")
    parser.add_argument("--units", type=int, default=None,
                        help="controller size (HAM: 20, the paper's) or baseline LSTM size (128)")
    parser.add_argument("--attention", choices=("hard", "soft"), default="hard")
    parser.add_argument("--eta", type=int, default=None,
                        help="memory accesses per output symbol (section 3.1; Table 1's tasks "
                             "only; the paper searches 1-2). Default: the task's (Search 2, "
                             "the others 1)")
    parser.add_argument("--leaves", type=int, default=32, help="training tree size (the paper: 32)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batches", type=int, default=1000, help="batches per epoch")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--lr-decay", type=float, default=0.95, help="per epoch")
    parser.add_argument("--gamma", type=float, default=0.9)
    parser.add_argument("--alpha", type=float, default=1e-3,
                        help="initial weight of the alpha / H(p) exploration term")
    parser.add_argument("--alpha-decay", type=float, default=0.9, help="per epoch")
    parser.add_argument("--mlp-depth", type=int, default=1)
    parser.add_argument("--no-join-bias", action="store_true",
                        help="JOIN without biases: empty subtrees are 0 at every height "
                             "(HAMCell's join_bias=False; not in the paper)")
    parser.add_argument("--join", choices=("mlp", "gated"), default="mlp",
                        help="JOIN: the paper's MLP of the two children, or a per-entry blend "
                             "of them gated by an MLP (HAMCell's join; not in the paper)")
    parser.add_argument("--hidden-size", type=int, default=20,
                        help="d, the size of every tree node (the paper: 20)")
    parser.add_argument("--curriculum", type=int, default=0, metavar="N",
                        help="start the tree at N leaves (at least the tree the task's shortest "
                             "input takes) and double it (0: no curriculum)")
    parser.add_argument("--curriculum-threshold", type=float, default=0.05,
                        help="validation sequence error (fraction) that doubles the tree")
    parser.add_argument("--init-from", default=None, metavar="WEIGHTS",
                        help="start from these weights (a .keras or .weights.h5 file of the "
                             "same cell at any tree size), e.g. to go on training a run")
    parser.add_argument("--test-examples", type=int, default=2500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run-dir", default=None)
    parser.add_argument("--resume", action="store_true",
                        help="go on from the last finished epoch of the run in --run-dir "
                             "(weights, optimizer, curriculum stage, best epoch)")
    parser.add_argument("--no-jit", action="store_true")
    parser.add_argument("--evaluate", default=None, metavar="MODEL",
                        help="only evaluate this trained .keras model on fresh examples drawn "
                             "with --seed, and print its test and generalization errors")
    parser.add_argument("--collect", default=None, metavar="JSON",
                        help="only write the rows of Tables 1 and 2 (TABLE_ROWS) from their "
                             "results files to this file, and print them")
    return parser.parse_args(argv)


def command_of(recorded):
    """The command that runs what a results file recorded (`args`): `--task`,
    the options whose values differ from the defaults, in the parser's order,
    and `--run-dir` (a later stage's `--init-from` reads it)."""
    defaults = vars(parse_args([]))
    words = ["python", "examples/ham_tables.py"]
    for name, default in defaults.items():
        value = recorded.get(name, default)
        if name in ("resume", "evaluate", "collect") or (
                value == default and name not in ("task", "run_dir")):
            continue
        flag = "--" + name.replace("_", "-")
        words += [flag] if value is True else [flag, str(value)]
    return " ".join(words)


def collect_tables(rows=TABLE_ROWS, data="docs/data"):
    """One record per row of Tables 1 and 2 (see `TABLE_ROWS`), from its results files."""
    records = []
    for model, task, files in rows:
        paper = paper_of(model, task)
        stages = []
        for name in files:
            with open(os.path.join(data, "ham", name)) as f:
                stages.append(json.load(f))
        records.append({
            "model": model, "task": task, "table": 2 if task in RAW else 1,
            "paper_test_error": paper[0], "paper_generalization_error": paper[1],
            "test_error": stages[-1]["test_error"],
            "generalization_error": stages[-1]["generalization_error"],
            "seconds": sum(stage["seconds"] for stage in stages),
            "commands": [command_of(stage["args"]) for stage in stages],
            "results": [f"docs/data/ham/{name}" for name in files]})
    return records


def paper_of(model, task):
    """The paper's `(test, generalization)` error of a table row's model on `task`."""
    if model in BASELINE_NAMES:
        return papers.HAM_BASELINES[BASELINE_NAMES[model]][task]
    # The paper gives no numbers for the soft DHAM (its Appendix A).
    return (None, None) if "DHAM" in model else PAPER[task]


def paper_errors(record):
    """The paper's `test% / generalization%` of a record, or "none given" (DHAM)."""
    if record["paper_test_error"] is None:
        return "none given"
    return f"{record['paper_test_error']:g}% / {record['paper_generalization_error']:g}%"


def table1(records):
    """Table 1 laid out as the paper lays it out, from `collect_tables`'s
    records: a row per task, a column per model, each cell ours (the
    paper's) test / generalization error; "no run" where no row has it."""
    models = (*BASELINE_NAMES, "LSTM+HAM")
    lines = ["| task | " + " | ".join(models) + " |", "|---" * (len(models) + 1) + "|"]
    for task in (t for t in PAPER if t not in RAW):
        cells = []
        for model in models:
            paper = paper_of(model, task)
            found = [r for r in records if (r["model"], r["task"]) == (model, task)]
            ours = (f"{found[0]['test_error']:.2f}% / {found[0]['generalization_error']:.2f}%"
                    if found else "no run")
            cells.append(f"{ours} ({paper[0]:g}% / {paper[1]:g}%)")
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    return lines


def _task_args(args):
    """The task's arguments beyond its size (`eta` when given)."""
    return {} if args.eta is None else {"eta": args.eta}


def _run_args(args):
    """The arguments a resumed run must share with its start (all but the epochs to
    reach)."""
    return {k: v for k, v in vars(args).items()
            if k not in ("resume", "evaluate", "collect", "epochs", "test_examples")}


def _same_start(recorded, args):
    """Whether a run whose state recorded `recorded` (its `_run_args`) is the run `args`
    asks for. An option added to the script after the run started is absent from the
    record: the run goes on only if `args` leaves it at its default."""
    current, defaults = _run_args(args), _run_args(parse_args([]))
    return set(recorded) <= set(current) and all(
        value == recorded.get(key, defaults.get(key)) for key, value in current.items())


def _seed_states(model):
    """The model's random seed states (the sampled decisions'), which the weights leave out."""
    weights = {id(v) for v in model.weights}
    return [v for v in model.variables if id(v) not in weights]


def _save_checkpoint(model, checkpoint, state_path, state):
    """Write the weights with the optimizer's state, then the state, each atomically."""
    state["seed_states"] = [keras.ops.convert_to_numpy(v).tolist() for v in _seed_states(model)]
    temporary = f"{checkpoint}.partial-{os.getpid()}.weights.h5"
    model.save_weights(temporary)
    os.replace(temporary, checkpoint)
    temporary = f"{state_path}.partial-{os.getpid()}"
    with open(temporary, "w") as f:
        json.dump(state, f, indent=1)
    os.replace(temporary, state_path)


def distinct_leaves(model, task, examples, seed):
    """Mean number of different leaves a test sequence visits (greedy decisions).

    Up to the last scored step of each sequence. A stack or queue that keeps
    its items in one leaf (WRITE's highway makes a leaf a recurrent state)
    visits 1 leaf per sequence, and stops working once sequences outgrow what
    one leaf can hold; a model that uses the tree visits several.
    """
    from keras_memory import plotting

    x, _, w = task.generate(np.random.default_rng(seed), examples)
    leaf = plotting.record_leaves(model, x)["leaf"]
    last = np.asarray(w).shape[1] - np.argmax(np.asarray(w)[:, ::-1] > 0, axis=1)
    return float(np.mean([len(set(row[:end])) for row, end in zip(leaf, last)]))


def main(argv=None):
    args = parse_args(argv)
    if args.collect:
        records = collect_tables()
        with open(args.collect, "w") as f:
            json.dump(records, f, indent=1)
            f.write("\n")
        print("| model | task | ours test / generalization error | paper | time |")
        for r in records:
            print(f"| {r['model']} | {r['task']} | {r['test_error']:.2f}% / "
                  f"{r['generalization_error']:.2f}% | {paper_errors(r)} | "
                  f"{r['seconds'] / 60:.1f} min |")
        print("\nTable 1, ours (the paper's) test / generalization error:\n")
        print("\n".join(table1(records)))
        return records
    keras.utils.set_random_seed(args.seed)
    if args.evaluate:
        model = keras.models.load_model(args.evaluate)
        start = time.perf_counter()
        test, generalization = recipe.evaluate(model, args.task, args.test_examples,
                                               args.batch_size, seed=args.seed,
                                               jit_compile=not args.no_jit,
                                               task_args=_task_args(args))
        print(f"{args.evaluate}: {args.test_examples} test and generalization examples, "
              f"seed {args.seed}, {time.perf_counter() - start:.0f} s")
        print(f"test {test:.2f}% generalization {generalization:.2f}%")
        return {"test_error": test, "generalization_error": generalization}
    variant = args.attention if args.model == "ham" else args.model
    run_dir = args.run_dir or os.path.join("runs", "ham", f"{args.task}_{variant}_s{args.seed}")
    os.makedirs(run_dir, exist_ok=True)
    if args.eta is not None and args.task in RAW:
        raise SystemExit(f"--eta is for Table 1's tasks; --task {args.task} is a raw HAM task "
                         "(one operation per step)")
    task = make_task(args.task, args.leaves, **_task_args(args))
    if args.model != "ham" and args.task in RAW:
        raise SystemExit(f"--model {args.model} is a Table 1 baseline: it takes a tree task, "
                         f"not --task {args.task}")
    # --attention hard: HAM (REINFORCE); soft: DHAM.
    name = ("ham" if args.attention == "hard" else "dham") if args.model == "ham" else args.model
    model, cell = recipe.build_model(
        name, task, args.leaves, learning_rate=args.lr, learning_rate_decay=args.lr_decay,
        batches=args.batches, gamma=args.gamma, alpha=args.alpha, alpha_decay=args.alpha_decay,
        mlp_depth=args.mlp_depth, join_bias=not args.no_join_bias, join=args.join,
        units=args.units,
        hidden_size=args.hidden_size, seed=args.seed, jit_compile=not args.no_jit)
    if args.init_from:  # The weights do not depend on the tree size.
        model.load_weights(args.init_from)

    curriculum = recipe.make_curriculum(cell, task, args.curriculum, args.curriculum_threshold,
                                        batch_size=args.batch_size, seed=args.seed)
    validation = recipe.EpochValidation(task, curriculum, batch_size=args.batch_size)
    history, start = [], time.perf_counter()
    best_path = os.path.join(run_dir, "model.keras")
    checkpoint = os.path.join(run_dir, "checkpoint.weights.h5")
    state_path = os.path.join(run_dir, "state.json")
    state = resume_state(state_path)
    if state is not None and not args.resume:
        raise SystemExit(f"{run_dir} already holds a run ({state['epoch']} epochs done). Pass "
                         "--resume to go on with it, or choose another --run-dir.")
    if state is not None:
        if not _same_start(state["args"], args):
            raise SystemExit(f"Cannot resume {run_dir}: it was started with other arguments "
                             f"({state['args']}).")
        # The optimizer's variables must exist for load_weights to fill them.
        model.optimizer.build(model.trainable_variables)
        model.load_weights(checkpoint)
        for variable, value in zip(_seed_states(model), state["seed_states"], strict=True):
            variable.assign(np.asarray(value, dtype=variable.dtype))
        validation.best, history = state["best"], state["history"]
        start -= history[-1]["seconds"] if history else 0.0
        if curriculum is not None:
            curriculum.leaves = state["curriculum_leaves"]
            curriculum.history = state["curriculum_history"]
        print(f"Resuming {run_dir} after {state['epoch']} epochs"
              + (f" (curriculum at {curriculum.leaves} leaves)" if curriculum else "") + ".")
    measured = [len(curriculum.history) if curriculum else 0]

    def end_of_epoch(epoch):
        error = validation.history[-1]["validation_error"]
        stage = {} if curriculum is None else {"curriculum_leaves": curriculum.leaves}
        if curriculum is not None and len(curriculum.history) > measured[0]:
            stage["curriculum_error"] = curriculum.history[-1]["error"]  # before any doubling
            measured[0] = len(curriculum.history)
        history.append({"epoch": epoch + 1, "validation_error": error,
                        "seconds": time.perf_counter() - start, **stage})
        print(f"epoch {epoch + 1}: validation sequence error {error:.2f}% "
              + (f"(curriculum at {curriculum.leaves} leaves) " if curriculum else "")
              + (f"(error at the stage {stage['curriculum_error']:.2f}%) "
                 if "curriculum_error" in stage else "")
              + f"({time.perf_counter() - start:.0f}s)", flush=True)
        if validation.best_epoch == epoch + 1:  # The best epoch, at the full size.
            model.save(best_path)
        _save_checkpoint(model, checkpoint, state_path, {
            "epoch": epoch + 1, "args": _run_args(args), "best": validation.best,
            "history": history, "curriculum_leaves": curriculum.leaves if curriculum else None,
            "curriculum_history": curriculum.history if curriculum else None})

    try:
        recipe.train(model, task, epochs=args.epochs, batches=args.batches,
                     batch_size=args.batch_size, curriculum=curriculum, seed=args.seed,
                     initial_epoch=state["epoch"] if state else 0, validation=validation,
                     on_epoch_end=end_of_epoch)
    except FloatingPointError as error:
        raise SystemExit(f"{error} {checkpoint} holds the last finite epoch.") from None
    best = validation.best
    if best is None:  # the curriculum never reached the full size: the last epoch
        model.save(best_path)
    model = keras.models.load_model(best_path)
    seconds = time.perf_counter() - start

    test, generalization = recipe.evaluate(model, args.task, args.test_examples,
                                           args.batch_size, seed=0, jit_compile=not args.no_jit,
                                           task_args=_task_args(args))
    usage = distinct_leaves(model, task, examples=200, seed=4) if args.model == "ham" else None
    paper_test, paper_generalization = (PAPER[args.task] if args.model == "ham"
                                        else papers.HAM_BASELINES[args.model][args.task])
    results = {"args": vars(args), "distinct_leaves": usage, "model": args.model,
               "task": args.task, "attention": args.attention, "leaves": args.leaves,
               "curriculum": args.curriculum or None,
               "epochs": args.epochs, "batches": args.batches, "seconds": seconds,
               "test_error": test, "generalization_error": generalization,
               "paper_test_error": paper_test, "paper_generalization_error": paper_generalization,
               "history": history, "environment": environment()}
    with open(os.path.join(run_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    print("\n| task | model | ours test / generalization error | paper | sequences | time |")
    print(f"| {args.task} | {variant} | {test:.2f}% / {generalization:.2f}% | "
          f"{paper_test:g}% / {paper_generalization:g}% | "
          f"{args.epochs * args.batches * args.batch_size:,} | {seconds / 60:.1f} min |")
    if args.model != "ham":
        return results
    print(f"distinct leaves visited per test sequence: {usage:.2f} "
          "(1.0: the model keeps everything in one leaf, a recurrent state, not the tree)")
    try:
        from keras_memory import plotting

        x, _, w = task.generate(np.random.default_rng(3), 1)
        keys = None
        if args.task == "sort":  # Label each visit with its item's key (section 4.4).
            items = np.asarray(x["sequence"][0])
            keys = [int(key) if item[-1] > 0 else None
                    for key, item in zip(bits_to_int(items[:, :5] > 0.5), items)]
        plotting.plot_leaf_visits(plotting.record_leaves(model, x), sample_weight=w,
                                  path=os.path.join(run_dir, "leaves.png"), leaf_values=keys,
                                  title=f"HAM on {args.task}: the leaf attended at each step"
                                  + (" (labels: the item's key)" if keys else ""))
    except ImportError:
        pass
    return results


if __name__ == "__main__":
    main()
