/*
 * mdp3_sbe: the wire layer of CME MDP 3.0 (docs/cme-mdp3.md §2-6), a pure library that
 * allocates nothing and reads nothing outside the packet it is given. A UDP payload is
 * a 12-byte packet header (MsgSeqNum, SendingTime) and messages framed by MsgSize, each
 * with an SBE header (blockLength, templateId, schemaId, version), a root block of
 * blockLength bytes and repeating groups. It walks a packet message by message, keeps
 * the messages of schema 1, versions 9..13 and the templates fh decodes (skipping and
 * counting the rest), finds every group the decoder reads by the lengths on the wire
 * (so fields a newer version appends are passed over), and decodes roots and group
 * entries into plain structs for the book layer. Nothing here knows books or DPDK.
 */
#ifndef FH_DECODERS_CME_MDP3_MDP3_SBE_H
#define FH_DECODERS_CME_MDP3_MDP3_SBE_H

#include <stdbool.h>
#include <stdint.h>

#include "decoders/cme_mdp3/mdp3_templates.h"
#include "decoders/decoder.h"

#define MDP3_PACKET_HEADER_LEN 12	/* MsgSeqNum u32, SendingTime u64 (§2.2) */
#define MDP3_MESSAGE_HEADER_LEN 10	/* MsgSize u16 + SBE header 8 */
#define MDP3_SCHEMA_ID 1
#define MDP3_VERSION_MIN 9		/* the first schema with templates 46-56 */
#define MDP3_VERSION_MAX 13		/* production since 2023 (§1.1); later ones are decoded as it, counted */
#define MDP3_FIRST_SEQ 1		/* MsgSeqNum of a week's (or a loop's) first packet */
#define MDP3_GROUPS_MAX 5		/* the most groups read in one template (56: up to NoLegs) */

/*
 * What the walk met, per feed. A message counts in exactly one of messages,
 * other_schema, bad_version, unknown_template, bad_length, or it is lost to bad_framing
 * (which counts once per packet cut short). bad_field counts refused entries or roots
 * of messages that were otherwise kept. The book layer folds them into struct
 * decoder_stats: unknown_type = other_schema + bad_version + unknown_template,
 * bad_length = bad_framing + bad_length, bad_field = bad_field.
 */
struct mdp3_stats {
	uint64_t packets;		/* packets walked (mdp3_packet_open accepted) */
	uint64_t messages;		/* messages handed out, header and lengths good */
	uint64_t other_schema;		/* skipped by MsgSize: schemaId not 1 */
	uint64_t bad_version;		/* skipped by MsgSize: version below 9 (no templates 46-56) */
	uint64_t newer_version;		/* kept, also in messages: a version past 13, read with 13's layout
					 * by the wire blockLengths (SBE's forward compatibility, §2.5) */
	uint64_t unknown_template;	/* skipped by MsgSize: a template not decoded here (or not in that version) */
	uint64_t bad_framing;		/* MsgSize below 10 or past the packet: the packet's rest dropped */
	uint64_t bad_length;		/* skipped: root or a group's entries shorter than the fields read, or past MsgSize */
	uint64_t bad_field;		/* refused: a price of INT64_MIN or a negative quantity */
};

/* A packet being walked: its header, and where the next message starts. */
struct mdp3_packet {
	const uint8_t *data;
	uint32_t len;
	uint32_t at;			/* offset of the next message's MsgSize */
	uint32_t seq;			/* MsgSeqNum */
	uint64_t sending_time_ns;	/* SendingTime, ns since the epoch */
};

/* A group found on the wire: count entries of block_length bytes from entries on. */
struct mdp3_group {
	const uint8_t *entries;
	uint16_t block_length;
	uint8_t count;
};

/*
 * One message mdp3_packet_next kept: every group up to the last one read here lies
 * within MsgSize, and the root and each of those groups' entries are long enough for
 * the fields read, so the accessors below read only inside it.
 */
struct mdp3_message {
	const uint8_t *root;		/* the root block, block_length bytes */
	uint16_t size;			/* MsgSize */
	uint16_t block_length;
	uint16_t template_id;		/* enum mdp3_template */
	uint16_t version;
	uint8_t groups_count;
	struct mdp3_group groups[MDP3_GROUPS_MAX];
};

/*
 * Checks a whole packet's framing for the arbiter (decoder_ops.frame_parse): the
 * header is there, MsgSeqNum is not 0, and MsgSize frames the payload exactly. Every
 * MDP3 packet, heartbeats too, takes one sequence number: *frame is DATA with seq =
 * MsgSeqNum and count = 1, however many messages it holds; no session (MDP3 packets
 * name none). 0, or -EBADMSG and the feed counts the packet as a bad frame, so the
 * other line's copy can stand in for a corrupt one.
 */
int mdp3_frame_parse(const uint8_t *payload, uint32_t len, struct decoder_frame *frame);

/* Starts a walk over a packet: 0, or -EBADMSG when shorter than its header. */
int mdp3_packet_open(struct mdp3_packet *packet, const uint8_t *data, uint32_t len,
		     struct mdp3_stats *stats);

