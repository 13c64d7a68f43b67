/*
 * bench-kernel-rx: the kernel port's receive, alone, two ways on the same sockets, so
 * that io_uring's multishot receive is measured against the recvmmsg loop fhd runs
 * (feed/dpdk/rx.c) with the same paced input (tools/fh_blast.c, bench/colo.sh).
 *
 *   bench-kernel-rx --iface IF --mode recvmmsg|uring|uring-wait [--seconds S]
 *                   [--groups A,B] [--udp-port P] [--rcvbuf BYTES] [--delay-ms D]
 *
 * Each line is one UDP socket bound to its group and port and joined on IF, with
 * SO_RCVBUF(FORCE) (default 32 MiB, as fhd's rcvbuf_bytes), SO_RXQ_OVFL and software
 * RX stamps (SO_TIMESTAMPING): fhd's socket.
 *  - recvmmsg: both sockets polled in turn with recvmmsg(MSG_DONTWAIT), 32 datagrams
 *    at most (fhd's RX_BURST), one syscall a poll whether anything came or not.
 *  - uring: one io_uring (SINGLE_ISSUER, DEFER_TASKRUN) with a multishot recvmsg armed
 *    on each socket, buffers from a provided buffer ring; the loop runs the deferred
 *    receives (io_uring_get_events, one syscall a poll) and reaps the CQ.
 *  - uring-wait: the same ring, but the loop blocks in io_uring_wait_cqe when the CQ is
 *    empty: no busy poll, a wakeup instead.
 * For every datagram the MoldUDP64 sequence number is checked against the line's next
 * one (a jump is a gap: its messages are lost; one below it, "behind", a repeat, which
 * a veth does not make: the sender's looping went wrong) and the RX stamp is subtracted from the
 * time it reached this program (CLOCK_REALTIME): the kernel's queueing and the
 * receive's own cost. It stops after --seconds (default 10), or once a pass over the
 * sockets found nothing 1 s after the last datagram (a pass, so that a receiver the
 * scheduler held off for a second does not take its own absence for the end). --delay-ms D: the sockets are set up, then nothing is read
 * for D ms: what was sent meanwhile waits in the buffers and is then drained as fast
 * as the receive goes, whatever the sender's speed (busy_ns_per_packet: its cost). One line on stdout:
 *   kernel-rx MODE: received N (A B) kernel_dropped D gaps G lost_messages L behind R
 *     busy_ns_per_packet X cpu_ns_per_packet Y stamp_to_user_us p50 P p99 Q p99.9 R
 * busy_ns_per_packet: wall time in the polls that returned datagrams, per datagram (a
 * busy poll's empty polls left out; a blocking wait's own receive work is inside its
 * wait, so not counted); cpu_ns_per_packet: the receiving thread's CPU time from the
 * start to the last datagram, per datagram: for a busy poll, its wall time; for a
 * blocking wait, its work; after --delay-ms, for every mode, the cost of draining.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/net_tstamp.h>
#include <liburing.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define KRX_LINES 2
#define KRX_BURST 32			/* fhd's RX_BURST */
#define KRX_BUF_LEN 2048		/* a datagram with the recvmsg_out header and control */
#define KRX_BUFS 4096			/* the provided buffer ring: a power of two */
#define KRX_SAMPLES_MAX (1u << 24)	/* latency samples kept; later ones are not recorded */
#define KRX_IDLE_END_NS (1000ull * 1000 * 1000)
#define KRX_CONTROL_LEN (CMSG_SPACE(3 * sizeof(struct timespec)) + CMSG_SPACE(sizeof(uint32_t)) + 64)

struct krx_line {
	int fd;
	uint64_t next_seq;	/* 0: none seen yet */
	uint64_t received, gaps, lost_messages;
	uint64_t behind;	/* datagrams whose sequence number was below the line's next: repeats */
	uint32_t ovfl_total;	/* SO_RXQ_OVFL: the socket's drops so far */
};

struct krx {
	struct krx_line lines[KRX_LINES];
	uint32_t *samples_ns;
	uint64_t samples;
	uint64_t busy_ns, last_rx_ns;
	uint64_t cpu_start_ns, cpu_last_ns;	/* this thread's CPU time: receiving starts, last datagram */
};

static uint64_t krx_clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int krx_socket_open(const char *iface, const char *group, uint16_t port, int rcvbuf)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0), one = 1;
	int stamping = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;
	struct sockaddr_in at = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct ip_mreqn join = { .imr_ifindex = (int)if_nametoindex(iface) };

	if (fd < 0 || inet_pton(AF_INET, group, &at.sin_addr) != 1)
		return -1;
	join.imr_multiaddr = at.sin_addr;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &stamping, sizeof(stamping)) != 0 ||
	    bind(fd, (struct sockaddr *)&at, sizeof(at)) != 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &join, sizeof(join)) != 0) {
		fprintf(stderr, "bench-kernel-rx: socket for %s:%u on %s: %s\n", group, port, iface, strerror(errno));
		return -1;
	}
	return fd;
}

