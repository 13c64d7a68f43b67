/*
 * mdp3_templates: the byte layout of the CME MDP 3.0 templates fh decodes (schema id 1,
 * versions 9 to 13), as constants: template ids, root and group-entry field offsets,
 * the shortest root or entry that holds the fields read, and the null values. Offsets
 * are those of docs/cme-mdp3.md §5 (CME's templates_FixBinary.xml, v13), counted from
 * the first byte after the SBE message header (root) or of the entry (group). A field
 * marked "since N" exists only in a message of version >= N whose wire blockLength
 * holds it (§2.3); every other field read here exists in every version from 9 on.
 */
#ifndef FH_DECODERS_CME_MDP3_MDP3_TEMPLATES_H
#define FH_DECODERS_CME_MDP3_MDP3_TEMPLATES_H

#include <stdint.h>

/* Template ids (§3). */
enum mdp3_template {
	MDP3_CHANNEL_RESET = 4,
	MDP3_ADMIN_HEARTBEAT = 12,
	MDP3_SECURITY_STATUS = 30,
	MDP3_VOLUME = 37,
	MDP3_BOOK = 46,
	MDP3_ORDER_BOOK = 47,
	MDP3_TRADE_SUMMARY = 48,
	MDP3_DAILY_STATISTICS = 49,
	MDP3_LIMITS_BANDING = 50,
	MDP3_SESSION_STATISTICS = 51,
	MDP3_SNAPSHOT = 52,
	MDP3_SNAPSHOT_ORDER_BOOK = 53,
	MDP3_DEFINITION_FUTURE = 54,
	MDP3_DEFINITION_OPTION = 55,
	MDP3_DEFINITION_SPREAD = 56,
	MDP3_BOOK_LONG_QTY = 64,
	MDP3_TRADE_SUMMARY_LONG_QTY = 65,
};
#define MDP3_TEMPLATE_ID_MAX 65		/* the largest id above */

/* Null values of the nullable types (§2.6). */
#define MDP3_PRICE_NULL INT64_MAX	/* PRICENULL9, Decimal9NULL mantissa */
#define MDP3_INT32_NULL INT32_MAX
#define MDP3_UINT32_NULL UINT32_MAX
#define MDP3_UINT64_NULL UINT64_MAX
#define MDP3_UINT8_NULL 0xff
#define MDP3_INT8_NULL 127
#define MDP3_DATE_NULL 0xffff		/* LocalMktDate */

/* Group dimension headers (§2.4): groupSize and groupSize8Byte. */
#define MDP3_GROUP_SIZE_LEN 3		/* blockLength u16 @0, numInGroup u8 @2 */
#define MDP3_GROUP_SIZE8_LEN 8		/* blockLength u16 @0, numInGroup u8 @7 */
#define MDP3_GROUP_SIZE8_COUNT 7

/* The root of the incremental templates 4, 37, 46-51, 64, 65. */
#define MDP3_INC_TRANSACT_TIME 0	/* u64 */
#define MDP3_INC_MATCH_EVENT 8		/* u8 set */
#define MDP3_INC_ROOT_MIN 9

/* 4 ChannelReset: NoMDEntries entries (MDUpdateAction 0, MDEntryType 'J' constant). */
#define MDP3_RESET_APPL_ID 0		/* i16 */
#define MDP3_RESET_ENTRY_MIN 2

/* 30 SecurityStatus root. */
#define MDP3_STATUS_TRANSACT_TIME 0	/* u64 */
#define MDP3_STATUS_SECURITY_GROUP 8	/* char[6] */
#define MDP3_STATUS_ASSET 14		/* char[6] */
#define MDP3_STATUS_SECURITY_ID 20	/* i32 null */
#define MDP3_STATUS_TRADE_DATE 24	/* u16 LocalMktDate */
#define MDP3_STATUS_MATCH_EVENT 26	/* u8 set */
#define MDP3_STATUS_TRADING_STATUS 27	/* u8 null */
#define MDP3_STATUS_HALT_REASON 28	/* u8 */
#define MDP3_STATUS_TRADING_EVENT 29	/* u8 */
#define MDP3_STATUS_ROOT_MIN 30

