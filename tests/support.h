/*
 * Helpers shared by the tests: running the real fulcrum binary, temporary
 * folders, reading files.
 */
#ifndef FC_TEST_SUPPORT_H
#define FC_TEST_SUPPORT_H

#include <stddef.h>

/* Path of the fulcrum binary under test ($FC_BINARY, else the build's). */
const char *fc_test_binary(void);

/* Run the fulcrum binary with args (NULL-terminated, without argv[0]) in
 * folder `cwd` (NULL: current), standard input from /dev/null. Captures stdout
 * and stderr into malloc'd strings (*out, *err may be NULL when not wanted;
 * caller frees). Returns the exit status, or -1 when it did not exit normally. */
int fc_test_run(const char *cwd, const char *const *args, char **out, char **err);

/* As fc_test_run, with standard input read from the file `in_path` (NULL:
 * /dev/null). */
int fc_test_run_stdin(const char *cwd, const char *in_path, const char *const *args, char **out,
                      char **err);

/* Write len bytes of text to dir/name (created or truncated); 0 on success. */
int fc_test_write(const char *dir, const char *name, const char *text, size_t len);

/* A fresh folder under /tmp (caller frees the string; remove with
 * fc_test_rmtree). */
char *fc_test_tmpdir(void);
/* Remove a folder and everything in it. */
void fc_test_rmtree(const char *dir);

/* Whole file into a malloc'd NUL-terminated buffer (caller frees); *len (may
 * be NULL) receives its length, NUL bytes in the file included. NULL when
 * unreadable. */
char *fc_test_slurp(const char *path, size_t *len);

/* Copy the file `src` to dir/name (created or truncated); 0 on success. */
int fc_test_copy(const char *src, const char *dir, const char *name);

#endif
