/* Sequence input and output: token and character text mapped through a
 * vocabulary, lengths files, sequence-id columns (see latent/seqio.h for
 * the rules).
 *
 * Text is parsed in one pass over a buffer holding the whole file. Symbols
 * are looked up in an open-addressing hash table of the vocabulary (FNV-1a,
 * linear probing, kept at most half full); characters below 128 go through
 * a 128-entry cache first, so ASCII text costs one table load per
 * character. UTF-8 is decoded strictly (no overlong forms, no surrogates,
 * nothing above U+10FFFF); each byte that does not belong to a valid
 * sequence stands for U+FFFD, so the decoder always advances and every
 * symbol it produces is valid UTF-8.
 */
#include "internal.h"
#include "latent/io.h"
#include "latent/seqio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define REPLACEMENT_CP 0xFFFDu

/* ------------------------------------------------------------ UTF-8 */

/* Decode one character at p (n > 0 bytes left); returns the bytes used
 * (>= 1) and the code point, U+FFFD for a byte that starts no valid
 * sequence and for NUL. */
static size_t utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
{
    unsigned c = p[0];
    if (c < 0x80) {
        *cp = c ? c : REPLACEMENT_CP;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, v = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, v = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, v = c & 0x07, min = 0x10000;
    else {
        *cp = REPLACEMENT_CP;
        return 1;
    }
    if (n < len) {
        *cp = REPLACEMENT_CP;
        return 1;
    }
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            *cp = REPLACEMENT_CP;
            return 1;
        }
        v = (v << 6) | (p[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        *cp = REPLACEMENT_CP;
        return 1;
    }
    *cp = v;
    return len;
}

static size_t utf8_put(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A symbol for a message: quoted by the caller, control bytes escaped,
 * cut at a character boundary after about 60 bytes. */
static void show_symbol(const char *s, size_t len, char *buf, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 8 < cap;) {
        unsigned char c = (unsigned char)s[i];
        if (o >= 60) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (c < 0x20 || c == 0x7F) {
            const char *esc = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : NULL;
            if (esc)
                o += (size_t)snprintf(buf + o, cap - o, "%s", esc);
            else
                o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
            i++;
            continue;
        }
        uint32_t cp;
        size_t k = utf8_next((const unsigned char *)s + i, len - i, &cp);
        memcpy(buf + o, s + i, k);
        o += k, i += k;
    }
    buf[o] = '\0';
}

/* ------------------------------------------------------------ vocabulary */

typedef struct vocab {
    char **words; /* owned unless `borrowed` */
    size_t n, cap;
    int32_t *slots; /* ids, -1 empty; nslots a power of two */
    size_t nslots;
    int borrowed;
} vocab;

static uint64_t fnv1a(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static void vocab_free(vocab *v)
{
    if (!v->borrowed)
        for (size_t i = 0; i < v->n; i++)
            free(v->words[i]);
    free(v->words);
    free(v->slots);
    memset(v, 0, sizeof *v);
}

static lt_status vocab_rehash(vocab *v, size_t nslots)
{
    int32_t *s = lt_malloc(nslots, sizeof *s);
    if (!s) return LT_ERR_NOMEM;
    for (size_t i = 0; i < nslots; i++)
        s[i] = -1;
    for (size_t id = 0; id < v->n; id++) {
        size_t h = (size_t)fnv1a(v->words[id], strlen(v->words[id])) & (nslots - 1);
        while (s[h] >= 0)
            h = (h + 1) & (nslots - 1);
        s[h] = (int32_t)id;
    }
    free(v->slots);
    v->slots = s;
    v->nslots = nslots;
    return LT_OK;
}

/* The id of s[0..len), or -1. */
static int32_t vocab_find(const vocab *v, const char *s, size_t len)
{
    if (!v->nslots) return -1;
    size_t h = (size_t)fnv1a(s, len) & (v->nslots - 1);
    for (;;) {
        int32_t id = v->slots[h];
        if (id < 0) return -1;
        const char *w = v->words[id];
        if (strncmp(w, s, len) == 0 && w[len] == '\0') return id;
        h = (h + 1) & (v->nslots - 1);
    }
}

/* Add s[0..len) (not present) and return its id in *id. */
static lt_status vocab_add(vocab *v, const char *s, size_t len, int32_t *id)
{
    if (v->n >= (size_t)INT32_MAX - 1) return lt_fail(LT_ERR_INVALID, "more than %d distinct symbols", INT32_MAX - 1);
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 64;
        char **w = realloc(v->words, cap * sizeof *w);
        if (!w) return lt_fail(LT_ERR_NOMEM, "out of memory growing the vocabulary");
        v->words = w, v->cap = cap;
    }
    char *copy = lt_malloc(len + 1, 1);
    if (!copy) return LT_ERR_NOMEM;
    memcpy(copy, s, len);
    copy[len] = '\0';
    v->words[v->n++] = copy;
    if (2 * v->n > v->nslots) {
        lt_status st = vocab_rehash(v, v->nslots ? 2 * v->nslots : 256);
        if (st != LT_OK) return st;
    } else {
        size_t h = (size_t)fnv1a(s, len) & (v->nslots - 1);
        while (v->slots[h] >= 0)
            h = (h + 1) & (v->nslots - 1);
        v->slots[h] = (int32_t)(v->n - 1);
    }
    *id = (int32_t)(v->n - 1);
    return LT_OK;
}

/* A table over a vocabulary given by the caller: ids are positions in the
 * caller's list, whose strings are borrowed; of repeated entries the first
 * one is found. */
static lt_status vocab_borrow(vocab *v, const char *const *words, size_t n)
{
    memset(v, 0, sizeof *v);
    v->borrowed = 1;
    if (n >= (size_t)INT32_MAX) return lt_fail(LT_ERR_INVALID, "a vocabulary of %zu symbols is too large", n);
    size_t nslots = 256;
    while (nslots < 2 * n)
        nslots *= 2;
    v->words = lt_malloc(n ? n : 1, sizeof *v->words);
    v->slots = lt_malloc(nslots, sizeof *v->slots);
    if (!v->words || !v->slots) return LT_ERR_NOMEM;
    v->nslots = nslots;
    for (size_t i = 0; i < nslots; i++)
        v->slots[i] = -1;
    for (size_t i = 0; i < n; i++) {
        if (!words[i]) return lt_fail(LT_ERR_INVALID, "vocabulary entry %zu is NULL", i);
        v->words[i] = (char *)words[i];
        v->n = i + 1;
        size_t len = strlen(words[i]);
        if (vocab_find(v, words[i], len) >= 0) continue;
        size_t h = (size_t)fnv1a(words[i], len) & (nslots - 1);
        while (v->slots[h] >= 0)
            h = (h + 1) & (nslots - 1);
        v->slots[h] = (int32_t)i;
    }
    return LT_OK;
}

/* ------------------------------------------------------------ building */

typedef struct builder {
    int32_t *sym;
    size_t n, cap;
    size_t *len;
    size_t nseq, seqcap;
    size_t cur; /* steps in the open sequence */
} builder;

static lt_status push_symbol(builder *b, int32_t id)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 4096;
        int32_t *s = realloc(b->sym, cap * sizeof *s);
        if (!s) return lt_fail(LT_ERR_NOMEM, "out of memory reading sequences");
        b->sym = s, b->cap = cap;
    }
    b->sym[b->n++] = id;
    b->cur++;
    return LT_OK;
}