/* 37 Volume: NoMDEntries entries (MDEntryType 'e' constant). */
#define MDP3_VOLUME_SIZE 0		/* i32 */
#define MDP3_VOLUME_SECURITY_ID 4	/* i32 */
#define MDP3_VOLUME_RPT_SEQ 8		/* u32 */
#define MDP3_VOLUME_ACTION 12		/* u8 */
#define MDP3_VOLUME_ENTRY_MIN 13

/* 46 Book: NoMDEntries entries. */
#define MDP3_BOOK_PRICE 0		/* i64 null */
#define MDP3_BOOK_SIZE 8		/* i32 null */
#define MDP3_BOOK_SECURITY_ID 12	/* i32 */
#define MDP3_BOOK_RPT_SEQ 16		/* u32 */
#define MDP3_BOOK_ORDERS 20		/* i32 null */
#define MDP3_BOOK_LEVEL 24		/* u8 */
#define MDP3_BOOK_ACTION 25		/* u8 */
#define MDP3_BOOK_ENTRY_TYPE 26		/* char */
#define MDP3_BOOK_TRADEABLE_SIZE 27	/* i32 null, since 10 */
#define MDP3_BOOK_TRADEABLE_SINCE 10
#define MDP3_BOOK_ENTRY_MIN 27

/* 46 and 64: NoOrderIDEntries entries (groupSize8Byte). */
#define MDP3_BOOK_ORDER_ID 0		/* u64 */
#define MDP3_BOOK_ORDER_PRIORITY 8	/* u64 null */
#define MDP3_BOOK_ORDER_DISPLAY_QTY 16	/* i32 null */
#define MDP3_BOOK_ORDER_REFERENCE 20	/* u8 null: 1-based NoMDEntries index */
#define MDP3_BOOK_ORDER_ACTION 21	/* u8 OrderUpdateAction */
#define MDP3_BOOK_ORDER_ENTRY_MIN 22

/* 47 OrderBook: NoMDEntries entries. */
#define MDP3_ORDER_ORDER_ID 0		/* u64 null */
#define MDP3_ORDER_PRIORITY 8		/* u64 null */
#define MDP3_ORDER_PRICE 16		/* i64 null */
#define MDP3_ORDER_DISPLAY_QTY 24	/* i32 null */
#define MDP3_ORDER_SECURITY_ID 28	/* i32 */
#define MDP3_ORDER_ACTION 32		/* u8 */
#define MDP3_ORDER_ENTRY_TYPE 33	/* char */
#define MDP3_ORDER_ENTRY_MIN 34

/* 48 TradeSummary: NoMDEntries entries (MDEntryType '2' constant). */
#define MDP3_TRADE_PRICE 0		/* i64 */
#define MDP3_TRADE_SIZE 8		/* i32 */
#define MDP3_TRADE_SECURITY_ID 12	/* i32 */
#define MDP3_TRADE_RPT_SEQ 16		/* u32 */
#define MDP3_TRADE_ORDERS 20		/* i32 */
#define MDP3_TRADE_AGGRESSOR 24		/* u8 null */
#define MDP3_TRADE_ACTION 25		/* u8 */
#define MDP3_TRADE_ENTRY_ID 26		/* u32 null */
#define MDP3_TRADE_ENTRY_MIN 30

/* 48 and 65: NoOrderIDEntries entries (groupSize8Byte). */
#define MDP3_TRADE_ORDER_ID 0		/* u64 */
#define MDP3_TRADE_ORDER_LAST_QTY 8	/* i32 */
#define MDP3_TRADE_ORDER_ENTRY_MIN 12

/* 49 DailyStatistics: NoMDEntries entries. */
#define MDP3_DAILY_PRICE 0		/* i64 null */
#define MDP3_DAILY_SIZE 8		/* i32 null */
#define MDP3_DAILY_SECURITY_ID 12	/* i32 */
#define MDP3_DAILY_RPT_SEQ 16		/* u32 */
#define MDP3_DAILY_REFERENCE_DATE 20	/* u16 LocalMktDate */
#define MDP3_DAILY_SETTL_TYPE 22	/* u8 set */
#define MDP3_DAILY_ACTION 23		/* u8 */
#define MDP3_DAILY_ENTRY_TYPE 24	/* char */
#define MDP3_DAILY_ENTRY_MIN 25

