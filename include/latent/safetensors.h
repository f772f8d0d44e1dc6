/* latent — model files in the safetensors layout.
 *
 * Layout: an unsigned 64-bit little-endian header length N, then N bytes of
 * UTF-8 JSON, then the raw little-endian tensor bytes. The JSON maps each
 * tensor name to {"dtype": "F64"|"F32"|"U8"|"I64", "shape": [...],
 * "data_offsets": [begin, end]} (offsets relative to the byte after the
 * header) and may hold "__metadata__": an object of string to string.
 * Python's safetensors and a few lines of numpy read these files as they are.
 *
 * Loading validates everything: the header length against the file size and
 * a sane limit (100 MB), the JSON (UTF-8, no duplicate keys, no unknown
 * fields), each dtype, that shape products times element size equal the
 * offset span, that spans lie inside the data and do not overlap, and that
 * nothing follows the last tensor. Gaps between tensors are accepted. Any
 * failure is LT_ERR_FORMAT with a message starting with the file name and
 * naming the tensor or field. Sizes, extents and offsets must be below 2^53.
 *
 * Files written here: "__metadata__" first, then the tensors in the order
 * they were added; the header is padded with spaces so the data starts at a
 * multiple of 8 bytes, and the data region holds the 8-byte tensors first,
 * then F32, then U8, with no gaps (the reference safetensors reader insists
 * that tensors tile the data exactly), so each tensor starts at a multiple of
 * its element size.
 *
 * Thread-safety: a writer or file object may be used by one thread at a time;
 * distinct objects are independent. A loaded file is read-only, so any number
 * of threads may query it at once.
 */
#ifndef LATENT_SAFETENSORS_H
#define LATENT_SAFETENSORS_H

#include "latent/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lt_st_dtype { LT_ST_F64, LT_ST_F32, LT_ST_U8, LT_ST_I64 } lt_st_dtype;

#define LT_ST_MAX_DIMS 8

/* ---- writing ---- */

typedef struct lt_st_writer lt_st_writer;

/* Start a new, empty file description; *out is owned by the caller and
 * released with lt_st_writer_free. */
lt_status lt_st_writer_create(lt_st_writer **out);
void lt_st_writer_free(lt_st_writer *w); /* NULL ok */

/* Add a metadata string (key and value copied; both valid UTF-8, else
 * LT_ERR_INVALID). Keys are unique; re-adding replaces, keeping the place. */
lt_status lt_st_writer_meta(lt_st_writer *w, const char *key, const char *value);
/* Metadata helpers: numbers written with full precision ("%.17g", always
 * with a '.' whatever the locale), so lt_st_meta_f64 reads back the same
 * double; integers in decimal. */
lt_status lt_st_writer_meta_f64(lt_st_writer *w, const char *key, double v);
lt_status lt_st_writer_meta_i64(lt_st_writer *w, const char *key, int64_t v);

/* Add a tensor. The data (host byte order, C order, product(shape) elements)
 * is copied at call time, so the caller may free it. shape has ndim entries
 * (0 <= ndim <= LT_ST_MAX_DIMS; ndim 0 is a scalar of one element); data may
 * be NULL when the size is 0. Names are unique (a second add of a name is
 * LT_ERR_INVALID) and "__metadata__" is reserved. */
lt_status lt_st_writer_tensor(lt_st_writer *w, const char *name, lt_st_dtype dtype,
                              size_t ndim, const size_t *shape, const void *data);

/* Write the file atomically (temporary file + fsync + rename): on failure
 * (LT_ERR_IO naming the path) nothing is left at `path` or beside it. The
 * writer is unchanged and may be saved again. */
lt_status lt_st_writer_save(lt_st_writer *w, const char *path);

/* ---- reading ---- */

typedef struct lt_st_file lt_st_file;

/* Read and validate a whole file into memory. `path` is used in messages.
 * LT_ERR_IO when it cannot be opened or read, LT_ERR_FORMAT when invalid.
 * *out is owned by the caller and released with lt_st_free. */
lt_status lt_st_load(const char *path, lt_st_file **out);
void lt_st_free(lt_st_file *f); /* NULL ok */

/* Metadata lookup: NULL when absent. Pointer owned by f. */
const char *lt_st_meta(const lt_st_file *f, const char *key);
/* Number of metadata entries and the key of entry i (header order; NULL when
 * i is out of range), for listing them all (`latent info`). */
size_t lt_st_meta_count(const lt_st_file *f);
const char *lt_st_meta_key(const lt_st_file *f, size_t i);
/* Metadata parsed as a number; LT_ERR_FORMAT naming the key when absent or
 * not a number. */
lt_status lt_st_meta_f64(const lt_st_file *f, const char *key, double *out);
lt_status lt_st_meta_i64(const lt_st_file *f, const char *key, int64_t *out);

/* Tensor lookup by name with expected dtype and shape: fails with
 * LT_ERR_FORMAT ("model file X: tensor 'means' has shape [3,2], expected
 * [3,4]"; "... has dtype F32, expected F64"; "... tensor 'means' is missing")
 * when missing or different. Pass shape entries of SIZE_MAX to accept any
 * extent on that axis (shown as '*' in messages); on success the actual shape
 * is written back into `shape`. *data (may be NULL to only check) points into
 * f, in host byte order, aligned for the dtype, and lives as long as f; it is
 * set to NULL on failure. */
lt_status lt_st_tensor(const lt_st_file *f, const char *name, lt_st_dtype dtype,
                       size_t ndim, size_t *shape, const void **data);

/* Number of tensors and their names in header order, which for files
 * written here is the order they were added (for `latent info`). lt_st_name
 * returns NULL when i is out of range. */
size_t lt_st_count(const lt_st_file *f);
const char *lt_st_name(const lt_st_file *f, size_t i);

/* The dtype and shape of tensor i (i < lt_st_count(f), else LT_ERR_INVALID);
 * shape needs room for LT_ST_MAX_DIMS entries; any out-pointer may be NULL. */
lt_status lt_st_describe(const lt_st_file *f, size_t i, lt_st_dtype *dtype, size_t *ndim,
                         size_t shape[LT_ST_MAX_DIMS]);

/* "F64", "F32", "U8", "I64" ("unknown" for anything else). */
const char *lt_st_dtype_name(lt_st_dtype t);

/* Lower-level: validate an in-memory image of a whole file (used by
 * lt_st_load and the fuzz target); name_for_messages may be NULL. The
 * buffer is copied, so the caller keeps ownership of it. */
lt_status lt_st_parse(const char *name_for_messages, const void *buf, size_t len,
                      lt_st_file **out);

#ifdef __cplusplus
}
#endif
#endif
