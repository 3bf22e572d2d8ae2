/*
 * sim-value-json.c - the JSON form of values (docs/ipc.md): plain JSON
 * where JSON.parse() of it gives back the same bytes on the wire, a
 * {"$v8": type, ...} object where it does not. Both directions.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim-internal.h"

#define TAG "$v8"

/* The "$v8" types (docs/ipc.md), besides the view type names
 * (sim_view_kind_name()). Both directions name them from here. */
typedef enum {
  F_UNDEFINED, F_HOLE, F_INT32, F_DOUBLE, F_BIGINT, F_STRING, F_OBJECT,
  F_ARRAY, F_SPARSE, F_DATE, F_REGEXP, F_MAP, F_SET, F_ARRAY_BUFFER,
  F_ERROR, F_BOOLEAN_OBJECT, F_NUMBER_OBJECT, F_BIGINT_OBJECT,
  F_STRING_OBJECT, F_DEF, F_REF, F_MAX
} form_t;

static const char *const form_names[F_MAX] = {
  "undefined", "hole", "int32", "double", "bigint", "string", "object",
  "array", "sparse", "date", "regexp", "map", "set", "ArrayBuffer",
  "error", "Boolean", "Number", "BigInt", "String", "def", "ref",
};

static const char *const error_names[] = {
  "Error", "EvalError", "RangeError", "ReferenceError", "SyntaxError",
  "TypeError", "URIError",
};
static const sim_error_proto_t error_protos[] = {
  SIM_ERROR_ERROR, SIM_ERROR_EVAL, SIM_ERROR_RANGE, SIM_ERROR_REFERENCE,
  SIM_ERROR_SYNTAX, SIM_ERROR_TYPE, SIM_ERROR_URI,
};
#define NERRORS (sizeof(error_names) / sizeof(error_names[0]))

/* RegExp flags in the order of RegExp.prototype.flags. */
static const struct {
  char letter;
  uint32_t bit;
} regexp_flags[] = {
  { 'd', SIM_REGEXP_HAS_INDICES }, { 'g', SIM_REGEXP_GLOBAL },
  { 'i', SIM_REGEXP_IGNORE_CASE }, { 'm', SIM_REGEXP_MULTILINE },
  { 's', SIM_REGEXP_DOT_ALL },     { 'u', SIM_REGEXP_UNICODE },
  { 'v', SIM_REGEXP_UNICODE_SETS }, { 'y', SIM_REGEXP_STICKY },
};
#define NFLAGS (sizeof(regexp_flags) / sizeof(regexp_flags[0]))

/* What JSON.parse() (V8's Factory::NewNumber) makes a Smi. */
static int smi_valued(double d)
{
  return d >= INT32_MIN && d <= INT32_MAX && d == (double)(int32_t)d &&
         !(d == 0 && signbit(d));
}

/* What cJSON prints and reads back unchanged. */
static int plain_double(double d)
{
  return isfinite(d) && !(d == 0 && signbit(d));
}

/* ====================================================================== */
/* Model to JSON                                                           */

typedef struct {
  sim__vmap_t seen;          /* object -> wire id * 2 + (reached twice) */
  sim__vmap_t done;          /* objects already written out */
  uint32_t next_id;
  unsigned depth;
  int failed;
} tj_t;

/* Numbers the objects as the encoder will and marks the shared ones. */
static void tj_scan(tj_t *t, const sim_value_t *v)
{
  uint32_t *slot;
  int isnew;

  if (t->failed || !sim_value_is_object(v))
    return;
  if ((slot = sim__vmap_get(&t->seen, v, &isnew)) == NULL ||
      t->depth >= SIM_V8_MAX_DEPTH) {
    t->failed = 1;
    return;
  }
  if (!isnew) {
    *slot |= 1;
    return;
  }
  *slot = t->next_id++ << 1;
  t->depth++;
  switch (v->kind) {
  case SIM_VALUE_OBJECT:
  case SIM_VALUE_MAP:
  case SIM_VALUE_SPARSE_ARRAY:
  case SIM_VALUE_ARRAY: {
    const sim_props_t *p = v->kind == SIM_VALUE_SPARSE_ARRAY
                               ? &v->u.sparse.props
                               : v->kind == SIM_VALUE_ARRAY
                                     ? &v->u.array.props : &v->u.object;
    if (v->kind == SIM_VALUE_ARRAY)
      for (uint32_t i = 0; i < v->u.array.elements.count; i++)
        tj_scan(t, v->u.array.elements.at[i]);
    for (uint32_t i = 0; i < p->count; i++) {
      tj_scan(t, p->at[i].key);
      tj_scan(t, p->at[i].value);
    }
    break;
  }
  case SIM_VALUE_SET:
    for (uint32_t i = 0; i < v->u.set.count; i++)
      tj_scan(t, v->u.set.at[i]);
    break;
  case SIM_VALUE_ERROR:
    if (v->u.error.cause != NULL)
      tj_scan(t, v->u.error.cause);
    break;
  default:
    break;
  }
  t->depth--;
}

