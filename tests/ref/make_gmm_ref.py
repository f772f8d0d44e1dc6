#!/usr/bin/python3
"""Generate the scikit-learn reference for tests/test_gmm_sklearn.c.

Run from the repository root, with Debian's python (python3-sklearn,
python3-numpy), not a virtual environment:

    /usr/bin/python3 tests/ref/make_gmm_ref.py

Writes tests/ref/gmm_data.csv and tests/ref/gmm_sklearn_ref.h. Both are
deterministic (fixed seed, one BLAS thread) and meant to be committed;
rerun only when the cases change or to check a new scikit-learn.

The data: n = 300 points in d = 3 from three correlated Gaussians that
overlap a little, so responsibilities are soft and EM still moves after ten
iterations. For each covariance type (full, diag, spherical, tied) EM starts
from fixed parameters that are deliberately off (shifted means, rounder
covariances, wrong weights) and runs exactly max_iter iterations (tol = 0
never stops early): max_iter = 1 and 10 with reg_covar = 1e-6, and
max_iter = 3 with reg_covar = 0.05. We record what sklearn's
GaussianMixture ends with: weights_, means_, covariances_, lower_bound_ (the
mean log-likelihood per sample at the last E-step, i.e. before the last
M-step), n_iter_, and score_samples(X) of the fitted model.

scikit-learn takes the initial covariances as precisions (the inverse, in
its per-type layout: full k x d x d, diag k x d, spherical k, tied d x d);
latent takes covariances. Both are written: the covariances are the
definition, the precisions are inv() of them and are what sklearn was given.

We also perturb the initial parameters by a relative 1e-9 and record how
far the results move (the "amplification" of the case): EM here is well
conditioned, so the test's 1e-6 relative tolerance is far above what
rounding differences can produce, and far below a real disagreement.
"""

import os

# One BLAS thread: reductions in a fixed order, so the output is reproducible.
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"

import sys
import warnings

import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20240601
N, D, K = 300, 3, 3
# (max_iter, reg_covar): the brief's two cases, and one with a large
# reg_covar, which would show where it is (or is not) added: at 1e-6 a
# misplaced reg_covar changes covariances of order 1 by only ~1e-6.
RUNS = ((1, 1e-6), (10, 1e-6), (3, 0.05))
COV_TYPES = ("full", "diag", "spherical", "tied")


def make_data():
    rs = np.random.RandomState(SEED)
    true_w = np.array([0.5, 0.3, 0.2])
    true_mu = np.array([[0.0, 0.0, 0.0], [3.5, 1.0, -1.0], [1.0, 4.0, 2.0]])
    # Correlated covariances A A^T + a floor, A fixed by the seed.
    covs = []
    for _ in range(K):
        a = rs.normal(scale=0.8, size=(D, D))
        covs.append(a @ a.T + 0.3 * np.eye(D))
    counts = rs.multinomial(N, true_w)
    X = np.concatenate(
        [rs.multivariate_normal(true_mu[j], covs[j], size=counts[j]) for j in range(K)]
    )
    X = X[rs.permutation(N)]
    return np.ascontiguousarray(X)


# Initial parameters: plainly written, deliberately not the truth.
INIT_WEIGHTS = np.array([0.25, 0.35, 0.40])
INIT_MEANS = np.array([[0.5, -0.5, 0.3], [3.0, 1.5, -0.5], [1.5, 3.5, 1.5]])
INIT_FULL = np.array(
    [
        [[1.5, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 2.0]],
        [[2.0, -0.4, 0.0], [-0.4, 1.2, 0.3], [0.0, 0.3, 1.0]],
        [[1.0, 0.2, 0.2], [0.2, 1.8, 0.0], [0.2, 0.0, 1.4]],
    ]
)


def init_covariances(cov_type):
    if cov_type == "full":
        return INIT_FULL.copy()
    if cov_type == "diag":
        return np.array([np.diag(c) for c in INIT_FULL])
    if cov_type == "spherical":
        return np.array([np.trace(c) / D for c in INIT_FULL])
    if cov_type == "tied":
        return INIT_FULL.mean(axis=0)
    raise ValueError(cov_type)