static lt_status end_sequence(builder *b)
{
    if (b->cur == 0) return LT_OK; /* blank lines make no sequence */
    if (b->nseq == b->seqcap) {
        size_t cap = b->seqcap ? 2 * b->seqcap : 256;
        size_t *l = realloc(b->len, cap * sizeof *l);
        if (!l) return lt_fail(LT_ERR_NOMEM, "out of memory reading sequences");
        b->len = l, b->seqcap = cap;
    }
    b->len[b->nseq++] = b->cur;
    b->cur = 0;
    return LT_OK;
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

typedef struct parser {
    const char *name;
    const lt_text_options *o;
    vocab v;
    int mapping; /* map through a given vocabulary: unknown symbols are errors */
    builder b;
    char *scratch;
    size_t scratch_cap;
} parser;

/* The id of symbol s[0..len) found on line `line`: looked up, or added
 * when building the vocabulary. */
static lt_status symbol_id(parser *p, const char *s, size_t len, size_t line, int32_t *id)
{
    *id = vocab_find(&p->v, s, len);
    if (*id >= 0) return LT_OK;
    if (p->mapping) {
        char shown[96];
        show_symbol(s, len, shown, sizeof shown);
        return lt_fail(LT_ERR_FORMAT, "%s:%zu: symbol '%s' is not in the model's vocabulary", p->name, line, shown);
    }
    return vocab_add(&p->v, s, len, id);
}

static lt_status scratch_reserve(parser *p, size_t need)
{
    if (need <= p->scratch_cap) return LT_OK;
    size_t cap = p->scratch_cap ? p->scratch_cap : 256;
    while (cap < need)
        cap *= 2;
    char *s = realloc(p->scratch, cap);
    if (!s) return lt_fail(LT_ERR_NOMEM, "out of memory reading a token");
    p->scratch = s, p->scratch_cap = cap;
    return LT_OK;
}

/* One token [s, e): ASCII goes through as it is; anything else is decoded
 * and re-encoded so bad bytes become U+FFFD. */
static lt_status token(parser *p, const unsigned char *s, const unsigned char *e, size_t line)
{
    size_t n = (size_t)(e - s);
    int plain = 1;
    for (size_t i = 0; i < n && plain; i++)
        plain = s[i] != 0 && s[i] < 0x80 && !(p->o->lowercase && (unsigned)(s[i] - 'A') < 26u);
    const char *tok = (const char *)s;
    size_t len = n;
    if (!plain) {
        LT_CHECK(scratch_reserve(p, 3 * n + 1));
        len = 0;
        for (size_t i = 0; i < n;) {
            uint32_t cp;
            i += utf8_next(s + i, n - i, &cp);
            if (p->o->lowercase && cp - 'A' < 26u) cp += 32;
            len += utf8_put(cp, p->scratch + len);
        }
        tok = p->scratch;
    }
    int32_t id;
    LT_CHECK(symbol_id(p, tok, len, line, &id));
    return push_symbol(&p->b, id);
}

static lt_status parse_tokens(parser *p, const unsigned char *buf, size_t len)
{
    const unsigned char *s = buf, *end = buf + len;
    size_t line = 1;
    while (s < end) {
        const unsigned char *le = memchr(s, '\n', (size_t)(end - s));
        if (!le) le = end;
        while (s < le) {
            while (s < le && is_space(*s))
                s++;
            const unsigned char *t = s;
            while (s < le && !is_space(*s))
                s++;
            if (s > t) LT_CHECK(token(p, t, s, line));
        }
        LT_CHECK(end_sequence(&p->b));
        s = le + 1;
        line++;
    }
    return LT_OK;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The alphabet as a sorted list of code points (n > 0), or an error. */
static lt_status decode_alphabet(const char *a, uint32_t **out, size_t *n)
{
    size_t len = strlen(a), k = 0;
    if (len == 0) return lt_fail(LT_ERR_INVALID, "alphabet: empty (give the characters to keep)");
    uint32_t *cps = lt_malloc(len, sizeof *cps);
    if (!cps) return LT_ERR_NOMEM;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t used = utf8_next((const unsigned char *)a + i, len - i, &cp);
        if (cp == REPLACEMENT_CP && used == 1 && (unsigned char)a[i] >= 0x80) {
            free(cps);
            return lt_fail(LT_ERR_INVALID, "alphabet: byte %zu is not valid UTF-8", i + 1);
        }
        cps[k++] = cp;
        i += used;
    }
    qsort(cps, k, sizeof *cps, cmp_u32);
    *out = cps;
    *n = k;
    return LT_OK;
}

/* The replacement as one code point. */
static lt_status decode_replace(const char *r, uint32_t *cp)
{
    size_t len = strlen(r);
    if (len == 0) return lt_fail(LT_ERR_INVALID, "replacement: empty (give one character, or none to drop)");
    size_t used = utf8_next((const unsigned char *)r, len, cp);
    if (used != len || (*cp == REPLACEMENT_CP && (unsigned char)r[0] >= 0x80 && used == 1)) {
        char shown[96];
        show_symbol(r, len, shown, sizeof shown);
        return lt_fail(LT_ERR_INVALID, "replacement '%s' is not one character", shown);
    }
    return LT_OK;
}

static lt_status parse_chars(parser *p, const unsigned char *buf, size_t len)
{
    const lt_text_options *o = p->o;
    lt_status st = LT_OK;
    uint32_t *alpha = NULL, repl = 0;
    size_t nalpha = 0;
    int have_repl = 0;
    if (o->alphabet) {
        if ((st = decode_alphabet(o->alphabet, &alpha, &nalpha))) return st;
        if (o->replace) {
            if ((st = decode_replace(o->replace, &repl))) goto done;
            have_repl = 1;
        }
    }
    /* ids of ASCII characters once seen: -1 unknown yet */
    int32_t ascii[128];
    for (int i = 0; i < 128; i++)
        ascii[i] = -1;
    size_t line = 1;
    int have_prev = 0;
    uint32_t prev = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t line_of_char = line;
        i += utf8_next(buf + i, len - i, &cp);
        if (cp == '\n') {
            line++;
            if (!o->whole_file) {
                if ((st = end_sequence(&p->b))) goto done;
                have_prev = 0;
                continue;
            }
        }
        if (cp == '\r' && !o->whole_file && (i == len || buf[i] == '\n')) continue; /* CRLF */
        if (o->lowercase && cp - 'A' < 26u) cp += 32;
        if (alpha && !bsearch(&cp, alpha, nalpha, sizeof *alpha, cmp_u32)) {
            if (!have_repl) continue;
            cp = repl;
        }
        if (o->squeeze && have_repl && cp == repl && have_prev && prev == repl) continue;
        prev = cp, have_prev = 1;
        int32_t id;
        if (cp < 128 && ascii[cp] >= 0) {
            id = ascii[cp];
        } else {
            char enc[4];
            size_t k = utf8_put(cp, enc);
            if ((st = symbol_id(p, enc, k, line_of_char, &id))) goto done;
            if (cp < 128) ascii[cp] = id;
        }
        if ((st = push_symbol(&p->b, id))) goto done;
    }
    st = end_sequence(&p->b);
done:
    free(alpha);
    return st;
}

