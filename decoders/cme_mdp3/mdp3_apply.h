/*
 * mdp3_apply: what a decoded CME MDP 3.0 entry means for the books (book/mdp3/): the
 * one place that maps the wire layer's structs (mdp3_sbe.h) onto mdp3_book's
 * updates. MDEntryType '0'/'1' name the multiple-depth book, 'E'/'F' the implied one,
 * 'J' a book reset (cme-mdp3.md §7.2, 7.3); a null price, size or order count is
 * handed on as such (a null price is never a level; null sizes and counts are 0); a
 * 46 order entry takes its side and price from the NoMDEntries entry its ReferenceID
 * names (§7.4). The instrument is resolved by the caller (it also tracks RptSeq), from
 * the entry's SecurityID. Nothing here allocates, locks or blocks.
 */
#ifndef FH_DECODERS_CME_MDP3_MDP3_APPLY_H
#define FH_DECODERS_CME_MDP3_MDP3_APPLY_H

#include <stdbool.h>
#include <stdint.h>

#include "book/mdp3/mdp3_book.h"
#include "decoders/cme_mdp3/mdp3_sbe.h"

/*
 * A NoMDEntries entry of 46 or 64: '0'/'1'/'E'/'F' applied by MDUpdateAction, 'J'
 * empties the instrument's books, other types counted (other_type) and ignored.
 * 0 (applied or ignored) or -EINVAL (refused, counted by the book).
 */
int mdp3_apply_entry(struct mdp3_book *book, int32_t instrument, const struct mdp3_md_entry *entry);

/*
 * A NoMDEntries entry of a 52 (after mdp3_book_snapshot_begin): '0'/'1'/'E'/'F' set
 * the slot of their MDPriceLevel; others (statistics) are not a book's and ignored.
 * 0, or -EINVAL (a null level counted bad_level; the book's refusals).
 */
int mdp3_apply_snapshot_entry(struct mdp3_book *book, int32_t instrument, const struct mdp3_md_entry *entry);

/*
 * An order: a 47 entry or a 53 entry (reference NULL: the order gives its price and
 * type; a 53 entry's action is New), or a NoOrderIDEntries entry of 46/64 with the
 * entry its ReferenceID names (mdp3_apply_order_reference). 0, -EINVAL (refused:
 * counted), -ENOSPC (orders full: the instrument's MBO book is incomplete).
 */
int mdp3_apply_order(struct mdp3_book *book, int32_t instrument, const struct mdp3_order *order,
		     const struct mdp3_md_entry *reference);

/*
 * The NoMDEntries entry a 46 order entry's ReferenceID (1-based) names, read into
 * *reference: true, or false (bad_reference counted) when null, out of range,
 * unreadable or not a bid/offer. stats takes what the re-read counts.
 */
bool mdp3_apply_order_reference(struct mdp3_book *book, const struct mdp3_message *message,
				const struct mdp3_order *order, struct mdp3_md_entry *reference,
				struct mdp3_stats *stats);

/* A definition (54/55/56): symbol and depths, or 'D' forgets them. 0 or -ENOSPC. */
int mdp3_apply_definition(struct mdp3_book *book, const struct mdp3_definition *definition);

/*
 * One kept message applied as it comes, with no RptSeq, arbitration or recovery: 46/64
 * entries and orders, 47 orders, 54/55/56 definitions, a 4 clears every book; entries
 * of instruments not defined are passed over, other templates ignored. What
 * mdp3-book-replay (tests) and bench-mdp3 do on a clean one-line session; fhd's feed
 * does more (it tracks RptSeq and recovers).
 */
void mdp3_apply_message(struct mdp3_book *book, const struct mdp3_message *message, struct mdp3_stats *stats);

#endif
