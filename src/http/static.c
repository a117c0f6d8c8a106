/*
 * http static files: the web console (console/, built into console/dist by
 * scripts/console.sh) at GET / (index.html) and GET /assets/{*} (the bundle),
 * open to all: the console asks for a token itself.
 *
 * The folder is $FULCRUM_CONSOLE, or else console/dist of the source tree
 * the server was built from. Files are opened at request time (a rebuilt
 * console is served without a restart) and sent with sendfile by MHD; the
 * ETag is the file's size, modification time and inode, so a 304 answer
 * reads no content. When the client takes gzip and the build wrote a gzip
 * copy next to the file (NAME.gz), the copy is sent with Content-Encoding:
 * gzip (its own ETag). A missing index.html is 503 unavailable (the console is
 * not built); a path with a segment starting with '.', a byte outside
 * [A-Za-z0-9._/-] or anything but a regular file is 404.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/http_internal.h"

#define CACHE_IMMUTABLE  "public, max-age=31536000, immutable"
#define CACHE_REVALIDATE "no-cache"
/* The console loads only its own files and talks only to this server. */
#define CONSOLE_CSP                                                                                \
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; connect-src 'self'; "       \
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

/* The console's folder (never NULL). */
const char *fc_http_console_dir(void) {
    const char *env = getenv("FULCRUM_CONSOLE");
    return env != NULL && env[0] != '\0' ? env : FC_SOURCE_DIR "/console/dist";
}

/* The Content-Type of a file name, by its extension. */
static const char *content_type(const char *name) {
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".map", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".woff", "font/woff"},
        {".ttf", "font/ttf"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');
    if (dot != NULL && strchr(dot, '/') == NULL) {
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
            if (strcmp(dot, types[i].ext) == 0) {
                return types[i].type;
            }
        }
    }
    return "application/octet-stream";
}

/* Whether rest is a safe relative path: non-empty, bytes of [A-Za-z0-9._/-]
 * only, no empty segment and no segment starting with '.' (so neither ".."
 * nor "." nor hidden files, nor a leading '/'). */
static int safe_path(const char *rest) {
    if (rest[0] == '\0') {
        return 0;
    }
    int seg_start = 1;
    for (const char *p = rest; *p != '\0'; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-' || c == '/';
        if (!ok || (seg_start && (c == '.' || c == '/'))) {
            return 0;
        }
        seg_start = c == '/';
    }
    return !seg_start; /* no trailing '/' */
}

/* Whether name (the last segment of a path) carries a content hash, as the
 * bundler writes it: "<name>-<HASH>.<ext>" with HASH of 8 or more
 * characters of [A-Z0-9]. Such a file never changes under its name. */
static int hashed_name(const char *path) {
    const char *name = strrchr(path, '/');
    name = name != NULL ? name + 1 : path;
    const char *dot = strchr(name, '.');
    const char *dash = strrchr(name, '-');
    if (dot == NULL || dash == NULL || dash > dot || dot - dash - 1 < 8) {
        return 0;
    }
    for (const char *p = dash + 1; p < dot; p++) {
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))) {
            return 0;
        }
    }
    return 1;
}

/* Whether the If-None-Match header (a list of entity tags, or "*") names
 * etag (weak comparison, RFC 9110 13.1.2). */
static int etag_matches(const char *inm, const char *etag) {
    if (inm == NULL) {
        return 0;
    }
    size_t elen = strlen(etag);
    const char *p = inm;
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        if (*p == '*') {
            return 1;
        }
        if (strncmp(p, "W/", 2) == 0) {
            p += 2;
        }
        size_t n = strcspn(p, ",");
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) {
            n--;
        }
        if (n == elen && memcmp(p, etag, n) == 0) {
            return 1;
        }
        p += strcspn(p, ",");
    }
    return 0;
}

/* Whether the request's Accept-Encoding takes gzip (a "gzip" entry whose
 * q is not 0; "*" is not taken as gzip). */
