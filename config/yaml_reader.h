/*
 * yaml_reader: a strict, typed reader over one YAML document, for configuration files.
 * It loads the text with libyaml's document API (refusing nesting and anchor counts
 * that would make libyaml quadratic, and streams of more than one document), then
 * lets a schema walk the tree: mappings against a list of expected keys (unknown and
 * repeated keys refused), lists with a count range, and scalars read as typed values
 * (unsigned and signed decimal integers in a range, strings that fit a buffer,
 * true/false, one of a set of words, IPv4 addresses). Every refusal is one printable
 * line "NAME:LINE:COLUMN: PATH: expected ..., got ..." in the caller's buffer, where
 * PATH is the key path (a.b[0].c); nothing here prints, keeps state outside the
 * reader or knows what any key means: that is the schema's business (fhd's is
 * config/config.c).
 */
#ifndef FH_CONFIG_YAML_READER_H
#define FH_CONFIG_YAML_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#define YAML_READER_PATH_MAX 128	/* longest key path in a message, including the NUL */
#define YAML_READER_SHOWN_MAX 40	/* characters of a bad value quoted in a message */
#define YAML_READER_SHOWN_SIZE (YAML_READER_SHOWN_MAX + 8)	/* a buffer for one quoted value */
#define YAML_READER_DEPTH_MAX 64	/* nesting accepted; libyaml's scanner is quadratic in it */
#define YAML_READER_ANCHORS_MAX 256	/* anchors (&name) accepted; libyaml's loader is quadratic in them */

/* One loaded document and where its messages go. */
struct yaml_reader {
	const char *name;		/* what messages call the file */
	char *err;			/* the caller's message buffer (NULL: no message) */
	size_t err_size;
	yaml_document_t document;
};

/* One expected key of a mapping and the nodes found for it (NULL if absent). */
struct yaml_reader_key {
	const char *name;
	yaml_node_t *key;
	yaml_node_t *value;
};

/*
 * Loads text[0..len) as exactly one YAML document whose root exists. name is what
 * messages call the file; err/err_size (NULL/0: none) receives the message. 0, and
 * the caller owes yaml_reader_close(); or -EINVAL (syntax, depth, anchors, an empty
 * stream, a second document) / -ENOMEM with the message set and nothing to close.
 */
int yaml_reader_load(struct yaml_reader *reader, const char *name, const char *text,
		     size_t len, char *err, size_t err_size);

/* The root node of a loaded document (never NULL). */
yaml_node_t *yaml_reader_root(struct yaml_reader *reader);

/* Frees the document of a successful yaml_reader_load. */
void yaml_reader_close(struct yaml_reader *reader);

/*
 * Writes "NAME:LINE:COLUMN: PATH: " and the formatted rest into the message buffer,
 * PATH "" standing for the top ("<top>"). Control bytes in the result become '?', so
 * a value quoted from the file cannot break the message's single line. Always returns
 * -EINVAL, so callers can `return yaml_reader_fail(...)`.
 */
__attribute__((format(printf, 4, 5)))
int yaml_reader_fail(struct yaml_reader *reader, const yaml_mark_t *mark, const char *path,
		     const char *fmt, ...);

/* "expected EXPECTED, got <what node is>" at node. -EINVAL. */
int yaml_reader_type_fail(struct yaml_reader *reader, const yaml_node_t *node,
			  const char *path, const char *expected);

/* A required key is absent: the message names PARENT.KEY and points at map. -EINVAL. */
int yaml_reader_missing_fail(struct yaml_reader *reader, const yaml_node_t *map,
			     const char *parent, const struct yaml_reader_key *key,
			     const char *expected);

/*
 * The first YAML_READER_SHOWN_MAX bytes of a scalar for a message, anything
 * unprintable as '?', "..." after a longer one. out holds YAML_READER_SHOWN_SIZE.
 */
void yaml_reader_scalar_show(const yaml_node_t *node, char *out, size_t size);

/* Key paths for messages: "PARENT.KEY" (or "KEY" at the top) and "PARENT[INDEX]". */
void yaml_reader_path_key(char *out, size_t size, const char *parent, const char *key);
void yaml_reader_path_index(char *out, size_t size, const char *parent, size_t index);

/*
 * Matches the keys of mapping node against keys[0..count): every key must be a
 * scalar, one of keys[] and given once. Fills keys[i].key/value for those present
 * (NULL for the others). 0, or -EINVAL naming the first offending key.
 */
int yaml_reader_map_read(struct yaml_reader *reader, yaml_node_t *node, const char *path,
			 struct yaml_reader_key *keys, size_t count);

/*
 * Checks that node is a list of min..max entries; *count is how many. what names
 * the entries in the message ("names"). 0 or -EINVAL.
 */
int yaml_reader_list_read(struct yaml_reader *reader, yaml_node_t *node, const char *path,
			  size_t min, size_t max, const char *what, size_t *count);

/* Entry index of a list yaml_reader_list_read accepted. */
yaml_node_t *yaml_reader_list_item(struct yaml_reader *reader, const yaml_node_t *list,
				   size_t index);

/*
 * A plain decimal integer in min..max: digits only, no sign, no leading zero (YAML
 * 1.1 would read 010 as octal), no suffix, not quoted; overflow is out of range.
 */
int yaml_reader_uint_parse(struct yaml_reader *reader, yaml_node_t *node, const char *path,
			   uint32_t min, uint32_t max, uint32_t *out);

/*
 * key of map (PARENT in messages) as yaml_reader_uint_parse reads it; an absent key
 * is def, or an error if required.
 */
int yaml_reader_uint_get(struct yaml_reader *reader, yaml_node_t *map, const char *parent,
			 const struct yaml_reader_key *key, bool required, uint32_t def,
			 uint32_t min, uint32_t max, uint32_t *out);

/* As yaml_reader_uint_parse, with an optional leading '-'. */
int yaml_reader_int_parse(struct yaml_reader *reader, yaml_node_t *node, const char *path,
			  int32_t min, int32_t max, int32_t *out);

/* A non-empty scalar string (not null, no NUL) shorter than size, copied to out. */
int yaml_reader_string_parse(struct yaml_reader *reader, yaml_node_t *node, const char *path,
			     char *out, size_t size);

/* The required key of map as yaml_reader_string_parse reads it. */
int yaml_reader_string_get(struct yaml_reader *reader, yaml_node_t *map, const char *parent,
			   const struct yaml_reader_key *key, char *out, size_t size);

/* Plain true or false (YAML 1.1's yes/no/on/off are refused). */
int yaml_reader_bool_parse(struct yaml_reader *reader, yaml_node_t *node, const char *path,
			   bool *out);

/*
 * The required key of map as exactly one of choices[0..count), quoted or not;
 * *index is which. The message lists them: "'a'", or "one of 'a', 'b'".
 */
int yaml_reader_choice_get(struct yaml_reader *reader, yaml_node_t *map, const char *parent,
			   const struct yaml_reader_key *key, const char *const *choices,
			   size_t count, size_t *index);

/* A dotted-quad IPv4 address, into *out in host byte order. */
int yaml_reader_ipv4_parse(struct yaml_reader *reader, yaml_node_t *node, const char *path,
			   uint32_t *out);

/* "A.B.C.D:PORT" (IPv4, port 1..65535), into host byte order. */
int yaml_reader_ipv4_port_parse(struct yaml_reader *reader, yaml_node_t *node, const char *path,
				uint32_t *ip, uint16_t *port);

#endif
