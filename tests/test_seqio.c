// LABELS: unit
/* Sequence input and output (latent/seqio.h): tokens, characters, UTF-8,
 * alphabets, vocabularies built and mapped through, lengths files,
 * sequence-id columns, writing; every error message; and a few thousand
 * deterministic mutations of a token file that must read or fail cleanly,
 * never crash (run under ASan/UBSan in CI). */
#include "harness.h"
#include "internal.h"
#include "latent/seqio.h"

#include <stdint.h>

static const char *dir;

static const char *put(const char *name, const char *text)
{
    return lt_test_write(dir, name, text, strlen(text));
}

static void slurp(const char *path, char *buf, size_t cap)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f) return;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* The symbols of the dataset as text: vocabulary strings joined by
 * `sep`, sequences separated by '|'. */
static const char *render(const lt_dataset *d, const char *sep)
{
    static char buf[4096];
    size_t o = 0, t = 0;
    buf[0] = '\0';
    for (size_t s = 0; s < d->n_seqs; s++) {
        if (s) o += (size_t)snprintf(buf + o, sizeof buf - o, "|");
        for (size_t i = 0; i < d->lengths[s]; i++, t++)
            o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s", i ? sep : "", d->vocab[d->symbols[t]]);
    }
    return buf;
}

/* The contract of a dataset of symbols. */
static int consistent(const lt_dataset *d)
{
    if (!d || !d->symbols || !d->lengths || d->n_seqs == 0 || !d->vocab || d->vocab_size == 0) return 0;
    size_t sum = 0;
    for (size_t s = 0; s < d->n_seqs; s++) {
        if (d->lengths[s] == 0) return 0;
        sum += d->lengths[s];
    }
    if (sum != d->n_steps) return 0;
    for (size_t t = 0; t < d->n_steps; t++)
        if (d->symbols[t] < 0 || (size_t)d->symbols[t] >= d->vocab_size) return 0;
    for (size_t v = 0; v < d->vocab_size; v++) {
        const unsigned char *s = (const unsigned char *)d->vocab[v];
        if (!s || !*s) return 0;
        /* valid UTF-8, no NUL inside (strlen) and no ASCII control except in characters */
        for (size_t i = 0; s[i];) {
            size_t k = s[i] < 0x80 ? 1 : s[i] >= 0xF0 ? 4 : s[i] >= 0xE0 ? 3 : s[i] >= 0xC2 ? 2 : 0;
            if (!k) return 0;
            for (size_t j = 1; j < k; j++)
                if ((s[i + j] & 0xC0) != 0x80) return 0;
            i += k;
        }
    }
    return 1;
}

