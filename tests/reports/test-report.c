/*
 * test-report.c - unit tests of reports/: text cleaning, verdicts, the
 * JUnit counts (by XPath on the written files), merge, TAP, the terminal
 * view and the HTML page's structure.
 */
#include "fixtures.h"
#include "base.h"
#include "cli.h"
#include "report-internal.h"
#include "runner.h"
#include "test-support.h"

#include <CUnit/Basic.h>
#include <dirent.h>
#include <ftw.h>
#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/clustersim-reports-XXXXXX";

/* A ring of buffers: a result stays valid for the next 15 calls. */
static const char *tmp_path(const char *name)
{
  static char buf[16][512];
  static int i;

  i = (i + 1) % 16;
  snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmpdir, name);
  return buf[i];
}

static xmlDocPtr read_xml(const char *path)
{
  return xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
                                     XML_PARSE_NOWARNING);
}

static double xpath_num(xmlDocPtr doc, const char *expr)
{
  xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
  xmlXPathObjectPtr o = ctx ? xmlXPathEvalExpression((const xmlChar *)expr,
                                                     ctx)
                            : NULL;
  double v = o ? xmlXPathCastToNumber(o) : -1;

  xmlXPathFreeObject(o);
  xmlXPathFreeContext(ctx);
  return v;
}

static char *read_file(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  char *s = NULL;
  long n;

  if (f == NULL)
    return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
      fseek(f, 0, SEEK_SET) == 0 && (s = malloc((size_t)n + 1)) != NULL) {
    *len = fread(s, 1, (size_t)n, f);
    s[*len] = '\0';
  }
  fclose(f);
  return s;
}

/* ---------------------------------------------------------------------- */

static void test_text_clean(void)
{
  static const struct {
    const char *in, *out;
  } t[] = {
      {"plain text", "plain text"},
      {NULL, ""},
      {"tab\tand\nnewline", "tab\tand\nnewline"},
      {"\033[1;31mred\033[0m", "red"},
      {"\033]0;title\007after", "after"},
      {"lone \033 esc", "lone \\x1b esc"},
      {"a\001b\037c\177d", "a\\x01b\\x1fc\\x7fd"},
      {"crlf\r\nlf", "crlf\nlf"},
      {"cr\rover", "cr\nover"},
      {"]]> <&>", "]]> <&>"},
      {"bad \xff end", "bad \\xff end"},
      {"trunc \xc3", "trunc \\xc3"},
      {"bad cont \xc3\x28", "bad cont \\xc3("},
      {"overlong \xc0\xaf", "overlong \\xc0\\xaf"},
      {"surrogate \xed\xa0\x80", "surrogate \\xed\\xa0\\x80"},
      {"too big \xf4\x90\x80\x80", "too big \\xf4\\x90\\x80\\x80"},
      {"c1 \xc2\x85", "c1 \\u0085"},
      {"nonchar \xef\xbf\xbe\xef\xbf\xbf", "nonchar \\ufffe\\uffff"},
      {"ok \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
       "ok \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"},
  };
  size_t i;

  for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    char *s = report__text_clean(t[i].in);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    if (strcmp(s, t[i].out) != 0)
      fprintf(stderr, "clean #%zu: got \"%s\", want \"%s\"\n", i, s,
              t[i].out);
    CU_ASSERT_STRING_EQUAL(s, t[i].out);
    free(s);
  }
}

static void test_text_line(void)
{
  char *s = report__text_line("first\nsecond");

  CU_ASSERT_STRING_EQUAL(s, "first");
  free(s);
}

/* The failure body and the TAP diagnostic give the reason once: a detail
 * that starts with it (the harness lists every finding, the reason first)
 * loses that line and its blank edges, and nothing else. */
static void test_detail_rest(void)
{
  static const struct {
    const char *reason, *detail, *out;
  } t[] = {
      {"r", "r\n", ""},
      {"r", "r\nsecond\n", "second"},
      {"r", "\n\nr\n", "r"},
      {"r", "rr\n", "rr"},
      {"r", NULL, ""},
      {NULL, "only\n\n", "only"},
      {"timed out", "timed out\nload: 3 requests\n", "load: 3 requests"},
      {"a", "b\na\n", "b\na"},
  };
  size_t i;

  for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    char *s = report__detail_rest(t[i].reason, t[i].detail);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_STRING_EQUAL(s, t[i].out);
    free(s);
  }
}

static void test_fmt_seconds(void)
{
  static const struct {
    double in;
    const char *out;
  } t[] = {
      {0, "0.000"},      {-3, "0.000"},          {1.5, "1.500"},
      {0.0004, "0.000"}, {0.0005, "0.001"},      {10, "10.000"},
      {1234.5678, "1234.568"},
  };
  char buf[32];
  size_t i;

  for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    report__fmt_seconds(buf, sizeof(buf), t[i].in);
    CU_ASSERT_STRING_EQUAL(buf, t[i].out);
  }
  report__fmt_iso(buf, sizeof(buf), 1796000000000000000LL);
  CU_ASSERT_STRING_EQUAL(buf, "2026-11-30T00:53:20Z");
}

/* ---------------------------------------------------------------------- */

#define E REPORT_OUTCOME_MAX /* end of an attempt list */