typedef struct word_id {
    char *w;
    int32_t old;
} word_id;

static int cmp_word(const void *a, const void *b)
{
    return strcmp(((const word_id *)a)->w, ((const word_id *)b)->w);
}

/* Sort a vocabulary built from the data by bytes and renumber the symbols
 * (the hash table is not needed afterwards). */
static lt_status sort_vocabulary(vocab *v, builder *b)
{
    size_t n = v->n;
    word_id *wi = lt_malloc(n ? n : 1, sizeof *wi);
    int32_t *newid = lt_malloc(n ? n : 1, sizeof *newid);
    if (!wi || !newid) {
        free(wi), free(newid);
        return LT_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        wi[i].w = v->words[i], wi[i].old = (int32_t)i;
    qsort(wi, n, sizeof *wi, cmp_word);
    for (size_t i = 0; i < n; i++) {
        v->words[i] = wi[i].w;
        newid[wi[i].old] = (int32_t)i;
    }
    for (size_t t = 0; t < b->n; t++)
        b->sym[t] = newid[b->sym[t]];
    free(wi), free(newid);
    return LT_OK;
}

void lt_text_options_default(lt_text_options *o)
{
    memset(o, 0, sizeof *o);
}

lt_status lt_text_options_check(const lt_text_options *o)
{
    if (!o) return lt_fail(LT_ERR_INVALID, "no text options given");
    if (o->alphabet) {
        uint32_t *a = NULL;
        size_t n;
        LT_CHECK(decode_alphabet(o->alphabet, &a, &n));
        free(a);
    }
    if (o->replace) {
        uint32_t cp;
        LT_CHECK(decode_replace(o->replace, &cp));
    }
    return LT_OK;
}

lt_status lt_seq_parse_text(const char *name, const char *buf, size_t len, const lt_text_options *o,
                            const char *const *vocab_in, size_t vocab_size, lt_dataset **out)
{
    if (out) *out = NULL;
    if (!out || (!buf && len)) return lt_fail(LT_ERR_INVALID, "lt_seq_parse_text: no buffer or output given");
    lt_text_options def;
    if (!o) lt_text_options_default(&def), o = &def;
    if (!name) name = "text";
    LT_CHECK(lt_text_options_check(o));
    parser p;
    memset(&p, 0, sizeof p);
    p.name = name, p.o = o;
    lt_status st = LT_OK;
    lt_dataset *d = NULL;
    if (vocab_in) {
        p.mapping = 1;
        if ((st = vocab_borrow(&p.v, vocab_in, vocab_size))) goto done;
    }
    st =
        o->chars ? parse_chars(&p, (const unsigned char *)buf, len) : parse_tokens(&p, (const unsigned char *)buf, len);
    if (st) goto done;
    if (p.b.nseq == 0) {
        st = lt_fail(LT_ERR_FORMAT, "%s: no sequences (the text is empty%s)", name,
                     o->chars && o->alphabet && !o->replace ? ", or nothing in it is in the alphabet"
                                                            : " or every line is blank");
        goto done;
    }
    if (!p.mapping && o->sort_vocab && (st = sort_vocabulary(&p.v, &p.b))) goto done;
    if (!(d = lt_calloc(1, sizeof *d))) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    d->symbols = p.b.sym, d->n_steps = p.b.n;
    d->lengths = p.b.len, d->n_seqs = p.b.nseq;
    p.b.sym = NULL, p.b.len = NULL;
    d->chars = o->chars != 0;
    if (p.mapping) { /* the dataset's own copy of the caller's vocabulary */
        if (!(d->vocab = lt_calloc(vocab_size ? vocab_size : 1, sizeof *d->vocab))) {
            st = LT_ERR_NOMEM;
            goto done;
        }
        d->vocab_size = vocab_size;
        for (size_t i = 0; i < vocab_size; i++)
            if (!(d->vocab[i] = strdup(vocab_in[i]))) {
                st = lt_fail(LT_ERR_NOMEM, "out of memory copying the vocabulary");
                goto done;
            }
    } else { /* hand the built one over */
        d->vocab = p.v.words, d->vocab_size = p.v.n;
        p.v.words = NULL, p.v.n = 0;
    }
    *out = d;
    d = NULL;
done:
    lt_dataset_free(d);
    vocab_free(&p.v);
    free(p.b.sym), free(p.b.len), free(p.scratch);
    return st;
}

/* The whole file in a malloc'd buffer (NUL-terminated). */
static lt_status slurp(const char *path, char **out, size_t *len_out)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return lt_fail(LT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    lt_status st = LT_OK;
    size_t cap = 1 << 16, len = 0;
    struct stat sb;
    if (fstat(fileno(fp), &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 && (uintmax_t)sb.st_size < SIZE_MAX / 4)
        cap = (size_t)sb.st_size + 2;
    char *buf = lt_malloc(cap, 1);
    if (!buf) {
        fclose(fp);
        return LT_ERR_NOMEM;
    }
    for (;;) {
        len += fread(buf + len, 1, cap - 1 - len, fp);
        if (len < cap - 1) break;
        if (cap > SIZE_MAX / 4) {
            st = lt_fail(LT_ERR_NOMEM, "%s: file too large", path);
            goto done;
        }
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            st = lt_fail(LT_ERR_NOMEM, "%s: out of memory reading the file", path);
            goto done;
        }
        buf = nb, cap *= 2;
    }
    if (ferror(fp)) {
        st = lt_fail(LT_ERR_IO, "%s: read error: %s", path, strerror(errno));
        goto done;
    }
    buf[len] = '\0';
    *out = buf, *len_out = len;
    buf = NULL;
done:
    free(buf);
    fclose(fp);
    return st;
}

lt_status lt_seq_read_text(const char *path, const lt_text_options *o, const char *const *vocab_in, size_t vocab_size,
                           lt_dataset **out)
{
    if (out) *out = NULL;
    if (!path || !out) return lt_fail(LT_ERR_INVALID, "lt_seq_read_text: no path or output given");
    char *buf;
    size_t len;
    LT_CHECK(slurp(path, &buf, &len));
    lt_status st = lt_seq_parse_text(path, buf, len, o, vocab_in, vocab_size, out);
    free(buf);
    return st;
}

/* ------------------------------------------------------------ rows */

lt_status lt_seq_read_lengths(const char *path, size_t **lengths, size_t *n_out)
{
    if (lengths) *lengths = NULL;
    if (n_out) *n_out = 0;
    if (!path || !lengths || !n_out) return lt_fail(LT_ERR_INVALID, "lt_seq_read_lengths: no path or output given");
    char *buf;
    size_t len;
    LT_CHECK(slurp(path, &buf, &len));
    lt_status st = LT_OK;
    size_t *l = NULL, n = 0, cap = 0, sum = 0, line = 1;
    for (char *s = buf, *end = buf + len; s < end; line++) {
        char *le = memchr(s, '\n', (size_t)(end - s));
        if (!le) le = end;
        char *a = s, *b = le;
        while (a < b && is_space((unsigned char)*a))
            a++;
        while (b > a && is_space((unsigned char)b[-1]))
            b--;
        s = le + 1;
        if (a == b) continue;
        size_t v = 0;
        int ok = 1;
        for (char *q = a; q < b && ok; q++) {
            size_t digit = (size_t)(*q - '0');
            if (*q < '0' || *q > '9' || v > SIZE_MAX / 10 || (v == SIZE_MAX / 10 && digit > SIZE_MAX % 10))
                ok = 0;
            else
                v = v * 10 + digit;
        }
        if (!ok || v == 0) {
            char shown[96];
            show_symbol(a, (size_t)(b - a), shown, sizeof shown);
            st = lt_fail(LT_ERR_FORMAT, "%s:%zu: expected a positive integer, found '%s'", path, line, shown);
            goto done;
        }
        if (v > SIZE_MAX - sum) {
            st = lt_fail(LT_ERR_FORMAT, "%s:%zu: the lengths add up to more than this machine can hold", path, line);
            goto done;
        }
        sum += v;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            size_t *nl = realloc(l, cap * sizeof *nl);
            if (!nl) {
                st = lt_fail(LT_ERR_NOMEM, "%s: out of memory", path);
                goto done;
            }
            l = nl;
        }
        l[n++] = v;
    }
    if (n == 0) {
        st = lt_fail(LT_ERR_FORMAT, "%s: no lengths (the file is empty)", path);
        goto done;
    }
    *lengths = l, *n_out = n;
    l = NULL;
done:
    free(l);
    free(buf);
    return st;
}

