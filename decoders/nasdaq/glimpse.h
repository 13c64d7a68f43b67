/*
 * glimpse: how NASDAQ takes a snapshot, the GLIMPSE client of a feed with a snapshot
 * section (recovery_snapshot_ops, decoders/recovery.h), over SoupBinTCP (soupbin.h).
 * A wanted snapshot logs in (again after a failed login, up to snapshot.retries
 * times) and is handed over as RECOVERY_SNAPSHOT_DATA entries, its ITCH messages
 * framed as a MoldUDP64 packet, then END (with the Login Accepted's session, spaces
 * trimmed) or FAILED; each entry carries the want's snapshot_id. A cancel of that id
 * closes the connection and says nothing more.
 *
 * Snapshot messages are data: they never take the reply queue's last entries, so
 * END, RESTART and FAILED find room behind them once the RX lcore takes any.
 */
#ifndef FH_DECODERS_NASDAQ_GLIMPSE_H
#define FH_DECODERS_NASDAQ_GLIMPSE_H

#include "decoders/recovery.h"

extern const struct recovery_snapshot_ops glimpse_snapshot_ops;

#endif
