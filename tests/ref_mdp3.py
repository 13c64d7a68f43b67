#!/usr/bin/env python3
"""Independent reference model of CME MDP 3.0 for fh's tests.

Written from issue 23's protocol notes cme-mdp3.md (wire format, templates, section 7 book
semantics and recovery) and the MDP3 section of the canonical book dump
(book-dump.md) alone; it shares no code or data structure with fh. tests/ref_mdp3.md
lists what it implements and every place where the doc left a choice.

  ref_mdp3.py pcap FILE [--feed cme] [--line NAME=IP:PORT] [--book mbp|implied|mbo]
                        [--states OUT] [--stats] [--channel N] [--max-version N]
                        [--hold N]
  ref_mdp3.py craft SPEC.json OUT.pcap     (spec format: see craft_spec below)
  ref_mdp3.py selftest

Line names and their defaults (channel 310, cme-mdp3.md section 8): incA
224.0.31.1:14310, incB 224.0.32.1:15310 (incremental), snapA 224.0.31.22:14310,
snapB 224.0.32.22:15310 (snapshot loop, 52), smboA 233.72.75.1:23310, smboB
233.72.75.64:22310 (snapshot-MBO loop, 53), defA 224.0.31.43:14310, defB
224.0.32.43:15310 (instrument replay). `--line snapA=` switches a line off.

Model, in short: incremental packets are collected from both lines, first copy of a
MsgSeqNum wins, and applied in MsgSeqNum order. Messages of the other lines
(snapshots, definitions) are delivered at the point of that order they arrived at:
after every incremental packet whose MsgSeqNum is at most the highest one captured
before them. Sequencing is per instrument, by RptSeq; see ref_mdp3.md.
"""
import json
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref_book import ip_bytes, line_frames, line_map  # noqa: E402  (capture reading only)

I8N, U8N, I32N, U32N, U64N, I64N = 127, 255, 2**31 - 1, 2**32 - 1, 2**64 - 1, 2**63 - 1
INT64_MIN = -2**63

# ---------------------------------------------------------------- schema tables
# A field: (name, offset, struct format, sinceVersion, null value or None, required).
# "required" marks what this model needs: a message where a required field does not
# fit in the wire blockLength is malformed. Only the fields a book builder reads (and
# a few for realism) are listed; the encoder leaves the other bytes zero.


def F(name, off, fmt, since=0, null=None, req=False):
    return (name, off, fmt, since, null, req)


MEI = F('MatchEventIndicator', 8, 'B')
TT = F('TransactTime', 0, 'Q')
DEF_ROOT = [
    F('MatchEventIndicator', 0, 'B'), F('TotNumReports', 1, 'I', null=U32N),
    F('SecurityUpdateAction', 5, 'c', req=True), F('LastUpdateTime', 6, 'Q'),
    F('MDSecurityTradingStatus', 14, 'B', null=U8N), F('ApplID', 15, 'h'),
    F('MarketSegmentID', 17, 'B'), F('SecurityExchange', 19, '4s'),
    F('SecurityGroup', 23, '6s'), F('Asset', 29, '6s'), F('Symbol', 35, '20s', req=True),
    F('SecurityID', 55, 'i', req=True), F('SecurityType', 59, '6s'), F('CFICode', 65, '6s'),
]
DEF_GROUPS = [
    ('NoEvents', 'gs', 9, [F('EventType', 0, 'B'), F('EventTime', 1, 'Q')]),
    ('NoMDFeedTypes', 'gs', 4, [F('MDFeedType', 0, '3s', req=True),
                                F('MarketDepth', 3, 'b', req=True)]),
    ('NoInstAttrib', 'gs', 4, [F('InstAttribValue', 0, 'I')]),
    ('NoLotTypeRules', 'gs', 5, [F('LotType', 0, 'b'), F('MinLotSize', 1, 'i', null=I32N)]),
]
TEMPLATES = {
    4: dict(name='ChannelReset4', root=(9,), fields=[TT, MEI],
            groups=[('NoMDEntries', 'gs', 2, [F('ApplID', 0, 'h', 3)])]),
    12: dict(name='AdminHeartbeat12', root=(0,), fields=[], groups=[]),
    30: dict(name='SecurityStatus30', root=(30,), fields=[
        TT, F('SecurityGroup', 8, '6s'), F('Asset', 14, '6s'),
        F('SecurityID', 20, 'i', null=I32N), F('TradeDate', 24, 'H', null=65535),
        F('MatchEventIndicator', 26, 'B'), F('SecurityTradingStatus', 27, 'B', null=U8N),
        F('HaltReason', 28, 'B'), F('SecurityTradingEvent', 29, 'B')], groups=[]),
    37: dict(name='MDIncrementalRefreshVolume37', root=(11,), fields=[TT, MEI], groups=[
        ('NoMDEntries', 'gs', 16, [F('MDEntrySize', 0, 'i'), F('SecurityID', 4, 'i', req=True),
                                   F('RptSeq', 8, 'I', req=True), F('MDUpdateAction', 12, 'B')])]),
    46: dict(name='MDIncrementalRefreshBook46', root=(11,), fields=[TT, MEI], groups=[
        ('NoMDEntries', 'gs', 32, [
            F('MDEntryPx', 0, 'q', null=I64N), F('MDEntrySize', 8, 'i', null=I32N),
            F('SecurityID', 12, 'i', req=True), F('RptSeq', 16, 'I', req=True),
            F('NumberOfOrders', 20, 'i', null=I32N), F('MDPriceLevel', 24, 'B', req=True),
            F('MDUpdateAction', 25, 'B', req=True), F('MDEntryType', 26, 'c', req=True),
            F('TradeableSize', 27, 'i', 10, I32N)]),
        ('NoOrderIDEntries', 'g8', 24, [
            F('OrderID', 0, 'Q', req=True), F('MDOrderPriority', 8, 'Q', null=U64N),
            F('MDDisplayQty', 16, 'i', null=I32N), F('ReferenceID', 20, 'B', null=U8N, req=True),
            F('OrderUpdateAction', 21, 'B', req=True)])]),
    47: dict(name='MDIncrementalRefreshOrderBook47', root=(11,), fields=[TT, MEI], groups=[
        ('NoMDEntries', 'gs', 40, [
            F('OrderID', 0, 'Q', null=U64N, req=True), F('MDOrderPriority', 8, 'Q', null=U64N),
            F('MDEntryPx', 16, 'q', null=I64N), F('MDDisplayQty', 24, 'i', null=I32N),
            F('SecurityID', 28, 'i', req=True), F('MDUpdateAction', 32, 'B', req=True),
            F('MDEntryType', 33, 'c', req=True)])]),
    48: dict(name='MDIncrementalRefreshTradeSummary48', root=(11,), fields=[TT, MEI], groups=[
        ('NoMDEntries', 'gs', 32, [
            F('MDEntryPx', 0, 'q'), F('MDEntrySize', 8, 'i'), F('SecurityID', 12, 'i', req=True),
            F('RptSeq', 16, 'I', req=True), F('NumberOfOrders', 20, 'i'),
            F('AggressorSide', 24, 'B', null=U8N), F('MDUpdateAction', 25, 'B'),
            F('MDTradeEntryID', 26, 'I', null=U32N)]),
        ('NoOrderIDEntries', 'g8', 16, [F('OrderID', 0, 'Q'), F('LastQty', 8, 'i')])]),
    49: dict(name='MDIncrementalRefreshDailyStatistics49', root=(11,), fields=[TT, MEI], groups=[
        ('NoMDEntries', 'gs', 32, [
            F('MDEntryPx', 0, 'q', null=I64N), F('MDEntrySize', 8, 'i', null=I32N),
            F('SecurityID', 12, 'i', req=True), F('RptSeq', 16, 'I', req=True),
            F('TradingReferenceDate', 20, 'H', null=65535), F('SettlPriceType', 22, 'B'),
            F('MDUpdateAction', 23, 'B'), F('MDEntryType', 24, 'c')])]),
    50: dict(name='MDIncrementalRefreshLimitsBanding50', root=(11,), fields=[TT, MEI], groups=[
        ('NoMDEntries', 'gs', 32, [
            F('HighLimitPrice', 0, 'q', null=I64N), F('LowLimitPrice', 8, 'q', null=I64N),
            F('MaxPriceVariation', 16, 'q', null=I64N), F('SecurityID', 24, 'i', req=True),
            F('RptSeq', 28, 'I', req=True)])]),
    51: dict(name='MDIncrementalRefreshSessionStatistics51', root=(11,), fields=[TT, MEI], groups=[
        ('NoMDEntries', 'gs', 24, [
            F('MDEntryPx', 0, 'q'), F('SecurityID', 8, 'i', req=True), F('RptSeq', 12, 'I', req=True),
            F('OpenCloseSettlFlag', 16, 'B', null=U8N), F('MDUpdateAction', 17, 'B'),
            F('MDEntryType', 18, 'c'), F('MDEntrySize', 19, 'i', null=I32N)])]),
    52: dict(name='SnapshotFullRefresh52', root=(59,), fields=[
        F('LastMsgSeqNumProcessed', 0, 'I', req=True), F('TotNumReports', 4, 'I'),
        F('SecurityID', 8, 'i', req=True), F('RptSeq', 12, 'I', req=True),
        F('TransactTime', 16, 'Q'), F('LastUpdateTime', 24, 'Q'),
        F('TradeDate', 32, 'H', null=65535), F('MDSecurityTradingStatus', 34, 'B', null=U8N),
        F('HighLimitPrice', 35, 'q', null=I64N), F('LowLimitPrice', 43, 'q', null=I64N),
        F('MaxPriceVariation', 51, 'q', null=I64N)], groups=[
        ('NoMDEntries', 'gs', 22, [
            F('MDEntryPx', 0, 'q', null=I64N), F('MDEntrySize', 8, 'i', null=I32N),
            F('NumberOfOrders', 12, 'i', null=I32N), F('MDPriceLevel', 16, 'b', null=I8N),
            F('TradingReferenceDate', 17, 'H', null=65535),
            F('OpenCloseSettlFlag', 19, 'B', null=U8N), F('SettlPriceType', 20, 'B'),
            F('MDEntryType', 21, 'c', req=True)])]),
    53: dict(name='SnapshotFullRefreshOrderBook53', root=(28,), fields=[
        F('LastMsgSeqNumProcessed', 0, 'I', req=True), F('TotNumReports', 4, 'I'),
        F('SecurityID', 8, 'i', req=True), F('NoChunks', 12, 'I', req=True),
        F('CurrentChunk', 16, 'I', req=True), F('TransactTime', 20, 'Q')], groups=[
        ('NoMDEntries', 'gs', 29, [
            F('OrderID', 0, 'Q', req=True), F('MDOrderPriority', 8, 'Q', null=U64N),
            F('MDEntryPx', 16, 'q', req=True), F('MDDisplayQty', 24, 'i', req=True),
            F('MDEntryType', 28, 'c', req=True)])]),
    # Definitions: root blockLength v9, then v10 and later (InstrumentGUID appended).
    54: dict(name='MDInstrumentDefinitionFuture54', root=(216, 224), fields=DEF_ROOT + [
        F('MinPriceIncrement', 91, 'q'), F('DisplayFactor', 99, 'q'),
        F('InstrumentGUID', 216, 'Q', 10, U64N)], groups=DEF_GROUPS),
    55: dict(name='MDInstrumentDefinitionOption55', root=(213, 221), fields=DEF_ROOT + [
        F('PutOrCall', 71, 'B'), F('StrikePrice', 80, 'q', null=I64N),
        F('MinPriceIncrement', 111, 'q', null=I64N), F('DisplayFactor', 127, 'q'),
        F('InstrumentGUID', 213, 'Q', 10, U64N)], groups=DEF_GROUPS + [
        ('NoUnderlyings', 'gs', 24, [F('UnderlyingSecurityID', 0, 'i'),
                                     F('UnderlyingSymbol', 4, '20s')]),
        ('NoRelatedInstruments', 'gs', 24, [F('RelatedSecurityID', 0, 'i'),
                                            F('RelatedSymbol', 4, '20s')])]),
    56: dict(name='MDInstrumentDefinitionSpread56', root=(195, 255), fields=DEF_ROOT + [
        F('SecuritySubType', 79, '5s'), F('MinPriceIncrement', 94, 'q', null=I64N),
        F('DisplayFactor', 102, 'q'), F('PriceQuoteMethod', 195, '5s', 10),
        F('InstrumentGUID', 212, 'Q', 10, U64N),
        F('FinancialInstrumentFullName', 220, '35s', 10)], groups=DEF_GROUPS + [
        ('NoLegs', 'gs', 18, [F('LegSecurityID', 0, 'i'), F('LegSide', 4, 'B'),
                              F('LegRatioQty', 5, 'b'), F('LegPrice', 6, 'q', null=I64N),
                              F('LegOptionDelta', 14, 'i', null=I32N)])]),
}
SNAPSHOT_TEMPLATES = (52, 53)
DEFINITION_TEMPLATES = (54, 55, 56)
DIM = {'gs': (3, struct.Struct('<HB')), 'g8': (8, struct.Struct('<H5xB'))}


