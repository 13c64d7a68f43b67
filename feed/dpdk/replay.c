/*
 * replay: the captures behind `fhd --replay` (see replay.h). The count must be what
 * net_pcap (DPDK 22.11) delivers: its RX burst calls pcap_next_ex() and ends the
 * burst on anything but a packet, counting an error in `ierrors`; fhd stops polling
 * a port once it has the counted packets, so the PMD never reads past the first
 * damaged record (after which libpcap would read packet bytes as record headers).
 */
#include "feed/dpdk/replay.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pcap/pcap.h>
#include <rte_mbuf.h>

#include "feed/dpdk/rx.h"

/* The link types fhd decodes, and how; every other is refused by name. */
static int replay_link_of(int dlt, enum packet_link *link)
{
	switch (dlt) {
	case DLT_EN10MB:
		*link = PACKET_LINK_ETHERNET;
		return 0;
	case DLT_RAW:
	case DLT_IPV4:
		*link = PACKET_LINK_RAW;
		return 0;
	case DLT_LINUX_SLL:
		*link = PACKET_LINK_LINUX_SLL;
		return 0;
	case DLT_LINUX_SLL2:
		*link = PACKET_LINK_LINUX_SLL2;
		return 0;
	default:
		return -ENOTSUP;
	}
}

static const char *replay_dlt_name(int dlt)
{
	const char *name = pcap_datalink_val_to_name(dlt);

	return name != NULL ? name : "unknown";
}

/*
 * Counts a frame in source_frames if it is a whole UDP datagram from one of the
 * sources, read as the RX lcore will (turned into Ethernet, then parsed). Longer
 * frames than REPLAY_SOURCE_FRAME_MAX are no recovery reply: not looked at.
 */
static void replay_source_count(struct replay_capture *c, const struct replay_source *sources, uint32_t count,
				const u_char *data, uint32_t caplen)
{
	uint8_t buf[PACKET_LINK_HEADROOM + REPLAY_SOURCE_FRAME_MAX];
	uint8_t *frame = buf + PACKET_LINK_HEADROOM;
	struct packet_udp udp;
	int32_t shift;

	if (count == 0 || caplen > REPLAY_SOURCE_FRAME_MAX)
		return;
	memcpy(frame, data, caplen);
	if (packet_link_to_ethernet(c->link, frame, caplen, &shift) != 0 ||
	    packet_udp_parse(frame + shift, (uint32_t)((int32_t)caplen - shift), &udp) != PACKET_UDP)
		return;
	for (uint32_t i = 0; i < count; i++)
		if (sources[i].present && udp.src_ip == sources[i].ip && udp.src_port == sources[i].port)
			c->source_frames[i]++;
}

/*
 * Reads the capture through as the PMD will: packets until the end or an error, and
 * those from each source.
 */
static int replay_capture_count(struct replay_capture *c, const struct replay_source *sources, uint32_t count,
				char *err, size_t err_size)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct pcap_pkthdr *header;
	const u_char *data;
	pcap_t *pcap = pcap_open_offline(c->pmd_path, errbuf);
	int rc;

	if (pcap == NULL) {
		snprintf(err, err_size, "capture %s: libpcap cannot read it: %s", c->path, errbuf);
		return -EINVAL;
	}
	c->dlt = pcap_datalink(pcap);
	if (replay_link_of(c->dlt, &c->link) != 0) {
		snprintf(err, err_size, "capture %s: link type %s (%d) is not supported; fhd replays "
			 "EN10MB (Ethernet), RAW and IPV4 (raw IPv4), LINUX_SLL and LINUX_SLL2 (tcpdump -i any)",
			 c->path, replay_dlt_name(c->dlt), c->dlt);
		pcap_close(pcap);
		return -ENOTSUP;
	}
	while ((rc = pcap_next_ex(pcap, &header, &data)) == 1) {
		c->packets++;
		if (header->caplen > c->caplen_max)
			c->caplen_max = header->caplen;
		replay_source_count(c, sources, count, data, header->caplen);
	}
	if (rc == PCAP_ERROR) {
		c->damaged = true;
		snprintf(c->reason, sizeof(c->reason), "%s", pcap_geterr(pcap));
	}
	pcap_close(pcap);
	return 0;
}

