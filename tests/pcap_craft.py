#!/usr/bin/env python3
"""pcap_craft: the odd captures the replay tests need, written byte by byte from the
pcap and pcapng formats (and the Linux cooked headers), never by fhd's own code.

  pcap_craft.py relink KIND IN OUT     KIND raw|ipv4|sll|sll2: each Ethernet frame's
                                       network packet under that link type's header
  pcap_craft.py linktype N IN OUT      the same bytes, header link type set to N
  pcap_craft.py empty OUT              a pcap header and no packet
  pcap_craft.py cut IN OUT K           the file cut in the middle of packet K (0-based)
  pcap_craft.py caplen IN OUT K        packet K's record claims caplen 0x7fffffff
  pcap_craft.py prefix IN OUT K        the first K packets, whole
  pcap_craft.py pad IN OUT SIZE [K]    frames padded to SIZE bytes (only packet K if given)
  pcap_craft.py mixng IN OUT K         pcapng: K Ethernet packets, then a second interface
                                       of link type RAW and packets on both
  pcap_craft.py short KIND IN OUT      sll|sll2|raw capture with frames cut short of
                                       their link header (lengths 0..header-1) added
  pcap_craft.py count IN               whole records before the end or the first bad one
  pcap_craft.py concat IN1 IN2 OUT     IN2's packets after IN1's (times moved to 1 s
                                       after IN1's last): one session after another
  pcap_craft.py holes IN OUT F-L ...   without the MoldUDP64 packets (both lines) whose
                                       first sequence number is in F..L: holes no line fills
  pcap_craft.py from-seq IN OUT SEQ    the MoldUDP64 packets whose first sequence number
                                       is SEQ or more (a late join's lines); prints the
                                       first one kept
  pcap_craft.py lost FULL LOSSY        the messages FULL carries and LOSSY lacks, one run
                                       of sequence numbers F-L a line (what drop-both lost)
  pcap_craft.py hostile OUT            frames to the default config's line A that lie at
                                       every layer (VLAN, IPv4 header and options,
                                       fragments, UDP length, MoldUDP64 count, length and
                                       sequence, every ITCH type with right and wrong
                                       lengths, session changes, end of session, jumbo)
  pcap_craft.py symbols OUT            instruments named with quotes, backslashes,
                                       escape sequences, control and non-ASCII bytes
  pcap_craft.py stray KIND OUT         frames a live port sees that are not its lines':
                                       group (UDP to a group no line joined, and to line
                                       A's group on another port), notudp (TCP, ICMP, ARP,
                                       IPv6), runt (line A's frame cut to 14..59 bytes),
                                       jumbo (line A heartbeats padded to 1,600..9,000 bytes)
  pcap_craft.py odd KIND IN OUT        pcapng or pcap oddities from IN's first 50 frames:
                                       noiface spb twoshb tsresol caplenblock origshort
                                       hugeblock unknownblk bigendian jumbo (pcapng),
                                       be ns snap0 fcs (classic pcap)
"""
import struct
import sys

HDR = struct.Struct('<IHHiIII')
REC = struct.Struct('<IIII')


def read(path):
    d = open(path, 'rb').read()
    assert struct.unpack('<I', d[:4])[0] == 0xa1b2c3d4, 'little-endian microsecond pcap only'
    recs, at = [], 24
    while at + 16 <= len(d):
        s, us, incl, orig = REC.unpack_from(d, at)
        recs.append((s, us, d[at + 16:at + 16 + incl]))
        at += 16 + incl
    return d[:24], recs


def write(path, linktype, recs, snaplen=262144):
    with open(path, 'wb') as f:
        f.write(HDR.pack(0xa1b2c3d4, 2, 4, 0, 0, snaplen, linktype))
        for s, us, data in recs:
            f.write(REC.pack(s, us, len(data), len(data)) + data)


def network(frame):
    """The Ethernet frame's ethertype and network packet (after one VLAN tag)."""
    et, l3 = frame[12:14], 14
    if et == b'\x81\x00':
        et, l3 = frame[16:18], 18
    return et, frame[l3:]