static void test_tokens(void)
{
    const char *p = put("tok.txt", "the cat  sat\n\n   \n\tthe\tdog sat \r\nDog\n");
    lt_text_options o;
    lt_text_options_default(&o);
    lt_dataset *d = NULL;
    CHECK_OK(lt_seq_read_text(p, &o, NULL, 0, &d));
    CHECK(d && consistent(d));
    CHECK(d->n_seqs == 3 && d->n_steps == 7 && d->vocab_size == 5 && !d->chars);
    CHECK(strcmp(render(d, " "), "the cat sat|the dog sat|Dog") == 0);
    CHECK(strcmp(d->vocab[0], "the") == 0 && strcmp(d->vocab[1], "cat") == 0 && strcmp(d->vocab[4], "Dog") == 0);
    lt_dataset_free(d);
    /* sorted by bytes, lower-cased */
    o.sort_vocab = 1, o.lowercase = 1;
    CHECK_OK(lt_seq_read_text(p, &o, NULL, 0, &d));
    CHECK(d && consistent(d) && d->vocab_size == 4);
    CHECK(strcmp(d->vocab[0], "cat") == 0 && strcmp(d->vocab[1], "dog") == 0 && strcmp(d->vocab[2], "sat") == 0 &&
          strcmp(d->vocab[3], "the") == 0);
    CHECK(strcmp(render(d, " "), "the cat sat|the dog sat|dog") == 0);
    CHECK(d->symbols[0] == 3 && d->symbols[1] == 0);
    /* mapping through that vocabulary: ids and a copy of it */
    lt_dataset *m = NULL;
    lt_text_options_default(&o);
    o.lowercase = 1;
    const char *q = put("tok2.txt", "dog the\n");
    CHECK_OK(lt_seq_read_text(q, &o, (const char *const *)d->vocab, d->vocab_size, &m));
    CHECK(m && consistent(m) && m->vocab_size == 4 && m->vocab != d->vocab && m->n_seqs == 1);
    CHECK(m->symbols[0] == 1 && m->symbols[1] == 3);
    lt_dataset_free(m);
    /* an unknown symbol names file, line and token */
    const char *r = put("tok3.txt", "dog\n\nthe xyz cat\n");
    char want[4300];
    snprintf(want, sizeof want, "%s:3: symbol 'xyz' is not in the model's vocabulary", r);
    m = (lt_dataset *)1;
    CHECK_FAILS(lt_seq_read_text(r, &o, (const char *const *)d->vocab, d->vocab_size, &m), LT_ERR_FORMAT, want);
    CHECK(m == NULL);
    lt_dataset_free(d);
    /* from memory, with control bytes shown escaped in the message */
    const char *vocab[] = {"a", "b"};
    CHECK_FAILS(lt_seq_parse_text("mem", "a b\na \x01z\n", 10, NULL, vocab, 2, &m), LT_ERR_FORMAT,
                "mem:2: symbol '\\x01z' is not in the model's vocabulary");
    /* a long symbol is cut short */
    char longtok[300];
    memset(longtok, 'q', 299);
    longtok[299] = '\0';
    CHECK_FAILS(lt_seq_parse_text("mem", longtok, 299, NULL, vocab, 2, &m), LT_ERR_FORMAT, "qqq...' is not in");
    CHECK(strlen(lt_last_error()) < 200);
}

