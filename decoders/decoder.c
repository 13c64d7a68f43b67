/*
 * decoder: the table of wire protocols fhd knows, looked up once at start.
 */
#include "decoders/decoder.h"

#include "decoders/itch50.h"

const struct decoder_ops *decoder_find(enum cfg_protocol protocol)
{
	switch (protocol) {
	case CFG_PROTOCOL_ITCH50_MOLDUDP64:
		return &itch50_moldudp64_decoder;
	case CFG_PROTOCOL_NONE:
		break;
	}
	return NULL;
}
