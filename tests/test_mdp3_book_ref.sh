#!/usr/bin/env bash
# The MDP3 books (book/mdp3/, through decoders/cme_mdp3/mdp3_apply) against the
# independent reference model tests/ref_mdp3.py (written from the doc, no fh code):
# random clean one-line sessions of several seeds, crafted by ref_mdp3.py craft
# from a spec this script writes (definitions with depths from 1 to 12 and changing
# mid-session, 46 entries of the outright and implied books with every MDUpdateAction,
# levels out of range, null prices and order counts, 'J' book resets, channel
# resets, MBO orders by 47 and by 46 ReferenceID, unknown order deletes), then the
# multiple-depth, implied and order books printed by build/mdp3-book-replay and by
# `ref_mdp3.py pcap --book mbp|implied|mbo` must be the same files, and the C books
# must pass mdp3_book_check. Prices are drawn between their neighbours, since the C
# book refuses an update out of price order and the reference keeps it (ref_mdp3.md
# item 15). Then clean sessions of fh-pcap gen --protocol cme-mdp3 (line A applied in
# capture order): the MBP books must equal the generator's true books and the
# reference's, the order books the reference's. Usage: test_mdp3_book_ref.sh [REPLAY_BINARY].
source "$(dirname "$0")/lib.sh"
REPLAY=${1:-$B/mdp3-book-replay}
[ -x "$REPLAY" ] || { echo "SKIP: $REPLAY not built"; exit 77; }