static void test_verdicts(void)
{
  static const struct {
    report_outcome_t att[6];
    bool running;
    report_verdict_t want;
  } t[] = {
      {{REPORT_PASS, E}, false, REPORT_V_PASS},
      {{REPORT_FAIL, E}, false, REPORT_V_FAIL},
      {{REPORT_TIMEOUT, E}, false, REPORT_V_TIMEOUT},
      {{REPORT_ERROR, E}, false, REPORT_V_ERROR},
      {{REPORT_SKIP, E}, false, REPORT_V_SKIP},
      {{REPORT_INCONCLUSIVE, E}, false, REPORT_V_INCONCLUSIVE},
      {{E}, true, REPORT_V_INTERRUPTED},
      {{REPORT_FAIL, E}, true, REPORT_V_INTERRUPTED},
      {{REPORT_PASS, REPORT_PASS, E}, false, REPORT_V_PASS},
      {{REPORT_FAIL, REPORT_PASS, E}, false, REPORT_V_FLAKY},
      {{REPORT_TIMEOUT, REPORT_ERROR, REPORT_PASS, E}, false, REPORT_V_FLAKY},
      /* Mixed outcomes are flaky whichever attempt failed. */
      {{REPORT_PASS, REPORT_FAIL, E}, false, REPORT_V_FLAKY},
      {{REPORT_PASS, REPORT_PASS, REPORT_PASS, REPORT_FAIL, REPORT_PASS, E},
       false, REPORT_V_FLAKY},
      {{REPORT_PASS, REPORT_PASS, REPORT_PASS, REPORT_PASS, REPORT_FAIL, E},
       false, REPORT_V_FLAKY},
      {{REPORT_PASS, REPORT_TIMEOUT, REPORT_SKIP, E}, false, REPORT_V_FLAKY},
      {{REPORT_SKIP, REPORT_PASS, E}, false, REPORT_V_PASS},
      {{REPORT_PASS, REPORT_SKIP, E}, false, REPORT_V_PASS},
      {{REPORT_INCONCLUSIVE, REPORT_SKIP, E}, false, REPORT_V_INCONCLUSIVE},
      {{REPORT_SKIP, REPORT_INCONCLUSIVE, E}, false, REPORT_V_INCONCLUSIVE},
      {{REPORT_FAIL, REPORT_FAIL, REPORT_FAIL, E}, false, REPORT_V_FAIL},
      {{REPORT_TIMEOUT, REPORT_FAIL, E}, false, REPORT_V_TIMEOUT},
      {{REPORT_FAIL, REPORT_INCONCLUSIVE, E}, false, REPORT_V_FAIL},
      {{REPORT_SKIP, REPORT_SKIP, E}, false, REPORT_V_SKIP},
  };
  report_case_info_t ci = {.scenario = "s", .target = "builtin"};
  report_result_t res = {.failed_event = -1};
  size_t i, j;

  for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    report_t *r = NULL;
    report_case_t *c = NULL;
    CU_ASSERT_EQUAL_FATAL(report_new(&r, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(report_case_add(r, &ci, &c), 0);
    for (j = 0; t[i].att[j] != E; j++) {
      if (j > 0)
        CU_ASSERT_EQUAL(report_attempt_start(c), 0);
      res.outcome = t[i].att[j];
      CU_ASSERT_EQUAL(report_attempt_add(c, &res), 0);
    }
    if (t[i].running && j > 0)
      CU_ASSERT_EQUAL(report_attempt_start(c), 0);
    if (report_case_verdict(c) != t[i].want)
      fprintf(stderr, "verdict #%zu: got %s, want %s\n", i,
              report_verdict_name(report_case_verdict(c)),
              report_verdict_name(t[i].want));
    CU_ASSERT_EQUAL(report_case_verdict(c), t[i].want);
    report_free(r);
  }
}

/* Every outcome the runner names reads back as the same outcome; any
 * other name is an error, never a pass. */
static void test_outcome_names(void)
{
  for (int o = 0; o < RUNNER_OUTCOME_COUNT; o++) {
    const char *name = runner_outcome_name((runner_outcome_t)o);
    CU_ASSERT_STRING_EQUAL(report__outcome_name(report_outcome_parse(name)),
                           name);
  }
  CU_ASSERT_EQUAL(report_outcome_parse("passed"), REPORT_ERROR);
  CU_ASSERT_EQUAL(report_outcome_parse(""), REPORT_ERROR);
  CU_ASSERT_EQUAL(report_outcome_parse(NULL), REPORT_ERROR);
  CU_ASSERT_EQUAL(report_outcome_parse("skip"), REPORT_SKIP);
}

static void test_api_misuse(void)
{
  report_case_info_t ci = {.scenario = "s", .target = "builtin"};
  report_result_t res = {.outcome = REPORT_PASS, .failed_event = -1};
  report_event_t ev = {.t_ns = 1, .kind = "fork"};
  report_t *r = NULL;
  report_case_t *c = NULL;

  CU_ASSERT_EQUAL(report_new(NULL, NULL), UV_EINVAL);
  CU_ASSERT_EQUAL_FATAL(report_new(&r, NULL), 0);
  ci.target = NULL;
  CU_ASSERT_EQUAL(report_case_add(r, &ci, &c), UV_EINVAL);
  ci.target = "builtin";
  CU_ASSERT_EQUAL_FATAL(report_case_add(r, &ci, &c), 0);
  CU_ASSERT_EQUAL(report_case_count(r), 1);
  CU_ASSERT_PTR_EQUAL(report_case_at(r, 0), c);
  CU_ASSERT_PTR_NULL(report_case_at(r, 1));
  CU_ASSERT(report_case_running(c));
  CU_ASSERT_EQUAL(report_attempt_start(c), UV_EBUSY);
  CU_ASSERT_EQUAL(report_event_add(c, &ev), 0);
  res.failed_event = 5; /* out of range: dropped, not trusted */
  CU_ASSERT_EQUAL(report_attempt_add(c, &res), 0);
  CU_ASSERT_EQUAL(c->attempts[0].failed_event, -1);
  CU_ASSERT(!report_case_running(c));
  CU_ASSERT_EQUAL(report_attempt_add(c, &res), UV_EINVAL);
  res.outcome = REPORT_OUTCOME_MAX;
  CU_ASSERT_EQUAL(report_attempt_start(c), 0);
  CU_ASSERT_EQUAL(report_attempt_add(c, &res), UV_EINVAL);
  CU_ASSERT_EQUAL(report_junit_write(r, NULL), UV_EINVAL);
  CU_ASSERT_EQUAL(report_junit_write(r, "/nonexistent-dir/x.xml"),
                  UV_ENOENT);
  report_free(r);
}

/* --repeat: attempt k ran with a seed of its own. Each attempt is shown
 * with its seed and the command that replays it; an attempt without one
 * with the case's. */
static report_case_t *seeded_case(report_t *r, const char *name,
                                  const report_outcome_t *o, size_t n,
                                  bool running)
{
  report_case_info_t ci = {.scenario = name, .target = "builtin",
                           .file = "s.yaml", .line = 1, .seed = 20};
  report_result_t res = {.failed_event = -1, .duration_s = 0.5};
  report_case_t *c = NULL;
  char replay[128];
  size_t i;

  snprintf(replay, sizeof(replay), "clustersim run %s.yaml --seed 20", name);
  ci.replay = replay;
  CU_ASSERT_EQUAL_FATAL(report_case_add(r, &ci, &c), 0);
  for (i = 0; i < n + (running ? 1 : 0); i++) {
    if (i > 0)
      CU_ASSERT_EQUAL(report_attempt_start(c), 0);
    snprintf(replay, sizeof(replay), "clustersim run %s.yaml --seed %zu",
             name, 20 + i);
    CU_ASSERT_EQUAL(report_attempt_seed(c, 20 + i, replay), 0);
    if (i == n)
      break;
    res.outcome = o[i];
    res.reason = o[i] == REPORT_PASS ? "pass" : "went wrong";
    CU_ASSERT_EQUAL(report_attempt_add(c, &res), 0);
  }
  return c;
}

static void test_attempt_seeds(void)
{
  static const report_outcome_t odd[] = {REPORT_FAIL, REPORT_SKIP,
                                         REPORT_FAIL};
  static const report_outcome_t second[] = {REPORT_PASS, REPORT_FAIL,
                                            REPORT_PASS};
  report_t *r = NULL;
  report_case_t *c;
  report_term_t *term = NULL;
  report_tap_t *tap = NULL;
  xmlDocPtr doc;
  char *out = NULL;
  size_t len = 0;
  FILE *f;
  const char *path = tmp_path("seeds.xml");

  CU_ASSERT_EQUAL(report_attempt_seed(NULL, 1, NULL), UV_EINVAL);
  CU_ASSERT_EQUAL_FATAL(report_new(&r, NULL), 0);
  seeded_case(r, "odd", odd, 3, false);
  c = seeded_case(r, "second", second, 3, false);
  seeded_case(r, "cut", second, 1, true);
  CU_ASSERT_EQUAL(report__attempt_seed_of(c, &c->attempts[1]), 21);
  CU_ASSERT_EQUAL(report_junit_write(r, path), 0);
  doc = read_xml(path);
  CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
  /* the failure is attempt 1's, the rerun attempt 3's */
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//testcase[@name='odd']/failure"
                                 "[contains(., 'seed: 20\n') and contains(.,"
                                 " 'replay: clustersim run odd.yaml --seed "
                                 "20')])"),
                  1);
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//testcase[@name='odd']/rerunFailure"
                                 "/stackTrace[contains(., 'seed: 22\n') and "
                                 "contains(., 'odd.yaml --seed 22') and "
                                 "not(contains(., '--seed 20'))])"),
                  1);
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//testcase[@name='odd']/system-out"
                                 "[contains(., '1=fail(0.500s, seed 20) "
                                 "2=skip(0.500s, seed 21) 3=fail(0.500s, "
                                 "seed 22)')])"),
                  1);
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//testcase[@name='second']"
                                 "/flakyFailure/stackTrace[contains(., "
                                 "'seed: 21\n') and contains(., 'second.yaml"
                                 " --seed 21')])"),
                  1);
  /* an attempt cut short has its seed too */
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//testcase[@name='cut']/error"
                                 "[@type='interrupted' and contains(., "
                                 "'seed: 21\n') and contains(., 'cut.yaml "
                                 "--seed 21')])"),
                  1);
  /* k of N attempts passed, on every case */
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//testcase[@name='second']"
                                 "/properties/property[@name='passed' and "
                                 "@value='2/3'])"),
                  1);
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//testcase[@name='odd']"
                                 "/properties/property[@name='passed' and "
                                 "@value='0/3'])"),
                  1);
  /* the case's own properties stay its first attempt's */
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//testcase/properties/property"
                                 "[@name='seed' and @value!='20'])"),
                  0);
  xmlFreeDoc(doc);

  f = open_memstream(&out, &len);
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  CU_ASSERT_EQUAL(report_tap_new(&tap, f, 0, 0), 0);
  CU_ASSERT_EQUAL(report_term_new(&term, f, 3, REPORT_TERM_PLAIN |
                                  REPORT_TERM_NOCOLOR, 0), 0);
  CU_ASSERT_EQUAL(report_tap_case(tap, c), 0);
  CU_ASSERT_EQUAL(report_term_summary(term, r, 0), 0);
  report_tap_free(tap);
  report_term_free(term);
  fclose(f);
  /* TAP: the flaky message is attempt 2's, and so are its seed and
   * replay; every attempt lists its seed */
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "  seed: 21\n  replay: \"clustersim "
                                     "run second.yaml --seed 21\"\n"));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "    - outcome: pass\n      seed: 22\n"));
  /* the terminal replays the attempt it shows */
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "  passed: 2/3\n"));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "  fail odd [builtin] 0/3 passed "
                                     "(s.yaml:1)\n"
                                     "    went wrong\n    replay: clustersim "
                                     "run odd.yaml --seed 20\n"));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "    replay: clustersim run second.yaml"
                                     " --seed 21\n"));
  free(out);
  /* the page heads each attempt with its seed */
  path = tmp_path("seeds.html");
  CU_ASSERT_EQUAL(report_html_write(r, path), 0);
  out = read_file(path, &len);
  CU_ASSERT_PTR_NOT_NULL_FATAL(out);
  CU_ASSERT_PTR_NOT_NULL(strstr(out, " in 0.500 s, 0 events, seed 21: went "
                                     "wrong</h3>"));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, " in 0.500 s, 0 events, seed 22</h3>"));
  free(out);
  report_free(r);
}

