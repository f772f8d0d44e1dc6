// LABELS: unit
/* The corpus layer: the tokenizer against its written rules, stop words,
 * document-frequency pruning and max_vocab against brute-force counts on
 * random text, text -> docword -> corpus round trips (plain and gzip), folder
 * input, remapping, the streaming reader against the whole-file reader, and
 * every bad-input message (file and line named). */
#include "harness.h"
#include "latent/corpus.h"

#include <stdint.h>
#include <sys/stat.h>
#include <zlib.h>

/* ------------------------------------------------------------ helpers */

static uint64_t rs = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}
static size_t below(size_t n)
{
    return (size_t)(rnd() % n);
}

static int cmp_pstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Does document d hold exactly the words want[0..n) (any order)? */
static int doc_is(const lt_corpus *c, size_t d, const char *const *want, size_t n)
{
    size_t len = c->doc_ptr[d + 1] - c->doc_ptr[d];
    if (len != n) {
        fprintf(stderr, "  document %zu: %zu tokens, expected %zu\n", d, len, n);
        return 0;
    }
    if (n == 0) return 1;
    const char **a = malloc(n * sizeof *a), **b = malloc(n * sizeof *b);
    for (size_t i = 0; i < n; i++) {
        a[i] = c->vocab[c->tokens[c->doc_ptr[d] + i]];
        b[i] = want[i];
    }
    qsort(a, n, sizeof *a, cmp_pstr);
    qsort(b, n, sizeof *b, cmp_pstr);
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++)
        if (strcmp(a[i], b[i]) != 0) {
            fprintf(stderr, "  document %zu: '%s' where '%s' was expected\n", d, a[i], b[i]);
            ok = 0;
        }
    free(a);
    free(b);
    return ok;
}

/* Each document sorted by id, and the invariants. */
static int well_formed(const lt_corpus *c)
{
    if (lt_corpus_check(c, "test") != LT_OK) {
        fprintf(stderr, "  %s\n", lt_last_error());
        return 0;
    }
    size_t empty = 0;
    for (size_t d = 0; d < c->n_docs; d++) {
        empty += c->doc_ptr[d + 1] == c->doc_ptr[d];
        for (size_t i = c->doc_ptr[d] + 1; i < c->doc_ptr[d + 1]; i++)
            if (c->tokens[i - 1] > c->tokens[i]) return 0;
    }
    if (empty != c->n_empty_docs) return 0;
    if (c->vocab)
        for (size_t w = 1; w < c->n_vocab; w++)
            if (strcmp(c->vocab[w - 1], c->vocab[w]) >= 0) return 0;
    return 1;
}

static int same_corpus(const lt_corpus *a, const lt_corpus *b, int vocab_too)
{
    if (a->n_docs != b->n_docs || a->n_vocab != b->n_vocab || a->n_tokens != b->n_tokens ||
        a->n_empty_docs != b->n_empty_docs)
        return 0;
    for (size_t d = 0; d <= a->n_docs; d++)
        if (a->doc_ptr[d] != b->doc_ptr[d]) return 0;
    for (size_t i = 0; i < a->n_tokens; i++)
        if (a->tokens[i] != b->tokens[i]) return 0;
    if (vocab_too) {
        if (!a->vocab || !b->vocab) return 0;
        for (size_t w = 0; w < a->n_vocab; w++)
            if (strcmp(a->vocab[w], b->vocab[w]) != 0) return 0;
    }
    return 1;
}

static lt_corpus *text(const char *s, size_t min_length, int stop)
{
    lt_corpus_options o;
    lt_corpus_options_default(&o);
    o.min_length = min_length;
    o.stopwords = stop;
    o.allow_empty = 1;
    lt_corpus *c = NULL;
    (void)lt_corpus_from_text(s, strlen(s), "t", &o, NULL, 0, &c);
    return c;
}

/* The words of a one-document text, as the rules say they are. */
#define WORDS(s, ml, ...)                                                                                              \
    do {                                                                                                               \
        const char *w_[] = {__VA_ARGS__};                                                                              \
        lt_corpus *c_ = text(s, ml, 0);                                                                                \
        CHECK_MSG(c_ && c_->n_docs == 1 && well_formed(c_) && doc_is(c_, 0, w_, sizeof w_ / sizeof *w_),               \
                  "text %s: %s", #s, c_ ? "" : lt_last_error());                                                       \
        lt_corpus_free(c_);                                                                                            \
    } while (0)

/* A one-document text with no words. */
#define NOWORDS(s)                                                                                                     \
    do {                                                                                                               \
        lt_corpus *c_ = text(s, 1, 0);                                                                                 \
        CHECK_MSG(c_ == NULL && strstr(lt_last_error(), "no words"), "text %s: %s", #s, lt_last_error());              \
        lt_corpus_free(c_);                                                                                            \
    } while (0)

static void write_file(const char *path, const char *s)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs(s, f);
        fclose(f);
    }
}

static void write_gz(const char *path, const char *s)
{
    gzFile g = gzopen(path, "wb");
    if (g) {
        gzwrite(g, s, (unsigned)strlen(s));
        gzclose(g);
    }
}

/* ------------------------------------------------------------ tokenizer */

