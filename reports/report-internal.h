/*
 * report-internal.h - shared by the files of reports/ only, not by other
 * modules: the report model's layout, the text and file helpers, the XML
 * and HTML writers' helpers, and libxml2 as the module reaches it.
 *
 * libxml2 is loaded with dlopen the first time a JUnit file or an HTML page
 * is written or JUnit files are merged. The clustersim executable does not
 * link libxml2: libxml2 brings ICU and libstdc++, and loading them would add
 * milliseconds to every process start, cluster workers included, which
 * never write a report. The module is compiled against libxml2's headers
 * for its types and constants, and calls libxml2 only through report__lx,
 * so that a direct call shows up as an undefined symbol when clustersim is
 * linked.
 */
#ifndef REPORT_INTERNAL_H
#define REPORT_INTERNAL_H

#include "report.h"

/* ---------------------------------------------------------------------- */
/* libxml2 (report-libxml.c)                                               */

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlwriter.h>

#ifdef LIBXML_THREAD_ALLOC_ENABLED
/* xmlFree would then be a per-thread value behind __xmlFree(), not the
 * process-wide variable that report-libxml.c looks up. */
#error "libxml2 built with LIBXML_THREAD_ALLOC_ENABLED is not supported"
#endif

/* Every libxml2 function the module calls. */
#define REPORT_LIBXML_FUNCS(F)                                               \
  F(xmlInitParser)                                                           \
  F(xmlBufferCreate)                                                         \
  F(xmlBufferFree)                                                           \
  F(xmlBufferContent)                                                        \
  F(xmlBufferLength)                                                         \
  F(xmlNewTextWriterMemory)                                                  \
  F(xmlFreeTextWriter)                                                       \
  F(xmlTextWriterSetIndent)                                                  \
  F(xmlTextWriterSetIndentString)                                            \
  F(xmlTextWriterStartDocument)                                              \
  F(xmlTextWriterEndDocument)                                                \
  F(xmlTextWriterStartElement)                                               \
  F(xmlTextWriterEndElement)                                                 \
  F(xmlTextWriterFullEndElement)                                             \
  F(xmlTextWriterWriteAttribute)                                             \
  F(xmlTextWriterWriteString)                                                \
  F(xmlTextWriterWriteRaw)                                                   \
  F(xmlReadFile)                                                             \
  F(xmlNewDoc)                                                               \
  F(xmlFreeDoc)                                                              \
  F(xmlDocGetRootElement)                                                    \
  F(xmlDocSetRootElement)                                                    \
  F(xmlDocDumpFormatMemoryEnc)                                               \
  F(xmlNewDocNode)                                                           \
  F(xmlDocCopyNode)                                                          \
  F(xmlAddChild)                                                             \
  F(xmlUnlinkNode)                                                           \
  F(xmlFreeNode)                                                             \
  F(xmlGetProp)                                                              \
  F(xmlHasProp)                                                              \
  F(xmlSetProp)                                                              \
  F(xmlUnsetProp)                                                            \
  F(xmlStrEqual)

/* Members carry libxml2's names and types, so calls read as libxml2 calls:
 * report__lx->xmlReadFile(...). */
typedef struct {
#define REPORT_LIBXML_MEMBER(name) __typeof__(name) *name;
  REPORT_LIBXML_FUNCS(REPORT_LIBXML_MEMBER)
#undef REPORT_LIBXML_MEMBER
  /* libxml2's xmlFree is a variable holding the deallocator (xmlMemSetup
   * may change it), so the table keeps its address and reads it at each
   * call: see report__xml_free. */
  xmlFreeFunc *xmlFree_var;
} report__libxml_t;

/* Loads libxml2 and runs xmlInitParser, once per process (thread-safe).
 * 0, or UV_ENOSYS when libxml2 cannot be loaded or lacks a function; the
 * outcome of the first call is kept. */
int report__libxml_load(void);

/* The functions; filled only once report__libxml_load has returned 0. */
extern const report__libxml_t *const report__lx;

/* xmlFree(p) for memory libxml2 handed out. */
void report__xml_free(void *p);

/* ---------------------------------------------------------------------- */
/* The model (report-model.c)                                              */

typedef struct {
  uint64_t t_ns;
  int lane;
  char *kind;
  char *label;
  unsigned flags;
} report__mark_t;

typedef struct {
  bool ended;
  report_outcome_t outcome;
  char *reason;
  char *detail;
  char *output;
  double duration_s;
  int64_t failed_event;
  int64_t start_unix_ns;
  bool has_seed;        /* report_attempt_seed: its own seed and replay */
  uint64_t seed;
  char *replay;
  report__mark_t *marks;
  size_t nmarks, capmarks;
  report_bucket_t *load;     /* report_load_set */
  size_t nload;
  uint64_t load_width_ns;
} report__attempt_t;

