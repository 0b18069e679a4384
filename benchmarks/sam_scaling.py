"""SAM vs NTM as the memory grows, as in Rae et al. (2016), Fig. 1 and Suppl. E.

`benchmarks/scaling.py` restricted to `SAMCell` with an exact search ("SAM
linear"), `SAMCell(search="lsh")` and `NTMCell` at the paper's setting (an
LSTM controller of 100 units, words of 32, 4 heads, `k=4`; time at batch 8,
memory at batch 1 over 100 steps), for N = 1e3 .. 1e6, with training memory
with and without XLA and the graph audit of what backprop stores per step
(Rae et al., 2016, section 4.1, Fig. 1 and Supplementary E). Every option of `scaling.py`
applies; see its docstring for the method.

    python benchmarks/sam_scaling.py --quick                # 4-6 minutes on 2 cores
    python benchmarks/sam_scaling.py                        # N = 1e3 .. 1e6, long
    python benchmarks/sam_scaling.py --sizes 65536 --models sam,sam_lsh
    python benchmarks/sam_scaling.py --memory-jit both --threads 6

Prints one Markdown table, the paper's numbers, the growth exponent of each
model (slope of log time against log N), and writes JSON and a PNG
(`benchmarks/results/sam_scaling.json` / `.png` by default).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import scaling  # noqa: E402

SAM = {"description": "SAM (exact and LSH search) vs NTM: time and training memory against N.",
       "name": "sam_scaling", "sizes": "1000,10000,65536,262144,1000000",
       "quick_sizes": "1000,10000", "models": "sam,sam_lsh,ntm", "memory_jit": "both",
       "audit": True}


def main(argv=None):
    return scaling.main(argv, defaults=SAM)


if __name__ == "__main__":
    main()
