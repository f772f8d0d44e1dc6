/* latent — data readers and writers.
 *
 * Every reader validates its input and fails with a message naming the file
 * and, where it applies, the line and column (CSV), the header field (NPY),
 * or the offset (IDX). Writers create a temporary file beside the target and
 * rename it into place, so a failure never leaves a partial output file.
 */
#ifndef LATENT_IO_H
#define LATENT_IO_H

#include "latent/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lt_format {
    LT_FMT_AUTO = 0, /* by extension: .csv .npy .idx .gz (IDX.gz)          */
    LT_FMT_CSV,
    LT_FMT_NPY,
    LT_FMT_IDX /* plain or gzip-compressed (detected by magic bytes)         */
} lt_format;

/* The format implied by a path's extension (case-insensitive); MNIST's bare
 * "...-idx3-ubyte" names are IDX, ".csv.gz"/".npy.gz" are LT_FMT_AUTO (not
 * readable). LT_FMT_AUTO when unknown. */
lt_format lt_format_from_path(const char *path);

/* Parse a format name ("csv", "npy", "idx", any case); LT_FMT_AUTO for
 * NULL/"auto". Returns LT_ERR_INVALID for anything else (*out unchanged). */
lt_status lt_format_parse(const char *name, lt_format *out);

/* Numeric CSV: comma-separated decimal numbers, one sample per line. A first
 * line with any non-numeric field is taken as a header (names returned in
 * *header_out if not NULL: a NULL-terminated array of strings, free with
 * lt_strings_free). Blank lines and a trailing newline are ignored; CRLF is
 * accepted. Errors: empty file, ragged rows (line and expected count), a
 * bad field (line, column, the text found), NaN/inf (refused: line, column).
 * Messages read "FILE:LINE:COL: ...", 1-based, LINE counting every physical
 * line and COL the field number. Statuses: LT_ERR_IO (cannot open/read),
 * LT_ERR_FORMAT (syntax, ragged, empty), LT_ERR_NUMERIC (NaN, inf, overflow).
 * Result: float64 array, owned by the caller; on failure *out and
 * *header_out are NULL. */
lt_status lt_csv_read(const char *path, lt_array **out, char ***header_out);

/* NPY v1/v2/v3: dtypes <f8, <f4, |u1 (and u1/b1 spelled as such), C order,
 * 1-D (n -> n x 1) or 2-D, or N-D with N > 2 (first axis rows, the rest
 * flattened; height/width set for 3-D). Anything else is refused by name
 * (big-endian, fortran_order, int64, object...). */
lt_status lt_npy_read(const char *path, lt_array **out);

/* IDX (the MNIST format), plain or gzip: type 0x08 (uint8) only; 1-D (labels:
 * n x 1), 2-D, or 3-D images (n x rows*cols, height/width set). Sizes in the
 * header are checked against the data length. */
lt_status lt_idx_read(const char *path, lt_array **out);

/* Read by format (LT_FMT_AUTO: by extension, or for an unknown extension by
 * the first bytes: NPY magic, gzip or IDX magic, else CSV). */
lt_status lt_data_read(const char *path, lt_format fmt, lt_array **out);

/* Write a float64 or float32 array as CSV with 17 (f64) or 9 (f32)
 * significant digits, or uint8 as integers; optional header (NULL-terminated,
 * may be NULL; its length must equal cols: LT_ERR_DIM). NaN/inf are refused
 * (LT_ERR_NUMERIC) since the reader refuses them. Atomic (temporary +
 * rename): on any failure no file is created and an existing one is kept. */
lt_status lt_csv_write(const char *path, const lt_array *a, const char *const *header);

/* Write an array as NPY v1.0, its own dtype, C order, 2-D (height/width are
 * not kept), bytes identical to numpy.save. Atomic. */
lt_status lt_npy_write(const char *path, const lt_array *a);

/* Write by extension (.csv or .npy). LT_ERR_INVALID for other extensions. */
lt_status lt_data_write(const char *path, const lt_array *a);

/* Free a NULL-terminated string array; NULL does nothing. */
void lt_strings_free(char **s);

/* Atomic file output: open a temporary file ".<name>.tmpXXXXXX" in the
 * target's directory; commit flushes, fsyncs, closes and renames it over
 * `path` (keeping a replaced file's permission bits, else 0644); abort closes
 * and removes it. Any failure removes the temporary and is LT_ERR_IO naming
 * `path` and the system's reason. Used by every writer in the library. One
 * lt_atomic_file belongs to one thread at a time. */
typedef struct lt_atomic_file lt_atomic_file;
lt_status lt_atomic_open(const char *path, lt_atomic_file **out);
/* The stdio stream to write into. */
void *lt_atomic_stream(lt_atomic_file *f); /* returns FILE* */
lt_status lt_atomic_commit(lt_atomic_file *f);  /* frees f in all cases */
void lt_atomic_abort(lt_atomic_file *f);        /* frees f; NULL ok     */

#ifdef __cplusplus
}
#endif
#endif
