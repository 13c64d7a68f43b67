/*
 * kernel_port: multicast through the kernel's own stack. A port whose device is
 * "kernel:IFACE" receives each of its lines on a UDP socket bound to the line's
 * group and port and joined on IFACE; the RX lcore reads those sockets with recvmmsg
 * (rx.c). Ports the kernel still owns under DPDK (net_af_packet, net_af_xdp with
 * iface=) get a socket per line that only holds the membership, so the kernel (and
 * the NIC's filter) lets the group in. Every join and leave is logged with the
 * interface. Opened before the RX lcores start, closed after they stop.
 */
#ifndef FH_FEED_KERNEL_PORT_H
#define FH_FEED_KERNEL_PORT_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KERNEL_DEVICE_PREFIX "kernel:"

/* One line's membership (and, on a kernel port, its receiving socket). */
struct kernel_join {
	int fd;			/* -1: nothing held */
	bool receives;		/* bound and read by the RX lcore (a kernel port) */
	bool ssm;		/* joined with a source filter */
	uint32_t group_ip;	/* host byte order */
	uint32_t source_ip;
	uint16_t udp_port;
	unsigned int ifindex;
	char iface[IF_NAMESIZE];
};

/* The interface of a "kernel:IFACE" device, or NULL when the device is not one. */
const char *kernel_device_iface(const char *device);

/*
 * The interface a DPDK device receives on through the kernel (net_af_packet and
 * net_af_xdp with iface=NAME) into iface; false for any other device.
 */
bool kernel_owned_iface(const char *device, char *iface, size_t size);

/*
 * Joins group (with source when ssm) on iface. receives: the socket is also bound to
 * group:udp_port, non-blocking, with rcvbuf_bytes of receive buffer (SO_RCVBUFFORCE,
 * else SO_RCVBUF; less than asked is a warning), SO_RXQ_OVFL and software RX
 * timestamps. label names the line in messages. 0, or -errno with err set.
 */
int kernel_join(struct kernel_join *j, const char *label, const char *iface, uint32_t group_ip,
		uint16_t udp_port, bool ssm, uint32_t source_ip, bool receives, uint32_t rcvbuf_bytes,
		char *err, size_t err_size);

/* Leaves the group, logs it and closes the socket. Nothing when j holds nothing. */
void kernel_leave(struct kernel_join *j, const char *label);

#endif