# spec SEED OUT.json: a random session.
spec() {
	python3 - "$1" "$2" <<'PY'
import json, random, sys
rnd = random.Random(int(sys.argv[1]))
TICK = 250000000                  # 0.25 in PRICE9
ids = [rnd.randrange(1, 2**31 - 1) for _ in range(5)]
depth = {s: 10 for s in ids}      # the default without a definition
implied = {s: 2 for s in ids}
books = {}                        # (id, kind, side) -> slots (None or price)
orders = {s: {} for s in ids}
rpt = {s: 0 for s in ids}
packets, seq = [], [0]

def slots(s, kind, side):
    d = depth[s] if kind == 'o' else implied[s]
    b = books.setdefault((s, kind, side), [])
    b[:] = (b + [None] * d)[:d]
    return b

def packet(messages):
    seq[0] += 1
    packets.append({"seq": seq[0], "sending_time": seq[0], "messages": messages})

def definition(s, action='A'):
    feeds = []
    if rnd.random() < 0.9:
        depth[s] = rnd.randint(1, 12)
        feeds.append({"MDFeedType": "GBX", "MarketDepth": depth[s]})
    if rnd.random() < 0.7:
        implied[s] = rnd.randint(1, 3)
        feeds.append({"MDFeedType": "GBI", "MarketDepth": implied[s]})
    return {"template": 54, "version": 13,
            "root": {"Symbol": "S%d" % ids.index(s), "SecurityID": s, "SecurityUpdateAction": action},
            "groups": {"NoMDFeedTypes": feeds}}

def better(side, a, b):          # a strictly better than b
    return a > b if side == 0 else a < b

def pick(side, above, below):
    """A price strictly worse than above and strictly better than below, or None."""
    base = 4000 * 10**9
    sgn = 1 if side == 0 else -1
    hi = above if above is not None else base + sgn * 40 * TICK
    lo = below if below is not None else base - sgn * 40 * TICK
    cands = [p for p in range(min(hi, lo), max(hi, lo) + 1, TICK)
             if (above is None or better(side, above, p)) and (below is None or better(side, p, below))]
    return rnd.choice(cands) if cands else None

def level_entry(s, kind, entries):
    side = rnd.randrange(2)
    b = slots(s, kind, side)
    d = len(b)
    act = rnd.choices([0, 1, 2, 3, 4, 5], [45, 25, 20, 2, 4, 4])[0]
    lvl = rnd.randint(1, d) if rnd.random() < 0.93 else rnd.choice([0, d + 1, 255])
    e = {"SecurityID": s, "MDEntryType": ("01" if kind == 'o' else "EF")[side], "MDUpdateAction": act,
         "MDPriceLevel": lvl, "MDEntrySize": rnd.randrange(1, 900)}
    if rnd.random() < 0.8:
        e["NumberOfOrders"] = rnd.randrange(1, 40)
    ok = 1 <= lvl <= d
    if act in (0, 1, 5):
        i = lvl - 1
        above = next((b[k] for k in range(min(i, d) - 1, -1, -1) if b[k] is not None), None) if ok else None
        rng = range(i, d - 1) if act == 0 else range(i + 1, d)
        below = next((b[k] for k in rng if b[k] is not None), None) if ok else None
        p = pick(side, above, below) if ok else 4000 * 10**9
        if p is None:
            return None
        if rnd.random() < 0.03:
            p = None                      # null price: refused, no shift
        if p is not None:
            e["MDEntryPx"] = p
        if ok and p is not None:
            if act == 0:
                b.insert(i, p)
                b.pop()
            else:
                b[i] = p
    elif act == 2:
        if ok:
            b.pop(lvl - 1)
            b.append(None)
    elif act == 3:
        b[:] = [None] * d
    else:
        n = min(lvl, d)
        b[:] = b[n:] + [None] * n
    rpt[s] += 1
    e["RptSeq"] = rpt[s]
    entries.append(e)
    return e

packet([definition(s) for s in ids[:3]])
for _ in range(600):
    messages = []
    r = rnd.random()
    if r < 0.003:
        packet([{"template": 4, "version": 13, "root": {"TransactTime": 1, "MatchEventIndicator": 128},
                 "groups": {"NoMDEntries": [{"ApplID": 310}]}}])
        books.clear()
        for s in ids:
            orders[s].clear()
            rpt[s] = 0
        continue
    if r < 0.02:
        packet([definition(rnd.choice(ids), 'M')])
        continue
    entries, order_entries = [], []
    for _ in range(rnd.randint(1, 6)):
        s = rnd.choice(ids)
        if rnd.random() < 0.004:
            rpt[s] += 1
            entries.append({"SecurityID": s, "MDEntryType": "J", "MDUpdateAction": 0, "RptSeq": rpt[s]})
            for k in list(books):
                if k[0] == s:
                    del books[k]
            orders[s].clear()
            continue
        e = level_entry(s, 'o' if rnd.random() < 0.75 else 'i', entries)
        if e is not None and e["MDEntryType"] in "01" and "MDEntryPx" in e and rnd.random() < 0.5:
            oid = rnd.choice(list(orders[s]) or [None]) if rnd.random() < 0.4 else None
            oid = oid if oid is not None else rnd.randrange(1, 10**12)
            o = {"OrderID": oid, "MDDisplayQty": rnd.randrange(1, 100), "ReferenceID": len(entries),
                 "OrderUpdateAction": 0 if oid not in orders[s] else rnd.choice([1, 2])}
            if rnd.random() < 0.85:
                o["MDOrderPriority"] = rnd.randrange(1, 10**9)
            if o["OrderUpdateAction"] == 2:
                del orders[s][oid]
            else:
                orders[s][oid] = 1
            order_entries.append(o)
    if entries:
        messages.append({"template": 46, "version": rnd.choice([9, 13]),
                         "root": {"TransactTime": 1, "MatchEventIndicator": 128},
                         "groups": {"NoMDEntries": entries, "NoOrderIDEntries": order_entries}})
    mbo = []
    for _ in range(rnd.randint(0, 4)):
        s = rnd.choice([s for s in ids if rpt[s] > 0] or [None])
        if s is None:
            break
        side = rnd.randrange(2)
        known = list(orders[s])
        act = rnd.choice([0, 0, 1, 2]) if known else 0
        oid = rnd.choice(known) if act and known else rnd.randrange(1, 10**12)
        if act == 2 and rnd.random() < 0.1:
            oid = rnd.randrange(1, 10**12)          # an unknown delete: counted, no change
        o = {"OrderID": oid, "MDEntryPx": 4000 * 10**9 + (1 if side else -1) * rnd.randrange(0, 60) * TICK,
             "MDDisplayQty": rnd.randrange(1, 100), "SecurityID": s, "MDUpdateAction": act,
             "MDEntryType": "01"[side]}
        if rnd.random() < 0.85:
            o["MDOrderPriority"] = rnd.randrange(1, 10**9)
        if act == 2:
            orders[s].pop(oid, None)
        else:
            orders[s][oid] = 1
        mbo.append(o)
    if mbo:
        messages.append({"template": 47, "version": 13, "root": {"TransactTime": 1, "MatchEventIndicator": 128},
                         "groups": {"NoMDEntries": mbo}})
    if messages:
        packet(messages)
json.dump({"packets": packets}, open(sys.argv[2], "w"))
PY
}