/* One control message of line l's datagram: its RX stamp into *stamp, its drop count. */
static void krx_control(struct krx_line *l, const struct cmsghdr *c, uint64_t *stamp)
{
	if (c->cmsg_level != SOL_SOCKET)
		return;
	if (c->cmsg_type == SO_TIMESTAMPING) {
		struct timespec ts;

		memcpy(&ts, CMSG_DATA(c), sizeof(ts));
		*stamp = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	} else if (c->cmsg_type == SO_RXQ_OVFL) {
		memcpy(&l->ovfl_total, CMSG_DATA(c), sizeof(l->ovfl_total));
	}
}

/* One datagram of line l: its sequence number against the line's, its latency. */
static void krx_datagram(struct krx *k, struct krx_line *l, const uint8_t *data, uint32_t len,
			 uint64_t stamp, uint64_t now_ns)
{
	uint64_t seq;
	uint16_t count;

	l->received++;
	if (stamp != 0 && now_ns >= stamp && k->samples < KRX_SAMPLES_MAX)
		k->samples_ns[k->samples++] = now_ns - stamp > UINT32_MAX ? UINT32_MAX : (uint32_t)(now_ns - stamp);
	if (len < 20)
		return;
	memcpy(&seq, data + 10, sizeof(seq));
	seq = be64toh(seq);
	count = (uint16_t)(data[18] << 8 | data[19]);
	if (l->next_seq != 0 && seq > l->next_seq) {
		l->gaps++;
		l->lost_messages += seq - l->next_seq;
	}
	l->behind += seq < l->next_seq;
	if (count != 0xffff && seq + count > l->next_seq)
		l->next_seq = seq + count;
}

static void krx_run_recvmmsg(struct krx *k, uint64_t end_ns)
{
	static uint8_t data[KRX_BURST][KRX_BUF_LEN], control[KRX_BURST][KRX_CONTROL_LEN];
	struct mmsghdr msgs[KRX_BURST];
	struct iovec iov[KRX_BURST];

	for (;;) {
		bool got = false;

		for (int li = 0; li < KRX_LINES; li++) {
			struct krx_line *l = &k->lines[li];
			uint64_t t0 = krx_clock_ns(CLOCK_MONOTONIC), now;
			int n;

			for (int i = 0; i < KRX_BURST; i++) {
				iov[i] = (struct iovec){ .iov_base = data[i], .iov_len = KRX_BUF_LEN };
				msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1,
								   .msg_control = control[i],
								   .msg_controllen = KRX_CONTROL_LEN };
			}
			n = recvmmsg(l->fd, msgs, KRX_BURST, MSG_DONTWAIT, NULL);
			if (n <= 0)
				continue;
			got = true;
			now = krx_clock_ns(CLOCK_REALTIME);
			for (int i = 0; i < n; i++) {
				struct msghdr *h = &msgs[i].msg_hdr;
				uint64_t stamp = 0;

				for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c))
					krx_control(l, c, &stamp);
				krx_datagram(k, l, data[i], msgs[i].msg_len, stamp, now);
			}
			k->last_rx_ns = krx_clock_ns(CLOCK_MONOTONIC);
			k->busy_ns += k->last_rx_ns - t0;
			k->cpu_last_ns = krx_clock_ns(CLOCK_THREAD_CPUTIME_ID);
		}
		uint64_t now = krx_clock_ns(CLOCK_MONOTONIC);

		if (now > end_ns || (!got && k->last_rx_ns != 0 && now - k->last_rx_ns > KRX_IDLE_END_NS))
			return;
	}
}

static void krx_uring_arm(struct io_uring *ring, struct msghdr *shape, int fd, int li)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	io_uring_prep_recvmsg_multishot(sqe, fd, shape, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = 0;
	io_uring_sqe_set_data64(sqe, (uint64_t)li);
	io_uring_submit(ring);
}

