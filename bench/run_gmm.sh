#!/usr/bin/env bash
# GMM EM benchmark: latent against scikit-learn and VLFeat (diagonal only),
# same data, same K, same iterations, same thread count, alternating the
# programs for ROUNDS rounds; medians and ratios go to the "## GMM" section
# of bench/RESULTS.md (see /work/shared/BENCHMARKS.md for the method).
#
#   bench/run_gmm.sh              # full size (about 10 minutes on 2 cores)
#   QUICK=1 bench/run_gmm.sh      # synthetic data cut to N = 100,000: a smoke test
#
# Environment (defaults in brackets):
#   THREADS [2]  ROUNDS [3]  K [32] (synthetic)  K_FMNIST [64] (Fashion-MNIST)  KMEANS_ITER [10]  SEED [0]
#   CASES ["synth-diag synth-full fmnist-diag fmnist-full"]
#   M1, M2: EM iterations of the two timed fits. Default per case, so that
#     M2 - M1 iterations take long enough against the noise while scikit-learn's
#     slow full-covariance case stays short: synth-diag 2/12, synth-full 1/4,
#     fmnist-diag 2/32, fmnist-full 2/12. Setting M1 and M2 applies to all.
#   BUILD [build-bench]   build directory, relative to the repository root; SKIP_BUILD=1 runs
#                         the programs already built there (build them outside a benchmark lock)
#   RESULTS [bench/RESULTS.md]; NO_RESULTS=1 prints the section, writes nothing
#   MEM_BW_GBS [31]       memory bandwidth used for the E-step bound
#
# Needs: cmake, /usr/bin/python3 with python3-sklearn, libvlfeat-dev (for
# the VLFeat column), dataset-fashion-mnist, and the top-level CMakeLists.txt
# adding bench/ when LT_BUILD_BENCH is ON. Raw logs stay in bench/out/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PY=/usr/bin/python3
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
M1=${M1:-}
M2=${M2:-}
K=${K:-32}
K_FMNIST=${K_FMNIST:-64}
KMEANS_ITER=${KMEANS_ITER:-10}
SEED=${SEED:-0}
QUICK=${QUICK:-0}
CASES=${CASES:-"synth-diag synth-full fmnist-diag fmnist-full"}
BUILD=${BUILD:-build-bench}
RESULTS=${RESULTS:-bench/RESULTS.md}
MEM_BW_GBS=${MEM_BW_GBS:-31}
COMMAND="QUICK=$QUICK THREADS=$THREADS ROUNDS=$ROUNDS${M1:+ M1=$M1}${M2:+ M2=$M2} K=$K K_FMNIST=$K_FMNIST bench/run_gmm.sh"

