/*
 * yaml_reader: the generic half of the config loader. It turns YAML text into a
 * libyaml document and reads typed values out of it, so that a schema (fhd's is
 * config/config.c) is a list of keys, ranges and cross-checks and nothing else. The
 * document tree keeps the mark of every node, which is how each message names
 * file:line:column. Scalars are read strictly (plain decimal integers, plain
 * true/false, no YAML 1.1 octal or yes/no) because a config value that means
 * something other than it seems is worse than a refusal. Nothing here prints or keeps
 * global state: the caller owns the message buffer and the reader.
 */
#include "config/yaml_reader.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define YAML_READER_KNOWN_MAX 256	/* the list of expected keys in an unknown-key message */
#define YAML_READER_EXPECTED_MAX 96	/* an "expected ..." phrase built here */

int yaml_reader_fail(struct yaml_reader *reader, const yaml_mark_t *mark, const char *path,
		     const char *fmt, ...)
{
	va_list ap;
	int used;

	if (!reader->err || reader->err_size == 0)
		return -EINVAL;
	used = snprintf(reader->err, reader->err_size, "%s:%zu:%zu: %s: ", reader->name,
			mark->line + 1, mark->column + 1, path[0] ? path : "<top>");
	if (used >= 0 && (size_t)used < reader->err_size) {
		va_start(ap, fmt);
		vsnprintf(reader->err + used, reader->err_size - used, fmt, ap);
		va_end(ap);
	}
	/*
	 * Values quoted from the file may hold newlines or escape sequences: the message
	 * stays one printable line whatever the file holds.
	 */
	for (char *c = reader->err; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return -EINVAL;
}

/* A failure with no position (out of memory): "NAME: WHAT". */
static int yaml_reader_nomem(struct yaml_reader *reader, const char *what)
{
	if (reader->err && reader->err_size)
		snprintf(reader->err, reader->err_size, "%s: %s", reader->name, what);
	return -ENOMEM;
}

void yaml_reader_scalar_show(const yaml_node_t *node, char *out, size_t size)
{
	const unsigned char *s = node->data.scalar.value;
	size_t i, len = node->data.scalar.length, n = 0;

	assert(node->type == YAML_SCALAR_NODE);
	assert(size > YAML_READER_SHOWN_MAX + 4);
	for (i = 0; i < len && i < YAML_READER_SHOWN_MAX; i++)
		out[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
	if (len > YAML_READER_SHOWN_MAX) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

static bool yaml_reader_scalar_is_null(const yaml_node_t *node)
{
	const char *v = (const char *)node->data.scalar.value;

	if (node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return node->data.scalar.length == 0 || !strcmp(v, "~") || !strcmp(v, "null") ||
	       !strcmp(v, "Null") || !strcmp(v, "NULL");
}

/* Describes a node for the "got ..." half of a message. */
static const char *yaml_reader_node_describe(const yaml_node_t *node, char *out, size_t size)
{
	char shown[YAML_READER_SHOWN_SIZE];

	switch (node->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_SCALAR_NODE:
		if (yaml_reader_scalar_is_null(node))
			return "null";
		yaml_reader_scalar_show(node, shown, sizeof(shown));
		if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
			snprintf(out, size, "'%s'", shown);
		else
			snprintf(out, size, "quoted string \"%s\"", shown);
		return out;
	default:
		return "nothing";
	}
}

/*
 * Key paths are bounded by the schema (a few levels of short key names, shown unknown
 * keys cut at YAML_READER_SHOWN_MAX), so YAML_READER_PATH_MAX always holds them.
 */
void yaml_reader_path_key(char *out, size_t size, const char *parent, const char *key)
{
	int n;

	if (parent[0])
		n = snprintf(out, size, "%s.%s", parent, key);
	else
		n = snprintf(out, size, "%s", key);
	assert(n >= 0 && (size_t)n < size);
}

void yaml_reader_path_index(char *out, size_t size, const char *parent, size_t index)
{
	int n = snprintf(out, size, "%s[%zu]", parent, index);

	assert(n >= 0 && (size_t)n < size);
}

int yaml_reader_type_fail(struct yaml_reader *reader, const yaml_node_t *node,
			  const char *path, const char *expected)
{
	char got[YAML_READER_SHOWN_MAX + 32];

	return yaml_reader_fail(reader, &node->start_mark, path, "expected %s, got %s", expected,
				yaml_reader_node_describe(node, got, sizeof(got)));
}

int yaml_reader_missing_fail(struct yaml_reader *reader, const yaml_node_t *map,
			     const char *parent, const struct yaml_reader_key *key,
			     const char *expected)
{
	char path[YAML_READER_PATH_MAX];

	yaml_reader_path_key(path, sizeof(path), parent, key->name);
	return yaml_reader_fail(reader, &map->start_mark, path,
				"expected %s (required key), got nothing", expected);
}

/* A key of a mapping that is none of keys[0..count): the message lists them all. */
static int yaml_reader_unknown_fail(struct yaml_reader *reader, const yaml_node_t *key,
				    const char *path, const struct yaml_reader_key *keys,
				    size_t count)
{
	char known[YAML_READER_KNOWN_MAX];
	char shown[YAML_READER_SHOWN_SIZE];
	char key_path[YAML_READER_PATH_MAX];
	size_t i, used = 0;

	yaml_reader_scalar_show(key, shown, sizeof(shown));
	yaml_reader_path_key(key_path, sizeof(key_path), path, shown);
	known[0] = '\0';
	for (i = 0; i < count && used < sizeof(known); i++)
		used += snprintf(known + used, sizeof(known) - used, "%s%s", i ? ", " : "",
				 keys[i].name);
	return yaml_reader_fail(reader, &key->start_mark, key_path,
				"expected one of %s, got unknown key '%s'", known, shown);
}

int yaml_reader_map_read(struct yaml_reader *reader, yaml_node_t *node, const char *path,
			 struct yaml_reader_key *keys, size_t count)
{
	yaml_node_pair_t *pair;
	char key_path[YAML_READER_PATH_MAX];
	size_t i;

	if (node->type != YAML_MAPPING_NODE)
		return yaml_reader_type_fail(reader, node, path, "a mapping");
	for (i = 0; i < count; i++) {
		keys[i].key = NULL;
		keys[i].value = NULL;
	}
	for (pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top; pair++) {
		yaml_node_t *key = yaml_document_get_node(&reader->document, pair->key);
		yaml_node_t *value = yaml_document_get_node(&reader->document, pair->value);
		const char *text;
		size_t len;

		assert(key && value);
		if (key->type != YAML_SCALAR_NODE)
			return yaml_reader_type_fail(reader, key, path, "a plain key");
		text = (const char *)key->data.scalar.value;
		len = key->data.scalar.length;
		for (i = 0; i < count; i++)
			if (strlen(keys[i].name) == len && !memcmp(keys[i].name, text, len))
				break;
		if (i == count)
			return yaml_reader_unknown_fail(reader, key, path, keys, count);
		if (keys[i].key) {
			yaml_reader_path_key(key_path, sizeof(key_path), path, keys[i].name);
			return yaml_reader_fail(reader, &key->start_mark, key_path,
						"expected each key once, got '%s' again (first at line %zu)",
						keys[i].name, keys[i].key->start_mark.line + 1);
		}
		keys[i].key = key;
		keys[i].value = value;
	}
	return 0;
}

int yaml_reader_list_read(struct yaml_reader *reader, yaml_node_t *node, const char *path,
			  size_t min, size_t max, const char *what, size_t *count)
{
	char expected[YAML_READER_EXPECTED_MAX];
	size_t n;

	snprintf(expected, sizeof(expected), "a list of %zu..%zu %s", min, max, what);
	if (node->type != YAML_SEQUENCE_NODE)
		return yaml_reader_type_fail(reader, node, path, expected);
	n = node->data.sequence.items.top - node->data.sequence.items.start;
	if (n < min || n > max)
		return yaml_reader_fail(reader, &node->start_mark, path, "expected %s, got %zu",
					expected, n);
	*count = n;
	return 0;
}

yaml_node_t *yaml_reader_list_item(struct yaml_reader *reader, const yaml_node_t *list,
				   size_t index)
{
	yaml_node_t *item;

	assert(list->type == YAML_SEQUENCE_NODE);
	assert(index < (size_t)(list->data.sequence.items.top - list->data.sequence.items.start));
	item = yaml_document_get_node(&reader->document, list->data.sequence.items.start[index]);
	assert(item);
	return item;
}

/*
 * A plain decimal integer in min..max: digits only (after a '-' if negative_ok), no
 * '+', no leading zero (YAML 1.1 would read 010 as octal), no suffix, not quoted. Past
 * UINT32_MAX the value stops growing, so an overflow is out of any 32-bit range rather
 * than wrapped into it. Every refusal is the same message: what was expected.
 */
static int yaml_reader_integer_parse(struct yaml_reader *reader, yaml_node_t *node,
				     const char *path, bool negative_ok, int64_t min, int64_t max,
				     int64_t *out)
{
	char expected[64];
	const unsigned char *s;
	size_t i, len;
	int64_t v = 0;
	bool negative;

	assert(min <= max && max <= UINT32_MAX);
	snprintf(expected, sizeof(expected), "a decimal integer in %" PRId64 "..%" PRId64, min, max);
	if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return yaml_reader_type_fail(reader, node, path, expected);
	s = node->data.scalar.value;
	len = node->data.scalar.length;
	negative = negative_ok && len > 0 && s[0] == '-';
	i = negative ? 1 : 0;
	if (len == i || (len > i + 1 && s[i] == '0'))
		return yaml_reader_type_fail(reader, node, path, expected);
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return yaml_reader_type_fail(reader, node, path, expected);
		if (v <= UINT32_MAX)	/* keep going to reject junk, but stop growing */
			v = v * 10 + (s[i] - '0');
	}
	v = negative ? -v : v;
	if (v < min || v > max)
		return yaml_reader_type_fail(reader, node, path, expected);
	*out = v;
	return 0;
}

int yaml_reader_uint_parse(struct yaml_reader *reader, yaml_node_t *node, const char *path,
			   uint32_t min, uint32_t max, uint32_t *out)
{
	int64_t v = 0;	/* set when ret is 0; initialised for -O3's flow analysis */
	int ret = yaml_reader_integer_parse(reader, node, path, false, min, max, &v);

	if (ret == 0)
		*out = (uint32_t)v;
	return ret;
}

int yaml_reader_int_parse(struct yaml_reader *reader, yaml_node_t *node, const char *path,
			  int32_t min, int32_t max, int32_t *out)
{
	int64_t v = 0;	/* set when ret is 0; initialised for -O3's flow analysis */
	int ret = yaml_reader_integer_parse(reader, node, path, true, min, max, &v);

	if (ret == 0)
		*out = (int32_t)v;
	return ret;
}

int yaml_reader_uint_get(struct yaml_reader *reader, yaml_node_t *map, const char *parent,
			 const struct yaml_reader_key *key, bool required, uint32_t def,
			 uint32_t min, uint32_t max, uint32_t *out)
{
	char path[YAML_READER_PATH_MAX];

	assert(def >= min && def <= max);
	if (!key->value) {
		if (required)
			return yaml_reader_missing_fail(reader, map, parent, key, "an integer");
		*out = def;
		return 0;
	}
	yaml_reader_path_key(path, sizeof(path), parent, key->name);
	return yaml_reader_uint_parse(reader, key->value, path, min, max, out);
}

int yaml_reader_string_parse(struct yaml_reader *reader, yaml_node_t *node, const char *path,
			     char *out, size_t size)
{
	char expected[64];
	size_t len;

	snprintf(expected, sizeof(expected), "a string of 1..%zu characters", size - 1);
	if (node->type != YAML_SCALAR_NODE || yaml_reader_scalar_is_null(node))
		return yaml_reader_type_fail(reader, node, path, expected);
	len = node->data.scalar.length;
	if (len == 0)
		return yaml_reader_fail(reader, &node->start_mark, path,
					"expected %s, got an empty string", expected);
	if (len >= size)
		return yaml_reader_fail(reader, &node->start_mark, path,
					"expected %s, got %zu characters", expected, len);
	if (strlen((const char *)node->data.scalar.value) != len)
		return yaml_reader_fail(reader, &node->start_mark, path,
					"expected %s, got a NUL character", expected);
	memcpy(out, node->data.scalar.value, len + 1);
	return 0;
}

int yaml_reader_string_get(struct yaml_reader *reader, yaml_node_t *map, const char *parent,
			   const struct yaml_reader_key *key, char *out, size_t size)
{
	char path[YAML_READER_PATH_MAX];

	if (!key->value)
		return yaml_reader_missing_fail(reader, map, parent, key, "a string");
	yaml_reader_path_key(path, sizeof(path), parent, key->name);
	return yaml_reader_string_parse(reader, key->value, path, out, size);
}

int yaml_reader_bool_parse(struct yaml_reader *reader, yaml_node_t *node, const char *path,
			   bool *out)
{
	const char *v = (const char *)node->data.scalar.value;

	if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    (strcmp(v, "true") != 0 && strcmp(v, "false") != 0))
		return yaml_reader_type_fail(reader, node, path, "true or false");
	*out = v[0] == 't';
	return 0;
}

/* The "expected" phrase for choices[0..count): "'a'", or "one of 'a', 'b'". */
static void yaml_reader_choices_describe(const char *const *choices, size_t count,
					 char *out, size_t size)
{
	size_t i, used;

	assert(count >= 1 && size > 0);
	used = (size_t)snprintf(out, size, "%s'%s'", count > 1 ? "one of " : "", choices[0]);
	for (i = 1; i < count && used < size; i++)
		used += (size_t)snprintf(out + used, size - used, ", '%s'", choices[i]);
}

int yaml_reader_choice_get(struct yaml_reader *reader, yaml_node_t *map, const char *parent,
			   const struct yaml_reader_key *key, const char *const *choices,
			   size_t count, size_t *index)
{
	char expected[YAML_READER_EXPECTED_MAX];
	char path[YAML_READER_PATH_MAX];
	const yaml_node_t *node = key->value;
	size_t i;

	yaml_reader_choices_describe(choices, count, expected, sizeof(expected));
	if (!node)
		return yaml_reader_missing_fail(reader, map, parent, key, expected);
	yaml_reader_path_key(path, sizeof(path), parent, key->name);
	if (node->type != YAML_SCALAR_NODE)
		return yaml_reader_type_fail(reader, node, path, expected);
	/* a choice has no NUL, so an equal length and equal bytes also rule one out */
	for (i = 0; i < count; i++)
		if (strlen(choices[i]) == node->data.scalar.length &&
		    !memcmp(choices[i], node->data.scalar.value, node->data.scalar.length)) {
			*index = i;
			return 0;
		}
	return yaml_reader_type_fail(reader, node, path, expected);
}

int yaml_reader_ipv4_parse(struct yaml_reader *reader, yaml_node_t *node, const char *path,
			   uint32_t *out)
{
	struct in_addr addr;
	char text[16];

	if (node->type != YAML_SCALAR_NODE || node->data.scalar.length >= sizeof(text) ||
	    strlen((const char *)node->data.scalar.value) != node->data.scalar.length)
		return yaml_reader_type_fail(reader, node, path, "an IPv4 address");
	memcpy(text, node->data.scalar.value, node->data.scalar.length + 1);
	if (inet_pton(AF_INET, text, &addr) != 1)
		return yaml_reader_type_fail(reader, node, path, "an IPv4 address");
	*out = ntohl(addr.s_addr);
	return 0;
}

int yaml_reader_ipv4_port_parse(struct yaml_reader *reader, yaml_node_t *node, const char *path,
				uint32_t *ip, uint16_t *port)
{
	static const char *const expected = "\"A.B.C.D:PORT\" (an IPv4 address and a port 1..65535)";
	struct in_addr addr;
	char text[24], *colon, *end;
	unsigned long v;

	if (node->type != YAML_SCALAR_NODE || node->data.scalar.length >= sizeof(text) ||
	    strlen((const char *)node->data.scalar.value) != node->data.scalar.length)
		return yaml_reader_type_fail(reader, node, path, expected);
	memcpy(text, node->data.scalar.value, node->data.scalar.length + 1);
	colon = strchr(text, ':');
	if (colon == NULL || colon[1] < '0' || colon[1] > '9')
		return yaml_reader_type_fail(reader, node, path, expected);
	*colon = '\0';
	errno = 0;
	v = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > UINT16_MAX || inet_pton(AF_INET, text, &addr) != 1)
		return yaml_reader_type_fail(reader, node, path, expected);
	*ip = ntohl(addr.s_addr);
	*port = (uint16_t)v;
	return 0;
}

/* Reports a libyaml parse failure with its problem text and position. */
static int yaml_reader_syntax_fail(struct yaml_reader *reader, const yaml_parser_t *parser,
				   const char *text, size_t len)
{
	yaml_mark_t mark = parser->problem_mark;
	size_t i;

	if (parser->error == YAML_MEMORY_ERROR)
		return yaml_reader_nomem(reader, "out of memory parsing YAML");
	if (parser->error == YAML_READER_ERROR) {
		/* reader errors carry a byte offset, not a mark */
		memset(&mark, 0, sizeof(mark));
		for (i = 0; i < parser->problem_offset && i < len; i++) {
			if (text[i] == '\n') {
				mark.line++;
				mark.column = 0;
			} else {
				mark.column++;
			}
		}
	}
	if (parser->context)
		return yaml_reader_fail(reader, &mark, "<yaml>",
					"expected valid YAML, got a syntax error: %s (%s)",
					parser->problem ? parser->problem : "unknown", parser->context);
	return yaml_reader_fail(reader, &mark, "<yaml>", "expected valid YAML, got a syntax error: %s",
				parser->problem ? parser->problem : "unknown");
}

static bool yaml_reader_event_has_anchor(const yaml_event_t *event)
{
	return (event->type == YAML_SCALAR_EVENT && event->data.scalar.anchor) ||
	       (event->type == YAML_SEQUENCE_START_EVENT && event->data.sequence_start.anchor) ||
	       (event->type == YAML_MAPPING_START_EVENT && event->data.mapping_start.anchor);
}

/*
 * Refuses collections nested deeper than YAML_READER_DEPTH_MAX, and more than
 * YAML_READER_ANCHORS_MAX anchors, before the document is built. libyaml's scanner
 * keeps one simple-key slot per open flow collection and walks all of them for every
 * token, so "[[[[...]]]]" costs time quadratic in its depth (80k levels: 25 s); its
 * loader compares every new anchor with all the earlier ones (140k anchors in under
 * 1 MiB: 61 s). This pass reads events, which the scanner produces lazily and which
 * register no anchor, and stops at the first collection too deep or anchor too many,
 * having scanned only a bounded stretch past it. A syntax error is left to the load
 * that follows, which reports it. 0 or -EINVAL/-ENOMEM.
 */
static int yaml_reader_depth_check(struct yaml_reader *reader, const char *text, size_t len)
{
	yaml_parser_t parser;
	yaml_event_t event;
	uint32_t depth = 0, anchors = 0;
	int ret = 0;
	bool done = false;

	if (!yaml_parser_initialize(&parser))
		return yaml_reader_nomem(reader, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	/* bounded: each event consumes input, and the stream ends or fails */
	while (!done && ret == 0) {
		if (!yaml_parser_parse(&parser, &event))
			break;
		if (yaml_reader_event_has_anchor(&event) && ++anchors > YAML_READER_ANCHORS_MAX) {
			ret = yaml_reader_fail(reader, &event.start_mark, "<yaml>",
					       "expected at most %d anchors, got more",
					       YAML_READER_ANCHORS_MAX);
			yaml_event_delete(&event);
			break;
		}
		switch (event.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > YAML_READER_DEPTH_MAX)
				ret = yaml_reader_fail(reader, &event.start_mark, "<yaml>",
						       "expected collections nested at most %d deep, got deeper",
						       YAML_READER_DEPTH_MAX);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			assert(depth > 0);
			depth--;
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&event);
	}
	yaml_parser_delete(&parser);
	return ret;
}

/*
 * Loads the first document of parser into reader->document and checks that the stream
 * holds nothing after it: a second document is a mistake, not something to ignore.
 * 0 with the document loaded, or -EINVAL/-ENOMEM with nothing loaded.
 */
static int yaml_reader_document_load(struct yaml_reader *reader, yaml_parser_t *parser,
				     const char *text, size_t len)
{
	yaml_document_t extra;
	yaml_node_t *root;
	int ret;

	if (!yaml_parser_load(parser, &reader->document))
		return yaml_reader_syntax_fail(reader, parser, text, len);
	if (!yaml_document_get_root_node(&reader->document)) {
		yaml_mark_t start = { 0 };

		ret = yaml_reader_fail(reader, &start, "", "expected a mapping, got an empty document");
		goto fail;
	}
	if (!yaml_parser_load(parser, &extra)) {
		ret = yaml_reader_syntax_fail(reader, parser, text, len);
		goto fail;
	}
	root = yaml_document_get_root_node(&extra);
	if (root)
		ret = yaml_reader_fail(reader, &root->start_mark, "",
				       "expected one YAML document, got a second");
	yaml_document_delete(&extra);
	if (root)
		goto fail;
	return 0;
fail:
	yaml_document_delete(&reader->document);
	return ret;
}

int yaml_reader_load(struct yaml_reader *reader, const char *name, const char *text,
		     size_t len, char *err, size_t err_size)
{
	yaml_parser_t parser;
	int ret;

	assert(reader && name && text);
	memset(reader, 0, sizeof(*reader));
	reader->name = name;
	reader->err = err;
	reader->err_size = err_size;
	if (!yaml_parser_initialize(&parser))
		return yaml_reader_nomem(reader, "out of memory");
	ret = yaml_reader_depth_check(reader, text, len);
	if (ret == 0) {
		yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
		ret = yaml_reader_document_load(reader, &parser, text, len);
	}
	yaml_parser_delete(&parser);
	assert(ret <= 0);
	return ret;
}

yaml_node_t *yaml_reader_root(struct yaml_reader *reader)
{
	yaml_node_t *root = yaml_document_get_root_node(&reader->document);

	assert(root);
	return root;
}

void yaml_reader_close(struct yaml_reader *reader)
{
	yaml_document_delete(&reader->document);
}
