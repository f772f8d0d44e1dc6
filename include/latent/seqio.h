/* latent — sequence input and output.
 *
 * Sequence models (HMMs, later the text models) read their data into an
 * lt_dataset (latent/model.h) of one of two shapes:
 *
 *   symbols  text, as tokens or as characters, mapped to ids 0..V-1 through a
 *            vocabulary of V strings; one sequence per line (or per file);
 *   rows     numeric rows (CSV, NPY, IDX), cut into sequences by a lengths
 *            file or by a sequence-id column; with neither, one sequence.
 *
 * Text
 * ----
 * Tokens: one sequence per line, tokens separated by ASCII white space
 * (space, tab, CR, VT, FF); blank lines are skipped. Characters: the text
 * read character by character, one sequence per line (a CR before the line
 * break is dropped; lines left empty are skipped) or, with `whole_file`, the
 * whole file as one sequence in which a line break is a character like any
 * other.
 *
 * Encoding: text is UTF-8. A character is a Unicode code point, so 'é'
 * (two bytes) is one symbol. A byte that is not part of valid UTF-8 (and a
 * NUL byte) reads as U+FFFD, the replacement character, one per bad byte;
 * tokens holding such bytes get U+FFFD in their place too. So every symbol
 * in a vocabulary is valid UTF-8 and no input, however damaged, is refused
 * for its encoding. `lowercase` folds ASCII A-Z only.
 *
 * Alphabet (characters only): a UTF-8 string of the characters to keep
 * (compared after lower-casing). Every other character becomes `replace`
 * (one character) or, when `replace` is NULL, is dropped. With `squeeze`, a
 * run of replacement characters (made by the mapping or already in the text)
 * becomes one, as `tr -cs` does: "Hello, world!" with the alphabet a-z and
 * space, replace " ", lowercase and squeeze, reads "hello world ".
 *
 * Vocabulary: when fitting (no vocabulary given) one is built from the data,
 * in first-seen order, or sorted by bytes (strcmp) with `sort_vocab`. When
 * scoring, the data are mapped through the model's vocabulary, and a symbol
 * that is not in it is an error:
 *     FILE:LINE: symbol 'xyz' is not in the model's vocabulary
 * (LINE counts physical lines from 1; control bytes in the symbol are shown
 * escaped and long symbols cut short).
 *
 * Rows
 * ----
 * A lengths file holds one positive integer per line (blank lines skipped);
 * the lengths must add up to the number of rows:
 *     FILE: lengths add up to N but the data has M rows
 * A sequence-id column (1-based number, or a name from the CSV header): rows
 * with the same id next to each other form one sequence (an id that comes
 * back after another starts a new sequence); the column is removed from the
 * features.
 *
 * Errors are statuses with a message naming the file (and line where there
 * is one), as everywhere in liblatent; nothing here prints or exits. All
 * functions are thread-safe on distinct arguments.
 */
#ifndef LATENT_SEQIO_H
#define LATENT_SEQIO_H

#include "latent/core.h"
#include "latent/io.h"
#include "latent/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How text is read. */
typedef struct lt_text_options {
    int chars;            /* 0: whitespace-separated tokens; 1: characters */
    int whole_file;       /* characters: the whole file is one sequence (else one per line) */
    int lowercase;        /* fold ASCII A-Z to a-z first */
    const char *alphabet; /* characters: the characters kept (UTF-8), or NULL to keep all */
    const char *replace;  /* characters with an alphabet: one character standing for every other, NULL drops them */
    int squeeze;          /* characters: a run of replacement characters becomes one */
    int sort_vocab;       /* a new vocabulary is sorted by bytes instead of in first-seen order */
} lt_text_options;

/* Tokens, one sequence per line, first-seen vocabulary, nothing else. */
void lt_text_options_default(lt_text_options *o);

/* Check the options: the alphabet must be valid UTF-8 and not empty, the
 * replacement exactly one character; LT_ERR_INVALID otherwise, naming it. */
lt_status lt_text_options_check(const lt_text_options *o);