def to_precisions(cov_type, covs):
    if cov_type == "full":
        return np.array([np.linalg.inv(c) for c in covs])
    if cov_type == "tied":
        return np.linalg.inv(covs)
    return 1.0 / covs


def fit(X, cov_type, max_iter, reg_covar, weights, means, covs):
    gm = GaussianMixture(
        n_components=K,
        covariance_type=cov_type,
        tol=0.0,
        reg_covar=reg_covar,
        max_iter=max_iter,
        n_init=1,
        init_params="random",  # overridden entirely by the *_init below
        weights_init=weights,
        means_init=means,
        precisions_init=to_precisions(cov_type, covs),
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(X)
    return gm


def amplification(X, cov_type, max_iter, reg_covar, gm):
    """Largest relative change of the outputs over a 1e-9 relative change
    of the initial parameters, divided by 1e-9."""
    eps = 1e-9
    rs = np.random.RandomState(1)

    def bump(a):
        return a * (1.0 + eps * rs.uniform(-1.0, 1.0, size=np.shape(a)))

    w = bump(INIT_WEIGHTS)
    w /= w.sum()
    covs = init_covariances(cov_type)
    if cov_type in ("full", "tied"):
        covs = covs + eps * 0.1 * np.eye(D)  # stays symmetric positive definite
    else:
        covs = bump(covs)
    gp = fit(X, cov_type, max_iter, reg_covar, w, bump(INIT_MEANS), covs)
    worst = 0.0
    for a, b in (
        (gm.weights_, gp.weights_),
        (gm.means_, gp.means_),
        (gm.covariances_, gp.covariances_),
        (gm.score_samples(X), gp.score_samples(X)),
    ):
        # Relative to the array's largest entry, as the C test compares.
        worst = max(worst, np.max(np.abs(a - b)) / np.max(np.abs(a)))
    worst = max(worst, abs(gm.lower_bound_ - gp.lower_bound_) / abs(gm.lower_bound_))
    return worst / eps


def c_array(name, a, per_line=3):
    flat = np.asarray(a, dtype=np.float64).ravel()
    cells = ["%.17g" % v for v in flat]
    lines = []
    for i in range(0, len(cells), per_line):
        lines.append("    " + ", ".join(cells[i : i + per_line]) + ",")
    return "static const double %s[%d] = {\n%s\n};\n" % (name, len(flat), "\n".join(lines))


def main():
    X = make_data()
    with open(os.path.join(HERE, "gmm_data.csv"), "w") as f:
        f.write("x0,x1,x2\n")
        for row in X:
            f.write(",".join("%.17g" % v for v in row) + "\n")

    out = []
    out.append(
        "/* Generated by tests/ref/make_gmm_ref.py -- do not edit.\n"
        " * Regenerate from the repository root with:\n"
        " *     /usr/bin/python3 tests/ref/make_gmm_ref.py\n"
        " * scikit-learn %s, numpy %s, one BLAS thread.\n"
        " *\n"
        " * GaussianMixture(n_components=%d, covariance_type=..., tol=0, reg_covar=...,\n"
        " * max_iter=..., weights_init, means_init, precisions_init) fitted on the\n"
        " * %d x %d data below (also in tests/ref/gmm_data.csv). lower_bound is\n"
        " * sklearn's lower_bound_: the mean log-likelihood per sample at the last\n"
        " * E-step, before the last M-step. score_samples is log p(x_i) under the\n"
        " * fitted model, nats. init_precs = inv(init_covs) is what sklearn was\n"
        " * given; latent is given init_covs. Layouts: full k*d*d, diag k*d,\n"
        " * spherical k, tied d*d, row-major.\n"
        " * amplification: max relative output change per unit relative change\n"
        " * of the initial parameters (measured at 1e-9), i.e. how much rounding\n"
        " * differences can grow over the iterations.\n"
        " */\n" % (sklearn.__version__, np.__version__, K, N, D)
    )
    out.append("#ifndef LT_GMM_SKLEARN_REF_H\n#define LT_GMM_SKLEARN_REF_H\n\n")
    out.append("/* Generated: kept byte-identical to the generator's output. */\n// clang-format off\n\n")
    out.append("#include <stddef.h>\n\n")
    out.append('#define GMM_REF_SKLEARN_VERSION "%s"\n' % sklearn.__version__)
    out.append('#define GMM_REF_NUMPY_VERSION "%s"\n' % np.__version__)
    out.append("#define GMM_REF_N %d\n#define GMM_REF_D %d\n#define GMM_REF_K %d\n" % (N, D, K))
    out.append("\n")
    out.append("/* The data, n x d, row-major. */\n")
    out.append(c_array("gmm_ref_X", X))
    out.append("\n/* Initial weights and means, shared by every case. */\n")
    out.append(c_array("gmm_ref_init_weights", INIT_WEIGHTS))
    out.append(c_array("gmm_ref_init_means", INIT_MEANS))

    cases = []
    for cov_type in COV_TYPES:
        covs = init_covariances(cov_type)
        precs = to_precisions(cov_type, covs)
        out.append("\n/* ---- %s ---- */\n" % cov_type)
        out.append(c_array("gmm_ref_%s_init_covs" % cov_type, covs))
        out.append(c_array("gmm_ref_%s_init_precs" % cov_type, precs))
        for max_iter, reg_covar in RUNS:
            gm = fit(X, cov_type, max_iter, reg_covar, INIT_WEIGHTS, INIT_MEANS, covs)
            amp = amplification(X, cov_type, max_iter, reg_covar, gm)
            tag = "%s_it%d" % (cov_type, max_iter)
            out.append("\n/* %s, max_iter=%d, reg_covar=%r: n_iter_=%d, converged_=%s,"
                       " amplification %.3g */\n"
                       % (cov_type, max_iter, reg_covar, gm.n_iter_, gm.converged_, amp))
            out.append(c_array("gmm_ref_%s_weights" % tag, gm.weights_))
            out.append(c_array("gmm_ref_%s_means" % tag, gm.means_))
            out.append(c_array("gmm_ref_%s_covs" % tag, gm.covariances_))
            out.append(c_array("gmm_ref_%s_score" % tag, gm.score_samples(X)))
            cases.append((cov_type, max_iter, reg_covar, gm.n_iter_, gm.lower_bound_, np.size(covs),
                          tag, amp))
            print("%-9s max_iter=%2d reg_covar=%-5g lower_bound=%.10f amplification=%.3g"
                  % (cov_type, max_iter, reg_covar, gm.lower_bound_, amp), file=sys.stderr)

    out.append(
        "\ntypedef struct gmm_ref_case {\n"
        "    const char *cov;      /* \"full\", \"diag\", \"spherical\", \"tied\" */\n"
        "    size_t max_iter;\n"
        "    double reg_covar;\n"
        "    size_t n_iter;        /* sklearn's n_iter_ */\n"
        "    size_t cov_len;       /* entries of init_covs / covs */\n"
        "    const double *init_weights, *init_means, *init_covs, *init_precs;\n"
        "    const double *weights, *means, *covs, *score;\n"
        "    double lower_bound;\n"
        "    double amplification;\n"
        "} gmm_ref_case;\n\n"
    )
    out.append("static const gmm_ref_case gmm_ref_cases[] = {\n")
    for cov_type, max_iter, reg_covar, n_iter, lb, cov_len, tag, amp in cases:
        out.append(
            '    {"%s", %d, %r, %d, %d, gmm_ref_init_weights, gmm_ref_init_means, gmm_ref_%s_init_covs,\n'
            "     gmm_ref_%s_init_precs, gmm_ref_%s_weights, gmm_ref_%s_means, gmm_ref_%s_covs,\n"
            "     gmm_ref_%s_score, %.17g, %.3g},\n"
            % (cov_type, max_iter, reg_covar, n_iter, cov_len, cov_type, cov_type, tag, tag, tag, tag, lb, amp)
        )
    out.append("};\n\n")
    out.append("#define GMM_REF_N_CASES (sizeof gmm_ref_cases / sizeof gmm_ref_cases[0])\n\n")
    out.append("// clang-format on\n\n#endif\n")

    with open(os.path.join(HERE, "gmm_sklearn_ref.h"), "w") as f:
        f.write("".join(out))


if __name__ == "__main__":
    main()
