/* latent — text corpora for topic models.
 *
 * A corpus is a list of documents, each a bag of word ids 0..V-1 laid out
 * as its tokens (one id per occurrence, a word's occurrences next to each
 * other), with the vocabulary of V strings. Documents may be empty (a
 * document whose every word was pruned, or unknown to a model): models treat
 * an empty document as one with no evidence, never as an error.
 *
 * Input
 * -----
 * Plain text: one document per line of a file, or one document per file of
 * a folder (regular files taken in strcmp order of their names, hidden files
 * and sub-folders skipped). Files in gzip format are inflated (zlib).
 *
 * The tokenizer keeps runs of letters and lower-cases them. A letter is an
 * ASCII a-z or A-Z, or any validly UTF-8 encoded code point >= U+00C0 except
 * U+00D7, U+00F7, U+2000-U+206F (general punctuation), U+3000-U+303F (CJK
 * punctuation), U+FEFF and U+FFFD: crude, but it never splits a word of any
 * script and needs no locale. Case folding is ASCII A-Z and Latin-1
 * U+00C0-U+00DE (+0x20); other scripts are kept as written. Apostrophes
 * (U+0027 and U+2019) inside a word are dropped ("don't" -> "dont").
 * Everything else separates words: spaces, punctuation, digits, U+0080-
 * U+00BF, and bytes that are not valid UTF-8 (never an error). Words shorter
 * than `min_length` letters (code points) are dropped.
 *
 * A stop-word list (the built-in English one, or a user file: one or more
 * words per line, tokenized as above; lines starting with '#' are comments)
 * removes words before counting.
 *
 * A blank line (only spaces, tabs, CR) or an empty file in a folder is an
 * empty document in the input and is refused by name ("FILE:LINE: empty
 * document") unless `allow_empty` is set; documents left without words
 * (only digits or punctuation, only stop words, or emptied by pruning) are
 * kept as empty documents. No documents at all is an error.
 *
 * Pruning (when building a vocabulary): words in fewer than `min_df`
 * documents (a count when >= 1, a fraction of the documents when < 1), or in
 * more than `max_df` of them (a fraction when <= 1.0, a count when > 1), are
 * removed; then at most `max_vocab` words are kept, the most frequent (by
 * occurrences in the corpus) first, ties going to the smaller by strcmp. The
 * vocabulary is sorted by strcmp so that it does not depend on the order of
 * the documents. A vocabulary left empty is an error. With a given
 * vocabulary the stop words and pruning do not apply: the vocabulary decides
 * which words are kept.
 *
 * UCI bag-of-words: `docword` (three header lines D, W, NNZ, then
 * "docID wordID count" triples, 1-based) and `vocab` (one word per line, W
 * lines). Errors name the file and line: a word id out of range, a zero or
 * negative count, a doc id out of range or going backwards, NNZ that does
 * not match, a vocab file with the wrong number of lines, an empty or
 * repeated word. Blank lines between entries are skipped; entries of a
 * document may come in any word order (a repeated pair adds up). D and W
 * must be at least 1 and below 2^31. Files are read through zlib, so gzip
 * files (any name) are inflated; written files are gzip when their name
 * ends in ".gz".
 *
 * Streaming: lt_docword_stream reads a docword file a batch of documents at
 * a time, so passes that need one batch at a time (online variational Bayes)
 * train on corpora larger than memory.
 *
 * Errors are statuses with a message naming the file (and line); nothing
 * here prints or exits. Thread-safe on distinct arguments.
 */
#ifndef LATENT_CORPUS_H
#define LATENT_CORPUS_H

#include "latent/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lt_corpus {
    size_t n_docs;
    size_t n_vocab;
    size_t n_tokens;         /* doc_ptr[n_docs] */
    size_t *doc_ptr;         /* n_docs + 1 offsets into tokens; doc d is tokens[doc_ptr[d] .. doc_ptr[d+1]) */
    int32_t *tokens;         /* n_tokens word ids in [0, n_vocab); the readers sort each document by id */
    char **vocab;            /* n_vocab UTF-8 strings, or NULL (docword read without a vocab file) */
    size_t n_dropped_tokens; /* words (of min_length) removed as stop words, by pruning or as unknown (a report) */
    size_t n_empty_docs;     /* documents left with no tokens */
} lt_corpus;

