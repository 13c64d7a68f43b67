/*
 * cxx_consumer: a C++ program reading a publish ring through libfh, built with g++ in
 * `make test` (tests/test_libfh_cxx.sh). It reads a stopped ring whole (seq 1, 2, ...,
 * the stop event) and prints every trade, level, top, end-of-packet, gap, book-state
 * and cleared event as tests/ref_events.py's `ring` command does, fhd's ring seq
 * first, so that its output can be checked line for line against the reference model
 * (ref_events.py pcap) and against ref_events.py reading the same ring through ctypes.
 * Then it copies every entry of the conflated view and says how many it found.
 *
 *   cxx_consumer RING      exit 0: the ring read whole; 1: refused, lapped, cut
 *
 * Written in the C++ a strategy uses (RAII, the standard library), to show that the
 * headers and the library need nothing else from C++.
 */
#include <fh/fh.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

static_assert(FH_VERSION_NUMBER >= 200, "fh_version() and struct fh_abi came in 0.2.0");

namespace {

/* One consumer, detached when it goes out of scope. */
class ring_reader {
public:
	explicit ring_reader(const std::string &name)
	{
		char err[512] = "";
		fh_consumer *c = nullptr;

		rc_ = fh_attach(name.c_str(), FH_START_OLDEST, &c, err, sizeof(err));
		consumer_.reset(c);
		error_ = err;
	}
	int attach_rc() const { return rc_; }
	const std::string &error() const { return error_; }
	fh_consumer *get() const { return consumer_.get(); }

private:
	struct detach {
		void operator()(fh_consumer *c) const { fh_detach(c); }
	};
	std::unique_ptr<fh_consumer, detach> consumer_;
	std::string error_;
	int rc_;
};

/* ref_events.py's price_text: integer part floored, four decimals. */
std::string price_text(int64_t price)
{
	int64_t whole = price / 10000, frac = price % 10000;
	char text[48];

	if (frac < 0) {
		frac += 10000;
		whole -= 1;
	}
	std::snprintf(text, sizeof(text), "%" PRId64 ".%04" PRId64, whole, frac);
	return text;
}

const char *reason_text(uint8_t reason)
{
	switch (reason) {
	case FH_BOOK_REASON_RECOVERING: return "recovering";
	case FH_BOOK_REASON_RECOVERED: return "recovered";
	case FH_BOOK_REASON_LOST: return "lost";
	case FH_BOOK_REASON_NEW_SESSION: return "new_session";
	default: return nullptr;
	}
}

/* "head | rest" of one event; the state the event carries goes at the head's end. */
std::pair<std::string, std::string> event_text(const fh_event &e, const std::string &name)
{
	char head[256], rest[128] = "";

	switch (e.type) {
	case FH_EVENT_GAP:
		std::snprintf(head, sizeof(head), "gap %" PRIu64 " %" PRIu64, e.body.gap.first, e.body.gap.count);
		break;
	case FH_EVENT_BOOK_STATE: {
		const char *reason = reason_text(e.body.state.reason);
		std::string unknown = "?" + std::to_string(e.body.state.reason);

		std::snprintf(head, sizeof(head), "book_state %s %" PRIu64 " %" PRIu64,
			      reason != nullptr ? reason : unknown.c_str(), e.body.state.first, e.body.state.count);
		break;
	}
	case FH_EVENT_BOOK_CLEARED:
		std::snprintf(head, sizeof(head), "cleared");
		break;
	case FH_EVENT_TRADE:
		std::snprintf(head, sizeof(head), "trade %s %s %" PRIu32 " match %" PRIu64 " flags %d", name.c_str(),
			      price_text(e.body.trade.price).c_str(), e.quantity, e.body.trade.match,
			      e.flags & FH_FLAG_TRADE_MASK);
		break;
	case FH_EVENT_LEVEL_CHANGED:
		std::snprintf(head, sizeof(head), "level %s %c %s %" PRIu64 " %" PRIu32, name.c_str(),
			      e.side == FH_SIDE_BID ? 'B' : e.side == FH_SIDE_ASK ? 'S' : '?',
			      price_text(e.body.level.price).c_str(), e.body.level.shares, e.body.level.orders);
		break;
	case FH_EVENT_END_OF_PACKET:
		std::snprintf(head, sizeof(head), "packet");
		std::snprintf(rest, sizeof(rest), "last_seq %" PRIu64, e.body.packet.last_seq);
		break;
	default: {	/* FH_EVENT_TOP_OF_BOOK */
		auto side = [](int64_t price) { return price == INT64_MIN ? std::string("-") : price_text(price); };

		std::snprintf(head, sizeof(head), "top %s %s %" PRIu32 " %s %" PRIu32, name.c_str(),
			      side(e.body.top.bid_price).c_str(), e.body.top.bid_shares,
			      side(e.body.top.ask_price).c_str(), e.body.top.ask_shares);
		break;
	}
	}
	if (e.type == FH_EVENT_TRADE || e.type == FH_EVENT_LEVEL_CHANGED || e.type == FH_EVENT_TOP_OF_BOOK)
		std::snprintf(rest, sizeof(rest), "side %u key %" PRIu32 " ts %" PRIu64, e.side, e.instrument,
			      e.exchange_ts_ns);
	return { head, rest };
}

} // namespace