/* A run interrupted before its first case still leaves valid files. */
static void test_empty_report(void)
{
  report_t *r = NULL;
  xmlDocPtr doc;

  CU_ASSERT_EQUAL_FATAL(report_new(&r, NULL), 0);
  CU_ASSERT_EQUAL(report_interrupt(r, "interrupted by SIGINT"), 0);
  CU_ASSERT_EQUAL(report_junit_write(r, tmp_path("empty.xml")), 0);
  CU_ASSERT_EQUAL(report_html_write(r, tmp_path("empty.html")), 0);
  report_free(r);
  doc = read_xml(tmp_path("empty.xml"));
  CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
  CU_ASSERT_EQUAL(xpath_num(doc, "number(/testsuites/@tests)"), 0);
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//testsuite)"), 0);
  xmlFreeDoc(doc);
  doc = htmlReadFile(tmp_path("empty.html"), "UTF-8",
                     HTML_PARSE_NONET | HTML_PARSE_NOERROR |
                         HTML_PARSE_NOWARNING);
  CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//table[@class='matrix'])"), 1);
  xmlFreeDoc(doc);
}

/* ---------------------------------------------------------------------- */

/* Independent expectations per fixture: tests, failures, errors, skipped,
 * and the number of flakyFailure/flakyError and rerun elements. */
static const struct {
  const char *name;
  int tests, failures, errors, skipped, flaky, reruns, suites;
} expect[] = {
    {"pass", 3, 0, 0, 0, 0, 0, 2},    {"fail", 2, 1, 0, 0, 0, 0, 2},
    {"error", 2, 0, 1, 0, 0, 0, 1},   {"skip", 3, 0, 0, 2, 0, 0, 2},
    {"timeout", 2, 1, 0, 0, 0, 0, 1}, {"interrupted", 3, 1, 1, 0, 0, 0, 1},
    {"nasty", 1, 1, 0, 0, 0, 0, 1},   {"flaky", 4, 1, 0, 0, 3, 2, 2},
    {"shard1", 2, 1, 0, 0, 0, 0, 1},  {"shard2", 3, 0, 1, 1, 0, 0, 2},
    {"rolling", 2, 1, 0, 0, 0, 0, 2}, {"mixed", 7, 2, 1, 2, 1, 0, 2},
};