/* 50 LimitsBanding: NoMDEntries entries (action 0 and MDEntryType 'g' constant). */
#define MDP3_LIMITS_HIGH 0		/* i64 null */
#define MDP3_LIMITS_LOW 8		/* i64 null */
#define MDP3_LIMITS_VARIATION 16	/* i64 null */
#define MDP3_LIMITS_SECURITY_ID 24	/* i32 */
#define MDP3_LIMITS_RPT_SEQ 28		/* u32 */
#define MDP3_LIMITS_ENTRY_MIN 32

/* 51 SessionStatistics: NoMDEntries entries. */
#define MDP3_SESSION_PRICE 0		/* i64 */
#define MDP3_SESSION_SECURITY_ID 8	/* i32 */
#define MDP3_SESSION_RPT_SEQ 12		/* u32 */
#define MDP3_SESSION_OPEN_CLOSE 16	/* u8 null */
#define MDP3_SESSION_ACTION 17		/* u8 */
#define MDP3_SESSION_ENTRY_TYPE 18	/* char */
#define MDP3_SESSION_SIZE 19		/* i32 null */
#define MDP3_SESSION_ENTRY_MIN 23

/* 52 SnapshotFullRefresh root. */
#define MDP3_SNAP_LAST_MSG_SEQ 0	/* u32 LastMsgSeqNumProcessed */
#define MDP3_SNAP_TOT_REPORTS 4		/* u32 */
#define MDP3_SNAP_SECURITY_ID 8		/* i32 */
#define MDP3_SNAP_RPT_SEQ 12		/* u32 */
#define MDP3_SNAP_TRANSACT_TIME 16	/* u64 */
#define MDP3_SNAP_LAST_UPDATE 24	/* u64 */
#define MDP3_SNAP_TRADE_DATE 32		/* u16 */
#define MDP3_SNAP_TRADING_STATUS 34	/* u8 null */
#define MDP3_SNAP_HIGH_LIMIT 35		/* i64 null */
#define MDP3_SNAP_LOW_LIMIT 43		/* i64 null */
#define MDP3_SNAP_VARIATION 51		/* i64 null */
#define MDP3_SNAP_ROOT_MIN 59
/* 52: NoMDEntries entries. */
#define MDP3_SNAP_PRICE 0		/* i64 null */
#define MDP3_SNAP_SIZE 8		/* i32 null */
#define MDP3_SNAP_ORDERS 12		/* i32 null */
#define MDP3_SNAP_LEVEL 16		/* i8 null */
#define MDP3_SNAP_REFERENCE_DATE 17	/* u16 */
#define MDP3_SNAP_OPEN_CLOSE 19		/* u8 null */
#define MDP3_SNAP_SETTL_TYPE 20		/* u8 set */
#define MDP3_SNAP_ENTRY_TYPE 21		/* char */
#define MDP3_SNAP_ENTRY_MIN 22

/* 53 SnapshotFullRefreshOrderBook root. */
#define MDP3_SNAPO_LAST_MSG_SEQ 0	/* u32 */
#define MDP3_SNAPO_TOT_REPORTS 4	/* u32 */
#define MDP3_SNAPO_SECURITY_ID 8	/* i32 */
#define MDP3_SNAPO_CHUNKS 12		/* u32 NoChunks */
#define MDP3_SNAPO_CHUNK 16		/* u32 CurrentChunk */
#define MDP3_SNAPO_TRANSACT_TIME 20	/* u64 */
#define MDP3_SNAPO_ROOT_MIN 28
/* 53: NoMDEntries entries (orders). */
#define MDP3_SNAPO_ORDER_ID 0		/* u64 */
#define MDP3_SNAPO_PRIORITY 8		/* u64 null */
#define MDP3_SNAPO_PRICE 16		/* i64 */
#define MDP3_SNAPO_DISPLAY_QTY 24	/* i32 */
#define MDP3_SNAPO_ENTRY_TYPE 28	/* char */
#define MDP3_SNAPO_ENTRY_MIN 29

/*
 * 54, 55, 56 definitions: the fields at the same offset in all three, then each one's
 * own. The groups, in order: NoEvents, NoMDFeedTypes, NoInstAttrib, NoLotTypeRules,
 * then 55: NoUnderlyings, NoRelatedInstruments; 56: NoLegs.
 */
