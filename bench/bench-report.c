/*
 * bench-report.c - the table of one bench/run.sh run, its JSON, and the
 * comparison of two runs.
 *
 *   bench-report [--json FILE] < SAMPLES
 *   bench-report --compare OLD.json NEW.json
 *
 * SAMPLES holds `figure NAME TARGET UNIT VALUE` lines (bench.h) and
 * `machine KEY VALUE...` lines; anything else is ignored. Each figure
 * gets min/median/max per target and, for every target that is neither
 * Node nor a floor, its ratio to Node (how many times better: higher
 * rates, lower times and sizes) and its share of the floor. Prints, never
 * asserts.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define MAX_FIGURES 64
#define MAX_TARGETS 16
#define MAX_SAMPLES 1024

typedef struct {
  char name[64];
  double v[MAX_SAMPLES];
  unsigned n;
} target_t;

typedef struct {
  char name[64];
  char unit[32];
  target_t t[MAX_TARGETS];
  unsigned nt;
} figure_t;

static figure_t figs[MAX_FIGURES];
static unsigned nfigs;
static cJSON *machine;

/* Targets print in this order; others follow as they came. */
static const char *const target_order[] = {
  "floor", "floor-epoll", "builtin", "builtin@base", "sim", "sim@base",
  "node", "c-node", "node-c",
};

static int lower_is_better(const char *unit)
{
  return strcmp(unit, "ms") == 0 || strcmp(unit, "kB") == 0 ||
         strcmp(unit, "requests") == 0 || strcmp(unit, "s") == 0;
}

/* builtin and sim, and the same of a baseline build (builtin@base). */
static int is_c_target(const char *t)
{
  return strncmp(t, "builtin", 7) == 0 || strncmp(t, "sim", 3) == 0;
}