static cJSON *tagged_name(const char *tag)
{
  cJSON *o = cJSON_CreateObject();

  if (o != NULL && cJSON_AddStringToObject(o, TAG, tag) == NULL) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

static cJSON *tagged(form_t form)
{
  return tagged_name(form_names[form]);
}

/* Adds `item` (NULL: out of memory) to `o`; deletes `o` on failure. */
static cJSON *add(cJSON *o, const char *name, cJSON *item)
{
  if (o == NULL || item == NULL) {
    cJSON_Delete(o);
    cJSON_Delete(item);
    return NULL;
  }
  cJSON_AddItemToObject(o, name, item);
  return o;
}

/* cJSON prints a double with 15 significant digits when it finds them
 * close enough: where that is not exact, the number goes out as raw JSON
 * text in JavaScript's own notation (JSON.stringify's), which cJSON
 * prints as is and parses back exactly. */
static cJSON *number(double d)
{
  char buf[40];

  snprintf(buf, sizeof(buf), "%1.15g", d);
  if (strtod(buf, NULL) == d)
    return cJSON_CreateNumber(d);
  sim__number_str(d, buf);
  return cJSON_CreateRaw(buf);
}

static cJSON *double_json(double d)
{
  if (plain_double(d))
    return number(d);
  return cJSON_CreateString(isnan(d) ? "NaN" : d == 0 ? "-0"
                            : d > 0 ? "Infinity" : "-Infinity");
}

/* A number on its own (not in an array of numbers). */
static cJSON *tj_number(const sim_value_t *v, int force_tag)
{
  double d = v->kind == SIM_VALUE_INT32 ? v->u.int32 : v->u.number;

  if (v->kind == SIM_VALUE_INT32 && !force_tag)
    return cJSON_CreateNumber(d);
  if (v->kind == SIM_VALUE_DOUBLE && plain_double(d) && !smi_valued(d))
    return number(d);
  return add(tagged(v->kind == SIM_VALUE_INT32 ? F_INT32 : F_DOUBLE),
             "value", double_json(d));
}

/* 1 when a character is above U+00FF: JSON.parse() would make the string
 * two-byte. */
static int string_wide(const sim_value_t *s)
{
  for (uint32_t i = 0; s->u.string.two_byte && i < s->u.string.length; i++)
    if (s->u.string.utf16[i] > 0xFF)
      return 1;
  return 0;
}

/* UTF-8 of a valid string (malloc'ed, NUL-terminated). */
static char *string_utf8(const sim_value_t *s)
{
  uint32_t n = s->u.string.length;
  char *out = malloc((size_t)n * 3 + 1), *p = out;

  if (out == NULL)
    return NULL;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t c = s->u.string.two_byte ? s->u.string.utf16[i]
                                      : s->u.string.latin1[i];
    if (c >= 0xD800 && c <= 0xDBFF && i + 1 < n) {
      uint32_t lo = s->u.string.utf16[i + 1];
      if (lo >= 0xDC00 && lo <= 0xDFFF) {
        c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
        i++;
      }
    }
    if (c < 0x80) {
      *p++ = (char)c;
    } else if (c < 0x800) {
      *p++ = (char)(0xC0 | c >> 6);
      *p++ = (char)(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      *p++ = (char)(0xE0 | c >> 12);
      *p++ = (char)(0x80 | ((c >> 6) & 0x3F));
      *p++ = (char)(0x80 | (c & 0x3F));
    } else {
      *p++ = (char)(0xF0 | c >> 18);
      *p++ = (char)(0x80 | ((c >> 12) & 0x3F));
      *p++ = (char)(0x80 | ((c >> 6) & 0x3F));
      *p++ = (char)(0x80 | (c & 0x3F));
    }
  }
  *p = '\0';
  return out;
}

static int string_valid(const sim_value_t *s)
{
  uint32_t n = s->u.string.length;

  if (!s->u.string.two_byte)
    return memchr(s->u.string.latin1, 0, n) == NULL;
  for (uint32_t i = 0; i < n; i++) {
    uint16_t c = s->u.string.utf16[i];
    if (c == 0 || (c >= 0xDC00 && c <= 0xDFFF))
      return 0;
    if (c >= 0xD800 && c <= 0xDBFF) {
      if (i + 1 >= n || s->u.string.utf16[i + 1] < 0xDC00 ||
          s->u.string.utf16[i + 1] > 0xDFFF)
        return 0;
      i++;
    }
  }
  return 1;
}

static cJSON *tj_string(const sim_value_t *s)
{
  char *utf8;
  cJSON *o;

  if (string_valid(s)) {
    if ((utf8 = string_utf8(s)) == NULL)
      return NULL;
    o = cJSON_CreateString(utf8);
    free(utf8);
    if (string_wide(s) == s->u.string.two_byte)
      return o;
    o = add(tagged(F_STRING), "value", o);
  } else {
    o = cJSON_CreateArray();
    for (uint32_t i = 0; o != NULL && i < s->u.string.length; i++) {
      cJSON *u = cJSON_CreateNumber(s->u.string.two_byte
                                        ? s->u.string.utf16[i]
                                        : s->u.string.latin1[i]);
      if (u == NULL) {
        cJSON_Delete(o);
        return NULL;
      }
      cJSON_AddItemToArray(o, u);
    }
    o = add(tagged(F_STRING), "utf16", o);
  }
  return add(o, "twoByte", cJSON_CreateBool(s->u.string.two_byte));
}

static cJSON *tj_bigint_str(const sim_value_t *b)
{
  uint32_t n = b->u.bigint.ndigits;
  char *s, *p;
  cJSON *o;

  /* Decimal is quadratic: long ones are written in hex. */
  s = malloc((size_t)n * 20 + 4);
  if (s == NULL)
    return NULL;
  p = s;
  if (b->u.bigint.negative)
    *p++ = '-';
  if (n == 0) {
    strcpy(p, "0");
  } else if (n > 32) {
    p += sprintf(p, "0x%" PRIx64, b->u.bigint.digits[n - 1]);
    for (uint32_t i = n - 1; i-- > 0;)
      p += sprintf(p, "%016" PRIx64, b->u.bigint.digits[i]);
  } else {
    uint64_t q[32];
    char rev[32 * 20 + 1];
    size_t k = 0;
    uint32_t m = n;

    memcpy(q, b->u.bigint.digits, (size_t)n * 8);
    while (m > 0) {
      unsigned __int128 r = 0;
      for (uint32_t i = m; i-- > 0;) {
        r = (r << 64) | q[i];
        q[i] = (uint64_t)(r / 10);
        r %= 10;
      }
      rev[k++] = (char)('0' + (int)r);
      while (m > 0 && q[m - 1] == 0)
        m--;
    }
    while (k > 0)
      *p++ = rev[--k];
    *p = '\0';
  }
  o = cJSON_CreateString(s);
  free(s);
  return o;
}

static cJSON *tj_hex(const uint8_t *data, uint32_t n)
{
  static const char digits[] = "0123456789abcdef";
  char *s = malloc((size_t)n * 2 + 1);
  cJSON *o;

  if (s == NULL)
    return NULL;
  for (uint32_t i = 0; i < n; i++) {
    s[2 * i] = digits[data[i] >> 4];
    s[2 * i + 1] = digits[data[i] & 15];
  }
  s[(size_t)n * 2] = '\0';
  o = cJSON_CreateString(s);
  free(s);
  return o;
}

static cJSON *tj_value(tj_t *t, const sim_value_t *v);

/* [[key, value], ...] */
static cJSON *tj_entries(tj_t *t, const sim_props_t *p)
{
  cJSON *list = cJSON_CreateArray();

  for (uint32_t i = 0; list != NULL && i < p->count; i++) {
    cJSON *pair = cJSON_CreateArray(), *k = tj_value(t, p->at[i].key),
          *val = tj_value(t, p->at[i].value);

    if (pair == NULL || k == NULL || val == NULL) {
      cJSON_Delete(pair);
      cJSON_Delete(k);
      cJSON_Delete(val);
      cJSON_Delete(list);
      return NULL;
    }
    cJSON_AddItemToArray(pair, k);
    cJSON_AddItemToArray(pair, val);
    cJSON_AddItemToArray(list, pair);
  }
  return list;
}

/* How the elements of a JSON array of numbers must be written so that
 * JSON.parse()'s choice (all doubles as soon as one is not a Smi) gives
 * back each element's kind: 0 all plain, 1 tag where needed, 2 also tag
 * every int32. */
static int elements_mode(const sim_list_t *l)
{
  int all_int = 1, all_plain_dbl = 1, any_nonsmi = 0, any_tag = 0;

  for (uint32_t i = 0; i < l->count; i++) {
    const sim_value_t *e = l->at[i];
    if (e->kind == SIM_VALUE_INT32) {
      all_plain_dbl = 0;
    } else if (e->kind == SIM_VALUE_DOUBLE) {
      all_int = 0;
      if (!plain_double(e->u.number) || smi_valued(e->u.number))
        any_tag = 1;
      if (!plain_double(e->u.number))
        all_plain_dbl = 0;
      else
        any_nonsmi |= !smi_valued(e->u.number);
    } else {
      return 1;              /* not all numbers: each on its own */
    }
  }
  if (all_int || (all_plain_dbl && any_nonsmi))
    return 0;
  return any_tag ? 1 : 2;
}

static cJSON *tj_elements(tj_t *t, const sim_list_t *l)
{
  cJSON *list = cJSON_CreateArray();
  int mode = elements_mode(l);

  for (uint32_t i = 0; list != NULL && i < l->count; i++) {
    const sim_value_t *e = l->at[i];
    cJSON *item;

    if (mode == 0)
      item = e->kind == SIM_VALUE_INT32 ? cJSON_CreateNumber(e->u.int32)
                                        : number(e->u.number);
    else if (e->kind == SIM_VALUE_INT32 || e->kind == SIM_VALUE_DOUBLE)
      item = tj_number(e, mode == 2);
    else
      item = tj_value(t, e);
    if (item == NULL) {
      cJSON_Delete(list);
      return NULL;
    }
    cJSON_AddItemToArray(list, item);
  }
  return list;
}

/* 1 when a plain JSON object reads back with the same keys in the same
 * order: array indices first, ascending, as numbers of the kind V8
 * uses; then distinct string keys other than "$v8". */
static int object_plain(const sim_props_t *p)
{
  static const uint8_t tag[] = TAG;
  sim__keyset_t ks = { NULL, 0, 0 };
  int64_t last = -1, ok = 1;
  int strings = 0;

  for (uint32_t i = 0; ok && i < p->count; i++) {
    const sim_value_t *k = p->at[i].key;
    uint32_t index;

    if (sim__key_index(k, &index)) {
      ok = !strings && (int64_t)index > last &&
           k->kind == (index <= INT32_MAX ? SIM_VALUE_INT32
                                          : SIM_VALUE_DOUBLE);
      last = index;
    } else {
      strings = 1;
      ok = k->kind == SIM_VALUE_STRING && string_valid(k) &&
           string_wide(k) == k->u.string.two_byte &&
           !(k->u.string.length == 3 && !k->u.string.two_byte &&
             memcmp(k->u.string.latin1, tag, 3) == 0) &&
           sim__keyset_add(&ks, p->at, i) == -1;
    }
  }
  sim__keyset_free(&ks);
  return (int)ok;
}

static cJSON *tj_object(tj_t *t, const sim_value_t *v)
{
  const sim_props_t *p = &v->u.object;
  cJSON *o;

  if (!object_plain(p))
    return add(tagged(F_OBJECT), "entries", tj_entries(t, p));
  o = cJSON_CreateObject();
  for (uint32_t i = 0; o != NULL && i < p->count; i++) {
    const sim_value_t *k = p->at[i].key;
    char num[32], *name = num;
    uint32_t index;

    if (sim__key_index(k, &index))
      snprintf(num, sizeof(num), "%u", index);
    else if ((name = string_utf8(k)) == NULL)
      o = add(o, "", NULL);
    if (o != NULL)
      o = add(o, name, tj_value(t, p->at[i].value));
    if (name != num)
      free(name);
  }
  return o;
}

static cJSON *tj_array(tj_t *t, const sim_value_t *v)
{
  const sim_list_t *l = &v->u.array.elements;
  int holes = 0;
  cJSON *o;

  for (uint32_t i = 0; i < l->count; i++)
    holes |= l->at[i]->kind == SIM_VALUE_HOLE;
  if (!holes && v->u.array.props.count == 0)
    return tj_elements(t, l);
  o = add(tagged(F_ARRAY), "elements", tj_elements(t, l));
  if (v->u.array.props.count > 0)
    o = add(o, "props", tj_entries(t, &v->u.array.props));
  return o;
}

static cJSON *tj_date(double ms)
{
  cJSON *o = add(tagged(F_DATE), "value", double_json(ms));
  time_t secs;
  struct tm tm;
  char iso[96];

  /* A reading aid only; "value" is what counts. */
  if (o != NULL && isfinite(ms) && ms >= 0 && ms < 253402300800000.0) {
    secs = (time_t)floor(ms / 1000);
    if (gmtime_r(&secs, &tm) != NULL) {
      snprintf(iso, sizeof(iso), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
               tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
               tm.tm_min, tm.tm_sec, (int)(ms - (double)secs * 1000));
      o = add(o, "iso", cJSON_CreateString(iso));
    }
  }
  return o;
}

static cJSON *tj_regexp(const sim_value_t *v)
{
  char flags[NFLAGS + 1];
  size_t n = 0;

  for (size_t i = 0; i < NFLAGS; i++)
    if (v->u.regexp.flags & regexp_flags[i].bit)
      flags[n++] = regexp_flags[i].letter;
  flags[n] = '\0';
  return add(add(tagged(F_REGEXP), "source", tj_string(v->u.regexp.source)),
             "flags", cJSON_CreateString(flags));
}

static cJSON *tj_list(tj_t *t, const sim_list_t *l)
{
  cJSON *list = cJSON_CreateArray();

  for (uint32_t i = 0; list != NULL && i < l->count; i++) {
    cJSON *item = tj_value(t, l->at[i]);
    if (item == NULL) {
      cJSON_Delete(list);
      return NULL;
    }
    cJSON_AddItemToArray(list, item);
  }
  return list;
}

static cJSON *tj_boxed(const sim_value_t *inner)
{
  switch (inner->kind) {
  case SIM_VALUE_BOOLEAN:
    return add(tagged(F_BOOLEAN_OBJECT), "value",
               cJSON_CreateBool(inner->u.boolean));
  case SIM_VALUE_INT32:
    return add(tagged(F_NUMBER_OBJECT), "value", cJSON_CreateNumber(inner->u.int32));
  case SIM_VALUE_DOUBLE:
    return add(tagged(F_NUMBER_OBJECT), "value", double_json(inner->u.number));
  case SIM_VALUE_BIGINT:
    return add(tagged(F_BIGINT_OBJECT), "value", tj_bigint_str(inner));
  default:
    return add(tagged(F_STRING_OBJECT), "value", tj_string(inner));
  }
}

static cJSON *tj_error(tj_t *t, const sim_value_t *v)
{
  const char *name = "Error";
  cJSON *o;

  for (size_t i = 0; i < NERRORS; i++)
    if (error_protos[i] == v->u.error.proto)
      name = error_names[i];
  o = add(tagged(F_ERROR), "name", cJSON_CreateString(name));
  if (v->u.error.message != NULL)
    o = add(o, "message", tj_string(v->u.error.message));
  if (v->u.error.stack != NULL)
    o = add(o, "stack", tj_string(v->u.error.stack));
  if (v->u.error.cause != NULL)
    o = add(o, "cause", tj_value(t, v->u.error.cause));
  return o;
}

static cJSON *tj_object_form(tj_t *t, const sim_value_t *v)
{
  cJSON *o;

  switch (v->kind) {
  case SIM_VALUE_OBJECT:
    return tj_object(t, v);
  case SIM_VALUE_ARRAY:
    return tj_array(t, v);
  case SIM_VALUE_SPARSE_ARRAY:
    o = add(tagged(F_SPARSE), "length",
            cJSON_CreateNumber(v->u.sparse.length));
    return add(o, "props", tj_entries(t, &v->u.sparse.props));
  case SIM_VALUE_DATE:
    return tj_date(v->u.number);
  case SIM_VALUE_REGEXP:
    return tj_regexp(v);
  case SIM_VALUE_MAP:
    return add(tagged(F_MAP), "entries", tj_entries(t, &v->u.map));
  case SIM_VALUE_SET:
    return add(tagged(F_SET), "values", tj_list(t, &v->u.set));
  case SIM_VALUE_ARRAY_BUFFER:
    o = add(tagged(F_ARRAY_BUFFER), "hex",
            tj_hex(v->u.bytes.data, v->u.bytes.length));
    if (v->u.bytes.resizable)
      o = add(o, "maxByteLength", cJSON_CreateNumber(v->u.bytes.max_length));
    return o;
  case SIM_VALUE_VIEW:
    return add(tagged_name(sim_view_kind_name(v->u.bytes.view)), "hex",
               tj_hex(v->u.bytes.data, v->u.bytes.length));
  case SIM_VALUE_BOXED:
    return tj_boxed(v->u.boxed);
  default:
    return tj_error(t, v);
  }
}

static cJSON *tj_value(tj_t *t, const sim_value_t *v)
{
  uint32_t *slot, id;
  int isnew, shared;
  cJSON *o;

  switch (v->kind) {
  case SIM_VALUE_UNDEFINED:
    return tagged(F_UNDEFINED);
  case SIM_VALUE_HOLE:
    return tagged(F_HOLE);
  case SIM_VALUE_NULL:
    return cJSON_CreateNull();
  case SIM_VALUE_BOOLEAN:
    return cJSON_CreateBool(v->u.boolean);
  case SIM_VALUE_INT32:
  case SIM_VALUE_DOUBLE:
    return tj_number(v, 0);
  case SIM_VALUE_BIGINT:
    return add(tagged(F_BIGINT), "value", tj_bigint_str(v));
  case SIM_VALUE_STRING:
    return tj_string(v);
  default:
    break;
  }
  if ((slot = sim__vmap_get(&t->seen, v, &isnew)) == NULL)
    return NULL;
  id = *slot >> 1;
  shared = *slot & 1;
  if (shared) {
    if (sim__vmap_get(&t->done, v, &isnew) == NULL)
      return NULL;
    if (!isnew)
      return add(tagged(F_REF), "id", cJSON_CreateNumber(id));
  }
  if (t->depth >= SIM_V8_MAX_DEPTH)
    return NULL;
  t->depth++;
  o = tj_object_form(t, v);
  t->depth--;
  if (shared)
    o = add(add(tagged(F_DEF), "id", cJSON_CreateNumber(id)), "value", o);
  return o;
}

cJSON *sim_value_to_json(const sim_value_t *value)
{
  tj_t t;
  cJSON *o = NULL;

  memset(&t, 0, sizeof(t));
  tj_scan(&t, value);
  if (!t.failed)
    o = tj_value(&t, value);
  sim__vmap_free(&t.seen);
  sim__vmap_free(&t.done);
  return o;
}

/* ====================================================================== */
/* JSON to model                                                           */

typedef struct {
  sim_heap_t *heap;
  uint32_t *ids;             /* "def" ids, open addressing (id + 1) */
  sim_value_t **defs;
  size_t nids;
  size_t capids;
  int pending;               /* the next object made is "def" pending_id */
  uint32_t pending_id;
  unsigned depth;            /* objects on the path, as the encoder counts */
  unsigned calls;            /* fj_value() calls on the path */
  int rc;
} fj_t;

static sim_value_t *fj_fail(fj_t *f, int rc)
{
  if (f->rc == 0)
    f->rc = rc;
  return NULL;
}

static sim_value_t *fj_alloc_failed(fj_t *f)
{
  return fj_fail(f, sim__heap_over(f->heap) ? UV_E2BIG : UV_ENOMEM);
}

static size_t fj_slot(const fj_t *f, uint32_t id)
{
  size_t i = (id * 2654435761u) & (f->capids - 1);

  while (f->ids[i] != 0 && f->ids[i] != id + 1)
    i = (i + 1) & (f->capids - 1);
  return i;
}

static sim_value_t *fj_lookup(const fj_t *f, uint32_t id)
{
  size_t i;

  if (f->capids == 0)
    return NULL;
  i = fj_slot(f, id);
  return f->ids[i] != 0 ? f->defs[i] : NULL;
}

static int fj_define(fj_t *f, uint32_t id, sim_value_t *v)
{
  size_t i;

  if ((f->nids + 1) * 2 > f->capids) {
    fj_t big = { .capids = f->capids ? f->capids * 2 : 64 };

    big.ids = calloc(big.capids, sizeof(*big.ids));
    big.defs = calloc(big.capids, sizeof(*big.defs));
    if (big.ids == NULL || big.defs == NULL) {
      free(big.ids);
      free(big.defs);
      return UV_ENOMEM;
    }
    for (size_t k = 0; k < f->capids; k++) {
      if (f->ids[k] != 0) {
        i = fj_slot(&big, f->ids[k] - 1);
        big.ids[i] = f->ids[k];
        big.defs[i] = f->defs[k];
      }
    }
    free(f->ids);
    free(f->defs);
    f->ids = big.ids;
    f->defs = big.defs;
    f->capids = big.capids;
  }
  i = fj_slot(f, id);
  if (f->ids[i] != 0)
    return UV_EINVAL;          /* defined twice */
  f->ids[i] = id + 1;
  f->defs[i] = v;
  f->nids++;
  return 0;
}

/* Every object made goes through here: a pending "def" names it before
 * its members are read, so that they may refer to it. */
static sim_value_t *fj_made(fj_t *f, sim_value_t *v)
{
  int err;

  if (v == NULL)
    return fj_alloc_failed(f);
  if (++f->depth > SIM_V8_MAX_DEPTH)
    return fj_fail(f, UV_E2BIG);
  if (f->pending) {
    f->pending = 0;
    if ((err = fj_define(f, f->pending_id, v)) != 0)
      return fj_fail(f, err);
  }
  return v;
}

static sim_value_t *fj_value(fj_t *f, const cJSON *j, int as_double);

static const cJSON *member(const cJSON *o, const char *name)
{
  return cJSON_GetObjectItemCaseSensitive(o, name);
}

/* A JSON number, also as raw text (see number()). */
static int json_number(const cJSON *j, double *out)
{
  char *end;

  if (cJSON_IsNumber(j)) {
    *out = j->valuedouble;
    return 1;
  }
  if (!cJSON_IsRaw(j) || j->valuestring == NULL)
    return 0;
  *out = strtod(j->valuestring, &end);
  return end != j->valuestring && *end == '\0' &&
         strspn(j->valuestring, "0123456789+-.eE") == strlen(j->valuestring);
}

/* A uint32 JSON number. */
static int fj_u32(const cJSON *j, uint32_t *out)
{
  double d;

  if (!json_number(j, &d) || !(d >= 0) || d > UINT32_MAX || d != floor(d))
    return 0;
  *out = (uint32_t)d;
  return 1;
}

/* A number, or "NaN", "Infinity", "-Infinity", "-0". */
static int fj_double(const cJSON *j, double *out)
{
  static const char *const names[] = { "NaN", "Infinity", "-Infinity",
                                       "-0" };
  const double values[] = { NAN, INFINITY, -INFINITY, -0.0 };

  if (json_number(j, out))
    return 1;
  for (size_t i = 0; cJSON_IsString(j) && i < 4; i++) {
    if (strcmp(j->valuestring, names[i]) == 0) {
      *out = values[i];
      return 1;
    }
  }
  return 0;
}

static sim_value_t *fj_string(fj_t *f, const cJSON *j)
{
  sim_value_t *v = NULL;

  if (cJSON_IsString(j))
    v = sim_value_new_string(f->heap, j->valuestring,
                             strlen(j->valuestring));
  else if (cJSON_IsObject(j))
    v = fj_value(f, j, 0);
  if (v == NULL || v->kind != SIM_VALUE_STRING)
    return fj_fail(f, UV_EINVAL);
  return v;
}

/* {"$v8":"string", "value": "..." or "utf16": [...], "twoByte": b} */
static sim_value_t *fj_tagged_string(fj_t *f, const cJSON *j)
{
  const cJSON *value = member(j, "value"), *units = member(j, "utf16"),
              *two = member(j, "twoByte"), *u;
  sim_value_t *s;
  uint32_t n = 0, i = 0, c;

  if (cJSON_IsString(value))
    s = sim_value_new_string(f->heap, value->valuestring,
                             strlen(value->valuestring));
  else if (cJSON_IsArray(units))
    s = sim_value_new_utf16(f->heap, NULL, n = (uint32_t)
                                               cJSON_GetArraySize(units));
  else
    return fj_fail(f, UV_EINVAL);
  if (s == NULL)
    return cJSON_IsString(value) ? fj_fail(f, UV_EINVAL) : fj_alloc_failed(f);
  cJSON_ArrayForEach(u, units) {
    if (!fj_u32(u, &c) || c > 0xFFFF)
      return fj_fail(f, UV_EINVAL);
    s->u.string.utf16[i++] = (uint16_t)c;
  }
  if (two != NULL && !cJSON_IsBool(two))
    return fj_fail(f, UV_EINVAL);
  n = s->u.string.length;
  if (two != NULL && cJSON_IsTrue(two) && !s->u.string.two_byte) {
    sim_value_t *w = sim_value_new_utf16(f->heap, NULL, n);
    for (i = 0; w != NULL && i < n; i++)
      w->u.string.utf16[i] = s->u.string.latin1[i];
    s = w;
  } else if (cJSON_IsFalse(two) && s->u.string.two_byte) {
    sim_value_t *l = sim_value_new_latin1(f->heap, NULL, n);
    for (i = 0; l != NULL && i < n; i++) {
      if (s->u.string.utf16[i] > 0xFF)
        return fj_fail(f, UV_EINVAL);
      l->u.string.latin1[i] = (uint8_t)s->u.string.utf16[i];
    }
    s = l;
  }
  return s != NULL ? s : fj_alloc_failed(f);
}

/* Elements of a JSON array: all doubles when they are all plain numbers
 * and one is not a Smi, as JSON.parse() makes a PACKED_DOUBLE array. */
static int fj_elements(fj_t *f, const cJSON *list, sim_value_t *array)
{
  const cJSON *e;
  int all_num = 1, any_nonsmi = 0, err;
  double d;

  if (!cJSON_IsArray(list)) {
    fj_fail(f, UV_EINVAL);
    return 0;
  }
  cJSON_ArrayForEach(e, list) {
    int is_num = json_number(e, &d);
    all_num &= is_num;
    any_nonsmi |= is_num && !smi_valued(d);
  }
  cJSON_ArrayForEach(e, list) {
    sim_value_t *v = fj_value(f, e, all_num && any_nonsmi);
    if (v == NULL)
      return 0;
    if ((err = sim_value_push(f->heap, array, v)) != 0) {
      fj_fail(f, err);
      return 0;
    }
  }
  return 1;
}

/* [[key, value], ...] into `target` (keys: strings or numbers, unless
 * the target is a Map). */
static int fj_entries(fj_t *f, const cJSON *list, sim_value_t *target)
{
  const cJSON *pair;
  int err;

  if (list == NULL && target->kind != SIM_VALUE_OBJECT &&
      target->kind != SIM_VALUE_MAP)
    return 1;
  if (!cJSON_IsArray(list)) {
    fj_fail(f, UV_EINVAL);
    return 0;
  }
  cJSON_ArrayForEach(pair, list) {
    sim_value_t *k, *v;
    if (cJSON_GetArraySize(pair) != 2 || !cJSON_IsArray(pair)) {
      fj_fail(f, UV_EINVAL);
      return 0;
    }
    if ((k = fj_value(f, pair->child, 0)) == NULL ||
        (v = fj_value(f, pair->child->next, 0)) == NULL)
      return 0;
    if ((err = sim_value_put(f->heap, target, k, v)) != 0) {
      fj_fail(f, err);
      return 0;
    }
  }
  return 1;
}

static int cmp_index(const void *a, const void *b)
{
  uint32_t x, y;

  (void)sim__key_index(((const sim_prop_t *)a)->key, &x);
  (void)sim__key_index(((const sim_prop_t *)b)->key, &y);
  return x < y ? -1 : x > y;
}

/* JSON.parse()'s object: index keys first, ascending, as numbers; then
 * the other keys in order of first appearance; the last value wins. */
static int fj_plain_props(fj_t *f, const cJSON *j, sim_props_t *tmp)
{
  sim__keyset_t ks = { NULL, 0, 0 };
  const cJSON *m;
  int64_t dup;
  int ok = 0;

  cJSON_ArrayForEach(m, j) {
    sim_value_t *k = sim_value_new_string(f->heap, m->string,
                                          strlen(m->string)), *v;
    uint32_t index;

    if (k == NULL) {
      fj_fail(f, UV_EINVAL);
      goto out;
    }
    if (sim__key_index(k, &index))
      k = index <= INT32_MAX ? sim_value_new_int32(f->heap, (int32_t)index)
                             : sim_value_new_double(f->heap, index);
    if (k == NULL || (v = fj_value(f, m, 0)) == NULL) {
      if (k == NULL)
        fj_alloc_failed(f);
      goto out;
    }
    tmp->at[tmp->count] = (sim_prop_t){ k, v };
    dup = sim__keyset_add(&ks, tmp->at, tmp->count);
    if (dup >= 0)
      tmp->at[dup].value = v;
    else if (dup == -1)
      tmp->count++;
    else
      goto out;
  }
  ok = 1;
out:
  sim__keyset_free(&ks);
  return ok;
}

static sim_value_t *fj_plain_object(fj_t *f, const cJSON *j)
{
  sim_value_t *o = fj_made(f, sim_value_new(f->heap, SIM_VALUE_OBJECT));
  sim_props_t tmp = { 0, 0, NULL };
  sim_prop_t *order = NULL;
  uint32_t n = 0, nindex = 0, index;
  size_t size = ((size_t)cJSON_GetArraySize(j) + 1) * sizeof(*tmp.at);
  int ok = 0;

  if (o == NULL)
    return NULL;
  tmp.at = malloc(size);
  order = malloc(size);
  if (tmp.at == NULL || order == NULL) {
    fj_fail(f, UV_ENOMEM);
    goto out;
  }
  if (!fj_plain_props(f, j, &tmp))
    goto out;
  for (uint32_t i = 0; i < tmp.count; i++)
    if (sim__key_index(tmp.at[i].key, &index))
      order[n++] = tmp.at[i];
  nindex = n;
  for (uint32_t i = 0; i < tmp.count; i++)
    if (!sim__key_index(tmp.at[i].key, &index))
      order[n++] = tmp.at[i];
  qsort(order, nindex, sizeof(*order), cmp_index);
  for (uint32_t i = 0; i < n; i++) {
    int err = sim_value_put(f->heap, o, order[i].key, order[i].value);
    if (err != 0) {
      fj_fail(f, err);
      goto out;
    }
  }
  ok = 1;
out:
  free(tmp.at);
  free(order);
  return ok ? o : NULL;
}

/* ---------------------------------------------------------------------- */
/* Tagged forms                                                            */

static sim_value_t *fj_number_tag(fj_t *f, const cJSON *j, int int32)
{
  double d;

  if (!fj_double(member(j, "value"), &d) ||
      (int32 && (!json_number(member(j, "value"), &d) || !smi_valued(d))))
    return fj_fail(f, UV_EINVAL);
  return int32 ? sim_value_new_int32(f->heap, (int32_t)d)
               : sim_value_new_double(f->heap, d);
}

static sim_value_t *fj_bigint(fj_t *f, const cJSON *value)
{
  sim_value_t *v;

  if (!cJSON_IsString(value))
    return fj_fail(f, UV_EINVAL);
  v = sim_value_new_bigint_str(f->heap, value->valuestring);
  return v != NULL ? v : fj_fail(f, sim__heap_over(f->heap) ? UV_E2BIG
                                                            : UV_EINVAL);
}

/* Hex into a fresh ArrayBuffer or view. */
static sim_value_t *fj_bytes(fj_t *f, const cJSON *j, int view)
{
  const cJSON *hex = member(j, "hex");
  size_t len;
  sim_value_t *v;
  uint8_t *d;

  if (!cJSON_IsString(hex) || (len = strlen(hex->valuestring)) % 2 != 0 ||
      len / 2 > UINT32_MAX)
    return fj_fail(f, UV_EINVAL);
  v = view >= 0 ? sim_value_new_view(f->heap, (sim_view_kind_t)view, NULL,
                                     (uint32_t)(len / 2))
                : sim_value_new_buffer(f->heap, NULL, (uint32_t)(len / 2));
  if (fj_made(f, v) == NULL)
    return NULL;
  d = v->u.bytes.data;
  for (size_t i = 0; i < len; i++) {
    unsigned c = (unsigned char)hex->valuestring[i], x;
    if (c >= '0' && c <= '9')
      x = c - '0';
    else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
      x = (c | 0x20) - 'a' + 10;
    else
      return fj_fail(f, UV_EINVAL);
    d[i / 2] = (uint8_t)(d[i / 2] << 4 | x);
  }
  return v;
}

static sim_value_t *fj_array_buffer(fj_t *f, const cJSON *j)
{
  const cJSON *max = member(j, "maxByteLength");
  sim_value_t *v = fj_bytes(f, j, -1);
  uint32_t m;

  if (v != NULL && max != NULL &&
      (!fj_u32(max, &m) || sim_value_set_resizable(v, m) != 0))
    return fj_fail(f, UV_EINVAL);
  return v;
}

static sim_value_t *fj_array(fj_t *f, const cJSON *j)
{
  sim_value_t *v = fj_made(f, sim_value_new(f->heap, SIM_VALUE_ARRAY));

  if (v == NULL || !fj_elements(f, member(j, "elements"), v) ||
      !fj_entries(f, member(j, "props"), v))
    return NULL;
  return v;
}

static sim_value_t *fj_sparse(fj_t *f, const cJSON *j)
{
  uint32_t length;
  sim_value_t *v;

  if (!fj_u32(member(j, "length"), &length))
    return fj_fail(f, UV_EINVAL);
  v = fj_made(f, sim_value_new_sparse(f->heap, length));
  if (v == NULL || !fj_entries(f, member(j, "props"), v))
    return NULL;
  return v;
}

static sim_value_t *fj_collection(fj_t *f, const cJSON *j,
                                  sim_value_kind_t kind)
{
  sim_value_t *v = fj_made(f, sim_value_new(f->heap, kind));
  const cJSON *values = member(j, "values"), *e;
  int err;

  if (v == NULL)
    return NULL;
  if (kind == SIM_VALUE_OBJECT || kind == SIM_VALUE_MAP)
    return fj_entries(f, member(j, "entries"), v) ? v : NULL;
  if (!cJSON_IsArray(values))
    return fj_fail(f, UV_EINVAL);
  cJSON_ArrayForEach(e, values) {
    sim_value_t *m = fj_value(f, e, 0);
    if (m == NULL)
      return NULL;
    if ((err = sim_value_push(f->heap, v, m)) != 0)
      return fj_fail(f, err);
  }
  return v;
}

static sim_value_t *fj_date(fj_t *f, const cJSON *j)
{
  double ms;

  if (!fj_double(member(j, "value"), &ms))
    return fj_fail(f, UV_EINVAL);
  return fj_made(f, sim_value_new_date(f->heap, ms));
}

static sim_value_t *fj_regexp(fj_t *f, const cJSON *j)
{
  const cJSON *flags = member(j, "flags");
  sim_value_t *source = fj_string(f, member(j, "source"));
  uint32_t bits = 0;

  if (source == NULL || !cJSON_IsString(flags))
    return fj_fail(f, UV_EINVAL);
  for (const char *c = flags->valuestring; *c != '\0'; c++) {
    size_t i = 0;
    while (i < NFLAGS && regexp_flags[i].letter != *c)
      i++;
    if (i == NFLAGS || (bits & regexp_flags[i].bit))
      return fj_fail(f, UV_EINVAL);
    bits |= regexp_flags[i].bit;
  }
  return fj_made(f, sim_value_new_regexp(f->heap, source, bits));
}

static sim_value_t *fj_boxed(fj_t *f, const cJSON *j, sim_value_kind_t kind)
{
  const cJSON *value = member(j, "value");
  sim_value_t *inner = NULL;
  double d;

  if (kind == SIM_VALUE_BOOLEAN && cJSON_IsBool(value))
    inner = sim_value_new_boolean(f->heap, cJSON_IsTrue(value));
  else if (kind == SIM_VALUE_DOUBLE && fj_double(value, &d))
    inner = sim_value_new_double(f->heap, d);
  else if (kind == SIM_VALUE_BIGINT)
    inner = fj_bigint(f, value);
  else if (kind == SIM_VALUE_STRING)
    inner = fj_string(f, value);
  if (inner == NULL)
    return fj_fail(f, UV_EINVAL);
  return fj_made(f, sim_value_new_boxed(f->heap, inner));
}

static sim_value_t *fj_error(fj_t *f, const cJSON *j)
{
  const cJSON *name = member(j, "name"), *m = member(j, "message"),
              *s = member(j, "stack"), *cause = member(j, "cause");
  sim_error_proto_t proto = SIM_ERROR_ERROR;
  sim_value_t *v;

  for (size_t i = 0; cJSON_IsString(name) && i < NERRORS; i++)
    if (strcmp(name->valuestring, error_names[i]) == 0)
      proto = error_protos[i];
  v = fj_made(f, sim_value_new_error(f->heap, proto, NULL, NULL));
  if (v == NULL)
    return NULL;
  if ((m != NULL && (v->u.error.message = fj_string(f, m)) == NULL) ||
      (s != NULL && (v->u.error.stack = fj_string(f, s)) == NULL) ||
      (cause != NULL && (v->u.error.cause = fj_value(f, cause, 0)) == NULL))
    return NULL;
  return v;
}

static sim_value_t *fj_def(fj_t *f, const cJSON *j)
{
  uint32_t id;
  sim_value_t *v;

  if (!fj_u32(member(j, "id"), &id) || member(j, "value") == NULL ||
      f->pending)
    return fj_fail(f, UV_EINVAL);
  f->pending = 1;
  f->pending_id = id;
  v = fj_value(f, member(j, "value"), 0);
  if (v != NULL && f->pending)
    return fj_fail(f, UV_EINVAL);      /* not an object */
  return v;
}

static sim_value_t *fj_ref(fj_t *f, const cJSON *j)
{
  uint32_t id;
  sim_value_t *v;

  if (!fj_u32(member(j, "id"), &id) || (v = fj_lookup(f, id)) == NULL)
    return fj_fail(f, UV_EINVAL);
  return v;
}

static sim_value_t *fj_oddball(fj_t *f, const cJSON *j, int kind)
{
  return sim_value_new(f->heap, (sim_value_kind_t)kind);
}

static sim_value_t *fj_bigint_tag(fj_t *f, const cJSON *j, int arg)
{
  return fj_bigint(f, member(j, "value"));
}

static sim_value_t *fj_string_tag(fj_t *f, const cJSON *j, int arg)
{
  return fj_tagged_string(f, j);
}

static sim_value_t *fj_one(fj_t *f, const cJSON *j, int kind)
{
  switch (kind) {
  case SIM_VALUE_ARRAY:
    return fj_array(f, j);
  case SIM_VALUE_SPARSE_ARRAY:
    return fj_sparse(f, j);
  case SIM_VALUE_DATE:
    return fj_date(f, j);
  case SIM_VALUE_REGEXP:
    return fj_regexp(f, j);
  case SIM_VALUE_ARRAY_BUFFER:
    return fj_array_buffer(f, j);
  case SIM_VALUE_ERROR:
    return fj_error(f, j);
  default:
    return fj_collection(f, j, (sim_value_kind_t)kind);
  }
}

static sim_value_t *fj_boxed_tag(fj_t *f, const cJSON *j, int kind)
{
  return fj_boxed(f, j, (sim_value_kind_t)kind);
}

static sim_value_t *fj_link(fj_t *f, const cJSON *j, int def)
{
  return def ? fj_def(f, j) : fj_ref(f, j);
}

/* What reads each "$v8" type. */
static const struct {
  sim_value_t *(*fn)(fj_t *f, const cJSON *j, int arg);
  int arg;
} form_readers[F_MAX] = {
  [F_UNDEFINED] = { fj_oddball, SIM_VALUE_UNDEFINED },
  [F_HOLE] = { fj_oddball, SIM_VALUE_HOLE },
  [F_INT32] = { fj_number_tag, 1 },
  [F_DOUBLE] = { fj_number_tag, 0 },
  [F_BIGINT] = { fj_bigint_tag, 0 },
  [F_STRING] = { fj_string_tag, 0 },
  [F_OBJECT] = { fj_one, SIM_VALUE_OBJECT },
  [F_ARRAY] = { fj_one, SIM_VALUE_ARRAY },
  [F_SPARSE] = { fj_one, SIM_VALUE_SPARSE_ARRAY },
  [F_DATE] = { fj_one, SIM_VALUE_DATE },
  [F_REGEXP] = { fj_one, SIM_VALUE_REGEXP },
  [F_MAP] = { fj_one, SIM_VALUE_MAP },
  [F_SET] = { fj_one, SIM_VALUE_SET },
  [F_ARRAY_BUFFER] = { fj_one, SIM_VALUE_ARRAY_BUFFER },
  [F_ERROR] = { fj_one, SIM_VALUE_ERROR },
  [F_BOOLEAN_OBJECT] = { fj_boxed_tag, SIM_VALUE_BOOLEAN },
  [F_NUMBER_OBJECT] = { fj_boxed_tag, SIM_VALUE_DOUBLE },
  [F_BIGINT_OBJECT] = { fj_boxed_tag, SIM_VALUE_BIGINT },
  [F_STRING_OBJECT] = { fj_boxed_tag, SIM_VALUE_STRING },
  [F_DEF] = { fj_link, 1 },
  [F_REF] = { fj_link, 0 },
};

static sim_value_t *fj_tagged(fj_t *f, const cJSON *j, const char *tag)
{
  for (int i = 0; i < F_MAX; i++)
    if (strcmp(tag, form_names[i]) == 0)
      return form_readers[i].fn(f, j, form_readers[i].arg);
  for (int k = 0; k < SIM_VIEW_MAX; k++)
    if (strcmp(tag, sim_view_kind_name((sim_view_kind_t)k)) == 0)
      return fj_bytes(f, j, k);
  return fj_fail(f, UV_EINVAL);
}

static sim_value_t *fj_value(fj_t *f, const cJSON *j, int as_double)
{
  const cJSON *tag;
  sim_value_t *v;
  unsigned depth = f->depth;
  double d;

  /* Objects count as the encoder counts them (fj_made()); the few forms
   * that nest without an object are bounded here. */
  if (f->rc != 0)
    return NULL;
  if (f->calls >= 2 * SIM_V8_MAX_DEPTH + 8)
    return fj_fail(f, UV_E2BIG);
  f->calls++;
  if (cJSON_IsNull(j)) {
    v = sim_value_new(f->heap, SIM_VALUE_NULL);
  } else if (cJSON_IsBool(j)) {
    v = sim_value_new_boolean(f->heap, cJSON_IsTrue(j));
  } else if (json_number(j, &d)) {
    v = as_double ? sim_value_new_double(f->heap, d)
                  : sim_value_new_number(f->heap, d);
  } else if (cJSON_IsString(j)) {
    v = fj_string(f, j);
  } else if (cJSON_IsArray(j)) {
    v = fj_made(f, sim_value_new(f->heap, SIM_VALUE_ARRAY));
    if (v != NULL && !fj_elements(f, j, v))
      v = NULL;
  } else if (cJSON_IsObject(j) && (tag = member(j, TAG)) != NULL) {
    v = cJSON_IsString(tag) ? fj_tagged(f, j, tag->valuestring)
                            : fj_fail(f, UV_EINVAL);
  } else if (cJSON_IsObject(j)) {
    v = fj_plain_object(f, j);
  } else {
    v = fj_fail(f, UV_EINVAL);
  }
  f->calls--;
  f->depth = depth;
  if (v == NULL && f->rc == 0)
    fj_alloc_failed(f);
  return v;
}

int sim_value_from_json(sim_heap_t *heap, const cJSON *json,
                        sim_value_t **ret)
{
  fj_t f;
  sim_value_t *v;

  memset(&f, 0, sizeof(f));
  f.heap = heap;
  v = fj_value(&f, json, 0);
  free(f.ids);
  free(f.defs);
  if (f.rc == 0)
    *ret = v;
  return f.rc;
}