int replay_capture_open(struct replay_capture *c, const char *path, const struct replay_source *sources,
			uint32_t count, char *err, size_t err_size)
{
	struct stat st;
	int rc;

	assert(count <= REPLAY_SOURCES_MAX && (sources != NULL || count == 0));
	memset(c, 0, sizeof(*c));
	c->path = path;
	/* O_NONBLOCK: a FIFO must not hang the start; it is refused below anyway. */
	c->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (c->fd < 0) {
		rc = -errno;
		snprintf(err, err_size, "capture %s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(c->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, err_size, "capture %s: not a regular file", path);
		replay_capture_close(c);
		return -EINVAL;
	}
	snprintf(c->pmd_path, sizeof(c->pmd_path), "/proc/self/fd/%d", c->fd);
	if (access(c->pmd_path, R_OK) != 0) {
		rc = -errno;
		snprintf(err, err_size, "capture %s: %s: %s (fhd hands captures to net_pcap through "
			 "/proc; is it mounted?)", path, c->pmd_path, strerror(errno));
		replay_capture_close(c);
		return rc;
	}
	rc = replay_capture_count(c, sources, count, err, err_size);
	if (rc != 0) {
		replay_capture_close(c);
		return rc;
	}
	return 0;
}

void replay_capture_close(struct replay_capture *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

uint16_t replay_data_room(const struct replay_capture *captures, uint32_t count)
{
	uint32_t largest = 0, room;

	for (uint32_t i = 0; i < count; i++)
		if (captures[i].caplen_max > largest)
			largest = captures[i].caplen_max;
	if (largest > REPLAY_FRAME_MAX)
		largest = REPLAY_FRAME_MAX;
	room = (RTE_PKTMBUF_HEADROOM + largest + 63) & ~63u;
	return room < RTE_MBUF_DEFAULT_BUF_SIZE ? RTE_MBUF_DEFAULT_BUF_SIZE : (uint16_t)room;
}

int replay_capture_vdev(const struct replay_capture *c, uint32_t index, bool loop, char *out,
			size_t size)
{
	int n;

	/* Nothing of the user's file name goes in: only fhd's own descriptor number. */
	n = snprintf(out, size, "--vdev=net_pcap%u,rx_pcap=%s%s", index, c->pmd_path,
		     loop ? ",infinite_rx=1" : "");
	return n > 0 && (size_t)n < size ? 0 : -E2BIG;
}

void replay_capture_report(FILE *out, const struct replay_capture *c, const struct rx_queue *q,
			   bool stalled, bool looped)
{
	fprintf(out, "replay %s: link %s  packets %" PRIu64 "  received %" PRIu64 "  lost %" PRIu64
		"  stopped: ", c->path, replay_dlt_name(c->dlt), c->packets, q->packets,
		q->done && q->packets < c->packets ? c->packets - q->packets : 0);
	if (looped)
		fprintf(out, "looping (until --duration or a signal)");
	else if (q->done && c->damaged)
		fprintf(out, "unreadable after packet %" PRIu64 " (libpcap: %s); the rest of the file "
			"is not replayed", c->packets, c->reason);
	else if (q->done)
		fprintf(out, "end of file");
	else if (stalled)
		fprintf(out, "the PMD delivered nothing more (%" PRIu64 " packets never came)",
			c->packets - q->packets);
	else
		fprintf(out, "interrupted (signal or --duration)");
	if (q->done && q->packets < c->packets)
		fprintf(out, " (the PMD dropped %" PRIu64 ": see no_mbuf and errors)", c->packets - q->packets);
	fputc('\n', out);
}
