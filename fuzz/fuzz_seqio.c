/* libFuzzer target for the text readers of seqio: the first input byte picks
 * tokens or characters (and lower-casing, an alphabet, squeezing), the rest
 * is the text. A success must give consistent lengths and symbols inside the
 * vocabulary; a failure no result and a message. */
#include "latent/seqio.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    lt_text_options o;
    lt_text_options_default(&o);
    o.chars = data[0] & 1;
    o.lowercase = (data[0] >> 1) & 1;
    o.whole_file = (data[0] >> 2) & 1;
    if (o.chars && (data[0] >> 3) & 1) {
        o.alphabet = "abcdefghijklmnopqrstuvwxyz ";
        o.replace = (data[0] >> 4) & 1 ? " " : NULL;
        o.squeeze = (data[0] >> 5) & 1;
    }
    o.sort_vocab = (data[0] >> 6) & 1;
    lt_dataset *d = NULL;
    if (lt_seq_parse_text("fuzz", (const char *)data + 1, size - 1, &o, NULL, 0, &d) == LT_OK) {
        size_t total = 0;
        for (size_t i = 0; i < d->n_seqs; i++) total += d->lengths[i];
        if (total != d->n_steps) abort();
        for (size_t i = 0; i < d->n_steps; i++)
            if (d->symbols[i] < 0 || (size_t)d->symbols[i] >= d->vocab_size) abort();
        /* mapping the same text through its own vocabulary must succeed */
        lt_dataset *e = NULL;
        if (lt_seq_parse_text("fuzz", (const char *)data + 1, size - 1, &o, (const char *const *)d->vocab,
                              d->vocab_size, &e) != LT_OK)
            abort();
        lt_dataset_free(e);
        lt_dataset_free(d);
    } else if (d || lt_last_error()[0] == '\0') {
        abort();
    }
    return 0;
}