static void test_chars(void)
{
    lt_text_options o;
    lt_text_options_default(&o);
    o.chars = 1;
    lt_dataset *d = NULL;
    /* one sequence per line; CR before LF dropped; empty lines skipped */
    const char *p = put("ch.txt", "abba\r\n\ncab\n");
    CHECK_OK(lt_seq_read_text(p, &o, NULL, 0, &d));
    CHECK(d && consistent(d) && d->chars && d->n_seqs == 2 && d->n_steps == 7 && d->vocab_size == 3);
    CHECK(strcmp(render(d, ""), "abba|cab") == 0);
    lt_dataset_free(d);
    /* whole file: the line break is a character */
    o.whole_file = 1;
    CHECK_OK(lt_seq_read_text(p, &o, NULL, 0, &d));
    CHECK(d && consistent(d) && d->n_seqs == 1 && d->n_steps == 11 && d->vocab_size == 5);
    lt_dataset_free(d);
    /* alphabet, replacement, squeeze, lowercase: like tr -cs */
    lt_text_options_default(&o);
    o.chars = 1, o.whole_file = 1, o.lowercase = 1, o.squeeze = 1;
    o.alphabet = "abcdefghijklmnopqrstuvwxyz ";
    o.replace = " ";
    const char *text = "Hello, World!\n  Bye.";
    CHECK_OK(lt_seq_parse_text("m", text, strlen(text), &o, NULL, 0, &d));
    CHECK(d && consistent(d) && strcmp(render(d, ""), "hello world bye ") == 0);
    lt_dataset_free(d);
    o.squeeze = 0;
    CHECK_OK(lt_seq_parse_text("m", text, strlen(text), &o, NULL, 0, &d));
    CHECK(d && strcmp(render(d, ""), "hello  world    bye ") == 0);
    lt_dataset_free(d);
    /* dropping instead */
    o.replace = NULL;
    CHECK_OK(lt_seq_parse_text("m", text, strlen(text), &o, NULL, 0, &d));
    CHECK(d && strcmp(render(d, ""), "hello world  bye") == 0);
    lt_dataset_free(d);
    /* UTF-8: a code point is one symbol; bad bytes and NUL are U+FFFD */
    lt_text_options_default(&o);
    o.chars = 1;
    const char utf[] = "caf\xc3\xa9\n\xff\x00\xe2\x82\n\xf0\x9f\x98\x80x\n";
    CHECK_OK(lt_seq_parse_text("u", utf, sizeof utf - 1, &o, NULL, 0, &d));
    CHECK(d && consistent(d) && d->n_seqs == 3);
    CHECK(d->lengths[0] == 4 && strcmp(d->vocab[d->symbols[3]], "\xc3\xa9") == 0);
    CHECK(d->lengths[1] == 4); /* FF, NUL, E2, 82: four bad bytes */
    CHECK(strcmp(d->vocab[d->symbols[4]], "\xef\xbf\xbd") == 0 && d->symbols[4] == d->symbols[7]);
    CHECK(d->lengths[2] == 2 && strcmp(d->vocab[d->symbols[8]], "\xf0\x9f\x98\x80") == 0);
    lt_dataset_free(d);
    /* overlong, surrogate and out-of-range forms are refused byte by byte */
    const char bad[] = "\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80";
    CHECK_OK(lt_seq_parse_text("b", bad, sizeof bad - 1, &o, NULL, 0, &d));
    CHECK(d && consistent(d) && d->n_steps == 9 && d->vocab_size == 1);
    lt_dataset_free(d);
    /* tokens with bad bytes get U+FFFD in their place */
    lt_text_options_default(&o);
    CHECK_OK(lt_seq_parse_text("t",
                               "ab\xff"
                               "c d",
                               6, &o, NULL, 0, &d));
    CHECK(d && consistent(d) &&
          strcmp(d->vocab[0], "ab\xef\xbf\xbd"
                              "c") == 0);
    lt_dataset_free(d);
    /* a non-ASCII alphabet and replacement */
    lt_text_options_default(&o);
    o.chars = 1,
    o.alphabet = "\xc3\xa9"
                 "a",
    o.replace = "\xc2\xb7";
    CHECK_OK(lt_seq_parse_text("a", "a\xc3\xa9z", 4, &o, NULL, 0, &d));
    CHECK(d && consistent(d) && strcmp(render(d, ""), "a\xc3\xa9\xc2\xb7") == 0);
    lt_dataset_free(d);
    /* mapping characters: the unknown one is named with its line */
    const char *vocab[] = {"a", "b", "\n"};
    lt_text_options_default(&o);
    o.chars = 1, o.whole_file = 1;
    CHECK_FAILS(lt_seq_parse_text("w.txt", "ab\nba\nbc\n", 9, &o, vocab, 3, &d), LT_ERR_FORMAT,
                "w.txt:3: symbol 'c' is not in the model's vocabulary");
    o.whole_file = 0;
    CHECK_FAILS(lt_seq_parse_text("w.txt", "ab\n\tb\n", 6, &o, vocab, 3, &d), LT_ERR_FORMAT,
                "w.txt:2: symbol '\\t' is not in");
}

static void test_text_errors(void)
{
    lt_text_options o;
    lt_text_options_default(&o);
    lt_dataset *d = (lt_dataset *)1;
    char want[4300];
    const char *e = put("empty.txt", "");
    snprintf(want, sizeof want, "%s: no sequences (the text is empty or every line is blank)", e);
    CHECK_FAILS(lt_seq_read_text(e, &o, NULL, 0, &d), LT_ERR_FORMAT, want);
    CHECK(d == NULL);
    const char *b = put("blank.txt", "\n  \n\t\r\n");
    snprintf(want, sizeof want, "%s: no sequences", b);
    CHECK_FAILS(lt_seq_read_text(b, &o, NULL, 0, &d), LT_ERR_FORMAT, want);
    o.chars = 1;
    CHECK_FAILS(lt_seq_parse_text("x", "\n\n", 2, &o, NULL, 0, &d), LT_ERR_FORMAT, "x: no sequences");
    o.alphabet = "ab";
    CHECK_FAILS(lt_seq_parse_text("x", "xyz\n", 4, &o, NULL, 0, &d), LT_ERR_FORMAT,
                "x: no sequences (the text is empty, or nothing in it is in the alphabet)");
    snprintf(want, sizeof want, "%s/missing.txt: cannot open", dir);
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/missing.txt", dir);
    CHECK_FAILS(lt_seq_read_text(missing, &o, NULL, 0, &d), LT_ERR_IO, want);
    /* bad options */
    o.alphabet = "";
    CHECK_FAILS(lt_seq_parse_text("x", "a", 1, &o, NULL, 0, &d), LT_ERR_INVALID, "alphabet: empty");
    o.alphabet = "ab\xff";
    CHECK_FAILS(lt_text_options_check(&o), LT_ERR_INVALID, "alphabet: byte 3 is not valid UTF-8");
    o.alphabet = "ab", o.replace = "";
    CHECK_FAILS(lt_text_options_check(&o), LT_ERR_INVALID, "replacement: empty");
    o.replace = "xy";
    CHECK_FAILS(lt_text_options_check(&o), LT_ERR_INVALID, "replacement 'xy' is not one character");
    o.replace = "\xc3";
    CHECK_FAILS(lt_text_options_check(&o), LT_ERR_INVALID, "is not one character");
    o.replace = "\xc3\xa9";
    CHECK_OK(lt_text_options_check(&o));
    CHECK_FAILS(lt_seq_parse_text("x", NULL, 3, &o, NULL, 0, &d), LT_ERR_INVALID, "no buffer");
    const char *vocab[] = {"a", NULL};
    CHECK_FAILS(lt_seq_parse_text("x", "a", 1, NULL, vocab, 2, &d), LT_ERR_INVALID, "vocabulary entry 1 is NULL");
    CHECK(d == NULL);
}

