/*
 * corpus.c - values that cluster messages carry, each as a JavaScript
 * expression, a C model builder and its JSON form (serdes-test.h).
 *
 * The builders state V8's representation where JavaScript leaves it
 * implicit: a literal array of numbers with one non-integer is a double
 * array (every element 'N'), an array literal with a hole is sparse, a
 * string with a character above U+00FF is two-byte.
 */
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "serdes-test.h"

/* ---------------------------------------------------------------------- */
/* Builder shorthands: NULL ends every list.                               */

#define I(x) sim_value_new_int32(h, (x))
#define D(x) sim_value_new_double(h, (x))
#define S(x) sim_value_new_string(h, (x), strlen(x))
#define U16(...) u16(h, (const uint16_t[]){ __VA_ARGS__ },                  \
                     sizeof((const uint16_t[]){ __VA_ARGS__ }) / 2)
#define UNDEF sim_value_new(h, SIM_VALUE_UNDEFINED)
#define NUL sim_value_new(h, SIM_VALUE_NULL)
#define HOLE sim_value_new(h, SIM_VALUE_HOLE)
#define B(x) sim_value_new_boolean(h, (x))
#define BIG(x) sim_value_new_bigint_str(h, (x))
#define OBJ(...) pairs(h, sim_value_new(h, SIM_VALUE_OBJECT), __VA_ARGS__, NULL)
#define MAP(...) pairs(h, sim_value_new(h, SIM_VALUE_MAP), __VA_ARGS__, NULL)
#define SPARSE(n, ...) pairs(h, sim_value_new_sparse(h, (n)), __VA_ARGS__, NULL)
#define ARR(...) items(h, sim_value_new(h, SIM_VALUE_ARRAY), __VA_ARGS__, NULL)
#define SET(...) items(h, sim_value_new(h, SIM_VALUE_SET), __VA_ARGS__, NULL)
#define EMPTY(kind) sim_value_new(h, SIM_VALUE_##kind)
#define VIEW(kind, ...) sim_value_new_view(h, SIM_VIEW_##kind,              \
    (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }))

static sim_value_t *u16(sim_heap_t *h, const uint16_t *s, size_t n)
{
  return sim_value_new_utf16(h, s, (uint32_t)n);
}

/* Appends key/value pairs (or Map entries) to `target`. */
static sim_value_t *pairs(sim_heap_t *h, sim_value_t *target, ...)
{
  va_list ap;
  sim_value_t *k;

  va_start(ap, target);
  while ((k = va_arg(ap, sim_value_t *)) != NULL)
    if (sim_value_put(h, target, k, va_arg(ap, sim_value_t *)) != 0)
      target = NULL;
  va_end(ap);
  return target;
}

/* Appends elements (or Set members) to `target`; a first NULL leaves it
 * empty. */
static sim_value_t *items(sim_heap_t *h, sim_value_t *target, ...)
{
  va_list ap;
  sim_value_t *v;

  va_start(ap, target);
  while ((v = va_arg(ap, sim_value_t *)) != NULL)
    if (sim_value_push(h, target, v) != 0)
      target = NULL;
  va_end(ap);
  return target;
}

static sim_value_t *with_stack(sim_heap_t *h, sim_error_proto_t proto,
                               const char *msg, const char *stack)
{
  return sim_value_new_error(h, proto, S(msg), S(stack));
}

/* ---------------------------------------------------------------------- */
/* Builders                                                                */