struct report_case_s {
  report_t *report;
  size_t index;
  char *scenario;
  char *file;
  unsigned line;
  char *target;
  char *runtime;
  char *runtime_version;
  uint64_t seed;
  char *replay;
  char **tags;
  size_t ntags;
  int64_t start_unix_ns;
  report__attempt_t *attempts;
  size_t nattempts, capattempts;
};

struct report_s {
  char *name;
  char *command_line;
  char *hostname;
  char *targets;
  char *shard;
  uint64_t seed;
  int64_t start_unix_ns;
  bool junit_strict;
  char *interrupt_reason;
  report_case_t **cases;
  size_t ncases, capcases;
};

/* report-model.c */
int64_t report__now_unix_ns(void);
bool report__outcome_bad(report_outcome_t o);
const char *report__outcome_name(report_outcome_t o);
/* The reason shown for an interrupted attempt. */
const char *report__interrupt_reason(const report_t *r);
/* Duration of an attempt; for a running one, the time since it started. */
double report__attempt_duration(const report__attempt_t *a);
double report__case_duration(const report_case_t *c);
/* The attempt that decides the verdict (first bad one unless flaky/pass),
 * never NULL for a case with attempts. */
const report__attempt_t *report__case_deciding(const report_case_t *c);
/* The attempt a bad case is shown by: the deciding one, or for a flaky
 * case its first bad attempt (what went wrong before the pass). */
const report__attempt_t *report__case_shown(const report_case_t *c);
/* An attempt's seed and replay command: its own (report_attempt_seed), else
 * the case's. */
uint64_t report__attempt_seed_of(const report_case_t *c,
                                const report__attempt_t *a);
const char *report__attempt_replay_of(const report_case_t *c,
                                     const report__attempt_t *a);

/* report-text.c */
/* A copy of s made safe for XML 1.0 and terminals: ANSI CSI/OSC sequences
 * removed, other control characters (but \t \n), DEL, C1 controls,
 * U+FFFE/U+FFFF and invalid UTF-8 bytes shown as \xNN. \r\n becomes \n.
 * NULL in, "" out. NULL only when out of memory. Caller frees. */
char *report__text_clean(const char *s);
/* As report__text_clean, then only the first line (for attributes, TAP
 * descriptions). */
char *report__text_line(const char *s);
/* What an attempt's detail adds to its reason: the detail without a first
 * line equal to the reason and without leading or trailing blank lines.
 * "" when nothing is left; NULL only when out of memory. Caller frees. */
char *report__detail_rest(const char *reason, const char *detail);
/* Appends printf output to the malloc'd string *s; on ENOMEM frees *s and
 * sets it to NULL, so a chain of calls needs one check at the end. */
