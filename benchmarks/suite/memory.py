"""Memory: the RSS probes of a measuring process and the RAM estimate of a configuration.

The peak RSS is the kernel's high-water mark (VmHWM), reset after compiling
so that it measures the training steps only; `estimate_ram` predicts a run's
peak so that one that cannot fit `--max-ram-gib` is skipped beforehand.
"""

import os
import resource
import sys

MIB, GIB = 2.0**20, 2.0**30

#: Peak RSS model for the RAM estimate: BASE + state_bytes * (FIXED + PER_STEP * T),
#: state_bytes being one copy of the batch's N-sized states, BASE the process with its
#: XLA compilation. Fitted to peaks measured on this benchmark (XLA, batch 8, N=1e3 and
#: 1e4, T=2 and 40: NTM 17 + 5.4 T copies, SAM 5.7 copies flat in T) and an estimate of 9 GiB for SAM at N=1M,
#: batch 8, rounded up; DHAM is given the NTM's; LANTM
#: and RAM one copy per step (0.85 measured at N=65,536, batch 1); hard HAM (log N nodes a
#: step) 5 copies of the tree (3.7 measured at 2^18 leaves). The sparse cells (SAM, hard
#: HAM) store no N-sized tensor per step: STEP_BYTES per example and step instead (the
#: audit counts 8-16 KiB for SAM; 1 MiB leaves room). The SDNC's peaks at N=262,144, batch 8
#: were 1.9 (exact) and 2.1 (LSH) copies above 1.1 GiB; 4 copies leave room. A watchdog
#: stops the rest.
RAM_MODEL = {  # model: (BASE bytes, FIXED copies, copies PER_STEP, STEP_BYTES per example)
    "sam": (1.5 * GIB, 9.0, 0.0, MIB),
    "sam_lsh": (2.5 * GIB, 9.0, 0.0, MIB),
    "ntm": (1.5 * GIB, 17.0, 5.4, 0),
    "lantm": (1.5 * GIB, 17.0, 1.0, 0),
    "ram": (1.5 * GIB, 17.0, 1.0, 0),
    "ham": (1.5 * GIB, 5.0, 0.0, MIB),
    "dham": (1.5 * GIB, 17.0, 5.4, 0),
    # The DNC's N x N link matrix is in every step's state: the NTM's copies.
    "dnc": (1.5 * GIB, 17.0, 5.4, 0),
    "sdnc": (1.5 * GIB, 4.0, 0.0, MIB),
    "sdnc_lsh": (2.5 * GIB, 4.0, 0.0, MIB),
}


def state_bytes(name, n, batch, args):
    """Bytes of the N-sized recurrent states of a batch (one copy)."""
    w = args.word_size
    if name == "ntm":  # memory N*W, weightings (R + 1) * N
        per_example = n * w + (args.heads + 1) * n
    elif name in ("sam", "sam_lsh"):  # memory N*W, last access N (+ the LSH table, O(1) in N)
        per_example = n * w + n
        if name == "sam_lsh":
            per_example += 8 * 256 * 33
    elif name == "dnc":  # memory N*W, links N*N, usage, precedence, R + 1 weightings
        per_example = n * w + n * n + (args.heads + 3) * n
    elif name in ("sdnc", "sdnc_lsh"):  # memory, usage, last access, 5 sparse link arrays
        per_example = n * (w + 2 + 5 * 8)
        if name == "sdnc_lsh":  # tables (>= 2N slots each of 4), codes (4N), ring (2N)
            per_example += 14 * n
    elif name in ("ham", "dham"):  # the tree: 2N - 1 nodes of W
        per_example = (2 * n - 1) * w
    else:  # appended memory: values W, keys (<= 20), strength, last use
        per_example = n * (w + 22)
    return 4.0 * batch * per_example


def estimate_ram(name, n, batch, timesteps, args):
    base, fixed, per_step, step_bytes = RAM_MODEL[name]
    return (base + state_bytes(name, n, batch, args) * (fixed + per_step * timesteps)
            + step_bytes * batch * timesteps)


def current_rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss():
    """Peak resident set of this process in bytes.

    VmHWM from /proc/self/status where there is one: `ru_maxrss` is not
    this process's own peak on Linux, it starts at the parent's RSS at fork
    time (`fork` and `execve` carry it over). Elsewhere `ru_maxrss`.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def malloc_trim():
    """Give the heap's free pages back to the OS (glibc), so RSS is live memory."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
        return True
    except (OSError, AttributeError):
        return False


def reset_peak_rss():
    """Reset the kernel's peak-RSS mark of this process (VmHWM, and with it
    `ru_maxrss`) to the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False