def relinked(frame, kind):
    et, ip = network(frame)
    if kind in ('raw', 'ipv4'):
        return ip
    if kind == 'sll':   # packet type 2 (multicast), ARPHRD_ETHER, 6-byte source address
        return struct.pack('>HHH', 2, 1, 6) + frame[6:12] + b'\0\0' + et + ip
    if kind == 'sll2':  # protocol, reserved, ifindex 3, ARPHRD_ETHER, multicast, 6 bytes
        return et + b'\0\0' + struct.pack('>IHBB', 3, 1, 2, 6) + frame[6:12] + b'\0\0' + ip
    raise SystemExit('unknown kind ' + kind)


LINKTYPES = {'raw': 101, 'ipv4': 228, 'sll': 113, 'sll2': 276}
HEADER_LEN = {'raw': 1, 'sll': 16, 'sll2': 20}


def pcapng_block(kind, body):
    body += b'\0' * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack('<II', kind, n) + body + struct.pack('<I', n)


# ---------------------------------------------------------------- hostile input
GROUP_A = bytes([233, 54, 12, 111])
GROUP_B = bytes([233, 49, 196, 111])
ITCH_LENGTHS = {'S': 12, 'R': 39, 'H': 25, 'Y': 20, 'L': 26, 'V': 35, 'W': 12, 'K': 28,
                'J': 35, 'h': 21, 'A': 36, 'F': 40, 'E': 31, 'C': 36, 'X': 23, 'D': 19,
                'U': 35, 'P': 44, 'Q': 40, 'B': 19, 'I': 50, 'N': 20, 'O': 48}


def mold(session, seq, msgs, count=None):
    body = b''.join(struct.pack('>H', len(m)) + m for m in msgs)
    return session + struct.pack('>QH', seq, len(msgs) if count is None else count) + body


def ip_udp(payload, group=GROUP_A, ihl=5, flags=0x4000, total=None, udp_len=None, proto=17,
           opts=b''):
    udp = struct.pack('>HHHH', 40001, 26477, 8 + len(payload) if udp_len is None else udp_len,
                      0) + payload
    opts = opts + b'\0' * (ihl * 4 - 20 - len(opts))
    t = 20 + len(opts) + len(udp) if total is None else total
    return struct.pack('>BBHHHBBH4s4s', 0x40 | ihl, 0, t & 0xffff, 1, flags, 64, proto, 0,
                       bytes([10, 0, 0, 1]), group) + opts + udp


def ether(l3, tags=(), ethertype=0x0800):
    h = b'\x01\x00\x5e\x36\x0c\x6f' + b'\x02' * 6
    for tpid, tci in tags:
        h += struct.pack('>HH', tpid, tci)
    return h + struct.pack('>H', ethertype) + l3


def itch(kind, n=None, locate=1, fill=None, rng=None):
    n = ITCH_LENGTHS.get(kind, 12) if n is None else n
    m = bytearray([fill] * n) if fill is not None else bytearray(rng.getrandbits(8) for _ in range(n))
    if n > 0:
        m[0] = ord(kind)
    if n >= 3:
        m[1:3] = struct.pack('>H', locate)
    return bytes(m)