static void test_tokenizer(void)
{
    WORDS("Hello WORLD hello", 1, "hello", "world", "hello");
    /* apostrophes (ASCII and U+2019) vanish inside words, and at their edges */
    WORDS("don't It\xe2\x80\x99s rock'n'roll 'quoted' dogs' ''", 1, "dont", "its", "rocknroll", "quoted", "dogs");
    /* Latin-1 capitals fold (+0x20), other scripts stay as written */
    WORDS("\xc3\x89\x43OLE \xc3\x9c\x62\x65r na\xc3\xafve \xc3\x80\xc3\x9e", 1, "\xc3\xa9\x63ole", "\xc3\xbc\x62\x65r",
          "na\xc3\xafve", "\xc3\xa0\xc3\xbe");
    WORDS("\xce\xa3\xce\x9f\xce\xa6 \xe6\x97\xa5\xe6\x9c\xac", 1, "\xce\xa3\xce\x9f\xce\xa6",
          "\xe6\x97\xa5\xe6\x9c\xac");
    /* invalid UTF-8 separates: a stray byte, a cut sequence, an overlong
     * form, a surrogate, a lead byte beyond U+10FFFF */
    WORDS("ab\xff\x63\x64", 1, "ab", "cd");
    WORDS("xy\xc3", 1, "xy");
    WORDS("\xc0\xafzz", 1, "zz");
    WORDS("\xed\xa0\x80qq", 1, "qq");
    WORDS("a\xf5\x62", 1, "a", "b");
    NOWORDS("\xe2\x82");
    NOWORDS("\x80\x80\xbf");
    /* digits and punctuation separate */
    WORDS("abc123def 42 x9, (y)z;", 1, "abc", "def", "x", "y", "z");
    /* U+2014, U+00D7, U+00F7, NBSP, U+3000, BOM separate */
    WORDS("one\xe2\x80\x94two three\xc3\x97\x66our five\xc3\xb7six seven\xc2\xa0\x65ight", 1, "one", "two", "three",
          "four", "five", "six", "seven", "eight");
    WORDS("\xef\xbb\xbfstart \xe6\x97\xa5\xe3\x80\x80\xe8\xaa\x9e", 1, "start", "\xe6\x97\xa5", "\xe8\xaa\x9e");
    /* min_length counts letters, not bytes */
    WORDS("\xc3\xa9 \xc3\xa9\x61 ab a \xe6\x97\xa5 \xe6\x97\xa5\xe6\x97\xa5", 2, "\xc3\xa9\x61", "ab",
          "\xe6\x97\xa5\xe6\x97\xa5");
    WORDS("tiny words are dropped at four", 4, "tiny", "words", "dropped", "four");
    /* a NUL byte separates */
    {
        const char s[] = "ab\0cd";
        lt_corpus *c = NULL;
        lt_corpus_options o;
        lt_corpus_options_default(&o);
        CHECK_OK(lt_corpus_from_text(s, 5, "t", &o, NULL, 0, &c));
        const char *w[] = {"ab", "cd"};
        CHECK(c && doc_is(c, 0, w, 2));
        lt_corpus_free(c);
    }
    /* lines: CRLF, no final newline, a line with no words is an empty document */
    lt_corpus *c = text("ab cd\r\n12 34\r\ncd ef", 1, 0);
    CHECK(c && c->n_docs == 3 && c->n_empty_docs == 1 && c->n_vocab == 3 && well_formed(c));
    lt_corpus_free(c);
}

/* Random documents rendered with random case, apostrophes and separators
 * must come back as exactly the words they were made of. */
#define POOL 40
static char pool[POOL][32];

static void make_pool(void)
{
    static const char *uni[] = {"\xc3\xa9\x63ole",
                                "na\xc3\xafve",
                                "\xc3\xbc\x62\x65r",
                                "\xcf\x83\xce\xbf\xcf\x86\xce\xaf\xce\xb1",
                                "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
                                "fa\xc3\xa7\x61\x64\x65"};
    const char *const *stop = lt_stopwords_english();
    size_t n = 0;
    for (; n < 6; n++)
        strcpy(pool[n], uni[n]);
    while (n < POOL) {
        size_t len = 3 + below(6);
        for (size_t i = 0; i < len; i++)
            pool[n][i] = (char)('a' + below(26));
        pool[n][len] = '\0';
        int dup = 0;
        for (size_t j = 0; j < n; j++)
            dup |= strcmp(pool[j], pool[n]) == 0;
        for (size_t j = 0; stop[j]; j++)
            dup |= strcmp(stop[j], pool[n]) == 0;
        if (!dup) n++;
    }
}

static size_t render(char *out, size_t at, const char *w)
{
    static const char *seps[] = {" ", ", ", ". ", " 42 ", "\xe2\x80\x94", "\t", " (", ") ", "\xff", "7", " \xc2\xa0"};
    const char *s = seps[below(sizeof seps / sizeof *seps)];
    size_t n = strlen(s);
    memcpy(out + at, s, n);
    at += n;
    int upper = below(3) == 0, apos = below(4) == 0;
    size_t len = strlen(w);
    int ascii = 1;
    for (size_t i = 0; i < len; i++)
        ascii &= (unsigned char)w[i] < 0x80;
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)w[i];
        if (apos && ascii && i == len / 2) { /* ASCII or U+2019, inside the word */
            if (below(2)) {
                out[at++] = '\'';
            } else {
                memcpy(out + at, "\xe2\x80\x99", 3);
                at += 3;
            }
        }
        if (upper && b >= 'a' && b <= 'z')
            b = (unsigned char)(b - 32);
        else if (upper && b == 0xC3 && i + 1 < len && (unsigned char)w[i + 1] >= 0xA0 &&
                 (unsigned char)w[i + 1] <= 0xBE && (unsigned char)w[i + 1] != 0xB7) {
            out[at++] = (char)b;
            out[at++] = (char)((unsigned char)w[++i] - 0x20);
            continue;
        }
        out[at++] = (char)b;
    }
    return at;
}

typedef struct gen {
    size_t D;
    size_t *len;     /* words per document */
    size_t (*w)[24]; /* pool indices */
    char *text;
    size_t text_len;
} gen;

static void gen_make(gen *g, size_t D)
{
    g->D = D;
    g->len = malloc(D * sizeof *g->len);
    g->w = malloc(D * sizeof *g->w);
    g->text = malloc(D * 24 * 48 + 16);
    size_t at = 0;
    for (size_t d = 0; d < D; d++) {
        g->len[d] = d % 7 == 3 ? 0 : below(21); /* some documents hold no words */
        for (size_t i = 0; i < g->len[d]; i++) {
            double u = (double)below(1000000) / 1e6;
            g->w[d][i] = (size_t)(POOL * u * u); /* skewed: a few frequent words */
            at = render(g->text, at, pool[g->w[d][i]]);
        }
        if (g->len[d] == 0) g->text[at++] = '-'; /* not blank, but no words */
        g->text[at++] = '\n';
    }
    g->text[at] = '\0';
    g->text_len = at;
}

static void gen_free(gen *g)
{
    free(g->len);
    free(g->w);
    free(g->text);
}