int main(int argc, char **argv)
{
	if (argc != 2) {
		std::fprintf(stderr, "usage: cxx_consumer RING\n");
		return 2;
	}
	ring_reader ring(argv[1]);
	if (ring.attach_rc() != 0) {
		std::fprintf(stderr, "cxx_consumer: %s (%s)\n", ring.error().c_str(), std::strerror(-ring.attach_rc()));
		return 1;
	}
	std::map<std::pair<int, uint32_t>, std::string> names;	/* (feed, key) -> symbol */
	std::vector<fh_event> events(256);
	uint64_t want = 1, read = 0;
	bool stopped = false;

	while (!stopped) {
		int n = fh_poll(ring.get(), events.data(), static_cast<int>(events.size()));

		if (n < 0) {
			std::fprintf(stderr, "cxx_consumer: fh_poll %d (%s): the ring must hold the whole session\n", n,
				     fh_error(ring.get()));
			return 1;
		}
		if (n == 0) {
			if (fh_stopped(ring.get()))
				break;
			std::fprintf(stderr, "cxx_consumer: the ring ends without a stop event\n");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			const fh_event &e = events[i];

			if (e.seq != want) {
				std::fprintf(stderr, "cxx_consumer: ring seq %" PRIu64 ", expected %" PRIu64 "\n", e.seq, want);
				return 1;
			}
			want++;
			read++;
			stopped = e.type == FH_EVENT_STOP;
			std::pair<int, uint32_t> key(e.feed, e.instrument);
			if (e.type == FH_EVENT_INSTRUMENT_DEFINED) {
				names[key] = std::string(e.body.instrument.symbol,
							 strnlen(e.body.instrument.symbol, sizeof(e.body.instrument.symbol)));
				continue;
			}
			if (e.type != FH_EVENT_TRADE && e.type != FH_EVENT_LEVEL_CHANGED && e.type != FH_EVENT_TOP_OF_BOOK &&
			    e.type != FH_EVENT_END_OF_PACKET && e.type != FH_EVENT_GAP && e.type != FH_EVENT_BOOK_STATE &&
			    e.type != FH_EVENT_BOOK_CLEARED)
				continue;
			auto found = names.find(key);
			std::string name = found != names.end() ? found->second : "#" + std::to_string(e.instrument);
			std::pair<std::string, std::string> text = event_text(e, name);
			static const char *const states[] = { "ok", "recovering", "stale" };
			fh_book_state state = fh_event_book_state(&e);

			if (state != FH_BOOK_OK)
				text.first += std::string(" state ") + (state < FH_BOOK_STATES ? states[state] : "?");
			std::printf("%" PRIu64 " %s%s%s\n", e.seq, text.first.c_str(), text.second.empty() ? "" : " | ",
				    text.second.c_str());
			if (e.type == FH_EVENT_BOOK_CLEARED)	/* a new session: its names are gone */
				for (auto it = names.begin(); it != names.end();)
					it = it->first.first == e.feed ? names.erase(it) : std::next(it);
		}
	}
	uint32_t slots = fh_top_slots(ring.get()), used = 0;
	fh_top top;
	for (uint32_t slot = 0; slot < slots; slot++)
		if (fh_top_read(ring.get(), slot, &top) == 0)
			used++;
	std::fprintf(stderr, "cxx_consumer: libfh %s (headers %s): %" PRIu64 " events read whole, %" PRIu32
		     " instruments in the conflated view\n", fh_version(), FH_VERSION_STRING, read, used);
	return 0;
}