def hostile_frames():
    import random
    rng = random.Random(7)
    s1, s2 = b'SESSION001', b'SESSION002'
    frames, seq = [], [1]

    def data(msgs, **kw):
        p = mold(s1, seq[0], msgs)
        seq[0] += len(msgs)
        return ether(ip_udp(p, **kw))

    def head(count, extra=b'', seq_at=None):
        return ether(ip_udp(s1 + struct.pack('>QH', seq[0] if seq_at is None else seq_at, count)
                            + extra))

    for kind in ITCH_LENGTHS:
        for loc in (0, 1, 4095, 4096, 65535):
            for fill in (None, 0xff, 0x00):
                frames.append(data([itch(kind, locate=loc, fill=fill, rng=rng)]))
    for kind in list(ITCH_LENGTHS) + ['Z', '\x00', '\xff']:
        for d in (0, 1, -1, 5, 100):
            n = ITCH_LENGTHS.get(kind, 12) + d
            if n >= 0:
                frames.append(data([itch(kind, n, rng=rng)]))
    frames.append(data([b'']))
    frames.append(data([itch('A', 8900, rng=rng)]))                # one jumbo message
    frames.append(data([itch('S', rng=rng) for _ in range(600)]))  # a jumbo frame of many
    one = struct.pack('>H', 12) + itch('S', rng=rng)
    frames.append(head(0xfffe, one))                # count beyond the messages
    frames.append(head(3, one))
    frames.append(head(1, struct.pack('>H', 65535) + itch('S', rng=rng)))  # length beyond
    frames.append(head(1, one + b'xx'))             # bytes after the last message
    frames.append(head(1, one, 0))                  # sequence 0
    frames.append(head(1, one, 2**64 - 1))          # a range that wraps
    frames.append(head(1, one, 2**64 - 2))
    frames.append(head(0, b'', 2**63))              # heartbeat far ahead
    frames.append(head(0, b'x', 5))                 # heartbeat with a payload
    frames.append(ether(ip_udp(b'short')))
    frames.append(ether(ip_udp(b'')))
    pl = mold(s1, seq[0], [itch('S', rng=rng)])
    for kw in ({'udp_len': 0}, {'udp_len': 7}, {'udp_len': 8}, {'udp_len': 65535},
               {'udp_len': 8 + len(pl) - 1}, {'total': 65535}, {'total': 0}, {'total': 27},
               {'ihl': 15, 'opts': b'\x94\x04\0\0'}, {'ihl': 6, 'opts': b'\x01\x01\x01\x00'},
               {'ihl': 4}, {'ihl': 0}, {'flags': 0x2000}, {'flags': 0x0001}, {'flags': 0x8000},
               {'proto': 6}):
        frames.append(ether(ip_udp(pl, **kw)))
    frames.append(ether(ip_udp(pl), [(0x8100, 5)]))
    frames.append(ether(ip_udp(pl), [(0x88a8, 5), (0x8100, 6)]))
    frames.append(ether(ip_udp(pl), [(0x8100, 5), (0x8100, 6)]))
    frames.append(ether(b'', [(0x8100, 5)])[:16])
    frames.append(ether(b'\x60' + b'\0' * 60, ethertype=0x86dd))
    for n in range(60):
        frames.append(ether(ip_udp(pl))[:n])
    frames.append(ether(ip_udp(mold(s2, 7, [itch('S', rng=rng)]))))       # stray session
    frames.append(head(0xffff))                                            # end of session
    frames.append(head(0xffff, b'x'))                                      # a bad end
    frames.append(ether(ip_udp(mold(s1, seq[0], [itch('S', rng=rng)]))))  # after the end
    frames.append(ether(ip_udp(mold(s2, 1, [itch('A', locate=3, rng=rng)]))))
    frames.append(ether(ip_udp(mold(s2, 1, [itch('A', locate=3, rng=rng)]), group=GROUP_B)))
    frames.append(ether(ip_udp(mold(s1, 1, [itch('S', rng=rng)]))))
    return frames


def stray_frames(kind):
    """Frames for stray KIND (see stray in the usage). The heartbeat is session STRAY0001's
    at sequence 1: were one taken as a line's, the feed would count a session change."""
    beat = mold(b'STRAY00001', 1, [])
    if kind == 'group':
        other = ip_udp(beat)
        other = other[:22] + struct.pack('>H', 26478) + other[24:]   # UDP destination port
        return [ether(ip_udp(beat, group=bytes([233, 1, 2, 3]))), ether(other)] * 50
    if kind == 'notudp':
        arp = struct.pack('>HHBBH6s4s6s4s', 1, 0x0800, 6, 4, 1, b'\x02' * 6, bytes([10, 0, 0, 1]),
                          b'\0' * 6, bytes([10, 0, 0, 254]))
        return [ether(ip_udp(beat, proto=6)), ether(ip_udp(beat, proto=1)),
                ether(arp, ethertype=0x0806), ether(b'\x60' + b'\0' * 60, ethertype=0x86dd)] * 25
    if kind == 'runt':
        whole = ether(ip_udp(beat))
        return [whole[:n] for n in range(14, 60)] * 2
    if kind == 'jumbo':
        return [ether(ip_udp(beat + b'\0' * (size - 14 - 28 - len(beat))))
                for size in (1515, 1600, 2048, 2400, 3000, 4096, 8192, 9014)] * 10
    raise SystemExit('unknown stray kind ' + kind)


