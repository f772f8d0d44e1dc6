// LABELS: unit
/* Deterministic mutation fuzzing of the readers, for CI without libFuzzer:
 * thousands of corrupted copies of valid CSV, NPY, IDX, UCI docword and
 * text corpus files (fixed seed, so a failure reproduces), each of which
 * must either read or fail with a message, never crash or leak. Meant to
 * run under ASan/UBSan. */
#include "harness.h"
#include "internal.h"
#include "latent/corpus.h"
#include "latent/io.h"

#include <stdint.h>
#include <zlib.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static size_t below(size_t n)
{
    return n ? (size_t)(next() % n) : 0;
}

#define MAXLEN 4096

/* 1-8 random edits; half of them land in the first 96 bytes, where the
 * headers are and where most parser decisions are made. */
static size_t mutate(unsigned char *b, size_t n)
{
    static const unsigned char special[] = {0,   0xff, 0x7f, 0x80, ',', '\n', '\r', '"', '\'', '-',  '.', 'e',
                                            '9', ' ',  '(',  ')',  ':', '{',  '}',  'L', 0x08, 0x0D, 1,   3};
    int edits = 1 + (int)below(8);
    for (int k = 0; k < edits; k++) {
        size_t span = n == 0 ? 1 : (next() & 1) && n > 96 ? 96 : n;
        size_t at = below(span);
        switch (below(7)) {
        case 0:
            if (at < n) b[at] ^= (unsigned char)(1u << below(8));
            break;
        case 1:
            if (at < n) b[at] = special[below(sizeof special)];
            break;
        case 2:
            if (at < n) b[at] = (unsigned char)next();
            break;
        case 3: /* insert */
            if (n < MAXLEN) {
                memmove(b + at + 1, b + at, n - at);
                b[at] = special[below(sizeof special)];
                n++;
            }
            break;
        case 4: { /* delete a run */
            size_t len = 1 + below(8);
            if (at + len <= n) {
                memmove(b + at, b + at + len, n - at - len);
                n -= len;
            }
            break;
        }
        case 5: /* truncate */ n = below(n + 1); break;
        default: { /* duplicate a run */
            size_t len = 1 + below(16);
            if (at + len <= n && n + len <= MAXLEN) {
                memmove(b + at + len, b + at, n - at);
                n += len;
            }
            break;
        }
        }
    }
    return n;
}

static void put(const char *path, const unsigned char *b, size_t n, int gz)
{
    if (gz) {
        gzFile g = gzopen(path, "wb");
        if (g) {
            if (n) gzwrite(g, b, (unsigned)n);
            gzclose(g);
        }
        return;
    }
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(b, 1, n, f);
        fclose(f);
    }
}

static size_t load(const char *path, unsigned char *b)
{
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(b, 1, MAXLEN, f) : 0;
    if (f) fclose(f);
    return n;
}

enum { CSV, NPY, IDX, DOCWORD, TEXT };

/* A docword's D and counts are materialised (D + 1 offsets, one id per
 * occurrence): a mutation that makes them huge tests the allocator, not the
 * parser, so inputs whose numbers add up to more than 10^5 are skipped. */
static int numbers_small(const char *path)
{
    gzFile g = gzopen(path, "rb");
    unsigned char b[MAXLEN];
    unsigned long long sum = 0, x = 0, total = 0;
    int n;
    while (g && (n = gzread(g, b, sizeof b)) > 0 && (total += (unsigned)n) < (1u << 20))
        for (int i = 0; i < n; i++) {
            if (b[i] >= '0' && b[i] <= '9')
                x = x > 1000000000ull ? x : x * 10 + (b[i] - '0');
            else
                sum += x, x = 0;
        }
    if (g) gzclose(g);
    return sum + x <= 100000 && total < (1u << 20);
}

static int corpus_ok(int kind, const char *path)
{
    lt_corpus *c = (lt_corpus *)1;
    lt_status s;
    if (kind == DOCWORD) {
        if (!numbers_small(path)) return 1;
        s = lt_corpus_read_docword(path, NULL, &c);
    } else {
        s = lt_corpus_read_text(path, NULL, NULL, 0, &c);
    }
    int ok;
    if (s == LT_OK) {
        ok = lt_corpus_check(c, path) == LT_OK && c->n_docs > 0;
        lt_corpus_free(c);
    } else {
        ok = c == NULL && lt_last_error()[0] != '\0';
        if (!ok) fprintf(stderr, "%s: status %d, message \"%s\"\n", path, (int)s, lt_last_error());
    }
    return ok;
}

/* The contract every reader keeps on any input. */
static int read_ok(int kind, const char *path)
{
    if (kind >= DOCWORD) {
        lt_clear_error();
        return corpus_ok(kind, path);
    }
    lt_array *a = (lt_array *)1;
    char **h = (char **)1;
    lt_clear_error();
    lt_status s = kind == CSV ? lt_csv_read(path, &a, &h) : kind == NPY ? lt_npy_read(path, &a) : lt_idx_read(path, &a);
    int ok;
    if (s == LT_OK) {
        ok = a && a->data && (a->rows == 0 || a->cols > 0 || kind != CSV);
        if (ok && a->rows && a->cols) (void)lt_array_get(a, a->rows - 1, a->cols - 1); /* ASan: in bounds */
        lt_array_free(a);
        if (kind == CSV) lt_strings_free(h);
    } else {
        ok = a == NULL && lt_last_error()[0] != '\0' && (kind != CSV || h == NULL);
        if (!ok) fprintf(stderr, "%s: status %d, message \"%s\"\n", path, (int)s, lt_last_error());
    }
    return ok;
}