lt_status lt_seq_set_lengths(lt_dataset *d, const size_t *lengths, size_t n, const char *name)
{
    if (!name) name = "lengths";
    if (!d || (!lengths && n)) return lt_fail(LT_ERR_INVALID, "lt_seq_set_lengths: no dataset or lengths given");
    if (d->lengths) return lt_fail(LT_ERR_INVALID, "%s: the data are already cut into sequences", name);
    if (n == 0) return lt_fail(LT_ERR_INVALID, "%s: no lengths", name);
    size_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (lengths[i] == 0)
            return lt_fail(LT_ERR_INVALID, "%s: length %zu is 0 (sequences are not empty)", name, i + 1);
        if (lengths[i] > SIZE_MAX - sum) return lt_fail(LT_ERR_DIM, "%s: the lengths add up to more than fits", name);
        sum += lengths[i];
    }
    if (sum != d->n_steps)
        return lt_fail(LT_ERR_DIM, "%s: lengths add up to %zu but the data has %zu %s", name, sum, d->n_steps,
                       d->x ? "rows" : "steps");
    size_t *l = lt_malloc(n, sizeof *l);
    if (!l) return LT_ERR_NOMEM;
    memcpy(l, lengths, n * sizeof *l);
    d->lengths = l, d->n_seqs = n;
    return LT_OK;
}

