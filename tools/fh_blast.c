/*
 * fh-blast: plays a MoldUDP64 capture (fh-pcap gen's, lines A and B) onto an
 * interface at a fixed rate for as many frames as asked, looping the capture with its
 * sequence numbers moved on by the capture's span at each pass, so that a receiver's
 * own gap tracking sees one long session. tcpreplay paces by sleeping and tops out well
 * below what the bypass paths take on a veth; this sender busy-waits on CLOCK_MONOTONIC
 * and writes with sendmmsg on an AF_PACKET socket that bypasses the qdisc. It exists for
 * bench/colo.sh (the paced loss search) and says at the end whether it kept the rate,
 * so a ceiling of the sender is never read as the receiver's.
 *
 *   fh-blast --iface IF --pcap FILE --rate FRAMES_PER_S --count FRAMES [--batch N]
 *
 * The rate counts frames on the wire, both lines (a MoldUDP64 packet is two frames).
 * --rate 0 sends as fast as it can. Frame i is due at start + i / rate; each pass of
 * the loop sends the frames due by now, at most --batch (default 16) in one sendmmsg.
 * The UDP checksum of every frame is set to 0 ("none", RFC 768), as the rewritten
 * sequence numbers would otherwise break it. The end-of-session packet (message count
 * 0xFFFF) is not played: the session never ends while looping.
 * A sender that falls behind (descheduled, or too slow for the rate) catches up at full
 * speed for at most 256 frames, a burst any receiver should take; further behind, it
 * does not send the rest as one microburst nobody asked for: its schedule restarts
 * from the frame it is at, and the rate it reaches shows it. Last line on stdout: "fh-blast: sent N frames in T s: R
 * frames/s (target X), late max L us, restarts S, ENOBUFS retries E, cpu user U s sys
 * Y s". Its sys time is the kernel's work for the frames sent: on a veth that is also
 * the receiving side's softirq (the peer's receive runs in the sender's context), the
 * part of a receive path's cost that the receiving process never sees. Exit 0 if every
 * frame was sent, 1 on an error, 2 on a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#define BLAST_BATCH_MAX 64
#define BLAST_FRAME_MAX 9216	/* a jumbo frame: anything larger is not a MoldUDP64 capture's */
#define BLAST_MOLD_HEADER_LEN 20	/* session 10, sequence 8, message count 2 */
#define BLAST_CATCH_UP_MAX 256	/* frames behind: more, and the schedule restarts */

struct blast_frame {
	uint8_t *data;
	uint32_t len;
	uint32_t seq_at;	/* offset of the MoldUDP64 sequence number in data */
	uint64_t seq;		/* as captured */
};

struct blast_capture {
	struct blast_frame *frames;
	uint32_t count;
	uint64_t span;		/* sequence numbers one pass covers: the loop's step */
};

static uint64_t blast_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t blast_get32(const uint8_t *p, bool swap)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return swap ? __builtin_bswap32(v) : v;
}

static uint64_t blast_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

/*
 * Finds frame f's MoldUDP64 header (Ethernet, IPv4, UDP), zeroes its UDP checksum.
 * Returns the message count (0xFFFF: end of session), or -1 if f is not MoldUDP64.
 */
static int blast_frame_parse(struct blast_frame *f)
{
	uint32_t ip = ETH_HLEN, udp, mold;
	uint16_t ethertype;

	if (f->len < ETH_HLEN + 20)
		return -1;
	ethertype = (uint16_t)(f->data[12] << 8 | f->data[13]);
	if (ethertype != ETHERTYPE_IP || (f->data[ip] >> 4) != 4 || f->data[ip + 9] != IPPROTO_UDP)
		return -1;
	udp = ip + (uint32_t)(f->data[ip] & 0x0f) * 4;
	mold = udp + 8;
	if (mold + BLAST_MOLD_HEADER_LEN > f->len)
		return -1;
	f->data[udp + 6] = 0;
	f->data[udp + 7] = 0;
	f->seq_at = mold + 10;
	f->seq = blast_be64(f->data + f->seq_at);
	return f->data[mold + 18] << 8 | f->data[mold + 19];
}

