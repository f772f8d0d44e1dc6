/* Text corpora for topic models: a tokenizer, a vocabulary built with
 * document-frequency pruning, the UCI bag-of-words format in and out, and a
 * docword reader that streams a batch of documents at a time.
 *
 * Reading. Every input goes through one line reader over a large buffer
 * (zlib's gzread, which passes plain files through unchanged and inflates
 * gzip ones), so text and docword files of any size are read in bounded
 * memory: only the tokens are kept. A line is found with memchr; numbers are
 * parsed by hand (no scanf), and a docword entry in its usual form ("D W C\n")
 * is parsed straight from the buffer without looking for the line first:
 * about 350 MB/s of docword text on one core, near what a disk delivers.
 *
 * The tokenizer. One pass over the bytes; ASCII letters are found by two
 * range tests and lower-cased on the way into the word buffer. Other bytes
 * are decoded as strict UTF-8 (no overlong forms, no surrogates, nothing
 * above U+10FFFF); a byte that starts no valid sequence separates words. A
 * decoded code point is a letter when it is >= U+00C0 and not one of
 *     U+00D7 and U+00F7 (multiplication and division signs),
 *     U+2000-U+206F (general punctuation: dashes, quotes, spaces),
 *     U+3000-U+303F (CJK symbols and punctuation, the ideographic space),
 *     U+FEFF (byte-order mark) and U+FFFD (replacement character),
 * which is crude (it takes every symbol outside Latin-1 for a letter) but
 * never splits a word of any script, needs no locale and no tables, and is
 * the same on every machine. Case folding is ASCII A-Z and Latin-1 U+00C0-
 * U+00DE (less U+00D7) mapped +0x20; other scripts are kept as they are.
 * Apostrophes (U+0027 and U+2019) are transparent: inside a word they are
 * dropped ("don't" -> "dont"), elsewhere they separate nothing.
 *
 * The vocabulary. Words are kept in an open-addressing hash table (FNV-1a,
 * linear probing, at most half full) whose strings live in one arena; each
 * entry counts its occurrences and documents. A slot holds the high half of
 * the hash beside the entry's index, and an entry the first 8 bytes of its
 * word, so most look-ups touch one slot and one entry and never the arena
 * (cache misses, not hashing, are what a large vocabulary costs). Stop words are entered first,
 * flagged, so a stop word costs one look-up like any other word. After the
 * last document the table is pruned (min_df, max_df, max_vocab), sorted by
 * strcmp, and every document's ids are remapped and sorted, which groups a
 * word's occurrences.
 */
#include "internal.h"
#include "latent/corpus.h"
#include "latent/io.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

/* The read buffer starts small (most inputs are) and doubles up to
 * READ_CHUNK while reads keep filling it; a line longer than the buffer
 * grows it further. */
#define READ_FIRST ((size_t)1 << 16)
#define READ_CHUNK ((size_t)1 << 20)
#define DOCWORD_MAX_LINE READ_CHUNK

/* ------------------------------------------------------------ line reader */

typedef struct lreader {
    const char *path;
    gzFile gz;       /* NULL for text in memory */
    char *own;       /* the buffer, for files */
    size_t cap;      /* its size */
    const char *buf; /* the bytes: own, or the caller's text */
    size_t pos, len; /* next unread byte; bytes held */
    size_t scanned;  /* bytes from pos known to hold no newline */
    size_t max_line; /* longest line accepted (0: no limit) */
    int eof;
    int full;    /* the last read filled the buffer */
    size_t line; /* number of the line last returned, 1-based */
} lreader;

/* zlib's message, without the "path: " it may put in front. */
static const char *gz_msg(gzFile gz, const char *path, int *zerr)
{
    const char *msg = gzerror(gz, zerr);
    size_t n = strlen(path);
    return strncmp(msg, path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ' ? msg + n + 2 : msg;
}

static lt_status lr_open(lreader *r, const char *path, size_t max_line)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    r->max_line = max_line;
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) return lt_fail(LT_ERR_IO, "%s: is a folder, not a file", path);
    errno = 0;
    r->gz = gzopen(path, "rb");
    if (!r->gz) return lt_fail(LT_ERR_IO, "%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
    gzbuffer(r->gz, 1 << 16);
    r->cap = READ_FIRST;
    r->own = lt_malloc(r->cap, 1);
    if (!r->own) {
        gzclose(r->gz);
        r->gz = NULL;
        return LT_ERR_NOMEM;
    }
    r->buf = r->own;
    return LT_OK;
}

static void lr_memory(lreader *r, const char *name, const char *text, size_t len)
{
    memset(r, 0, sizeof *r);
    r->path = name;
    r->buf = text;
    r->len = len;
    r->eof = 1;
}

static void lr_close(lreader *r)
{
    if (r->gz) gzclose(r->gz);
    free(r->own);
    r->gz = NULL;
    r->own = NULL;
}

/* Read more: the unread bytes move to the front, the buffer grows when a
 * line fills it (or while reads keep filling it), and the end of a gzip
 * stream is checked for damage. */