/* How text becomes a corpus. */
typedef struct lt_corpus_options {
    int folder;                /* 0: one document per line of a file; 1: path is a folder, a document per file */
    int allow_empty;           /* blank lines / empty files are kept as empty documents instead of refused */
    size_t min_length;         /* shortest word kept, in letters (default 2; 0 counts as 1) */
    int stopwords;             /* 1: the built-in English list (default); 0: none */
    const char *stopword_file; /* a user list, words per line, '#' comments (replaces the built-in one), or NULL */
    double min_df;             /* default 1 (a count when >= 1, a fraction when < 1) */
    double max_df;             /* default 1.0 (a fraction: no limit) */
    size_t max_vocab;          /* 0: no limit */
} lt_corpus_options;

void lt_corpus_options_default(lt_corpus_options *o);

/* Read text into a new corpus. With `vocab` NULL a vocabulary is built
 * (pruned as the options say); otherwise the words are mapped through the
 * given vocabulary (n_vocab strings, copied) and words not in it are dropped
 * (counted in n_dropped_tokens). The caller frees *out with lt_corpus_free. */
lt_status lt_corpus_read_text(const char *path, const lt_corpus_options *o, char *const *vocab, size_t n_vocab,
                              lt_corpus **out);

/* The same on a string in memory (`name` is used in messages); with
 * o->folder set the whole string is one document. */
lt_status lt_corpus_from_text(const char *text, size_t len, const char *name, const lt_corpus_options *o,
                              char *const *vocab, size_t n_vocab, lt_corpus **out);

/* UCI bag-of-words. `vocab_path` may be NULL (then corpus->vocab is NULL and
 * n_vocab comes from the header's W). The caller frees *out. */
lt_status lt_corpus_read_docword(const char *docword_path, const char *vocab_path, lt_corpus **out);

/* Write UCI docword (and vocab when vocab_path is not NULL and the corpus has
 * one), each atomically, entries of a document in increasing word id. Empty
 * documents keep their ids (D counts them). A corpus without documents or
 * words, or a word that is empty or holds a line break, is refused. */
lt_status lt_corpus_write_docword(const lt_corpus *c, const char *docword_path, const char *vocab_path);

/* The built-in English stop words (a NULL-terminated list, static). */
const char *const *lt_stopwords_english(void);

/* Remap a corpus to another vocabulary (by string; the corpus must have a
 * vocabulary and `vocab` no repeated word); words not in it are dropped and
 * added to n_dropped_tokens. For scoring held-out text with a model's words. */
lt_status lt_corpus_remap(const lt_corpus *c, char *const *vocab, size_t n_vocab, lt_corpus **out);

/* Check a corpus's invariants: doc_ptr starts at 0, does not decrease and
 * ends at n_tokens; ids are in [0, n_vocab); a word's occurrences in a
 * document are next to each other; vocab entries (when vocab is set) are not
 * NULL. LT_ERR_INVALID naming `name` (may be NULL), the document and id. */
lt_status lt_corpus_check(const lt_corpus *c, const char *name);

/* Free a corpus and everything it holds (vocab: n_vocab strings); NULL does
 * nothing. */
void lt_corpus_free(lt_corpus *c);

/* Streaming docword: documents in order, at most `max_docs` per batch; the
 * memory held is one batch and a read buffer (up to 1 MiB). Every check of
 * lt_corpus_read_docword is made as the entries go by (the NNZ check when the
 * last batch is read). After a failure, next fails until a rewind. A stream
 * belongs to one thread at a time; the caller closes it, and frees each
 * batch with lt_corpus_free. */
typedef struct lt_docword_stream lt_docword_stream;
lt_status lt_docword_stream_open(const char *docword_path, lt_docword_stream **out);
/* Header values. */
size_t lt_docword_stream_docs(const lt_docword_stream *s);
size_t lt_docword_stream_vocab(const lt_docword_stream *s);
/* The next batch as a corpus (vocab NULL; n_vocab from the header), or
 * *out = NULL at the end. Empty documents (ids with no entries) come out as
 * empty documents. */
lt_status lt_docword_stream_next(lt_docword_stream *s, size_t max_docs, lt_corpus **out);
/* Back to the first document (for another pass). */
lt_status lt_docword_stream_rewind(lt_docword_stream *s);
void lt_docword_stream_close(lt_docword_stream *s);

#ifdef __cplusplus
}
#endif

#endif
