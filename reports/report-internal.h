/*
 * report-internal.h - the report model's layout, shared by the writers of
 * this module only. Not installed, not for other modules.
 */
#ifndef REPORT_PRIVATE_H
#define REPORT_PRIVATE_H

#include "report.h"

/* Types only: libxml2 itself is reached through report-libxml.h. */
#include <libxml/xmlwriter.h>

typedef struct {
  uint64_t t_ns;
  int lane;
  char *kind;
  char *label;
  unsigned flags;
} report_mark_t;

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
  report_mark_t *marks;
  size_t nmarks, capmarks;
} report_attempt_t;

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
  report_attempt_t *attempts;
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
int64_t report_now_unix_ns(void);
bool report_outcome_bad(report_outcome_t o);
const char *report_outcome_name(report_outcome_t o);
/* The reason shown for an interrupted attempt. */
const char *report_interrupt_reason(const report_t *r);
/* Duration of an attempt; for a running one, the time since it started. */
double report_attempt_duration(const report_attempt_t *a);
double report_case_duration(const report_case_t *c);
/* The attempt that decides the verdict (first bad one unless flaky/pass),
 * never NULL for a case with attempts. */
const report_attempt_t *report_case_deciding(const report_case_t *c);
/* The attempt a bad case is shown by: the deciding one, or for a flaky
 * case its first bad attempt (what went wrong before the pass). */
const report_attempt_t *report_case_shown(const report_case_t *c);
/* An attempt's seed and replay command: its own (report_attempt_seed), else
 * the case's. */
uint64_t report_attempt_seed_of(const report_case_t *c,
                                const report_attempt_t *a);
const char *report_attempt_replay_of(const report_case_t *c,
                                     const report_attempt_t *a);

/* report-text.c */
/* A copy of s made safe for XML 1.0 and terminals: ANSI CSI/OSC sequences
 * removed, other control characters (but \t \n), DEL, C1 controls,
 * U+FFFE/U+FFFF and invalid UTF-8 bytes shown as \xNN. \r\n becomes \n.
 * NULL in, "" out. NULL only when out of memory. Caller frees. */
char *report_text_clean(const char *s);
/* As report_text_clean, then only the first line (for attributes, TAP
 * descriptions). */
char *report_text_line(const char *s);
/* What an attempt's detail adds to its reason: the detail without a first
 * line equal to the reason and without leading or trailing blank lines.
 * "" when nothing is left; NULL only when out of memory. Caller frees. */
char *report_detail_rest(const char *reason, const char *detail);
/* Appends printf output to the malloc'd string *s; on ENOMEM frees *s and
 * sets it to NULL, so a chain of calls needs one check at the end. */
void report_str_cat(char **s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "%.3f" seconds with a '.' whatever LC_NUMERIC says. */
void report_fmt_seconds(char *buf, size_t size, double s);
/* ISO 8601 UTC: 2026-11-28T06:17:13Z. */
void report_fmt_iso(char *buf, size_t size, int64_t unix_ns);

/* report-file.c */
/* Replaces path with data atomically: a new file next to it (mode 0666
 * less the umask), then rename(2). On failure path is left as it was. */
int report_file_replace(const char *path, const char *data, size_t len);

/* report-xml.c */
/* A writer into memory; report_xml_finish hands back the document. Loads
 * libxml2 first: UV_ENOSYS when it cannot be loaded. */
int report_xml_new(xmlBufferPtr *buf, xmlTextWriterPtr *w);
/* Ends the document, frees w, and writes buf to path atomically; frees
 * buf. */
int report_xml_finish(xmlBufferPtr buf, xmlTextWriterPtr w, const char *path);
/* Frees both without writing anything (either may be NULL). */
void report_xml_abort(xmlBufferPtr buf, xmlTextWriterPtr w);
/* xmlTextWriter calls that clean their text first and turn libxml2's -1
 * into UV_EIO. */
int report_xml_start(xmlTextWriterPtr w, const char *name);
int report_xml_end(xmlTextWriterPtr w);
int report_xml_end_full(xmlTextWriterPtr w);
int report_xml_attr(xmlTextWriterPtr w, const char *name, const char *value);
int report_xml_attrf(xmlTextWriterPtr w, const char *name,
                     const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int report_xml_text(xmlTextWriterPtr w, const char *text);
int report_xml_element(xmlTextWriterPtr w, const char *name,
                       const char *text);

/* report-hw.c: element helpers for the HTML page. The first error is kept
 * in rc and every later call does nothing. Text is cleaned like all text;
 * report_hw_end writes an explicit end tag (HTML), report_hw_end_svg may
 * self-close (SVG, void elements). */
typedef struct {
  const report_t *r;
  xmlTextWriterPtr w;
  int rc;
} report_hw_t;

void report_hw_start(report_hw_t *h, const char *name, const char *cls);
void report_hw_attr(report_hw_t *h, const char *name, const char *value);
void report_hw_attri(report_hw_t *h, const char *name, long v);
void report_hw_text(report_hw_t *h, const char *s);
void report_hw_textf(report_hw_t *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void report_hw_end(report_hw_t *h);
void report_hw_end_svg(report_hw_t *h);
/* Constant markup only (scripts, CSS): never data. */
void report_hw_raw(report_hw_t *h, const char *s);
void report_hw_element(report_hw_t *h, const char *name, const char *cls,
                       const char *text);

/* report-timeline.c */
void report_timeline_write(report_hw_t *h, const report_attempt_t *a);
void report_timeline_legend(report_hw_t *h);

#endif
