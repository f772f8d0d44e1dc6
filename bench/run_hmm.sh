#!/usr/bin/env bash
# HMM Baum-Welch benchmark: latent against pomegranate and GHMM, same data,
# same K, same initial model, same iterations, alternating the programs for
# ROUNDS rounds; medians and ratios go to the "## HMM" section of
# bench/RESULTS.md (see /work/shared/BENCHMARKS.md for the method).
#
#   bench/run_hmm.sh              # full size (about 12 minutes on 2 cores, 3 rounds)
#   QUICK=1 bench/run_hmm.sh      # English cut to 20,000 symbols, Gaussian to 100,000 steps: a smoke test
#
# Cases (CASES, default all four):
#   english-k2, english-k16, english-k64   the first 200,000 characters of
#       data/english.txt as 27 symbols (a-z, everything else a space), one
#       sequence per address (16 sequences), K = 2, 16, 64 states
#   gauss-k16   T = 1,000,000 steps as 100 sequences of 10,000, D = 4,
#       one diagonal Gaussian per state, K = 16 (bench/hmm_data.py)
#
# Environment (defaults in brackets):
#   THREADS [2]  ROUNDS [3]  SEED [0]
#   M1, M2: Baum-Welch iterations of the two timed fits. Default per case,
#     so that M2 - M1 iterations take long enough against the noise while
#     the slowest peer stays bearable: english-k2 2/12, english-k16 2/5,
#     english-k64 2/3, gauss-k16 2/3. Setting M1 and M2 applies to all
#     (M1 >= 2: pomegranate's fit cannot run a single iteration).
#   SLOW_PEERS [0]  1 also runs pomegranate on english-k64, which takes
#     about 110 s per iteration here (over 9 minutes per round).
#   BUILD [build-bench]   build directory, relative to the repository root (or absolute)
#   CMAKE_EXTRA []        more arguments for the cmake configure step
#   RESULTS [bench/RESULTS.md]; NO_RESULTS=1 prints the section, writes nothing
#   MEM_BW_GBS [31]       memory bandwidth used for the bound
#
# Needs: cmake, /usr/bin/python3 with python3-numpy and python3-pomegranate
# (the pomegranate column), libghmm-dev (the GHMM column), and the top-level
# CMakeLists.txt adding bench/ when LT_BUILD_BENCH is ON. Raw logs stay in
# bench/out/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PY=/usr/bin/python3
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
M1=${M1:-}
M2=${M2:-}
SEED=${SEED:-0}
QUICK=${QUICK:-0}
SLOW_PEERS=${SLOW_PEERS:-0}
CASES=${CASES:-"english-k2 english-k16 english-k64 gauss-k16"}
BUILD=${BUILD:-build-bench}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
CMAKE_EXTRA=${CMAKE_EXTRA:-}
RESULTS=${RESULTS:-bench/RESULTS.md}
MEM_BW_GBS=${MEM_BW_GBS:-31}
COMMAND="QUICK=$QUICK THREADS=$THREADS ROUNDS=$ROUNDS${M1:+ M1=$M1}${M2:+ M2=$M2} SLOW_PEERS=$SLOW_PEERS CASES=\"$CASES\" bench/run_hmm.sh"