static void check_counts(xmlDocPtr doc, const char *name, int tests,
                         int failures, int errors, int skipped)
{
  /* Counts in attributes equal the children, at every level. */
  CU_ASSERT_EQUAL(xpath_num(doc, "number(/testsuites/@tests)"),
                  xpath_num(doc, "count(//testcase)"));
  CU_ASSERT_EQUAL(xpath_num(doc, "number(/testsuites/@failures)"),
                  xpath_num(doc, "count(//testcase[failure])"));
  CU_ASSERT_EQUAL(xpath_num(doc, "number(/testsuites/@errors)"),
                  xpath_num(doc, "count(//testcase[error])"));
  CU_ASSERT_EQUAL(
      xpath_num(doc, "count(//testsuite[@tests != count(testcase)])"), 0);
  CU_ASSERT_EQUAL(
      xpath_num(doc,
                "count(//testsuite[@failures != count(testcase[failure])])"),
      0);
  CU_ASSERT_EQUAL(
      xpath_num(doc, "count(//testsuite[@errors != count(testcase[error])])"),
      0);
  CU_ASSERT_EQUAL(
      xpath_num(doc,
                "count(//testsuite[@skipped != count(testcase[skipped])])"),
      0);
  /* And they are what the fixture means. */
  if (xpath_num(doc, "count(//testcase)") != tests ||
      xpath_num(doc, "count(//testcase[failure])") != failures ||
      xpath_num(doc, "count(//testcase[error])") != errors ||
      xpath_num(doc, "count(//testcase[skipped])") != skipped)
    fprintf(stderr, "%s: counts differ from the expectation\n", name);
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//testcase)"), tests);
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//testcase[failure])"), failures);
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//testcase[error])"), errors);
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//testcase[skipped])"), skipped);
  /* At most one result element per case. */
  CU_ASSERT_EQUAL(
      xpath_num(doc, "count(//testcase[count(failure|error|skipped) > 1])"),
      0);
}

static void test_junit_fixtures(void)
{
  size_t i;

  for (i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
    report_t *r = NULL;
    xmlDocPtr doc;
    const char *path = tmp_path("junit.xml");

    CU_ASSERT_EQUAL_FATAL(fixture_build(expect[i].name, false, NULL, &r), 0);
    if (strcmp(expect[i].name, "interrupted") == 0)
      CU_ASSERT_EQUAL(report_interrupt(r, "interrupted by SIGINT"), 0);
    CU_ASSERT_EQUAL_FATAL(report_junit_write(r, path), 0);
    report_free(r);
    doc = read_xml(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    check_counts(doc, expect[i].name, expect[i].tests, expect[i].failures,
                 expect[i].errors, expect[i].skipped);
    CU_ASSERT_EQUAL(xpath_num(doc, "count(//flakyFailure|//flakyError)"),
                    expect[i].flaky);
    CU_ASSERT_EQUAL(xpath_num(doc, "count(//rerunFailure|//rerunError)"),
                    expect[i].reruns);
    CU_ASSERT_EQUAL(xpath_num(doc, "count(/testsuites/testsuite)"),
                    expect[i].suites);
    /* Every case: a dotted classname, file and line, the properties. */
    CU_ASSERT_EQUAL(
        xpath_num(doc, "count(//testcase[not(contains(@classname,'.'))])"),
        0);
    CU_ASSERT_EQUAL(xpath_num(doc, "count(//testcase[not(@file)])"), 0);
    CU_ASSERT_EQUAL(xpath_num(doc, "count(//testcase[not(@line > 0)])"), 0);
    CU_ASSERT_EQUAL(
        xpath_num(doc, "count(//testcase[not(properties/property"
                       "[@name='replay'])])"),
        0);
    CU_ASSERT_EQUAL(
        xpath_num(doc, "count(//testcase[not(properties/property"
                       "[@name='seed'])])"),
        0);
    /* The reason in both the attribute and the body. */
    CU_ASSERT_EQUAL(
        xpath_num(doc, "count(//failure[not(@message) or @message=''"
                       " or not(contains(., substring-after(@message,"
                       " ': ')))])"),
        0);
    xmlFreeDoc(doc);
  }
}

static void test_junit_shapes(void)
{
  report_t *r = NULL;
  xmlDocPtr doc;
  const char *path = tmp_path("shapes.xml");

  CU_ASSERT_EQUAL_FATAL(fixture_build("mixed", false, NULL, &r), 0);
  CU_ASSERT_EQUAL_FATAL(report_junit_write(r, path), 0);
  report_free(r);
  doc = read_xml(path);
  CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
  /* A timeout is a failure, never a pass. */
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//testcase[@name='hang-forever']"
                                 "/failure[@type='timeout'])"),
                  1);
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//testcase[@name='broken']"
                                 "/error[@type='error'])"),
                  1);
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//testcase[@name='availability-"
                                 "under-load']/skipped[@type="
                                 "'inconclusive'])"),
                  1);
  /* Flaky: passing, with the failed attempt kept. */
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//testcase[@name='rolling-restart']"
                                 "[not(failure)]/flakyFailure)"),
                  1);
  CU_ASSERT_EQUAL(
      xpath_num(doc, "count(//testcase[@name='rolling-restart']"
                     "/properties/property[@name='verdict'][@value='flaky'])"),
      1);
  /* time in seconds with a dot, timestamps ISO 8601. */
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//testcase[not(contains(@time,'.'))"
                                 " or contains(@time,',')])"),
                  0);
  CU_ASSERT_EQUAL(
      xpath_num(doc, "count(//testsuite[string-length(@timestamp) != 20 or"
                     " substring(@timestamp,11,1) != 'T'])"),
      0);
  xmlFreeDoc(doc);
}

static void test_junit_strict(void)
{
  report_t *r = NULL;
  xmlDocPtr doc;
  const char *path = tmp_path("strict.xml");

  CU_ASSERT_EQUAL_FATAL(fixture_build("mixed", true, NULL, &r), 0);
  CU_ASSERT_EQUAL_FATAL(report_junit_write(r, path), 0);
  report_free(r);
  doc = read_xml(path);
  CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//testcase/@file|//testcase/@line"
                                 "|//testcase/properties|/testsuites/"
                                 "@skipped)"),
                  0);
  /* The replay command survives in system-out. */
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//testcase[not(contains(system-out,"
                                 "'replay: clustersim run'))])"),
                  0);
  check_counts(doc, "mixed strict", 7, 2, 1, 2);
  xmlFreeDoc(doc);
}

static void test_junit_nasty(void)
{
  report_t *r = NULL;
  xmlDocPtr doc;
  const char *path = tmp_path("nasty.xml");
  size_t len = 0, i;
  char *bytes;

  CU_ASSERT_EQUAL_FATAL(fixture_build("nasty", false, NULL, &r), 0);
  CU_ASSERT_EQUAL_FATAL(report_junit_write(r, path), 0);
  report_free(r);
  bytes = read_file(path, &len);
  CU_ASSERT_PTR_NOT_NULL_FATAL(bytes);
  CU_ASSERT(xmlCheckUTF8((const unsigned char *)bytes));
  for (i = 0; i < len; i++) {
    unsigned char b = (unsigned char)bytes[i];
    if ((b < 0x20 && b != '\n' && b != '\t') || b == 0x7f)
      break;
  }
  CU_ASSERT_EQUAL(i, len); /* no control byte anywhere */
  CU_ASSERT_PTR_NULL(strstr(bytes, "]]>"));
  free(bytes);
  doc = read_xml(path);
  CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//failure[contains(@message,"
                                 "'cdata]]>end')])"),
                  1);
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//testcase[@name='output <with> & "
                                 "\"markup\"'])"),
                  1);
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//system-out[contains(., "
                                 "'bad-utf8:\\xff')])"),
                  1);
  xmlFreeDoc(doc);
}