/* One long document (sorting beyond insertion sort), in both readers. */
static void test_long_document(void)
{
    make_pool();
    enum { N = 5000 };
    static size_t idx[N];
    static char buf[N * 48];
    static const char *want[N];
    size_t at = 0;
    for (size_t i = 0; i < N; i++) {
        idx[i] = below(POOL);
        want[i] = pool[idx[i]];
        at = render(buf, at, pool[idx[i]]);
    }
    lt_corpus_options o;
    lt_corpus_options_default(&o);
    lt_corpus *c = NULL, *b = NULL;
    CHECK_OK(lt_corpus_from_text(buf, at, "long", &o, NULL, 0, &c));
    CHECK(c && c->n_docs == 1 && c->n_tokens == N && well_formed(c) && doc_is(c, 0, want, N));
    /* the same bag as a docword file whose entries run backwards */
    const char *dir = lt_test_tmpdir("corpus_long");
    char p[4200];
    snprintf(p, sizeof p, "%s/dw.txt", dir);
    FILE *f = fopen(p, "wb");
    size_t counts[POOL] = {0}, nnz = 0;
    for (size_t i = 0; i < N; i++)
        nnz += counts[idx[i]]++ == 0;
    fprintf(f, "1\n%d\n%zu\n", POOL, nnz);
    for (size_t w = POOL; w-- > 0;)
        if (counts[w]) fprintf(f, "1 %zu %zu\n", w + 1, counts[w]);
    fclose(f);
    CHECK_OK(lt_corpus_read_docword(p, NULL, &b));
    int ok = b && b->n_tokens == N && well_formed(b);
    for (size_t i = 0; ok && i < N; i++)
        ok = i == 0 || b->tokens[i - 1] <= b->tokens[i];
    for (size_t w = 0, i = 0; ok && w < POOL; w++)
        for (size_t k = 0; ok && k < counts[w]; k++, i++)
            ok = b->tokens[i] == (int32_t)w;
    CHECK(ok);
    lt_corpus_free(b);
    lt_corpus_free(c);
}

static void test_random_text(void)
{
    make_pool();
    for (int rep = 0; rep < 5; rep++) {
        gen g;
        gen_make(&g, 40);
        lt_corpus_options o;
        lt_corpus_options_default(&o);
        o.stopwords = 0;
        o.min_length = 1;
        lt_corpus *c = NULL;
        CHECK_OK(lt_corpus_from_text(g.text, g.text_len, "random", &o, NULL, 0, &c));
        if (!c) {
            gen_free(&g);
            continue;
        }
        CHECK(c->n_docs == g.D && well_formed(c) && c->n_dropped_tokens == 0);
        int ok = 1;
        for (size_t d = 0; d < g.D; d++) {
            const char *want[24];
            for (size_t i = 0; i < g.len[d]; i++)
                want[i] = pool[g.w[d][i]];
            ok &= doc_is(c, d, want, g.len[d]);
        }
        CHECK_MSG(ok, "repetition %d", rep);
        lt_corpus_free(c);
        gen_free(&g);
    }
}

/* ------------------------------------------------------------ stop words */

static void test_stopwords(void)
{
    const char *const *sw = lt_stopwords_english();
    size_t n = 0;
    while (sw[n])
        n++;
    CHECK_MSG(n >= 150 && n <= 350, "%zu stop words", n);
    /* sorted copy: no repeats */
    const char **s = malloc(n * sizeof *s);
    memcpy(s, sw, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_pstr);
    int dup = 0;
    for (size_t i = 1; i < n; i++)
        dup |= strcmp(s[i - 1], s[i]) == 0;
    CHECK(!dup);
    free(s);
    /* each is one word as the tokenizer writes it */
    int norm = 1;
    for (size_t i = 0; i < n; i++) {
        lt_corpus *c = text(sw[i], 1, 0);
        norm &= c && c->n_tokens == 1 && strcmp(c->vocab[0], sw[i]) == 0;
        lt_corpus_free(c);
    }
    CHECK(norm);
    /* "a" is below min_length, not a dropped stop word */
    lt_corpus *c = text("The cat and THE hat sat on a mat", 2, 1);
    const char *w[] = {"cat", "hat", "sat", "mat"};
    CHECK(c && c->n_vocab == 4 && doc_is(c, 0, w, 4) && c->n_dropped_tokens == 4);
    lt_corpus_free(c);
    c = text("The cat and THE hat", 2, 0);
    CHECK(c && c->n_vocab == 4 && c->n_tokens == 5 && c->n_dropped_tokens == 0);
    lt_corpus_free(c);

    /* a user list replaces the built-in one */
    const char *dir = lt_test_tmpdir("corpus_stop");
    char path[4200];
    snprintf(path, sizeof path, "%s/stop.txt", dir);
    write_file(path, "# a comment line\nCat\n  Don't\r\n\n");
    lt_corpus_options o;
    lt_corpus_options_default(&o);
    o.stopword_file = path;
    const char *t = "the cat don't sit comment";
    CHECK_OK(lt_corpus_from_text(t, strlen(t), "t", &o, NULL, 0, &c));
    const char *w2[] = {"the", "sit", "comment"};
    CHECK(c && doc_is(c, 0, w2, 3) && c->n_dropped_tokens == 2);
    lt_corpus_free(c);
    snprintf(path, sizeof path, "%s/missing.txt", dir);
    CHECK_FAILS(lt_corpus_from_text(t, strlen(t), "t", &o, NULL, 0, &c), LT_ERR_IO, "missing.txt");
}

/* ------------------------------------------------------------ pruning */

typedef struct cand {
    size_t tf;
    const char *w;
} cand;

static int cmp_cand(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->tf != y->tf) return x->tf > y->tf ? -1 : 1;
    return strcmp(x->w, y->w);
}