static sim_value_t *b_null(sim_heap_t *h) { return NUL; }
static sim_value_t *b_undefined(sim_heap_t *h) { return UNDEF; }
static sim_value_t *b_bools(sim_heap_t *h) { return ARR(B(1), B(0)); }
static sim_value_t *b_zero(sim_heap_t *h) { return I(0); }
static sim_value_t *b_minus_one(sim_heap_t *h) { return I(-1); }
static sim_value_t *b_int32_max(sim_heap_t *h) { return I(INT32_MAX); }
static sim_value_t *b_int32_min(sim_heap_t *h) { return I(INT32_MIN); }
static sim_value_t *b_above_smi(sim_heap_t *h) { return D(2147483648.0); }
static sim_value_t *b_minus_zero(sim_heap_t *h) { return D(-0.0); }
static sim_value_t *b_nan(sim_heap_t *h) { return D(NAN); }
static sim_value_t *b_non_finite(sim_heap_t *h)
{
  return ARR(D(INFINITY), D(-INFINITY), D(NAN));
}
static sim_value_t *b_doubles(sim_heap_t *h)
{
  return ARR(D(0.1), D(1e21), D(5e-324), D(1.7976931348623157e308));
}
static sim_value_t *b_safe_ints(sim_heap_t *h)
{
  return OBJ(S("max"), D(9007199254740991.0), S("min"),
             D(-9007199254740991.0), S("p53"), D(9007199254740992.0));
}
static sim_value_t *b_bigint_zero(sim_heap_t *h) { return BIG("0"); }
static sim_value_t *b_bigint_small(sim_heap_t *h) { return BIG("123"); }
static sim_value_t *b_bigint_neg(sim_heap_t *h)
{
  return BIG("-18446744073709551616");
}
static sim_value_t *b_bigint_big(sim_heap_t *h)
{
  return BIG("1606938044258990275541962092341162602522202993782792835301376");
}
static sim_value_t *b_empty_string(sim_heap_t *h) { return S(""); }
static sim_value_t *b_ascii(sim_heap_t *h) { return S("hello, world"); }
static sim_value_t *b_latin1(sim_heap_t *h) { return S("caf\xc3\xa9 \xc3\xbf"); }
static sim_value_t *b_two_byte(sim_heap_t *h)
{
  return S("\xc3\xbc" "n\xc3\xaf" "\xe2\x82\xac" "ode");
}
static sim_value_t *b_astral(sim_heap_t *h)
{
  return S("\xf0\x9f\x98\x80 emoji \xf0\x9d\x84\x9e");
}
static sim_value_t *b_lone_surrogate(sim_heap_t *h)
{
  return U16(0xD800, 'x', 0xDC00);
}
static sim_value_t *b_nul_char(sim_heap_t *h)
{
  return sim_value_new_latin1(h, (const uint8_t *)"a\0b", 3);
}
static sim_value_t *b_padding(sim_heap_t *h)
{
  /* A padding byte before the second 'c' tag, none before the first. */
  return ARR(S("\xe2\x82\xac"), S("x"), S("\xe2\x82\xac"));
}
static sim_value_t *b_latin1_as_two_byte(sim_heap_t *h)
{
  return U16('a', 'b', 0xE9);
}
static sim_value_t *b_long_strings(sim_heap_t *h)
{
  char a[301], e[301];
  uint16_t w[150];

  memset(a, 'x', 300);
  a[300] = '\0';
  for (int i = 0; i < 150; i++)
    w[i] = 0x20AC;
  (void)e;
  return ARR(S(a), u16(h, w, 150));
}
static sim_value_t *b_empty_object(sim_heap_t *h) { return EMPTY(OBJECT); }
static sim_value_t *b_nested(sim_heap_t *h)
{
  return OBJ(S("a"), OBJ(S("b"), OBJ(S("c"), ARR(I(1), S("x"), NUL))));
}
static sim_value_t *b_integer_keys(sim_heap_t *h)
{
  return OBJ(I(1), S("a"), I(2), S("b"), D(4294967294.0), I(4), S("x"), I(1),
             S("-1"), I(2), S("4294967295"), I(3));
}
static sim_value_t *b_tag_key(sim_heap_t *h)
{
  return OBJ(S("$v8"), S("undefined"), S("a"), I(2));
}
static sim_value_t *b_two_byte_keys(sim_heap_t *h)
{
  return OBJ(S("\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87"),
             S("\xd0\xb7\xd0\xbd\xd0\xb0\xd1\x87"));
}
static sim_value_t *b_empty_array(sim_heap_t *h) { return EMPTY(ARRAY); }
static sim_value_t *b_mixed_array(sim_heap_t *h)
{
  return ARR(I(1), S("two"), OBJ(S("three"), I(3)), ARR(I(4), NULL), NUL,
             B(1));
}
static sim_value_t *b_double_array(sim_heap_t *h)
{
  return ARR(D(1.5), D(2), D(-0.0));
}
static sim_value_t *b_undefined_element(sim_heap_t *h)
{
  return ARR(UNDEF, I(1));
}
static sim_value_t *b_holey(sim_heap_t *h)
{
  return SPARSE(3, I(0), I(1), I(2), I(3));
}
static sim_value_t *b_far_element(sim_heap_t *h)
{
  return SPARSE(1000001, I(1000000), S("x"));
}
static sim_value_t *b_new_array(sim_heap_t *h)
{
  return sim_value_new_sparse(h, 5);
}
static sim_value_t *b_array_props(sim_heap_t *h)
{
  sim_value_t *a = ARR(I(1), I(2));

  return pairs(h, a, S("extra"), S("p"), NULL);
}
static sim_value_t *b_sparse_props(sim_heap_t *h)
{
  return SPARSE(2, I(1), I(1), S("k"), S("v"));
}
static sim_value_t *b_dates(sim_heap_t *h)
{
  return ARR(sim_value_new_date(h, 0), sim_value_new_date(h, 1700000000123.0),
             sim_value_new_date(h, -1));
}
static sim_value_t *b_invalid_date(sim_heap_t *h)
{
  return sim_value_new_date(h, NAN);
}
static sim_value_t *b_regexps(sim_heap_t *h)
{
  return ARR(sim_value_new_regexp(h, S("ab+c"), SIM_REGEXP_GLOBAL |
                                                SIM_REGEXP_IGNORE_CASE),
             sim_value_new_regexp(h, S("\xf0\x9f\x98\x80+"),
                                  SIM_REGEXP_UNICODE),
             sim_value_new_regexp(h, S("x"), 0xBF & ~SIM_REGEXP_UNICODE),
             sim_value_new_regexp(h, S("(?:)"), 0));
}
static sim_value_t *b_map(sim_heap_t *h)
{
  return MAP(I(1), S("a"), S("b"), OBJ(S("c"), I(2)), EMPTY(OBJECT),
             EMPTY(ARRAY));
}
static sim_value_t *b_set(sim_heap_t *h)
{
  return SET(I(1), S("1"), NUL, UNDEF);
}
static sim_value_t *b_empty_collections(sim_heap_t *h)
{
  return ARR(EMPTY(MAP), EMPTY(SET));
}
static sim_value_t *b_array_buffer(sim_heap_t *h)
{
  return sim_value_new_buffer(h, (const uint8_t[]){ 1, 2, 3, 255 }, 4);
}
static sim_value_t *b_resizable(sim_heap_t *h)
{
  sim_value_t *b = sim_value_new_buffer(h, (const uint8_t[]){ 0, 7 }, 2);

  (void)sim_value_set_resizable(b, 8);
  return b;
}
static sim_value_t *b_views(sim_heap_t *h)
{
  return ARR(VIEW(INT8, 0xFF, 2), VIEW(UINT8, 255), VIEW(UINT8_CLAMPED, 255),
             VIEW(INT16, 0xFE, 0xFF), VIEW(UINT16, 0xFF, 0xFF),
             VIEW(INT32, 0xFD, 0xFF, 0xFF, 0xFF),
             VIEW(UINT32, 0x00, 0x28, 0x6B, 0xEE),
             VIEW(FLOAT32, 0, 0, 0xC0, 0x3F),
             VIEW(FLOAT64, 0, 0, 0, 0, 0, 0, 0xD0, 0xBF),
             VIEW(DATAVIEW, 0, 0, 0), VIEW(BUFFER, 'h', 'i'),
             VIEW(BIGINT64, 0xFB, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF),
             VIEW(BIGUINT64, 5, 0, 0, 0, 0, 0, 0, 0));
}
static sim_value_t *b_buffer_slice(sim_heap_t *h)
{
  return VIEW(BUFFER, 'w', 'o', 'r', 'l', 'd');
}
static sim_value_t *b_empty_views(sim_heap_t *h)
{
  return ARR(sim_value_new_view(h, SIM_VIEW_BUFFER, NULL, 0),
             sim_value_new_view(h, SIM_VIEW_FLOAT64, NULL, 0));
}
static sim_value_t *b_boxed(sim_heap_t *h)
{
  return ARR(sim_value_new_boxed(h, B(0)), sim_value_new_boxed(h, D(-0.0)),
             sim_value_new_boxed(h, S("\xc3\xbc\xe2\x82\xac")),
             sim_value_new_boxed(h, BIG("10")),
             sim_value_new_boxed(h, D(7)));
}
static sim_value_t *b_range_error(sim_heap_t *h)
{
  return with_stack(h, SIM_ERROR_RANGE, "out of range",
                    "RangeError: out of range\n    at <corpus>");
}
static sim_value_t *b_error_cause(sim_heap_t *h)
{
  sim_value_t *e = with_stack(h, SIM_ERROR_ERROR, "outer", "Error: outer");

  (void)sim_value_set_cause(e, OBJ(S("code"), I(42)));
  return e;
}
static sim_value_t *b_error_kinds(sim_heap_t *h)
{
  return ARR(with_stack(h, SIM_ERROR_TYPE, "t", "T"),
             with_stack(h, SIM_ERROR_SYNTAX, "s", "S"),
             with_stack(h, SIM_ERROR_REFERENCE, "r", "R"),
             with_stack(h, SIM_ERROR_EVAL, "e", "E"),
             with_stack(h, SIM_ERROR_URI, "u", "U"),
             with_stack(h, SIM_ERROR_ERROR, "custom", "CustomError: custom"));
}
static sim_value_t *b_shared(sim_heap_t *h)
{
  sim_value_t *o = OBJ(S("x"), I(1));

  return OBJ(S("a"), o, S("b"), o, S("c"), ARR(o, NULL));
}
static sim_value_t *b_cycle(sim_heap_t *h)
{
  sim_value_t *o = EMPTY(OBJECT);

  return pairs(h, o, S("self"), o, NULL);
}
static sim_value_t *b_array_cycle(sim_heap_t *h)
{
  sim_value_t *a = ARR(I(1), NULL);

  return items(h, a, a, NULL);
}
static sim_value_t *b_map_cycle(sim_heap_t *h)
{
  sim_value_t *m = EMPTY(MAP);

  return pairs(h, m, S("self"), m, NULL);
}
static sim_value_t *b_shared_view(sim_heap_t *h)
{
  sim_value_t *u = VIEW(UINT8, 1);

  return ARR(u, u);
}
static sim_value_t *b_cluster_message(sim_heap_t *h)
{
  return OBJ(S("cmd"), S("NODE_CLUSTER"), S("act"), S("queryServer"),
             S("address"), NUL, S("port"), I(8080), S("addressType"), I(4),
             S("fd"), UNDEF, S("index"), I(0), S("backlog"), I(511),
             S("exclusive"), B(0), S("seq"), I(3));
}
static sim_value_t *b_numbers_in_object(sim_heap_t *h)
{
  return OBJ(S("n"), I(42), S("neg"), I(-7), S("f"), D(3.25), S("big"),
             D(1099511627776.0));
}
static sim_value_t *b_deep(sim_heap_t *h)
{
  sim_value_t *v = S("leaf");

  for (int i = 0; i < 100; i++)
    v = ARR(v, NULL);
  return v;
}
static sim_value_t *b_many_keys(sim_heap_t *h)
{
  sim_value_t *o = EMPTY(OBJECT);
  char key[16];

  for (int i = 0; i < 200; i++) {
    snprintf(key, sizeof(key), "k%d", i);
    (void)sim_value_put(h, o, S(key), I(i * i));
  }
  return o;
}