static void test_junit_atomic(void)
{
  report_t *r = NULL;
  struct dirent *de;
  DIR *d;
  int n = 0, k;
  char sub[600];

  snprintf(sub, sizeof(sub), "%s/atomic", tmpdir);
  CU_ASSERT_EQUAL_FATAL(mkdir(sub, 0755), 0);
  CU_ASSERT_EQUAL_FATAL(fixture_build("pass", false, NULL, &r), 0);
  /* Rewriting in place (as after every case, then on SIGINT) leaves one
   * file and no temporaries. */
  for (k = 0; k < 3; k++)
    CU_ASSERT_EQUAL(report_junit_write(r, tmp_path("atomic/junit.xml")), 0);
  CU_ASSERT_EQUAL(report_html_write(r, tmp_path("atomic/r.html")), 0);
  report_free(r);
  d = opendir(sub);
  CU_ASSERT_PTR_NOT_NULL_FATAL(d);
  while ((de = readdir(d)) != NULL)
    if (de->d_name[0] != '.')
      n++;
  closedir(d);
  CU_ASSERT_EQUAL(n, 2);
}

/* ---------------------------------------------------------------------- */

static void test_merge(void)
{
  char s1[600], s2[600];
  const char *in[2] = {s1, s2};
  report_t *r = NULL;
  xmlDocPtr doc;

  CU_ASSERT_EQUAL_FATAL(fixture_build("shard1", false, NULL, &r), 0);
  CU_ASSERT_EQUAL(report_junit_write(r, tmp_path("s1.xml")), 0);
  report_free(r);
  CU_ASSERT_EQUAL_FATAL(fixture_build("shard2", false, NULL, &r), 0);
  CU_ASSERT_EQUAL(report_junit_write(r, tmp_path("s2.xml")), 0);
  report_free(r);
  snprintf(s1, sizeof(s1), "%s", tmp_path("s1.xml"));
  snprintf(s2, sizeof(s2), "%s", tmp_path("s2.xml"));
  CU_ASSERT_EQUAL_FATAL(report_junit_merge(in, 2, tmp_path("all.xml"), false),
                        0);
  doc = read_xml(tmp_path("all.xml"));
  CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
  check_counts(doc, "merged", 5, 1, 1, 1);
  CU_ASSERT_EQUAL(xpath_num(doc, "count(/testsuites/testsuite)"), 3);
  CU_ASSERT_EQUAL(xpath_num(doc, "number(/testsuites/@skipped)"), 1);
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//testcase[@file])"), 5);
  /* ids renumbered, so no two suites share one */
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//testsuite[@id='2'])"), 1);
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//property[@name='shard'])"), 3);
  xmlFreeDoc(doc);

  CU_ASSERT_EQUAL(report_junit_merge(in, 2, tmp_path("all-s.xml"), true), 0);
  doc = read_xml(tmp_path("all-s.xml"));
  CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
  check_counts(doc, "merged strict", 5, 1, 1, 1);
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//testcase/@file|//testcase/"
                                 "properties|/testsuites/@skipped)"),
                  0);
  xmlFreeDoc(doc);
}

static void test_merge_bad_inputs(void)
{
  const char *in[1];
  FILE *f;

  f = fopen(tmp_path("not-junit.xml"), "w");
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  fputs("<html><body/></html>\n", f);
  fclose(f);
  f = fopen(tmp_path("broken.xml"), "w");
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  fputs("<testsuites><testsuite>\n", f);
  fclose(f);
  in[0] = tmp_path("not-junit.xml");
  CU_ASSERT_EQUAL(report_junit_merge(in, 1, tmp_path("m.xml"), false),
                  UV_EINVAL);
  in[0] = tmp_path("broken.xml");
  CU_ASSERT_EQUAL(report_junit_merge(in, 1, tmp_path("m.xml"), false),
                  UV_EIO);
  in[0] = tmp_path("missing.xml");
  CU_ASSERT_EQUAL(report_junit_merge(in, 1, tmp_path("m.xml"), false),
                  UV_EIO);
  CU_ASSERT_EQUAL(access(tmp_path("m.xml"), F_OK), -1);
  CU_ASSERT_EQUAL(report_junit_merge(in, 0, tmp_path("m.xml"), false),
                  UV_EINVAL);
}

/* A foreign producer's file (meson 1.0.1's shape, counts wrong on purpose)
 * is recounted. */
static void test_merge_recounts(void)
{
  const char *in[1] = {tmp_path("foreign.xml")};
  FILE *f = fopen(in[0], "w");
  xmlDocPtr doc;

  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  fputs("<testsuite name=\"x\" tests=\"9\" failures=\"0\" errors=\"0\">"
        "<testcase name=\"a\" time=\"1,000.5\"/>"
        "<testcase name=\"b\"><failure/></testcase>"
        "<testcase name=\"c\"><skipped/></testcase>"
        "<testsuite name=\"nested\" tests=\"0\" failures=\"0\" errors=\"0\">"
        "<testcase name=\"d\"><error/></testcase></testsuite>"
        "</testsuite>\n",
        f);
  fclose(f);
  CU_ASSERT_EQUAL_FATAL(report_junit_merge(in, 1, tmp_path("f.xml"), false),
                        0);
  doc = read_xml(tmp_path("f.xml"));
  CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
  CU_ASSERT_EQUAL(xpath_num(doc, "number(/testsuites/@tests)"), 4);
  CU_ASSERT_EQUAL(xpath_num(doc, "number(/testsuites/testsuite/@tests)"), 4);
  CU_ASSERT_EQUAL(xpath_num(doc, "number(/testsuites/@failures)"), 1);
  CU_ASSERT_EQUAL(xpath_num(doc, "number(/testsuites/@errors)"), 1);
  CU_ASSERT_EQUAL(xpath_num(doc, "number(//testsuite[@name='nested']"
                                 "/@errors)"),
                  1);
  CU_ASSERT_EQUAL(xpath_num(doc, "number(/testsuites/@time)"), 1000.5);
  xmlFreeDoc(doc);
}