lt_status lt_seq_split_by_column(lt_dataset *d, size_t col, const char *name)
{
    if (!name) name = "data";
    if (!d) return lt_fail(LT_ERR_INVALID, "lt_seq_split_by_column: no dataset given");
    if (!d->x) return lt_fail(LT_ERR_INVALID, "%s: a sequence-id column needs numeric rows, not text", name);
    if (d->lengths) return lt_fail(LT_ERR_INVALID, "%s: the data are already cut into sequences", name);
    size_t rows = d->x->rows, cols = d->x->cols;
    if (col >= cols)
        return lt_fail(LT_ERR_DIM, "%s: --seq-column %zu: the data has %zu column%s", name, col + 1, cols,
                       cols == 1 ? "" : "s");
    if (cols < 2)
        return lt_fail(LT_ERR_DIM, "%s: --seq-column %zu is the only column; no features would be left", name, col + 1);
    if (rows == 0) return lt_fail(LT_ERR_FORMAT, "%s: no rows", name);
    lt_array *src = NULL, *x = NULL;
    size_t *len = NULL, nseq = 0;
    lt_status st;
    if ((st = lt_array_to_f64(d->x, 1, &src))) return lt_fail_prefix(st, name);
    if ((st = lt_array_create(rows, cols - 1, LT_F64, &x))) goto done;
    if (!(len = lt_malloc(rows, sizeof *len))) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    const double *s = src->data;
    double *o = x->data;
    for (size_t r = 0; r < rows; r++) {
        const double *row = s + r * cols;
        memcpy(o + r * (cols - 1), row, col * sizeof(double));
        memcpy(o + r * (cols - 1) + col, row + col + 1, (cols - 1 - col) * sizeof(double));
        if (r == 0 || row[col] != s[(r - 1) * cols + col]) len[nseq++] = 0;
        len[nseq - 1]++;
    }
    lt_array_free(d->x);
    d->x = x, x = NULL;
    d->lengths = len, d->n_seqs = nseq;
    len = NULL;
done:
    lt_array_free(src);
    lt_array_free(x);
    free(len);
    return st;
}