/* Reads a classic pcap of Ethernet frames whole. Returns 0, or -1 having said why. */
static int blast_capture_load(const char *path, struct blast_capture *c)
{
	FILE *in = fopen(path, "rb");
	uint8_t header[24], record[16];
	uint64_t first = UINT64_MAX, end = 0;
	uint32_t capacity = 0, magic;
	bool swap;

	if (in == NULL || fread(header, 1, sizeof(header), in) != sizeof(header)) {
		fprintf(stderr, "fh-blast: %s: %s\n", path, in == NULL ? strerror(errno) : "shorter than a pcap header");
		goto fail;
	}
	memcpy(&magic, header, sizeof(magic));
	swap = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
	if (!swap && magic != 0xa1b2c3d4 && magic != 0xa1b23c4d) {
		fprintf(stderr, "fh-blast: %s: not a classic pcap file (pcapng is not read)\n", path);
		goto fail;
	}
	if (blast_get32(header + 20, swap) != 1) {
		fprintf(stderr, "fh-blast: %s: link type %u, not Ethernet\n", path, blast_get32(header + 20, swap));
		goto fail;
	}
	memset(c, 0, sizeof(*c));
	while (fread(record, 1, sizeof(record), in) == sizeof(record)) {
		struct blast_frame f = { .len = blast_get32(record + 8, swap) };
		int messages;

		if (f.len > BLAST_FRAME_MAX || (f.data = malloc(f.len)) == NULL ||
		    fread(f.data, 1, f.len, in) != f.len) {
			fprintf(stderr, "fh-blast: %s: record %u is damaged or too large\n", path, c->count);
			free(f.data);
			goto fail;
		}
		messages = blast_frame_parse(&f);
		if (messages < 0 || messages == 0xffff) {	/* not MoldUDP64, or the end of session */
			free(f.data);
			continue;
		}
		if (c->count == capacity) {
			capacity = capacity ? 2 * capacity : 4096;
			c->frames = realloc(c->frames, capacity * sizeof(c->frames[0]));
			if (c->frames == NULL) {
				fprintf(stderr, "fh-blast: out of memory\n");
				goto fail;
			}
		}
		c->frames[c->count++] = f;
		first = f.seq < first ? f.seq : first;
		end = f.seq + (uint64_t)messages > end ? f.seq + (uint64_t)messages : end;
	}
	fclose(in);
	if (c->count == 0) {
		fprintf(stderr, "fh-blast: %s: no MoldUDP64 frame\n", path);
		return -1;
	}
	c->span = end - first;
	return 0;
fail:
	if (in != NULL)
		fclose(in);
	return -1;
}

static int blast_socket_open(const char *iface)
{
	struct sockaddr_ll where = { .sll_family = AF_PACKET, .sll_protocol = 0 };
	int fd = socket(AF_PACKET, SOCK_RAW, 0), one = 1, sndbuf = 4 << 20;

	where.sll_ifindex = (int)if_nametoindex(iface);
	if (fd < 0 || where.sll_ifindex == 0 || bind(fd, (struct sockaddr *)&where, sizeof(where)) != 0) {
		fprintf(stderr, "fh-blast: AF_PACKET socket on %s: %s\n", iface, strerror(errno));
		return -1;
	}
	/* Straight to the driver: the qdisc would only add a lock and a queue per frame. */
	if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) != 0)
		fprintf(stderr, "fh-blast: PACKET_QDISC_BYPASS refused (%s): through the qdisc\n", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	return fd;
}