static int accepts_gzip(fc_hreq *q) {
    const char *ae =
        MHD_lookup_connection_value(q->c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
    for (const char *p = ae; p != NULL && *p != '\0';) {
        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        size_t n = strcspn(p, ",");
        if (n >= 4 && strncasecmp(p, "gzip", 4) == 0 && (n == 4 || p[4] == ';' || p[4] == ' ')) {
            const char *qv = memchr(p, '=', n);
            return qv == NULL || strtod(qv + 1, NULL) > 0.0;
        }
        p += n;
    }
    return 0;
}

/* Queue resp with status and the headers every console file gets (gz: the
 * body is the file's gzip copy). */
static enum MHD_Result queue(fc_hreq *q, unsigned status, struct MHD_Response *resp,
                             const char *type, const char *etag, const char *cache, int page,
                             int gz) {
    if (resp == NULL) {
        return MHD_NO;
    }
    if (status == MHD_HTTP_OK) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    }
    if (gz) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (page) {
        MHD_add_response_header(resp, "Content-Security-Policy", CONSOLE_CSP);
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    }
    enum MHD_Result ok = MHD_queue_response(q->c, status, resp);
    MHD_destroy_response(resp);
    if (ok == MHD_YES) {
        q->r->status = status;
    }
    return ok;
}

/* 503: the console is not built (its index.html is not in dir). */
static enum MHD_Result send_not_built(fc_hreq *q, const char *dir) {
    return fc__http_send_errorf(q, MHD_HTTP_SERVICE_UNAVAILABLE, FC_HTTP_EUNAVAILABLE,
                                "the web console is not built (no index.html in %.400s): run "
                                "scripts/console.sh, or set FULCRUM_CONSOLE to its folder",
                                dir);
}

/* Serve the file rel (a safe path) of the console's folder, or 404/503. */
static enum MHD_Result serve(fc_hreq *q, const char *rel, const char *cache, int page) {
    const char *dir = fc_http_console_dir();
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", dir, rel);
    if (n < 0 || (size_t)n >= sizeof path) {
        return fc__http_send_errorf(q, MHD_HTTP_NOT_FOUND, FC_HTTP_ENOT_FOUND, "no such file");
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int missing = fd < 0 && (errno == ENOENT || errno == ENOTDIR);
        if (fd >= 0) {
            close(fd);
        }
        char index[4096];
        n = snprintf(index, sizeof index, "%s/index.html", dir);
        if (page || (missing && n > 0 && (size_t)n < sizeof index && access(index, R_OK) != 0)) {
            return send_not_built(q, dir);
        }
        return fc__http_send_errorf(q, MHD_HTTP_NOT_FOUND, FC_HTTP_ENOT_FOUND,
                                    "no console file %.300s", rel);
    }
    /* The gzip copy the build writes next to the file (path.gz), when the
     * client takes gzip. */
    int gz = 0;
    if (accepts_gzip(q) && (size_t)n + 3 < sizeof path) {
        memcpy(path + n, ".gz", 4);
        int gfd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat gst;
        if (gfd >= 0 && fstat(gfd, &gst) == 0 && S_ISREG(gst.st_mode)) {
            close(fd);
            fd = gfd;
            st = gst;
            gz = 1;
        } else if (gfd >= 0) {
            close(gfd);
        }
    }
    char etag[80];
    snprintf(etag, sizeof etag, "\"%llx-%llx-%llx\"", (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtim.tv_sec * 1000000000ull +
                 (unsigned long long)st.st_mtim.tv_nsec,
             (unsigned long long)st.st_ino);
    const char *inm =
        MHD_lookup_connection_value(q->c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (etag_matches(inm, etag)) {
        close(fd);
        return queue(q, MHD_HTTP_NOT_MODIFIED,
                     MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT), NULL, etag,
                     cache, page, gz);
    }
    /* MHD owns fd from here (closed when the response is destroyed). */
    struct MHD_Response *resp = MHD_create_response_from_fd((size_t)st.st_size, fd);
    if (resp == NULL) {
        close(fd);
        return MHD_NO;
    }
    return queue(q, MHD_HTTP_OK, resp, content_type(rel), etag, cache, page, gz);
}

enum MHD_Result fc__http_get_console(fc_hreq *q) {
    return serve(q, "index.html", CACHE_REVALIDATE, 1);
}

enum MHD_Result fc__http_get_console_asset(fc_hreq *q) {
    if (!safe_path(q->rest)) {
        return fc__http_send_errorf(q, MHD_HTTP_NOT_FOUND, FC_HTTP_ENOT_FOUND,
                                    "no console file %.300s", q->rest);
    }
    char rel[FC_HTTP_ARG_MAX * 8];
    int n = snprintf(rel, sizeof rel, "assets/%s", q->rest);
    if (n < 0 || (size_t)n >= sizeof rel) {
        return fc__http_send_errorf(q, MHD_HTTP_NOT_FOUND, FC_HTTP_ENOT_FOUND, "no such file");
    }
    return serve(q, rel, hashed_name(q->rest) ? CACHE_IMMUTABLE : CACHE_REVALIDATE, 0);
}