for seed in 1 2 3 4 5 6; do
	spec $seed "$TMP/s$seed.json" || fail "seed $seed: the spec"
	python3 "$ROOT/tests/ref_mdp3.py" craft "$TMP/s$seed.json" "$TMP/s$seed.pcap" || fail "seed $seed: craft"
	for book in mbp implied mbo; do
		python3 "$ROOT/tests/ref_mdp3.py" pcap "$TMP/s$seed.pcap" --book $book >"$TMP/ref-$seed-$book" ||
			fail "seed $seed: ref_mdp3.py pcap --book $book"
		"$REPLAY" "$TMP/s$seed.pcap" $book >"$TMP/c-$seed-$book" 2>"$TMP/c-$seed-$book.err" ||
			fail "seed $seed: mdp3-book-replay $book: $(cat "$TMP/c-$seed-$book.err")"
		if ! cmp -s "$TMP/ref-$seed-$book" "$TMP/c-$seed-$book"; then
			diff "$TMP/ref-$seed-$book" "$TMP/c-$seed-$book" | head -10
			fail "seed $seed: the $book books differ from ref_mdp3.py's"
		fi
	done
	# Each session must leave real books, and the C side must have refused what the doc refuses.
	levels=$(wc -l <"$TMP/c-$seed-mbp")
	[ "$levels" -ge 5 ] && [ -s "$TMP/c-$seed-implied" ] && [ -s "$TMP/c-$seed-mbo" ] ||
		fail "seed $seed: a book came out empty ($levels levels)"
	grep -q 'bad_level [1-9]' "$TMP/c-$seed-mbp.err" || fail "seed $seed: no bad level in the session"
	echo "seed $seed: $levels levels, $(wc -l <"$TMP/c-$seed-implied") implied, $(wc -l <"$TMP/c-$seed-mbo") orders, the same as ref_mdp3.py; $(sed 's/^mdp3-book-replay: //' "$TMP/c-$seed-mbp.err")"
done

for seed in 3 11; do
	g=$TMP/gen$seed
	"$B/fh-pcap" gen --protocol cme-mdp3 --seed $seed --messages 20000 --instruments 40 --out "$g.pcap" \
		--books "$g.true" --orders "$g.true-orders" >/dev/null 2>"$g.gen-err" ||
		fail "gen seed $seed: fh-pcap gen: $(cat "$g.gen-err")"
	"$REPLAY" "$g.pcap" mbp >"$g.mbp" 2>/dev/null || fail "gen seed $seed: mdp3-book-replay mbp"
	"$REPLAY" "$g.pcap" mbo >"$g.mbo" 2>/dev/null || fail "gen seed $seed: mdp3-book-replay mbo"
	python3 "$ROOT/tests/ref_mdp3.py" pcap "$g.pcap" >"$g.ref-mbp" || fail "gen seed $seed: ref_mdp3.py"
	python3 "$ROOT/tests/ref_mdp3.py" pcap "$g.pcap" --book mbo >"$g.ref-mbo" || fail "gen seed $seed: ref_mdp3.py mbo"
	[ -s "$g.mbp" ] && cmp -s "$g.mbp" "$g.true" && cmp -s "$g.mbp" "$g.ref-mbp" ||
		fail "gen seed $seed: the MBP books differ from the generator's true books or ref_mdp3.py's"
	[ -s "$g.mbo" ] && cmp -s "$g.mbo" "$g.ref-mbo" || fail "gen seed $seed: the order books differ from ref_mdp3.py's"
	echo "gen seed $seed: $(wc -l <"$g.mbp") levels and $(wc -l <"$g.mbo") orders, the same as the true books and ref_mdp3.py's"
done
finish