static void test_lengths(void)
{
    size_t *l = NULL, n = 0;
    const char *p = put("len.txt", "3\n\n 2 \r\n1\n");
    CHECK_OK(lt_seq_read_lengths(p, &l, &n));
    CHECK(n == 3 && l && l[0] == 3 && l[1] == 2 && l[2] == 1);
    lt_array *x;
    CHECK_OK(lt_array_create(6, 2, LT_F64, &x));
    lt_dataset *d;
    CHECK_OK(lt_dataset_from_array(x, &d));
    CHECK_OK(lt_seq_set_lengths(d, l, n, p));
    CHECK(d->n_seqs == 3 && d->lengths[2] == 1 && lt_dataset_samples(d) == 3);
    CHECK_FAILS(lt_seq_set_lengths(d, l, n, "L"), LT_ERR_INVALID, "L: the data are already cut into sequences");
    free(d->lengths);
    d->lengths = NULL, d->n_seqs = 0;
    size_t two[2] = {3, 2};
    CHECK_FAILS(lt_seq_set_lengths(d, two, 2, "L"), LT_ERR_DIM, "L: lengths add up to 5 but the data has 6 rows");
    size_t zero[2] = {6, 0};
    CHECK_FAILS(lt_seq_set_lengths(d, zero, 2, "L"), LT_ERR_INVALID, "L: length 2 is 0");
    CHECK_FAILS(lt_seq_set_lengths(d, two, 0, "L"), LT_ERR_INVALID, "L: no lengths");
    size_t huge[2] = {SIZE_MAX, 2};
    CHECK_FAILS(lt_seq_set_lengths(d, huge, 2, "L"), LT_ERR_DIM, "more than fits");
    lt_dataset_free(d);
    free(l);
    /* symbols say steps */
    lt_dataset *s = NULL;
    CHECK_OK(lt_seq_parse_text("s", "a b c", 5, NULL, NULL, 0, &s));
    free(s->lengths);
    s->lengths = NULL, s->n_seqs = 0;
    CHECK_FAILS(lt_seq_set_lengths(s, two, 2, "L"), LT_ERR_DIM, "but the data has 3 steps");
    lt_dataset_free(s);
    /* file errors */
    char want[4300];
    const char *bad[][2] = {
        {"l1.txt", "3\nabc\n"}, {"l2.txt", "0\n"}, {"l3.txt", "-2\n"}, {"l4.txt", "2.5\n"}, {"l5.txt", "4 5\n"}};
    const char *found[] = {"abc", "0", "-2", "2.5", "4 5"};
    int line[] = {2, 1, 1, 1, 1};
    for (int i = 0; i < 5; i++) {
        const char *q = put(bad[i][0], bad[i][1]);
        snprintf(want, sizeof want, "%s:%d: expected a positive integer, found '%s'", q, line[i], found[i]);
        l = (size_t *)1;
        CHECK_FAILS(lt_seq_read_lengths(q, &l, &n), LT_ERR_FORMAT, want);
        CHECK(l == NULL && n == 0);
    }
    const char *q = put("l6.txt", "\n \n");
    snprintf(want, sizeof want, "%s: no lengths (the file is empty)", q);
    CHECK_FAILS(lt_seq_read_lengths(q, &l, &n), LT_ERR_FORMAT, want);
    q = put("l7.txt", "99999999999999999999999\n");
    CHECK_FAILS(lt_seq_read_lengths(q, &l, &n), LT_ERR_FORMAT, "expected a positive integer");
    q = put("l8.txt", "18446744073709551615\n2\n");
    CHECK_FAILS(lt_seq_read_lengths(q, &l, &n), LT_ERR_FORMAT, ":2: the lengths add up to more than");
    CHECK_FAILS(lt_seq_read_lengths("/nonexistent/len.txt", &l, &n), LT_ERR_IO, "/nonexistent/len.txt: cannot open");
}

