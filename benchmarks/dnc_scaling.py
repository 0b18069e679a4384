"""The SDNC vs the DNC as the memory grows (Rae et al. 2016, section 3.4 and Suppl.).

`benchmarks/scaling.py` restricted to `DNCCell`, `SDNCCell` (exact top-k
search) and `SDNCCell(search="lsh")` at the SAM paper's setting (an LSTM
controller of 100 units, words of 32, 4 heads, `k = 4`; the DNC with 4 read
heads and one write head; time at batch 8, training memory at batch 1 over
100 steps), for N = 1e3 .. 1e6. The DNC keeps an `N x N` temporal link matrix
in its state, so its memory grows as `N^2` and it runs out of RAM first; the
SDNC keeps each row's `K_L = 8` strongest links, sparse, and nothing of its
step grows with N but the exact search. Every option of `scaling.py`
applies; see its docstring for the method.

    python benchmarks/dnc_scaling.py --quick                # a few minutes on 2 cores
    python benchmarks/dnc_scaling.py                        # N = 1e3 .. 1e6

Prints one Markdown table and the growth exponent of each model (slope of
log time and of log memory against log N), and writes JSON and a PNG
(`benchmarks/results/dnc_scaling.json` / `.png` by default).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import scaling  # noqa: E402

DNC = {"description": "SDNC (exact and LSH search) vs DNC: time and training memory against N.",
       "name": "dnc_scaling", "sizes": "1000,4096,16384,65536,262144,1048576",
       "quick_sizes": "256,1024", "models": "dnc,sdnc,sdnc_lsh", "memory_jit": "true",
       "audit": False}


def main(argv=None):
    return scaling.main(argv, defaults=DNC)


if __name__ == "__main__":
    main()