say() { printf '[run_gmm %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

[ -x "$PY" ] || die "$PY not found (the benchmarks use Debian's python3 with python3-sklearn)"
if [ -n "$M1$M2" ] && { [ -z "$M1" ] || [ -z "$M2" ] || [ "$M1" -lt 1 ] || [ "$M2" -le "$M1" ]; }; then
    die "set both M1 and M2, with 1 <= M1 < M2 (got M1='$M1' M2='$M2')"
fi

# ---- build (Release) --------------------------------------------------------
if [ "${SKIP_BUILD:-0}" = 1 ]; then
    # Build first (outside a benchmark lock, say), then run what was built.
    say "SKIP_BUILD=1: using the programs already built in $BUILD"
    [ -x "$ROOT/$BUILD/bench/gmm_latent" ] && [ -x "$ROOT/$BUILD/bench/blas_rate" ] ||
        die "$BUILD/bench/gmm_latent or blas_rate is missing: build them first (or unset SKIP_BUILD)"
    HAVE_VLFEAT=0
    [ -x "$ROOT/$BUILD/bench/gmm_vlfeat" ] && HAVE_VLFEAT=1
else
    say "configuring $BUILD (Release, LT_BUILD_BENCH=ON)"
    cmake -S "$ROOT" -B "$ROOT/$BUILD" -DCMAKE_BUILD_TYPE=Release -DLT_BUILD_BENCH=ON -DLT_BUILD_TESTS=OFF \
        >"$ROOT/$BUILD.configure.log" 2>&1 || { cat "$ROOT/$BUILD.configure.log" >&2; die "cmake configure failed"; }
    rm -f "$ROOT/$BUILD.configure.log"
    TARGETS=$(cmake --build "$ROOT/$BUILD" --target help 2>/dev/null || true)
    grep -q gmm_latent <<<"$TARGETS" ||
        die "the build has no bench targets: add to the top-level CMakeLists.txt:
    option(LT_BUILD_BENCH \"Build the benchmark programs in bench/\" OFF)
    if(LT_BUILD_BENCH)
      add_subdirectory(bench)
    endif()"
    HAVE_VLFEAT=0
    grep -q gmm_vlfeat <<<"$TARGETS" && HAVE_VLFEAT=1
    BUILD_TARGETS="gmm_latent blas_rate"
    [ "$HAVE_VLFEAT" = 1 ] && BUILD_TARGETS="$BUILD_TARGETS gmm_vlfeat"
    say "building $BUILD_TARGETS"
    # shellcheck disable=SC2086
    cmake --build "$ROOT/$BUILD" -j2 --target $BUILD_TARGETS >&2 || die "build failed"
fi
[ "$HAVE_VLFEAT" = 1 ] || say "VLFeat not found at configure time: no VLFeat column"
BIN="$ROOT/$BUILD/bench"

# ---- data -------------------------------------------------------------------
SYNTH=bench/data/synth_n1000000_d16_k32.npy
FMNIST=bench/data/fmnist_pca50.npy
if [ ! -f "$SYNTH" ] || [ ! -f "$FMNIST" ]; then
    say "making the datasets (bench/gmm_data.py)"
    "$PY" bench/gmm_data.py
fi

# ---- run --------------------------------------------------------------------
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
mkdir -p bench/out
LOG=bench/out/gmm-$(date +%Y%m%d-%H%M%S).log
: >"$LOG"
say "log: $LOG"

ERR=$(mktemp)
trap 'rm -f "$ERR"' EXIT

blas_yardstick() { # the best of these is the machine's limit in the report
    say "BLAS yardstick (dgemm/sgemm, n = 2048)"
    "$BIN/blas_rate" --threads-max "$THREADS" >>"$LOG" 2>"$ERR" || die "blas_rate failed: $(cat "$ERR")"
    tee -a "$LOG" <"$ERR" >&2
}

case_args() { # name -> "file k cov rows m1 m2"
    local synth_rows=0 spec
    [ "$QUICK" = 1 ] && synth_rows=100000
    case "$1" in
    synth-diag) spec="$SYNTH $K diag $synth_rows 2 12" ;;
    synth-full) spec="$SYNTH $K full $synth_rows 1 4" ;;
    fmnist-diag) spec="$FMNIST $K_FMNIST diag 0 2 32" ;;
    fmnist-full) spec="$FMNIST $K_FMNIST full 0 2 12" ;;
    *) die "unknown case '$1' (synth-diag synth-full fmnist-diag fmnist-full)" ;;
    esac
    if [ -n "$M1" ]; then spec="${spec% * *} $M1 $M2"; fi
    echo "$spec"
}

run_one() { # round case impl file k cov rows m1 m2
    local round=$1 name=$2 impl=$3 file=$4 k=$5 cov=$6 rows=$7 m1=$8 m2=$9
    local args=(--k "$k" --cov "$cov" --m1 "$m1" --m2 "$m2" --threads "$THREADS" --kmeans-iter "$KMEANS_ITER"
        --seed "$SEED" --n "$rows" --tag "$name")
    local cmd
    case "$impl" in
    latent) cmd=("$BIN/gmm_latent" "$file" "${args[@]}") ;;
    sklearn) cmd=("$PY" bench/gmm_sklearn.py "$file" "${args[@]}") ;;
    vlfeat) cmd=("$BIN/gmm_vlfeat" "$file" "${args[@]}") ;;
    esac
    local t0=$SECONDS out ok=1
    out=$("${cmd[@]}" 2>"$ERR") || ok=0
    tee -a "$LOG" <"$ERR" >&2
    if [ "$ok" = 1 ]; then
        grep '^RESULT ' <<<"$out" | sed "s/^RESULT /RESULT round=$round /" >>"$LOG"
    else
        echo "FAILED round=$round case=$name impl=$impl: ${cmd[*]}" | tee -a "$LOG" >&2
    fi
    say "round $round $name $impl: $((SECONDS - t0)) s"
}

for round in $(seq 1 "$ROUNDS"); do
    blas_yardstick
    for name in $CASES; do
        spec=$(case_args "$name") || exit 1
        read -r file k cov rows m1 m2 <<<"$spec"
        impls=(latent sklearn)
        [ "$cov" = diag ] && [ "$HAVE_VLFEAT" = 1 ] && impls+=(vlfeat)
        # Rotate the order each round so no program always runs first.
        n=${#impls[@]}
        for ((i = 0; i < n; i++)); do
            run_one "$round" "$name" "${impls[$(((i + round - 1) % n))]}" "$file" "$k" "$cov" "$rows" "$m1" "$m2"
        done
    done
done

# ---- report -----------------------------------------------------------------
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo "no commit")
[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] && COMMIT="$COMMIT (uncommitted changes)"
REPORT_ARGS=("$LOG" --results "$RESULTS" --commit "$COMMIT" --command "$COMMAND" --mem-bw-gbs "$MEM_BW_GBS")
[ "${NO_RESULTS:-0}" = 1 ] && REPORT_ARGS+=(--stdout)
"$PY" bench/gmm_report.py "${REPORT_ARGS[@]}"
[ "${NO_RESULTS:-0}" = 1 ] || say "wrote the GMM section of $RESULTS"