static void test_pruning(void)
{
    make_pool();
    gen g;
    gen_make(&g, 60);
    /* brute force: documents and occurrences of each pool word */
    size_t df[POOL] = {0}, tf[POOL] = {0};
    for (size_t p = 0; p < POOL; p++)
        for (size_t d = 0; d < g.D; d++) {
            int in = 0;
            for (size_t i = 0; i < g.len[d]; i++)
                if (g.w[d][i] == p) in = 1, tf[p]++;
            df[p] += (size_t)in;
        }
    const double cases[][3] = {{1, 1.0, 0}, {2, 1.0, 0}, {3, 0.5, 0},  {0.1, 0.9, 0}, {1, 5, 0},
                               {4, 20, 0},  {1, 1.0, 5}, {2, 0.6, 12}, {0.05, 30, 1}, {1, 1.0, 1000}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        double lo = cases[k][0] >= 1 ? cases[k][0] : cases[k][0] * (double)g.D;
        double hi = cases[k][1] <= 1 ? cases[k][1] * (double)g.D : cases[k][1];
        cand cs[POOL];
        size_t n = 0, total = 0;
        for (size_t p = 0; p < POOL; p++) {
            total += tf[p];
            if (df[p] > 0 && (double)df[p] >= lo && (double)df[p] <= hi) cs[n].tf = tf[p], cs[n].w = pool[p], n++;
        }
        size_t maxv = (size_t)cases[k][2];
        if (maxv && n > maxv) {
            qsort(cs, n, sizeof *cs, cmp_cand);
            n = maxv;
        }
        const char *keep[POOL];
        size_t kept_tokens = 0;
        for (size_t i = 0; i < n; i++)
            keep[i] = cs[i].w, kept_tokens += cs[i].tf;
        qsort(keep, n, sizeof *keep, cmp_pstr);

        lt_corpus_options o;
        lt_corpus_options_default(&o);
        o.min_df = cases[k][0];
        o.max_df = cases[k][1];
        o.max_vocab = maxv;
        o.min_length = 1;
        lt_corpus *c = NULL;
        CHECK_OK(lt_corpus_from_text(g.text, g.text_len, "random", &o, NULL, 0, &c));
        if (!c) continue;
        int ok = c->n_vocab == n && well_formed(c) && c->n_tokens == kept_tokens &&
                 c->n_dropped_tokens == total - kept_tokens;
        for (size_t i = 0; ok && i < n; i++)
            ok = strcmp(c->vocab[i], keep[i]) == 0;
        /* each document: its words that survived */
        for (size_t d = 0; ok && d < g.D; d++) {
            const char *want[24];
            size_t m = 0;
            for (size_t i = 0; i < g.len[d]; i++) {
                const char *w = pool[g.w[d][i]];
                if (bsearch(&w, keep, n, sizeof *keep, cmp_pstr)) want[m++] = w;
            }
            ok = doc_is(c, d, want, m);
        }
        CHECK_MSG(ok, "min_df %g max_df %g max_vocab %zu: %zu words (expected %zu)", cases[k][0], cases[k][1], maxv,
                  c->n_vocab, n);
        lt_corpus_free(c);
    }
    /* nothing left */
    lt_corpus_options o;
    lt_corpus_options_default(&o);
    o.min_df = 1000;
    lt_corpus *c = NULL;
    CHECK_FAILS(lt_corpus_from_text(g.text, g.text_len, "random", &o, NULL, 0, &c), LT_ERR_INVALID,
                "random: no words left after pruning");
    CHECK(c == NULL);
    o.min_df = -1;
    CHECK_FAILS(lt_corpus_from_text(g.text, g.text_len, "random", &o, NULL, 0, &c), LT_ERR_INVALID, "min_df");
    o.min_df = 1;
    o.max_df = 0;
    CHECK_FAILS(lt_corpus_from_text(g.text, g.text_len, "random", &o, NULL, 0, &c), LT_ERR_INVALID, "max_df");
    o.max_df = NAN;
    CHECK_FAILS(lt_corpus_from_text(g.text, g.text_len, "random", &o, NULL, 0, &c), LT_ERR_INVALID, "max_df");
    gen_free(&g);
}

/* ------------------------------------------------------------ docword round trips */

