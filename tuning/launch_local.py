"""Run one search with one worker per GPU on this host (Keras Tuner's distributed mode on loopback).

    # One worker per visible GPU (nvidia-smi / CUDA_VISIBLE_DEVICES), the Table A.1 grid of SLANTM.
    python tuning/launch_local.py -- --model slantm --task copy --regime small

    # Two given GPUs; logs of the chief and each worker under runs/tuning/logs.
    python tuning/launch_local.py --gpus 2,3 --log-dir runs/tuning/logs -- --model lantm --task reverse

    # Small models leave a big GPU mostly idle: two workers on each of 4 GPUs.
    python tuning/launch_local.py --workers 8 -- --model lantm --task copy

    # No GPU: three CPU workers (each should then get --threads).
    python tuning/launch_local.py --workers 3 -- --model lantm --task copy --quick --threads 1

Everything after `--` goes to `tuning/search.py`, unchanged, for the chief and
every worker. The chief (`KERASTUNER_TUNER_ID=chief`, no GPU) serves the
oracle on 127.0.0.1 and a free port; worker `i` (`KERASTUNER_TUNER_ID=tuner<i>`)
sees only GPU `i` (`CUDA_VISIBLE_DEVICES`). They all use the same
`--directory` and `--project-name`, so the chief writes `results.csv` and
`results.md` when the grid is done, and running the same command again
resumes the search.

If a worker fails, the others finish their trials, then the chief is stopped
(a chief waits for every worker it has seen) and the exit status is non-zero;
the interrupted trial runs again on the next launch.

Stopping the launcher (Ctrl-C, SIGTERM, SIGHUP) stops the chief and the
workers: they run in its process group, it terminates them (and kills any
still running 10 s later), and on Linux each child is also sent SIGTERM by
the system if the launcher dies without doing so (SIGKILL).
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port(host="127.0.0.1"):
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def visible_gpus():
    """GPU ids this host offers: `CUDA_VISIBLE_DEVICES` if set, else `nvidia-smi -L`."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [g for g in visible.split(",") if g.strip() and g.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(listing.stdout.splitlines()) if line.startswith("GPU ")]


def _die_with_parent(parent):
    """A `preexec_fn`: on Linux, have the system send SIGTERM when `parent` dies."""
    if not sys.platform.startswith("linux"):
        return None

    def preexec():
        import ctypes

        PR_SET_PDEATHSIG = 1
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            return
        if os.getppid() != parent:  # The parent died before the line above.
            os._exit(1)

    return preexec


def _stop(processes, grace=10.0):
    """Terminate the processes still running, then kill those alive after `grace` seconds."""
    running = [p for p in processes if p.poll() is None]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + grace
    for process in running:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def parse_args(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    search_args = []
    if "--" in argv:
        cut = argv.index("--")
        argv, search_args = argv[:cut], argv[cut + 1:]
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gpus", default=None,
                   help="comma-separated GPU ids, one worker each (default: every visible GPU)")
    p.add_argument("--workers", type=int, default=None,
                   help="number of workers (default: one per GPU; required without a GPU). "
                        "More workers than GPUs share them round-robin, with GPU memory growth")
    p.add_argument("--port", type=int, default=None, help="oracle port (default: a free one)")
    p.add_argument("--log-dir", default=None,
                   help="write chief.log and tuner<i>.log here instead of this terminal")
    p.add_argument("--python", default=sys.executable)
    args = p.parse_args(argv)
    args.search_args = search_args
    return args


def launch(args):
    gpus = args.gpus.split(",") if args.gpus else visible_gpus()
    workers = args.workers or len(gpus)
    if workers < 1:
        raise SystemExit("No GPU found: pass --workers N to run N CPU workers.")
    port = args.port or free_port()
    script = os.path.join(HERE, "search.py")
    base_env = dict(os.environ, KERASTUNER_ORACLE_IP="127.0.0.1", KERASTUNER_ORACLE_PORT=str(port))
    if args.log_dir:
        os.makedirs(args.log_dir, exist_ok=True)

    shared_gpus = bool(gpus) and workers > len(gpus)

    def start(tuner_id, cuda_devices):
        env = dict(base_env, KERASTUNER_TUNER_ID=tuner_id)
        if cuda_devices is not None:
            env["CUDA_VISIBLE_DEVICES"] = cuda_devices
        if shared_gpus and tuner_id != "chief":
            # Several workers on one GPU: each takes the memory it needs, not all of it.
            env.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
        out = open(os.path.join(args.log_dir, f"{tuner_id}.log"), "w") if args.log_dir else None
        # The child stays in this process group (no new session), so a signal
        # to the group reaches it, and it dies with the launcher (Linux).
        process = subprocess.Popen([args.python, script] + args.search_args, env=env,
                                   stdout=out, stderr=subprocess.STDOUT if out else None,
                                   preexec_fn=_die_with_parent(os.getpid()))
        process.log = out
        started.append(process)
        return process

    print(f"Chief on 127.0.0.1:{port}; {workers} worker(s)"
          + (f" on GPUs {', '.join(gpus[:workers])}" if gpus else " on the CPU"), flush=True)
    started = []
    processes = {}
    status = {}
    try:
        chief = start("chief", "")  # The chief trains nothing: keep it off the GPUs.
        time.sleep(1.0)
        for i in range(workers):
            processes[f"tuner{i}"] = start(f"tuner{i}", gpus[i % len(gpus)] if gpus else None)
        for tuner_id, process in processes.items():
            status[tuner_id] = process.wait()
            if status[tuner_id]:
                print(f"{tuner_id} exited with status {status[tuner_id]}", flush=True)
        if any(status.values()):
            chief.terminate()
        status["chief"] = chief.wait()
    except BaseException:  # Ctrl-C, SIGTERM, ...: take the chief and the workers down too.
        _stop(started)
        raise
    finally:
        for process in started:
            if process.log:
                process.log.close()
    return max(abs(code) for code in status.values())


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def main(argv=None):
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, _exit_on_sigterm)
    return launch(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
