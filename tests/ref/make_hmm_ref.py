#!/usr/bin/python3
"""Generate the pomegranate reference for tests/test_hmm_pomegranate.c.

Run from the repository root, with Debian's python (python3-pomegranate,
python3-numpy), not a virtual environment:

    /usr/bin/python3 tests/ref/make_hmm_ref.py

Writes tests/ref/hmm_pomegranate_ref.h: deterministic (fixed seed, one
thread) and meant to be committed; rerun only when the cases change or to
check a new pomegranate.

Two models, K = 3 states each:

  categorical  4 symbols (0..3), 6 sequences of 60..160 steps;
  gaussian     2-D, one diagonal Gaussian per state (pomegranate:
               IndependentComponentsDistribution of two NormalDistribution),
               6 sequences of 50..150 steps.

The data are drawn from a "true" HMM with numpy's RandomState(SEED); Baum-
Welch starts from fixed parameters that are deliberately off (plainly
written below) and runs a fixed number of EM iterations. Each iteration is
one E-step (forward-backward over all sequences) and one M-step.

How pomegranate 0.14 is made to run the textbook algorithm:

- HiddenMarkovModel.from_matrix(trans, dists, starts) with ends=None: no
  explicit end state, so p(x) is the plain forward sum over the last step
  (checked below against a numpy forward algorithm, to 1e-12 relative,
  before and after fitting). The start probabilities become edges out of
  pomegranate's silent start state; their expected counts are the
  posteriors of the first step, which is the usual M-step for pi.
- fit(algorithm='baum-welch', pseudocount=0, transition_pseudocount=0,
  emission_pseudocount=0, use_pseudocount=False, inertia=None,
  edge_inertia=0, distribution_inertia=0, lr_decay=0, batches_per_epoch=None,
  stop_threshold=-inf, min_iterations=0): no pseudocounts, no inertia, and
  it never stops early. NormalDistribution's min_std is left at its default
  0 (no variance floor); the data keep every variance above 0.1, far from
  any floor.
- Iteration count: pomegranate's loop runs an E-step, then from_summaries
  (the M-step) at the top of the next pass, and breaks after that M-step
  once the pass number exceeds max_iterations; so fit(max_iterations=N)
  performs N + 1 EM iterations. We ask for N = n_em - 1 and record n_em,
  the number of E-steps and M-steps, which is what latent's max_iter
  counts. The trace is pomegranate's own history (the initial
  log-probability, then one per later E-step): the total log-likelihood
  over all sequences at each E-step, each before that iteration's M-step.
  fit() cannot run a single iteration (max_iterations=0 fails in its
  callbacks), so n_em = 1 calls the two methods fit() calls, summarize()
  (E-step, returning the log-likelihood) and from_summaries() (M-step),
  with the same zero pseudocounts and inertia.
- Independently, the same n_em iterations are run by a plain numpy
  Baum-Welch (scaled forward-backward, written below); pomegranate's
  parameters and trace must agree with it to 1e-9 relative, or the script
  stops. This is what confirms the iteration count and that nothing extra
  (pseudocounts, inertia, end state) is applied.

Recorded per case: the final start, transitions, emissions (categorical:
k x n_symbols probabilities; gaussian: means k x d and variances k x d, as
pomegranate's sigma squared), the trace (n_em entries), and the total
log-likelihood of the final model (sum over sequences of its
log_probability).

Like the GMM reference, each case records an "amplification": the largest
relative change of the outputs per unit relative change of the initial
parameters (measured at 1e-9). It bounds how far rounding differences
between two correct implementations can grow over the iterations, so the
test's 1e-6 relative tolerance is far above rounding and far below a real
disagreement.
"""

import os

# One BLAS/OpenMP thread: reproducible output.
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"

import sys
import warnings

import numpy as np

warnings.simplefilter("ignore")  # pomegranate 0.14 on numpy 1.24 warns about deprecated aliases
import pomegranate  # noqa: E402
from pomegranate import (  # noqa: E402
    DiscreteDistribution,
    HiddenMarkovModel,
    IndependentComponentsDistribution,
    NormalDistribution,
)

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20240917
K = 3
N_SYMBOLS = 4
D = 2
N_EMS = (1, 10, 25)  # EM iterations of the recorded runs
CHECK_RTOL = 1e-9  # pomegranate against the numpy Baum-Welch

