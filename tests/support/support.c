/*
 * Helpers shared by the tests (see tests/support.h).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support.h"

const char *fc_test_binary(void) {
    const char *b = getenv("FC_BINARY");
    return b != NULL && b[0] != '\0' ? b : FC_BINARY;
}

/* Read all of fd into a malloc'd NUL-terminated string; *len (may be NULL)
 * receives its length, NUL bytes in it included. */
static char *read_all(int fd, size_t *len_out) {
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (buf == NULL) {
        return NULL;
    }
    for (;;) {
        if (len + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n <= 0) {
            break;
        }
        len += (size_t)n;
    }
    buf[len] = '\0';
    if (len_out != NULL) {
        *len_out = len;
    }
    return buf;
}

int fc_test_run(const char *cwd, const char *const *args, char **out, char **err) {
    return fc_test_run_stdin(cwd, NULL, args, out, err);
}

int fc_test_run_stdin(const char *cwd, const char *in_path, const char *const *args, char **out,
                      char **err) {
    char out_path[] = "/tmp/fc-test-out-XXXXXX", err_path[] = "/tmp/fc-test-err-XXXXXX";
    int ofd = mkstemp(out_path), efd = mkstemp(err_path);
    if (ofd < 0 || efd < 0) {
        return -1;
    }
    size_t n = 0;
    while (args[n] != NULL) {
        n++;
    }
    const char **argv = calloc(n + 2, sizeof *argv);
    if (argv == NULL) {
        return -1;
    }
    argv[0] = fc_test_binary();
    memcpy(argv + 1, args, n * sizeof *argv);
    pid_t pid = fork();
    if (pid == 0) {
        int nul = open(in_path != NULL ? in_path : "/dev/null", O_RDONLY);
        if (nul >= 0) {
            dup2(nul, 0);
        }
        dup2(ofd, 1);
        dup2(efd, 2);
        if (cwd != NULL && chdir(cwd) != 0) {
            _exit(126);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    free(argv);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) {
        status = -1;
    }
    if (out != NULL) {
        lseek(ofd, 0, SEEK_SET);
        *out = read_all(ofd, NULL);
    }
    if (err != NULL) {
        lseek(efd, 0, SEEK_SET);
        *err = read_all(efd, NULL);
    }
    close(ofd);
    close(efd);
    unlink(out_path);
    unlink(err_path);
    if (status == -1 || !WIFEXITED(status)) {
        return -1;
    }
    return WEXITSTATUS(status);
}

char *fc_test_tmpdir(void) {
    char tmpl[] = "/tmp/fc-test-XXXXXX";
    if (mkdtemp(tmpl) == NULL) {
        return NULL;
    }
    return strdup(tmpl);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void fc_test_rmtree(const char *dir) {
    if (dir != NULL) {
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    }
}

char *fc_test_slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    char *buf = read_all(fileno(f), len);
    fclose(f);
    return buf;
}

int fc_test_copy(const char *src, const char *dir, const char *name) {
    size_t len = 0;
    char *text = fc_test_slurp(src, &len);
    if (text == NULL) {
        return -1;
    }
    int rc = fc_test_write(dir, name, text, len);
    free(text);
    return rc;
}

int fc_test_write(const char *dir, const char *name, const char *text, size_t len) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        return -1;
    }
    size_t put = fwrite(text, 1, len, f);
    if (fclose(f) != 0 || put != len) {
        return -1;
    }
    return 0;
}
