/*
 * inject: the `fh-pcap inject` subcommand. It reads a capture, tells line A, line B
 * and other packets apart by group and port, and applies seeded per-line faults
 * (loss, duplicates, reordering, malformed copies from malformed.c) so that
 * arbitration and gap handling can be exercised reproducibly. Loss never takes both
 * copies of a packet: one line always carries every message. Other packets pass
 * through; --vlan-strip removes 802.1Q tags on the way out.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "fh_pcap.h"

static const char *const line_names[] = { "A", "B", "other" };

static const int inject_options[] = {
	OPT_IN, OPT_OUT, OPT_SEED, OPT_LOSS_A, OPT_LOSS_B, OPT_DUP, OPT_REORDER,
	OPT_REORDER_DEPTH, OPT_MALFORMED, OPT_VLAN_STRIP, OPT_GROUP_A, OPT_GROUP_B,
	OPT_UDP_PORT, OPT_PROTOCOL, 0
};

struct inject_item {
	uint64_t key;			/* slot in the source capture, x16 + sub-slot */
	uint64_t order;			/* creation order: stable tie break */
	uint64_t ts_us;
	uint8_t *data;
	uint32_t caplen;
	uint32_t wire_len;
	bool owned;
};

struct inject_stats {
	uint64_t in, out, dropped, protected, duplicated, reordered, malformed;
};

struct inject_state {
	struct inject_item *items;
	size_t count;
	size_t capacity;
	struct inject_stats stats[LINE_COUNT + 1];
};

/* One line's fault streams, each seeded apart so one fault's rate leaves the others be. */
struct inject_rngs {
	struct rng loss, dup, reorder, malformed;
};

/*
 * Queues a packet for output at slot key, with pkt's timestamp. owned data is freed
 * with the state (or here, on failure). 0 or -ENOMEM after printing it.
 */
static int inject_push(struct inject_state *s, uint64_t key, const struct pcap_packet *pkt,
		       uint8_t *data, uint32_t caplen, uint32_t wire_len, bool owned)
{
	struct inject_item *item;

	if (s->count == s->capacity) {
		size_t capacity = s->capacity ? s->capacity * 2 : 1024;
		void *grown = realloc(s->items, capacity * sizeof(*s->items));

		if (!grown) {
			if (owned)
				free(data);
			fprintf(stderr, "fh-pcap: out of memory\n");
			return -ENOMEM;
		}
		s->items = grown;
		s->capacity = capacity;
	}
	item = &s->items[s->count];
	item->key = key;
	item->order = s->count;
	item->ts_us = pkt->ts_us;
	item->data = data;
	item->caplen = caplen;
	item->wire_len = wire_len;
	item->owned = owned;
	s->count++;
	return 0;
}