# ---- the true models the data come from -----------------------------------
TRUE_START = np.array([0.6, 0.3, 0.1])
TRUE_TRANS = np.array([[0.80, 0.15, 0.05], [0.10, 0.75, 0.15], [0.20, 0.10, 0.70]])
TRUE_CAT = np.array([[0.60, 0.20, 0.15, 0.05], [0.10, 0.50, 0.10, 0.30], [0.15, 0.05, 0.40, 0.40]])
TRUE_MEANS = np.array([[0.0, 0.0], [2.5, 1.0], [-1.0, 2.5]])
TRUE_STDS = np.array([[0.8, 1.1], [1.2, 0.7], [0.9, 1.0]])

# ---- the initial parameters of Baum-Welch: plainly written, not the truth --
INIT_START = np.array([0.4, 0.35, 0.25])
INIT_TRANS = np.array([[0.60, 0.25, 0.15], [0.20, 0.60, 0.20], [0.25, 0.15, 0.60]])
INIT_CAT = np.array([[0.40, 0.25, 0.20, 0.15], [0.20, 0.35, 0.20, 0.25], [0.20, 0.15, 0.30, 0.35]])
INIT_MEANS = np.array([[0.5, -0.5], [2.0, 1.5], [-0.5, 2.0]])
INIT_VARS = np.array([[1.5, 1.5], [2.0, 1.0], [1.0, 1.5]])


def sample(rs, n_seqs, lo, hi, emit):
    """n_seqs sequences of lo..hi-1 steps from the true chain; emit(rs, state)
    draws one observation."""
    seqs = []
    for _ in range(n_seqs):
        t_len = rs.randint(lo, hi)
        z = rs.choice(K, p=TRUE_START)
        obs = []
        for t in range(t_len):
            if t:
                z = rs.choice(K, p=TRUE_TRANS[z])
            obs.append(emit(rs, z))
        seqs.append(np.array(obs))
    return seqs


def make_data():
    rs = np.random.RandomState(SEED)
    cat = sample(rs, 6, 60, 161, lambda r, z: r.choice(N_SYMBOLS, p=TRUE_CAT[z]))
    cat = [s.astype(np.int64) for s in cat]
    gau = sample(rs, 6, 50, 151, lambda r, z: TRUE_MEANS[z] + TRUE_STDS[z] * r.normal(size=D))
    gau = [np.ascontiguousarray(s, dtype=np.float64) for s in gau]
    return cat, gau


# ---- plain numpy HMM: the definition pomegranate is checked against --------
def log_emissions(kind, emis, x):
    """T x K log b_k(x_t)."""
    if kind == "categorical":
        return np.log(emis[:, x].T)
    means, variances = emis
    diff = x[:, None, :] - means[None, :, :]
    return -0.5 * np.sum(np.log(2 * np.pi * variances)[None] + diff**2 / variances[None], axis=2)


def forward_backward(start, trans, logb):
    """Scaled forward-backward: log p(x), gamma (T x K), xi summed over t (K x K)."""
    t_len = logb.shape[0]
    m = logb.max(axis=1, keepdims=True)
    b = np.exp(logb - m)
    alpha = np.empty_like(b)
    c = np.empty(t_len)
    a = start * b[0]
    c[0] = a.sum()
    alpha[0] = a / c[0]
    for t in range(1, t_len):
        a = (alpha[t - 1] @ trans) * b[t]
        c[t] = a.sum()
        alpha[t] = a / c[t]
    beta = np.ones_like(b)
    xi = np.zeros((K, K))
    for t in range(t_len - 2, -1, -1):
        u = b[t + 1] * beta[t + 1]
        x = alpha[t][:, None] * trans * u[None, :] / c[t + 1]
        xi += x
        beta[t] = (trans @ u) / c[t + 1]
    gamma = alpha * beta
    gamma /= gamma.sum(axis=1, keepdims=True)
    return float(np.sum(np.log(c)) + np.sum(m)), gamma, xi


def np_loglik(kind, start, trans, emis, seqs):
    return [forward_backward(start, trans, log_emissions(kind, emis, s))[0] for s in seqs]


def np_baum_welch(kind, start, trans, emis, seqs, n_em):
    trace = []
    for _ in range(n_em):
        s_cnt, t_cnt, ll = np.zeros(K), np.zeros((K, K)), 0.0
        gammas = []
        for s in seqs:
            lp, g, xi = forward_backward(start, trans, log_emissions(kind, emis, s))
            ll += lp
            s_cnt += g[0]
            t_cnt += xi
            gammas.append(g)
        trace.append(ll)
        start = s_cnt / s_cnt.sum()
        trans = t_cnt / t_cnt.sum(axis=1, keepdims=True)
        G = np.concatenate(gammas)
        if kind == "categorical":
            X = np.concatenate(seqs)
            cnt = np.stack([G[X == v].sum(axis=0) for v in range(N_SYMBOLS)], axis=1)
            emis = cnt / cnt.sum(axis=1, keepdims=True)
        else:
            X = np.concatenate(seqs)
            w = G.sum(axis=0)
            means = (G.T @ X) / w[:, None]
            variances = (G.T @ (X**2)) / w[:, None] - means**2
            emis = (means, variances)
    return start, trans, emis, trace