def root_len(tid, version):
    lens = TEMPLATES[tid]['root']
    return lens[0] if version < 10 or len(lens) == 1 else lens[1]


def fsize(fmt):
    return struct.calcsize('<' + fmt)


# ---------------------------------------------------------------- SBE encoder
def _enc_value(fmt, v, null):
    if v is None:
        v = null if null is not None else (b'' if fmt[-1] in 'sc' else 0)
    if fmt == 'c':
        v = v.encode('latin-1') if isinstance(v, str) else (bytes([v]) if isinstance(v, int) else v)
        return v[:1] or b'\0'
    if fmt.endswith('s'):
        return v.encode('latin-1') if isinstance(v, str) else bytes(v)
    return v


def _enc_block(fields, values, length, version):
    """A block of `length` bytes: each known field that exists in `version` and fits."""
    st, names, nulls, _, fmts, _ = _plan((id(fields), length, version), fields, length, version)
    if not set(values) <= {f[0] for f in fields}:
        raise ValueError('unknown fields: %s' % ', '.join(sorted(set(values) - {f[0] for f in fields})))
    b = st.pack(*[_enc_value(f, values.get(n), z) for n, z, f in zip(names, nulls, fmts)])
    return b.ljust(length, b'\0')


def encode_message(tid, root=None, groups=None, version=13, schema_id=1, template_id=None,
                   block_length=None, root_extra=b'', group_block_length=None,
                   entry_extra=None, msg_size=None, tail=b''):
    """One framed message: MsgSize, SBE header, root block, groups in schema order.
    block_length / group_block_length override the wire blockLengths (the root or
    entries are cut or zero-padded to them); root_extra / entry_extra (dict group ->
    bytes) append bytes a newer version would carry; tail goes after the groups;
    msg_size overrides MsgSize (to craft malformed messages)."""
    t = TEMPLATES[tid]
    root, groups = root or {}, groups or {}
    group_block_length, entry_extra = group_block_length or {}, entry_extra or {}
    names = {g[0] for g in t['groups']}
    if set(groups) - names:
        raise ValueError('template %d has no group %s' % (tid, sorted(set(groups) - names)))
    rlen = root_len(tid, version)
    body = _enc_block(t['fields'], root, rlen, version) + root_extra
    if block_length is not None:
        body = body[:block_length].ljust(block_length, b'\0')
    wire_blen = len(body)
    for gname, dim, elen, fields in t['groups']:
        entries = groups.get(gname, [])
        extra = entry_extra.get(gname, b'')
        blen = group_block_length.get(gname, elen + len(extra))
        body += DIM[dim][1].pack(blen, len(entries))
        for e in entries:
            eb = _enc_block(fields, e, elen, version) + extra
            body += eb[:blen].ljust(blen, b'\0')
    body += tail
    hdr = struct.pack('<HHHH', wire_blen, tid if template_id is None else template_id,
                      schema_id, version)
    size = 2 + 8 + len(body) if msg_size is None else msg_size
    return struct.pack('<H', size) + hdr + body


def raw_message(template_id, body, version=13, schema_id=1, block_length=None):
    """A message of any template id (unknown ones included) with a raw body."""
    hdr = struct.pack('<HHHH', len(body) if block_length is None else block_length,
                      template_id, schema_id, version)
    return struct.pack('<H', 10 + len(body)) + hdr + body


def encode_packet(seq, messages, sending_time=0):
    return struct.pack('<IQ', seq, sending_time) + b''.join(messages)


def udp_frame(dst, port, payload, src='10.0.0.1', sport=50000):
    """Ethernet II + IPv4 (checksummed, DF) + UDP (no checksum) frame."""
    udp = struct.pack('>HHHH', sport, port, 8 + len(payload), 0) + payload
    ip = bytearray(struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0x4000, 32, 17, 0,
                               ip_bytes(src), ip_bytes(dst)))
    s = sum(struct.unpack('>10H', bytes(ip)))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    ip[10:12] = struct.pack('>H', ~s & 0xFFFF)
    d = ip_bytes(dst)
    mac = bytes([0x01, 0x00, 0x5e, d[1] & 0x7F, d[2], d[3]])
    return mac + b'\x02\x00\x00\x00\x00\x01' + b'\x08\x00' + bytes(ip) + udp