/*
 * The next message worth decoding: true and *message filled; false at the packet's
 * end. Messages of another schema or version, of templates not decoded here, or whose
 * root or groups do not fit are skipped by MsgSize and counted; a MsgSize below 10 or
 * past the packet ends the walk (counted once). Each call advances at least 10 bytes.
 */
bool mdp3_packet_next(struct mdp3_packet *packet, struct mdp3_stats *stats,
		      struct mdp3_message *message);

/* Presence bits of the nullable fields of the structs below (a cleared bit: null or not carried). */
enum mdp3_present {
	MDP3_HAS_PRICE = 1u << 0,
	MDP3_HAS_SIZE = 1u << 1,
	MDP3_HAS_ORDERS = 1u << 2,
	MDP3_HAS_RPT_SEQ = 1u << 3,
	MDP3_HAS_SECURITY_ID = 1u << 4,
	MDP3_HAS_LEVEL = 1u << 5,
	MDP3_HAS_TRADEABLE_SIZE = 1u << 6,
	MDP3_HAS_TRADE_ID = 1u << 7,
	MDP3_HAS_HIGH_LIMIT = 1u << 8,
	MDP3_HAS_LOW_LIMIT = 1u << 9,
	MDP3_HAS_VARIATION = 1u << 10,
	MDP3_HAS_ORDER_ID = 1u << 11,
	MDP3_HAS_PRIORITY = 1u << 12,
	MDP3_HAS_QUANTITY = 1u << 13,
	MDP3_HAS_REFERENCE = 1u << 14,
	MDP3_HAS_GUID = 1u << 15,
	MDP3_HAS_MIN_INCREMENT = 1u << 16,
	MDP3_HAS_UNIT_QTY = 1u << 17,
	MDP3_HAS_STRIKE = 1u << 18,
	MDP3_HAS_TRADING_STATUS = 1u << 19,
	MDP3_HAS_TOT_REPORTS = 1u << 20,
};

/* MDUpdateAction (§6); 4 and 50 carry New as a constant. */
enum mdp3_update_action {
	MDP3_ACTION_NEW = 0,
	MDP3_ACTION_CHANGE = 1,
	MDP3_ACTION_DELETE = 2,
	MDP3_ACTION_DELETE_THRU = 3,
	MDP3_ACTION_DELETE_FROM = 4,
	MDP3_ACTION_OVERLAY = 5,
};

/* The root every incremental template (4, 37, 46-51, 64, 65) opens with. */
struct mdp3_event {
	uint64_t transact_time_ns;
	uint8_t match_event;		/* MatchEventIndicator; bit 7 EndOfEvent */
};

/*
 * A NoMDEntries entry of 4, 37, 46, 48, 49, 50, 51, 52, 64 or 65, one shape for all:
 * what a template does not carry is absent from `present`, and its constants are
 * filled in (entry_type 'J' 4, 'e' 37, '2' 48/65, 'g' 50; action New in 4 and 50).
 * Prices are PRICE9 mantissas; a wire null price is absent, never INT64_MAX here.
 */
struct mdp3_md_entry {
	uint32_t present;		/* enum mdp3_present */
	int64_t price;			/* MDEntryPx */
	uint64_t size;			/* MDEntrySize */
	uint64_t tradeable_size;	/* 46 from v10 */
	int64_t high_limit;		/* 50 */
	int64_t low_limit;		/* 50 */
	int64_t max_variation;		/* 50 */
	int32_t security_id;
	uint32_t rpt_seq;
	uint32_t orders;		/* NumberOfOrders */
	uint32_t trade_id;		/* MDTradeEntryID, 48/65 */
	uint16_t reference_date;	/* TradingReferenceDate, 49/52; MDP3_DATE_NULL */
	int16_t appl_id;		/* 4: the channel reset */
	uint8_t level;			/* MDPriceLevel, 1 = best */
	uint8_t action;			/* enum mdp3_update_action */
	char entry_type;		/* MDEntryType */
	uint8_t aggressor_side;		/* 48/65: 0 none, 1 buy, 2 sell, 255 null */
	uint8_t settl_price_type;	/* 49/52 */
	uint8_t open_close_settl;	/* 51/52; 255 null */
};

/*
 * An order: a NoOrderIDEntries entry of 46/64 (ReferenceID names the 1-based
 * NoMDEntries entry giving its instrument, side and price) or of 48/65 (quantity =
 * LastQty), a NoMDEntries entry of 47 or of 53. Same presence rules as md_entry.
 */
struct mdp3_order {
	uint32_t present;
	uint64_t order_id;
	uint64_t priority;		/* MDOrderPriority, lower = earlier */
	int64_t price;			/* 47, 53 */
	uint64_t quantity;		/* MDDisplayQty, or LastQty in 48/65 */
	int32_t security_id;		/* 47 */
	uint8_t reference_id;		/* 46/64 */
	uint8_t action;			/* OrderUpdateAction (46/64), MDUpdateAction (47) */
	char entry_type;		/* 47, 53 */
};