static int krx_run_uring(struct krx *k, uint64_t end_ns, bool wait)
{
	struct io_uring_params params = { .flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
						    IORING_SETUP_CQSIZE, .cq_entries = 2 * KRX_BUFS };
	/* What each multishot completion's buffer holds before the payload: name and control. */
	struct msghdr shape = { .msg_namelen = sizeof(struct sockaddr_in), .msg_controllen = KRX_CONTROL_LEN };
	struct io_uring ring;
	struct io_uring_buf_ring *buffers;
	uint8_t *memory = aligned_alloc(4096, (size_t)KRX_BUFS * KRX_BUF_LEN);
	int rc = io_uring_queue_init_params(64, &ring, &params);

	if (rc != 0 || memory == NULL) {
		fprintf(stderr, "bench-kernel-rx: io_uring_queue_init: %s\n", strerror(-rc));
		return -1;
	}
	/* liburing 2.3 has no io_uring_setup_buf_ring: the ring's memory, then its registration. */
	buffers = aligned_alloc(4096, KRX_BUFS * sizeof(struct io_uring_buf));
	struct io_uring_buf_reg reg = { .ring_addr = (uint64_t)(uintptr_t)buffers, .ring_entries = KRX_BUFS, .bgid = 0 };

	if (buffers == NULL)
		return -1;
	io_uring_buf_ring_init(buffers);
	rc = io_uring_register_buf_ring(&ring, &reg, 0);
	if (rc != 0) {
		fprintf(stderr, "bench-kernel-rx: io_uring_register_buf_ring: %s\n", strerror(-rc));
		return -1;
	}
	for (int i = 0; i < KRX_BUFS; i++)
		io_uring_buf_ring_add(buffers, memory + (size_t)i * KRX_BUF_LEN, KRX_BUF_LEN, (unsigned short)i,
				      io_uring_buf_ring_mask(KRX_BUFS), i);
	io_uring_buf_ring_advance(buffers, KRX_BUFS);
	for (int li = 0; li < KRX_LINES; li++)
		krx_uring_arm(&ring, &shape, k->lines[li].fd, li);
	for (;;) {
		struct io_uring_cqe *cqes[KRX_BURST];
		uint64_t t0 = krx_clock_ns(CLOCK_MONOTONIC), now;
		unsigned n, returned = 0;

		if (wait) {
			struct io_uring_cqe *cqe;
			struct __kernel_timespec timeout = { .tv_nsec = 100 * 1000 * 1000 };

			if (io_uring_wait_cqe_timeout(&ring, &cqe, &timeout) == 0)
				t0 = krx_clock_ns(CLOCK_MONOTONIC);	/* the sleep is not work */
		} else {
			io_uring_get_events(&ring);	/* runs the deferred receives */
		}
		n = io_uring_peek_batch_cqe(&ring, cqes, KRX_BURST);
		now = krx_clock_ns(CLOCK_REALTIME);
		for (unsigned i = 0; i < n; i++) {
			struct io_uring_cqe *cqe = cqes[i];
			int li = (int)io_uring_cqe_get_data64(cqe);

			if (cqe->res >= 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
				unsigned short bid = (unsigned short)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
				uint8_t *buf = memory + (size_t)bid * KRX_BUF_LEN;
				struct io_uring_recvmsg_out *out = io_uring_recvmsg_validate(buf, cqe->res, &shape);

				uint64_t stamp = 0;

				if (out != NULL && !(out->flags & MSG_TRUNC)) {
					for (struct cmsghdr *c = io_uring_recvmsg_cmsg_firsthdr(out, &shape); c != NULL;
					     c = io_uring_recvmsg_cmsg_nexthdr(out, &shape, c))
						krx_control(&k->lines[li], c, &stamp);
					krx_datagram(k, &k->lines[li], io_uring_recvmsg_payload(out, &shape),
						     io_uring_recvmsg_payload_length(out, cqe->res, &shape), stamp, now);
				}
				io_uring_buf_ring_add(buffers, buf, KRX_BUF_LEN, bid, io_uring_buf_ring_mask(KRX_BUFS),
						      (int)returned++);
			}
			/* Out of buffers (-ENOBUFS) or ended: armed again after the CQ is advanced. */
			if (!(cqe->flags & IORING_CQE_F_MORE))
				krx_uring_arm(&ring, &shape, k->lines[li].fd, li);
		}
		io_uring_buf_ring_cq_advance(&ring, buffers, (int)returned);
		if (n > returned)
			io_uring_cq_advance(&ring, n - returned);
		if (n > 0) {
			k->last_rx_ns = krx_clock_ns(CLOCK_MONOTONIC);
			k->busy_ns += k->last_rx_ns - t0;
			k->cpu_last_ns = krx_clock_ns(CLOCK_THREAD_CPUTIME_ID);
		}
		now = krx_clock_ns(CLOCK_MONOTONIC);
		if (now > end_ns || (n == 0 && k->last_rx_ns != 0 && now - k->last_rx_ns > KRX_IDLE_END_NS))
			return 0;
	}
}