/* How many times better `v` is than `ref`. */
static double better(const char *unit, double v, double ref)
{
  if (v <= 0 || ref <= 0)
    return NAN;
  return lower_is_better(unit) ? ref / v : v / ref;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(const target_t *t)
{
  return t->n == 0 ? NAN : t->v[t->n / 2];
}

static int target_rank(const char *name)
{
  for (size_t i = 0; i < sizeof(target_order) / sizeof(target_order[0]); i++)
    if (strcmp(name, target_order[i]) == 0)
      return (int)i;
  return 100;
}

static int cmp_target(const void *a, const void *b)
{
  return target_rank(((const target_t *)a)->name) -
         target_rank(((const target_t *)b)->name);
}

static target_t *find_target(figure_t *f, const char *name)
{
  for (unsigned i = 0; i < f->nt; i++)
    if (strcmp(f->t[i].name, name) == 0)
      return &f->t[i];
  return NULL;
}

/* ---------------------------------------------------------------------- */
/* Reading samples                                                         */

static void add_sample(const char *name, const char *target,
                       const char *unit, double v)
{
  figure_t *f = NULL;
  target_t *t;

  for (unsigned i = 0; i < nfigs; i++)
    if (strcmp(figs[i].name, name) == 0)
      f = &figs[i];
  if (f == NULL) {
    if (nfigs == MAX_FIGURES)
      return;
    f = &figs[nfigs++];
    snprintf(f->name, sizeof(f->name), "%s", name);
    snprintf(f->unit, sizeof(f->unit), "%s", unit);
  }
  t = find_target(f, target);
  if (t == NULL) {
    if (f->nt == MAX_TARGETS) {
      fprintf(stderr, "bench-report: %s: more than %d targets, %s dropped\n",
              name, MAX_TARGETS, target);
      return;
    }
    t = &f->t[f->nt++];
    snprintf(t->name, sizeof(t->name), "%s", target);
  }
  if (t->n < MAX_SAMPLES)
    t->v[t->n++] = v;
}

static void read_samples(FILE *in)
{
  char line[1024], name[64], target[64], unit[32], key[64];
  double v;
  int off;

  machine = cJSON_CreateObject();
  while (fgets(line, sizeof(line), in) != NULL) {
    line[strcspn(line, "\n")] = '\0';
    if (sscanf(line, "figure %63s %63s %31s %lf", name, target, unit, &v) ==
        4)
      add_sample(name, target, unit, v);
    else if (sscanf(line, "machine %63s %n", key, &off) == 1)
      cJSON_AddStringToObject(machine, key, line + off);
  }
  for (unsigned i = 0; i < nfigs; i++) {
    qsort(figs[i].t, figs[i].nt, sizeof(target_t), cmp_target);
    for (unsigned k = 0; k < figs[i].nt; k++)
      qsort(figs[i].t[k].v, figs[i].t[k].n, sizeof(double), cmp_double);
  }
}

/* ---------------------------------------------------------------------- */
/* The table                                                               */

/* Whole numbers above 100, three decimals below. */
static const char *num(double v)
{
  static char buf[32];

  snprintf(buf, sizeof(buf), fabs(v) >= 100 ? "%.0f" : "%.3f", v);
  return buf;
}

static void print_row(const figure_t *f, const target_t *t, int first)
{
  const target_t *node = find_target((figure_t *)f, "node");
  const target_t *floor = find_target((figure_t *)f, "floor");
  char vs_node[32] = "", vs_floor[32] = "";

  /* A ratio of counts that may be 0 (failed requests) means nothing. */
  if (is_c_target(t->name) && node != NULL &&
      !isnan(better(f->unit, median(t), median(node))))
    snprintf(vs_node, sizeof(vs_node), "%.2fx node",
             better(f->unit, median(t), median(node)));
  if (is_c_target(t->name) && floor != NULL &&
      !isnan(better(f->unit, median(t), median(floor))))
    snprintf(vs_floor, sizeof(vs_floor), "%.0f%% of floor",
             100 * better(f->unit, median(t), median(floor)));
  printf("%-20s %-12s %4u %12s", first ? f->name : "", t->name, t->n,
         num(t->v[0]));
  printf(" %12s", num(median(t)));
  printf(" %12s %-7s %-11s %s\n", num(t->v[t->n - 1]), f->unit, vs_node,
         vs_floor);
}

static void print_table(void)
{
  cJSON *item;

  printf("# clustersim bench");
  cJSON_ArrayForEach(item, machine)
    printf(", %s %s", item->string, item->valuestring);
  printf("\n%-20s %-12s %4s %12s %12s %12s %-7s %s\n", "figure", "target",
         "n", "min", "median", "max", "unit", "ratios (medians)");
  for (unsigned i = 0; i < nfigs; i++)
    for (unsigned k = 0; k < figs[i].nt; k++)
      print_row(&figs[i], &figs[i].t[k], k == 0);
}

/* ---------------------------------------------------------------------- */
/* JSON                                                                    */

static cJSON *figure_json(const figure_t *f)
{
  cJSON *o = cJSON_CreateObject(), *targets = cJSON_CreateObject();
  cJSON *ratios = cJSON_CreateObject();
  char key[96];

  cJSON_AddStringToObject(o, "name", f->name);
  cJSON_AddStringToObject(o, "unit", f->unit);
  cJSON_AddStringToObject(o, "better",
                          lower_is_better(f->unit) ? "lower" : "higher");
  for (unsigned k = 0; k < f->nt; k++) {
    const target_t *t = &f->t[k];
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "n", t->n);
    cJSON_AddNumberToObject(j, "min", t->v[0]);
    cJSON_AddNumberToObject(j, "median", median(t));
    cJSON_AddNumberToObject(j, "max", t->v[t->n - 1]);
    cJSON_AddItemToObject(j, "samples", cJSON_CreateDoubleArray(t->v,
                                                                (int)t->n));
    cJSON_AddItemToObject(targets, t->name, j);
    for (unsigned r = 0; r < f->nt && is_c_target(t->name); r++) {
      const char *ref = f->t[r].name;
      double x;
      if (strcmp(ref, "node") != 0 && strcmp(ref, "floor") != 0)
        continue;
      x = better(f->unit, median(t), median(&f->t[r]));
      snprintf(key, sizeof(key), "%s/%s", t->name, ref);
      if (!isnan(x))
        cJSON_AddNumberToObject(ratios, key, x);
    }
  }
  cJSON_AddItemToObject(o, "targets", targets);
  cJSON_AddItemToObject(o, "ratios", ratios);
  return o;
}