static void test_roundtrip(void)
{
    make_pool();
    gen g;
    gen_make(&g, 50);
    const char *dir = lt_test_tmpdir("corpus_rt");
    char tp[4200], dw[4200], vp[4200], dz[4200], vz[4200];
    snprintf(tp, sizeof tp, "%s/docs.txt", dir);
    snprintf(dw, sizeof dw, "%s/docword.txt", dir);
    snprintf(vp, sizeof vp, "%s/vocab.txt", dir);
    snprintf(dz, sizeof dz, "%s/docword.txt.gz", dir);
    snprintf(vz, sizeof vz, "%s/vocab.txt.gz", dir);
    FILE *f = fopen(tp, "wb");
    fwrite(g.text, 1, g.text_len, f);
    fclose(f);
    lt_corpus_options o;
    lt_corpus_options_default(&o);
    lt_corpus *a = NULL, *b = NULL, *m = NULL;
    CHECK_OK(lt_corpus_read_text(tp, &o, NULL, 0, &a));
    CHECK_OK(lt_corpus_from_text(g.text, g.text_len, "mem", &o, NULL, 0, &m));
    CHECK(a && m && same_corpus(a, m, 1) && a->n_dropped_tokens == m->n_dropped_tokens);
    CHECK(a && a->n_empty_docs > 0 && well_formed(a));
    if (!a) goto out;
    CHECK_OK(lt_corpus_write_docword(a, dw, vp));
    CHECK_OK(lt_corpus_read_docword(dw, vp, &b));
    CHECK(b && same_corpus(a, b, 1) && well_formed(b));
    lt_corpus_free(b);
    b = NULL;
    CHECK_OK(lt_corpus_read_docword(dw, NULL, &b));
    CHECK(b && b->vocab == NULL && same_corpus(a, b, 0));
    lt_corpus_free(b);
    b = NULL;
    /* gzip out and in */
    CHECK_OK(lt_corpus_write_docword(a, dz, vz));
    CHECK_OK(lt_corpus_read_docword(dz, vz, &b));
    CHECK(b && same_corpus(a, b, 1));
    lt_corpus_free(b);
    b = NULL;
    /* the gzip file is a real one: zlib's own reader agrees with the plain file */
    {
        gzFile gz = gzopen(dz, "rb");
        FILE *pf = fopen(dw, "rb");
        int same = gz && pf && !gzdirect(gz);
        char x[4096], y[4096];
        for (;;) {
            int nx = gz ? gzread(gz, x, sizeof x) : 0;
            size_t ny = pf ? fread(y, 1, sizeof y, pf) : 0;
            if (nx < 0 || (size_t)nx != ny || memcmp(x, y, ny) != 0) {
                same = 0;
                break;
            }
            if (nx == 0) break;
        }
        if (gz) gzclose(gz);
        if (pf) fclose(pf);
        CHECK(same);
    }
    /* gzip text input */
    snprintf(tp, sizeof tp, "%s/docs.txt.gz", dir);
    {
        gzFile gz = gzopen(tp, "wb");
        gzwrite(gz, g.text, (unsigned)g.text_len);
        gzclose(gz);
    }
    CHECK_OK(lt_corpus_read_text(tp, &o, NULL, 0, &b));
    CHECK(b && same_corpus(a, b, 1));
    lt_corpus_free(b);
    b = NULL;

    /* A docword written by hand: words out of order, a repeated pair, blank
     * lines, CRLF; empty first and last documents. */
    write_file(dw, "5\n4\n6\n2 3 2\n2 1 1\r\n\n2 3 1\n3 4 5\n4 2 1\n4 1 3\n");
    write_file(vp, "w1\nw2\nw3\r\nw4");
    CHECK_OK(lt_corpus_read_docword(dw, vp, &b));
    if (b) {
        CHECK(b->n_docs == 5 && b->n_vocab == 4 && b->n_tokens == 13 && b->n_empty_docs == 2 && well_formed(b));
        const char *d1[] = {"w3", "w3", "w3", "w1"}, *d2[] = {"w4", "w4", "w4", "w4", "w4"},
                   *d3[] = {"w2", "w1", "w1", "w1"};
        CHECK(doc_is(b, 0, NULL, 0) && doc_is(b, 1, d1, 4) && doc_is(b, 2, d2, 5) && doc_is(b, 3, d3, 4) &&
              doc_is(b, 4, NULL, 0));
        /* written back, the entries come out sorted and merged */
        CHECK_OK(lt_corpus_write_docword(b, dw, NULL));
        FILE *rf = fopen(dw, "rb");
        char buf[256] = {0};
        size_t got = rf ? fread(buf, 1, sizeof buf - 1, rf) : 0;
        if (rf) fclose(rf);
        CHECK_MSG(got && strcmp(buf, "5\n4\n5\n2 1 1\n2 3 3\n3 4 5\n4 1 3\n4 2 1\n") == 0, "%s", buf);
    }
    lt_corpus_free(b);
    b = NULL;

    /* grouped but unsorted tokens are written sorted; ungrouped ones refused */
    {
        size_t ptr[3] = {0, 3, 5};
        int32_t tok[5] = {2, 2, 0, 1, 0};
        lt_corpus c = {.n_docs = 2, .n_vocab = 3, .n_tokens = 5, .doc_ptr = ptr, .tokens = tok};
        CHECK_OK(lt_corpus_write_docword(&c, dw, NULL));
        CHECK_OK(lt_corpus_read_docword(dw, NULL, &b));
        int32_t want[5] = {0, 2, 2, 0, 1};
        CHECK(b && b->n_tokens == 5 && memcmp(b->tokens, want, sizeof want) == 0);
        lt_corpus_free(b);
        b = NULL;
        int32_t bad[5] = {2, 0, 2, 1, 0};
        c.tokens = bad;
        CHECK_FAILS(lt_corpus_write_docword(&c, dw, NULL), LT_ERR_INVALID, "document 0: the occurrences of word 2");
        int32_t out_of_range[5] = {2, 2, 0, 1, 3};
        c.tokens = out_of_range;
        CHECK_FAILS(lt_corpus_check(&c, "mine"), LT_ERR_INVALID, "mine: document 1: word id 3 is out of range");
        char *voc[3] = {"x", "y\nz", "w"};
        c.tokens = tok;
        c.vocab = voc;
        CHECK_FAILS(lt_corpus_write_docword(&c, dw, vp), LT_ERR_INVALID, "word 1 is split by a line break");
    }
out:
    lt_corpus_free(a);
    lt_corpus_free(m);
    gen_free(&g);
}

/* ------------------------------------------------------------ folders */