static void test_column(void)
{
    const char *p = put("rows.csv", "id,a,b\n7,1,2\n7,3,4\n2,5,6\n7,7,8\n7,9,10\n");
    lt_seq_read_options o;
    lt_seq_read_options_default(&o);
    lt_dataset *d = NULL;
    o.seq_column = "1";
    CHECK_OK(lt_seq_read(p, &o, &d));
    CHECK(d && d->x && d->x->cols == 2 && d->x->rows == 5 && d->n_seqs == 3);
    CHECK(d->lengths[0] == 2 && d->lengths[1] == 1 && d->lengths[2] == 2);
    CHECK(lt_array_get(d->x, 0, 0) == 1 && lt_array_get(d->x, 4, 1) == 10);
    lt_dataset_free(d);
    o.seq_column = "b"; /* by header name; the last column */
    CHECK_OK(lt_seq_read(p, &o, &d));
    CHECK(d && d->x->cols == 2 && d->n_seqs == 5 && lt_array_get(d->x, 2, 0) == 2 && lt_array_get(d->x, 2, 1) == 5);
    lt_dataset_free(d);
    /* neither: one sequence */
    o.seq_column = NULL;
    CHECK_OK(lt_seq_read(p, &o, &d));
    CHECK(d && d->n_seqs == 1 && d->lengths[0] == 5 && d->x->cols == 3);
    lt_dataset_free(d);
    /* lengths */
    o.lengths = put("rl.txt", "4\n1\n");
    CHECK_OK(lt_seq_read(p, &o, &d));
    CHECK(d && d->n_seqs == 2 && d->lengths[0] == 4);
    lt_dataset_free(d);
    char want[4300];
    o.lengths = put("rl2.txt", "4\n2\n");
    snprintf(want, sizeof want, "%s: lengths add up to 6 but the data has 5 rows", o.lengths);
    CHECK_FAILS(lt_seq_read(p, &o, &d), LT_ERR_DIM, want);
    o.seq_column = "1";
    CHECK_FAILS(lt_seq_read(p, &o, &d), LT_ERR_INVALID, "--lengths and --seq-column cannot be used together");
    o.lengths = NULL;
    /* column errors */
    o.seq_column = "4";
    snprintf(want, sizeof want, "%s: --seq-column 4: the data has 3 columns", p);
    CHECK_FAILS(lt_seq_read(p, &o, &d), LT_ERR_DIM, want);
    o.seq_column = "0";
    CHECK_FAILS(lt_seq_read(p, &o, &d), LT_ERR_INVALID,
                "--seq-column: expected a column number from 1 or a header name, found '0'");
    o.seq_column = "2x";
    CHECK_FAILS(lt_seq_read(p, &o, &d), LT_ERR_INVALID, "found '2x'");
    o.seq_column = "nope";
    snprintf(want, sizeof want, "%s: no column named 'nope' (--seq-column)", p);
    CHECK_FAILS(lt_seq_read(p, &o, &d), LT_ERR_FORMAT, want);
    const char *nh = put("nohdr.csv", "1,2\n1,3\n");
    snprintf(want, sizeof want, "%s: no header line to find the column 'id' (--seq-column) in", nh);
    o.seq_column = "id";
    CHECK_FAILS(lt_seq_read(nh, &o, &d), LT_ERR_FORMAT, want);
    const char *one = put("one.csv", "1\n1\n2\n");
    o.seq_column = "1";
    snprintf(want, sizeof want, "%s: --seq-column 1 is the only column; no features would be left", one);
    CHECK_FAILS(lt_seq_read(one, &o, &d), LT_ERR_DIM, want);
    /* directly: text has no column, and a cut dataset cannot be cut again */
    lt_dataset *s = NULL;
    CHECK_OK(lt_seq_parse_text("s", "a b", 3, NULL, NULL, 0, &s));
    CHECK_FAILS(lt_seq_split_by_column(s, 0, "s"), LT_ERR_INVALID, "s: a sequence-id column needs numeric rows");
    lt_dataset_free(s);
    o.seq_column = NULL;
    CHECK_OK(lt_seq_read(p, &o, &d));
    CHECK_FAILS(lt_seq_split_by_column(d, 0, "r"), LT_ERR_INVALID, "r: the data are already cut into sequences");
    lt_dataset_free(d);
    /* text with row options */
    const char *t = put("t.txt", "a b\n");
    o.lengths = "whatever.txt";
    snprintf(want, sizeof want, "%s: --lengths applies to rows (CSV, NPY), not to text", t);
    CHECK_FAILS(lt_seq_read(t, &o, &d), LT_ERR_INVALID, want);
    o.lengths = NULL, o.seq_column = "1";
    CHECK_FAILS(lt_seq_read(t, &o, &d), LT_ERR_INVALID, "--seq-column applies to rows");
    o.seq_column = NULL;
    CHECK_OK(lt_seq_read(t, &o, &d)); /* .txt: tokens */
    CHECK(d && d->symbols && d->n_steps == 2);
    lt_dataset_free(d);
    o.input = LT_SEQ_TEXT, o.text.chars = 1;
    CHECK_OK(lt_seq_read(t, &o, &d));
    CHECK(d && d->symbols && d->n_steps == 3 && d->chars);
    lt_dataset_free(d);
    /* an empty NPY has no rows */
    lt_array *z;
    CHECK_OK(lt_array_create(0, 2, LT_F64, &z));
    char zp[4200];
    snprintf(zp, sizeof zp, "%s/zero.npy", dir);
    CHECK_OK(lt_npy_write(zp, z));
    lt_array_free(z);
    lt_seq_read_options_default(&o);
    snprintf(want, sizeof want, "%s: no rows", zp);
    CHECK_FAILS(lt_seq_read(zp, &o, &d), LT_ERR_FORMAT, want);
    CHECK(d == NULL);
}