# ---- pomegranate ----------------------------------------------------------
NAMES = ["s%d" % i for i in range(K)]  # bake() sorts states by name: s0 < s1 < s2


def pg_model(kind, start, trans, emis):
    if kind == "categorical":
        dists = [DiscreteDistribution({v: float(emis[i, v]) for v in range(N_SYMBOLS)}) for i in range(K)]
    else:
        means, variances = emis
        dists = [
            IndependentComponentsDistribution(
                [NormalDistribution(float(means[i, j]), float(np.sqrt(variances[i, j]))) for j in range(D)]
            )
            for i in range(K)
        ]
    return HiddenMarkovModel.from_matrix(trans, dists, start, state_names=NAMES, merge="None")


def pg_params(kind, model):
    """start (K), trans (K x K), emissions, in the order s0, s1, s2."""
    idx = {st.name: i for i, st in enumerate(model.states)}
    order = [idx[n] for n in NAMES]
    dense = model.dense_transition_matrix()
    start = dense[model.start_index, order]
    trans = dense[np.ix_(order, order)]
    if kind == "categorical":
        emis = np.array([[model.states[o].distribution.parameters[0][v] for v in range(N_SYMBOLS)] for o in order])
    else:
        means = np.empty((K, D))
        variances = np.empty((K, D))
        for i, o in enumerate(order):
            for j, comp in enumerate(model.states[o].distribution.parameters[0]):
                means[i, j] = comp.parameters[0]
                variances[i, j] = comp.parameters[1] ** 2
        emis = (means, variances)
    return start, trans, emis


def pg_fit(kind, start, trans, emis, seqs, n_em):
    model = pg_model(kind, start, trans, emis)
    nothing_extra = dict(transition_pseudocount=0, emission_pseudocount=0.0, use_pseudocount=False,
                         edge_inertia=0.0, distribution_inertia=0.0)
    if n_em == 1:
        # fit() cannot stop after one iteration (max_iterations=0 fails in
        # its callbacks), so one E-step and one M-step by hand: the same two
        # calls fit() makes.
        ll = model.summarize(seqs, algorithm="baum-welch")
        model.from_summaries(None, None, **nothing_extra)
        return model, [float(ll)]
    _, hist = model.fit(
        seqs,
        algorithm="baum-welch",
        max_iterations=n_em - 1,  # pomegranate runs max_iterations + 1 EM iterations: see the docstring
        min_iterations=0,
        stop_threshold=-np.inf,
        pseudocount=None,
        inertia=None,
        lr_decay=0.0,
        batches_per_epoch=None,
        return_history=True,
        n_jobs=1,
        **nothing_extra,
    )
    return model, [hist.initial_log_probability] + list(hist.log_probabilities)


def pg_loglik(model, seqs):
    return [float(model.log_probability(s)) for s in seqs]


def rel(a, b):
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def flat_emis(kind, emis):
    return [emis] if kind == "categorical" else list(emis)


