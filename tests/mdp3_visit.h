/*
 * mdp3_visit: reads every part of a message the MDP3 wire layer kept (root, entries,
 * orders, legs) through the library's accessors, and aborts when a value handed out
 * breaks the layer's promises (a price of INT64_MIN, a present price that is the
 * null). Shared by tests/test_mdp3_sbe.c and tests/fuzz_mdp3.c, so that everything
 * both walk is read, from an exact-length copy, under ASan.
 */
#ifndef FH_TESTS_MDP3_VISIT_H
#define FH_TESTS_MDP3_VISIT_H

#include <stdio.h>
#include <stdlib.h>

#include "decoders/cme_mdp3/mdp3_sbe.h"

#define VISIT_CHECK(cond)                                                             \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "mdp3_visit: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                     \
		}                                                                    \
	} while (0)

static inline void mdp3_visit_price(uint32_t present, uint32_t bit, int64_t price)
{
	VISIT_CHECK(price != INT64_MIN);
	if (present & bit)
		VISIT_CHECK(price != INT64_MAX);
}

/* Reads the whole of a kept message, checking what each accessor hands out. */
static inline void mdp3_message_visit(const struct mdp3_message *m, struct mdp3_stats *stats)
{
	struct mdp3_md_entry e;
	struct mdp3_order o;
	struct mdp3_snapshot s;
	struct mdp3_definition d;
	struct mdp3_security_status st;
	struct mdp3_event ev;
	struct mdp3_leg leg;
	uint32_t n = 0;

	switch (m->template_id) {
	case MDP3_ADMIN_HEARTBEAT:
		return;
	case MDP3_SECURITY_STATUS:
		mdp3_security_status_read(m, &st);
		return;
	case MDP3_SNAPSHOT_ORDER_BOOK:
		mdp3_snapshot_read(m, &s, stats);
		break;
	case MDP3_SNAPSHOT:
		if (mdp3_snapshot_read(m, &s, stats)) {
			mdp3_visit_price(s.present, MDP3_HAS_HIGH_LIMIT, s.high_limit);
			mdp3_visit_price(s.present, MDP3_HAS_LOW_LIMIT, s.low_limit);
		}
		n = mdp3_md_entries(m);
		break;
	case MDP3_DEFINITION_FUTURE:
	case MDP3_DEFINITION_OPTION:
	case MDP3_DEFINITION_SPREAD:
		if (mdp3_definition_read(m, &d, stats))
			mdp3_visit_price(d.present, MDP3_HAS_MIN_INCREMENT, d.min_price_increment);
		for (uint32_t i = 0; i < mdp3_legs(m); i++)
			if (mdp3_leg_read(m, i, &leg, stats))
				mdp3_visit_price(leg.present, MDP3_HAS_PRICE, leg.price);
		return;
	case MDP3_ORDER_BOOK:
		mdp3_event_read(m, &ev);
		break;
	default:
		mdp3_event_read(m, &ev);
		n = mdp3_md_entries(m);
		break;
	}
	for (uint32_t i = 0; i < n; i++)
		if (mdp3_md_entry_read(m, i, &e, stats)) {
			mdp3_visit_price(e.present, MDP3_HAS_PRICE, e.price);
			mdp3_visit_price(e.present, MDP3_HAS_HIGH_LIMIT, e.high_limit);
		}
	if (m->template_id == MDP3_BOOK || m->template_id == MDP3_BOOK_LONG_QTY || m->template_id == MDP3_ORDER_BOOK ||
	    m->template_id == MDP3_TRADE_SUMMARY || m->template_id == MDP3_TRADE_SUMMARY_LONG_QTY ||
	    m->template_id == MDP3_SNAPSHOT_ORDER_BOOK)
		for (uint32_t i = 0; i < mdp3_orders(m); i++)
			if (mdp3_order_read(m, i, &o, stats))
				mdp3_visit_price(o.present, MDP3_HAS_PRICE, o.price);
}

#endif