/* ------------------------------------------------------------ one call */

void lt_seq_read_options_default(lt_seq_read_options *o)
{
    memset(o, 0, sizeof *o);
    lt_text_options_default(&o->text);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

/* "N" (1-based, digits only) -> 0-based index; -1 when not a number. */
static long long column_number(const char *s)
{
    long long v = 0;
    if (!*s) return -1;
    for (const char *q = s; *q; q++) {
        if (*q < '0' || *q > '9' || v > 100000000) return -1;
        v = v * 10 + (*q - '0');
    }
    return v - 1;
}

lt_status lt_seq_read(const char *path, const lt_seq_read_options *o, lt_dataset **out)
{
    if (out) *out = NULL;
    if (!path || !out) return lt_fail(LT_ERR_INVALID, "lt_seq_read: no path or output given");
    lt_seq_read_options def;
    if (!o) lt_seq_read_options_default(&def), o = &def;
    lt_seq_input input = o->input;
    if (input == LT_SEQ_AUTO) input = ends_with(path, ".txt") ? LT_SEQ_TEXT : LT_SEQ_ROWS;
    if (input == LT_SEQ_TEXT) {
        if (o->lengths || o->seq_column)
            return lt_fail(LT_ERR_INVALID, "%s: %s applies to rows (CSV, NPY), not to text (one sequence per line)",
                           path, o->lengths ? "--lengths" : "--seq-column");
        return lt_seq_read_text(path, &o->text, o->vocab, o->vocab_size, out);
    }
    if (o->lengths && o->seq_column)
        return lt_fail(LT_ERR_INVALID, "--lengths and --seq-column cannot be used together (give one)");
    long long colno = -1;
    if (o->seq_column) {
        colno = column_number(o->seq_column);
        if (colno == -1 && o->seq_column[0] >= '0' && o->seq_column[0] <= '9')
            return lt_fail(LT_ERR_INVALID, "--seq-column: expected a column number from 1 or a header name, found '%s'",
                           o->seq_column);
    }
    lt_format fmt = o->format == LT_FMT_AUTO ? lt_format_from_path(path) : o->format;
    int by_name = o->seq_column && colno < 0;
    lt_array *x = NULL;
    char **hdr = NULL;
    lt_dataset *d = NULL;
    size_t *lengths = NULL, nl = 0;
    lt_status st;
    if (fmt == LT_FMT_CSV || (by_name && fmt == LT_FMT_AUTO))
        st = lt_csv_read(path, &x, by_name ? &hdr : NULL);
    else
        st = lt_data_read(path, fmt, &x);
    if (st) return st;
    if (x->rows == 0) {
        lt_array_free(x);
        lt_strings_free(hdr);
        return lt_fail(LT_ERR_FORMAT, "%s: no rows", path);
    }
    if (by_name) {
        if (!hdr) {
            /* about the file, not the option's form: the message leads with the file */
            st = lt_fail(LT_ERR_FORMAT, "%s: no header line to find the column '%s' (--seq-column) in", path,
                         o->seq_column);
            goto fail;
        }
        for (size_t j = 0; hdr[j] && colno < 0; j++)
            if (strcmp(hdr[j], o->seq_column) == 0) colno = (long long)j;
        if (colno < 0) {
            st = lt_fail(LT_ERR_FORMAT, "%s: no column named '%s' (--seq-column)", path, o->seq_column);
            goto fail;
        }
    }
    lt_strings_free(hdr);
    hdr = NULL;
    if ((st = lt_dataset_from_array(x, &d))) return st; /* x is freed on failure */
    x = NULL;
    if (o->seq_column) {
        if ((st = lt_seq_split_by_column(d, (size_t)colno, path))) goto fail;
    } else if (o->lengths) {
        if ((st = lt_seq_read_lengths(o->lengths, &lengths, &nl)) ||
            (st = lt_seq_set_lengths(d, lengths, nl, o->lengths)))
            goto fail;
    } else {
        size_t one = d->n_steps;
        if ((st = lt_seq_set_lengths(d, &one, 1, path))) goto fail;
    }
    free(lengths);
    *out = d;
    return LT_OK;
fail:
    free(lengths);
    lt_strings_free(hdr);
    lt_array_free(x);
    lt_dataset_free(d);
    return st;
}

/* ------------------------------------------------------------ output */

static lt_status write_text(const char *path, const lt_dataset *d)
{
    if (!d->symbols) return lt_fail(LT_ERR_INVALID, "%s: these are rows of numbers; write them as .csv or .npy", path);
    for (size_t t = 0; t < d->n_steps; t++)
        if (d->symbols[t] < 0 || (d->vocab && (size_t)d->symbols[t] >= d->vocab_size))
            return lt_fail(LT_ERR_INVALID, "%s: symbol id %d at step %zu is outside the vocabulary", path,
                           (int)d->symbols[t], t + 1);
    lt_atomic_file *af;
    LT_CHECK(lt_atomic_open(path, &af));
    FILE *fp = lt_atomic_stream(af);
    size_t one = d->n_steps, nseq = d->lengths ? d->n_seqs : 1;
    const size_t *len = d->lengths ? d->lengths : &one;
    const char *sep = d->chars ? "" : " ";
    for (size_t s = 0, t = 0; s < nseq; s++) {
        for (size_t i = 0; i < len[s] && t < d->n_steps; i++, t++) {
            if (i) fputs(sep, fp);
            if (d->vocab)
                fputs(d->vocab[d->symbols[t]], fp);
            else
                fprintf(fp, "%d", (int)d->symbols[t]);
        }
        fputc('\n', fp);
    }
    return lt_atomic_commit(af);
}

lt_status lt_seq_write(const char *path, const lt_dataset *d)
{
    if (!path || !d) return lt_fail(LT_ERR_INVALID, "lt_seq_write: no path or dataset given");
    if (!d->x && !d->symbols) return lt_fail(LT_ERR_INVALID, "%s: the dataset holds neither rows nor symbols", path);
    if (ends_with(path, ".txt")) return write_text(path, d);
    lt_format fmt = lt_format_from_path(path);
    if (fmt != LT_FMT_CSV && fmt != LT_FMT_NPY)
        return lt_fail(LT_ERR_INVALID, "%s: cannot tell the output format from the name (expected .txt, .csv or .npy)",
                       path);
    if (d->lengths) {
        size_t sum = 0;
        for (size_t s = 0; s < d->n_seqs; s++)
            sum += d->lengths[s];
        if (sum != d->n_steps)
            return lt_fail(LT_ERR_DIM, "%s: the lengths add up to %zu but the data has %zu steps", path, sum,
                           d->n_steps);
    }
    if (fmt == LT_FMT_NPY && d->x) return lt_npy_write(path, d->x);
    size_t cols = d->x ? d->x->cols : 1, lead = fmt == LT_FMT_CSV;
    lt_array *a = NULL;
    char **hdr = NULL;
    lt_status st;
    if ((st = lt_array_create(d->n_steps, cols + lead, LT_F64, &a))) return st;
    double *o = a->data;
    size_t seq = 0, left = d->lengths ? d->lengths[0] : d->n_steps;
    for (size_t t = 0; t < d->n_steps; t++) {
        while (left == 0 && d->lengths && seq + 1 < d->n_seqs)
            left = d->lengths[++seq];
        left--;
        double *row = o + t * (cols + lead);
        if (lead) row[0] = (double)seq;
        if (d->x)
            for (size_t j = 0; j < cols; j++)
                row[lead + j] = lt_array_get(d->x, t, j);
        else
            row[lead] = (double)d->symbols[t];
    }
    if (fmt == LT_FMT_NPY) {
        st = lt_npy_write(path, a);
        goto done;
    }
    if (!(hdr = lt_calloc(cols + 2, sizeof *hdr))) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    hdr[0] = strdup("sequence");
    for (size_t j = 0; j < cols; j++) {
        char b[32];
        if (d->x)
            snprintf(b, sizeof b, "x_%zu", j);
        else
            snprintf(b, sizeof b, "symbol");
        hdr[j + 1] = strdup(b);
    }
    for (size_t j = 0; j < cols + 1; j++)
        if (!hdr[j]) {
            st = lt_fail(LT_ERR_NOMEM, "out of memory");
            goto done;
        }
    st = lt_csv_write(path, a, (const char *const *)hdr);
done:
    lt_strings_free(hdr);
    lt_array_free(a);
    return st;
}