/* 30 SecurityStatus. */
struct mdp3_security_status {
	uint32_t present;		/* SECURITY_ID, TRADING_STATUS */
	uint64_t transact_time_ns;
	int32_t security_id;		/* absent: the status is the group's / asset's */
	uint16_t trade_date;
	uint8_t match_event;
	uint8_t trading_status;		/* SecurityTradingStatus */
	uint8_t halt_reason;
	uint8_t trading_event;
	char security_group[6];		/* NUL padded, not terminated */
	char asset[6];
};

/* 52 SnapshotFullRefresh and 53 SnapshotFullRefreshOrderBook roots (53: no RptSeq, limits). */
struct mdp3_snapshot {
	uint32_t present;		/* RPT_SEQ, TRADING_STATUS, HIGH_LIMIT, LOW_LIMIT, VARIATION */
	uint32_t last_msg_seq;		/* LastMsgSeqNumProcessed */
	uint32_t tot_num_reports;
	int32_t security_id;
	uint32_t rpt_seq;
	uint32_t chunks;		/* 53: NoChunks (52: 1) */
	uint32_t chunk;			/* 53: CurrentChunk, 1-based (52: 1) */
	uint64_t transact_time_ns;
	uint64_t last_update_ns;	/* 52 */
	uint16_t trade_date;		/* 52 */
	uint8_t trading_status;
	int64_t high_limit, low_limit, max_variation;
};

/* 54, 55, 56: what a book builder needs of a definition (§7.11). */
struct mdp3_definition {
	uint32_t present;		/* TOT_REPORTS, TRADING_STATUS, MIN_INCREMENT, UNIT_QTY, GUID, STRIKE */
	uint64_t last_update_ns;
	uint64_t instrument_guid;	/* from v10 */
	int64_t min_price_increment;	/* PRICE9 */
	int64_t display_factor;		/* Decimal9 mantissa */
	int64_t unit_of_measure_qty;	/* Decimal9 mantissa */
	int64_t strike_price;		/* 55 */
	uint32_t tot_num_reports;
	int32_t security_id;
	int16_t appl_id;		/* the channel */
	int8_t depth;			/* MarketDepth of GBX; 0: none given */
	int8_t implied_depth;		/* MarketDepth of GBI; 0: none given */
	uint8_t match_event;
	uint8_t trading_status;
	uint8_t put_or_call;		/* 55: 0 put, 1 call */
	char update_action;		/* SecurityUpdateAction 'A' 'D' 'M' */
	char symbol[20];		/* NUL padded, not terminated */
	char security_group[6];
	char asset[6];
	char security_type[6];
};

/* 56: a NoLegs entry. */
struct mdp3_leg {
	uint32_t present;		/* PRICE */
	int64_t price;
	int32_t security_id;
	uint8_t side;			/* 1 buy, 2 sell */
	int8_t ratio;
};

/* The root of an incremental template (4, 37, 46-51, 64, 65). */
void mdp3_event_read(const struct mdp3_message *message, struct mdp3_event *event);

/* Number of NoMDEntries entries (group 0) of a template that has the group. */
uint32_t mdp3_md_entries(const struct mdp3_message *message);

/*
 * Entry i < mdp3_md_entries of 4, 37, 46, 48, 49, 50, 51, 52, 64, 65: true and *entry
 * filled, or false when a value is refused (bad_field counted; use nothing of it).
 */
bool mdp3_md_entry_read(const struct mdp3_message *message, uint32_t i,
			struct mdp3_md_entry *entry, struct mdp3_stats *stats);

/* Number of orders: NoOrderIDEntries of 46/48/64/65, NoMDEntries of 47/53. */
uint32_t mdp3_orders(const struct mdp3_message *message);

/* Order i < mdp3_orders: true and *order filled, or false (bad_field counted). */
bool mdp3_order_read(const struct mdp3_message *message, uint32_t i, struct mdp3_order *order,
		     struct mdp3_stats *stats);

/* 30: always readable (the root is checked long enough). */
void mdp3_security_status_read(const struct mdp3_message *message,
			       struct mdp3_security_status *status);

/* 52 or 53: true, or false when a limit price is INT64_MIN (bad_field counted). */
bool mdp3_snapshot_read(const struct mdp3_message *message, struct mdp3_snapshot *snapshot,
			struct mdp3_stats *stats);

/* 54, 55, 56: true, or false when a price is INT64_MIN (bad_field counted). */
bool mdp3_definition_read(const struct mdp3_message *message, struct mdp3_definition *definition,
			  struct mdp3_stats *stats);

/* Number of NoLegs entries of a 56 (0 for 54 and 55). */
uint32_t mdp3_legs(const struct mdp3_message *message);

/* Leg i < mdp3_legs: true, or false (bad_field counted). */
bool mdp3_leg_read(const struct mdp3_message *message, uint32_t i, struct mdp3_leg *leg,
		   struct mdp3_stats *stats);

#endif