static void test_cli(void)
{
  char *argv_bad[] = {"report", "frobnicate", NULL};
  char *argv_noout[] = {"report", "merge", "a.xml", NULL};
  char *argv_opt[] = {"report", "merge", "--bogus", "a.xml", "-o", "b", NULL};
  char *argv_ok[] = {"report", "merge", (char *)tmp_path("s1.xml"),
                     (char *)tmp_path("s2.xml"), "-o",
                     (char *)tmp_path("cli.xml"), NULL};
  char *argv_missing[] = {"report", "merge", (char *)tmp_path("nope.xml"),
                          "--output", (char *)tmp_path("cli2.xml"), NULL};
  FILE *saved = stderr;

  /* Usage text is not what this test checks. */
  stderr = fopen("/dev/null", "w");
  CU_ASSERT_EQUAL(cli_run(2, argv_bad), BASE_EXIT_USAGE);
  CU_ASSERT_EQUAL(cli_run(3, argv_noout), BASE_EXIT_USAGE);
  CU_ASSERT_EQUAL(cli_run(6, argv_opt), BASE_EXIT_USAGE);
  CU_ASSERT_EQUAL(cli_run(5, argv_missing), 1);
  fclose(stderr);
  stderr = saved;
  CU_ASSERT_EQUAL(cli_run(6, argv_ok), 0);
  CU_ASSERT_EQUAL(access(tmp_path("cli.xml"), R_OK), 0);
}

/* ---------------------------------------------------------------------- */

static int count_lines(const char *s, const char *prefix)
{
  size_t n = strlen(prefix);
  int k = 0;

  for (; s && *s; s = strchr(s, '\n') ? strchr(s, '\n') + 1 : "")
    if (strncmp(s, prefix, n) == 0)
      k++;
  return k;
}

static void test_tap(void)
{
  report_tap_t *t = NULL;
  report_t *r = NULL;
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);

  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  CU_ASSERT_EQUAL_FATAL(report_tap_new(&t, f, 0, 0), 0);
  CU_ASSERT_EQUAL_FATAL(fixture_build("mixed", false, t, &r), 0);
  CU_ASSERT_EQUAL(report_tap_end(t), 0);
  report_tap_free(t);
  report_free(r);
  fclose(f);
  CU_ASSERT_EQUAL(strncmp(out, "TAP version 14\n", 15), 0);
  /* pass + flaky ok; fail, timeout, error not ok; skip, inconclusive
   * skipped; the plan after the points. */
  CU_ASSERT_EQUAL(count_lines(out, "ok "), 4);
  CU_ASSERT_EQUAL(count_lines(out, "not ok "), 3);
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "ok 5 - windows-only [node] # SKIP "
                                     "needs # a feature\n"));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "# SKIP inconclusive: no request"));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "not ok 3 - hang-forever [builtin]\n"
                                     "  ---\n"
                                     "  message: \"timed out after 10 s\"\n"
                                     "  severity: timeout\n"));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "ok 7 - rolling-restart [node]\n  ---\n"
                                     "  message: \"flaky: availability: 3 "
                                     "requests failed\"\n  severity: flaky\n"));
  CU_ASSERT_EQUAL(count_lines(out, "  ---"), count_lines(out, "  ..."));
  CU_ASSERT_EQUAL(count_lines(out, "1..7"), 1);
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "1..7\n# 2 passed, 3 failed, 2 skipped"
                                     "\n"));
  free(out);
}

static void test_tap_version(void)
{
  static const struct {
    unsigned flags, planned;
    const char *want;
  } t[] = {
      {0, 0, "TAP version 14\n"},
      {REPORT_TAP_V13, 0, "TAP version 13\n"},
      {0, 3, "TAP version 14\n1..3\n"},
  };
  report_tap_t *tap;
  char *out;
  size_t len, i;
  FILE *f;

  for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    out = NULL;
    f = open_memstream(&out, &len);
    CU_ASSERT_EQUAL_FATAL(report_tap_new(&tap, f, t[i].planned, t[i].flags),
                          0);
    report_tap_free(tap);
    fclose(f);
    CU_ASSERT_STRING_EQUAL(out, t[i].want);
    free(out);
  }
}

static void test_tap_escapes(void)
{
  report_case_info_t ci = {.scenario = "a #hash\\ and\nnewline",
                           .target = "builtin"};
  report_result_t res = {.outcome = REPORT_FAIL,
                         .reason = "quote \" back\\ \033[1m",
                         .failed_event = -1};
  report_tap_t *t = NULL;
  report_t *r = NULL;
  report_case_t *c;
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);

  CU_ASSERT_EQUAL_FATAL(report_new(&r, NULL), 0);
  CU_ASSERT_EQUAL_FATAL(report_tap_new(&t, f, 1, 0), 0);
  CU_ASSERT_EQUAL_FATAL(report_case_add(r, &ci, &c), 0);
  CU_ASSERT_EQUAL(report_attempt_add(c, &res), 0);
  CU_ASSERT_EQUAL(report_tap_case(t, c), 0);
  CU_ASSERT_EQUAL(report_tap_bail(t, "agent vanished\nsecond line"), 0);
  report_tap_free(t);
  report_free(r);
  fclose(f);
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "TAP version 14\n1..1\n"
                                     "not ok 1 - a \\#hash\\\\ and [builtin]"
                                     "\n"));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "  message: \"quote \\\" back\\\\ \"\n"));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "\nBail out! agent vanished\n"));
  CU_ASSERT_PTR_NULL(strchr(out, '\033'));
  free(out);
}

/* ---------------------------------------------------------------------- */

static char *run_term(unsigned flags, const char *fixture)
{
  report_term_t *t = NULL;
  report_t *r = NULL;
  char *out = NULL;
  size_t len = 0, i;
  FILE *f = open_memstream(&out, &len);
  uint64_t s = 1000000000ull;

  CU_ASSERT_EQUAL(fixture_build(fixture, false, NULL, &r), 0);
  CU_ASSERT_EQUAL(report_term_new(&t, f, (unsigned)r->ncases, flags, s), 0);
  for (i = 0; i < r->ncases; i++)
    CU_ASSERT_EQUAL(report_term_case_start(t, r->cases[i], s + i), 0);
  CU_ASSERT_EQUAL(report_term_tick(t, s + 1500000000ull), 0);
  for (i = 0; i < r->ncases; i++)
    CU_ASSERT_EQUAL(report_term_case_end(t, r->cases[i], s + 2000000000ull),
                    0);
  CU_ASSERT_EQUAL(report_term_summary(t, r, s + 2500000000ull), 0);
  report_term_free(t);
  report_free(r);
  fclose(f);
  return out;
}

static void test_term_plain(void)
{
  char *out = run_term(REPORT_TERM_PLAIN | REPORT_TERM_NOCOLOR, "mixed");

  CU_ASSERT_PTR_NULL(strchr(out, '\033'));
  CU_ASSERT_PTR_NULL(strchr(out, '\r'));
  CU_ASSERT_EQUAL(count_lines(out, "[1/7] pass         fork-online-"
                                   "listening [builtin] 0.250s"),
                  1);
  CU_ASSERT_EQUAL(count_lines(out, "[3/7] timeout      hang-forever "
                                   "[builtin] 10.000s: timed out after 10 s"),
                  1);
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "\nFailures:\n"
                                     "  fail crash-respawn [builtin] "
                                     "(scenarios/crash.yaml:3)\n"
                                     "    respawn: expected worker 3, got "
                                     "none\n"
                                     "    replay: clustersim run scenarios/"
                                     "crash.yaml --target builtin --seed "
                                     "1001\n"));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "\nFlaky:\n  flaky rolling-restart "
                                     "[node]"));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "    attempt 1: fail: availability"));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "7 cases: 2 passed (1 flaky), 2 failed,"
                                     " 1 errors, 2 skipped (1 inconclusive)"
                                     " in 2.5s\n"));
  free(out);
}