say() { printf '[run_hmm %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

[ -x "$PY" ] || die "$PY not found (the benchmarks use Debian's python3 with python3-pomegranate)"
if [ -n "$M1$M2" ] && { [ -z "$M1" ] || [ -z "$M2" ] || [ "$M1" -lt 2 ] || [ "$M2" -le "$M1" ]; }; then
    die "set both M1 and M2, with 2 <= M1 < M2 (got M1='$M1' M2='$M2')"
fi

# ---- build (Release) --------------------------------------------------------
say "configuring $BUILD (Release, LT_BUILD_BENCH=ON)"
# shellcheck disable=SC2086
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DLT_BUILD_BENCH=ON -DLT_BUILD_TESTS=OFF $CMAKE_EXTRA \
    >"$BUILD.configure.log" 2>&1 || { cat "$BUILD.configure.log" >&2; die "cmake configure failed"; }
rm -f "$BUILD.configure.log"
TARGETS=$(cmake --build "$BUILD" --target help 2>/dev/null || true)
grep -q hmm_latent <<<"$TARGETS" ||
    die "the build has no HMM bench targets: is LT_BUILD_BENCH wired to add_subdirectory(bench)?"
HAVE_GHMM=0
grep -q hmm_ghmm <<<"$TARGETS" && HAVE_GHMM=1
HAVE_POMEGRANATE=0
"$PY" -c "import pomegranate" 2>/dev/null && HAVE_POMEGRANATE=1
BUILD_TARGETS="hmm_latent blas_rate"
[ "$HAVE_GHMM" = 1 ] && BUILD_TARGETS="$BUILD_TARGETS hmm_ghmm"
say "building $BUILD_TARGETS"
# shellcheck disable=SC2086
cmake --build "$BUILD" -j2 --target $BUILD_TARGETS >&2 || die "build failed"
[ "$HAVE_GHMM" = 1 ] || say "GHMM (libghmm-dev) not found at configure time: no GHMM column"
[ "$HAVE_POMEGRANATE" = 1 ] || say "pomegranate (python3-pomegranate) not importable: no pomegranate column"
BIN="$BUILD/bench"

# ---- data -------------------------------------------------------------------
TEXT=data/english.txt
GAUSS=bench/data/hmm_gauss_t1000000_d4.npy
if [ ! -f "$GAUSS" ] || [ ! -f bench/data/hmm_english_k64_emit.npy ] || [ ! -f bench/data/hmm_gauss_k16_vars.npy ]; then
    say "making the initial models and the Gaussian data (bench/hmm_data.py)"
    "$PY" bench/hmm_data.py --seed "$SEED"
fi

# ---- run --------------------------------------------------------------------
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
mkdir -p bench/out
LOG=bench/out/hmm-$(date +%Y%m%d-%H%M%S).log
: >"$LOG"
say "log: $LOG"

ERR=$(mktemp)
trap 'rm -f "$ERR"' EXIT

blas_yardstick() { # the best of these is the machine's limit in the report
    say "BLAS yardstick (dgemm/sgemm, n = 2048)"
    "$BIN/blas_rate" --threads-max "$THREADS" >>"$LOG" 2>"$ERR" || die "blas_rate failed: $(cat "$ERR")"
    tee -a "$LOG" <"$ERR" >&2
}

case_args() { # name -> "kind data k init n m1 m2"
    local n_text=200000 n_gauss=0 spec
    [ "$QUICK" = 1 ] && n_text=20000 n_gauss=100000
    case "$1" in
    english-k2) spec="english $TEXT 2 bench/data/hmm_english_k2 $n_text 2 12" ;;
    english-k16) spec="english $TEXT 16 bench/data/hmm_english_k16 $n_text 2 5" ;;
    english-k64) spec="english $TEXT 64 bench/data/hmm_english_k64 $n_text 2 3" ;;
    gauss-k16) spec="gauss $GAUSS 16 bench/data/hmm_gauss_k16 $n_gauss 2 3" ;;
    *) die "unknown case '$1' (english-k2 english-k16 english-k64 gauss-k16)" ;;
    esac
    if [ -n "$M1" ]; then spec="${spec% * *} $M1 $M2"; fi
    echo "$spec"
}

run_one() { # round case impl kind data k init n m1 m2
    local round=$1 name=$2 impl=$3 kind=$4 data=$5 k=$6 init=$7 n=$8 m1=$9 m2=${10}
    local args=(--k "$k" --init "$init" --n "$n" --seq-len 10000 --m1 "$m1" --m2 "$m2" --tag "$name")
    local cmd
    case "$impl" in
    # latent's iterations are short: its M1/M2 pair runs 5 times, the fastest counting
    latent) cmd=("$BIN/hmm_latent" "$kind" "$data" "${args[@]}" --threads "$THREADS" --repeat 5) ;;
    pomegranate) cmd=("$PY" bench/hmm_pomegranate.py "$kind" "$data" "${args[@]}" --threads "$THREADS") ;;
    ghmm) cmd=("$BIN/hmm_ghmm" "$kind" "$data" "${args[@]}") ;;
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
        read -r kind data k init n m1 m2 <<<"$spec"
        impls=(latent)
        if [ "$HAVE_POMEGRANATE" = 1 ]; then
            if [ "$name" != english-k64 ] || [ "$SLOW_PEERS" = 1 ]; then
                impls+=(pomegranate)
            elif [ "$round" = 1 ]; then
                echo "SKIPPED case=$name impl=pomegranate: about 110 s per iteration; SLOW_PEERS=1 runs it" >>"$LOG"
            fi
        fi
        [ "$HAVE_GHMM" = 1 ] && impls+=(ghmm)
        # Rotate the order each round so no program always runs first.
        cnt=${#impls[@]}
        for ((i = 0; i < cnt; i++)); do
            run_one "$round" "$name" "${impls[$(((i + round - 1) % cnt))]}" "$kind" "$data" "$k" "$init" "$n" "$m1" "$m2"
        done
    done
done

# ---- report -----------------------------------------------------------------
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo "no commit")
[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] && COMMIT="$COMMIT (uncommitted changes)"
REPORT_ARGS=("$LOG" --results "$RESULTS" --commit "$COMMIT" --command "$COMMAND" --mem-bw-gbs "$MEM_BW_GBS")
[ "${NO_RESULTS:-0}" = 1 ] && REPORT_ARGS+=(--stdout)
"$PY" bench/hmm_report.py "${REPORT_ARGS[@]}"
[ "${NO_RESULTS:-0}" = 1 ] || say "wrote the HMM section of $RESULTS"