void report__str_cat(char **s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "%.3f" seconds with a '.' whatever LC_NUMERIC says. */
void report__fmt_seconds(char *buf, size_t size, double s);
/* ISO 8601 UTC: 2026-11-28T06:17:13Z. */
void report__fmt_iso(char *buf, size_t size, int64_t unix_ns);

/* report-file.c */
/* Replaces path with data atomically: a new file next to it (mode 0666
 * less the umask), then rename(2). On failure path is left as it was. */
int report__file_replace(const char *path, const char *data, size_t len);
/* A regular file's whole content, NUL-terminated, malloc'ed (the caller
 * frees it), its length in *len (may be NULL); NULL with *rc: -errno of
 * fopen, UV_EISDIR (not a regular file), UV_EFBIG (over `max` bytes) or
 * UV_EIO. */
char *report__file_read(const char *path, size_t max, size_t *len, int *rc);

/* report-xml.c */
/* A writer into memory; report__xml_finish hands back the document. Loads
 * libxml2 first: UV_ENOSYS when it cannot be loaded. */
int report__xml_new(xmlBufferPtr *buf, xmlTextWriterPtr *w);
/* Ends the document, frees w, and writes buf to path atomically; frees
 * buf. */
int report__xml_finish(xmlBufferPtr buf, xmlTextWriterPtr w, const char *path);
/* Frees both without writing anything (either may be NULL). */
void report__xml_abort(xmlBufferPtr buf, xmlTextWriterPtr w);
/* xmlTextWriter calls that clean their text first and turn libxml2's -1
 * into UV_EIO. */
int report__xml_start(xmlTextWriterPtr w, const char *name);
int report__xml_end(xmlTextWriterPtr w);
int report__xml_end_full(xmlTextWriterPtr w);
int report__xml_attr(xmlTextWriterPtr w, const char *name, const char *value);
int report__xml_attrf(xmlTextWriterPtr w, const char *name,
                     const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int report__xml_text(xmlTextWriterPtr w, const char *text);
int report__xml_element(xmlTextWriterPtr w, const char *name,
                       const char *text);

/* report-hw.c: element helpers for the HTML page. The first error is kept
 * in rc and every later call does nothing. Text is cleaned like all text;
 * report__hw_end writes an explicit end tag (HTML), report__hw_end_svg may
 * self-close (SVG, void elements). */
typedef struct {
  const report_t *r;
  xmlTextWriterPtr w;
  int rc;
} report__hw_t;

void report__hw_start(report__hw_t *h, const char *name, const char *cls);
void report__hw_attr(report__hw_t *h, const char *name, const char *value);
void report__hw_attri(report__hw_t *h, const char *name, long v);
void report__hw_text(report__hw_t *h, const char *s);
void report__hw_textf(report__hw_t *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void report__hw_end(report__hw_t *h);
void report__hw_end_svg(report__hw_t *h);
/* Constant markup only (scripts, CSS): never data. */
void report__hw_raw(report__hw_t *h, const char *s);
void report__hw_element(report__hw_t *h, const char *name, const char *cls,
                       const char *text);
/* Ends a page: its script `js` last, then the two elements that hold it
 * (the document's end closes the rest). */
void report__hw_page_end(report__hw_t *h, const char *js);

/* report-timeline.c */
/* An attempt's timeline: a lane per worker, or past REPORT__DENSE_LANES
 * worker lanes the harness, the primary and the failing worker's lanes
 * with a density of every worker's events under them. */
#define REPORT__DENSE_LANES 64
void report__timeline_write(report__hw_t *h, const report__attempt_t *a);
void report__timeline_legend(report__hw_t *h);
/* The colour class of an event kind: "fork", "online", "listening",
 * "disconnect", "exit", "message", "policy", "error" or "other". */
const char *report__kind_class(const char *kind);

/* report-load.c: the load's plots under a timeline, on its time axis
 * ([t0, t1] across x from `left` to `right`), from y = `top`. */
typedef struct {
  uint64_t t0, t1;
  long left, right, top;
} report__axis_t;

/* The height the plots take (0 without load). */
long report__load_height(const report__attempt_t *a);
void report__load_write(report__hw_t *h, const report__attempt_t *a,
                        const report__axis_t *ax);

/* report-matrix.c: the matrix's layout, read by its writers. */
typedef enum {
  REPORT__MX_PASS = 0,     /* pass or flaky */
  REPORT__MX_FAIL,         /* fail, timeout, error, interrupted */
  REPORT__MX_SKIP,         /* skip, inconclusive */
  REPORT__MX_DIVERGES,     /* a divergence the scenario documents */
  REPORT__MX_NOT_RUN
} report__mx_state_t;

typedef struct {
  const char *spec;        /* as --target gave it */
  const char *runtime;     /* what its agent named (borrowed), or NULL */
  const char *version;
} report__mx_target_t;

typedef struct {
  const report_t *r;
  const report_groups_t *g;
  report__mx_target_t *targets;
  size_t n_targets;
  report_groups_t rest;    /* scenarios no rule of the file names */
} report__mx_t;

typedef struct {
  unsigned ran, passed, skipped;   /* rules of an area on a target */
} report__mx_count_t;

int report__mx_open(report__mx_t *m, const report_t *r,
                    const report_groups_t *g);
void report__mx_close(report__mx_t *m);
size_t report__mx_n_areas(const report__mx_t *m);
const report_area_t *report__mx_area(const report__mx_t *m, size_t i);
/* The case of a scenario on target t, or NULL (not run there). */
const report_case_t *report__mx_case(const report__mx_t *m,
                                     const char *scenario, size_t t);
report__mx_state_t report__mx_state(const report_case_t *c);
const char *report__mx_word(const report_case_t *c);
char *report__mx_text(const report_case_t *c);
report__mx_state_t report__mx_rule(const report__mx_t *m,
                                   const report_rule_t *rule, size_t t);
void report__mx_count(const report__mx_t *m, const report_area_t *a,
                      size_t t, report__mx_count_t *out);
/* "node v20.20.2" (runtime and version), or ""; caller frees. */
char *report__mx_label(const report__mx_target_t *t);
/* report-matrix-html.c: the page; cells link to `timelines`#case-N. */
int report__mx_html(const report__mx_t *m, const char *path,
                    const char *timelines);
/* report-density.c: the workers of a big cluster as a grid of events per
 * band of workers per slice of time, on the timeline's axis, from y =
 * ax->top. */
/* How many distinct workers have marks. */
size_t report__density_workers(const report__attempt_t *a);
long report__density_height(const report__attempt_t *a);
void report__density_write(report__hw_t *h, const report__attempt_t *a,
                           const report__axis_t *ax);

#endif /* REPORT_INTERNAL_H */