static lt_status lr_fill(lreader *r)
{
    if (r->pos > 0) {
        memmove(r->own, r->own + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    if (r->len == r->cap || (r->full && r->cap < READ_CHUNK)) {
        if (r->len == r->cap && r->max_line && r->len >= r->max_line)
            return lt_fail(LT_ERR_FORMAT, "%s:%zu: line longer than %zu bytes", r->path, r->line + 1, r->max_line);
        if (r->cap > SIZE_MAX / 4) return lt_fail(LT_ERR_NOMEM, "%s:%zu: line too long", r->path, r->line + 1);
        char *nb = realloc(r->own, r->cap * 2);
        if (!nb) return lt_fail(LT_ERR_NOMEM, "%s:%zu: out of memory for a line", r->path, r->line + 1);
        r->own = nb;
        r->buf = nb;
        r->cap *= 2;
    }
    size_t want = r->cap - r->len;
    if (want > (1u << 30)) want = 1u << 30;
    int got = gzread(r->gz, r->own + r->len, (unsigned)want);
    int zerr;
    if (got < 0) {
        const char *msg = gz_msg(r->gz, r->path, &zerr);
        if (zerr == Z_ERRNO) return lt_fail(LT_ERR_IO, "%s: read error: %s", r->path, strerror(errno));
        return lt_fail(LT_ERR_FORMAT, "%s: corrupt gzip data: %s", r->path, msg);
    }
    if (got == 0) {
        /* A cut or damaged gzip stream shows here, not as a short read. */
        const char *msg = gz_msg(r->gz, r->path, &zerr);
        if (zerr != Z_OK && zerr != Z_BUF_ERROR)
            return lt_fail(LT_ERR_FORMAT, "%s: corrupt gzip data: %s", r->path, msg);
        if (zerr == Z_BUF_ERROR) return lt_fail(LT_ERR_FORMAT, "%s: corrupt gzip data: the stream ends early", r->path);
        r->eof = 1;
    }
    r->full = (size_t)got == want;
    r->len += (size_t)got;
    return LT_OK;
}

/* The next line (without its '\n'): *got = 1 and s, n set, or *got = 0 at
 * the end of the input. */
static lt_status lr_next(lreader *r, const char **s, size_t *n, int *got)
{
    for (;;) {
        const char *p = r->buf + r->pos;
        size_t avail = r->len - r->pos;
        const char *nl = avail > r->scanned ? memchr(p + r->scanned, '\n', avail - r->scanned) : NULL;
        if (nl) {
            *s = p;
            *n = (size_t)(nl - p);
            r->pos += *n + 1;
            r->scanned = 0;
            r->line++;
            *got = 1;
            return LT_OK;
        }
        r->scanned = avail;
        if (r->eof) {
            r->scanned = 0;
            if (avail == 0) {
                *got = 0;
                return LT_OK;
            }
            *s = p;
            *n = avail;
            r->pos = r->len;
            r->line++;
            *got = 1;
            return LT_OK;
        }
        LT_CHECK(lr_fill(r));
    }
}

/* A line for a message: control bytes escaped, cut after about 40 bytes. */
static const char *show(const char *s, size_t n, char *buf, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (o >= 40) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (c < 0x20 || c >= 0x7F)
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    buf[o] = '\0';
    return buf;
}

static int is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\v' && s[i] != '\f') return 0;
    return 1;
}

/* ------------------------------------------------------------ word table */

enum { MODE_STOP, MODE_BUILD, MODE_MAP };

typedef struct went {
    uint64_t hash;
    uint64_t prefix; /* the first 8 bytes, zero-padded: short words compare here */
    size_t off, len; /* in the arena */
    size_t tf, df;   /* occurrences, documents */
    size_t last_doc; /* the last document counted in df, + 1 (0: none) */
    int stop;
} went;

typedef struct wtab {
    char *arena;
    size_t arena_len, arena_cap;
    went *e;
    size_t n, cap;
    struct slot {
        uint32_t tag; /* the hash's high half: most misses end here */
        int32_t id;   /* entry index, -1 empty */
    } * slots;
    size_t nslots; /* a power of two */
} wtab;

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static void wtab_free(wtab *t)
{
    free(t->arena);
    free(t->e);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

static lt_status wtab_rehash(wtab *t, size_t nslots)
{
    struct slot *s = lt_malloc(nslots, sizeof *s);
    if (!s) return LT_ERR_NOMEM;
    for (size_t i = 0; i < nslots; i++)
        s[i].id = -1, s[i].tag = 0;
    for (size_t i = 0; i < t->n; i++) {
        size_t j = (size_t)t->e[i].hash & (nslots - 1);
        while (s[j].id >= 0)
            j = (j + 1) & (nslots - 1);
        s[j].tag = (uint32_t)(t->e[i].hash >> 32);
        s[j].id = (int32_t)i;
    }
    free(t->slots);
    t->slots = s;
    t->nslots = nslots;
    return LT_OK;
}

static lt_status wtab_init(wtab *t)
{
    memset(t, 0, sizeof *t);
    return wtab_rehash(t, 1024);
}

static uint64_t prefix8(const char *w, size_t n)
{
    uint64_t p = 0;
    memcpy(&p, w, n < 8 ? n : 8);
    return p;
}

/* The entry of a word, or -1. A look-up touches its slot and, when the tag
 * matches, the entry; the arena only for words longer than 8 bytes. */
static int32_t wtab_find(const wtab *t, const char *w, size_t n, uint64_t h)
{
    size_t j = (size_t)h & (t->nslots - 1);
    uint32_t tag = (uint32_t)(h >> 32);
    uint64_t pre = prefix8(w, n);
    for (;;) {
        int32_t k = t->slots[j].id;
        if (k < 0) return -1;
        if (t->slots[j].tag == tag) {
            const went *e = &t->e[k];
            if (e->len == n && e->prefix == pre && (n <= 8 || memcmp(t->arena + e->off + 8, w + 8, n - 8) == 0))
                return k;
        }
        j = (j + 1) & (t->nslots - 1);
    }
}

/* Add a word known not to be there; *id is its entry. */
static lt_status wtab_add(wtab *t, const char *w, size_t n, uint64_t h, int32_t *id)
{
    if (t->n >= (size_t)INT32_MAX - 1) return lt_fail(LT_ERR_INVALID, "more than %d distinct words", INT32_MAX - 1);
    if (2 * (t->n + 1) > t->nslots) LT_CHECK(wtab_rehash(t, t->nslots * 2));
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        went *ne = realloc(t->e, cap * sizeof *ne);
        if (!ne) return lt_fail(LT_ERR_NOMEM, "out of memory for the vocabulary");
        t->e = ne;
        t->cap = cap;
    }
    if (n + 1 > t->arena_cap - t->arena_len) {
        size_t cap = t->arena_cap ? t->arena_cap : 1 << 16;
        while (n + 1 > cap - t->arena_len) {
            if (cap > SIZE_MAX / 2) return lt_fail(LT_ERR_NOMEM, "out of memory for the vocabulary");
            cap *= 2;
        }
        char *na = realloc(t->arena, cap);
        if (!na) return lt_fail(LT_ERR_NOMEM, "out of memory for the vocabulary");
        t->arena = na;
        t->arena_cap = cap;
    }
    went *e = &t->e[t->n];
    memset(e, 0, sizeof *e);
    e->hash = h;
    e->prefix = prefix8(w, n);
    e->off = t->arena_len;
    e->len = n;
    memcpy(t->arena + t->arena_len, w, n);
    t->arena[t->arena_len + n] = '\0';
    t->arena_len += n + 1;
    size_t j = (size_t)h & (t->nslots - 1);
    while (t->slots[j].id >= 0)
        j = (j + 1) & (t->nslots - 1);
    t->slots[j].tag = (uint32_t)(h >> 32);
    t->slots[j].id = (int32_t)t->n;
    *id = (int32_t)t->n++;
    return LT_OK;
}

/* A vocabulary given by the caller: each string once. */
static lt_status wtab_from_vocab(wtab *t, char *const *vocab, size_t n, const char *what)
{
    LT_CHECK(wtab_init(t));
    if (n >= (size_t)INT32_MAX) return lt_fail(LT_ERR_INVALID, "%s: %zu words, more than ids can hold", what, n);
    for (size_t i = 0; i < n; i++) {
        if (!vocab[i]) return lt_fail(LT_ERR_INVALID, "%s: word %zu is NULL", what, i);
        size_t len = strlen(vocab[i]);
        uint64_t h = fnv1a(vocab[i], len);
        int32_t k = wtab_find(t, vocab[i], len, h);
        if (k >= 0) {
            char b[64];
            return lt_fail(LT_ERR_INVALID, "%s: word %zu '%s' repeats word %d", what, i,
                           show(vocab[i], len, b, sizeof b), (int)k);
        }
        LT_CHECK(wtab_add(t, vocab[i], len, h, &k));
    }
    return LT_OK;
}

/* ------------------------------------------------------------ growing arrays */

typedef struct tokbuf {
    int32_t *tok;
    size_t n, cap;
    size_t *ptr; /* document starts, then the end */
    size_t nptr, ptrcap;
} tokbuf;

static lt_status tb_reserve(tokbuf *b, size_t more)
{
    if (more <= b->cap - b->n) return LT_OK;
    if (more > SIZE_MAX / sizeof(int32_t) / 2 - b->n) return lt_fail(LT_ERR_NOMEM, "too many tokens");
    size_t cap = b->cap ? b->cap : 1 << 12;
    while (cap - b->n < more)
        cap *= 2;
    int32_t *nt = realloc(b->tok, cap * sizeof *nt);
    if (!nt) return lt_fail(LT_ERR_NOMEM, "out of memory for %zu tokens", cap);
    b->tok = nt;
    b->cap = cap;
    return LT_OK;
}

static lt_status tb_mark(tokbuf *b)
{
    if (b->nptr == b->ptrcap) {
        size_t cap = b->ptrcap ? b->ptrcap * 2 : 1 << 10;
        size_t *np = realloc(b->ptr, cap * sizeof *np);
        if (!np) return lt_fail(LT_ERR_NOMEM, "out of memory for %zu documents", cap);
        b->ptr = np;
        b->ptrcap = cap;
    }
    b->ptr[b->nptr++] = b->n;
    return LT_OK;
}

static void tb_free(tokbuf *b)
{
    free(b->tok);
    free(b->ptr);
}

/* ------------------------------------------------------------ tokenizer */

/* Decode one UTF-8 character at p (n > 0 bytes); returns its length, or 0
 * when the byte starts no valid sequence. */
static size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
    unsigned c = p[0];
    size_t len;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, v = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, v = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, v = c & 0x07, min = 0x10000;
    else
        return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (p[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

static int cp_is_letter(uint32_t cp)
{
    if (cp < 0xC0 || cp == 0xD7 || cp == 0xF7) return 0;
    if (cp >= 0x2000 && cp <= 0x206F) return 0;
    if (cp >= 0x3000 && cp <= 0x303F) return 0;
    return cp != 0xFEFF && cp != 0xFFFD;
}

typedef struct tokenizer {
    int mode;
    size_t min_length;
    wtab *tab;
    tokbuf *out;
    size_t doc;     /* index of the current document */
    size_t dropped; /* stop words and unknown words */
    char *w;        /* the word being read */
    size_t wlen, wcap, letters;
    uint64_t h;
} tokenizer;

static lt_status tk_grow(tokenizer *t, size_t more)
{
    if (more <= t->wcap - t->wlen) return LT_OK;
    size_t cap = t->wcap ? t->wcap : 256;
    while (cap - t->wlen < more) {
        if (cap > SIZE_MAX / 2) return lt_fail(LT_ERR_NOMEM, "word too long");
        cap *= 2;
    }
    char *nw = realloc(t->w, cap);
    if (!nw) return lt_fail(LT_ERR_NOMEM, "out of memory for a word");
    t->w = nw;
    t->wcap = cap;
    return LT_OK;
}

static lt_status tk_word(tokenizer *t)
{
    size_t n = t->wlen, letters = t->letters;
    uint64_t h = t->h;
    t->wlen = 0;
    t->letters = 0;
    t->h = 1469598103934665603ull;
    if (letters == 0 || letters < t->min_length) return LT_OK;
    int32_t k = wtab_find(t->tab, t->w, n, h);
    if (t->mode == MODE_STOP) {
        if (k < 0) {
            LT_CHECK(wtab_add(t->tab, t->w, n, h, &k));
            t->tab->e[k].stop = 1;
        }
        return LT_OK;
    }
    if (k < 0) {
        if (t->mode == MODE_MAP) {
            t->dropped++;
            return LT_OK;
        }
        LT_CHECK(wtab_add(t->tab, t->w, n, h, &k));
    }
    went *e = &t->tab->e[k];
    if (e->stop) {
        t->dropped++;
        return LT_OK;
    }
    e->tf++;
    if (e->last_doc != t->doc + 1) {
        e->last_doc = t->doc + 1;
        e->df++;
    }
    LT_CHECK(tb_reserve(t->out, 1));
    t->out->tok[t->out->n++] = k;
    return LT_OK;
}

/* Tokenize s[0..n); a word never continues past the end. */
static lt_status tk_run(tokenizer *t, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            unsigned k = c - 'a' < 26u ? c : c - 'A' < 26u ? c + 32 : c == '\'' ? 1 : 0;
            if (k > 1) {
                if (t->wlen == t->wcap) LT_CHECK(tk_grow(t, 1));
                t->w[t->wlen++] = (char)k;
                t->h = (t->h ^ k) * 1099511628211ull;
                t->letters++;
            } else if (k == 0 && t->wlen) {
                LT_CHECK(tk_word(t));
            }
            i++;
            continue;
        }
        uint32_t cp;
        size_t len = utf8_decode(s + i, n - i, &cp);
        if (len == 0) {
            if (t->wlen) LT_CHECK(tk_word(t));
            i++;
            continue;
        }
        if (cp == 0x2019) {
            i += len;
            continue;
        }
        if (!cp_is_letter(cp)) {
            if (t->wlen) LT_CHECK(tk_word(t));
            i += len;
            continue;
        }
        LT_CHECK(tk_grow(t, 4));
        unsigned char enc[4];
        memcpy(enc, s + i, len);
        if (cp <= 0xDE && cp != 0xD7) enc[1] = (unsigned char)(enc[1] + 0x20); /* U+00C0-U+00DE: C3 80..9E -> A0..BE */
        for (size_t b = 0; b < len; b++) {
            t->w[t->wlen++] = (char)enc[b];
            t->h = (t->h ^ enc[b]) * 1099511628211ull;
        }
        t->letters++;
        i += len;
    }
    if (t->wlen) LT_CHECK(tk_word(t));
    return LT_OK;
}

static void tk_init(tokenizer *t, int mode, size_t min_length, wtab *tab, tokbuf *out)
{
    memset(t, 0, sizeof *t);
    t->mode = mode;
    t->min_length = min_length;
    t->tab = tab;
    t->out = out;
    t->h = 1469598103934665603ull;
}

/* ------------------------------------------------------------ corpus helpers */

void lt_corpus_free(lt_corpus *c)
{
    if (!c) return;
    free(c->doc_ptr);
    free(c->tokens);
    lt_vocab_free(c->vocab, c->n_vocab);
    free(c);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Quicksort (median of three, the smaller side first so the stack stays
 * shallow), insertion sort for short runs, and qsort once `depth` bad splits
 * are spent, so no input makes it quadratic. qsort alone, with a call per
 * comparison, cost a tenth of the text reader's time. */
static void sort_run(int32_t *t, size_t n, int depth)
{
    size_t i;
    while (n > 24) {
        if (depth-- == 0) {
            qsort(t, n, sizeof *t, cmp_i32);
            return;
        }
        int32_t a = t[0], b = t[n / 2], c = t[n - 1];
        int32_t p = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
        size_t lo = 0, hi = n - 1;
        for (;;) { /* Hoare partition: t[0..lo) <= p <= t(hi..n) */
            while (t[lo] < p)
                lo++;
            while (t[hi] > p)
                hi--;
            if (lo >= hi) break;
            int32_t x = t[lo];
            t[lo++] = t[hi];
            t[hi--] = x;
        }
        size_t left = hi + 1; /* t[0..left) <= p <= t[left..n) */
        if (left < n - left) {
            sort_run(t, left, depth);
            t += left, n -= left;
        } else {
            sort_run(t + left, n - left, depth);
            n = left;
        }
    }
    for (i = 1; i < n; i++) {
        int32_t v = t[i];
        size_t j = i;
        while (j > 0 && t[j - 1] > v) {
            t[j] = t[j - 1];
            j--;
        }
        t[j] = v;
    }
}

/* Sort ids in place, unless they already are. */
static void sort_ids(int32_t *t, size_t n)
{
    size_t i = 1;
    while (i < n && t[i - 1] <= t[i])
        i++;
    if (i >= n) return;
    int depth = 0;
    for (size_t m = n; m > 1; m >>= 1)
        depth += 2;
    sort_run(t, n, depth);
}

lt_status lt_corpus_check(const lt_corpus *c, const char *name)
{
    if (!name) name = "corpus";
    if (!c) return lt_fail(LT_ERR_INVALID, "%s: no corpus", name);
    if (!c->doc_ptr) return lt_fail(LT_ERR_INVALID, "%s: no document offsets", name);
    if (c->n_tokens && !c->tokens) return lt_fail(LT_ERR_INVALID, "%s: no tokens", name);
    if (c->doc_ptr[0] != 0) return lt_fail(LT_ERR_INVALID, "%s: the first document starts at %zu", name, c->doc_ptr[0]);
    if (c->doc_ptr[c->n_docs] != c->n_tokens)
        return lt_fail(LT_ERR_INVALID, "%s: documents end at token %zu, but n_tokens is %zu", name,
                       c->doc_ptr[c->n_docs], c->n_tokens);
    if (c->n_vocab > (size_t)INT32_MAX)
        return lt_fail(LT_ERR_INVALID, "%s: %zu words, more than ids can hold", name, c->n_vocab);
    if (c->vocab)
        for (size_t w = 0; w < c->n_vocab; w++)
            if (!c->vocab[w]) return lt_fail(LT_ERR_INVALID, "%s: word %zu of the vocabulary is NULL", name, w);
    /* Grouped: a word that appeared earlier in the document must be the one
     * just before. seen[w] is the last document (+ 1) that held w. */
    size_t *seen = lt_calloc(c->n_vocab ? c->n_vocab : 1, sizeof *seen);
    if (!seen) return LT_ERR_NOMEM;
    lt_status st = LT_OK;
    for (size_t d = 0; d < c->n_docs && st == LT_OK; d++) {
        if (c->doc_ptr[d + 1] < c->doc_ptr[d]) {
            st = lt_fail(LT_ERR_INVALID, "%s: document %zu ends before it starts", name, d);
            break;
        }
        for (size_t i = c->doc_ptr[d]; i < c->doc_ptr[d + 1]; i++) {
            int32_t w = c->tokens[i];
            if (w < 0 || (size_t)w >= c->n_vocab) {
                st = lt_fail(LT_ERR_INVALID, "%s: document %zu: word id %d is out of range 0..%zu", name, d, (int)w,
                             c->n_vocab ? c->n_vocab - 1 : 0);
                break;
            }
            if (i > c->doc_ptr[d] && c->tokens[i - 1] == w) continue;
            if (seen[w] == d + 1) {
                st = lt_fail(LT_ERR_INVALID, "%s: document %zu: the occurrences of word %d are not together", name, d,
                             (int)w);
                break;
            }
            seen[w] = d + 1;
        }
    }
    free(seen);
    return st;
}

void lt_corpus_options_default(lt_corpus_options *o)
{
    memset(o, 0, sizeof *o);
    o->min_length = 2;
    o->stopwords = 1;
    o->min_df = 1;
    o->max_df = 1.0;
}

static lt_status options_check(const lt_corpus_options *o)
{
    if (!(o->min_df >= 0) || !isfinite(o->min_df))
        return lt_fail(LT_ERR_INVALID, "min_df must be a count >= 1 or a fraction in [0, 1), not %g", o->min_df);
    if (!(o->max_df > 0) || !isfinite(o->max_df))
        return lt_fail(LT_ERR_INVALID, "max_df must be a fraction in (0, 1] or a count > 1, not %g", o->max_df);
    return LT_OK;
}

/* ------------------------------------------------------------ text to corpus */

typedef struct builder {
    const lt_corpus_options *o;
    wtab tab;
    tokbuf tb;
    tokenizer tk;
    char *const *vocab; /* given, or NULL */
    size_t n_vocab;
} builder;

static lt_status stop_words(builder *b)
{
    const lt_corpus_options *o = b->o;
    tokenizer st;
    tk_init(&st, MODE_STOP, 1, &b->tab, NULL);
    lt_status s = LT_OK;
    if (o->stopword_file) {
        lreader r;
        if ((s = lr_open(&r, o->stopword_file, 0)) != LT_OK) return s;
        const char *line;
        size_t n;
        int got;
        while ((s = lr_next(&r, &line, &n, &got)) == LT_OK && got) {
            size_t i = 0;
            while (i < n && (line[i] == ' ' || line[i] == '\t'))
                i++;
            if (i < n && line[i] == '#') continue;
            if ((s = tk_run(&st, line, n)) != LT_OK) break;
        }
        lr_close(&r);
    } else if (o->stopwords) {
        for (const char *const *w = lt_stopwords_english(); *w && s == LT_OK; w++)
            s = tk_run(&st, *w, strlen(*w));
    }
    free(st.w);
    return s;
}

static lt_status builder_init(builder *b, const lt_corpus_options *o, char *const *vocab, size_t n_vocab)
{
    memset(b, 0, sizeof *b);
    b->o = o;
    b->vocab = vocab;
    b->n_vocab = n_vocab;
    if (vocab) {
        LT_CHECK(wtab_from_vocab(&b->tab, vocab, n_vocab, "the given vocabulary"));
    } else {
        LT_CHECK(wtab_init(&b->tab));
        LT_CHECK(stop_words(b));
    }
    tk_init(&b->tk, vocab ? MODE_MAP : MODE_BUILD, o->min_length, &b->tab, &b->tb);
    return tb_reserve(&b->tb, 1);
}

static void builder_free(builder *b)
{
    wtab_free(&b->tab);
    tb_free(&b->tb);
    free(b->tk.w);
}

/* One document per line of r. */
static lt_status read_lines(builder *b, lreader *r)
{
    const char *line;
    size_t n;
    int got;
    lt_status st;
    while ((st = lr_next(r, &line, &n, &got)) == LT_OK && got) {
        if (!b->o->allow_empty && is_blank(line, n))
            return lt_fail(LT_ERR_FORMAT, "%s:%zu: empty document (a blank line; allow_empty keeps it)", r->path,
                           r->line);
        b->tk.doc = b->tb.nptr;
        LT_CHECK(tb_mark(&b->tb));
        LT_CHECK(tk_run(&b->tk, line, n));
    }
    return st;
}

/* The whole of r as one document. */
static lt_status read_whole(builder *b, lreader *r)
{
    const char *line;
    size_t n;
    int got, blank = 1;
    lt_status st;
    b->tk.doc = b->tb.nptr;
    LT_CHECK(tb_mark(&b->tb));
    while ((st = lr_next(r, &line, &n, &got)) == LT_OK && got) {
        if (blank && !is_blank(line, n)) blank = 0;
        LT_CHECK(tk_run(&b->tk, line, n));
    }
    if (st == LT_OK && blank && !b->o->allow_empty)
        return lt_fail(LT_ERR_FORMAT, "%s: empty document (an empty file; allow_empty keeps it)", r->path);
    return st;
}

typedef struct rank {
    size_t tf;
    const char *w;
    int32_t id;
} rank;

static int cmp_rank(const void *a, const void *b)
{
    const rank *x = a, *y = b;
    if (x->tf != y->tf) return x->tf > y->tf ? -1 : 1;
    return strcmp(x->w, y->w);
}

typedef struct named {
    const char *w;
    int32_t id;
} named;

static int cmp_named(const void *a, const void *b)
{
    return strcmp(((const named *)a)->w, ((const named *)b)->w);
}

/* Prune and sort the vocabulary; map[old entry] = new id or -1. */
static lt_status build_vocab(builder *b, const char *name, size_t n_docs, int32_t *map, char ***vocab_out,
                             size_t *n_out)
{
    const lt_corpus_options *o = b->o;
    wtab *t = &b->tab;
    double D = (double)n_docs;
    double lo = o->min_df >= 1 ? o->min_df : o->min_df * D;
    double hi = o->max_df <= 1 ? o->max_df * D : o->max_df;
    size_t n = 0, seen = 0;
    rank *r = lt_malloc(t->n ? t->n : 1, sizeof *r);
    if (!r) return LT_ERR_NOMEM;
    for (size_t i = 0; i < t->n; i++) {
        map[i] = -1;
        const went *e = &t->e[i];
        if (e->stop || e->tf == 0) continue;
        seen++;
        if ((double)e->df < lo || (double)e->df > hi) continue;
        r[n].tf = e->tf;
        r[n].w = t->arena + e->off;
        r[n].id = (int32_t)i;
        n++;
    }
    if (o->max_vocab && n > o->max_vocab) {
        qsort(r, n, sizeof *r, cmp_rank);
        n = o->max_vocab;
    }
    if (n == 0) {
        free(r);
        if (seen == 0) return lt_fail(LT_ERR_FORMAT, "%s: no words in %zu documents", name, n_docs);
        return lt_fail(LT_ERR_INVALID,
                       "%s: no words left after pruning (%zu distinct words; min_df %g, max_df %g keep none)", name,
                       seen, o->min_df, o->max_df);
    }
    named *s = lt_malloc(n, sizeof *s);
    char **v = lt_calloc(n, sizeof *v);
    lt_status st = LT_OK;
    if (!s || !v) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        s[i].w = r[i].w, s[i].id = r[i].id;
    qsort(s, n, sizeof *s, cmp_named);
    for (size_t i = 0; i < n; i++) {
        map[s[i].id] = (int32_t)i;
        size_t len = t->e[s[i].id].len;
        v[i] = lt_malloc(len + 1, 1);
        if (!v[i]) {
            st = LT_ERR_NOMEM;
            goto done;
        }
        memcpy(v[i], s[i].w, len + 1);
    }
    *vocab_out = v;
    *n_out = n;
    v = NULL;
done:
    if (v) lt_vocab_free(v, n);
    free(s);
    free(r);
    return st;
}

/* Turn what was read into a corpus. */
static lt_status builder_finish(builder *b, const char *name, lt_corpus **out)
{
    tokbuf *tb = &b->tb;
    if (tb->nptr == 0) return lt_fail(LT_ERR_FORMAT, "%s: empty corpus: no documents", name);
    size_t n_docs = tb->nptr;
    LT_CHECK(tb_mark(tb)); /* the end */
    lt_corpus *c = lt_calloc(1, sizeof *c);
    int32_t *map = NULL;
    lt_status st = LT_OK;
    if (!c) return LT_ERR_NOMEM;
    c->n_docs = n_docs;
    c->n_dropped_tokens = b->tk.dropped;
    if (b->vocab) {
        if ((st = lt_vocab_copy(b->vocab, b->n_vocab, &c->vocab)) != LT_OK) goto fail;
        c->n_vocab = b->n_vocab;
    } else {
        map = lt_malloc(b->tab.n ? b->tab.n : 1, sizeof *map);
        if (!map) {
            st = LT_ERR_NOMEM;
            goto fail;
        }
        if ((st = build_vocab(b, name, n_docs, map, &c->vocab, &c->n_vocab)) != LT_OK) goto fail;
    }
    /* Remap in place (documents only shrink), then group each document. */
    size_t o = 0;
    for (size_t d = 0; d < n_docs; d++) {
        size_t start = o;
        for (size_t i = tb->ptr[d]; i < tb->ptr[d + 1]; i++) {
            int32_t w = map ? map[tb->tok[i]] : tb->tok[i];
            if (w < 0)
                c->n_dropped_tokens++;
            else
                tb->tok[o++] = w;
        }
        tb->ptr[d] = start;
        sort_ids(tb->tok + start, o - start);
        if (o == start) c->n_empty_docs++;
    }
    tb->ptr[n_docs] = o;
    c->n_tokens = o;
    c->doc_ptr = tb->ptr;
    tb->ptr = NULL;
    if (o < tb->cap / 2) {
        int32_t *shrunk = realloc(tb->tok, (o ? o : 1) * sizeof *shrunk);
        if (shrunk) tb->tok = shrunk;
    }
    c->tokens = tb->tok;
    tb->tok = NULL;
    free(map);
    *out = c;
    return LT_OK;
fail:
    free(map);
    lt_corpus_free(c);
    return st;
}

static lt_status opts_start(const lt_corpus_options *o_in, lt_corpus_options *o, char *const *vocab, size_t n_vocab)
{
    if (o_in)
        *o = *o_in;
    else
        lt_corpus_options_default(o);
    if (o->min_length == 0) o->min_length = 1;
    if (!vocab && n_vocab) return lt_fail(LT_ERR_INVALID, "n_vocab is %zu but no vocabulary was given", n_vocab);
    return options_check(o);
}

lt_status lt_corpus_from_text(const char *text, size_t len, const char *name, const lt_corpus_options *o_in,
                              char *const *vocab, size_t n_vocab, lt_corpus **out)
{
    if (out) *out = NULL;
    if (!out || (!text && len)) return lt_fail(LT_ERR_INVALID, "lt_corpus_from_text: no text or output given");
    if (!name) name = "text";
    lt_corpus_options o;
    LT_CHECK(opts_start(o_in, &o, vocab, n_vocab));
    builder b;
    lt_status st = builder_init(&b, &o, vocab, n_vocab);
    if (st == LT_OK) {
        lreader r;
        lr_memory(&r, name, text ? text : "", len);
        st = o.folder ? read_whole(&b, &r) : read_lines(&b, &r);
    }
    if (st == LT_OK) st = builder_finish(&b, name, out);
    builder_free(&b);
    return st;
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The regular, visible files of a folder, sorted by strcmp. */
static lt_status list_folder(const char *dir, char ***names_out, size_t *n_out)
{
    DIR *d = opendir(dir);
    if (!d) return lt_fail(LT_ERR_IO, "%s: cannot open the folder: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    lt_status st = LT_OK;
    size_t dl = strlen(dir);
    struct dirent *ent;
    for (;;) {
        errno = 0;
        ent = readdir(d);
        if (!ent) {
            if (errno) st = lt_fail(LT_ERR_IO, "%s: cannot list the folder: %s", dir, strerror(errno));
            break;
        }
        if (ent->d_name[0] == '.') continue;
        size_t nl = strlen(ent->d_name);
        char *p = lt_malloc(dl + nl + 2, 1);
        if (!p) {
            st = LT_ERR_NOMEM;
            break;
        }
        memcpy(p, dir, dl);
        p[dl] = '/';
        memcpy(p + dl + 1, ent->d_name, nl + 1);
        struct stat sb;
        if (stat(p, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            free(p);
            continue;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            char **nn = realloc(names, nc * sizeof *nn);
            if (!nn) {
                free(p);
                st = lt_fail(LT_ERR_NOMEM, "%s: out of memory listing the folder", dir);
                break;
            }
            names = nn;
            cap = nc;
        }
        names[n++] = p;
    }
    closedir(d);
    if (st != LT_OK) {
        lt_vocab_free(names, n);
        return st;
    }
    if (n) qsort(names, n, sizeof *names, cmp_cstr);
    *names_out = names;
    *n_out = n;
    return LT_OK;
}

lt_status lt_corpus_read_text(const char *path, const lt_corpus_options *o_in, char *const *vocab, size_t n_vocab,
                              lt_corpus **out)
{
    if (out) *out = NULL;
    if (!path || !out) return lt_fail(LT_ERR_INVALID, "lt_corpus_read_text: no path or output given");
    lt_corpus_options o;
    LT_CHECK(opts_start(o_in, &o, vocab, n_vocab));
    struct stat sb;
    if (stat(path, &sb) != 0) return lt_fail(LT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (o.folder && !S_ISDIR(sb.st_mode)) return lt_fail(LT_ERR_INVALID, "%s: not a folder", path);
    builder b;
    lt_status st = builder_init(&b, &o, vocab, n_vocab);
    if (st == LT_OK && o.folder) {
        char **names = NULL;
        size_t n = 0;
        st = list_folder(path, &names, &n);
        for (size_t i = 0; i < n && st == LT_OK; i++) {
            lreader r;
            st = lr_open(&r, names[i], 0);
            if (st == LT_OK) st = read_whole(&b, &r);
            lr_close(&r);
        }
        lt_vocab_free(names, n);
        if (st == LT_OK && n == 0) st = lt_fail(LT_ERR_FORMAT, "%s: empty corpus: no files in the folder", path);
    } else if (st == LT_OK) {
        lreader r;
        st = lr_open(&r, path, 0);
        if (st == LT_OK) st = read_lines(&b, &r);
        lr_close(&r);
    }
    if (st == LT_OK) st = builder_finish(&b, path, out);
    builder_free(&b);
    return st;
}

/* ------------------------------------------------------------ remap */

lt_status lt_corpus_remap(const lt_corpus *c, char *const *vocab, size_t n_vocab, lt_corpus **out)
{
    if (out) *out = NULL;
    if (!c || !out || (!vocab && n_vocab)) return lt_fail(LT_ERR_INVALID, "lt_corpus_remap: no corpus or output given");
    if (!c->vocab) return lt_fail(LT_ERR_INVALID, "lt_corpus_remap: the corpus has no vocabulary to map by");
    LT_CHECK(lt_corpus_check(c, "lt_corpus_remap"));
    wtab t;
    int32_t *map = NULL;
    lt_corpus *r = NULL;
    lt_status st = wtab_from_vocab(&t, vocab, n_vocab, "lt_corpus_remap: the vocabulary");
    if (st != LT_OK) goto done;
    map = lt_malloc(c->n_vocab ? c->n_vocab : 1, sizeof *map);
    r = lt_calloc(1, sizeof *r);
    if (!map || !r) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    for (size_t w = 0; w < c->n_vocab; w++) {
        size_t len = strlen(c->vocab[w]);
        map[w] = wtab_find(&t, c->vocab[w], len, fnv1a(c->vocab[w], len));
    }
    size_t kept = 0;
    for (size_t i = 0; i < c->n_tokens; i++)
        kept += map[c->tokens[i]] >= 0;
    r->n_docs = c->n_docs;
    r->doc_ptr = lt_malloc(c->n_docs + 1, sizeof *r->doc_ptr);
    r->tokens = lt_malloc(kept ? kept : 1, sizeof *r->tokens);
    if (!r->doc_ptr || !r->tokens || (st = lt_vocab_copy(vocab, n_vocab, &r->vocab)) != LT_OK) {
        if (st == LT_OK) st = LT_ERR_NOMEM;
        goto done;
    }
    r->n_vocab = n_vocab;
    size_t o = 0;
    for (size_t d = 0; d < c->n_docs; d++) {
        r->doc_ptr[d] = o;
        for (size_t i = c->doc_ptr[d]; i < c->doc_ptr[d + 1]; i++)
            if (map[c->tokens[i]] >= 0) r->tokens[o++] = map[c->tokens[i]];
        sort_ids(r->tokens + r->doc_ptr[d], o - r->doc_ptr[d]);
        if (o == r->doc_ptr[d]) r->n_empty_docs++;
    }
    r->doc_ptr[c->n_docs] = o;
    r->n_tokens = o;
    r->n_dropped_tokens = c->n_dropped_tokens + (c->n_tokens - kept);
    *out = r;
    r = NULL;
done:
    lt_corpus_free(r);
    free(map);
    wtab_free(&t);
    return st;
}

/* ------------------------------------------------------------ docword stream */

struct lt_docword_stream {
    char *path;
    lreader r;
    size_t D, W, NNZ;
    size_t next_doc; /* 1-based id of the next document to hand out */
    size_t entries;  /* triples read */
    size_t last_id;  /* document id of the last triple (0: none) */
    int pending;     /* a triple read for a later batch */
    uint64_t pv[3];
    size_t pline;
    int failed;
};

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Up to `max` unsigned decimal numbers of a line; returns how many, or -1
 * when something else is there (or a number overflows 2^63). */
static int parse_numbers(const char *s, size_t n, uint64_t *v, int max)
{
    size_t i = 0;
    int k = 0;
    for (;;) {
        while (i < n && is_space(s[i]))
            i++;
        if (i == n) return k;
        if (k == max) return -1;
        unsigned dgt = (unsigned char)s[i] - '0';
        if (dgt > 9) return -1;
        uint64_t x = 0;
        do {
            if (x > (UINT64_MAX / 2 - 9) / 10) return -1;
            x = x * 10 + dgt;
            i++;
        } while (i < n && (dgt = (unsigned char)s[i] - '0') <= 9);
        if (i < n && !is_space(s[i])) return -1;
        v[k++] = x;
    }
}

static lt_status read_header(lt_docword_stream *s)
{
    static const char *what[3] = {"the number of documents D", "the vocabulary size W", "the number of entries NNZ"};
    uint64_t h[3];
    for (int i = 0; i < 3; i++) {
        const char *line;
        size_t n;
        int got;
        LT_CHECK(lr_next(&s->r, &line, &n, &got));
        if (!got)
            return lt_fail(LT_ERR_FORMAT, "%s:%zu: the file ends before %s (a UCI docword file starts with D, W, NNZ)",
                           s->path, s->r.line + 1, what[i]);
        uint64_t v;
        if (parse_numbers(line, n, &v, 1) != 1) {
            char b[64];
            return lt_fail(LT_ERR_FORMAT, "%s:%zu: expected %s, found '%s'", s->path, s->r.line, what[i],
                           show(line, n, b, sizeof b));
        }
        h[i] = v;
    }
    if (h[0] == 0) return lt_fail(LT_ERR_FORMAT, "%s:1: empty corpus: D = 0 documents", s->path);
    if (h[1] == 0) return lt_fail(LT_ERR_FORMAT, "%s:2: W = 0: an empty vocabulary", s->path);
    if (h[0] > (uint64_t)INT32_MAX)
        return lt_fail(LT_ERR_FORMAT, "%s:1: D = %llu documents, more than 2^31 - 1", s->path,
                       (unsigned long long)h[0]);
    if (h[1] > (uint64_t)INT32_MAX)
        return lt_fail(LT_ERR_FORMAT, "%s:2: W = %llu words, more than 2^31 - 1", s->path, (unsigned long long)h[1]);
    if (h[2] > h[0] * h[1])
        return lt_fail(LT_ERR_FORMAT, "%s:3: NNZ = %llu is more than D x W = %llu", s->path, (unsigned long long)h[2],
                       (unsigned long long)(h[0] * h[1]));
    s->D = (size_t)h[0];
    s->W = (size_t)h[1];
    s->NNZ = (size_t)h[2];
    return LT_OK;
}

static lt_status stream_start(lt_docword_stream *s)
{
    LT_CHECK(lr_open(&s->r, s->path, DOCWORD_MAX_LINE));
    s->next_doc = 1;
    s->entries = 0;
    s->last_id = 0;
    s->pending = 0;
    s->failed = 0;
    return read_header(s);
}

void lt_docword_stream_close(lt_docword_stream *s)
{
    if (!s) return;
    lr_close(&s->r);
    free(s->path);
    free(s);
}

lt_status lt_docword_stream_open(const char *path, lt_docword_stream **out)
{
    if (out) *out = NULL;
    if (!path || !out) return lt_fail(LT_ERR_INVALID, "lt_docword_stream_open: no path or output given");
    lt_docword_stream *s = lt_calloc(1, sizeof *s);
    if (!s) return LT_ERR_NOMEM;
    size_t n = strlen(path);
    s->path = lt_malloc(n + 1, 1);
    if (!s->path) {
        free(s);
        return LT_ERR_NOMEM;
    }
    memcpy(s->path, path, n + 1);
    lt_status st = stream_start(s);
    if (st != LT_OK) {
        lt_docword_stream_close(s);
        return st;
    }
    *out = s;
    return LT_OK;
}

size_t lt_docword_stream_docs(const lt_docword_stream *s)
{
    return s ? s->D : 0;
}

size_t lt_docword_stream_vocab(const lt_docword_stream *s)
{
    return s ? s->W : 0;
}

lt_status lt_docword_stream_rewind(lt_docword_stream *s)
{
    if (!s) return lt_fail(LT_ERR_INVALID, "lt_docword_stream_rewind: no stream");
    size_t D = s->D, W = s->W, NNZ = s->NNZ;
    lr_close(&s->r);
    lt_status st = stream_start(s);
    if (st == LT_OK && (s->D != D || s->W != W || s->NNZ != NNZ))
        st = lt_fail(LT_ERR_IO, "%s: the file changed while it was being read", s->path);
    if (st != LT_OK) s->failed = 1;
    return st;
}

/* The common line, parsed straight from the buffer: three numbers of at
 * most 18 digits separated by spaces or tabs, then a newline (trailing
 * spaces and a CR allowed). Anything else, or a line cut by the end of the
 * buffer, returns 0 with nothing consumed; the line-by-line path then reads
 * it and says what is wrong. */
static int fast_triple(lreader *r, uint64_t v[3])
{
    const unsigned char *p = (const unsigned char *)r->buf + r->pos, *e = (const unsigned char *)r->buf + r->len;
    for (int k = 0; k < 3; k++) {
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        if (p == e || (unsigned)(*p - '0') > 9) return 0;
        const unsigned char *start = p;
        uint64_t x = 0;
        do
            x = x * 10 + (unsigned)(*p++ - '0');
        while (p < e && (unsigned)(*p - '0') <= 9);
        if (p - start > 18 || p == e || (k < 2 && *p != ' ' && *p != '\t')) return 0;
        v[k] = x;
    }
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
    if (p == e || *p != '\n') return 0;
    r->pos = (size_t)((const char *)p + 1 - r->buf);
    r->scanned = 0;
    r->line++;
    return 1;
}

/* The next triple: *got = 0 at the end of the file (after the NNZ check).
 * The document id is checked here (it decides the batch); the word id and
 * count when the entry is used, so that a bad entry fails the batch it
 * belongs to rather than the one before. */
static lt_status next_triple(lt_docword_stream *s, uint64_t v[3], size_t *line_no, int *got)
{
    const char *path = s->path;
    if (fast_triple(&s->r, v)) {
        *got = 1;
    } else {
        const char *line;
        size_t n;
        int k;
        for (;;) {
            LT_CHECK(lr_next(&s->r, &line, &n, got));
            if (!*got) {
                if (s->entries != s->NNZ)
                    return lt_fail(LT_ERR_FORMAT, "%s:3: the header says NNZ = %zu, but the file has %zu entries", path,
                                   s->NNZ, s->entries);
                return LT_OK;
            }
            if ((k = parse_numbers(line, n, v, 3)) != 0) break; /* 0: a blank line */
        }
        if (k != 3) {
            char b[64];
            return lt_fail(LT_ERR_FORMAT, "%s:%zu: expected 'docID wordID count' (three whole numbers), found '%s'",
                           path, s->r.line, show(line, n, b, sizeof b));
        }
    }
    size_t ln = s->r.line;
    *line_no = ln;
    if (++s->entries > s->NNZ)
        return lt_fail(LT_ERR_FORMAT, "%s:%zu: more entries than NNZ = %zu in the header", path, ln, s->NNZ);
    if (v[0] < 1 || v[0] > s->D)
        return lt_fail(LT_ERR_FORMAT, "%s:%zu: document id %llu is out of range 1..%zu (D)", path, ln,
                       (unsigned long long)v[0], s->D);
    if (v[0] < s->last_id)
        return lt_fail(LT_ERR_FORMAT, "%s:%zu: document id %llu comes after %zu (ids must not decrease)", path, ln,
                       (unsigned long long)v[0], s->last_id);
    s->last_id = (size_t)v[0];
    return LT_OK;
}

static lt_status check_entry(const lt_docword_stream *s, const uint64_t v[3], size_t ln)
{
    if (v[1] < 1 || v[1] > s->W)
        return lt_fail(LT_ERR_FORMAT, "%s:%zu: word id %llu is out of range 1..%zu (W)", s->path, ln,
                       (unsigned long long)v[1], s->W);
    if (v[2] < 1) return lt_fail(LT_ERR_FORMAT, "%s:%zu: count 0 (a count must be at least 1)", s->path, ln);
    if (v[2] > (uint64_t)INT32_MAX)
        return lt_fail(LT_ERR_FORMAT, "%s:%zu: count %llu is more than 2^31 - 1", s->path, ln,
                       (unsigned long long)v[2]);
    return LT_OK;
}

static lt_status stream_batch(lt_docword_stream *s, size_t max_docs, lt_corpus **out)
{
    size_t first = s->next_doc;
    size_t n_docs = s->D - first + 1 < max_docs ? s->D - first + 1 : max_docs;
    size_t end = first + n_docs; /* one past the last id of the batch */
    lt_corpus *c = lt_calloc(1, sizeof *c);
    if (!c) return LT_ERR_NOMEM;
    lt_status st = LT_OK;
    tokbuf tb = {0};
    c->n_docs = n_docs;
    c->n_vocab = s->W;
    c->doc_ptr = lt_malloc(n_docs + 1, sizeof *c->doc_ptr);
    if (!c->doc_ptr) {
        st = LT_ERR_NOMEM;
        goto fail;
    }
    size_t filled = 0; /* doc_ptr[0..filled) are set */
    uint64_t prev_d = 0, prev_w = 0;
    int unsorted = 0; /* a document's word ids went down: sort them */
    for (;;) {
        uint64_t v[3] = {0, 0, 0};
        size_t ln = 0;
        int got = 1;
        if (s->pending) {
            memcpy(v, s->pv, sizeof v);
            ln = s->pline;
            s->pending = 0;
        } else if ((st = next_triple(s, v, &ln, &got)) != LT_OK) {
            goto fail;
        }
        if (!got) break;
        if (v[0] >= end) {
            s->pending = 1;
            memcpy(s->pv, v, sizeof v);
            s->pline = ln;
            break;
        }
        if ((st = check_entry(s, v, ln)) != LT_OK) goto fail;
        unsorted |= v[0] == prev_d && v[1] < prev_w;
        prev_d = v[0], prev_w = v[1];
        size_t d = (size_t)v[0], k = (size_t)v[2];
        while (filled <= d - first)
            c->doc_ptr[filled++] = tb.n;
        if (k > tb.cap - tb.n && (st = tb_reserve(&tb, k)) != LT_OK) goto fail;
        int32_t id = (int32_t)(v[1] - 1), *t = tb.tok + tb.n;
        for (size_t i = 0; i < k; i++)
            t[i] = id;
        tb.n += k;
    }
    while (filled <= n_docs)
        c->doc_ptr[filled++] = tb.n;
    if (!tb.tok && (st = tb_reserve(&tb, 1)) != LT_OK) goto fail;
    for (size_t d = 0; d < n_docs; d++) {
        if (unsorted) sort_ids(tb.tok + c->doc_ptr[d], c->doc_ptr[d + 1] - c->doc_ptr[d]);
        if (c->doc_ptr[d + 1] == c->doc_ptr[d]) c->n_empty_docs++;
    }
    c->n_tokens = tb.n;
    c->tokens = tb.tok;
    s->next_doc = end;
    *out = c;
    return LT_OK;
fail:
    free(tb.tok);
    lt_corpus_free(c);
    return st;
}

lt_status lt_docword_stream_next(lt_docword_stream *s, size_t max_docs, lt_corpus **out)
{
    if (out) *out = NULL;
    if (!s || !out) return lt_fail(LT_ERR_INVALID, "lt_docword_stream_next: no stream or output given");
    if (max_docs == 0) return lt_fail(LT_ERR_INVALID, "lt_docword_stream_next: max_docs is 0");
    if (s->failed) return lt_fail(LT_ERR_INVALID, "%s: the stream failed earlier; rewind it first", s->path);
    if (s->next_doc > s->D) return LT_OK;
    lt_status st = stream_batch(s, max_docs, out);
    if (st != LT_OK) s->failed = 1;
    return st;
}

/* ------------------------------------------------------------ docword files */

/* One word per line, exactly W of them, each once. The list grows with
 * what the file holds, so a wrong W in a header allocates nothing. */
static lt_status read_vocab(const char *path, size_t W, const char *docword_path, char ***out)
{
    lreader r;
    LT_CHECK(lr_open(&r, path, 0));
    char **v = NULL;
    size_t n = 0, cap = 0;
    wtab t;
    lt_status st = wtab_init(&t);
    while (st == LT_OK) {
        const char *line;
        size_t len;
        int got;
        if ((st = lr_next(&r, &line, &len, &got)) != LT_OK || !got) break;
        if (len && line[len - 1] == '\r') len--;
        if (n == W) {
            st = lt_fail(LT_ERR_FORMAT, "%s:%zu: more than W = %zu words (the W of %s)", path, r.line, W, docword_path);
            break;
        }
        if (len == 0 || memchr(line, '\0', len)) {
            st = lt_fail(LT_ERR_FORMAT, "%s:%zu: %s word", path, r.line, len ? "a NUL byte in a" : "an empty");
            break;
        }
        uint64_t h = fnv1a(line, len);
        int32_t k = wtab_find(&t, line, len, h);
        if (k >= 0) {
            char b[64];
            st = lt_fail(LT_ERR_FORMAT, "%s:%zu: the word '%s' is already on line %d", path, r.line,
                         show(line, len, b, sizeof b), (int)k + 1);
            break;
        }
        if ((st = wtab_add(&t, line, len, h, &k)) != LT_OK) break;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 1024;
            char **nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                st = lt_fail(LT_ERR_NOMEM, "%s: out of memory for %zu words", path, nc);
                break;
            }
            v = nv;
            cap = nc;
        }
        v[n] = lt_malloc(len + 1, 1);
        if (!v[n]) {
            st = LT_ERR_NOMEM;
            break;
        }
        memcpy(v[n], line, len);
        v[n++][len] = '\0';
    }
    if (st == LT_OK && n < W)
        st = lt_fail(LT_ERR_FORMAT, "%s:%zu: the file ends after %zu words, but %s says W = %zu", path, r.line + 1, n,
                     docword_path, W);
    lr_close(&r);
    wtab_free(&t);
    if (st != LT_OK) {
        lt_vocab_free(v, n);
        return st;
    }
    *out = v;
    return LT_OK;
}

lt_status lt_corpus_read_docword(const char *docword_path, const char *vocab_path, lt_corpus **out)
{
    if (out) *out = NULL;
    if (!docword_path || !out) return lt_fail(LT_ERR_INVALID, "lt_corpus_read_docword: no path or output given");
    lt_docword_stream *s;
    LT_CHECK(lt_docword_stream_open(docword_path, &s));
    char **vocab = NULL;
    lt_corpus *c = NULL;
    size_t W = s->W;
    lt_status st = vocab_path ? read_vocab(vocab_path, W, docword_path, &vocab) : LT_OK;
    if (st == LT_OK) st = lt_docword_stream_next(s, s->D, &c);
    lt_docword_stream_close(s);
    if (st != LT_OK) {
        if (vocab) lt_vocab_free(vocab, W);
        lt_corpus_free(c);
        return st;
    }
    c->vocab = vocab;
    *out = c;
    return LT_OK;
}

/* ------------------------------------------------------------ writing */

/* Buffered output into an atomic file, deflated to gzip when the name ends
 * in ".gz". */
typedef struct writer {
    lt_atomic_file *af;
    FILE *fp;
    const char *path;
    int gz;
    z_stream z;
    char *buf, *zbuf;
    size_t n;
    lt_status st;
} writer;

#define WBUF ((size_t)1 << 18)

static int ends_with_gz(const char *p)
{
    size_t n = strlen(p);
    return n >= 3 && (p[n - 3] == '.') && (p[n - 2] == 'g' || p[n - 2] == 'G') && (p[n - 1] == 'z' || p[n - 1] == 'Z');
}

static lt_status w_open(writer *w, const char *path)
{
    memset(w, 0, sizeof *w);
    w->path = path;
    w->gz = ends_with_gz(path);
    w->buf = lt_malloc(WBUF, 1);
    w->zbuf = w->gz ? lt_malloc(WBUF, 1) : NULL;
    if (!w->buf || (w->gz && !w->zbuf)) return LT_ERR_NOMEM;
    if (w->gz && deflateInit2(&w->z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        w->gz = 0;
        return lt_fail(LT_ERR_NOMEM, "%s: cannot start zlib", path);
    }
    LT_CHECK(lt_atomic_open(path, &w->af));
    w->fp = lt_atomic_stream(w->af);
    return LT_OK;
}

static void w_raw(writer *w, const char *p, size_t n)
{
    if (w->st == LT_OK && n && fwrite(p, 1, n, w->fp) != n)
        w->st = lt_fail(LT_ERR_IO, "%s: cannot write: %s", w->path, strerror(errno));
}

static void w_flush(writer *w, int finish)
{
    if (w->st != LT_OK) return;
    if (!w->gz) {
        w_raw(w, w->buf, w->n);
        w->n = 0;
        return;
    }
    w->z.next_in = (Bytef *)w->buf;
    w->z.avail_in = (uInt)w->n;
    int r;
    do {
        w->z.next_out = (Bytef *)w->zbuf;
        w->z.avail_out = (uInt)WBUF;
        r = deflate(&w->z, finish ? Z_FINISH : Z_NO_FLUSH);
        if (r == Z_STREAM_ERROR) {
            w->st = lt_fail(LT_ERR_IO, "%s: zlib failed", w->path);
            return;
        }
        w_raw(w, w->zbuf, WBUF - w->z.avail_out);
    } while (w->z.avail_out == 0 || (finish && r != Z_STREAM_END));
    w->n = 0;
}

static void w_put(writer *w, const char *s, size_t n)
{
    while (n) {
        if (w->n == WBUF) w_flush(w, 0);
        size_t k = WBUF - w->n < n ? WBUF - w->n : n;
        memcpy(w->buf + w->n, s, k);
        w->n += k, s += k, n -= k;
    }
}

/* A number and a separator. */
static void w_num(writer *w, size_t v, char sep)
{
    char tmp[24];
    size_t i = sizeof tmp;
    tmp[--i] = sep;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    w_put(w, tmp + i, sizeof tmp - i);
}

static lt_status w_close(writer *w)
{
    if (w->af) {
        w_flush(w, 1);
        if (w->st == LT_OK)
            w->st = lt_atomic_commit(w->af);
        else
            lt_atomic_abort(w->af);
        w->af = NULL;
    }
    if (w->gz) deflateEnd(&w->z);
    free(w->buf);
    free(w->zbuf);
    return w->st;
}

static void w_abort(writer *w)
{
    if (w->af) lt_atomic_abort(w->af);
    if (w->gz) deflateEnd(&w->z);
    free(w->buf);
    free(w->zbuf);
}

lt_status lt_corpus_write_docword(const lt_corpus *c, const char *docword_path, const char *vocab_path)
{
    if (!c || !docword_path) return lt_fail(LT_ERR_INVALID, "lt_corpus_write_docword: no corpus or path given");
    LT_CHECK(lt_corpus_check(c, docword_path));
    if (c->n_docs == 0) return lt_fail(LT_ERR_INVALID, "%s: the corpus has no documents", docword_path);
    if (c->n_vocab == 0) return lt_fail(LT_ERR_INVALID, "%s: the corpus has no vocabulary (W = 0)", docword_path);
    if (vocab_path && c->vocab)
        for (size_t i = 0; i < c->n_vocab; i++)
            if (c->vocab[i][0] == '\0' || strpbrk(c->vocab[i], "\n\r"))
                return lt_fail(LT_ERR_INVALID, "%s: word %zu is %s, which a vocab file cannot hold", vocab_path, i,
                               c->vocab[i][0] ? "split by a line break" : "empty");
    /* Documents are written sorted by word id; a grouped but unsorted one
     * is sorted in a scratch copy. */
    size_t nnz = 0, longest = 0;
    for (size_t d = 0; d < c->n_docs; d++) {
        size_t a = c->doc_ptr[d], b = c->doc_ptr[d + 1];
        if (b - a > longest) longest = b - a;
        for (size_t i = a; i < b; i++)
            nnz += i == a || c->tokens[i] != c->tokens[i - 1];
    }
    int32_t *tmp = lt_malloc(longest ? longest : 1, sizeof *tmp);
    if (!tmp) return LT_ERR_NOMEM;
    writer w;
    lt_status st = w_open(&w, docword_path);
    if (st != LT_OK) {
        w_abort(&w);
        free(tmp);
        return st;
    }
    w_num(&w, c->n_docs, '\n');
    w_num(&w, c->n_vocab, '\n');
    w_num(&w, nnz, '\n');
    for (size_t d = 0; d < c->n_docs && w.st == LT_OK; d++) {
        size_t len = c->doc_ptr[d + 1] - c->doc_ptr[d];
        const int32_t *t = c->tokens + c->doc_ptr[d];
        size_t i = 1;
        while (i < len && t[i - 1] <= t[i])
            i++;
        if (i < len) {
            memcpy(tmp, t, len * sizeof *tmp);
            sort_ids(tmp, len);
            t = tmp;
        }
        for (size_t a = 0; a < len;) {
            size_t b = a + 1;
            while (b < len && t[b] == t[a])
                b++;
            w_num(&w, d + 1, ' ');
            w_num(&w, (size_t)t[a] + 1, ' ');
            w_num(&w, b - a, '\n');
            a = b;
        }
    }
    free(tmp);
    st = w_close(&w);
    if (st != LT_OK || !vocab_path || !c->vocab) return st;
    if ((st = w_open(&w, vocab_path)) != LT_OK) {
        w_abort(&w);
        return st;
    }
    for (size_t i = 0; i < c->n_vocab; i++) {
        w_put(&w, c->vocab[i], strlen(c->vocab[i]));
        w_put(&w, "\n", 1);
    }
    return w_close(&w);
}