static void test_term_tty(void)
{
  char *out = run_term(REPORT_TERM_TTY | REPORT_TERM_COLOR, "fail");

  /* The progress line is redrawn in place and shows what runs. */
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "\r\033[K"));
  /* Cut to the width (80 when it cannot be asked) less one, so that it
   * never wraps: a wrapped line cannot be redrawn. */
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "[0/2] 0 failed | 0.0s | running: "
                                     "fork-online-listening [builtin], "
                                     "crash-respawn\033[0m"));
  CU_ASSERT_PTR_NULL(strstr(out, "[builtin], crash-respawn [node]"));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "[0/2] 0 failed | 1.5s"));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "[2/2] 1 failed | 2.0s"));
  /* Passes stay off the scrollback on a TTY; failures stay, in red. */
  CU_ASSERT_PTR_NULL(strstr(out, "pass\033[0m fork-online-listening"));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "\033[31mfail        \033[0m "
                                     "crash-respawn [node]"));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "Failures:"));
  free(out);
}

static void test_term_auto(void)
{
  /* A memstream is not a TTY: no redraws, no colours. */
  char *out = run_term(REPORT_TERM_AUTO, "fail");

  CU_ASSERT_PTR_NULL(strchr(out, '\033'));
  CU_ASSERT_PTR_NULL(strchr(out, '\r'));
  free(out);
}

/* ---------------------------------------------------------------------- */

static void test_html(void)
{
  report_t *r = NULL;
  htmlDocPtr doc;
  const char *path = tmp_path("rolling.html");
  size_t len = 0;
  char *bytes;

  CU_ASSERT_EQUAL_FATAL(fixture_build("rolling", false, NULL, &r), 0);
  CU_ASSERT_EQUAL_FATAL(report_html_write(r, path), 0);
  report_free(r);
  bytes = read_file(path, &len);
  CU_ASSERT_PTR_NOT_NULL_FATAL(bytes);
  CU_ASSERT_EQUAL(strncmp(bytes, "<!DOCTYPE html>\n<html", 21), 0);
  /* Self-contained: nothing that would load from elsewhere. */
  CU_ASSERT_PTR_NULL(strstr(bytes, "src="));
  CU_ASSERT_PTR_NULL(strstr(bytes, "href=\"http"));
  CU_ASSERT_PTR_NULL(strstr(bytes, "<link"));
  /* An HTML parser ignores "/>" on HTML elements. */
  CU_ASSERT_PTR_NULL(strstr(bytes, "<div/>"));
  CU_ASSERT_PTR_NULL(strstr(bytes, "<td/>"));
  free(bytes);
  doc = htmlReadFile(path, "UTF-8", HTML_PARSE_NONET | HTML_PARSE_NOERROR |
                                        HTML_PARSE_NOWARNING);
  CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
  /* The table: one row per scenario, a column per target. */
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//table[@class='matrix']/tbody/tr)"),
                  1);
  CU_ASSERT_EQUAL(
      xpath_num(doc, "count(//table[@class='matrix']/thead/tr/th)"), 3);
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//td[@class='v-fail']/a"
                                 "[@href='#case-1'])"),
                  1);
  /* A timeline per attempt, lanes for harness, primary, workers 1-4. */
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//svg[@class='timeline'])"), 2);
  CU_ASSERT_EQUAL(
      xpath_num(doc, "count((//svg[@class='timeline'])[1]/text"
                     "[@class='lane-label'])"),
      6);
  CU_ASSERT_EQUAL(xpath_num(doc, "count((//svg[@class='timeline'])[1]/text"
                                 "[@class='lane-label'][.='worker 4'])"),
                  1);
  /* Failed requests highlighted in the failing run only, the failed
   * expectation pointed at once. */
  CU_ASSERT_EQUAL(xpath_num(doc, "count((//svg[@class='timeline'])[1]"
                                 "/path[@class='failreq'])"),
                  3);
  CU_ASSERT_EQUAL(xpath_num(doc, "count((//svg[@class='timeline'])[2]"
                                 "/path[@class='failreq'])"),
                  0);
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//g[@class='expect'])"), 1);
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//g[@class='expect']/text[contains("
                                 ".,'expectation failed: availability')])"),
                  1);
  /* Every mark says what it is on hover. */
  CU_ASSERT_EQUAL(xpath_num(doc, "count((//svg[@class='timeline'])[1]"
                                 "/circle[contains(@class,'mark')])"),
                  32);
  CU_ASSERT_EQUAL(xpath_num(doc, "count((//svg[@class='timeline'])[1]/circle"
                                 "[contains(@class,'mark')][not(title)])"),
                  0);
  xmlFreeDoc(doc);
}

/* Names above the marks, as the harness gives kinds: Node's events first
 * in a group of close marks, the rest counted; policy actions coloured as
 * policy; a name that would overlap the one before it left out. */
static void test_html_mark_names(void)
{
  static const struct {
    unsigned ms10; /* tenths of a millisecond */
    int lane;
    const char *kind;
  } ev[] = {
      {0, 1, "fork"},           {5, 1, "worker-started"},
      {10, 1, "online"},        {20, 1, "listening"},
      {5000, 0, "restart-fork"},
      {10000, 1, "disconnect"}, {10005, 1, "exit"},
      /* 2 ms after a long name: no room for its own */
      {200, 1, "message"},
  };
  report_run_info_t info;
  report_case_info_t ci;
  report_result_t res;
  report_case_t *c = NULL;
  report_t *r = NULL;
  htmlDocPtr doc;
  const char *path = tmp_path("names.html");
  size_t i;

  memset(&info, 0, sizeof(info));
  memset(&ci, 0, sizeof(ci));
  memset(&res, 0, sizeof(res));
  ci.scenario = "names";
  ci.target = "builtin";
  CU_ASSERT_EQUAL_FATAL(report_new(&r, &info), 0);
  CU_ASSERT_EQUAL_FATAL(report_case_add(r, &ci, &c), 0);
  for (i = 0; i < sizeof(ev) / sizeof(ev[0]); i++) {
    report_event_t e;
    memset(&e, 0, sizeof(e));
    e.t_ns = 1000000000ull + ev[i].ms10 * 100000ull;
    e.lane = ev[i].lane;
    e.kind = ev[i].kind;
    CU_ASSERT_EQUAL(report_event_add(c, &e), 0);
  }
  res.outcome = REPORT_PASS;
  res.failed_event = -1;
  CU_ASSERT_EQUAL(report_attempt_add(c, &res), 0);
  CU_ASSERT_EQUAL_FATAL(report_html_write(r, path), 0);
  report_free(r);
  doc = htmlReadFile(path, "UTF-8", HTML_PARSE_NONET | HTML_PARSE_NOERROR |
                                        HTML_PARSE_NOWARNING);
  CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//text[@class='mark-name'])"), 3);
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//text[@class='mark-name']"
                                 "[.='fork, online, listening +1'])"),
                  1);
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//text[@class='mark-name']"
                                 "[.='disconnect, exit'])"),
                  1);
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//text[@class='mark-name']"
                                 "[.='restart-fork'])"),
                  1);
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//svg[@class='timeline']"
                                 "//circle[@class='mark k-policy'])"),
                  1);
  CU_ASSERT_EQUAL(xpath_num(doc, "count(//svg[@class='timeline']"
                                 "//circle[@class='mark k-other'])"),
                  1);
  xmlFreeDoc(doc);
}