/* Read text from memory (`name` is used in messages, may be NULL) or from a
 * file into a dataset of symbols, cut into sequences (lengths always set),
 * with its vocabulary and `chars` set from the options.
 * vocab / vocab_size: a vocabulary to map through (borrowed; the dataset
 * gets its own copy), or NULL to build one from the data.
 * Errors: the file cannot be read (LT_ERR_IO); no sequences at all
 * (LT_ERR_FORMAT: "FILE: no sequences (...)"); a symbol outside the given
 * vocabulary (LT_ERR_FORMAT, as above); bad options (LT_ERR_INVALID).
 * *out is owned by the caller (lt_dataset_free); NULL on failure. */
lt_status lt_seq_parse_text(const char *name, const char *buf, size_t len, const lt_text_options *o,
                            const char *const *vocab, size_t vocab_size, lt_dataset **out);
lt_status lt_seq_read_text(const char *path, const lt_text_options *o, const char *const *vocab, size_t vocab_size,
                           lt_dataset **out);

/* A lengths file: one positive integer per line. *lengths (malloc'd, the
 * caller frees it) gets *n entries. Errors name the file and line:
 * "FILE:LINE: expected a positive integer, found 'x'", "FILE: no lengths
 * (the file is empty)", a sum that overflows. */
lt_status lt_seq_read_lengths(const char *path, size_t **lengths, size_t *n);

/* Cut the dataset (rows or symbols, not yet cut) into n sequences of the
 * given lengths (copied). `name` (the lengths file) starts the message:
 * "NAME: lengths add up to N but the data has M rows" (LT_ERR_DIM). */
lt_status lt_seq_set_lengths(lt_dataset *d, const size_t *lengths, size_t n, const char *name);

/* Take column `col` (0-based) of the rows as sequence ids: consecutive rows
 * with equal ids form one sequence; the column is removed and the rows
 * become float64. Errors (naming `name`, the data file): the dataset has no
 * rows or is already cut, the column does not exist, or it is the only one
 * (no features would be left). */
lt_status lt_seq_split_by_column(lt_dataset *d, size_t col, const char *name);

/* What a file holds, for lt_seq_read. */
typedef enum lt_seq_input {
    LT_SEQ_AUTO = 0, /* by extension: .txt is text, anything else rows */
    LT_SEQ_ROWS,     /* CSV, NPY or IDX (by `format`) */
    LT_SEQ_TEXT      /* tokens or characters (by text.chars) */
} lt_seq_input;

typedef struct lt_seq_read_options {
    lt_seq_input input;
    lt_format format;         /* rows: LT_FMT_AUTO reads by extension */
    lt_text_options text;     /* text */
    const char *lengths;      /* rows: a lengths file, or NULL */
    const char *seq_column;   /* rows: "N" (1-based) or a CSV header name, or NULL */
    const char *const *vocab; /* text: a vocabulary to map through, or NULL to build one */
    size_t vocab_size;
} lt_seq_read_options;

/* Defaults: LT_SEQ_AUTO, LT_FMT_AUTO, lt_text_options_default, no lengths,
 * no column, no vocabulary. */
void lt_seq_read_options_default(lt_seq_read_options *o);

/* Read a file of sequences. Rows with neither lengths nor a column are one
 * sequence. Errors besides those of the readers: lengths and a column
 * together, lengths or a column for text ("NAME: --lengths applies to rows
 * (CSV, NPY), not to text"), a data file without rows. The `lengths` and
 * `seq_column` fields keep their command-line names in messages. *out is
 * owned by the caller; NULL on failure. */
lt_status lt_seq_read(const char *path, const lt_seq_read_options *o, lt_dataset **out);

/* Write a dataset of sequences (lengths NULL: one sequence), by extension:
 *   .txt   symbols, one sequence per line: tokens joined by single spaces,
 *          or characters joined by nothing when d->chars is set; symbols
 *          are the vocabulary's strings (ids in decimal when there is none);
 *   .csv   a header line and one row per step: `sequence` (0-based) then
 *          the features x_0..x_{d-1}, or the symbol id as `symbol`;
 *   .npy   the rows (or symbol ids) alone, float64, one row per step.
 * Atomic: a failure leaves no file. LT_ERR_INVALID for another extension or
 * for rows to .txt. */
lt_status lt_seq_write(const char *path, const lt_dataset *d);

#ifdef __cplusplus
}
#endif
#endif