def symbol_frames():
    names = [b'"QUOTE" ', b'BACK\\SL ', b'\x1b[31mRED', b'\0' * 8, b'\xff\xfe\x80\xc3(ABC',
             b'\n\r\t\x07\x08\x0c\x7f ', b'<tag>&am', b'\\u0000X ', b'\xe2\x80\xae\xe2\x80\xae  ']
    msgs = []
    for i, name in enumerate(names):
        m = bytearray(itch('R', locate=i + 1, fill=0))
        m[11:19] = name
        m[19] = ord('Q')
        msgs.append(bytes(m))
    for i, name in enumerate(names):
        for locate, side, price, shares in ((i + 100, 'B', 0xffffffff, 0xffffffff),
                                            (i + 1, 'S', 1, 1)):
            m = bytearray(itch('A', locate=locate, fill=0))
            m[11:19] = struct.pack('>Q', locate * 1000 + i)
            m[19] = ord(side)
            m[20:24] = struct.pack('>I', shares)
            m[24:32] = name
            m[32:36] = struct.pack('>I', price)
            msgs.append(bytes(m))
        m = bytearray(itch('H', locate=i + 1, fill=0))
        m[11:19] = name
        m[19] = i * 31 % 256
        m[21:25] = b'\0"\\\x1b'
        msgs.append(bytes(m))
    frames = [ether(ip_udp(mold(b'SESSION001', seq + 1, [m]))) for seq, m in enumerate(msgs)]
    frames.append(ether(ip_udp(b'SESSION001' + struct.pack('>QH', len(msgs) + 1, 0xffff))))
    return frames


def odd_capture(kind, recs):
    d = [r[2] for r in recs[:50]]
    shb = pcapng_block(0x0a0d0d0a, struct.pack('<IHHq', 0x1a2b3c4d, 1, 0, -1))

    def idb(lt, opts=b''):
        return pcapng_block(1, struct.pack('<HHI', lt, 0, 65535) + opts)

    def epb(data, iface=0, orig=None, ts=0):
        return pcapng_block(6, struct.pack('<IIIII', iface, ts >> 32, ts & 0xffffffff, len(data),
                                           len(data) if orig is None else orig) + data)

    def opt(code, val):
        return struct.pack('<HH', code, len(val)) + val + b'\0' * (-len(val) % 4)

    def be_block(kind, body):
        body += b'\0' * (-len(body) % 4)
        return struct.pack('>II', kind, 12 + len(body)) + body + struct.pack('>I', 12 + len(body))

    def classic(magic, e, snap, lt, us=2):
        return struct.pack(e + 'IHHiIII', magic, 2, 4, 0, 0, snap, lt) + b''.join(
            struct.pack(e + 'IIII', 1, us, len(x), len(x)) + x for x in d)
    eth = shb + idb(1)
    if kind == 'noiface':
        return eth + b''.join(epb(x) for x in d[:10]) + epb(d[10], 7) + b''.join(epb(x) for x in d[11:])
    if kind == 'spb':
        return eth + b''.join(pcapng_block(3, struct.pack('<I', len(x)) + x) for x in d)
    if kind == 'twoshb':
        return eth + b''.join(epb(x) for x in d[:20]) + shb + idb(113) + \
            b''.join(epb(relinked(x, 'sll')) for x in d[20:])
    if kind == 'tsresol':
        return shb + idb(1, opt(9, b'\xbf') + opt(0, b'')) + b''.join(epb(x, ts=2**63) for x in d)
    if kind == 'caplenblock':
        bad = bytearray(epb(d[5]))
        struct.pack_into('<I', bad, 20, 60000)
        return eth + b''.join(epb(x) for x in d[:5]) + bytes(bad) + b''.join(epb(x) for x in d[6:])
    if kind == 'origshort':
        return eth + b''.join(epb(x, orig=3) for x in d)
    if kind == 'hugeblock':
        bad = bytearray(epb(d[3]))
        struct.pack_into('<I', bad, 4, 0x7ffffff0)
        return eth + b''.join(epb(x) for x in d[:3]) + bytes(bad)
    if kind == 'unknownblk':
        return eth + b''.join(pcapng_block(0x0bad, b'x' * 13) + epb(x) for x in d)
    if kind == 'bigendian':
        return be_block(0x0a0d0d0a, struct.pack('>IHHq', 0x1a2b3c4d, 1, 0, -1)) + \
            be_block(1, struct.pack('>HHI', 1, 0, 65535)) + b''.join(
                be_block(6, struct.pack('>IIIII', 0, 0, 0, len(x), len(x)) + x) for x in d)
    if kind == 'jumbo':
        return eth + b''.join(epb(x + b'\0' * (65000 - len(x))) for x in d[:10])
    if kind == 'be':
        return classic(0xa1b2c3d4, '>', 65535, 1)
    if kind == 'ns':
        return classic(0xa1b23c4d, '<', 65535, 1, 999999999)
    if kind == 'snap0':
        return classic(0xa1b2c3d4, '<', 0, 1)
    if kind == 'fcs':
        return classic(0xa1b2c3d4, '<', 65535, 1 | 0x10000000 | 0x04000000)
    raise SystemExit('unknown odd capture ' + kind)


