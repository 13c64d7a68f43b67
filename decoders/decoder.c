/*
 * decoder: the table of wire protocols fhd knows, looked up once at start by the name
 * the config gives. A new protocol is one more entry.
 */
#include "decoders/decoder.h"

#include <stddef.h>
#include <string.h>

#include "decoders/nasdaq/itch50.h"

static const struct decoder_ops *const decoder_table[] = {
	&itch50_moldudp64_decoder,
};

const struct decoder_ops *decoder_find(const char *protocol)
{
	for (size_t i = 0; i < sizeof(decoder_table) / sizeof(decoder_table[0]); i++)
		if (strcmp(decoder_table[i]->protocol, protocol) == 0)
			return decoder_table[i];
	return NULL;
}