/* One counted check per mutation. */
static void run(int kind, const unsigned char *seed, size_t n, int iters, int gz_after, const char *path)
{
    static unsigned char buf[MAXLEN];
    for (int i = 0; i < iters; i++) {
        memcpy(buf, seed, n);
        size_t m = mutate(buf, n);
        put(path, buf, m, gz_after);
        CHECK_MSG(read_ok(kind, path), "mutation %d of a %zu-byte seed broke the reader contract", i, n);
    }
}

static void test_csv(void)
{
    const char *dir = lt_test_tmpdir("io_fuzz");
    char path[4200];
    snprintf(path, sizeof path, "%s/f.csv", dir);
    const char *seeds[] = {"x,y,\"z\"\n1,2.5,-3e2\n4, 5 ,6\r\n\n7,8,9\n", "0.1,0.2\n0.3,0.4\n1e-3,5.\n",
                           "\357\273\277a\n1\n2\n"};
    for (int s = 0; s < 3; s++) {
        put(path, (const unsigned char *)seeds[s], strlen(seeds[s]), 0);
        CHECK(read_ok(CSV, path)); /* the seed itself is valid */
        run(CSV, (const unsigned char *)seeds[s], strlen(seeds[s]), 1000, 0, path);
    }
}

static void test_npy(void)
{
    const char *dir = lt_test_tmpdir("io_fuzz_npy");
    char path[4200];
    snprintf(path, sizeof path, "%s/f.npy", dir);
    const lt_dtype types[3] = {LT_F64, LT_F32, LT_U8};
    unsigned char seed[MAXLEN];
    for (int t = 0; t < 3; t++) {
        lt_array *a;
        CHECK_OK(lt_array_create(3, 4, types[t], &a));
        if (t == 2) a->height = 2, a->width = 2;
        CHECK_OK(lt_npy_write(path, a));
        lt_array_free(a);
        size_t n = load(path, seed);
        CHECK(n > 128 && read_ok(NPY, path));
        run(NPY, seed, n, 1000, 0, path);
    }
    /* A v2 header, spelled as another writer might. */
    const char dict[] = "{\"shape\": (2L, 3), 'fortran_order': False, 'descr': '|u1'}      \n";
    size_t hl = sizeof dict - 1, n = 0;
    memcpy(seed, "\x93NUMPY\x02\x00", 8);
    for (int i = 0; i < 4; i++)
        seed[8 + i] = (unsigned char)(hl >> (8 * i));
    memcpy(seed + 12, dict, hl);
    n = 12 + hl;
    memset(seed + n, 7, 6);
    n += 6;
    put(path, seed, n, 0);
    CHECK(read_ok(NPY, path));
    run(NPY, seed, n, 500, 0, path);
}

static void test_idx(void)
{
    const char *dir = lt_test_tmpdir("io_fuzz_idx");
    char path[4200];
    snprintf(path, sizeof path, "%s/f.idx", dir);
    unsigned char seed[64] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 3};
    for (int i = 16; i < 34; i++)
        seed[i] = (unsigned char)(i * 13);
    put(path, seed, 34, 0);
    CHECK(read_ok(IDX, path));
    run(IDX, seed, 34, 1000, 0, path);
    const unsigned char labels[9] = {0, 0, 8, 1, 0, 0, 0, 1, 5};
    run(IDX, labels, 9, 300, 0, path);
    /* Mutate, then compress: the gzip path sees every header variant. */
    run(IDX, seed, 34, 500, 1, path);
    /* Mutate the compressed bytes: zlib's errors must come back as ours. */
    unsigned char gzseed[MAXLEN];
    put(path, seed, 34, 1);
    size_t n = load(path, gzseed);
    CHECK(n > 18 && read_ok(IDX, path));
    run(IDX, gzseed, n, 1000, 0, path);
}

static void test_corpus(void)
{
    const char *dir = lt_test_tmpdir("io_fuzz_corpus");
    char path[4200];
    snprintf(path, sizeof path, "%s/docword.txt", dir);
    const char *dw = "4\n6\n7\n1 2 3\n1 5 1\n2 1 1\n2 6 2\n4 3 1\r\n4 4 2\n\n4 6 9\n";
    put(path, (const unsigned char *)dw, strlen(dw), 0);
    CHECK(read_ok(DOCWORD, path));
    run(DOCWORD, (const unsigned char *)dw, strlen(dw), 600, 0, path);
    run(DOCWORD, (const unsigned char *)dw, strlen(dw), 200, 1, path);
    unsigned char gzseed[MAXLEN];
    put(path, (const unsigned char *)dw, strlen(dw), 1);
    size_t n = load(path, gzseed);
    CHECK(n > 18 && read_ok(DOCWORD, path));
    run(DOCWORD, gzseed, n, 300, 0, path);

    snprintf(path, sizeof path, "%s/docs.txt", dir);
    const char *txt = "The quick brown fox, don't you\xe2\x80\x99"
                      "d say?\n\xc3\x89\x63ole na\xc3\xafve caf\xc3\xa9 "
                      "\xe6\x97\xa5\xe6\x9c\xac\r\nfox fox 42 brown\n";
    put(path, (const unsigned char *)txt, strlen(txt), 0);
    CHECK(read_ok(TEXT, path));
    run(TEXT, (const unsigned char *)txt, strlen(txt), 600, 0, path);
}

int main(void)
{
    RUN(test_csv);
    RUN(test_npy);
    RUN(test_idx);
    RUN(test_corpus);
    return lt_test_done();
}