static void test_write(void)
{
    char path[4200], buf[4096];
    lt_dataset *d = NULL;
    CHECK_OK(lt_seq_parse_text("w", "x yy x\nzz\n", 10, NULL, NULL, 0, &d));
    snprintf(path, sizeof path, "%s/w.txt", dir);
    CHECK_OK(lt_seq_write(path, d));
    slurp(path, buf, sizeof buf);
    CHECK(strcmp(buf, "x yy x\nzz\n") == 0);
    snprintf(path, sizeof path, "%s/w.csv", dir);
    CHECK_OK(lt_seq_write(path, d));
    slurp(path, buf, sizeof buf);
    CHECK(strcmp(buf, "sequence,symbol\n0,0\n0,1\n0,0\n1,2\n") == 0);
    /* the CSV reads back with its sequence column */
    lt_seq_read_options o;
    lt_seq_read_options_default(&o);
    o.seq_column = "sequence";
    lt_dataset *back = NULL;
    CHECK_OK(lt_seq_read(path, &o, &back));
    CHECK(back && back->n_seqs == 2 && back->lengths[0] == 3 && back->x->cols == 1);
    lt_dataset_free(back);
    d->chars = 1;
    snprintf(path, sizeof path, "%s/wc.txt", dir);
    CHECK_OK(lt_seq_write(path, d));
    slurp(path, buf, sizeof buf);
    CHECK(strcmp(buf, "xyyx\nzz\n") == 0);
    snprintf(path, sizeof path, "%s/w.dat", dir);
    CHECK_FAILS(lt_seq_write(path, d), LT_ERR_INVALID, "expected .txt, .csv or .npy");
    d->symbols[1] = 7;
    snprintf(path, sizeof path, "%s/wbad.txt", dir);
    CHECK_FAILS(lt_seq_write(path, d), LT_ERR_INVALID, "symbol id 7 at step 2 is outside the vocabulary");
    CHECK(!lt_test_exists(path));
    lt_dataset_free(d);
    /* rows */
    lt_array *x;
    CHECK_OK(lt_array_create(3, 2, LT_F64, &x));
    double *v = x->data;
    for (int i = 0; i < 6; i++)
        v[i] = i + 0.5;
    CHECK_OK(lt_dataset_from_array(x, &d));
    size_t l[2] = {1, 2};
    CHECK_OK(lt_seq_set_lengths(d, l, 2, "l"));
    snprintf(path, sizeof path, "%s/r.csv", dir);
    CHECK_OK(lt_seq_write(path, d));
    slurp(path, buf, sizeof buf);
    CHECK(strcmp(buf, "sequence,x_0,x_1\n0,0.5,1.5\n1,2.5,3.5\n1,4.5,5.5\n") == 0);
    snprintf(path, sizeof path, "%s/r.npy", dir);
    CHECK_OK(lt_seq_write(path, d));
    lt_array *r = NULL;
    CHECK_OK(lt_npy_read(path, &r));
    CHECK(r && r->rows == 3 && r->cols == 2 && lt_array_get(r, 2, 1) == 5.5);
    lt_array_free(r);
    snprintf(path, sizeof path, "%s/r.txt", dir);
    CHECK_FAILS(lt_seq_write(path, d), LT_ERR_INVALID, "these are rows of numbers; write them as .csv or .npy");
    CHECK(!lt_test_exists(path));
    d->lengths[1] = 5;
    snprintf(path, sizeof path, "%s/r2.csv", dir);
    CHECK_FAILS(lt_seq_write(path, d), LT_ERR_DIM, "the lengths add up to 6 but the data has 3 steps");
    lt_dataset_free(d);
}

