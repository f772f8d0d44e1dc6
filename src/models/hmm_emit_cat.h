/* Categorical emissions in the form the HMM engine's fast path wants
 * (src/models/hmm.c calls these; src/models/hmm_emit.c implements them).
 *
 * A categorical b_j(x_t) depends on the step only through its symbol, so
 * the shifted rows b'_t(j) = b_j(s) / max_i b_i(s) and their log shifts are
 * a table of n_symbols rows made once per pass, and the E-step can sum the
 * expected emission counts per symbol as it goes instead of the M-step
 * reading every posterior again.
 */
#ifndef LT_HMM_EMIT_CAT_H
#define LT_HMM_EMIT_CAT_H

#include "latent/hmm.h"

/* tab (n_symbols x k): tab[s k + j] = B_js / max_i B_is; lmx (n_symbols):
 * log max_i B_is. A symbol no state emits gets a row of zeros and -inf;
 * one with a probability outside [0, 1] or NaN (a model never prepared), a
 * row of NaN. m is categorical. */
void hmm_emit_cat_table(const lt_hmm *m, double *tab, double *lmx);

/* Categorical M-step from expected counts cnt (n_symbols x k: cnt[s k + j]
 * = sum_t gamma_tj [x_t = s]), the occurrences of each symbol in the data
 * freq (n_symbols) over `total` steps, and the occupancies occ (k, or NULL:
 * summed from cnt, which is then checked to be finite and >= 0). The same
 * estimate, floor and repair as hmm_emit_mstep. */
lt_status hmm_emit_cat_mstep(lt_hmm *m, const double *cnt, const double *freq, size_t total, const double *occ,
                             size_t *n_repaired);

#endif
