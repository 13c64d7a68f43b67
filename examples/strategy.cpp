/*
 * strategy.cpp: the example strategy (strategy.c) in C++, for strategies written in
 * it. libfh is a C library with C++-safe headers: include <fh/fh.h>, link with
 * `pkg-config --cflags --libs fh`, nothing else. The behaviour is strategy.c's, which
 * says it in full: it acts on a new top of book only while the feed's books are OK
 * (never RECOVERING or STALE), follows GAP, BOOK_STATE, BOOK_CLEARED and
 * BOOK_RECOVERED, reloads every top from the conflated view after falling behind,
 * waits for fhd (attach retried with a backoff of 10 ms doubling to 1 s) and follows
 * it across stops and restarts. Its summary line is strategy.c's.
 *
 * Build:  make strategy-cxx   (the Makefile beside it)
 * Run:    ./strategy-cxx [--exit-on-stop] [RING]      (default RING fh-1)
 */
#include <fh/fh.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

volatile std::sig_atomic_t quit = 0;

using clock_type = std::chrono::steady_clock;

struct quote {
	std::string symbol;
	bool quoted = false;
	int64_t bid = INT64_MIN, ask = INT64_MIN;
};

struct feed_books {
	std::unordered_map<uint32_t, quote> instruments;	/* by venue key */
	fh_book_state state = FH_BOOK_OK;
	uint64_t gaps_since_change = 0;
};

/* A consumer of one ring: the handle is owned here and detached with it. */
class strategy {
public:
	strategy(std::string ring, bool exit_on_stop) : ring_(std::move(ring)), exit_on_stop_(exit_on_stop) {}

	int run()
	{
		if (!wait_for_ring())
			return quit ? 0 : 1;
		std::vector<fh_event> events(256);
		auto status_at = clock_type::now() + std::chrono::seconds(1);
		bool stop_said = false;

		while (!quit) {
			int n = fh_poll(consumer_.get(), events.data(), static_cast<int>(events.size()));

			if (n > 0) {
				std::for_each(events.begin(), events.begin() + n, [this](const fh_event &e) { handle(e); });
				stop_said = false;
			} else if (n == FH_POLL_LAPPED) {
				counts_.lost += fh_lost_last(consumer_.get());
				reload();
			} else if (n == FH_POLL_RESTARTED) {
				std::printf("fhd restarted: reattaching\n");
				counts_.restarts++;
				feeds_.clear();
				earlier_ = false;
				if (!wait_for_ring())
					return finish(quit ? 0 : 1);
			} else if (n == FH_POLL_BROKEN) {
				std::printf("ring broken: %s\n", fh_error(consumer_.get()));
				std::this_thread::sleep_for(std::chrono::milliseconds(100));
			} else if (fh_stopped(consumer_.get())) {
				if (!stop_said && !earlier_)
					std::printf("fhd stopped%s\n", exit_on_stop_ ? "" : ": waiting for it to restart");
				stop_said = true;
				if (exit_on_stop_ && !earlier_)
					break;
				std::this_thread::sleep_for(std::chrono::milliseconds(10));
			} else {
				std::this_thread::sleep_for(std::chrono::microseconds(100));	/* or other work */
			}
			if (clock_type::now() >= status_at) {
				status_at = clock_type::now() + std::chrono::seconds(1);
				summary("status: ");
			}
		}
		return finish(0);
	}

private:
	struct detach {
		void operator()(fh_consumer *c) const { fh_detach(c); }
	};
	struct counts {
		uint64_t events = 0, trades = 0, tops = 0, lost = 0, acted = 0, held_back = 0;
		uint64_t state_changes = 0, clears = 0, gaps = 0, restarts = 0;
	};

	/* Attach (or reattach), retrying while the ring is not there yet. */
	bool wait_for_ring()
	{
		auto backoff = std::chrono::milliseconds(10);
		bool said = false;
		char err[512];

		/*
		 * A ring already stopped at start is an earlier fhd's (segments stay until the
		 * next fhd replaces them): trading, wait at its end for the next fhd, as after a
		 * restart, rather than replay the old run. --exit-on-stop reads one run to its
		 * stop, a run already stopped too.
		 */
		if (!consumer_ && !exit_on_stop_) {
			fh_consumer *c = nullptr;

			if (fh_attach(ring_.c_str(), FH_START_NOW, &c, err, sizeof(err)) == 0) {
				if (fh_stopped(c)) {
					consumer_.reset(c);
					earlier_ = true;
					std::printf("%s is an earlier fhd's ring, stopped: waiting for fhd to start\n",
						    ring_.c_str());
					return true;
				}
				fh_detach(c);
			}
		}
		while (!quit) {
			fh_consumer *c = nullptr;
			int rc = consumer_ ? fh_reattach(consumer_.get(), err, sizeof(err))
					   : fh_attach(ring_.c_str(), FH_START_OLDEST, &c, err, sizeof(err));
			if (rc == 0) {
				if (c != nullptr)
					consumer_.reset(c);
				std::printf("attached to %s (libfh %s)\n", ring_.c_str(), fh_version());
				return true;
			}
			if (rc != -ENOENT) {
				std::fprintf(stderr, "strategy-cxx: %s\n", err);
				return false;
			}
			if (!said)
				std::printf("waiting for fhd: %s\n", err);
			said = true;
			std::this_thread::sleep_for(backoff);
			backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
		}
		return false;
	}

