/*
 * config_probe: loads one config file with the config loader fhd uses (cfg_load_text,
 * without the file-owner checks of cfg_load_file) and prints what it read, so that
 * tests/test_config_doc.py can hold docs/config.md against the code. On a config
 * error: the error line on stdout, exit 2. Otherwise one line per key,
 * "PATH=VALUE", PATH spelt as docs/config.md spells it (ports[] and feeds[] are the
 * first entry, lines.X is line A), exit 0. A key left out of the file prints the
 * default the loader took for it; an optional key without a default prints nothing
 * after the '='.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

#define PROBE_FILE_MAX (1 << 20)

static void probe_ip(const char *path, bool present, uint32_t ip)
{
	struct in_addr addr = { .s_addr = htonl(ip) };
	char text[INET_ADDRSTRLEN] = "";

	if (present)
		inet_ntop(AF_INET, &addr, text, sizeof(text));
	printf("%s=%s\n", path, text);
}

static void probe_server(const char *path, bool present, uint32_t ip, uint16_t port)
{
	struct in_addr addr = { .s_addr = htonl(ip) };
	char text[INET_ADDRSTRLEN] = "";

	if (!present) {
		printf("%s=\n", path);
		return;
	}
	inet_ntop(AF_INET, &addr, text, sizeof(text));
	printf("%s=%s:%u\n", path, text, port);
}

static void probe_root(const struct cfg *cfg)
{
	printf("eal=[");
	for (uint16_t i = 0; i < cfg->eal_args_count; i++)
		printf("%s%s", i ? ", " : "", cfg->eal_args[i]);
	printf("]\nlcores.main=%u\nlcores.rx=[", cfg->main_lcore);
	for (uint16_t i = 0; i < cfg->rx_lcores_count; i++)
		printf("%s%u", i ? ", " : "", cfg->rx_lcores[i]);
	printf("]\nmbufs=%u\n", cfg->mbufs);
	printf("ports[].name=%s\nports[].device=%s\nports[].rx_queues=%u\nports[].rx_descriptors=%u\n"
	       "ports[].rcvbuf_bytes=%u\nports[].flow_isolate=%s\n",
	       cfg->ports[0].name, cfg->ports[0].device, cfg->ports[0].rx_queues,
	       cfg->ports[0].rx_descriptors, cfg->ports[0].rcvbuf_bytes,
	       cfg->ports[0].flow_isolate ? "true" : "false");
	printf("ports[].igmp=%s\n", cfg_igmp_mode_name(cfg->ports[0].igmp));
	probe_ip("ports[].igmp_source", true, cfg->ports[0].igmp_source_ip);
}

static void probe_feed(const struct cfg *cfg, const struct cfg_feed *f)
{
	const struct cfg_line *a = &f->lines[CFG_LINE_A];
	const struct cfg_recovery *r = &f->recovery;
	const struct cfg_snapshot *s = &f->snapshot;

	printf("feeds[].name=%s\nfeeds[].protocol=%s\nfeeds[].lcore=%u\n", f->name,
	       cfg_protocol_name(f->protocol), f->lcore);
	printf("feeds[].exchange_utc_offset_min=%d\n", f->exchange_utc_offset_min);
	printf("feeds[].reorder_window.packets=%u\nfeeds[].reorder_window.us=%u\n",
	       f->reorder_packets_max, f->reorder_window_us);
	probe_ip("feeds[].lines.X.group", a->present, a->group_ip);
	printf("feeds[].lines.X.udp_port=%u\n", a->udp_port);
	probe_ip("feeds[].lines.X.source", a->source_present, a->source_ip);
	printf("feeds[].lines.X.port=%s\nfeeds[].lines.X.queue=%u\n", cfg->ports[a->port_index].name,
	       a->queue);
	printf("feeds[].book.instruments=%u\nfeeds[].book.orders=%u\nfeeds[].book.levels=%u\n",
	       f->book.instruments_max, f->book.orders_max, f->book.levels_max);
	printf("feeds[].publish.views=[%s%s%s]\n", f->publish_views & CFG_VIEW_ORDERS ? "orders" : "",
	       f->publish_views == CFG_VIEWS_ALL ? ", " : "",
	       f->publish_views & CFG_VIEW_LEVELS ? "levels" : "");
	if (r->enabled) {
		probe_server("feeds[].recovery.server", true, r->server_ip, r->server_port);
		printf("feeds[].recovery.timeout_ms=%u\nfeeds[].recovery.retries=%u\n"
		       "feeds[].recovery.backoff=%u\nfeeds[].recovery.timeout_max_ms=%u\n"
		       "feeds[].recovery.in_flight=%u\nfeeds[].recovery.request_messages=%u\n"
		       "feeds[].recovery.hold=%u\n", r->timeout_ms, r->retries, r->backoff,
		       r->timeout_max_ms, r->in_flight, r->request_messages, r->hold);
	}
	if (s->enabled) {
		probe_server("feeds[].snapshot.server", true, s->server_ip, s->server_port);
		printf("feeds[].snapshot.username=%s\nfeeds[].snapshot.password=%s\n"
		       "feeds[].snapshot.timeout_ms=%u\nfeeds[].snapshot.retries=%u\n"
		       "feeds[].snapshot.max_ms=%u\nfeeds[].snapshot.hold=%u\n"
		       "feeds[].snapshot.confirm_ms=%u\nfeeds[].snapshot.resync_backoff_ms=%u\n"
		       "feeds[].snapshot.resyncs=%u\n", s->username, s->password, s->timeout_ms,
		       s->retries, s->max_ms, s->hold, s->confirm_ms, s->resync_backoff_ms,
		       s->resyncs_max);
	}
}

static void probe_sections(const struct cfg *cfg)
{
	const struct cfg_publish *p = &cfg->publish;
	const struct cfg_journal *j = &cfg->journal;
	const struct cfg_stats *st = &cfg->stats;

	if (p->enabled)
		printf("publish.ring=%s\npublish.capacity=%u\npublish.mode=%04o\npublish.group=%s\n"
		       "publish.depth=%u\n", p->ring, p->capacity, p->mode, p->group, p->depth);
	if (j->enabled)
		printf("journal.dir=%s\njournal.lcore=%u\njournal.cpu=%u\njournal.ring=%u\n"
		       "journal.buffer_kb=%u\njournal.buffers=%u\njournal.o_direct=%s\n"
		       "journal.fsync_mb=%u\njournal.fsync_ms=%u\njournal.rotate_mb=%u\n"
		       "journal.rotate_s=%u\n", j->dir, j->lcore, j->cpu, j->ring, j->buffer_kb,
		       j->buffers, j->o_direct ? "true" : "false", j->fsync_mb, j->fsync_ms,
		       j->rotate_mb, j->rotate_s);
	printf("stats.interval_ms=%u\nstats.log=%s\nstats.segment=%s\nstats.prometheus_file=%s\n",
	       st->interval_ms, st->log ? "true" : "false", st->segment, st->prometheus_file);
	probe_server("stats.http", st->http, st->http_ip, st->http_port);
	printf("stats.hist_out=%s\nuser=%s\ngroup=%s\n", st->hist_out, cfg->user, cfg->group);
}

int main(int argc, char **argv)
{
	static char text[PROBE_FILE_MAX];
	char err[CFG_ERROR_MAX];
	struct cfg *cfg;
	size_t len;
	FILE *f;

	if (argc != 2) {
		fprintf(stderr, "usage: config_probe CONFIG.yaml\n");
		return 2;
	}
	f = fopen(argv[1], "rb");
	if (f == NULL) {
		perror(argv[1]);
		return 1;
	}
	len = fread(text, 1, sizeof(text), f);
	fclose(f);
	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL)
		return 1;
	if (cfg_load_text(argv[1], text, len, cfg, err, sizeof(err)) != 0) {
		printf("error: %s\n", err);
		free(cfg);
		return 2;
	}
	probe_root(cfg);
	probe_feed(cfg, &cfg->feeds[0]);
	probe_sections(cfg);
	free(cfg);
	return 0;
}