/* ------------------------------------------------------------ mutations */

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

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

#define MAXLEN 2048

static size_t mutate(unsigned char *b, size_t n)
{
    static const unsigned char special[] = {0,    0xff, 0x80, 0xc3, 0xa9, 0xe2, 0xf0, 0x9f, ' ',  '\n', '\r',
                                            '\t', '\v', 'A',  'z',  '.',  '0',  0xed, 0xc0, 0xf4, 1,    0x7f};
    int edits = 1 + (int)below(8);
    for (int k = 0; k < edits; k++) {
        size_t at = below(n + 1);
        switch (below(6)) {
        case 0:
            if (at < n) b[at] ^= (unsigned char)(1u << below(8));
            break;
        case 1:
            if (at < n) b[at] = special[below(sizeof special)];
            break;
        case 2:
            if (at < n) b[at] = (unsigned char)next();
            break;
        case 3:
            if (n < MAXLEN) {
                memmove(b + at + 1, b + at, n - at);
                b[at] = special[below(sizeof special)];
                n++;
            }
            break;
        case 4: {
            size_t len = 1 + below(12);
            if (at + len <= n) {
                memmove(b + at, b + at + len, n - at - len);
                n -= len;
            }
            break;
        }
        default: n = below(n + 1); break;
        }
    }
    return n;
}

/* Read or fail cleanly: a consistent dataset, or NULL with a message. */
static int contract(lt_status s, lt_dataset *d)
{
    if (s == LT_OK) {
        int ok = consistent(d);
        lt_dataset_free(d);
        return ok;
    }
    int ok = d == NULL && lt_last_error()[0] != '\0';
    if (!ok) fprintf(stderr, "status %d, message \"%s\"\n", (int)s, lt_last_error());
    return ok;
}