def write_pcap(path, frames, ns=True):
    """frames: iterable of (timestamp ns, frame bytes); classic pcap, Ethernet."""
    out = [struct.pack('<IHHiIII', 0xa1b23c4d if ns else 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1)]
    for ts, fr in frames:
        sub = ts % 10**9 if ns else (ts % 10**9) // 1000
        out.append(struct.pack('<IIII', ts // 10**9, sub, len(fr), len(fr)) + fr)
    with open(path, 'wb') as f:
        f.write(b''.join(out))


def craft_spec(spec, out_path):
    """Write a pcap from a spec (a dict, as read from JSON):

    {"timestamps": "ns" | "us",               default ns
     "start_ns": 1700000000000000000,         first frame's time; +1000 ns per frame
     "lines": {"incA": "224.0.31.1:14310"},   optional overrides of DEFAULT_LINES
     "packets": [
       {"lines": ["incA", "incB"],            one frame per line named (default incA)
        "seq": 1, "sending_time": 0,          packet header
        "ts_ns": 1700000000000001000,         optional frame time
        "messages": [
          {"template": 46, "version": 13, "root": {...}, "groups": {"NoMDEntries": [{...}]},
           optional: "schema_id", "template_id", "block_length", "root_extra_hex",
           "group_block_length": {...}, "entry_extra_hex": {...}, "msg_size", "tail_hex"},
          {"raw_hex": "..."}                  bytes copied as they are (MsgSize included)
        ],
        "payload_hex": "..."}                 optional: the whole UDP payload instead
     ]}
    Field values: integers (prices are PRICE9 mantissas), chars and strings as
    strings. Omitted fields are null where the type has a null, else zero."""
    lines = dict(DEFAULT_LINES)
    lines.update(spec.get('lines', {}))
    ts = spec.get('start_ns', 1_700_000_000_000_000_000)
    frames = []
    for p in spec['packets']:
        if 'payload_hex' in p:
            payload = bytes.fromhex(p['payload_hex'])
        else:
            msgs = []
            for m in p.get('messages', []):
                if 'raw_hex' in m:
                    msgs.append(bytes.fromhex(m['raw_hex']))
                    continue
                msgs.append(encode_message(
                    m['template'], m.get('root'), m.get('groups'), m.get('version', 13),
                    m.get('schema_id', 1), m.get('template_id'), m.get('block_length'),
                    bytes.fromhex(m.get('root_extra_hex', '')), m.get('group_block_length'),
                    {k: bytes.fromhex(v) for k, v in m.get('entry_extra_hex', {}).items()},
                    m.get('msg_size'), bytes.fromhex(m.get('tail_hex', ''))))
            payload = encode_packet(p['seq'], msgs, p.get('sending_time', 0))
        for ln in p.get('lines', ['incA']):
            host, port = (lines[ln] if ln in lines else ln).rsplit(':', 1)
            ts = p.get('ts_ns', ts + 1000)
            frames.append((ts, udp_frame(host, int(port), payload)))
    write_pcap(out_path, frames, spec.get('timestamps', 'ns') == 'ns')


# ---------------------------------------------------------------- SBE decoder
_plans = {}


def _plan(key, fields, blen, version):
    """(Struct over the fields that exist and fit, their names and nulls, all required
    fields present?) for one block layout; cached."""
    p = _plans.get(key)
    if p is None:
        fmt, names, nulls, fmts, pos, ok = '<', [], [], [], 0, True
        for name, off, f, since, null, req in sorted(fields, key=lambda x: x[1]):
            if version < since or off + fsize(f) > blen:
                ok = ok and not req
                continue
            if off > pos:
                fmt += '%dx' % (off - pos)
            fmt += f
            pos = off + fsize(f)
            names.append(name)
            nulls.append(null)
            fmts.append(f)
        absent = tuple(f[0] for f in fields if f[0] not in names)
        p = _plans[key] = (struct.Struct(fmt), names, nulls, ok, fmts, absent)
    return p


def _block(st, names, nulls, absent, buf, off):
    """A block's fields by name: None for a null value or a field absent from it."""
    vals = st.unpack_from(buf, off)
    d = {n: (None if v == z else v) for n, v, z in zip(names, vals, nulls)}
    for n in absent:
        d[n] = None
    return d


class Malformed(Exception):
    pass


def decode_message(buf, p, end, tid, blen, version):
    """(root dict, {group: [entry dicts]}) of the message whose root starts at p."""
    t = TEMPLATES[tid]
    if p + blen > end:
        raise Malformed('root past the message')
    st, names, nulls, ok, _, absent = _plan((tid, -1, blen, version), t['fields'], blen, version)
    if not ok:
        raise Malformed('root too short')
    root = _block(st, names, nulls, absent, buf, p)
    p += blen
    groups = {}
    for gi, (gname, dim, _, fields) in enumerate(t['groups']):
        dlen, dst = DIM[dim]
        if p + dlen > end:
            raise Malformed('group header past the message')
        eblen, n = dst.unpack_from(buf, p)
        p += dlen
        if p + eblen * n > end:
            raise Malformed('group entries past the message')
        st, names, nulls, ok, _, absent = _plan((tid, gi, eblen, version), fields, eblen, version)
        if n and not ok:
            raise Malformed('entry too short')
        groups[gname] = [_block(st, names, nulls, absent, buf, p + i * eblen) for i in range(n)]
        p += eblen * n
    return root, groups


def iter_messages(payload, st, min_version=9, max_version=None):
    """Yield (templateId, root, groups) of a datagram's known messages; count the rest."""
    n = len(payload)
    p = 12
    while p < n:
        if p + 2 > n:
            st['malformed_packets'] += 1
            return
        size = struct.unpack_from('<H', payload, p)[0]
        if size < 10 or p + size > n:
            st['malformed_packets'] += 1
            return
        e = p + size
        blen, tid, schema, version = struct.unpack_from('<HHHH', payload, p + 2)
        p += 10
        if schema != 1:
            st['other_schema'] += 1
        elif tid not in TEMPLATES:
            st['unknown_template'] += 1
        elif version < min_version or (max_version is not None and version > max_version):
            st['bad_version'] += 1
        else:
            try:
                root, groups = decode_message(payload, p, e, tid, blen, version)
            except Malformed:
                st['malformed_messages'] += 1
            else:
                yield tid, root, groups
        p = e


# ---------------------------------------------------------------- books
OK, RECOVERING, STALE, UNKNOWN = 'OK', 'RECOVERING', 'STALE', 'UNKNOWN'
MBP_SIDES = {b'0': 'bids', b'1': 'offers', b'E': 'ibids', b'F': 'ioffers'}


class Instrument:
    __slots__ = ('sid', 'symbol', 'depth', 'idepth', 'bids', 'offers', 'ibids', 'ioffers',
                 'orders', 'state', 'last', 'held', 'mbo_state', 'mbo_from', 'mbo_held',
                 'mbo_seen', 'chunks', 'tick', 'display_factor', 'status', 'gaps',
                 'last_pkt', 'min_369')

    def __init__(self, sid):
        self.sid = sid
        self.symbol = None
        self.depth, self.idepth = 10, 2
        self.bids, self.offers = [None] * 10, [None] * 10
        self.ibids, self.ioffers = [None] * 2, [None] * 2
        self.orders = {}           # OrderID -> [side b'0'/b'1', price, qty, priority]
        self.state, self.last, self.held = UNKNOWN, 0, []
        self.mbo_state, self.mbo_from, self.mbo_held = UNKNOWN, 0, []
        self.mbo_seen = False
        self.chunks = {}           # (369, NoChunks) -> {chunk: entries}
        self.tick = self.display_factor = self.status = None
        self.gaps = 0
        self.last_pkt = 0          # MsgSeqNum that brought `last` (a snapshot's: its 369)
        self.min_369 = 0           # a snapshot older than this packet is refused

    def clear_books(self):
        self.bids, self.offers = [None] * self.depth, [None] * self.depth
        self.ibids, self.ioffers = [None] * self.idepth, [None] * self.idepth
        self.orders = {}

    def set_depths(self, depth, idepth):
        def fit(lst, d):
            return (lst + [None] * d)[:d]
        self.depth, self.idepth = depth, idepth
        self.bids, self.offers = fit(self.bids, depth), fit(self.offers, depth)
        self.ibids, self.ioffers = fit(self.ibids, idepth), fit(self.ioffers, idepth)


def fmt_price(m):
    a = -m if m < 0 else m
    return b'%s%d.%09d' % (b'-' if m < 0 else b'', a // 10**9, a % 10**9)


class Channel:
    def __init__(self, channel=None, hold=None):
        self.ins = {}              # SecurityID -> Instrument
        self.channel = channel     # ApplID filter for 4 and definitions (None: any)
        self.hold = hold           # bound on held entries per instrument (None: none)
        self.reset_seq = 0         # MsgSeqNum of the last channel reset applied
        self.seq = 0               # MsgSeqNum of the incremental packet being applied
        self.c = dict.fromkeys((
            'packets', 'lost_packets', 'messages', 'entries_applied', 'old_rptseq',
            'rptseq_gaps', 'rptseq_backwards', 'held_entries', 'stale', 'bad_level', 'null_price', 'bad_entry',
            'snapshots_applied', 'snapshots_ignored', 'snapshots_too_old',
            'snapshots_before_reset', 'mbo_snapshots_applied', 'mbo_unknown_order',
            'mbo_bad_reference', 'channel_resets', 'book_resets', 'definitions',
            'wrong_feed'), 0)

    def get(self, sid):
        i = self.ins.get(sid)
        if i is None:
            i = self.ins[sid] = Instrument(sid)
        return i

    # ---- sequencing by RptSeq (section 7.7): True when the entry applies now
    def gate(self, ins, rpt, item):
        st = ins.state
        if st == OK:
            if rpt == ins.last + 1:
                ins.last, ins.last_pkt = rpt, self.seq
                return True
            if rpt > ins.last:
                self.c['rptseq_gaps'] += 1
            elif self.seq <= ins.last_pkt:
                self.c['old_rptseq'] += 1
                return False
            else:                              # went back in a later packet: a reset
                self.c['rptseq_backwards'] += 1    # we did not see; only a snapshot
                ins.min_369 = self.seq - 1         # taken after it will do
            ins.gaps += 1
            self._start_recovery(ins)
        elif st == UNKNOWN:
            if rpt == 1:
                ins.state, ins.last, ins.last_pkt = OK, 1, self.seq
                self._mbo_ok(ins)
                return True
            self._start_recovery(ins)
        elif st == STALE:
            return False
        self._hold(ins, (rpt, item))
        return False

    def _start_recovery(self, ins):
        ins.state, ins.held = RECOVERING, []
        if ins.mbo_state != RECOVERING:
            ins.mbo_state, ins.mbo_from = RECOVERING, self.seq

    def _hold(self, ins, h):
        if self.hold is not None and len(ins.held) >= self.hold:
            ins.state, ins.held = STALE, []
            self.c['stale'] += 1
            return
        ins.held.append(h)
        self.c['held_entries'] += 1

    def _mbo_ok(self, ins):
        if ins.mbo_state == OK:
            return
        held, ins.mbo_state, ins.mbo_held = ins.mbo_held, OK, []
        for _, kind, e in held:
            self.mbo_apply(ins, kind, e)

    # ---- incremental feed
    def incremental(self, seq, payload, st, **kw):
        self.seq = seq
        self.c['packets'] += 1
        for tid, root, groups in iter_messages(payload, st, **kw):
            self.c['messages'] += 1
            if tid == 46:
                ents = groups['NoMDEntries']
                for e in ents:
                    ins = self.get(e['SecurityID'])
                    if self.gate(ins, e['RptSeq'], e):
                        self.mbp_apply(ins, e)
                for o in groups['NoOrderIDEntries']:
                    r = o['ReferenceID']
                    if r is None or not 1 <= r <= len(ents) or ents[r - 1]['MDEntryType'] not in (b'0', b'1'):
                        self.c['mbo_bad_reference'] += 1
                        continue
                    self.mbo_gate(self.get(ents[r - 1]['SecurityID']), 46, (o, ents[r - 1]))
            elif tid == 47:
                for e in groups['NoMDEntries']:
                    self.mbo_gate(self.get(e['SecurityID']), 47, e)
            elif tid in (37, 48, 49, 50, 51):
                for e in groups['NoMDEntries']:
                    ins = self.get(e['SecurityID'])
                    if self.gate(ins, e['RptSeq'], e):
                        self.c['entries_applied'] += 1
            elif tid == 4:
                ents = groups['NoMDEntries']
                if self.channel is None or any(e.get('ApplID') == self.channel for e in ents):
                    self.channel_reset(seq)
            elif tid == 30:
                sid = root.get('SecurityID')
                if sid is not None and sid in self.ins:
                    self.ins[sid].status = root.get('SecurityTradingStatus')
            elif tid in DEFINITION_TEMPLATES:
                self.definition(root, groups)
            elif tid in SNAPSHOT_TEMPLATES:
                self.c['wrong_feed'] += 1

    def channel_reset(self, seq):
        """Section 7.10: every book of the channel empty, RptSeq restarts at 1."""
        self.c['channel_resets'] += 1
        self.reset_seq = seq
        for ins in self.ins.values():
            ins.clear_books()
            ins.chunks = {}
            if ins.state != UNKNOWN:
                ins.state, ins.last, ins.held, ins.last_pkt, ins.min_369 = OK, 0, [], seq, 0
            ins.mbo_state, ins.mbo_held = (OK if ins.state == OK else UNKNOWN), []

    # ---- multiple-depth and implied books (sections 7.2, 7.3)
    def mbp_apply(self, ins, e):
        self.c['entries_applied'] += 1
        t = e['MDEntryType']
        if t == b'J':
            self.c['book_resets'] += 1
            ins.clear_books()
            return
        side = MBP_SIDES.get(t)
        if side is None:
            self.c['bad_entry'] += 1
            return
        lst = getattr(ins, side)
        depth = len(lst)
        act, lvl = e['MDUpdateAction'], e['MDPriceLevel']
        if act == 3:                           # DeleteThru: the whole side
            lst[:] = [None] * depth
            return
        if act == 4:                           # DeleteFrom: the top N levels
            del lst[:lvl]
            lst.extend([None] * (depth - len(lst)))
            return
        if not 1 <= lvl <= depth:
            self.c['bad_level'] += 1
            return
        if act == 2:                           # Delete: remove, shift up
            del lst[lvl - 1]
            lst.append(None)
            return
        if act not in (0, 1, 5):
            self.c['bad_entry'] += 1
            return
        px = e['MDEntryPx']
        if px is None or px == INT64_MIN:
            self.c['null_price'] += 1
            return
        level = (px, e['MDEntrySize'] or 0, e['NumberOfOrders'] or 0)
        if act == 0:                           # New: insert, shift down, drop past depth
            lst.insert(lvl - 1, level)
            del lst[depth:]
        else:                                  # Change / Overlay: overwrite
            lst[lvl - 1] = level

    # ---- order book (section 7.4)
    def mbo_gate(self, ins, kind, e):
        ins.mbo_seen = True
        if ins.mbo_state == OK:
            self.mbo_apply(ins, kind, e)
        else:
            ins.mbo_held.append((self.seq, kind, e))

    def mbo_apply(self, ins, kind, e):
        if kind == 46:
            o, ref = e
            oid, act, qty, prio = o['OrderID'], o['OrderUpdateAction'], o['MDDisplayQty'], o['MDOrderPriority']
            side, px = ref['MDEntryType'], ref['MDEntryPx']
        else:
            oid, act, qty, prio = e['OrderID'], e['MDUpdateAction'], e['MDDisplayQty'], e['MDOrderPriority']
            side, px = e['MDEntryType'], e['MDEntryPx']
            if side == b'J':
                ins.orders = {}
                return
        if oid is None or side not in (b'0', b'1'):
            self.c['bad_entry'] += 1
            return
        if act == 2:
            if ins.orders.pop(oid, None) is None:
                self.c['mbo_unknown_order'] += 1
            return
        if act not in (0, 1):
            self.c['bad_entry'] += 1
            return
        if px is None or px == INT64_MIN:
            self.c['null_price'] += 1
            return
        old = ins.orders.get(oid)
        if act == 1 and old is None:
            self.c['mbo_unknown_order'] += 1
        if prio is None and old is not None:
            prio = old[3]
        ins.orders[oid] = [side, px, qty or 0, prio]

    # ---- snapshot loops (section 7.8)
    def snapshot52(self, root, groups):
        ins = self.get(root['SecurityID'])
        if root['LastMsgSeqNumProcessed'] < self.reset_seq:
            self.c['snapshots_before_reset'] += 1
            return
        if ins.state == OK:
            self.c['snapshots_ignored'] += 1
            return
        rpt = root['RptSeq']
        if (ins.held and rpt < ins.held[0][0] - 1) or root['LastMsgSeqNumProcessed'] < ins.min_369:
            self.c['snapshots_too_old'] += 1
            return
        self.c['snapshots_applied'] += 1
        ins.bids, ins.offers = [None] * ins.depth, [None] * ins.depth
        ins.ibids, ins.ioffers = [None] * ins.idepth, [None] * ins.idepth
        for e in groups['NoMDEntries']:
            side = MBP_SIDES.get(e['MDEntryType'])
            if side is None:
                continue                       # statistics entries
            lst, lvl, px = getattr(ins, side), e['MDPriceLevel'], e['MDEntryPx']
            if lvl is None or not 1 <= lvl <= len(lst):
                self.c['bad_level'] += 1
            elif px is None or px == INT64_MIN:
                self.c['null_price'] += 1
            else:
                lst[lvl - 1] = (px, e['MDEntrySize'] or 0, e['NumberOfOrders'] or 0)
        held, ins.held = ins.held, []
        ins.state, ins.last, ins.last_pkt, ins.min_369 = OK, rpt, root['LastMsgSeqNumProcessed'], 0
        for r, e in held:
            if ins.state != OK:
                self._hold(ins, (r, e))
            elif r <= ins.last:
                continue
            elif r == ins.last + 1:
                ins.last = r
                self.apply_sequenced(ins, e)
            else:
                self.c['rptseq_gaps'] += 1
                ins.gaps += 1
                self._start_recovery(ins)
                self._hold(ins, (r, e))

    def apply_sequenced(self, ins, e):
        if 'MDPriceLevel' in e:
            self.mbp_apply(ins, e)
        else:
            self.c['entries_applied'] += 1

    def snapshot53(self, root, groups):
        ins = self.get(root['SecurityID'])
        last, n, k = root['LastMsgSeqNumProcessed'], root['NoChunks'], root['CurrentChunk']
        if last < self.reset_seq:
            self.c['snapshots_before_reset'] += 1
            return
        if ins.mbo_state == OK:
            self.c['snapshots_ignored'] += 1
            return
        if ins.mbo_state == RECOVERING and last < ins.mbo_from:
            self.c['snapshots_too_old'] += 1
            return
        if not 1 <= k <= n:
            self.c['bad_entry'] += 1
            return
        got = ins.chunks.setdefault((last, n), {})
        got[k] = groups['NoMDEntries']
        if len(got) < n:
            return
        self.c['mbo_snapshots_applied'] += 1
        ins.chunks, ins.mbo_seen = {}, True
        ins.orders = {}
        for c in range(1, n + 1):
            for e in got[c]:
                if e['MDEntryType'] in (b'0', b'1'):
                    ins.orders[e['OrderID']] = [e['MDEntryType'], e['MDEntryPx'],
                                                e['MDDisplayQty'], e['MDOrderPriority']]
        held, ins.mbo_state, ins.mbo_held = ins.mbo_held, OK, []
        for s, kind, e in held:
            if s > last:
                self.mbo_apply(ins, kind, e)

    # ---- definitions (section 7.11)
    def definition(self, root, groups):
        if self.channel is not None and root.get('ApplID') != self.channel:
            return
        self.c['definitions'] += 1
        ins = self.get(root['SecurityID'])
        if root['SecurityUpdateAction'] == b'D':
            ins.symbol = ins.tick = ins.display_factor = None
            ins.clear_books()
            return
        ins.symbol = root['Symbol'].rstrip(b'\0 ')
        ins.tick, ins.display_factor = root.get('MinPriceIncrement'), root.get('DisplayFactor')
        depth, idepth = ins.depth, ins.idepth
        for ft in groups['NoMDFeedTypes']:
            kind, d = ft['MDFeedType'].rstrip(b'\0 '), ft['MarketDepth']
            if d < 1:
                continue
            if kind == b'GBX':
                depth = d
            elif kind == b'GBI':
                idepth = d
        ins.set_depths(depth, idepth)

    def other_line(self, payload, st, **kw):
        for tid, root, groups in iter_messages(payload, st, **kw):
            if tid == 52:
                self.snapshot52(root, groups)
            elif tid == 53:
                self.snapshot53(root, groups)
            elif tid in DEFINITION_TEMPLATES:
                self.definition(root, groups)
            elif tid != 12:
                self.c['wrong_feed'] += 1

    # ---- output
    def _sorted(self):
        return sorted(self.ins.values(), key=lambda i: (self.symbol(i), i.sid))

    def symbol(self, ins):
        return ins.symbol if ins.symbol else b'#%d' % ins.sid

    def dump(self, feed, book='mbp'):
        f, out = feed.encode(), []
        for ins in self._sorted():
            sym = self.symbol(ins)
            if book == 'mbo':
                rows = sorted(ins.orders.items(), key=lambda kv: (
                    kv[1][0], -kv[1][1] if kv[1][0] == b'0' else kv[1][1],
                    kv[1][3] if kv[1][3] is not None else U64N + 1, kv[0]))
                for oid, (side, px, qty, prio) in rows:
                    out.append(b'%s %s %s %s %d %s %d\n' % (
                        f, sym, b'B' if side == b'0' else b'S', fmt_price(px), qty,
                        b'-' if prio is None else b'%d' % prio, oid))
                continue
            sides = (ins.bids, ins.offers) if book == 'mbp' else (ins.ibids, ins.ioffers)
            for s, lst in zip((b'B', b'S'), sides):
                lv = [x for x in lst if x is not None]
                lv.sort(key=lambda x: -x[0] if s == b'B' else x[0])
                for px, size, n in lv:
                    out.append(b'%s %s %s %s %d %d\n' % (f, sym, s, fmt_price(px), size, n))
        return b''.join(out)

    def states(self, feed):
        out = []
        for ins in self._sorted():
            if ins.state == UNKNOWN and not ins.mbo_seen:
                continue
            out.append(b'%s %s %s %d mbo=%s\n' % (
                feed.encode(), self.symbol(ins), ins.state.encode(), ins.last,
                (ins.mbo_state if ins.mbo_seen else '-').encode()))
        return b''.join(out)


# ---------------------------------------------------------------- captures
DEFAULT_LINES = (('incA', '224.0.31.1:14310'), ('incB', '224.0.32.1:15310'),
                 ('snapA', '224.0.31.22:14310'), ('snapB', '224.0.32.22:15310'),
                 ('smboA', '233.72.75.1:23310'), ('smboB', '233.72.75.64:22310'),
                 ('defA', '224.0.31.43:14310'), ('defB', '224.0.32.43:15310'))


def new_stats():
    return dict.fromkeys(('frames', 'invalid', 'other_line', 'short_packets',
                          'duplicates', 'unframed_packets', 'malformed_packets', 'malformed_messages',
                          'other_schema', 'unknown_template', 'bad_version'), 0)


def framed(payload):
    """Whether an incremental datagram's MsgSize chain ends exactly at its end, with
    every MsgSize at least 10 and a MsgSeqNum other than 0."""
    n, p = len(payload), 12
    if struct.unpack_from('<I', payload, 0)[0] == 0:
        return False
    while p < n:
        if p + 2 > n:
            return False
        size = struct.unpack_from('<H', payload, p)[0]
        if size < 10 or p + size > n:
            return False
        p += size
    return True


def run_pcap(path, lines=None, channel=None, hold=None, max_version=None):
    """Returns (Channel, stats)."""
    with open(path, 'rb') as f:
        data = f.read()
    want = line_map(lines if lines is not None else dict(DEFAULT_LINES))
    st = new_stats()
    inc, side, hi = {}, [], 0      # seq -> payload; [(position, payload)]
    for line, _, payload in line_frames(data, want, st):
        if len(payload) < 12:
            st['short_packets'] += 1
            continue
        if line.startswith('inc'):
            seq = struct.unpack_from('<I', payload, 0)[0]
            if not framed(payload):
                # A copy whose MsgSize chain does not end at the datagram's end (or
                # whose MsgSeqNum is 0) is not trusted with its sequence number: the
                # other line's copy may still come (ref_mdp3.md item 22).
                st['unframed_packets'] += 1
                continue
            if seq in inc:
                st['duplicates'] += 1
                continue
            inc[seq] = payload
            hi = max(hi, seq)
        else:
            side.append((hi, payload))
    ch = Channel(channel, hold)
    kw = dict(max_version=max_version)
    si = 0
    seqs = sorted(inc)
    for s in seqs:
        while si < len(side) and side[si][0] < s:
            ch.other_line(side[si][1], st, **kw)
            si += 1
        ch.incremental(s, inc[s], st, **kw)
    for _, payload in side[si:]:
        ch.other_line(payload, st, **kw)
    if seqs:
        ch.c['lost_packets'] = seqs[-1] - seqs[0] + 1 - len(seqs)
    return ch, st


# ---------------------------------------------------------------- self-test
def selftest():
    def m46(entries, orders=(), version=13):
        return encode_message(46, {'MatchEventIndicator': 0x80},
                              {'NoMDEntries': entries, 'NoOrderIDEntries': list(orders)}, version)

    def lv(sid, rpt, act, lvl, px, size=1, n=1, t='0'):
        return dict(SecurityID=sid, RptSeq=rpt, MDUpdateAction=act, MDPriceLevel=lvl,
                    MDEntryPx=px, MDEntrySize=size, NumberOfOrders=n, MDEntryType=t)

    def defn(sid, sym, depth=10, idepth=2, version=13, action='A'):
        return encode_message(54, dict(SecurityID=sid, Symbol=sym, SecurityUpdateAction=action,
                                       MinPriceIncrement=25 * 10**7, DisplayFactor=10**7, ApplID=310),
                              {'NoMDFeedTypes': [dict(MDFeedType='GBX', MarketDepth=depth),
                                                 dict(MDFeedType='GBI', MarketDepth=idepth)]}, version)

    def snap(sid, last, rpt, levels):
        ents = [dict(MDEntryPx=px, MDEntrySize=sz, NumberOfOrders=n, MDPriceLevel=lvl, MDEntryType=t)
                for t, lvl, px, sz, n in levels]
        return encode_message(52, dict(LastMsgSeqNumProcessed=last, SecurityID=sid, RptSeq=rpt),
                              {'NoMDEntries': ents})

    def run(packets, side=(), book='mbp', **kw):
        """packets: lists of messages, numbered from 1; side: (position, msgs)."""
        ch, st = Channel(**kw), new_stats()
        side = list(side)
        for s, msgs in enumerate(packets, 1):
            while side and side[0][0] < s:
                ch.other_line(encode_packet(1, side.pop(0)[1]), st)
            ch.incremental(s, encode_packet(s, msgs), st)
        for _, msgs in side:
            ch.other_line(encode_packet(1, msgs), st)
        return ch, st, ch.dump('cme', book).decode().splitlines()

    def check(got, want):
        assert got == want, '\n got %r\nwant %r' % (got, want)

    P = 10**9
    # wire facts from the doc: MsgSize counts itself; empty 46 = 32 bytes; 54 v9/v13
    assert len(encode_message(46, {'MatchEventIndicator': 0x80})) == 32
    assert len(encode_message(54, version=9)) == 2 + 8 + 216 + 4 * 3
    assert len(encode_message(54, version=13)) == 2 + 8 + 224 + 4 * 3
    assert len(encode_message(56, version=9)) == 2 + 8 + 195 + 5 * 3
    assert len(encode_message(56, version=10)) == 2 + 8 + 255 + 5 * 3
    g8 = encode_message(46, groups={'NoOrderIDEntries': [dict(OrderID=1, ReferenceID=1)]})
    assert g8[10 + 11 + 3:10 + 11 + 3 + 8] == b'\x18\x00' + b'\0' * 5 + b'\x01', g8
    # sinceVersion: TradeableSize (since 10) is padding in a v9 entry, read in v10
    e9 = dict(lv(1, 1, 0, 1, P), TradeableSize=5)
    assert encode_message(46, groups={'NoMDEntries': [e9]}, version=9) == \
        encode_message(46, groups={'NoMDEntries': [lv(1, 1, 0, 1, P)]}, version=9)
    raw = bytearray(encode_message(46, groups={'NoMDEntries': [e9]}, version=10))
    for v, want in ((10, 5), (9, None)):
        raw[8:10] = struct.pack('<H', v)
        _, gs = decode_message(raw, 10, len(raw), 46, 11, v)
        assert gs['NoMDEntries'][0]['TradeableSize'] == want, (v, gs)
    assert fmt_price(450025000000000) == b'450025.000000000' and fmt_price(-5) == b'-0.000000005'

    # level shifting at the depth limit (7.2): depth 3 from GBX
    d = defn(7, 'ESZ6', depth=3)
    ch, _, _ = run([[defn(6, 'X', depth=0, idepth=-1)]])
    check([len(ch.ins[6].bids), len(ch.ins[6].ibids)], [10, 2])
    ch, _, _ = run([[defn(6, 'X', depth=5, idepth=3)]])
    check([len(ch.ins[6].bids), len(ch.ins[6].ibids)], [5, 3])
    _, _, got = run([[d, m46([lv(7, 1, 0, 1, 100 * P), lv(7, 2, 0, 2, 99 * P), lv(7, 3, 0, 3, 98 * P)])],
                     [m46([lv(7, 4, 0, 1, 101 * P, 5, 2)])]])
    check(got, ['cme ESZ6 B 101.000000000 5 2', 'cme ESZ6 B 100.000000000 1 1',
                'cme ESZ6 B 99.000000000 1 1'])
    # New in the middle pushes the last out; Delete shifts up and leaves the bottom empty;
    # Change overwrites; a level past the depth is refused
    _, st, got = run([[d, m46([lv(7, 1, 0, 1, 100 * P), lv(7, 2, 0, 2, 98 * P), lv(7, 3, 0, 3, 97 * P),
                              lv(7, 4, 0, 2, 99 * P), lv(7, 5, 2, 1, 0), lv(7, 6, 1, 2, 98 * P, 7, 3),
                              lv(7, 7, 0, 4, 1 * P), lv(7, 8, 0, 1, 102 * P, t='1')])]])
    check(got, ['cme ESZ6 B 99.000000000 1 1', 'cme ESZ6 B 98.000000000 7 3',
                'cme ESZ6 S 102.000000000 1 1'])
    # DeleteThru empties the side whatever the level; DeleteFrom removes the top N
    base = [lv(8, i + 1, 0, i + 1, (200 - i) * P, t='1' if i >= 4 else '0') for i in range(4)]
    base = [lv(8, i + 1, 0, i + 1, (200 - i) * P) for i in range(4)] + \
        [lv(8, 5 + i, 0, i + 1, (300 + i) * P, t='1') for i in range(4)]
    _, _, got = run([[m46(base + [lv(8, 9, 4, 2, 0), lv(8, 10, 3, 3, 0, t='1')])]])
    check(got, ['cme #8 B 198.000000000 1 1', 'cme #8 B 197.000000000 1 1'])
    _, _, got = run([[m46(base + [lv(8, 9, 4, 9, 0, t='1'), lv(8, 10, 4, 0, 0)])]])
    check(got, ['cme #8 B 200.000000000 1 1', 'cme #8 B 199.000000000 1 1',
                'cme #8 B 198.000000000 1 1', 'cme #8 B 197.000000000 1 1'])
    # implied book, 2 deep, kept apart from the outright book (7.3); 'J' resets both
    imp = [lv(9, 1, 0, 1, 10 * P, 3, None, 'E'), lv(9, 2, 0, 1, 11 * P, 4, None, 'E'),
           lv(9, 3, 0, 1, 12 * P, 5, None, 'E'), lv(9, 4, 0, 1, 20 * P, 6, None, 'F'),
           lv(9, 5, 0, 1, 9 * P, 1, 1, '0')]
    _, _, got = run([[m46(imp)]], book='implied')
    check(got, ['cme #9 B 12.000000000 5 0', 'cme #9 B 11.000000000 4 0', 'cme #9 S 20.000000000 6 0'])
    _, _, got = run([[m46(imp)]])
    check(got, ['cme #9 B 9.000000000 1 1'])
    _, _, got = run([[m46(imp + [lv(9, 6, 0, 1, 0, t='J')])]], book='implied')
    check(got, [])
    # the dump lists prices best first even when the levels disagree
    _, _, got = run([[m46([lv(4, 1, 0, 1, 1 * P, t='1'), lv(4, 2, 0, 1, 2 * P, t='1')])]])
    check(got, ['cme #4 S 1.000000000 1 1', 'cme #4 S 2.000000000 1 1'])
    # null and INT64_MIN prices are never a level; the entry still takes its RptSeq
    _, st, got = run([[m46([lv(3, 1, 0, 1, None), lv(3, 2, 0, 1, INT64_MIN), lv(3, 3, 0, 1, 5 * P)])]])
    check(got, ['cme #3 B 5.000000000 1 1'])

    # MBO (7.4): priority order, Update with a new priority, Delete, 46 ReferenceID
    def o47(oid, prio, px, qty, act=0, t='0', sid=5):
        return dict(OrderID=oid, MDOrderPriority=prio, MDEntryPx=px, MDDisplayQty=qty,
                    SecurityID=sid, MDUpdateAction=act, MDEntryType=t)
    mbo = [encode_message(47, groups={'NoMDEntries': [o47(1, 50, 10 * P, 3), o47(2, 20, 10 * P, 4),
                                                      o47(3, 30, 11 * P, 5), o47(4, 1, 12 * P, 6, t='1')]}),
           m46([lv(5, 1, 0, 1, 11 * P, 5, 1)]),
           encode_message(47, groups={'NoMDEntries': [o47(2, 60, 10 * P, 9, act=1), o47(4, 1, 12 * P, 6, act=2),
                                                      o47(1, None, 10 * P, 8, act=1)]}),
           m46([lv(5, 2, 1, 1, 11 * P, 7, 2)], [dict(OrderID=9, MDOrderPriority=40, MDDisplayQty=2,
                                                     ReferenceID=1, OrderUpdateAction=0)])]
    _, _, got = run([mbo], book='mbo')
    check(got, ['cme #5 B 11.000000000 5 30 3', 'cme #5 B 11.000000000 2 40 9',
                'cme #5 B 10.000000000 8 50 1', 'cme #5 B 10.000000000 9 60 2'])

    # a gap in one instrument only (7.7): 11 goes RECOVERING, 12 keeps flowing
    ch, _, got = run([[m46([lv(11, 1, 0, 1, 1 * P), lv(12, 1, 0, 1, 2 * P)])],
                      [m46([lv(11, 3, 0, 1, 3 * P), lv(12, 2, 0, 1, 4 * P)])],
                      [m46([lv(11, 4, 2, 1, 0), lv(12, 3, 2, 2, 0)])]])
    check(got, ['cme #11 B 1.000000000 1 1', 'cme #12 B 4.000000000 1 1'])
    check(ch.states('cme').decode().splitlines(),
          ['cme #11 RECOVERING 1 mbo=-', 'cme #12 OK 3 mbo=-'])
    # an OK instrument ignores snapshots
    ch, _, got = run([[m46([lv(12, 1, 0, 1, 2 * P)])], [m46([lv(12, 2, 0, 1, 3 * P)])],
                      [m46([lv(12, 3, 1, 2, 2 * P, 5, 5)])]],
                     side=[(2, [snap(12, 2, 2, [('0', 1, 9 * P, 1, 1)])])])
    check(got, ['cme #12 B 3.000000000 1 1', 'cme #12 B 2.000000000 5 5'])
    check([ch.c['snapshots_ignored'], ch.ins[12].state], [1, OK])
    # a snapshot ahead of the incrementals: entries of packets up to its 369 are old
    ch, _, got = run([[m46([lv(12, 1, 0, 1, 2 * P)])], [m46([lv(12, 3, 0, 1, 3 * P)])],
                      [m46([lv(12, 4, 0, 1, 4 * P)])], [], [m46([lv(12, 5, 1, 1, 5 * P, 7)])]],
                     side=[(2, [snap(12, 4, 4, [('0', 1, 5 * P, 1, 1)])])])
    check(got, ['cme #12 B 5.000000000 7 1'])
    check([ch.c['old_rptseq'], ch.c['rptseq_backwards'], ch.ins[12].state], [1, 0, OK])
    # ... recovered from the loop (7.8): a snapshot too old is skipped, the next one
    # installs, held entries with RptSeq above the snapshot's apply
    ch, _, got = run([[m46([lv(11, 1, 0, 1, 1 * P)])],
                      [m46([lv(11, 4, 0, 1, 4 * P)])],
                      [m46([lv(11, 5, 0, 1, 5 * P)])],
                      [m46([lv(11, 6, 2, 2, 0)])]],
                     side=[(2, [snap(11, 1, 1, [('0', 1, 1 * P, 1, 1)])]),
                           (3, [snap(11, 3, 4, [('0', 1, 4 * P, 1, 1), ('0', 2, 3 * P, 1, 1),
                                                ('0', -1, 8 * P, 1, 1), ('1', 0, 8 * P, 1, 1),
                                                ('E', 1, 2 * P, 9, 0), ('6', None, 7 * P, 0, 0)])])])
    check(got, ['cme #11 B 5.000000000 1 1', 'cme #11 B 3.000000000 1 1'])
    check([ch.c['snapshots_too_old'], ch.c['snapshots_applied']], [1, 1])
    check(ch.states('cme').decode().splitlines(), ['cme #11 OK 6 mbo=-'])
    # a mid-week start: the first entry has RptSeq > 1; the snapshot (even one that
    # arrives before any incremental) installs the book, older entries are dropped
    ch, _, got = run([[m46([lv(13, 40, 0, 1, 1 * P)])], [m46([lv(13, 42, 0, 1, 7 * P, t='1')])]],
                     side=[(0, [defn(13, 'NQH7')]), (1, [snap(13, 1, 41, [('0', 1, 6 * P, 2, 2)])])])
    check(got, ['cme NQH7 B 6.000000000 2 2', 'cme NQH7 S 7.000000000 1 1'])
    # channel reset (7.10): every book empty, RptSeq starts again at 1, snapshots from
    # before the reset are refused
    reset = encode_message(4, {'MatchEventIndicator': 0x80}, {'NoMDEntries': [dict(ApplID=310)]})
    ch, _, got = run([[m46([lv(14, 1, 0, 1, 1 * P), lv(15, 1, 0, 1, 2 * P)])],
                      [m46([lv(14, 5, 0, 1, 9 * P)])],
                      [reset], [m46([lv(15, 1, 0, 1, 3 * P)])]],
                     side=[(3, [snap(14, 2, 9, [('0', 1, 8 * P, 1, 1)])])])
    check(got, ['cme #15 B 3.000000000 1 1'])
    check([ch.c['snapshots_before_reset'], ch.ins[14].state], [1, OK])
    # the same reset lost: RptSeq 1 in a later packet is no old entry but a jump back;
    # the snapshot from before the reset is refused, the one after it installs
    ch, _, got = run([[m46([lv(14, 1, 0, 1, 1 * P), lv(15, 1, 0, 1, 2 * P)])],
                      [m46([lv(14, 2, 0, 1, 9 * P)])], [], [m46([lv(15, 1, 0, 1, 3 * P)])],
                      [m46([lv(15, 2, 0, 2, 1 * P)])]],
                     side=[(4, [snap(15, 2, 1, [('0', 1, 2 * P, 1, 1)])]),
                           (4, [snap(15, 3, 0, [])])])
    check(got, ['cme #14 B 9.000000000 1 1', 'cme #14 B 1.000000000 1 1',
                'cme #15 B 3.000000000 1 1', 'cme #15 B 1.000000000 1 1'])
    check([ch.c['rptseq_backwards'], ch.c['snapshots_too_old'], ch.c['snapshots_applied']], [1, 1, 1])
    # MBO snapshot (53) in two chunks, held order entries after 369 applied
    def s53(sid, last, n, k, orders):
        return encode_message(53, dict(LastMsgSeqNumProcessed=last, SecurityID=sid, NoChunks=n,
                                       CurrentChunk=k),
                              {'NoMDEntries': [dict(OrderID=o, MDOrderPriority=p, MDEntryPx=px,
                                                    MDDisplayQty=q, MDEntryType='0')
                                               for o, p, px, q in orders]})
    ch, _, got = run([[m46([lv(16, 7, 0, 1, 1 * P)])],
                     [encode_message(47, groups={'NoMDEntries': [o47(1, 1, 1 * P, 1, sid=16),
                                                                 o47(5, 1, 1 * P, 1, act=2, sid=16)]})],
                     [encode_message(47, groups={'NoMDEntries': [o47(2, 5, 1 * P, 2, sid=16)]})]],
                    side=[(3, [s53(16, 2, 0, 0, [(8, 1, 1 * P, 1)])]),
                          (3, [s53(16, 2, 2, 1, [(1, 1, 1 * P, 1)])]), (3, [s53(16, 2, 2, 2, [(7, 3, P, 4)])])],
                    book='mbo')
    check(got, ['cme #16 B 1.000000000 1 1 1', 'cme #16 B 1.000000000 4 3 7',
                'cme #16 B 1.000000000 2 5 2'])
    check([ch.c['mbo_snapshots_applied'], ch.c['mbo_unknown_order']], [1, 0])
    # a gap later in the session: the MBO book is suspect from the packet that showed
    # it, so a 53 reflecting an earlier packet is too old
    ch, _, got = run([[m46([lv(17, 1, 0, 1, 1 * P)]),
                       encode_message(47, groups={'NoMDEntries': [o47(1, 1, 1 * P, 1, sid=17)]})],
                      [encode_message(47, groups={'NoMDEntries': [o47(2, 2, 1 * P, 1, sid=17)]})],
                      [m46([lv(17, 3, 0, 1, 1 * P)])]],
                     side=[(3, [s53(17, 2, 1, 1, [(1, 1, P, 1), (2, 2, P, 1)])]),
                           (3, [s53(17, 3, 1, 1, [(1, 1, P, 1)])])], book='mbo')
    check(got, ['cme #17 B 1.000000000 1 1 1'])
    check([ch.c['snapshots_too_old'], ch.c['mbo_snapshots_applied'], ch.c['mbo_unknown_order']], [1, 1, 0])

    # decoder: v9 and v13 definitions, appended root and entry bytes skipped by the wire
    # blockLength, unknown templates and other schemas counted, malformed message dropped
    ext = encode_message(46, {'MatchEventIndicator': 0x80},
                         {'NoMDEntries': [lv(20, 1, 0, 1, 4 * P)]}, version=14,
                         root_extra=b'\xff' * 5, entry_extra={'NoMDEntries': b'\xee' * 8})
    short = encode_message(46, {}, {'NoMDEntries': [lv(20, 2, 0, 1, 5 * P)]}, msg_size=30)
    ch, st, got = run([[defn(20, 'ESH7', version=9), defn(21, 'ESM7', version=13), ext,
                        raw_message(99, b'abc'), raw_message(46, b'', schema_id=2),
                        raw_message(46, b'', version=8)],
                       [short, m46([lv(20, 2, 0, 1, 6 * P)])]])
    check(got, ['cme ESH7 B 4.000000000 1 1'])
    check([st['unknown_template'], st['other_schema'], st['bad_version'], st['malformed_packets']],
          [1, 1, 1, 1])
    # the last group's entries past MsgSize; a MsgSize past the datagram
    cut = encode_message(46, {}, {'NoOrderIDEntries': [dict(OrderID=1, ReferenceID=1)] * 2})
    cut = struct.pack('<H', len(cut) - 24) + cut[2:-24]
    over = encode_message(46, {}, {'NoMDEntries': [lv(20, 2, 0, 1, 5 * P)]})
    ch, st, got = run([[cut], [m46([lv(22, 1, 0, 1, 5 * P)]), over[:-1]]])
    check([got, st['malformed_messages'], st['malformed_packets']], [['cme #22 B 5.000000000 1 1'], 1, 1])
    bad = encode_message(46, {}, {'NoMDEntries': [lv(20, 2, 0, 1, 5 * P)]}, group_block_length={'NoMDEntries': 20})
    ch, st, got = run([[ext], [bad, m46([lv(20, 2, 0, 1, 6 * P)])]])
    check([got, st['malformed_messages']], [['cme #20 B 6.000000000 1 1', 'cme #20 B 4.000000000 1 1'], 1])

    # capture round trip: craft a pcap (ns and us), A/B arbitration, duplicates ignored,
    # packets of other lines and the snapshot line in arrival order
    for ts in ('ns', 'us'):
        spec = {'timestamps': ts, 'packets': [
            {'seq': 1, 'lines': ['incB'], 'messages': [{'template': 54, 'version': 9, 'root': dict(
                SecurityID=30, Symbol='CLZ6', SecurityUpdateAction='A'), 'groups': {
                'NoMDFeedTypes': [dict(MDFeedType='GBX', MarketDepth=2)]}}]},
            {'seq': 2, 'lines': ['incA'], 'messages': [{'template': 46, 'root': {}, 'groups': {
                'NoMDEntries': [lv(30, 1, 0, 1, 50 * P), lv(30, 2, 0, 1, 51 * P)]}}]},
            {'seq': 1, 'lines': ['incA', 'incB']},
            {'seq': 2, 'lines': ['incB'], 'messages': [{'raw_hex': '0a00'}]},
            {'seq': 3, 'lines': ['224.0.31.9:14310'], 'messages': [{'template': 46, 'groups': {
                'NoMDEntries': [lv(30, 3, 3, 1, 0)]}}]},
            {'seq': 4, 'lines': ['incB'], 'messages': [{'template': 46, 'version': 9, 'groups': {
                'NoMDEntries': [lv(30, 4, 0, 3, 1 * P, t='1')]}}]},
            {'seq': 3, 'lines': ['incA'], 'messages': [{'template': 46, 'groups': {
                'NoMDEntries': [lv(30, 3, 0, 1, 49 * P, t='1')]}}]},
            {'seq': 5, 'lines': ['incA'], 'messages': [{'template': 46, 'groups': {
                'NoMDEntries': [lv(30, 6, 0, 1, 48 * P, t='1')]}}]},
            {'seq': 1, 'lines': ['snapA'], 'messages': [{'template': 52, 'root': dict(
                LastMsgSeqNumProcessed=5, SecurityID=30, RptSeq=6), 'groups': {'NoMDEntries': [
                    dict(MDEntryPx=52 * P, MDEntrySize=1, MDPriceLevel=1, MDEntryType='0'),
                    dict(MDEntryPx=48 * P, MDEntrySize=1, MDPriceLevel=1, MDEntryType='1')]}}]},
            {'seq': 6, 'lines': ['incB'], 'messages': [{'template': 46, 'groups': {
                'NoMDEntries': [lv(30, 7, 1, 1, 48 * P, 9, 2, t='1')]}}]},
            # an unframed first copy (its chain runs past the datagram) does not use up
            # seq 7: the good copy on the other line after it is applied
            {'seq': 7, 'lines': ['incA'], 'messages': [{'template': 46, 'groups': {
                'NoMDEntries': [lv(30, 8, 0, 2, 50 * P, t='1')]}}, {'raw_hex': '0a00'}]},
            {'seq': 7, 'lines': ['incB'], 'messages': [{'template': 46, 'groups': {
                'NoMDEntries': [lv(30, 8, 0, 2, 49 * P, t='1')]}}]}]}
        with tempfile.TemporaryDirectory() as d:
            craft_spec(spec, os.path.join(d, 'x.pcap'))
            ch, st = run_pcap(os.path.join(d, 'x.pcap'))
        check(ch.dump('cme').decode().splitlines(),
              ['cme CLZ6 B 52.000000000 1 0', 'cme CLZ6 S 48.000000000 9 2',
               'cme CLZ6 S 49.000000000 1 1'])
        check([st['duplicates'], st['unframed_packets'], st['other_line'], ch.c['bad_level'],
               ch.c['lost_packets'], st['malformed_packets'], ch.c['rptseq_gaps'],
               ch.c['snapshots_applied']],
              [2, 2, 1, 1, 0, 0, 1, 1])
    # hostile input never raises: short blockLengths (fields absent), flipped bytes, cuts
    import random
    rnd = random.Random(23)
    pool = [m46(base + imp, [dict(OrderID=9, ReferenceID=2, OrderUpdateAction=1)]), reset, snap(11, 3, 4, [
        ('0', 1, 4 * P, 1, 1)]), s53(16, 2, 2, 1, [(1, 1, P, 1)]), defn(6, 'X'), defn(7, 'Y', 3), ext,
        encode_message(47, groups={'NoMDEntries': [o47(1, 1, P, 1)]}), encode_message(30, {'SecurityID': 5}),
        encode_message(48, groups={'NoMDEntries': [dict(SecurityID=5, RptSeq=1)]})]
    ch, st = Channel(hold=3), new_stats()
    for i in range(4000):
        b = bytearray(b''.join(rnd.sample(pool, rnd.randint(1, 3))))
        for _ in range(rnd.randint(0, 6)):
            b[rnd.randrange(len(b))] = rnd.choice((0, 1, 2, 3, 5, 0x30, 0x31, 0x45, 0x4a, 0x7f, 0xff,
                                                   rnd.randrange(256)))
        pk = encode_packet(i + 1, [bytes(b[:rnd.randint(0, len(b))] if rnd.random() < 0.2 else b)])
        (ch.incremental(i + 1, pk, st) if i % 3 else ch.other_line(pk, st))
    ch.dump('cme'), ch.dump('cme', 'implied'), ch.dump('cme', 'mbo'), ch.states('cme')
    assert st['malformed_messages'] and ch.c['entries_applied'], (st, ch.c)
    print('ref_mdp3 selftest: ok')


# ---------------------------------------------------------------- command line
def main(argv):
    if not argv or argv[0] not in ('pcap', 'craft', 'selftest'):
        raise SystemExit(__doc__)
    if argv[0] == 'selftest':
        selftest()
        return
    if argv[0] == 'craft':
        if len(argv) != 3:
            raise SystemExit(__doc__)
        with open(argv[1]) as f:
            craft_spec(json.load(f), argv[2])
        return
    rest = argv[1:]
    path, feed, book, states, stats = None, 'cme', 'mbp', None, False
    lines, opts = dict(DEFAULT_LINES), {}
    while rest:
        a = rest.pop(0)
        if a == '--stats':
            stats = True
        elif a in ('--feed', '--line', '--book', '--states', '--channel', '--max-version',
                   '--hold') and rest:
            v = rest.pop(0)
            if a == '--feed':
                feed = v
            elif a == '--line':
                name, _, val = v.partition('=')
                lines[name] = val
            elif a == '--book' and v in ('mbp', 'implied', 'mbo'):
                book = v
            elif a == '--states':
                states = v
            elif a in ('--channel', '--max-version', '--hold'):
                opts[a[2:].replace('-', '_')] = int(v)
            else:
                raise SystemExit('bad value for %s: %s' % (a, v))
        elif path is None and not a.startswith('--'):
            path = a
        else:
            raise SystemExit('bad argument: %s\n%s' % (a, __doc__))
    if path is None:
        raise SystemExit(__doc__)
    ch, st = run_pcap(path, lines, **opts)
    sys.stdout.buffer.write(ch.dump(feed, book))
    if states:
        with open(states, 'wb') as f:
            f.write(ch.states(feed))
    if stats:
        for k, v in list(st.items()) + list(ch.c.items()):
            print('%s %d' % (k, v), file=sys.stderr)


if __name__ == '__main__':
    main(sys.argv[1:])
