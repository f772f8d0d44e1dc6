/* Atomic file output: write a temporary beside the target, then rename it.
 *
 * rename(2) within one directory replaces the target in a single step, so a
 * reader sees either the old file or the complete new one, never a torn
 * write, and a failed writer leaves nothing behind. The temporary must live in
 * the target's directory because rename cannot cross filesystems. The fsync
 * before the rename makes the data durable before the name points at it;
 * without it a crash can leave a renamed but empty file on ext4/xfs.
 */
#include "internal.h"
#include "latent/io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct lt_atomic_file {
    FILE *fp;
    char *path; /* the target                     */
    char *tmp;  /* ".<base>.tmpXXXXXX" beside it  */
};

static void atomic_free(lt_atomic_file *f)
{
    if (!f) return;
    free(f->path);
    free(f->tmp);
    free(f);
}

lt_status lt_atomic_open(const char *path, lt_atomic_file **out)
{
    lt_status st = LT_OK;
    lt_atomic_file *f = NULL;
    int fd = -1;
    if (out) *out = NULL;
    if (!path || !out) return lt_fail(LT_ERR_INVALID, "atomic write: no path given");
    size_t n = strlen(path);
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    if (n == dirlen) return lt_fail(LT_ERR_INVALID, "'%s': not a file name", path);

    f = lt_calloc(1, sizeof *f);
    if (!f) return LT_ERR_NOMEM;
    f->path = lt_malloc(n + 1, 1);
    f->tmp = lt_malloc(n + sizeof ".tmpXXXXXX" + 1, 1);
    if (!f->path || !f->tmp) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    memcpy(f->path, path, n + 1);
    memcpy(f->tmp, path, dirlen);
    f->tmp[dirlen] = '.';
    memcpy(f->tmp + dirlen + 1, path + dirlen, n - dirlen);
    memcpy(f->tmp + n + 1, ".tmpXXXXXX", sizeof ".tmpXXXXXX");

    fd = mkstemp(f->tmp);
    if (fd < 0) {
        st = lt_fail(LT_ERR_IO, "%s: cannot create a temporary file: %s", path, strerror(errno));
        goto done;
    }
    /* mkstemp makes the file 0600; an output file should get the usual
     * permissions, or keep those of the file it replaces. */
    struct stat sb;
    mode_t mode = stat(path, &sb) == 0 ? (sb.st_mode & 07777) : 0644;
    if (fchmod(fd, mode) != 0) {
        st = lt_fail(LT_ERR_IO, "%s: cannot set permissions: %s", path, strerror(errno));
        goto done;
    }
    f->fp = fdopen(fd, "wb");
    if (!f->fp) {
        st = lt_fail(LT_ERR_IO, "%s: cannot open a stream: %s", path, strerror(errno));
        goto done;
    }
    *out = f;
    return LT_OK;

done:
    if (fd >= 0) {
        close(fd);
        unlink(f->tmp);
    }
    atomic_free(f);
    return st;
}

void *lt_atomic_stream(lt_atomic_file *f)
{
    return f ? f->fp : NULL;
}

lt_status lt_atomic_commit(lt_atomic_file *f)
{
    if (!f) return lt_fail(LT_ERR_INVALID, "atomic commit: no file");
    lt_status st = LT_OK;
    int err = 0;
    /* A failed fwrite earlier only sets the stream's error flag, and its errno
     * may be long gone: report EIO then rather than a stale errno. */
    errno = 0;
    if (fflush(f->fp) != 0 || ferror(f->fp))
        err = errno ? errno : EIO;
    else if (fsync(fileno(f->fp)) != 0)
        err = errno;
    if (fclose(f->fp) != 0 && !err) err = errno ? errno : EIO;
    f->fp = NULL;
    if (!err && rename(f->tmp, f->path) != 0) err = errno;
    if (err) {
        unlink(f->tmp);
        st = lt_fail(LT_ERR_IO, "%s: cannot write: %s", f->path, strerror(err));
        goto done;
    }
    /* Make the rename itself durable; best effort, as some filesystems
     * refuse fsync on directories and the data is already safe. */
    char *slash = strrchr(f->path, '/');
    if (slash == f->path)
        slash[1] = '\0'; /* "/name": the directory is "/" */
    else if (slash)
        *slash = '\0';
    int dfd = open(slash ? f->path : ".", O_RDONLY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }

done:
    atomic_free(f);
    return st;
}

void lt_atomic_abort(lt_atomic_file *f)
{
    if (!f) return;
    if (f->fp) fclose(f->fp);
    unlink(f->tmp);
    atomic_free(f);
}
