/* latent — reports: an ordered set of named values and tables that a fit,
 * a score or `latent info` produces, printed by the command line as text or
 * as one JSON object (key names are stable; see the README). */
#ifndef LATENT_REPORT_H
#define LATENT_REPORT_H

#include "latent/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lt_report lt_report;

lt_status lt_report_create(lt_report **out);
void lt_report_free(lt_report *r); /* NULL ok */

/* Set a value (replacing one of the same key). Keys are snake_case. */
lt_status lt_report_num(lt_report *r, const char *key, double v);
lt_status lt_report_int(lt_report *r, const char *key, int64_t v);
lt_status lt_report_str(lt_report *r, const char *key, const char *v);
lt_status lt_report_bool(lt_report *r, const char *key, int v);
/* A numeric array value. */
lt_status lt_report_nums(lt_report *r, const char *key, const double *v, size_t n);

/* A table: named columns, rows of numbers (NaN prints as "-" / null);
 * `title` is shown above it in text. Rows are appended with
 * lt_report_table_row, whose `row` has as many values as columns. */
lt_status lt_report_table(lt_report *r, const char *key, const char *title, size_t ncols,
                          const char *const *columns);
lt_status lt_report_table_row(lt_report *r, const char *key, const double *row);

/* Render: JSON (one object, newline-terminated) or aligned text. The
 * string is malloc'd and owned by the caller (free()). */
lt_status lt_report_json(const lt_report *r, char **out);
lt_status lt_report_text(const lt_report *r, char **out);

#ifdef __cplusplus
}
#endif
#endif
