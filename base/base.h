/*
 * base.h - what every module of clustersim shares: the exit codes of the
 * commands, lists of diagnostics, the one signal-name table, durations,
 * did-you-mean suggestions, growable buffers and arrays, and the reader of
 * newline-delimited lines (JSON lines on a stream).
 *
 * Conventions:
 * - Functions return 0 or a negative UV_E* code (UV_ENOMEM when memory
 *   runs out, UV_EINVAL for an argument out of its domain); the exceptions
 *   say so.
 * - Strings passed in are borrowed (copied when kept). Objects returned
 *   through an out pointer are owned by the caller and released by the
 *   matching _free; a struct the caller embeds (base_buf_t, base_lines_t)
 *   is released with its _free and may then be freed or reused.
 * - Nothing here runs a loop, starts a thread or keeps global state beyond
 *   constant tables: every function may be called from any module, in any
 *   process role. Libraries never print: diagnostics come back as strings.
 * - Public fields may be read and written, read-only fields only read,
 *   private fields belong to base/.
 */
#ifndef BASE_H
#define BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <uv.h>

/* ---------------------------------------------------------------------- */
/* Exit codes of `clustersim run|check|list` (docs/harness.md)             */

#define BASE_EXIT_PASS         0   /* every run passed (or was skipped) */
#define BASE_EXIT_FAIL         1   /* a run failed or timed out */
#define BASE_EXIT_INCONCLUSIVE 2   /* no failure, but a run could not decide */
#define BASE_EXIT_SCENARIO     3   /* a scenario is invalid or could not run */
#define BASE_EXIT_INTERNAL     4   /* the harness itself broke */
#define BASE_EXIT_USAGE        64  /* bad command line */
#define BASE_EXIT_INTERRUPTED  130 /* SIGINT/SIGTERM to the harness */

/* ---------------------------------------------------------------------- */
/* Diagnostics                                                             */

/* A list of formatted messages, e.g.
 * "s.yaml:5:11: error: unknown signal 'SIGKIL' (did you mean 'SIGKILL'?)
 * (at /steps/3/kill/signal)". */
typedef struct {
  char **lines;
  size_t count;
  size_t cap;
} base_diag_t;