static void test_mutations(void)
{
    const char *seed = "the quick brown fox\njumps over the lazy dog\n\n  caf\xc3\xa9 na\xc3\xafve \xe2\x82\xac 42\r\n"
                       "the dog sleeps\tand the fox runs\n";
    char path[4200];
    snprintf(path, sizeof path, "%s/fuzz.txt", dir);
    static unsigned char buf[MAXLEN];
    size_t n0 = strlen(seed);
    lt_text_options tok, chars, alpha;
    lt_text_options_default(&tok);
    lt_text_options_default(&chars);
    lt_text_options_default(&alpha);
    chars.chars = 1, chars.sort_vocab = 1;
    alpha.chars = 1, alpha.whole_file = 1, alpha.lowercase = 1, alpha.squeeze = 1;
    alpha.alphabet = "abcdefghijklmnopqrstuvwxyz \xc3\xa9", alpha.replace = " ";
    /* vocabularies of the seed itself, to map the mutations through */
    lt_dataset *vt = NULL, *vc = NULL;
    lt_text_options drop = alpha;
    drop.replace = NULL;
    CHECK_OK(lt_seq_parse_text("seed", seed, n0, &tok, NULL, 0, &vt));
    CHECK_OK(lt_seq_parse_text("seed", seed, n0, &drop, NULL, 0, &vc));
    if (!vt || !vc) return;
    int bad = 0, read[5] = {0};
    for (int i = 0; i < 3000; i++) {
        memcpy(buf, seed, n0);
        size_t n = mutate(buf, n0);
        lt_test_write(dir, "fuzz.txt", (const char *)buf, n);
        lt_dataset *d = (lt_dataset *)1;
        lt_clear_error();
        lt_status s;
        switch (i % 5) {
        case 0: s = lt_seq_read_text(path, &tok, NULL, 0, &d); break;
        case 1: s = lt_seq_read_text(path, &chars, NULL, 0, &d); break;
        case 2: s = lt_seq_read_text(path, &alpha, NULL, 0, &d); break;
        case 3: s = lt_seq_read_text(path, &tok, (const char *const *)vt->vocab, vt->vocab_size, &d); break;
        default: s = lt_seq_read_text(path, &drop, (const char *const *)vc->vocab, vc->vocab_size, &d); break;
        }
        read[i % 5] += s == LT_OK;
        bad += !contract(s, d);
        /* the same bytes as a lengths file */
        size_t *l = (size_t *)1, nl = 7;
        s = lt_seq_read_lengths(path, &l, &nl);
        if (s == LT_OK) {
            for (size_t j = 0; j < nl; j++)
                bad += l[j] == 0;
            free(l);
        } else {
            bad += l != NULL || nl != 0 || lt_last_error()[0] == '\0';
        }
    }
    CHECK_MSG(bad == 0, "%d mutations broke the reader contract", bad);
    /* the mutations exercise both outcomes in every mode */
    for (int k = 0; k < 5; k++)
        CHECK_MSG(read[k] > 20 && read[k] < 600, "mode %d: %d of 600 read", k, read[k]);
    lt_dataset_free(vt);
    lt_dataset_free(vc);
    /* and mutated lengths files against rows */
    const char *lseed = "3\n2\n\n10\n";
    int badl = 0, okl = 0;
    char lpath[4200];
    snprintf(lpath, sizeof lpath, "%s/fl.txt", dir);
    for (int i = 0; i < 1000; i++) {
        memcpy(buf, lseed, strlen(lseed));
        size_t n = mutate(buf, strlen(lseed));
        lt_test_write(dir, "fl.txt", (const char *)buf, n);
        size_t *l = NULL, nl = 0;
        if (lt_seq_read_lengths(lpath, &l, &nl) == LT_OK) {
            lt_array *x;
            lt_dataset *d;
            if (lt_array_create(15, 1, LT_F64, &x) == LT_OK && lt_dataset_from_array(x, &d) == LT_OK) {
                lt_status s = lt_seq_set_lengths(d, l, nl, "fl.txt");
                badl += s != LT_OK && lt_last_error()[0] == '\0';
                okl += s == LT_OK;
                lt_dataset_free(d);
            }
            free(l);
        }
    }
    CHECK(badl == 0);
    CHECK(okl > 0); /* some mutations still add up to 15 */
}

int main(void)
{
    dir = lt_test_tmpdir("seqio");
    RUN(test_tokens);
    RUN(test_chars);
    RUN(test_text_errors);
    RUN(test_lengths);
    RUN(test_column);
    RUN(test_write);
    RUN(test_mutations);
    return lt_test_done();
}
