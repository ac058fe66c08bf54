#!/usr/bin/env bash
# GPU check: on a machine with an NVIDIA GPU, install the CUDA build of TensorFlow, show what it
# sees, and time an NT3-size trial against a bare Keras model.fit on the same GPU.
#
#   1. make venv TF=cuda VENV=$VENV (default .venv-cuda; requirements-cuda.lock, ~3.6 GB of wheels
#      on the first run, nothing once installed) and how long it took;
#   2. candle devices: the TensorFlow build and the GPUs it sees;
#   3. an NT3-size prepared dataset (1,120 training rows x 60,483 features) and, on the first GPU,
#      a trial (candle_lib.trial.run.run_trial, NT3's default network) and a bare model.fit of the
#      same network and data, each at float32 (mixed_precision: off) and mixed precision
#      (mixed_precision: auto), in fresh processes (bench/_gpu_trial.py);
#   4. with two or more GPUs, two trials at once, one on each of the first two;
#   5. a table: samples/s of every run, trial/bare per precision, a concurrent trial vs alone.
#
# Without a GPU (nvidia-smi absent or failing) it says so and exits 0 having done nothing, so CI
# can run it. Settings (environment): VENV, EPOCHS (default 4; epoch 1 is not timed), THREADS
# (TensorFlow threads of each run, default 4), PYTHON (the python3 make venv uses), FEATURES and
# ROWS (the dataset; default NT3's). CUDA_VISIBLE_DEVICES, when set, lists the GPUs it may use.
#
#   bench/gpu_check.sh
#   EPOCHS=3 VENV=/scratch/$USER/venv-cuda bench/gpu_check.sh
set -euo pipefail
here=${BASH_SOURCE[0]%/*}
[[ $here != "${BASH_SOURCE[0]}" ]] || here=. # started as "bash gpu_check.sh" from bench/
cd "$here/.."

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
    echo "gpu_check: no NVIDIA GPU here (nvidia-smi absent or failing): skipping the GPU parts (install, trials, table)"
    exit 0
fi

VENV=${VENV:-.venv-cuda}
EPOCHS=${EPOCHS:-4}
THREADS=${THREADS:-4}
ROWS=${ROWS:-1120}
FEATURES=${FEATURES:-60483}
export TF_CPP_MIN_LOG_LEVEL=2 KERAS_BACKEND=tensorflow

# the GPUs to use: CUDA_VISIBLE_DEVICES's, else every GPU nvidia-smi lists
if [[ -n ${CUDA_VISIBLE_DEVICES:-} ]]; then
    IFS=, read -ra gpus <<<"$CUDA_VISIBLE_DEVICES"
else
    mapfile -t gpus < <(nvidia-smi --query-gpu=index --format=csv,noheader)
fi
echo "gpu_check: ${#gpus[@]} GPU(s) to use: ${gpus[*]}"
nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv

# 1. the CUDA build; a venv of Python 3.13+ ignores itself, this keeps an older one out of git too
mkdir -p "$VENV"
[[ -e $VENV/.gitignore ]] || echo '*' >"$VENV/.gitignore"
started=$SECONDS
make venv TF=cuda VENV="$VENV"
echo "set-up (make venv TF=cuda VENV=$VENV): $((SECONDS - started)) s"

# 2. what this TensorFlow sees
"$VENV/bin/candle" devices

# 3. the dataset and the runs on the first GPU
work=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")
trap 'rm -rf "$work"' EXIT
results=$work/results.jsonl
py=$VENV/bin/python
"$py" bench/_gpu_trial.py prepare --dataset "$work/nt3" --rows "$ROWS" --features "$FEATURES"

measure() { # LABEL GPU ARGS...: one run of bench/_gpu_trial.py on GPU; its RESULT line goes to $results
    local label=$1 gpu=$2 log
    shift 2
    log=$(mktemp "$work/run.XXXXXX")
    echo "  $label (GPU $gpu)"
    if ! CUDA_VISIBLE_DEVICES=$gpu "$py" bench/_gpu_trial.py "$@" --label "$label" --dataset "$work/nt3" \
        --epochs "$EPOCHS" --threads "$THREADS" >"$log" 2>&1; then
        tail -n 40 "$log"
        echo "gpu_check: $label failed" >&2
        return 1
    fi
    grep '^RESULT ' "$log" | tail -n 1 >>"$results"
}

for precision in off auto; do
    measure "trial $precision" "${gpus[0]}" trial --precision "$precision" --out "$work/trial-$precision"
    measure "bare model.fit $precision" "${gpus[0]}" bare --precision "$precision"
done

# 4. two trials at once, one per GPU
if ((${#gpus[@]} >= 2)); then
    measure "2 at once: trial auto" "${gpus[0]}" trial --precision auto --concurrent --out "$work/pair-0" &
    first=$!
    measure "2 at once: trial auto" "${gpus[1]}" trial --precision auto --concurrent --out "$work/pair-1" &
    second=$!
    wait "$first"
    wait "$second"
else
    echo "  one GPU: no concurrent trials"
fi

# 5. the table
echo
echo "NT3-size trial, $ROWS training rows x $FEATURES features, batch 20, $EPOCHS epochs (samples/s of epochs 2..$EPOCHS)"
"$py" bench/_gpu_trial.py table "$results"