/* Past 64 worker lanes the workers are a density (bands of workers by
 * slices of time), with the failing worker's lane and the failed
 * expectation in full; up to 64 every worker keeps its lane. */
static void test_html_density(void)
{
  static const struct {
    unsigned workers, failing;
    double lanes, bands, densities;
  } cases[] = {
      {64, 0, 66, 0, 0},         /* harness, primary, 64 workers */
      {65, 0, 2, 33, 1},         /* harness, primary; 2 workers a band */
      {1000, 777, 3, 63, 1},     /* + worker 777; 16 workers a band */
      {4096, 4096, 3, 64, 1},    /* + worker 4096; 64 workers a band */
  };
  const char *path = tmp_path("density.html");
  size_t i;

  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    report_t *r = NULL;
    htmlDocPtr doc;
    CU_ASSERT_EQUAL_FATAL(fixture_scale(cases[i].workers, cases[i].failing,
                                        &r), 0);
    CU_ASSERT_EQUAL_FATAL(report_html_write(r, path), 0);
    report_free(r);
    doc = htmlReadFile(path, "UTF-8", HTML_PARSE_NONET | HTML_PARSE_NOERROR |
                                          HTML_PARSE_NOWARNING);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_EQUAL(xpath_num(doc, "count(//text[@class='lane-label'])"),
                    cases[i].lanes);
    CU_ASSERT_EQUAL(xpath_num(doc, "count(//g[@class='density'])"),
                    cases[i].densities);
    CU_ASSERT_EQUAL(xpath_num(doc, "count(//text[@class='dens-label'])"),
                    cases[i].bands);
    /* the fault and the failed request stay marks of their own */
    CU_ASSERT_EQUAL(xpath_num(doc, "count(//svg[@class='timeline']"
                                   "//path[@class='fault'])"),
                    cases[i].failing ? 2 : 1);
    CU_ASSERT_EQUAL(xpath_num(doc, "count(//svg[@class='timeline']"
                                   "//path[@class='failreq'])"),
                    1);
    if (cases[i].failing) {
      char q[128];
      snprintf(q, sizeof(q), "count(//text[@class='lane-label']"
                             "[.='worker %u'])", cases[i].failing);
      CU_ASSERT_EQUAL(xpath_num(doc, q), 1);
      CU_ASSERT_EQUAL(xpath_num(doc, "count(//g[@class='expect'])"), 1);
      /* the failing exit is in a band: that cell is outlined */
      CU_ASSERT_EQUAL(xpath_num(doc, "count(//rect[contains(@class,"
                                     "'hot')])"),
                      1);
    }
    if (cases[i].densities) {
      /* every worker's 5 (or, killed, 4) events are in the cells' titles;
       * no cell without a title */
      CU_ASSERT(xpath_num(doc, "count(//rect[contains(@class,'dens ')])") >
                0);
      CU_ASSERT_EQUAL(xpath_num(doc, "count(//rect[contains(@class,'dens ')]"
                                     "[not(title)])"),
                      0);
      CU_ASSERT_EQUAL(xpath_num(doc, "count(//svg[@class='timeline']"
                                     "//circle[contains(@class,'mark')])"),
                      cases[i].failing ? 5 : 1);
    }
    xmlFreeDoc(doc);
  }
}

static void test_html_nasty(void)
{
  report_t *r = NULL;
  const char *path = tmp_path("nasty.html");
  size_t len = 0, i;
  char *bytes;

  CU_ASSERT_EQUAL_FATAL(fixture_build("nasty", false, NULL, &r), 0);
  CU_ASSERT_EQUAL_FATAL(report_html_write(r, path), 0);
  report_free(r);
  bytes = read_file(path, &len);
  CU_ASSERT_PTR_NOT_NULL_FATAL(bytes);
  CU_ASSERT(xmlCheckUTF8((const unsigned char *)bytes));
  for (i = 0; i < len; i++)
    if ((unsigned char)bytes[i] < 0x20 && bytes[i] != '\n' &&
        bytes[i] != '\t')
      break;
  CU_ASSERT_EQUAL(i, len);
  CU_ASSERT_PTR_NULL(strstr(bytes, "<tag>"));
  CU_ASSERT_PTR_NOT_NULL(strstr(bytes, "&lt;tag&gt;"));
  free(bytes);
}

/* ---------------------------------------------------------------------- */

static int rm_entry(const char *p, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(p);
}

static CU_TestInfo model_tests[] = {
    {"text clean table", test_text_clean},
    {"text first line", test_text_line},
    {"detail beside its reason", test_detail_rest},
    {"seconds and timestamps", test_fmt_seconds},
    {"verdict table", test_verdicts},
    {"API misuse", test_api_misuse},
    {"outcome names", test_outcome_names},
    {"empty report", test_empty_report},
    {"each attempt's seed and replay", test_attempt_seeds},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo junit_tests[] = {
    {"fixtures: counts by XPath", test_junit_fixtures},
    {"outcome shapes", test_junit_shapes},
    {"strict dialect", test_junit_strict},
    {"control chars, ]]>, bad UTF-8", test_junit_nasty},
    {"atomic rewrite", test_junit_atomic},
    {"merge shards", test_merge},
    {"merge rejects bad inputs", test_merge_bad_inputs},
    {"merge recounts foreign files", test_merge_recounts},
    {"report CLI", test_cli},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo view_tests[] = {
    {"TAP 14 stream", test_tap},
    {"TAP version line", test_tap_version},
    {"TAP escapes", test_tap_escapes},
    {"terminal plain", test_term_plain},
    {"terminal TTY", test_term_tty},
    {"terminal auto on a pipe", test_term_auto},
    {"HTML structure", test_html},
    {"HTML mark names", test_html_mark_names},
    {"HTML density of a big cluster", test_html_density},
    {"HTML hostile text", test_html_nasty},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "model", .pTests = model_tests},
    {.pName = "junit", .pTests = junit_tests},
    {.pName = "views", .pTests = view_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
  int rc;

  if (mkdtemp(tmpdir) == NULL) {
    perror("mkdtemp");
    return 99;
  }
  rc = test_main(argc, argv, suites, NULL);
  nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  xmlCleanupParser();
  return rc;
}
