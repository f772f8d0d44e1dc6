/* libFuzzer target for the text tokenizer and vocabulary builder of the
 * corpus layer. The first input byte picks the options (one document per
 * line or the whole input as one, allow_empty, stop words, min_length,
 * pruning, max_vocab); the rest is the text. A success must give a
 * well-formed corpus whose vocabulary is sorted and made of words the
 * tokenizer gives back unchanged, and mapping the text through that
 * vocabulary must give the same tokens; a failure no result and a message. */
#include "latent/corpus.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    lt_corpus_options o;
    lt_corpus_options_default(&o);
    unsigned f = data[0];
    o.folder = f & 1;
    o.allow_empty = (f >> 1) & 1;
    o.stopwords = (f >> 2) & 1;
    o.min_length = 1 + ((f >> 3) & 3);
    if ((f >> 5) & 1) o.min_df = 2, o.max_df = 0.8;
    if ((f >> 6) & 1) o.max_vocab = 3;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    lt_corpus *c = NULL;
    if (lt_corpus_from_text(text, len, "fuzz", &o, NULL, 0, &c) != LT_OK) {
        if (c || lt_last_error()[0] == '\0') abort();
        return 0;
    }
    if (lt_corpus_check(c, "fuzz") != LT_OK || c->n_docs == 0 || c->n_vocab == 0 || !c->vocab) abort();
    size_t empty = 0;
    for (size_t d = 0; d < c->n_docs; d++) {
        empty += c->doc_ptr[d] == c->doc_ptr[d + 1];
        for (size_t i = c->doc_ptr[d] + 1; i < c->doc_ptr[d + 1]; i++)
            if (c->tokens[i - 1] > c->tokens[i]) abort();
    }
    if (empty != c->n_empty_docs) abort();
    for (size_t w = 1; w < c->n_vocab; w++)
        if (strcmp(c->vocab[w - 1], c->vocab[w]) >= 0) abort();

    /* The vocabulary, one word a line, tokenizes to itself. */
    size_t total = 0;
    for (size_t w = 0; w < c->n_vocab; w++)
        total += strlen(c->vocab[w]) + 1;
    char *words = malloc(total);
    if (!words) abort();
    size_t at = 0;
    for (size_t w = 0; w < c->n_vocab; w++) {
        size_t n = strlen(c->vocab[w]);
        if (n == 0) abort();
        memcpy(words + at, c->vocab[w], n);
        words[at + n] = '\n';
        at += n + 1;
    }
    lt_corpus_options plain;
    lt_corpus_options_default(&plain);
    plain.stopwords = 0;
    plain.min_length = 1;
    lt_corpus *v = NULL;
    if (lt_corpus_from_text(words, total, "vocab", &plain, NULL, 0, &v) != LT_OK) abort();
    if (v->n_docs != c->n_vocab || v->n_vocab != c->n_vocab || v->n_tokens != c->n_vocab) abort();
    for (size_t w = 0; w < c->n_vocab; w++)
        if (strcmp(v->vocab[w], c->vocab[w]) != 0 || v->tokens[w] != (int32_t)w) abort();
    lt_corpus_free(v);
    free(words);

    /* Mapped through its own vocabulary, the text gives the same corpus. */
    lt_corpus *m = NULL;
    if (lt_corpus_from_text(text, len, "fuzz", &o, c->vocab, c->n_vocab, &m) != LT_OK) abort();
    if (m->n_docs != c->n_docs || m->n_tokens != c->n_tokens || m->n_dropped_tokens != c->n_dropped_tokens) abort();
    if (memcmp(m->doc_ptr, c->doc_ptr, (c->n_docs + 1) * sizeof *c->doc_ptr) != 0) abort();
    if (c->n_tokens && memcmp(m->tokens, c->tokens, c->n_tokens * sizeof *c->tokens) != 0) abort();
    lt_corpus_free(m);
    lt_corpus_free(c);
    return 0;
}