#define MDP3_DEF_MATCH_EVENT 0		/* u8 set */
#define MDP3_DEF_TOT_REPORTS 1		/* u32 null */
#define MDP3_DEF_UPDATE_ACTION 5	/* char A/D/M */
#define MDP3_DEF_LAST_UPDATE 6		/* u64 */
#define MDP3_DEF_TRADING_STATUS 14	/* u8 null */
#define MDP3_DEF_APPL_ID 15		/* i16 */
#define MDP3_DEF_SECURITY_GROUP 23	/* char[6] */
#define MDP3_DEF_ASSET 29		/* char[6] */
#define MDP3_DEF_SYMBOL 35		/* char[20] */
#define MDP3_DEF_SECURITY_ID 55		/* i32 */
#define MDP3_DEF_SECURITY_TYPE 59	/* char[6] */
#define MDP3_DEF_GUID_SINCE 10		/* InstrumentGUID u64 null, since 10 */

#define MDP3_FUT_MIN_INCREMENT 91	/* i64 (PRICE9) */
#define MDP3_FUT_DISPLAY_FACTOR 99	/* i64 (Decimal9) */
#define MDP3_FUT_UNIT_QTY 140		/* i64 null (Decimal9NULL) */
#define MDP3_FUT_GUID 216
#define MDP3_FUT_ROOT_MIN 216		/* v9's blockLength: everything but InstrumentGUID */

#define MDP3_OPT_PUT_OR_CALL 71		/* u8 */
#define MDP3_OPT_STRIKE 80		/* i64 null */
#define MDP3_OPT_MIN_INCREMENT 111	/* i64 null */
#define MDP3_OPT_DISPLAY_FACTOR 127	/* i64 */
#define MDP3_OPT_UNIT_QTY 169		/* i64 null */
#define MDP3_OPT_GUID 213
#define MDP3_OPT_ROOT_MIN 213

#define MDP3_SPREAD_MIN_INCREMENT 94	/* i64 null */
#define MDP3_SPREAD_DISPLAY_FACTOR 102	/* i64 */
#define MDP3_SPREAD_GUID 212
#define MDP3_SPREAD_ROOT_MIN 195

/* Definitions' NoMDFeedTypes entries (group 1). */
#define MDP3_FEED_TYPE 0		/* char[3] "GBX" / "GBI" */
#define MDP3_FEED_DEPTH 3		/* i8 MarketDepth */
#define MDP3_FEED_ENTRY_MIN 4

/* 56: NoLegs entries (group 4). */
#define MDP3_LEG_SECURITY_ID 0		/* i32 */
#define MDP3_LEG_SIDE 4			/* u8 1 buy, 2 sell */
#define MDP3_LEG_RATIO 5		/* i8 */
#define MDP3_LEG_PRICE 6		/* i64 null */
#define MDP3_LEG_ENTRY_MIN 14

/* 64 BookLongQty: NoMDEntries entries (orders as 46's). */
#define MDP3_BOOKL_PRICE 0		/* i64 null */
#define MDP3_BOOKL_SIZE 8		/* u64 null */
#define MDP3_BOOKL_SECURITY_ID 16	/* i32 */
#define MDP3_BOOKL_RPT_SEQ 20		/* u32 */
#define MDP3_BOOKL_ORDERS 24		/* i32 null */
#define MDP3_BOOKL_LEVEL 28		/* u8 */
#define MDP3_BOOKL_ACTION 29		/* u8 */
#define MDP3_BOOKL_ENTRY_TYPE 30	/* char */
#define MDP3_BOOKL_ENTRY_MIN 31

/* 65 TradeSummaryLongQty: NoMDEntries entries (orders as 48's). */
#define MDP3_TRADEL_PRICE 0		/* i64 */
#define MDP3_TRADEL_SIZE 8		/* u64 */
#define MDP3_TRADEL_SECURITY_ID 16	/* i32 */
#define MDP3_TRADEL_RPT_SEQ 20		/* u32 */
#define MDP3_TRADEL_ORDERS 24		/* i32 */
#define MDP3_TRADEL_ENTRY_ID 28		/* u32 */
#define MDP3_TRADEL_AGGRESSOR 32	/* u8 null */
#define MDP3_TRADEL_ACTION 33		/* u8 */
#define MDP3_TRADEL_ENTRY_MIN 34

#endif