def mold_seq(frame):
    """The MoldUDP64 first sequence number of an Ethernet/IPv4/UDP frame, else None."""
    et, l3 = network(frame)
    udp = l3[(l3[0] & 15) * 4:] if et == b'\x08\x00' and len(l3) > 20 else b''
    return struct.unpack_from('>Q', udp, 18)[0] if len(udp) >= 28 else None


def drop_both(recs, rate, seed):
    """Frames of recs without the MoldUDP64 data packets chosen (each with probability
    rate, by sequence number, seeded) on every line: holes only recovery can fill."""
    import random
    rng, lost, out = random.Random(seed), {}, []
    for rec in recs:
        et, l3 = network(rec[2])
        mold = l3[(l3[0] & 15) * 4 + 8:] if et == b'\x08\x00' and len(l3) >= 28 else b''
        if len(mold) >= 20 and struct.unpack_from('>H', mold, 18)[0] not in (0, 0xFFFF):
            seq = struct.unpack_from('>Q', mold, 10)[0]
            if seq not in lost:
                lost[seq] = rng.random() < rate
            if lost[seq]:
                continue
        out.append(rec)
    return out, sum(lost.values())


def messages(recs):
    """The sequence numbers of the messages the MoldUDP64 data packets of recs carry."""
    seqs = set()
    for rec in recs:
        et, l3 = network(rec[2])
        mold = l3[(l3[0] & 15) * 4 + 8:] if et == b'\x08\x00' and len(l3) >= 28 else b''
        if len(mold) >= 20 and struct.unpack_from('>H', mold, 18)[0] not in (0, 0xFFFF):
            seq, count = struct.unpack_from('>QH', mold, 10)
            seqs.update(range(seq, seq + count))
    return seqs


def runs(seqs):
    """Sorted sequence numbers as runs of consecutive ones, 'F-L' each."""
    out = []
    for n in sorted(seqs):
        if out and out[-1][1] + 1 == n:
            out[-1][1] = n
        else:
            out.append([n, n])
    return [f'{f}-{last}' for f, last in out]


