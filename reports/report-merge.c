/*
 * report-merge.c - merging the JUnit files of sharded runs (or of any
 * JUnit producer) into one, with the counts recomputed from the cases so
 * that they always equal the children.
 */
#include "report-internal.h"

#include <stdlib.h>
#include <string.h>

#define X(s) ((const xmlChar *)(s))

typedef struct {
  unsigned tests, failures, errors, skipped;
  double time;
} tally_t;

static bool is_elem(const xmlNode *n, const char *name)
{
  return n->type == XML_ELEMENT_NODE &&
         report__lx->xmlStrEqual(n->name, X(name));
}

static bool has_child(const xmlNode *n, const char *name)
{
  for (n = n->children; n; n = n->next)
    if (is_elem(n, name))
      return true;
  return false;
}

/* Surefire's time may carry thousands commas ("1,234.5"); strtod would
 * also depend on LC_NUMERIC. */
static double parse_time(const xmlChar *s)
{
  double v = 0, scale = 0.1;
  bool frac = false;

  for (; s && *s; s++) {
    if (*s == ',')
      continue;
    if (*s == '.' && !frac) {
      frac = true;
    } else if (*s >= '0' && *s <= '9') {
      if (frac) {
        v += (*s - '0') * scale;
        scale /= 10;
      } else {
        v = v * 10 + (*s - '0');
      }
    } else {
      break;
    }
  }
  return v;
}

static double node_time(xmlNode *n)
{
  xmlChar *t = report__lx->xmlGetProp(n, X("time"));
  double v = parse_time(t);

  report__xml_free(t);
  return v;
}

static void set_uint(xmlNode *n, const char *name, unsigned v)
{
  char buf[16];

  snprintf(buf, sizeof(buf), "%u", v);
  report__lx->xmlSetProp(n, X(name), X(buf));
}

static void strip_case(xmlNode *tc)
{
  xmlNode *c, *next;

  report__lx->xmlUnsetProp(tc, X("file"));
  report__lx->xmlUnsetProp(tc, X("line"));
  for (c = tc->children; c; c = next) {
    next = c->next;
    if (is_elem(c, "properties")) {
      report__lx->xmlUnlinkNode(c);
      report__lx->xmlFreeNode(c);
    }
  }
}

/* Recounts a testsuite (and its nested ones) from its testcases, writes
 * the counts into its attributes, and adds them to *up. */
static void recount(xmlNode *suite, tally_t *up, bool strict, unsigned *id)
{
  tally_t t = {0, 0, 0, 0, 0};
  char secs[32];
  xmlNode *c;
  bool had_time = report__lx->xmlHasProp(suite, X("time")) != NULL;

  set_uint(suite, "id", (*id)++);
  for (c = suite->children; c; c = c->next) {
    if (is_elem(c, "testsuite")) {
      recount(c, &t, strict, id);
    } else if (is_elem(c, "testcase")) {
      t.tests++;
      if (has_child(c, "failure"))
        t.failures++;
      else if (has_child(c, "error"))
        t.errors++;
      else if (has_child(c, "skipped"))
        t.skipped++;
      t.time += node_time(c);
      if (strict)
        strip_case(c);
    }
  }
  /* A suite's own time wins when it has one: it may include set-up that
   * no case accounts for. */
  if (had_time)
    t.time = node_time(suite);
  set_uint(suite, "tests", t.tests);
  set_uint(suite, "failures", t.failures);
  set_uint(suite, "errors", t.errors);
  set_uint(suite, "skipped", t.skipped);
  report__fmt_seconds(secs, sizeof(secs), t.time);
  report__lx->xmlSetProp(suite, X("time"), X(secs));
  up->tests += t.tests;
  up->failures += t.failures;
  up->errors += t.errors;
  up->skipped += t.skipped;
  up->time += t.time;
}

static int add_input(xmlDoc *out, xmlNode *root, const char *path,
                     xmlChar **name)
{
  xmlDoc *in;
  xmlNode *r, *c, *copy;
  int rc = 0;

  in = report__lx->xmlReadFile(path, NULL,
                              XML_PARSE_NONET | XML_PARSE_NOBLANKS |
                                  XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if (in == NULL)
    return UV_EIO;
  r = report__lx->xmlDocGetRootElement(in);
  if (r && is_elem(r, "testsuites")) {
    if (*name == NULL)
      *name = report__lx->xmlGetProp(r, X("name"));
    for (c = r->children; c; c = c->next) {
      if (!is_elem(c, "testsuite"))
        continue;
      copy = report__lx->xmlDocCopyNode(c, out, 1);
      if (copy == NULL || report__lx->xmlAddChild(root, copy) == NULL) {
        report__lx->xmlFreeNode(copy);
        rc = UV_ENOMEM;
        goto out;
      }
    }
  } else if (r && is_elem(r, "testsuite")) {
    copy = report__lx->xmlDocCopyNode(r, out, 1);
    if (copy == NULL || report__lx->xmlAddChild(root, copy) == NULL) {
      report__lx->xmlFreeNode(copy);
      rc = UV_ENOMEM;
    }
  } else {
    rc = UV_EINVAL;
  }
out:
  report__lx->xmlFreeDoc(in);
  return rc;
}

int report_junit_merge(const char *const *inputs, size_t n,
                       const char *output, bool strict)
{
  xmlDoc *doc = NULL;
  xmlNode *root, *c;
  xmlChar *name = NULL, *mem = NULL;
  tally_t t = {0, 0, 0, 0, 0};
  char secs[32];
  unsigned id = 0;
  size_t i;
  int len, rc = UV_ENOMEM;

  if (inputs == NULL || output == NULL || n == 0)
    return UV_EINVAL;
  if ((rc = report__libxml_load()))
    return rc;
  doc = report__lx->xmlNewDoc(X("1.0"));
  if (doc == NULL)
    goto out;
  root = report__lx->xmlNewDocNode(doc, NULL, X("testsuites"), NULL);
  if (root == NULL)
    goto out;
  report__lx->xmlDocSetRootElement(doc, root);
  for (i = 0; i < n; i++)
    if ((rc = add_input(doc, root, inputs[i], &name)))
      goto out;
  for (c = root->children; c; c = c->next)
    if (is_elem(c, "testsuite"))
      recount(c, &t, strict, &id);
  report__lx->xmlSetProp(root, X("name"), name ? name : X("clustersim"));
  set_uint(root, "tests", t.tests);
  set_uint(root, "failures", t.failures);
  set_uint(root, "errors", t.errors);
  if (!strict)
    set_uint(root, "skipped", t.skipped);
  report__fmt_seconds(secs, sizeof(secs), t.time);
  report__lx->xmlSetProp(root, X("time"), X(secs));
  report__lx->xmlDocDumpFormatMemoryEnc(doc, &mem, &len, "UTF-8", 1);
  if (mem == NULL) {
    rc = UV_ENOMEM;
    goto out;
  }
  rc = report__file_replace(output, (const char *)mem, (size_t)len);
out:
  report__xml_free(mem);
  report__xml_free(name);
  report__lx->xmlFreeDoc(doc);
  return rc;
}