	void handle(const fh_event &e)
	{
		feed_books &feed = feeds_[e.feed];
		const char *name = fh_feed_name(consumer_.get(), e.feed);

		counts_.events++;
		switch (e.type) {
		case FH_EVENT_INSTRUMENT_DEFINED:
			feed.instruments[e.instrument].symbol.assign(
				e.body.instrument.symbol, strnlen(e.body.instrument.symbol, sizeof(e.body.instrument.symbol)));
			break;
		case FH_EVENT_TRADE:
			counts_.trades++;
			break;
		case FH_EVENT_TOP_OF_BOOK: {
			quote &q = feed.instruments[e.instrument];

			counts_.tops++;
			q.quoted = true;
			q.bid = e.body.top.bid_price;
			q.ask = e.body.top.ask_price;
			/* The decision point: never act on books that may be wrong or are behind. */
			if (fh_event_book_state(&e) == FH_BOOK_OK && q.bid != INT64_MIN && q.ask != INT64_MIN)
				counts_.acted++;
			else
				counts_.held_back++;
			break;
		}
		case FH_EVENT_GAP:
			counts_.gaps++;
			if (feed.gaps_since_change++ == 0)
				std::printf("feed %s: %llu messages lost from sequence %llu: its books may be wrong\n", name,
					    static_cast<unsigned long long>(e.body.gap.count),
					    static_cast<unsigned long long>(e.body.gap.first));
			break;
		case FH_EVENT_BOOK_STATE:
			counts_.state_changes++;
			std::printf("feed %s: book state %s -> %s (%s)\n", name, fh_book_state_name(feed.state),
				    fh_book_state_name(e.body.state.state), fh_book_reason_name(e.body.state.reason));
			feed.gaps_since_change = 0;
			break;
		case FH_EVENT_BOOK_CLEARED:
			counts_.clears++;
			feed.instruments.clear();
			std::printf("feed %s: books cleared (new session)\n", name);
			break;
		case FH_EVENT_BOOK_RECOVERED:
			feed.instruments[e.instrument].quoted = false;
			break;
		default:
			break;
		}
		feed.state = fh_event_book_state(&e);
	}

	/* After a lap: every top and feed state from the conflated view. */
	void reload()
	{
		uint32_t slots = fh_top_slots(consumer_.get()), loaded = 0;
		std::unique_ptr<fh_top> top(new fh_top);

		for (uint32_t slot = 0; slot < slots; slot++) {
			if (fh_top_read(consumer_.get(), slot, top.get()) != 0)
				continue;
			feed_books &feed = feeds_[top->feed];
			quote &q = feed.instruments[top->instrument];

			q.symbol = top->symbol;
			q.bid = top->bid_count > 0 ? top->bids[0].price : INT64_MIN;
			q.ask = top->ask_count > 0 ? top->asks[0].price : INT64_MIN;
			q.quoted = top->bid_count > 0 || top->ask_count > 0;
			feed.state = static_cast<fh_book_state>(top->state);
			loaded++;
		}
		std::printf("fell behind fhd: %llu events lost; %u tops reloaded from the conflated view\n",
			    static_cast<unsigned long long>(fh_lost_last(consumer_.get())), loaded);
	}

	void summary(const char *what) const
	{
		const counts &c = counts_;

		std::printf("%s%llu events, %llu trades, %llu tops, %llu lost, %llu acted, %llu held back, %llu state "
			    "changes, %llu clears, %llu gaps, %llu restarts\n", what,
			    static_cast<unsigned long long>(c.events), static_cast<unsigned long long>(c.trades),
			    static_cast<unsigned long long>(c.tops), static_cast<unsigned long long>(c.lost),
			    static_cast<unsigned long long>(c.acted), static_cast<unsigned long long>(c.held_back),
			    static_cast<unsigned long long>(c.state_changes), static_cast<unsigned long long>(c.clears),
			    static_cast<unsigned long long>(c.gaps), static_cast<unsigned long long>(c.restarts));
		std::fflush(stdout);
	}

	int finish(int status)
	{
		summary("");
		return status;
	}

	std::string ring_;
	bool exit_on_stop_;
	bool earlier_ = false;	/* attached at the end of an earlier fhd's stopped ring */
	std::unique_ptr<fh_consumer, detach> consumer_;
	std::unordered_map<int, feed_books> feeds_;	/* by event.feed */
	counts counts_;
};

} // namespace

int main(int argc, char **argv)
{
	std::string ring = "fh-1";
	bool exit_on_stop = false;

	for (int i = 1; i < argc; i++) {
		if (std::strcmp(argv[i], "--exit-on-stop") == 0) {
			exit_on_stop = true;
		} else if (argv[i][0] != '-' && i == argc - 1) {
			ring = argv[i];
		} else {
			std::fprintf(stderr, "usage: strategy-cxx [--exit-on-stop] [RING]\n");
			return 2;
		}
	}
	std::signal(SIGINT, [](int) { quit = 1; });
	std::signal(SIGTERM, [](int) { quit = 1; });
	return strategy(ring, exit_on_stop).run();
}