/* ---------------------------------------------------------------------- */

const corpus_row_t corpus[] = {
  { "null", "null", NULL, b_null, "null" },
  { "undefined", "undefined", NULL, b_undefined, "{\"$v8\":\"undefined\"}" },
  { "booleans", "[true, false]", NULL, b_bools, "[true,false]" },
  { "zero", "0", NULL, b_zero, "0" },
  { "minus_one", "-1", NULL, b_minus_one, "-1" },
  { "int32_max", "2147483647", NULL, b_int32_max, "2147483647" },
  { "int32_min", "-2147483648", NULL, b_int32_min, "-2147483648" },
  { "above_smi", "2147483648", NULL, b_above_smi, "2147483648" },
  { "minus_zero", "-0", "return Object.is(v, -0)", b_minus_zero,
    "{\"$v8\":\"double\",\"value\":\"-0\"}" },
  { "nan", "NaN", NULL, b_nan, "{\"$v8\":\"double\",\"value\":\"NaN\"}" },
  { "non_finite", "[Infinity, -Infinity, NaN]", NULL, b_non_finite,
    "[{\"$v8\":\"double\",\"value\":\"Infinity\"},"
    "{\"$v8\":\"double\",\"value\":\"-Infinity\"},"
    "{\"$v8\":\"double\",\"value\":\"NaN\"}]" },
  { "doubles", "[0.1, 1e21, 5e-324, 1.7976931348623157e308]", NULL,
    b_doubles, "[0.1,1e+21,4.94065645841247e-324,1.7976931348623157e+308]" },
  { "safe_integers",
    "({max: Number.MAX_SAFE_INTEGER, min: Number.MIN_SAFE_INTEGER, "
    "p53: 2 ** 53})", NULL, b_safe_ints,
    "{\"max\":9007199254740991,\"min\":-9007199254740991,"
    "\"p53\":9007199254740992}" },
  { "bigint_zero", "0n", NULL, b_bigint_zero,
    "{\"$v8\":\"bigint\",\"value\":\"0\"}" },
  { "bigint_small", "123n", NULL, b_bigint_small,
    "{\"$v8\":\"bigint\",\"value\":\"123\"}" },
  { "bigint_negative_two_digits", "-(2n ** 64n)", NULL, b_bigint_neg,
    "{\"$v8\":\"bigint\",\"value\":\"-18446744073709551616\"}" },
  { "bigint_large", "2n ** 200n", NULL, b_bigint_big,
    "{\"$v8\":\"bigint\",\"value\":"
    "\"1606938044258990275541962092341162602522202993782792835301376\"}" },
  { "empty_string", "''", NULL, b_empty_string, "\"\"" },
  { "ascii", "'hello, world'", NULL, b_ascii, "\"hello, world\"" },
  { "latin1", "'caf\\u00e9 \\u00ff'", NULL, b_latin1,
    "\"caf\xc3\xa9 \xc3\xbf\"" },
  { "two_byte", "'\\u00fcn\\u00ef\\u20acode'", NULL, b_two_byte,
    "\"\xc3\xbcn\xc3\xaf\xe2\x82\xac" "ode\"" },
  { "astral", "'\\u{1F600} emoji \\u{1D11E}'", NULL, b_astral,
    "\"\xf0\x9f\x98\x80 emoji \xf0\x9d\x84\x9e\"" },
  { "lone_surrogates", "'\\ud800x\\udc00'", NULL, b_lone_surrogate,
    "{\"$v8\":\"string\",\"utf16\":[55296,120,56320],\"twoByte\":true}" },
  { "nul_character", "'a\\u0000b'", NULL, b_nul_char,
    "{\"$v8\":\"string\",\"utf16\":[97,0,98],\"twoByte\":false}" },
  { "two_byte_padding", "['\\u20ac', 'x', '\\u20ac']", NULL, b_padding,
    "[\"\xe2\x82\xac\",\"x\",\"\xe2\x82\xac\"]" },
  { "latin1_stored_two_byte", "'ab\\u00e9\\u0100'.slice(0, 3)", NULL,
    b_latin1_as_two_byte,
    "{\"$v8\":\"string\",\"value\":\"ab\xc3\xa9\",\"twoByte\":true}" },
  { "long_strings", "['x'.repeat(300), '\\u20ac'.repeat(150)]", NULL,
    b_long_strings, NULL },
  { "empty_object", "({})", NULL, b_empty_object, "{}" },
  { "nested_object", "({a: {b: {c: [1, 'x', null]}}})", NULL, b_nested,
    "{\"a\":{\"b\":{\"c\":[1,\"x\",null]}}}" },
  { "integer_keys",
    "({2: 'b', 1: 'a', x: 1, '-1': 2, '4294967295': 3, 4294967294: 4})",
    NULL, b_integer_keys,
    "{\"1\":\"a\",\"2\":\"b\",\"4294967294\":4,\"x\":1,\"-1\":2,"
    "\"4294967295\":3}" },
  { "tag_named_key", "({'$v8': 'undefined', a: 2})", NULL, b_tag_key,
    "{\"$v8\":\"object\",\"entries\":[[\"$v8\",\"undefined\"],[\"a\",2]]}" },
  { "two_byte_keys", "({'\\u043a\\u043b\\u044e\\u0447': "
    "'\\u0437\\u043d\\u0430\\u0447'})", NULL, b_two_byte_keys,
    "{\"\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87\":"
    "\"\xd0\xb7\xd0\xbd\xd0\xb0\xd1\x87\"}" },
  { "empty_array", "[]", NULL, b_empty_array, "[]" },
  { "mixed_array", "[1, 'two', {three: 3}, [4], null, true]", NULL,
    b_mixed_array, "[1,\"two\",{\"three\":3},[4],null,true]" },
  { "double_array", "[1.5, 2, -0]", "return Object.is(v[2], -0)",
    b_double_array,
    "[1.5,{\"$v8\":\"double\",\"value\":2},"
    "{\"$v8\":\"double\",\"value\":\"-0\"}]" },
  { "undefined_element", "[undefined, 1]", "return 0 in v", b_undefined_element,
    "[{\"$v8\":\"undefined\"},1]" },
  { "holey_array", "[1, , 3]", "return !(1 in v) && v.length === 3",
    b_holey,
    "{\"$v8\":\"sparse\",\"length\":3,\"props\":[[0,1],[2,3]]}" },
  { "far_element", "(() => { const a = []; a[1000000] = 'x'; return a; })()",
    "return v.length === 1000001", b_far_element,
    "{\"$v8\":\"sparse\",\"length\":1000001,\"props\":[[1000000,\"x\"]]}" },
  { "new_array", "new Array(5)", "return v.length === 5", b_new_array,
    "{\"$v8\":\"sparse\",\"length\":5,\"props\":[]}" },
  { "array_with_property", "Object.assign([1, 2], {extra: 'p'})", NULL,
    b_array_props,
    "{\"$v8\":\"array\",\"elements\":[1,2],\"props\":[[\"extra\",\"p\"]]}" },
  { "sparse_with_property", "Object.assign([, 1], {k: 'v'})", NULL,
    b_sparse_props,
    "{\"$v8\":\"sparse\",\"length\":2,\"props\":[[1,1],[\"k\",\"v\"]]}" },
  { "dates", "[new Date(0), new Date(1700000000123), new Date(-1)]", NULL,
    b_dates,
    "[{\"$v8\":\"date\",\"value\":0,\"iso\":\"1970-01-01T00:00:00.000Z\"},"
    "{\"$v8\":\"date\",\"value\":1700000000123,"
    "\"iso\":\"2023-11-14T22:13:20.123Z\"},{\"$v8\":\"date\",\"value\":-1}]" },
  /* isDeepStrictEqual() finds two invalid Dates different: node-v8.js
   * compares top-level invalid Dates itself. */
  { "invalid_date", "new Date(NaN)", "return isNaN(v.getTime())",
    b_invalid_date, "{\"$v8\":\"date\",\"value\":\"NaN\"}" },
  { "regexps",
    "[/ab+c/gi, new RegExp('\\u{1F600}+', 'u'), /x/dgimsy, new RegExp('')]",
    NULL, b_regexps, NULL },
  { "map", "new Map([[1, 'a'], ['b', {c: 2}], [{}, []]])", NULL, b_map,
    "{\"$v8\":\"map\",\"entries\":[[1,\"a\"],[\"b\",{\"c\":2}],[{},[]]]}" },
  { "set", "new Set([1, '1', null, undefined])", NULL, b_set,
    "{\"$v8\":\"set\",\"values\":[1,\"1\",null,{\"$v8\":\"undefined\"}]}" },
  { "empty_collections", "[new Map(), new Set()]", NULL, b_empty_collections,
    "[{\"$v8\":\"map\",\"entries\":[]},{\"$v8\":\"set\",\"values\":[]}]" },
  { "array_buffer", "new Uint8Array([1, 2, 3, 255]).buffer", NULL,
    b_array_buffer, "{\"$v8\":\"ArrayBuffer\",\"hex\":\"010203ff\"}" },
  { "resizable_array_buffer",
    "(() => { const b = new ArrayBuffer(2, {maxByteLength: 8}); "
    "new Uint8Array(b)[1] = 7; return b; })()",
    "return v.resizable && v.maxByteLength === 8", b_resizable,
    "{\"$v8\":\"ArrayBuffer\",\"hex\":\"0007\",\"maxByteLength\":8}" },
  { "typed_arrays",
    "[new Int8Array([-1, 2]), new Uint8Array([255]), "
    "new Uint8ClampedArray([300]), new Int16Array([-2]), "
    "new Uint16Array([65535]), new Int32Array([-3]), "
    "new Uint32Array([4e9]), new Float32Array([1.5]), "
    "new Float64Array([-0.25]), new DataView(new ArrayBuffer(3)), "
    "Buffer.from('hi'), new BigInt64Array([-5n]), new BigUint64Array([5n])]",
    "return Buffer.isBuffer(v[10]) && !Buffer.isBuffer(v[1])", b_views,
    NULL },
  { "buffer_slice", "Buffer.from('hello world').subarray(6)",
    "return Buffer.isBuffer(v) && v.toString() === 'world'", b_buffer_slice,
    "{\"$v8\":\"Buffer\",\"hex\":\"776f726c64\"}" },
  { "empty_views", "[Buffer.alloc(0), new Float64Array(0)]", NULL,
    b_empty_views,
    "[{\"$v8\":\"Buffer\",\"hex\":\"\"},{\"$v8\":\"Float64Array\",\"hex\":\"\"}]" },
  { "boxed_primitives",
    "[new Boolean(false), new Number(-0), new String('\\u00fc\\u20ac'), "
    "Object(10n), new Number(7)]", NULL, b_boxed,
    "[{\"$v8\":\"Boolean\",\"value\":false},"
    "{\"$v8\":\"Number\",\"value\":\"-0\"},"
    "{\"$v8\":\"String\",\"value\":\"\xc3\xbc\xe2\x82\xac\"},"
    "{\"$v8\":\"BigInt\",\"value\":\"10\"},"
    "{\"$v8\":\"Number\",\"value\":7}]" },
  { "range_error",
    "(() => { const e = new RangeError('out of range'); "
    "e.stack = 'RangeError: out of range\\n    at <corpus>'; return e; })()",
    "return v instanceof RangeError && v.message === 'out of range' && "
    "v.stack.endsWith('<corpus>')", b_range_error,
    "{\"$v8\":\"error\",\"name\":\"RangeError\",\"message\":\"out of range\","
    "\"stack\":\"RangeError: out of range\\n    at <corpus>\"}" },
  { "error_with_cause",
    "(() => { const e = new Error('outer', {cause: {code: 42}}); "
    "e.stack = 'Error: outer'; return e; })()",
    "return v.cause.code === 42", b_error_cause,
    "{\"$v8\":\"error\",\"name\":\"Error\",\"message\":\"outer\","
    "\"stack\":\"Error: outer\",\"cause\":{\"code\":42}}" },
  { "error_kinds",
    "[TypeError, SyntaxError, ReferenceError, EvalError, URIError].map("
    "(C, i) => { const e = new C('tsreu'[i]); e.stack = 'TSREU'[i]; "
    "return e; }).concat([(() => { const e = new Error('custom'); "
    "e.name = 'CustomError'; e.stack = 'CustomError: custom'; "
    "return e; })()])",
    "return v[0] instanceof TypeError && v[4] instanceof URIError && "
    "v[5].name === 'Error'", b_error_kinds, NULL },
  { "shared_object",
    "(() => { const o = {x: 1}; return {a: o, b: o, c: [o]}; })()",
    "return v.a === v.b && v.c[0] === v.a", b_shared,
    "{\"a\":{\"$v8\":\"def\",\"id\":1,\"value\":{\"x\":1}},"
    "\"b\":{\"$v8\":\"ref\",\"id\":1},\"c\":[{\"$v8\":\"ref\",\"id\":1}]}" },
  { "object_cycle", "(() => { const o = {}; o.self = o; return o; })()",
    "return v.self === v", b_cycle,
    "{\"$v8\":\"def\",\"id\":0,\"value\":{\"self\":{\"$v8\":\"ref\","
    "\"id\":0}}}" },
  { "array_cycle", "(() => { const a = [1]; a.push(a); return a; })()",
    "return v[1] === v", b_array_cycle,
    "{\"$v8\":\"def\",\"id\":0,\"value\":[1,{\"$v8\":\"ref\",\"id\":0}]}" },
  { "map_cycle",
    "(() => { const m = new Map(); m.set('self', m); return m; })()",
    "return v.get('self') === v", b_map_cycle,
    "{\"$v8\":\"def\",\"id\":0,\"value\":{\"$v8\":\"map\",\"entries\":"
    "[[\"self\",{\"$v8\":\"ref\",\"id\":0}]]}}" },
  { "shared_view",
    "(() => { const u = new Uint8Array([1]); return [u, u]; })()",
    "return v[0] === v[1]", b_shared_view,
    "[{\"$v8\":\"def\",\"id\":1,\"value\":{\"$v8\":\"Uint8Array\","
    "\"hex\":\"01\"}},{\"$v8\":\"ref\",\"id\":1}]" },
  { "cluster_message",
    "({cmd: 'NODE_CLUSTER', act: 'queryServer', address: null, port: 8080, "
    "addressType: 4, fd: undefined, index: 0, backlog: 511, "
    "exclusive: false, seq: 3})", "return 'fd' in v", b_cluster_message,
    "{\"cmd\":\"NODE_CLUSTER\",\"act\":\"queryServer\",\"address\":null,"
    "\"port\":8080,\"addressType\":4,\"fd\":{\"$v8\":\"undefined\"},"
    "\"index\":0,\"backlog\":511,\"exclusive\":false,\"seq\":3}" },
  { "numbers_in_object", "({n: 42, neg: -7, f: 3.25, big: 2 ** 40})", NULL,
    b_numbers_in_object,
    "{\"n\":42,\"neg\":-7,\"f\":3.25,\"big\":1099511627776}" },
  { "deep_nesting",
    "(() => { let v = 'leaf'; for (let i = 0; i < 100; i++) v = [v]; "
    "return v; })()", NULL, b_deep, NULL },
  { "many_keys",
    "(() => { const o = {}; for (let i = 0; i < 200; i++) o['k' + i] = i * i;"
    " return o; })()", NULL, b_many_keys, NULL },
};

const size_t corpus_len = sizeof(corpus) / sizeof(corpus[0]);