static void blast_usage(void)
{
	fprintf(stderr, "usage: fh-blast --iface IF --pcap FILE --rate FRAMES_PER_S --count FRAMES [--batch N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "iface", required_argument, NULL, 'i' }, { "pcap", required_argument, NULL, 'p' },
		{ "rate", required_argument, NULL, 'r' }, { "count", required_argument, NULL, 'n' },
		{ "batch", required_argument, NULL, 'b' }, { NULL, 0, NULL, 0 },
	};
	const char *iface = NULL, *pcap = NULL;
	double rate = -1;
	uint64_t count = 0, sent = 0, retries = 0, late_max_ns = 0, restarts = 0, begin_ns, start_ns, end_ns;
	unsigned batch = 16;
	struct blast_capture c;
	struct rusage usage;
	struct mmsghdr msgs[BLAST_BATCH_MAX];
	struct iovec iov[BLAST_BATCH_MAX];
	int opt, fd;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'i': iface = optarg; break;
		case 'p': pcap = optarg; break;
		case 'r': rate = strtod(optarg, NULL); break;
		case 'n': count = strtoull(optarg, NULL, 10); break;
		case 'b': batch = (unsigned)strtoul(optarg, NULL, 10); break;
		default: blast_usage();
		}
	}
	if (iface == NULL || pcap == NULL || rate < 0 || count == 0 || batch == 0 || batch > BLAST_BATCH_MAX)
		blast_usage();
	if (blast_capture_load(pcap, &c) != 0 || (fd = blast_socket_open(iface)) < 0)
		return 1;
	memset(msgs, 0, sizeof(msgs));
	begin_ns = start_ns = blast_now_ns();	/* start_ns: the schedule's origin, moved by restarts */
	while (sent < count) {
		uint64_t now = blast_now_ns(), due = count, n;
		int done;

		if (rate > 0) {
			due = (uint64_t)((double)(now - start_ns) * rate / 1e9) + 1;
			due = due < count ? due : count;
			if (due <= sent)
				continue;	/* the busy wait: nothing due yet */
			/* How late the next frame is (the float rounding may put it a hair early). */
			int64_t late = (int64_t)(now - start_ns) - (int64_t)((double)sent * 1e9 / rate);

			late_max_ns = late > (int64_t)late_max_ns ? (uint64_t)late : late_max_ns;
			if (due - sent > BLAST_CATCH_UP_MAX) {	/* see the head of the file */
				restarts++;
				start_ns = now - (uint64_t)((double)sent * 1e9 / rate);
				due = sent + 1;
			}
		}
		n = due - sent < batch ? due - sent : batch;
		for (uint64_t i = 0; i < n; i++) {
			uint64_t at = sent + i, pass = at / c.count;
			struct blast_frame *f = &c.frames[at % c.count];
			uint64_t seq = htobe64(f->seq + pass * c.span);

			memcpy(f->data + f->seq_at, &seq, sizeof(seq));	/* the kernel copies it at send */
			iov[i].iov_base = f->data;
			iov[i].iov_len = f->len;
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		done = sendmmsg(fd, msgs, (unsigned)n, 0);
		if (done < 0) {
			if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) {
				retries++;
				continue;
			}
			fprintf(stderr, "fh-blast: sendmmsg on %s: %s\n", iface, strerror(errno));
			return 1;
		}
		sent += (uint64_t)done;
	}
	end_ns = blast_now_ns();
	getrusage(RUSAGE_SELF, &usage);
	printf("fh-blast: sent %llu frames in %.3f s: %.0f frames/s (target %.0f), late max %.0f us, restarts %llu, ENOBUFS retries %llu, cpu user %.3f s sys %.3f s\n",
	       (unsigned long long)sent, (double)(end_ns - begin_ns) / 1e9,
	       (double)sent * 1e9 / (double)(end_ns - begin_ns), rate, (double)late_max_ns / 1e3,
	       (unsigned long long)restarts, (unsigned long long)retries,
	       (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6,
	       (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6);
	return 0;
}