static int write_json(const char *path)
{
  cJSON *root = cJSON_CreateObject(), *list = cJSON_CreateArray();
  char *text;
  FILE *f;

  cJSON_AddItemToObject(root, "machine", cJSON_Duplicate(machine, 1));
  for (unsigned i = 0; i < nfigs; i++)
    cJSON_AddItemToArray(list, figure_json(&figs[i]));
  cJSON_AddItemToObject(root, "figures", list);
  text = cJSON_Print(root);
  cJSON_Delete(root);
  f = fopen(path, "w");
  if (f == NULL || text == NULL || fputs(text, f) < 0 || fputc('\n', f) < 0) {
    fprintf(stderr, "bench-report: cannot write %s\n", path);
    if (f != NULL)
      fclose(f);
    free(text);
    return 1;
  }
  free(text);
  return fclose(f) == 0 ? 0 : 1;
}

/* ---------------------------------------------------------------------- */
/* Comparing two runs                                                      */

static cJSON *load(const char *path)
{
  FILE *f = fopen(path, "r");
  cJSON *j = NULL;
  char *text;
  long n;

  if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
      fseek(f, 0, SEEK_SET) != 0) {
    if (f != NULL)
      fclose(f);
    fprintf(stderr, "bench-report: cannot read %s\n", path);
    return NULL;
  }
  text = malloc((size_t)n + 1);
  if (text != NULL && fread(text, 1, (size_t)n, f) == (size_t)n) {
    text[n] = '\0';
    j = cJSON_Parse(text);
  }
  free(text);
  fclose(f);
  if (j == NULL)
    fprintf(stderr, "bench-report: %s is not a bench-report JSON file\n",
            path);
  return j;
}

static const cJSON *find_figure(const cJSON *root, const char *name)
{
  const cJSON *f;

  cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(root, "figures")) {
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(f, "name");
    if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
      return f;
  }
  return NULL;
}

static double median_of(const cJSON *target)
{
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(target, "median");

  return cJSON_IsNumber(m) ? m->valuedouble : NAN;
}

/* One figure of the new run against the same figure of the old one. */
static void compare_figure(const cJSON *a, const cJSON *fb)
{
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(fb, "name");
  const cJSON *unit = cJSON_GetObjectItemCaseSensitive(fb, "unit");
  const cJSON *fa, *tb;

  if (!cJSON_IsString(name) || !cJSON_IsString(unit))
    return;
  fa = find_figure(a, name->valuestring);
  cJSON_ArrayForEach(tb, cJSON_GetObjectItemCaseSensitive(fb, "targets")) {
    const cJSON *ta = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(fa, "targets"), tb->string);
    double ma = median_of(ta), mb = median_of(tb);
    printf("%-20s %-12s %12s", name->valuestring, tb->string, num(ma));
    printf(" %12s %-7s ", num(mb), unit->valuestring);
    if (isnan(ma) || isnan(mb))
      printf("(only in one run)\n");
    else
      printf("%.2fx\n", better(unit->valuestring, mb, ma));
  }
}

static int compare(const char *a_path, const char *b_path)
{
  cJSON *a = load(a_path), *b = load(b_path);
  const cJSON *fb;

  if (a == NULL || b == NULL) {
    cJSON_Delete(a);
    cJSON_Delete(b);
    return 2;
  }
  printf("%-20s %-12s %12s %12s %-7s %s\n", "figure", "target",
         "old median", "new median", "unit",
         "new vs old (>1: better)");
  cJSON_ArrayForEach(fb, cJSON_GetObjectItemCaseSensitive(b, "figures"))
    compare_figure(a, fb);
  cJSON_Delete(a);
  cJSON_Delete(b);
  return 0;
}

int main(int argc, char **argv)
{
  const char *json = NULL;

  if (argc == 4 && strcmp(argv[1], "--compare") == 0)
    return compare(argv[2], argv[3]);
  if (argc == 3 && strcmp(argv[1], "--json") == 0)
    json = argv[2];
  else if (argc != 1) {
    fprintf(stderr, "usage: bench-report [--json FILE] < SAMPLES\n"
                    "       bench-report --compare OLD.json NEW.json\n");
    return 2;
  }
  read_samples(stdin);
  print_table();
  if (json != NULL)
    return write_json(json);
  return 0;
}