def run_case(kind, seqs, n_em):
    init_emis = INIT_CAT if kind == "categorical" else (INIT_MEANS, INIT_VARS)

    # pomegranate's likelihood is the textbook one, before fitting ...
    init_model = pg_model(kind, INIT_START, INIT_TRANS, init_emis)
    e = rel(pg_loglik(init_model, seqs), np_loglik(kind, INIT_START, INIT_TRANS, init_emis, seqs))
    if e > 1e-12:
        sys.exit("make_hmm_ref: pomegranate's log_probability differs from the forward algorithm by %g" % e)

    model, trace = pg_fit(kind, INIT_START, INIT_TRANS, init_emis, seqs, n_em)
    start, trans, emis = pg_params(kind, model)
    ll_final = pg_loglik(model, seqs)

    # ... and after.
    e = rel(ll_final, np_loglik(kind, start, trans, emis, seqs))
    if e > 1e-12:
        sys.exit("make_hmm_ref: fitted: log_probability differs from the forward algorithm by %g" % e)

    # Same iterations by the numpy Baum-Welch.
    ns, nt, ne, ntrace = np_baum_welch(kind, INIT_START, INIT_TRANS, init_emis, seqs, n_em)
    worst = max(
        [rel(start, ns), rel(trans, nt), rel(trace, ntrace)]
        + [rel(a, b) for a, b in zip(flat_emis(kind, emis), flat_emis(kind, ne))]
    )
    if worst > CHECK_RTOL or len(trace) != n_em:
        sys.exit("make_hmm_ref: %s n_em=%d: pomegranate and the numpy Baum-Welch differ by %g (trace %d entries)"
                 % (kind, n_em, worst, len(trace)))
    # tol = 0 in latent stops at the first decrease: make sure there is none.
    if any(b <= a for a, b in zip(trace, trace[1:])):
        sys.exit("make_hmm_ref: %s n_em=%d: the log-likelihood does not increase at every step" % (kind, n_em))

    # Amplification: perturb the initial parameters by 1e-9 relative.
    eps = 1e-9
    rs = np.random.RandomState(1)

    def bump(a, normalise):
        b = a * (1.0 + eps * rs.uniform(-1.0, 1.0, size=np.shape(a)))
        return b / b.sum(axis=-1, keepdims=True) if normalise else b

    if kind == "categorical":
        pe = bump(INIT_CAT, True)
    else:
        pe = (bump(INIT_MEANS, False), bump(INIT_VARS, False))
    pm, _ = pg_fit(kind, bump(INIT_START, True), bump(INIT_TRANS, True), pe, seqs, n_em)
    ps, pt, pemis = pg_params(kind, pm)
    amp = max(
        [rel(ps, start), rel(pt, trans), rel(sum(pg_loglik(pm, seqs)), sum(ll_final))]
        + [rel(a, b) for a, b in zip(flat_emis(kind, pemis), flat_emis(kind, emis))]
    ) / eps

    print("%-11s n_em=%2d loglik %.10f -> %.10f  vs numpy %.2g  amplification %.3g"
          % (kind, n_em, trace[0], sum(ll_final), worst, amp), file=sys.stderr)
    return dict(start=start, trans=trans, emis=emis, trace=np.array(trace), ll_final=sum(ll_final),
                amp=amp, check=worst)


def c_array(name, a, per_line=4, ctype="double", fmt="%.17g"):
    flat = np.asarray(a).ravel()
    cells = [fmt % v for v in flat]
    lines = ["    " + ", ".join(cells[i : i + per_line]) + "," for i in range(0, len(cells), per_line)]
    return "static const %s %s[%d] = {\n%s\n};\n" % (ctype, name, len(flat), "\n".join(lines))


