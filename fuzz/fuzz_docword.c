/* libFuzzer target for the UCI docword reader (fuzz_file.h makes the temp
 * file). The first input byte picks the route: bit 0 gzip-compresses the
 * rest before writing, bits 1-3 the batch size of the streaming reader. The
 * whole-file reader and the stream must agree (the same documents, or the
 * same message). (Writing is left to tests/test_corpus.c: its fsync would
 * slow the fuzzer a hundredfold.)
 *
 * Counts and D are materialised (D + 1 offsets, one id per occurrence), so
 * inputs whose numbers add up to more than 10,000 are skipped: they test
 * the allocator, not the parser. */
#include "latent/corpus.h"
#include "fuzz_file.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(NULL, 0);
    if (size == 0) return 0;
    int gz = data[0] & 1;
    size_t batch = 1 + ((data[0] >> 1) & 7);
    data++, size--;
    unsigned long long sum = 0, x = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i < size && data[i] >= '0' && data[i] <= '9') {
            x = x > 1000000000ull ? x : x * 10 + (unsigned)(data[i] - '0');
        } else {
            sum += x;
            x = 0;
        }
        if (sum > 10000) return 0;
    }
    if (gz) {
        gzFile g = gzopen(path, "wb");
        if (!g || (size && gzwrite(g, data, (unsigned)size) != (int)size) || gzclose(g) != Z_OK) abort();
    } else {
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) abort();
    }

    lt_corpus *c = NULL;
    lt_status st = lt_corpus_read_docword(path, NULL, &c);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", lt_last_error());
    if (st != LT_OK && (c || msg[0] == '\0')) abort();
    if (st == LT_OK && (lt_corpus_check(c, "fuzz") != LT_OK || c->vocab)) abort();

    /* The stream, batch by batch, then again after a rewind. */
    lt_docword_stream *s = NULL;
    lt_status ss = lt_docword_stream_open(path, &s);
    for (int pass = 0; pass < 2 && ss == LT_OK; pass++) {
        size_t d = 0;
        if (pass) ss = lt_docword_stream_rewind(s);
        while (ss == LT_OK) {
            lt_corpus *b = NULL;
            ss = lt_docword_stream_next(s, batch, &b);
            if (ss != LT_OK) {
                if (b) abort();
                break;
            }
            if (!b) break;
            /* Batches before an error are fine; they must still be sound. */
            if (b->n_docs == 0 || b->n_docs > batch || lt_corpus_check(b, "batch") != LT_OK) abort();
            for (size_t i = 0; c && i < b->n_docs; i++, d++) {
                size_t n = b->doc_ptr[i + 1] - b->doc_ptr[i];
                if (d >= c->n_docs || n != c->doc_ptr[d + 1] - c->doc_ptr[d] ||
                    (n && memcmp(b->tokens + b->doc_ptr[i], c->tokens + c->doc_ptr[d], n * sizeof *b->tokens) != 0))
                    abort();
            }
            lt_corpus_free(b);
        }
        if (ss == LT_OK && (!c || d != c->n_docs)) abort();
    }
    if ((ss == LT_OK) != (st == LT_OK)) abort();
    if (ss != LT_OK && strcmp(lt_last_error(), msg) != 0) abort();
    lt_docword_stream_close(s);

    lt_corpus_free(c);
    return 0;
}