void base_diag_init(base_diag_t *d);
void base_diag_free(base_diag_t *d);
/* Appends one formatted line; 0 also when `d` is NULL (nobody listens). */
int base_diag_addf(base_diag_t *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---------------------------------------------------------------------- */
/* Signals: the one table                                                  */

/* Exactly the names of Node's os.constants.signals on Linux, in its order,
 * so that a name one target accepts is accepted by every target and a
 * signal is spelled the way Node spells it. Aliases (SIGIOT for SIGABRT,
 * SIGPOLL for SIGIO) come after the name Node reports for the number.
 * Names only: "TERM" or "15" are not names. */
#define BASE_SIGNAL_MAP(XX)                                               \
  XX(SIGHUP) XX(SIGINT) XX(SIGQUIT) XX(SIGILL) XX(SIGTRAP) XX(SIGABRT)    \
  XX(SIGIOT) XX(SIGBUS) XX(SIGFPE) XX(SIGKILL) XX(SIGUSR1) XX(SIGSEGV)    \
  XX(SIGUSR2) XX(SIGPIPE) XX(SIGALRM) XX(SIGTERM) XX(SIGCHLD)             \
  XX(SIGSTKFLT) XX(SIGCONT) XX(SIGSTOP) XX(SIGTSTP) XX(SIGTTIN)           \
  XX(SIGTTOU) XX(SIGURG) XX(SIGXCPU) XX(SIGXFSZ) XX(SIGVTALRM)            \
  XX(SIGPROF) XX(SIGWINCH) XX(SIGIO) XX(SIGPOLL) XX(SIGPWR) XX(SIGSYS)

/* "SIGKILL" -> SIGKILL; 0 if `name` is NULL or not in the table. */
int base_signal_from_name(const char *name);
/* SIGKILL -> "SIGKILL" (for an aliased number, the name Node reports:
 * 6 -> "SIGABRT"); NULL if the number has no name. */
const char *base_signal_name(int signum);
/* Every name of the table, aliases included, NULL-terminated (for
 * suggestions and listings). Static storage. */
const char *const *base_signal_names(void);

/* ---------------------------------------------------------------------- */
/* Durations, suggestions                                                  */

/* "150ms", "2s", "1.5s", "1m" -> milliseconds. UV_EINVAL for anything
 * else, UV_ERANGE above one hour. */
int base_duration_parse(const char *text, int64_t *ms);

/* The closest of `candidates` (NULL-terminated) to `word`, or NULL when
 * none is close enough to be a plausible typo. */
const char *base_suggest(const char *word, const char *const *candidates);

/* ---------------------------------------------------------------------- */
/* Strings (NULL when memory runs out; the caller frees)                   */

char *base_vasprintf(const char *fmt, va_list ap);
char *base_asprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
char *base_strdup(const char *s);
/* Text from elsewhere (a scenario, an agent, a trace: `s` may hold any
 * bytes) made safe for one line of a terminal, in the reports' notation:
 * printable ASCII and printable UTF-8 stay; control characters (tab and
 * newline included), ESC, DEL and bytes that are not UTF-8 become \xNN; C1
 * controls, bidirectional controls (U+061C, U+200E, U+200F,
 * U+202A-U+202E, U+2066-U+2069) and U+2028, U+2029 become \uXXXX. NULL
 * reads as "". */
char *base_text_escape(const char *s);

/* ---------------------------------------------------------------------- */
/* Growable buffers and arrays                                             */

/* Bytes that grow by doubling. A zeroed struct (BASE_BUF_INIT,
 * base_buf_init) is an empty buffer that owns no memory. Once anything was
 * added, base[len] is a NUL, so the bytes read as a C string when they hold
 * no NUL themselves. On UV_ENOMEM the buffer is unchanged. */
typedef struct {
  /* read-only (the bytes themselves may be written, up to len) */
  char *base;                /* NULL until the first byte */
  size_t len;
  size_t cap;                /* allocated, the NUL's byte included */
} base_buf_t;

#define BASE_BUF_INIT { NULL, 0, 0 }

void base_buf_init(base_buf_t *b);
/* Room for `more` bytes after len without another allocation. UV_ENOMEM
 * also when len + more overflows. */
int base_buf_reserve(base_buf_t *b, size_t more);
int base_buf_append(base_buf_t *b, const void *p, size_t n);
int base_buf_appends(base_buf_t *b, const char *s);
int base_buf_appendf(base_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int base_buf_vappendf(base_buf_t *b, const char *fmt, va_list ap);
/* Forgets the content, keeps the memory. */
void base_buf_reset(base_buf_t *b);
/* Hands the bytes to the caller (NUL-terminated; "" for an empty buffer,
 * NULL only when that "" cannot be allocated) and leaves `b` empty. The
 * caller frees the result. */
char *base_buf_detach(base_buf_t *b);
/* Frees the memory; `b` is an empty buffer again. */
void base_buf_free(base_buf_t *b);

/* Grows an array of `elem`-byte items so that it holds at least `need`:
 * `arrayp` is the address of the array's pointer (a T **, NULL for an
 * empty array), `cap` its capacity in items, both updated. The capacity
 * doubles (8 at least), so appending one item at a time is linear. 0 when
 * the array is already big enough; UV_ENOMEM (array and cap unchanged)
 * when memory runs out or need * elem overflows. */
int base_array_grow(void *arrayp, size_t *cap, size_t need, size_t elem);

/* ---------------------------------------------------------------------- */
/* Lines: newline-delimited records read from a stream                     */

/* Splits the bytes of a stream (a libuv read callback's, typically) into
 * lines ending with '\n', bounded by `max` bytes per line, for the JSON
 * lines of the control socket, of an IPC channel, of a trace file.
 *
 * - A line that ends inside the bytes of one base_lines_feed() call is
 *   handed over in place (no copy); only a line cut between two reads is
 *   gathered in the reader's buffer, which never holds more than `max`
 *   bytes.
 * - Every line is delivered, empty ones included, without its '\n'; a '\r'
 *   before the '\n' is kept (whether "\r\n" ends a line is the protocol's
 *   business, as is skipping blank lines).
 * - A line longer than `max` bytes (its '\n' not counted) is never
 *   delivered: the callback hears of it once, with UV_E2BIG, as soon as the
 *   reader knows (before its end has arrived), and the reader then drops
 *   its bytes up to and including its '\n'. When the buffer cannot grow,
 *   the callback hears UV_ENOMEM and the line is dropped the same way. So
 *   a runaway peer costs at most `max` bytes of memory, and the caller
 *   decides whether an overlong line is fatal (return non-zero) or skipped
 *   (return 0).
 * - Lines are delivered in order, from inside base_lines_feed() only.
 *
 * Usage:
 *   static int on_line(base_lines_t *r, int status, const char *line,
 *                      size_t len) { ...; return 0; }
 *   base_lines_init(&c->lines, MY_MAX_LINE, on_line);
 *   c->lines.data = c;
 *   ... in the read callback:
 *   if (nread > 0) (void)base_lines_feed(&c->lines, buf->base, nread);
 *   if (nread == UV_EOF && base_lines_pending(&c->lines) > 0) truncated;
 *   ... once the stream is closed: base_lines_free(&c->lines);
 */
typedef struct base_lines_s base_lines_t;

/* status 0: `line` holds `len` bytes, valid only during the call (not
 * NUL-terminated: it may point into the bytes being fed).
 * status UV_E2BIG or UV_ENOMEM: a line that is dropped; `line` is NULL and
 * `len` the bytes of it seen so far.
 * Return 0 to go on. Any other value stops base_lines_feed() at once, which
 * returns it: the bytes after this line in that call are dropped, and the
 * reader should be fed nothing more of that stream. A callback that
 * returns non-zero may base_lines_free() the reader (or free the struct
 * that embeds it) before it returns. */
typedef int (*base_lines_cb)(base_lines_t *lines, int status,
                             const char *line, size_t len);

struct base_lines_s {
  /* public */
  void *data;
  /* read-only */
  size_t max;                /* longest line delivered, in bytes */
  /* private */
  base_lines_cb cb;
  base_buf_t partial;        /* the start of a line cut between reads */
  size_t dropping;           /* bytes of a dropped line seen so far */
};

/* `max` is at least 1. Owns no memory until a line is cut between two
 * feeds. */
void base_lines_init(base_lines_t *r, size_t max, base_lines_cb cb);
/* Feeds `n` bytes at `p` (borrowed for the call); runs the callback for
 * every line they complete. Returns 0, or the first non-zero value the
 * callback returned. */
int base_lines_feed(base_lines_t *r, const char *p, size_t n);
/* Bytes of an unfinished line held or being dropped: non-zero at the end
 * of a stream means it ended in the middle of a line. */
size_t base_lines_pending(const base_lines_t *r);
/* Frees the buffer; the reader may be fed again (a new stream) or freed. */
void base_lines_free(base_lines_t *r);

#endif /* BASE_H */