static int inject_item_compare(const void *a, const void *b)
{
	const struct inject_item *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int line_of(const struct net_config *net, const struct pcap_packet *pkt,
		   struct frame_info *info)
{
	if (!frame_parse(pkt->data, pkt->caplen, info))
		return LINE_OTHER;
	for (int line = LINE_A; line < LINE_COUNT; line++)
		if (info->dest_ip == net->group[line] && info->dest_port == net->dest_port[line])
			return line;
	return LINE_OTHER;
}

/*
 * The identity of a payload, for pairing A with B: MoldUDP64's (sequence, count),
 * MDP3's MsgSeqNum.
 */
static uint64_t packet_identity(const uint8_t *frame, const struct frame_info *info,
				enum fh_pcap_protocol protocol)
{
	const uint8_t *payload = frame + info->payload_off;

	if (protocol == PROTOCOL_MDP3)
		return info->payload_len < 4 ? UINT64_MAX : load_le32(payload);
	if (info->payload_len < MOLD_HEADER_LEN)
		return UINT64_MAX;
	return wire_be64(payload + 10) << 16 | wire_be16(payload + 18);
}

static int u64_compare(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Draws whether the line loses pkt. A B packet whose A copy was lost (listed in
 * a_dropped, sorted) is kept; a lost A packet is added to a_dropped.
 */
static bool inject_lost(struct inject_stats *st, struct rng *loss, const struct inject_options *opt,
			int line, const struct pcap_packet *pkt, const struct frame_info *info,
			uint64_t *a_dropped, size_t *a_dropped_count)
{
	uint64_t id;

	if (!rng_chance(loss, opt->loss[line]))
		return false;
	id = packet_identity(pkt->data, info, opt->protocol);
	if (line == LINE_B && bsearch(&id, a_dropped, *a_dropped_count,
				      sizeof(*a_dropped), u64_compare)) {
		st->protected++;
		return false;
	}
	if (line == LINE_A)
		a_dropped[(*a_dropped_count)++] = id;
	st->dropped++;
	return true;
}

/*
 * Queues the j-th of the line's n packets (at indexes), moved up to reorder_depth
 * slots later if the reorder stream says so, and a duplicate if the dup stream does.
 */
static int inject_forward(struct inject_state *s, struct inject_stats *st,
			  const struct inject_options *opt, struct inject_rngs *r,
			  const struct pcap_packet *pkt, const size_t *indexes, size_t j, size_t n)
{
	uint64_t key = (uint64_t)indexes[j] * 16;
	int err;

	if (rng_chance(&r->reorder, opt->reorder)) {
		size_t target = j + (size_t)rng_range(&r->reorder, 1, opt->reorder_depth);

		if (target >= n)
			target = n - 1;
		if (target > j) {
			key = (uint64_t)indexes[target] * 16 + 8;
			st->reordered++;
		}
	}
	err = inject_push(s, key, pkt, pkt->data, pkt->caplen, pkt->wire_len, false);
	if (err)
		return err;
	st->out++;
	if (rng_chance(&r->dup, opt->dup)) {
		err = inject_push(s, (uint64_t)indexes[j] * 16 + 1, pkt, pkt->data,
				  pkt->caplen, pkt->wire_len, false);
		if (err)
			return err;
		st->duplicated++;
		st->out++;
	}
	return 0;
}

/* Queues a corrupted copy of pkt (of the given kind) right after its slot. */
static int inject_malformed(struct inject_state *s, struct inject_stats *st, struct rng *rng,
			    const struct pcap_packet *pkt, const struct frame_info *info,
			    uint64_t index, unsigned kind, enum fh_pcap_protocol protocol)
{
	uint8_t *bad = malloc(pkt->caplen + MALFORMED_EXTRA_MAX);
	uint32_t wire_len;
	size_t len;
	int err;

	if (!bad) {
		fprintf(stderr, "fh-pcap: out of memory\n");
		return -ENOMEM;
	}
	len = malformed_build(bad, pkt->data, pkt->caplen, info, kind, rng, protocol, &wire_len);
	err = inject_push(s, index * 16 + 2, pkt, bad, (uint32_t)len, wire_len, true);
	if (err)
		return err;
	st->malformed++;
	st->out++;
	return 0;
}

/*
 * Applies the faults of one line. Packets of that line are at indexes[0..n)
 * in the capture. A B packet whose A copy was dropped (listed in a_dropped) is
 * never dropped, so one line always carries every message.
 */
static int inject_line(struct inject_state *s, const struct pcap_capture *cap,
		       const struct net_config *net, const struct inject_options *opt, int line,
		       const size_t *indexes, size_t n, uint64_t *a_dropped, size_t *a_dropped_count)
{
	struct inject_stats *st = &s->stats[line];
	struct inject_rngs r;
	unsigned kind = 0;
	int err;

	rng_seed(&r.loss, opt->seed, 0x100 + line);
	rng_seed(&r.dup, opt->seed, 0x200 + line);
	rng_seed(&r.reorder, opt->seed, 0x300 + line);
	rng_seed(&r.malformed, opt->seed, 0x400 + line);
	for (size_t j = 0; j < n; j++) {
		const struct pcap_packet *pkt = &cap->packets[indexes[j]];
		struct frame_info info;

		st->in++;
		line_of(net, pkt, &info);
		if (!inject_lost(st, &r.loss, opt, line, pkt, &info, a_dropped,
				 a_dropped_count)) {
			err = inject_forward(s, st, opt, &r, pkt, indexes, j, n);
			if (err)
				return err;
		}
		if (rng_chance(&r.malformed, opt->malformed)) {
			err = inject_malformed(s, st, &r.malformed, pkt, &info, indexes[j],
					       kind++ % MALFORMED_KINDS, opt->protocol);
			if (err)
				return err;
		}
	}
	return 0;
}

/*
 * Sorts the capture's packets into line A's and line B's (indexes, counts), and
 * queues every other packet to pass through unchanged. 0 or -ENOMEM.
 */
static int inject_lines_split(struct inject_state *s, const struct pcap_capture *cap,
			      const struct net_config *net, size_t *indexes[LINE_COUNT],
			      size_t counts[LINE_COUNT])
{
	for (size_t i = 0; i < cap->count; i++) {
		struct frame_info info;
		int line = line_of(net, &cap->packets[i], &info);
		int err;

		if (line == LINE_OTHER) {
			s->stats[LINE_OTHER].in++;
			s->stats[LINE_OTHER].out++;
			err = inject_push(s, (uint64_t)i * 16, &cap->packets[i], cap->packets[i].data,
					  cap->packets[i].caplen, cap->packets[i].wire_len, false);
			if (err)
				return err;
			continue;
		}
		indexes[line][counts[line]++] = i;
	}
	return 0;
}

/*
 * Writes the queued packets in slot order to out_path through out (left open on a
 * write error: the caller closes it). Moved and inserted packets take the clock of
 * their new slot. 0 or -errno after printing why.
 */
static int inject_write(struct inject_state *s, struct pcap_writer *out, const char *in_path,
			const char *out_path, const struct inject_options *opt)
{
	uint64_t last_ts = 0;
	int err;

	if (s->count > 0)	/* qsort's base may not be NULL, which it is with no packets */
		qsort(s->items, s->count, sizeof(*s->items), inject_item_compare);
	else
		fprintf(stderr, "fh-pcap: %s: no packets; %s will hold none\n", in_path, out_path);
	err = pcap_writer_open(out, out_path);
	for (size_t i = 0; i < s->count && !err; i++) {
		struct inject_item *item = &s->items[i];
		static uint8_t stripped[PCAP_RECORD_MAX];
		const uint8_t *data = item->data;
		uint32_t caplen = item->caplen, wire_len = item->wire_len;

		if (item->ts_us > last_ts)
			last_ts = item->ts_us;
		if (opt->vlan_strip && caplen >= ETH_HEADER_LEN + VLAN_TAG_LEN &&
		    wire_be16(data + 12) == ETH_TYPE_VLAN) {
			memcpy(stripped, data, 12);
			memcpy(stripped + 12, data + 16, caplen - 16);
			data = stripped;
			caplen -= VLAN_TAG_LEN;
			wire_len = wire_len >= VLAN_TAG_LEN ? wire_len - VLAN_TAG_LEN : 0;
		}
		err = pcap_writer_put(out, last_ts, data, caplen, wire_len);
	}
	if (!err)
		err = pcap_writer_close(out);
	return err;
}

static void inject_stats_print(const struct inject_state *s, uint64_t seed)
{
	fprintf(stderr, "fh-pcap inject: seed %" PRIu64 "\n", seed);
	for (int line = LINE_A; line <= LINE_OTHER; line++) {
		const struct inject_stats *st = &s->stats[line];

		fprintf(stderr, "  line %-5s in %" PRIu64 " out %" PRIu64 " dropped %" PRIu64
			" duplicated %" PRIu64 " reordered %" PRIu64 " malformed %" PRIu64
			" loss-protected %" PRIu64 "\n", line_names[line], st->in, st->out,
			st->dropped, st->duplicated, st->reordered, st->malformed, st->protected);
	}
}

/* Reads in_path, applies opt's faults per line, writes out_path. 0 or -errno, printed. */
static int inject_file(const char *in_path, const char *out_path, const struct net_config *net,
		       const struct inject_options *opt)
{
	struct pcap_capture cap;
	struct inject_state s;
	struct pcap_writer out = { 0 };
	size_t *indexes[LINE_COUNT] = { NULL, NULL }, counts[LINE_COUNT] = { 0, 0 };
	uint64_t *a_dropped = NULL;
	size_t a_dropped_count = 0;
	int err;

	memset(&s, 0, sizeof(s));
	err = pcap_capture_load(&cap, in_path);
	if (err)
		goto out;
	err = -ENOMEM;
	indexes[LINE_A] = malloc((cap.count + 1) * sizeof(size_t));
	indexes[LINE_B] = malloc((cap.count + 1) * sizeof(size_t));
	a_dropped = malloc((cap.count + 1) * sizeof(uint64_t));
	if (!indexes[LINE_A] || !indexes[LINE_B] || !a_dropped) {
		fprintf(stderr, "fh-pcap: out of memory\n");
		goto out;
	}
	err = inject_lines_split(&s, &cap, net, indexes, counts);
	if (err)
		goto out;
	err = inject_line(&s, &cap, net, opt, LINE_A, indexes[LINE_A], counts[LINE_A],
			  a_dropped, &a_dropped_count);
	if (err)
		goto out;
	qsort(a_dropped, a_dropped_count, sizeof(*a_dropped), u64_compare);
	err = inject_line(&s, &cap, net, opt, LINE_B, indexes[LINE_B], counts[LINE_B],
			  a_dropped, &a_dropped_count);
	if (err)
		goto out;
	err = inject_write(&s, &out, in_path, out_path, opt);
	inject_stats_print(&s, opt->seed);
out:
	pcap_writer_close(&out);
	for (size_t i = 0; i < s.count; i++)
		if (s.items[i].owned)
			free(s.items[i].data);
	free(s.items);
	free(indexes[LINE_A]);
	free(indexes[LINE_B]);
	free(a_dropped);
	pcap_capture_free(&cap);
	return err;
}

/* Checks what inject needs beyond the common options, then runs it. The exit status. */
static int inject_run(const struct fh_pcap_args *args)
{
	struct inject_options opt = args->inject;
	struct net_config net = args->net;

	if (!args->in_path || !args->have_seed)
		return cli_usage_error(args->command, "--in and --seed are required%s", "");
	opt.seed = args->seed;
	opt.protocol = args->protocol;
	if (args->protocol == PROTOCOL_MDP3 && !args->have_net)
		mdp3_net_incremental(&net);
	return inject_file(args->in_path, args->out_path, &net, &opt) ? 1 : 0;
}

const struct fh_pcap_command inject_command = { "inject", inject_options, inject_run };
