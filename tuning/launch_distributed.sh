#!/usr/bin/env bash
# Run one Keras Tuner search across several hosts (Keras Tuner's distributed mode).
#
# One chief serves the oracle (it trains nothing); every worker asks it for the
# next grid point, trains it and reports back. All of them run the same
# tuning/search.py arguments and share --directory (a shared filesystem: the
# workers write the trial directories, the chief the oracle state and the
# reports).
#
# Usage:
#   export KERASTUNER_ORACLE_IP=<chief's address reachable by the workers>
#   export KERASTUNER_ORACLE_PORT=<a free port on the chief>
#
#   # On the chief host (KERASTUNER_TUNER_ID=chief):
#   tuning/launch_distributed.sh chief --model lantm --task copy --directory /shared/tuning
#
#   # On each worker host, one worker with a unique id (tuner0, tuner1, ...):
#   tuning/launch_distributed.sh worker tuner0 --model lantm --task copy --directory /shared/tuning
#
#   # Or one worker per GPU of the host, ids <prefix>0, <prefix>1, ...
#   # (CUDA_VISIBLE_DEVICES=i for worker i; the prefix must be unique per host).
#   # Worker ids must be unique and must not contain "chief".
#   tuning/launch_distributed.sh gpu-workers hostb-gpu --model lantm --task copy --directory /shared/tuning
#
# Start the chief first (workers wait for it up to an hour). The chief writes
# results.csv / results.md into <directory>/<project-name>/ and exits when every
# trial is done and every worker has been told to stop. Running the same commands
# again resumes the search: finished trials are kept, an interrupted one runs again.
# Environment: PYTHON (default: python) is the interpreter of tuning/search.py.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python}"

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
}

role="${1:-}"
case "$role" in
  chief | worker | gpu-workers) shift ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac
: "${KERASTUNER_ORACLE_IP:?set KERASTUNER_ORACLE_IP to the address of the chief}"
: "${KERASTUNER_ORACLE_PORT:?set KERASTUNER_ORACLE_PORT to the port of the chief}"

case "$role" in
  chief)
    # The chief trains nothing: keep it off the GPUs.
    KERASTUNER_TUNER_ID=chief CUDA_VISIBLE_DEVICES="" exec "$python" "$here/search.py" "$@"
    ;;
  worker)
    id="${1:?usage: $0 worker <id, e.g. tuner0> <search.py arguments>}"
    shift
    KERASTUNER_TUNER_ID="$id" exec "$python" "$here/search.py" "$@"
    ;;
  gpu-workers)
    prefix="${1:?usage: $0 gpu-workers <id prefix, unique per host> <search.py arguments>}"
    shift
    if [[ -n "${CUDA_VISIBLE_DEVICES:-}" ]]; then
      IFS=',' read -r -a gpus <<< "$CUDA_VISIBLE_DEVICES"
    else
      mapfile -t gpus < <(nvidia-smi --query-gpu=index --format=csv,noheader)
    fi
    if [[ ${#gpus[@]} -eq 0 ]]; then
      echo "No GPU found" >&2
      exit 1
    fi
    pids=()
    for i in "${!gpus[@]}"; do
      KERASTUNER_TUNER_ID="${prefix}${i}" CUDA_VISIBLE_DEVICES="${gpus[$i]}" \
        "$python" "$here/search.py" "$@" &
      pids+=("$!")
    done
    status=0
    for pid in "${pids[@]}"; do
      wait "$pid" || status=$?
    done
    exit "$status"
    ;;
esac

