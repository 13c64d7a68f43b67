// mdp3-competitor: our harness around an open MDP3 handler, vincent212/CME-Market-Data-Handler,
// for bench/run.sh's mdp3 section. Nothing of theirs is here: bench/run.sh extracts their
// headers at a pinned commit into a temporary directory and compiles this file against them
// there (never in `make`). It loads line A of a capture into memory as bench-mdp3 does (the
// first copy of each MsgSeqNum, in order), counts its messages by MsgSize, and times their
// DataDecoder::mbo_data over every packet with callbacks that sum a few fields of each, so
// nothing is optimised away. Their handler decodes and calls back; it builds no book.
// Prints the best and median pass per message and per packet, and p50/p99 per packet from
// the TSC. Usage: mdp3-competitor PCAP [passes].
#include "CallBackImpl.hpp"
#include "DataDecoder.hpp"

#include <pcap/pcap.h>
#include <x86intrin.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <vector>

namespace {

struct SummingCallback : CallBackImpl {
	uint64_t sum = 0;
	void MDIncrementalRefreshBook(uint64_t, uint32_t, uint64_t, uint64_t, uint32_t id, int64_t px, int8_t,
				      char side, int32_t size, int32_t orders, uint8_t level, bool, bool) noexcept override
	{
		sum += id + px + side + size + orders + level;
	}
	void MDIncrementalRefreshBook(uint64_t, uint32_t, uint64_t, uint64_t, uint32_t id, int64_t px, int8_t,
				      char side, int32_t qty, uint64_t order_id, uint8_t action, uint64_t priority, bool,
				      bool) noexcept override
	{
		sum += id + px + side + qty + order_id + action + priority;
	}
	void MDIncrementalRefreshTradeSummary(uint64_t, uint32_t, uint64_t, uint64_t, int32_t id, int64_t px, int8_t,
					      char, uint8_t aggressor, int32_t size, int32_t orders, bool,
					      bool) noexcept override
	{
		sum += id + px + aggressor + size + orders;
	}
	void MDIncrementalRefreshTradeSummary(uint64_t, uint32_t, uint64_t, uint64_t, int32_t qty, uint64_t order_id,
					      bool, bool) noexcept override
	{
		sum += qty + order_id;
	}
	void MDIncrementalRefreshVolume(uint32_t, uint64_t, uint64_t, int32_t id, int32_t volume, char,
					uint8_t) noexcept override
	{
		sum += id + volume;
	}
	void SecurityStatus(uint32_t, uint64_t, uint64_t, int32_t id, uint8_t, uint8_t status, uint8_t) noexcept override
	{
		sum += id + status;
	}
	void MDInstrumentDefinitionFuture(uint32_t, uint64_t, char *, char *, char *, int64_t, int8_t, int64_t, int8_t,
					  int64_t, int8_t, int32_t id, char, uint8_t, uint64_t, uint64_t, char *,
					  uint8_t) noexcept override
	{
		sum += id;
	}
};

struct Packet {
	size_t offset, len;
};

double now_ns()
{
	timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

// Messages framed by MsgSize after the 12-byte packet header (counted, not decoded).
uint64_t count_messages(const uint8_t *p, size_t len)
{
	uint64_t n = 0;
	for (size_t at = 12; at + 2 <= len; n++) {
		uint16_t size;
		memcpy(&size, p + at, 2);
		if (size < 10)
			break;
		at += size;
	}
	return n;
}

} // namespace

int main(int argc, char **argv)
{
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: mdp3-competitor PCAP [passes]\n");
		return 2;
	}
	int passes = argc == 3 ? atoi(argv[2]) : 5;
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *in = pcap_open_offline(argv[1], err);
	if (in == nullptr || passes < 1) {
		fprintf(stderr, "mdp3-competitor: %s\n", in ? "passes must be 1 or more" : err);
		return 2;
	}
	// Line A: 224.0.31.1:14310, Ethernet + IPv4 + UDP.
	std::vector<char> data;
	std::vector<Packet> packets;
	uint64_t messages = 0;
	uint32_t last = 0;
	pcap_pkthdr *h;
	const u_char *frame;
	while (pcap_next_ex(in, &h, &frame) == 1) {
		if (h->caplen < 14 + 20 + 8 + 12 || frame[12] != 0x08 || frame[13] != 0x00)
			continue;
		const u_char *ip = frame + 14;
		size_t ihl = (ip[0] & 15u) * 4;
		static const u_char group[4] = { 224, 0, 31, 1 };
		if (ip[9] != 17 || memcmp(ip + 16, group, 4) != 0 || 14 + ihl + 8 + 12 > h->caplen)
			continue;
		const u_char *udp = ip + ihl;
		if (((udp[2] << 8) | udp[3]) != 14310)
			continue;
		const u_char *payload = udp + 8;
		size_t len = h->caplen - (size_t)(payload - frame);
		uint32_t seq;
		memcpy(&seq, payload, 4);
		if (seq <= last)
			continue;
		last = seq;
		packets.push_back({ data.size(), len });
		data.insert(data.end(), payload, payload + len);
		messages += count_messages(payload, len);
	}
	pcap_close(in);
	if (packets.empty() || messages == 0) {
		fprintf(stderr, "mdp3-competitor: no line A packet in %s\n", argv[1]);
		return 1;
	}

	SummingCallback callback;
	m2tech::mdp3::DataDecoder decoder(&callback, false);
	for (auto &p : packets) // warm up
		decoder.mbo_data(&data[p.offset], p.len, 0);
	std::vector<double> pass_ns;
	for (int r = 0; r < passes; r++) {
		double t0 = now_ns();
		for (auto &p : packets)
			decoder.mbo_data(&data[p.offset], p.len, 0);
		pass_ns.push_back(now_ns() - t0);
	}
	std::vector<uint64_t> ticks(packets.size());
	double t0 = now_ns();
	uint64_t c0 = __rdtsc();
	for (size_t i = 0; i < packets.size(); i++) {
		uint64_t a = __rdtsc();
		decoder.mbo_data(&data[packets[i].offset], packets[i].len, 0);
		ticks[i] = __rdtsc() - a;
	}
	double ns_per_tick = (now_ns() - t0) / (double)(__rdtsc() - c0);
	std::sort(pass_ns.begin(), pass_ns.end());
	std::sort(ticks.begin(), ticks.end());
	printf("  line A: %zu packets, %lu messages; checksum %lu\n", packets.size(), (unsigned long)messages,
	       (unsigned long)(callback.sum & 0xffff));
	printf("  %-34s %.1f ns/msg best, %.1f median; %.1f ns/packet best\n", "competitor decode+callbacks:",
	       pass_ns[0] / messages, pass_ns[pass_ns.size() / 2] / messages, pass_ns[0] / packets.size());
	printf("  competitor per packet (TSC):       p50 %.0f ns, p99 %.0f ns\n", ticks[ticks.size() / 2] * ns_per_tick,
	       ticks[ticks.size() * 99 / 100] * ns_per_tick);
	return 0;
}