def main(argv):
    cmd = argv[1]
    if cmd == 'drop-both':
        # drop-both IN OUT RATE SEED: prints how many packets were dropped.
        _, recs = read(argv[2])
        out, n = drop_both(recs, float(argv[4]), int(argv[5]))
        write(argv[3], 1, out)
        print(n)
        return
    if cmd == 'relink':
        _, recs = read(argv[3])
        write(argv[4], LINKTYPES[argv[2]], [(s, us, relinked(d, argv[2])) for s, us, d in recs])
    elif cmd == 'linktype':
        _, recs = read(argv[3])
        write(argv[4], int(argv[2]), recs)
    elif cmd == 'empty':
        write(argv[2], 1, [], 65535)
    elif cmd in ('cut', 'caplen', 'prefix'):
        head, recs = read(argv[2])
        k = int(argv[4])
        out = bytearray(head)
        for i, (s, us, data) in enumerate(recs):
            if i == k and cmd == 'cut':
                out += REC.pack(s, us, len(data), len(data)) + data[:len(data) // 2]
                break
            if i == k and cmd == 'prefix':
                break
            rec = bytearray(REC.pack(s, us, len(data), len(data)))
            if i == k and cmd == 'caplen':
                struct.pack_into('<I', rec, 8, 0x7fffffff)
            out += rec + data
        open(argv[3], 'wb').write(out)
    elif cmd == 'pad':
        _, recs = read(argv[2])
        size, only = int(argv[4]), int(argv[5]) if len(argv) > 5 else None
        write(argv[3], 1, [(s, us, d + b'\0' * (size - len(d)) if only in (None, i) else d)
                           for i, (s, us, d) in enumerate(recs)])
    elif cmd == 'mixng':
        _, recs = read(argv[2])
        k = int(argv[4])
        out = pcapng_block(0x0a0d0d0a, struct.pack('<IHHq', 0x1a2b3c4d, 1, 0, -1))
        out += pcapng_block(1, struct.pack('<HHI', 1, 0, 65535))

        def epb(iface, s, us, data):
            ts = s * 1000000 + us
            return pcapng_block(6, struct.pack('<IIIII', iface, ts >> 32, ts & 0xffffffff,
                                               len(data), len(data)) + data)
        for s, us, d in recs[:k]:
            out += epb(0, s, us, d)
        out += pcapng_block(1, struct.pack('<HHI', 101, 0, 65535))
        for i, (s, us, d) in enumerate(recs[k:]):
            out += epb(1, s, us, network(d)[1]) if i % 2 else epb(0, s, us, d)
        open(argv[3], 'wb').write(out)
    elif cmd == 'short':
        kind = argv[2]
        _, recs = read(argv[3])
        out = [(s, us, relinked(d, kind)) for s, us, d in recs]
        s, us, d = out[0]
        out = [(s, us, d[:n]) for n in range(HEADER_LEN[kind])] + out
        write(argv[4], LINKTYPES[kind], out)
    elif cmd == 'concat':
        _, first = read(argv[2])
        _, second = read(argv[3])
        shift = first[-1][0] + 1 - second[0][0] if first and second else 0
        write(argv[4], 1, first + [(s + shift, us, d) for s, us, d in second])
    elif cmd == 'holes':
        _, recs = read(argv[2])
        holes = [tuple(int(x) for x in r.split('-')) for r in argv[4:]]
        write(argv[3], 1, [(s, us, d) for s, us, d in recs
                           if not any(f <= (mold_seq(d) or 0) <= last for f, last in holes)])
    elif cmd == 'from-seq':
        _, recs = read(argv[2])
        kept = [(s, us, d) for s, us, d in recs if (mold_seq(d) or 0) >= int(argv[4])]
        write(argv[3], 1, kept)
        print(mold_seq(kept[0][2]) if kept else '')
    elif cmd == 'lost':
        print('\n'.join(runs(messages(read(argv[2])[1]) - messages(read(argv[3])[1]))))
    elif cmd == 'count':
        d = open(argv[2], 'rb').read()
        at, n = 24, 0
        while at + 16 <= len(d):
            incl = REC.unpack_from(d, at)[2]
            if incl > 262144 or at + 16 + incl > len(d):  # libpcap: EN10MB maximum
                break
            at += 16 + incl
            n += 1
        print(n)
    elif cmd in ('hostile', 'symbols'):
        frames = hostile_frames() if cmd == 'hostile' else symbol_frames()
        write(argv[2], 1, [(1577698200, i, f) for i, f in enumerate(frames)])
    elif cmd == 'stray':
        write(argv[3], 1, [(1577698200, i, f) for i, f in enumerate(stray_frames(argv[2]))])
    elif cmd == 'odd':
        _, recs = read(argv[3])
        open(argv[4], 'wb').write(odd_capture(argv[2], recs))
    else:
        raise SystemExit(__doc__)


if __name__ == '__main__':
    main(sys.argv)