static void test_folder(void)
{
    const char *dir = lt_test_tmpdir("corpus_dir");
    char p[4200];
    snprintf(p, sizeof p, "%s/b.txt", dir);
    write_file(p, "Beta gamma");
    snprintf(p, sizeof p, "%s/a.txt", dir);
    write_file(p, "alpha\nbeta\n");
    snprintf(p, sizeof p, "%s/.hidden", dir);
    write_file(p, "zzzz");
    snprintf(p, sizeof p, "%s/c.gz", dir);
    write_gz(p, "delta delta");
    snprintf(p, sizeof p, "%s/sub", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/sub/x.txt", dir);
    write_file(p, "yyyy");
    lt_corpus_options o;
    lt_corpus_options_default(&o);
    o.folder = 1;
    lt_corpus *c = NULL;
    CHECK_OK(lt_corpus_read_text(dir, &o, NULL, 0, &c));
    const char *d0[] = {"alpha", "beta"}, *d1[] = {"beta", "gamma"}, *d2[] = {"delta", "delta"};
    CHECK(c && c->n_docs == 3 && c->n_vocab == 4 && well_formed(c) && doc_is(c, 0, d0, 2) && doc_is(c, 1, d1, 2) &&
          doc_is(c, 2, d2, 2));
    lt_corpus_free(c);
    /* an empty file is an empty document, refused by name unless allowed */
    snprintf(p, sizeof p, "%s/d.txt", dir);
    write_file(p, " \n\t\n");
    CHECK_FAILS(lt_corpus_read_text(dir, &o, NULL, 0, &c), LT_ERR_FORMAT, "d.txt: empty document");
    o.allow_empty = 1;
    CHECK_OK(lt_corpus_read_text(dir, &o, NULL, 0, &c));
    CHECK(c && c->n_docs == 4 && c->n_empty_docs == 1 && c->doc_ptr[4] == c->doc_ptr[3]);
    lt_corpus_free(c);
    /* a folder read as a file, a file read as a folder, an empty folder */
    o.folder = 0;
    CHECK_FAILS(lt_corpus_read_text(dir, &o, NULL, 0, &c), LT_ERR_IO, "is a folder");
    o.folder = 1;
    CHECK_FAILS(lt_corpus_read_text(p, &o, NULL, 0, &c), LT_ERR_INVALID, "d.txt: not a folder");
    snprintf(p, sizeof p, "%s/sub2", dir);
    mkdir(p, 0755);
    CHECK_FAILS(lt_corpus_read_text(p, &o, NULL, 0, &c), LT_ERR_FORMAT, "sub2: empty corpus");
    CHECK(c == NULL);
}

/* ------------------------------------------------------------ remapping */

static void test_remap(void)
{
    make_pool();
    gen g;
    gen_make(&g, 30);
    lt_corpus_options o;
    lt_corpus_options_default(&o);
    o.stopwords = 0;
    lt_corpus *a = NULL, *r = NULL, *t = NULL;
    CHECK_OK(lt_corpus_from_text(g.text, g.text_len, "g", &o, NULL, 0, &a));
    if (!a) {
        gen_free(&g);
        return;
    }
    /* every other word of a's vocabulary, two new words, in a shuffled order */
    char *vb[POOL + 2];
    size_t nb = 0;
    for (size_t w = 0; w < a->n_vocab; w += 2)
        vb[nb++] = a->vocab[w];
    vb[nb++] = "neverseen";
    vb[nb++] = "another";
    for (size_t i = nb - 1; i > 0; i--) {
        size_t j = below(i + 1);
        char *x = vb[i];
        vb[i] = vb[j];
        vb[j] = x;
    }
    CHECK_OK(lt_corpus_remap(a, vb, nb, &r));
    CHECK_OK(lt_corpus_from_text(g.text, g.text_len, "g", &o, vb, nb, &t));
    if (r && t) {
        CHECK(r->n_vocab == nb && lt_corpus_check(r, "r") == LT_OK);
        int ok = 1;
        size_t dropped = 0;
        for (size_t d = 0; d < a->n_docs && ok; d++) {
            const char *want[24];
            size_t m = 0;
            for (size_t i = a->doc_ptr[d]; i < a->doc_ptr[d + 1]; i++) {
                int in = 0;
                for (size_t k = 0; k < nb; k++)
                    in |= strcmp(vb[k], a->vocab[a->tokens[i]]) == 0;
                if (in)
                    want[m++] = a->vocab[a->tokens[i]];
                else
                    dropped++;
            }
            ok = doc_is(r, d, want, m) && doc_is(t, d, want, m);
            for (size_t i = r->doc_ptr[d] + 1; i < r->doc_ptr[d + 1]; i++)
                ok &= r->tokens[i - 1] <= r->tokens[i];
        }
        CHECK(ok);
        CHECK(r->n_dropped_tokens == a->n_dropped_tokens + dropped && t->n_dropped_tokens == dropped);
        CHECK(same_corpus(r, t, 1));
    }
    lt_corpus_free(r);
    lt_corpus_free(t);
    /* a repeated word, a corpus without a vocabulary */
    char *rep[3] = {"x", "y", "x"};
    CHECK_FAILS(lt_corpus_remap(a, rep, 3, &r), LT_ERR_INVALID, "word 2 'x' repeats word 0");
    CHECK_FAILS(lt_corpus_from_text("x", 1, "g", &o, rep, 3, &r), LT_ERR_INVALID, "repeats");
    char **v = a->vocab;
    a->vocab = NULL;
    CHECK_FAILS(lt_corpus_remap(a, vb, nb, &r), LT_ERR_INVALID, "no vocabulary");
    a->vocab = v;
    lt_corpus_free(a);
    gen_free(&g);
}

/* ------------------------------------------------------------ streaming */

static void test_stream(void)
{
    const char *dir = lt_test_tmpdir("corpus_stream");
    char dw[4200];
    for (int gz = 0; gz < 2; gz++) {
        snprintf(dw, sizeof dw, "%s/docword%s", dir, gz ? ".txt.gz" : ".txt");
        /* a random corpus: 23 documents, some empty (the first and the last) */
        const size_t D = 23, V = 17;
        size_t ptr[24];
        int32_t tok[23 * 12];
        size_t n = 0;
        for (size_t d = 0; d < D; d++) {
            ptr[d] = n;
            size_t len = d == 0 || d == D - 1 || below(4) == 0 ? 0 : 1 + below(12);
            size_t at = n;
            for (size_t i = 0; i < len; i++)
                tok[n++] = (int32_t)below(V);
            for (size_t i = at + 1; i < n; i++) /* sort: the readers' layout */
                for (size_t j = i; j > at && tok[j - 1] > tok[j]; j--) {
                    int32_t x = tok[j];
                    tok[j] = tok[j - 1];
                    tok[j - 1] = x;
                }
        }
        ptr[D] = n;
        size_t empty = 0;
        for (size_t d = 0; d < D; d++)
            empty += ptr[d] == ptr[d + 1];
        lt_corpus src = {
            .n_docs = D, .n_vocab = V, .n_tokens = n, .doc_ptr = ptr, .tokens = tok, .n_empty_docs = empty};
        CHECK_OK(lt_corpus_write_docword(&src, dw, NULL));
        lt_corpus *whole = NULL;
        CHECK_OK(lt_corpus_read_docword(dw, NULL, &whole));
        CHECK(whole && same_corpus(&src, whole, 0));
        lt_corpus_free(whole);

        lt_docword_stream *s = NULL;
        CHECK_OK(lt_docword_stream_open(dw, &s));
        if (!s) continue;
        CHECK(lt_docword_stream_docs(s) == D && lt_docword_stream_vocab(s) == V);
        const size_t sizes[] = {1, 2, 3, 5, 22, 23, 30};
        for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
            for (int pass = 0; pass < 2; pass++) {
                CHECK_OK(lt_docword_stream_rewind(s));
                size_t d = 0, batches = 0;
                int ok = 1;
                for (;;) {
                    lt_corpus *b = NULL;
                    lt_status st = lt_docword_stream_next(s, sizes[k], &b);
                    if (st != LT_OK) {
                        ok = 0;
                        fprintf(stderr, "  %s\n", lt_last_error());
                        break;
                    }
                    if (!b) break;
                    batches++;
                    ok &= b->n_vocab == V && b->vocab == NULL && b->n_docs <= sizes[k] && b->n_docs > 0 &&
                          lt_corpus_check(b, "batch") == LT_OK;
                    for (size_t i = 0; ok && i < b->n_docs; i++, d++) {
                        size_t len = b->doc_ptr[i + 1] - b->doc_ptr[i];
                        ok = d < D && len == ptr[d + 1] - ptr[d] &&
                             (len == 0 || memcmp(b->tokens + b->doc_ptr[i], tok + ptr[d], len * sizeof *tok) == 0);
                    }
                    lt_corpus_free(b);
                }
                CHECK_MSG(ok && d == D && batches == (D + sizes[k] - 1) / sizes[k], "batch size %zu, pass %d", sizes[k],
                          pass);
                /* the end stays the end */
                lt_corpus *b = (lt_corpus *)1;
                CHECK_OK(lt_docword_stream_next(s, 4, &b));
                CHECK(b == NULL);
            }
        }
        lt_corpus *b = NULL;
        CHECK_FAILS(lt_docword_stream_next(s, 0, &b), LT_ERR_INVALID, "max_docs");
        lt_docword_stream_close(s);
    }

    /* An error in the middle comes out with the batch that reaches it, and
     * the stream stays failed until rewound. */
    snprintf(dw, sizeof dw, "%s/bad.txt", dir);
    write_file(dw, "4\n3\n4\n1 1 1\n2 2 2\n3 9 1\n4 1 1\n");
    lt_docword_stream *s = NULL;
    CHECK_OK(lt_docword_stream_open(dw, &s));
    if (s) {
        lt_corpus *b = NULL;
        CHECK_OK(lt_docword_stream_next(s, 2, &b));
        CHECK(b && b->n_docs == 2 && b->n_tokens == 3);
        lt_corpus_free(b);
        CHECK_FAILS(lt_docword_stream_next(s, 2, &b), LT_ERR_FORMAT, "bad.txt:6: word id 9 is out of range 1..3");
        CHECK(b == NULL);
        CHECK_FAILS(lt_docword_stream_next(s, 2, &b), LT_ERR_INVALID, "rewind");
        CHECK_OK(lt_docword_stream_rewind(s));
        CHECK_OK(lt_docword_stream_next(s, 1, &b));
        CHECK(b && b->n_docs == 1 && b->n_tokens == 1);
        lt_corpus_free(b);
        lt_docword_stream_close(s);
    }
}