static int krx_compare(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double krx_percentile_us(const struct krx *k, double p)
{
	if (k->samples == 0)
		return 0;
	return k->samples_ns[(uint64_t)(p * (double)(k->samples - 1))] / 1e3;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "iface", required_argument, NULL, 'i' }, { "mode", required_argument, NULL, 'm' },
		{ "seconds", required_argument, NULL, 's' }, { "groups", required_argument, NULL, 'g' },
		{ "udp-port", required_argument, NULL, 'p' }, { "rcvbuf", required_argument, NULL, 'r' },
		{ "delay-ms", required_argument, NULL, 'd' }, { NULL, 0, NULL, 0 },
	};
	const char *iface = NULL, *mode = NULL;
	char groups[64] = "233.54.12.111,233.49.196.111", *second;
	double seconds = 10;
	int port = 26477, rcvbuf = 32 << 20, delay_ms = 0, opt, rc = 0;
	static struct krx k;
	uint64_t received = 0, dropped = 0, gaps = 0, lost = 0, behind = 0;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'i': iface = optarg; break;
		case 'm': mode = optarg; break;
		case 's': seconds = strtod(optarg, NULL); break;
		case 'g': snprintf(groups, sizeof(groups), "%s", optarg); break;
		case 'p': port = atoi(optarg); break;
		case 'r': rcvbuf = atoi(optarg); break;
		case 'd': delay_ms = atoi(optarg); break;
		default: goto usage;
		}
	}
	second = strchr(groups, ',');
	if (iface == NULL || mode == NULL || second == NULL || seconds <= 0)
		goto usage;
	*second++ = '\0';
	k.samples_ns = malloc(KRX_SAMPLES_MAX * sizeof(k.samples_ns[0]));
	k.lines[0].fd = krx_socket_open(iface, groups, (uint16_t)port, rcvbuf);
	k.lines[1].fd = krx_socket_open(iface, second, (uint16_t)port, rcvbuf);
	if (k.samples_ns == NULL || k.lines[0].fd < 0 || k.lines[1].fd < 0)
		return 1;
	printf("bench-kernel-rx: ready\n");
	fflush(stdout);
	if (delay_ms > 0) {	/* the buffers fill meanwhile: then the receive is drained at its own pace */
		struct timespec delay = { .tv_sec = delay_ms / 1000, .tv_nsec = (long)(delay_ms % 1000) * 1000000 };

		nanosleep(&delay, NULL);
	}
	uint64_t end_ns = krx_clock_ns(CLOCK_MONOTONIC) + (uint64_t)(seconds * 1e9);

	k.cpu_start_ns = k.cpu_last_ns = krx_clock_ns(CLOCK_THREAD_CPUTIME_ID);

	if (strcmp(mode, "recvmmsg") == 0)
		krx_run_recvmmsg(&k, end_ns);
	else if (strcmp(mode, "uring") == 0 || strcmp(mode, "uring-wait") == 0)
		rc = krx_run_uring(&k, end_ns, strcmp(mode, "uring-wait") == 0);
	else
		goto usage;
	if (rc != 0)
		return 1;
	for (int li = 0; li < KRX_LINES; li++) {
		received += k.lines[li].received;
		dropped += k.lines[li].ovfl_total;
		gaps += k.lines[li].gaps;
		lost += k.lines[li].lost_messages;
		behind += k.lines[li].behind;
	}
	qsort(k.samples_ns, k.samples, sizeof(k.samples_ns[0]), krx_compare);
	printf("kernel-rx %s: received %llu (%llu %llu) kernel_dropped %llu gaps %llu lost_messages %llu behind %llu "
	       "busy_ns_per_packet %.0f cpu_ns_per_packet %.0f stamp_to_user_us p50 %.2f p99 %.2f p99.9 %.2f\n",
	       mode, (unsigned long long)received, (unsigned long long)k.lines[0].received,
	       (unsigned long long)k.lines[1].received, (unsigned long long)dropped, (unsigned long long)gaps,
	       (unsigned long long)lost, (unsigned long long)behind, received ? (double)k.busy_ns / (double)received : 0,
	       received ? (double)(k.cpu_last_ns - k.cpu_start_ns) / (double)received : 0, krx_percentile_us(&k, 0.5),
	       krx_percentile_us(&k, 0.99), krx_percentile_us(&k, 0.999));
	return 0;
usage:
	fprintf(stderr, "usage: bench-kernel-rx --iface IF --mode recvmmsg|uring|uring-wait [--seconds S] "
			"[--groups A,B] [--udp-port P] [--rcvbuf BYTES] [--delay-ms D]\n");
	return 2;
}
