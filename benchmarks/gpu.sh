#!/usr/bin/env bash
# The backend benchmark on a GPU machine with JAX and no TensorFlow, in under 10 minutes:
# a fresh virtual environment with the project and JAX for CUDA, then every cell's training
# step (benchmarks/backends.py) at two memory sizes on the GPU, stopping new measurements
# after a time budget so that the whole run stays within the 10 minutes; then one Keras Tuner
# trial of the NTM copy search on the GPU (tuning/search.py, 500 steps).
#
#   benchmarks/gpu.sh                        # writes benchmarks/results/backends_gpu.json
#   JAX_EXTRA=cuda13 benchmarks/gpu.sh       # another CUDA major version
#   VENV=/tmp/venv-gpu benchmarks/gpu.sh --sizes 1024   # more arguments go to backends.py
#
# Needs Python >= 3.10 and an NVIDIA driver that the JAX CUDA wheels support; fails when JAX
# finds no GPU (ALLOW_CPU=1 runs it on the CPU anyway, to try the script).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv-gpu}
JAX_EXTRA=${JAX_EXTRA:-cuda12}
BUDGET_S=${BUDGET_S:-360}   # benchmark budget; the install takes 1-3 minutes, the tuning trial 1
start=$SECONDS

python3 -m venv "$VENV"
"$VENV/bin/pip" install -q -e ".[tuning]" "jax[$JAX_EXTRA]"
KERAS_BACKEND=jax "$VENV/bin/python" - <<'EOF'
import os, sys
import jax
print("JAX", jax.__version__, "devices:", jax.devices())
if jax.default_backend() != "gpu" and os.environ.get("ALLOW_CPU") != "1":
    sys.exit("benchmarks/gpu.sh: JAX finds no GPU (set ALLOW_CPU=1 to run on the CPU)")
try:
    import tensorflow  # noqa: F401
    sys.exit("benchmarks/gpu.sh: TensorFlow is importable here; this run is for JAX alone")
except ImportError:
    pass
EOF
echo "install: $((SECONDS - start)) s"

KERAS_BACKEND=jax "$VENV/bin/python" benchmarks/backends.py --backends jax \
    --sizes 256,16384 --batch-size 16 --timesteps 50 --units 100 --word-size 32 \
    --heads 4 --k 4 --steps 20 --warmup 3 --max-seconds 240 --budget-seconds "$BUDGET_S" \
    --note "GPU run of benchmarks/gpu.sh: JAX only, no TensorFlow" \
    --out benchmarks/results/backends_gpu.json "$@"
echo "benchmark: $((SECONDS - start)) s"

# One trial of a Keras Tuner search on the GPU: its table goes to runs/gpu_tuning/.
KERAS_BACKEND=jax "$VENV/bin/python" tuning/search.py --model ntm --task copy --max-trials 1 \
    --steps 500 --eval-every 100 --directory runs/gpu_tuning --overwrite --verbose 1
echo "total: $((SECONDS - start)) s"