/* ------------------------------------------------------------ bad input */

static void docword_fails(const char *dir, const char *body, lt_status code, const char *needle)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/dw.txt", dir);
    write_file(p, body);
    lt_corpus *c = (lt_corpus *)1;
    CHECK_FAILS(lt_corpus_read_docword(p, NULL, &c), code, needle);
    CHECK(c == NULL);
    /* the stream says the same, at open or at the batch that reaches it */
    lt_docword_stream *s = NULL;
    lt_status st = lt_docword_stream_open(p, &s);
    while (st == LT_OK) {
        lt_corpus *b = NULL;
        st = lt_docword_stream_next(s, 1, &b);
        if (!b) break;
        lt_corpus_free(b);
    }
    CHECK_MSG(st == code && strstr(lt_last_error(), needle), "stream: %s", lt_last_error());
    lt_docword_stream_close(s);
}

static void text_fails(const char *dir, const char *body, lt_status code, const char *needle)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/t.txt", dir);
    write_file(p, body);
    lt_corpus *c = (lt_corpus *)1;
    CHECK_FAILS(lt_corpus_read_text(p, NULL, NULL, 0, &c), code, needle);
    CHECK(c == NULL);
}

static void test_bad_input(void)
{
    const char *dir = lt_test_tmpdir("corpus_bad");
    /* text */
    text_fails(dir, "", LT_ERR_FORMAT, "t.txt: empty corpus: no documents");
    text_fails(dir, "cat dog\nbird fish\n\nhorse cow\n", LT_ERR_FORMAT, "t.txt:3: empty document");
    text_fails(dir, "cat dog\n \t\r\n", LT_ERR_FORMAT, "t.txt:2: empty document");
    text_fails(dir, "12 34\n56 --\n", LT_ERR_FORMAT, "t.txt: no words in 2 documents");
    text_fails(dir, "the and of\n", LT_ERR_FORMAT, "no words");
    char p[4200];
    snprintf(p, sizeof p, "%s/none.txt", dir);
    lt_corpus *c = NULL;
    CHECK_FAILS(lt_corpus_read_text(p, NULL, NULL, 0, &c), LT_ERR_IO, "none.txt");
    CHECK_FAILS(lt_corpus_from_text("", 0, "mem", NULL, NULL, 0, &c), LT_ERR_FORMAT, "mem: empty corpus");
    /* allowed: blank lines are empty documents */
    lt_corpus_options o;
    lt_corpus_options_default(&o);
    o.allow_empty = 1;
    const char *t = "cat dog\n\nbird\n";
    CHECK_OK(lt_corpus_from_text(t, strlen(t), "mem", &o, NULL, 0, &c));
    CHECK(c && c->n_docs == 3 && c->n_empty_docs == 1 && c->n_tokens == 3);
    lt_corpus_free(c);

    /* docword */
    docword_fails(dir, "", LT_ERR_FORMAT, "dw.txt:1: the file ends before the number of documents D");
    docword_fails(dir, "2\n3\n", LT_ERR_FORMAT, "dw.txt:3: the file ends before the number of entries NNZ");
    docword_fails(dir, "two\n3\n1\n1 1 1\n", LT_ERR_FORMAT,
                  "dw.txt:1: expected the number of documents D, found 'two'");
    docword_fails(dir, "2\n3 4\n1\n1 1 1\n", LT_ERR_FORMAT, "dw.txt:2: expected the vocabulary size W");
    docword_fails(dir, "0\n3\n0\n", LT_ERR_FORMAT, "dw.txt:1: empty corpus: D = 0");
    docword_fails(dir, "2\n0\n0\n", LT_ERR_FORMAT, "dw.txt:2: W = 0");
    docword_fails(dir, "2\n3\n7\n", LT_ERR_FORMAT, "dw.txt:3: NNZ = 7 is more than D x W = 6");
    docword_fails(dir, "2\n3\n2\n1 1 1\n2 4 1\n", LT_ERR_FORMAT, "dw.txt:5: word id 4 is out of range 1..3");
    docword_fails(dir, "2\n3\n2\n1 0 1\n2 1 1\n", LT_ERR_FORMAT, "dw.txt:4: word id 0 is out of range");
    docword_fails(dir, "2\n3\n2\n1 1 1\n3 1 1\n", LT_ERR_FORMAT, "dw.txt:5: document id 3 is out of range 1..2");
    docword_fails(dir, "3\n3\n3\n2 1 1\n1 1 1\n3 1 1\n", LT_ERR_FORMAT,
                  "dw.txt:5: document id 1 comes after 2 (ids must not decrease)");
    docword_fails(dir, "2\n3\n2\n1 1 0\n2 1 1\n", LT_ERR_FORMAT, "dw.txt:4: count 0");
    docword_fails(dir, "2\n3\n2\n1 1 1\n2 1 -1\n", LT_ERR_FORMAT, "dw.txt:5: expected 'docID wordID count'");
    docword_fails(dir, "2\n3\n2\n1 1 1\n2 1 x\n", LT_ERR_FORMAT, "found '2 1 x'");
    docword_fails(dir, "2\n3\n2\n1 1 1\n2 1 1.5\n", LT_ERR_FORMAT, "dw.txt:5: expected");
    docword_fails(dir, "2\n3\n2\n1 1 1\n2 1\n", LT_ERR_FORMAT, "dw.txt:5: expected");
    docword_fails(dir, "2\n3\n2\n1 1 1\n2 1 1 1\n", LT_ERR_FORMAT, "dw.txt:5: expected");
    docword_fails(dir, "2\n3\n2\n1 1 3000000000\n2 1 1\n", LT_ERR_FORMAT, "dw.txt:4: count 3000000000 is more");
    docword_fails(dir, "2\n3\n2\n1 1 99999999999999999999999\n", LT_ERR_FORMAT, "dw.txt:4: expected");
    docword_fails(dir, "2\n3\n3\n1 1 1\n2 1 1\n", LT_ERR_FORMAT,
                  "dw.txt:3: the header says NNZ = 3, but the file has 2 entries");
    docword_fails(dir, "2\n3\n1\n1 1 1\n2 1 1\n", LT_ERR_FORMAT, "dw.txt:5: more entries than NNZ = 1");
    docword_fails(dir, "2\n3000000000\n1\n1 1 1\n", LT_ERR_FORMAT, "dw.txt:2: W = 3000000000 words, more than");

    /* vocab files */
    char dw[4200], vp[4200];
    snprintf(dw, sizeof dw, "%s/good.txt", dir);
    snprintf(vp, sizeof vp, "%s/vocab.txt", dir);
    write_file(dw, "2\n3\n2\n1 1 1\n2 3 1\n");
    write_file(vp, "a\nb\n");
    CHECK_FAILS(lt_corpus_read_docword(dw, vp, &c), LT_ERR_FORMAT, "vocab.txt:3: the file ends after 2 words, but");
    write_file(vp, "a\nb\nc\nd\n");
    CHECK_FAILS(lt_corpus_read_docword(dw, vp, &c), LT_ERR_FORMAT, "vocab.txt:4: more than W = 3 words");
    write_file(vp, "a\nb\na\n");
    CHECK_FAILS(lt_corpus_read_docword(dw, vp, &c), LT_ERR_FORMAT, "vocab.txt:3: the word 'a' is already on line 1");
    write_file(vp, "a\n\nc\n");
    CHECK_FAILS(lt_corpus_read_docword(dw, vp, &c), LT_ERR_FORMAT, "vocab.txt:2: an empty word");
    snprintf(p, sizeof p, "%s/novocab.txt", dir);
    CHECK_FAILS(lt_corpus_read_docword(dw, p, &c), LT_ERR_IO, "novocab.txt");
    write_file(vp, "a\nb\nc");
    CHECK_OK(lt_corpus_read_docword(dw, vp, &c));
    CHECK(c && c->n_vocab == 3 && strcmp(c->vocab[2], "c") == 0);
    lt_corpus_free(c);
    c = NULL;

    /* damaged gzip: cut short, and a flipped byte */
    snprintf(p, sizeof p, "%s/dw.gz", dir);
    {
        char big[8192];
        size_t n = (size_t)snprintf(big, sizeof big, "300\n50\n300\n");
        for (int d = 1; d <= 300 && n < sizeof big - 32; d++)
            n += (size_t)snprintf(big + n, sizeof big - n, "%d %d %d\n", d, 1 + d % 50, 1 + d % 7);
        big[n] = '\0';
        write_gz(p, big);
        CHECK_OK(lt_corpus_read_docword(p, NULL, &c));
        lt_corpus_free(c);
        c = NULL;
        FILE *f = fopen(p, "rb");
        unsigned char z[8192];
        size_t zn = f ? fread(z, 1, sizeof z, f) : 0;
        if (f) fclose(f);
        f = fopen(p, "wb");
        fwrite(z, 1, zn / 2, f);
        fclose(f);
        CHECK_FAILS(lt_corpus_read_docword(p, NULL, &c), LT_ERR_FORMAT, "dw.gz: corrupt gzip data");
        z[zn / 2] ^= 0x55;
        z[zn / 2 + 1] ^= 0x55;
        f = fopen(p, "wb");
        fwrite(z, 1, zn, f);
        fclose(f);
        lt_status st = lt_corpus_read_docword(p, NULL, &c);
        CHECK_MSG(st == LT_ERR_FORMAT && strstr(lt_last_error(), "dw.gz"), "%d %s", (int)st, lt_last_error());
        CHECK(c == NULL);
    }
}

int main(void)
{
    RUN(test_tokenizer);
    RUN(test_random_text);
    RUN(test_long_document);
    RUN(test_stopwords);
    RUN(test_pruning);
    RUN(test_roundtrip);
    RUN(test_folder);
    RUN(test_remap);
    RUN(test_stream);
    RUN(test_bad_input);
    return lt_test_done();
}