def main():
    cat, gau = make_data()
    out = []
    out.append(
        "/* Generated by tests/ref/make_hmm_ref.py -- do not edit.\n"
        " * Regenerate from the repository root with:\n"
        " *     /usr/bin/python3 tests/ref/make_hmm_ref.py\n"
        " * pomegranate %s, numpy %s, one thread.\n"
        " *\n"
        " * Baum-Welch with pomegranate's HiddenMarkovModel (from_matrix, no end state;\n"
        " * no pseudocounts, no inertia, never stopping early) from the explicit initial\n"
        " * parameters below, for n_em EM iterations (pomegranate's max_iterations =\n"
        " * n_em - 1: it runs one more than it is asked). Each run was checked against a\n"
        " * plain numpy Baum-Welch to 1e-9 relative (`check` is the largest difference\n"
        " * seen) and pomegranate's log_probability against a numpy forward algorithm.\n"
        " * trace[i]: total log-likelihood over all sequences at E-step i + 1, before\n"
        " * that iteration's M-step, nats. ll_final: total log-likelihood of the fitted\n"
        " * model. Gaussian variances are pomegranate's sigma squared (no floor: min_std\n"
        " * is 0). State order is the initial one (s0, s1, s2): no permutation.\n"
        " * amplification: max relative output change per unit relative change of the\n"
        " * initial parameters (measured at 1e-9).\n"
        " */\n" % (pomegranate.__version__, np.__version__)
    )
    out.append("#ifndef LT_HMM_POMEGRANATE_REF_H\n#define LT_HMM_POMEGRANATE_REF_H\n\n")
    out.append("/* Generated: kept byte-identical to the generator's output. */\n// clang-format off\n\n")
    out.append("#include <stddef.h>\n#include <stdint.h>\n\n")
    out.append('#define HMM_REF_POMEGRANATE_VERSION "%s"\n' % pomegranate.__version__)
    out.append('#define HMM_REF_NUMPY_VERSION "%s"\n' % np.__version__)
    out.append("#define HMM_REF_K %d\n#define HMM_REF_N_SYMBOLS %d\n#define HMM_REF_D %d\n" % (K, N_SYMBOLS, D))
    out.append("#define HMM_REF_CAT_N_SEQS %d\n#define HMM_REF_CAT_TOTAL %d\n"
               % (len(cat), sum(len(s) for s in cat)))
    out.append("#define HMM_REF_GAU_N_SEQS %d\n#define HMM_REF_GAU_TOTAL %d\n\n"
               % (len(gau), sum(len(s) for s in gau)))

    out.append("/* Categorical data: sequences laid end to end. */\n")
    out.append(c_array("hmm_ref_cat_lengths", [len(s) for s in cat], 8, "size_t", "%d"))
    out.append(c_array("hmm_ref_cat_symbols", np.concatenate(cat), 20, "int32_t", "%d"))
    out.append("\n/* Gaussian data: sequences laid end to end, total x d, row-major. */\n")
    out.append(c_array("hmm_ref_gau_lengths", [len(s) for s in gau], 8, "size_t", "%d"))
    out.append(c_array("hmm_ref_gau_x", np.concatenate(gau), 4))

    out.append("\n/* Initial parameters, shared by every run. */\n")
    out.append(c_array("hmm_ref_init_start", INIT_START))
    out.append(c_array("hmm_ref_init_trans", INIT_TRANS, 3))
    out.append(c_array("hmm_ref_init_cat_emit", INIT_CAT))
    out.append(c_array("hmm_ref_init_means", INIT_MEANS, 2))
    out.append(c_array("hmm_ref_init_vars", INIT_VARS, 2))

    cases = []
    for kind, seqs in (("categorical", cat), ("gaussian", gau)):
        for n_em in N_EMS:
            r = run_case(kind, seqs, n_em)
            tag = "%s_%d" % (kind[:3], n_em)
            out.append("\n/* %s, n_em=%d: check %.2g, amplification %.3g */\n" % (kind, n_em, r["check"], r["amp"]))
            out.append(c_array("hmm_ref_%s_start" % tag, r["start"]))
            out.append(c_array("hmm_ref_%s_trans" % tag, r["trans"], 3))
            if kind == "categorical":
                out.append(c_array("hmm_ref_%s_emit" % tag, r["emis"]))
                emit_names = ("hmm_ref_%s_emit" % tag, "NULL", "NULL")
            else:
                out.append(c_array("hmm_ref_%s_means" % tag, r["emis"][0], 2))
                out.append(c_array("hmm_ref_%s_vars" % tag, r["emis"][1], 2))
                emit_names = ("NULL", "hmm_ref_%s_means" % tag, "hmm_ref_%s_vars" % tag)
            out.append(c_array("hmm_ref_%s_trace" % tag, r["trace"], 3))
            cases.append((kind, n_em, tag, emit_names, r))

    out.append(
        "\ntypedef struct hmm_ref_case {\n"
        "    const char *emission;   /* \"categorical\" or \"gaussian\" */\n"
        "    size_t n_em;            /* EM iterations (E-step + M-step) */\n"
        "    const double *start;    /* k */\n"
        "    const double *trans;    /* k x k */\n"
        "    const double *emit;     /* categorical: k x n_symbols; else NULL */\n"
        "    const double *means;    /* gaussian: k x d; else NULL */\n"
        "    const double *vars;     /* gaussian: k x d; else NULL */\n"
        "    const double *trace;    /* n_em: total log-likelihood at each E-step */\n"
        "    double ll_final;        /* total log-likelihood of the fitted model */\n"
        "    double check;           /* largest relative difference from the numpy Baum-Welch */\n"
        "    double amplification;\n"
        "} hmm_ref_case;\n\n"
    )
    out.append("static const hmm_ref_case hmm_ref_cases[] = {\n")
    for kind, n_em, tag, (e, mu, var), r in cases:
        out.append('    {"%s", %d, hmm_ref_%s_start, hmm_ref_%s_trans, %s, %s, %s,\n'
                   "     hmm_ref_%s_trace, %.17g, %.3g, %.3g},\n"
                   % (kind, n_em, tag, tag, e, mu, var, tag, r["ll_final"], r["check"], r["amp"]))
    out.append("};\n\n")
    out.append("#define HMM_REF_N_CASES (sizeof hmm_ref_cases / sizeof hmm_ref_cases[0])\n\n")
    out.append("// clang-format on\n\n#endif\n")

    with open(os.path.join(HERE, "hmm_pomegranate_ref.h"), "w") as f:
        f.write("".join(out))


if __name__ == "__main__":
    main()
