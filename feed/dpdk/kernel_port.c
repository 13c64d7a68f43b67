/*
 * kernel_port: joins, leaves and the line sockets of kernel ports (see kernel_port.h).
 */
#include "feed/dpdk/kernel_port.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "feed/dpdk/fhd_log.h"

const char *kernel_device_iface(const char *device)
{
	size_t n = strlen(KERNEL_DEVICE_PREFIX);

	return strncmp(device, KERNEL_DEVICE_PREFIX, n) == 0 ? device + n : NULL;
}

bool kernel_owned_iface(const char *device, char *iface, size_t size)
{
	const char *at = strstr(device, ",iface=");
	size_t len;

	if ((strncmp(device, "net_af_packet", 13) != 0 && strncmp(device, "net_af_xdp", 10) != 0) ||
	    at == NULL)
		return false;
	at += strlen(",iface=");
	len = strcspn(at, ",");
	snprintf(iface, size, "%.*s", (int)len, at);
	return len > 0 && len < size;
}

/*
 * The membership: MCAST_JOIN_SOURCE_GROUP names the interface by index, as ip_mreqn
 * does for IP_ADD_MEMBERSHIP; IP_ADD_SOURCE_MEMBERSHIP would want an address on it.
 * Both end in the same IGMPv3 source filter.
 */
static int kernel_membership(const struct kernel_join *j, bool join)
{
	if (j->ssm) {
		struct group_source_req req;
		struct sockaddr_in *g = (struct sockaddr_in *)&req.gsr_group;
		struct sockaddr_in *s = (struct sockaddr_in *)&req.gsr_source;

		memset(&req, 0, sizeof(req));
		req.gsr_interface = j->ifindex;
		g->sin_family = AF_INET;
		g->sin_addr.s_addr = htonl(j->group_ip);
		s->sin_family = AF_INET;
		s->sin_addr.s_addr = htonl(j->source_ip);
		return setsockopt(j->fd, IPPROTO_IP, join ? MCAST_JOIN_SOURCE_GROUP : MCAST_LEAVE_SOURCE_GROUP,
				  &req, sizeof(req));
	}
	struct ip_mreqn mreq;

	memset(&mreq, 0, sizeof(mreq));
	mreq.imr_multiaddr.s_addr = htonl(j->group_ip);
	mreq.imr_ifindex = (int)j->ifindex;
	return setsockopt(j->fd, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &mreq,
			  sizeof(mreq));
}

static void kernel_join_describe(const struct kernel_join *j, char *text, size_t size)
{
	struct in_addr g = { .s_addr = htonl(j->group_ip) }, s = { .s_addr = htonl(j->source_ip) };
	char group[INET_ADDRSTRLEN], source[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &g, group, sizeof(group));
	inet_ntop(AF_INET, &s, source, sizeof(source));
	if (j->ssm)
		snprintf(text, size, "group %s source %s on %s", group, source, j->iface);
	else
		snprintf(text, size, "group %s on %s", group, j->iface);
}

/* The receiving socket's options: buffer, drop counter, timestamps, bind. 0 or -errno. */
static int kernel_receiver_setup(struct kernel_join *j, const char *label, uint32_t rcvbuf_bytes,
				 char *err, size_t err_size)
{
	int one = 1, zero = 0, size = (int)rcvbuf_bytes, got = 0;
	int stamping = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;
	socklen_t len = sizeof(got);
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(j->udp_port),
				    .sin_addr.s_addr = htonl(j->group_ip) };

	/*
	 * IP_MULTICAST_ALL off: the socket takes its group only where it joined it (IFACE).
	 * On (Linux's default), a socket bound to a group takes that group's datagrams from
	 * every interface on which any socket of the host joined it: a local user joining
	 * the group on another interface, or the other line of the feed on its own port,
	 * would feed this line.
	 */
	if (setsockopt(j->fd, IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof(zero)) != 0 ||
	    setsockopt(j->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    setsockopt(j->fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) != 0 ||
	    setsockopt(j->fd, SOL_SOCKET, SO_TIMESTAMPING, &stamping, sizeof(stamping)) != 0) {
		snprintf(err, err_size, "%s: socket options: %s", label, strerror(errno));
		return -errno;
	}
	/* FORCE passes net.core.rmem_max, with CAP_NET_ADMIN; without it the plain option. */
	if (setsockopt(j->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0)
		(void)setsockopt(j->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	/* The kernel reports twice what it counts against the buffer (its bookkeeping share). */
	if (getsockopt(j->fd, SOL_SOCKET, SO_RCVBUF, &got, &len) == 0 && (uint32_t)got / 2 < rcvbuf_bytes)
		fhd_log(LOG_WARNING, "fhd: warning: %s: receive buffer %d bytes, %u asked (raise "
			"net.core.rmem_max, or run with CAP_NET_ADMIN)\n", label, got / 2, rcvbuf_bytes);
	/* Bound to the group: this socket takes this group's datagrams only. */
	if (bind(j->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		snprintf(err, err_size, "%s: bind to the group, port %u: %s", label, j->udp_port,
			 strerror(errno));
		return -errno;
	}
	return 0;
}

int kernel_join(struct kernel_join *j, const char *label, const char *iface, uint32_t group_ip,
		uint16_t udp_port, bool ssm, uint32_t source_ip, bool receives, uint32_t rcvbuf_bytes,
		char *err, size_t err_size)
{
	char text[96];
	int rc;

	memset(j, 0, sizeof(*j));
	j->fd = -1;
	j->receives = receives;
	j->ssm = ssm;
	j->group_ip = group_ip;
	j->source_ip = source_ip;
	j->udp_port = udp_port;
	snprintf(j->iface, sizeof(j->iface), "%s", iface);
	j->ifindex = if_nametoindex(iface);
	if (j->ifindex == 0 || strlen(iface) >= sizeof(j->iface)) {
		snprintf(err, err_size, "%s: no network interface %s on this host (ip link lists them)",
			 label, iface);
		return -ENODEV;
	}
	j->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (j->fd < 0) {
		snprintf(err, err_size, "%s: socket: %s", label, strerror(errno));
		return -errno;
	}
	if (receives && (rc = kernel_receiver_setup(j, label, rcvbuf_bytes, err, err_size)) != 0)
		goto fail;
	kernel_join_describe(j, text, sizeof(text));
	if (kernel_membership(j, true) != 0) {
		rc = -errno;
		snprintf(err, err_size, "%s: join %s: %s", label, text, strerror(errno));
		goto fail;
	}
	fhd_log(LOG_INFO, "fhd: %s: joined %s%s\n", label, text, receives ? "" : " (membership only)");
	return 0;
fail:
	close(j->fd);
	j->fd = -1;
	return rc;
}

void kernel_leave(struct kernel_join *j, const char *label)
{
	char text[96];

	if (j->fd < 0)
		return;
	kernel_join_describe(j, text, sizeof(text));
	if (kernel_membership(j, false) != 0)
		fhd_log(LOG_WARNING, "fhd: %s: leave %s: %s (closing the socket leaves it)\n", label, text,
			strerror(errno));
	else
		fhd_log(LOG_INFO, "fhd: %s: left %s\n", label, text);
	close(j->fd);
	j->fd = -1;
}
