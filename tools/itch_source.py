"""itch_source: the message list of one ITCH 5.0 session, read from a capture or a
NASDAQ binary ITCH file, for the recovery test servers (mold_server.py,
glimpse_server.py), and the command-line plumbing they share (source and --listen
options, the stop flag, the counters line). Python 3 standard library only; shares no
code with fhd, nor with tests/ref_book.py (the servers and the reference book are
meant to be independent readings of the formats).

The messages are kept the way MoldUDP64 carries them, so that a run of consecutive
messages is one slice and nothing is built per message:

  Source.data    bytes: every message as [u16 big-endian length][message], in order
  Source.offs    array of len(data) offsets: message i (0-based) starts at offs[i];
                 offs[count] == len(data)
  Source.first   the sequence number of message 0 (1 for a whole session)
  Source.session the MoldUDP64 session name, 10 bytes

Inputs:
  * ITCH file: [u16 BE length][message] records, as NASDAQ publishes them and as
    `fh-pcap gen --format itch` writes them. A zero length takes the length from the
    type byte (a known writer quirk in a public sample); a zero length before an
    unknown type, or a record cut short, ends the file.
  * pcap (classic, either byte order, micro- or nanosecond): Ethernet (optionally one
    VLAN tag) / IPv4 (unfragmented) / UDP / MoldUDP64, as fh-pcap writes it. Every UDP
    packet that is a whole valid MoldUDP64 packet counts, on any address and port; the
    session of the first one is the session, other sessions are skipped; each sequence
    number is taken once (lines A and B carry the same packets). The sequence numbers
    must then be contiguous, or the load fails: a server must not invent a session.
"""
import argparse
import signal
import struct
from array import array

ITCH_LENGTHS = {
    b'S': 12, b'R': 39, b'H': 25, b'Y': 20, b'L': 26, b'V': 35, b'W': 12, b'K': 28,
    b'J': 35, b'h': 21, b'A': 36, b'F': 40, b'E': 31, b'C': 36, b'X': 23, b'D': 19,
    b'U': 35, b'P': 44, b'Q': 40, b'B': 19, b'I': 50, b'N': 20, b'O': 48,
}
LENGTH_BY_BYTE = {t[0]: n for t, n in ITCH_LENGTHS.items()}
DEFAULT_SESSION = b'FHGEN00001'     # fh-pcap's default, so a gen'd file and pcap agree
MOLD_HEADER = struct.Struct('>10sQH')
END_OF_SESSION = 0xFFFF


class SourceError(Exception):
    pass


class Source:
    def __init__(self, session, first, data, offs):
        assert len(session) == 10 and offs[-1] == len(data)
        self.session, self.first, self.data, self.offs = session, first, data, offs

    @property
    def count(self):
        return len(self.offs) - 1

    @property
    def end(self):
        """The sequence number after the last message."""
        return self.first + self.count

    def messages(self):
        """(offset of the message body in data, its length) for each message, in order."""
        offs = self.offs
        for i in range(len(offs) - 1):
            yield offs[i] + 2, offs[i + 1] - offs[i] - 2


def session_name(name):
    b = name.encode('ascii') if isinstance(name, str) else name
    if len(b) > 10:
        raise SourceError('session name longer than 10 characters: %r' % name)
    return b.ljust(10)


def from_itch(path, session=DEFAULT_SESSION):
    with open(path, 'rb') as f:
        data = f.read()
    offs = array('Q')
    off, end, quirk = 0, len(data), False
    while off + 2 <= end:
        n = (data[off] << 8) | data[off + 1]
        if n == 0:
            n = LENGTH_BY_BYTE.get(data[off + 2]) if off + 2 < end else None
            if n is None:
                break
            quirk = True
        if off + 2 + n > end:
            break
        offs.append(off)
        off += 2 + n
    offs.append(off)
    if quirk:       # rewrite with real lengths so that slices are wire-ready
        data, offs = _reframed(data, offs)
    else:
        data = data[:off]
    return Source(session_name(session), 1, data, offs)


def _reframed(data, offs):
    parts, out, at = [], array('Q'), 0
    for i in range(len(offs) - 1):
        n = (data[offs[i]] << 8) | data[offs[i] + 1]
        if n == 0:
            n = LENGTH_BY_BYTE[data[offs[i] + 2]]
        parts.append(struct.pack('>H', n))
        parts.append(data[offs[i] + 2:offs[i] + 2 + n])
        out.append(at)
        at += 2 + n
    out.append(at)
    return b''.join(parts), out


def pcap_records(data):
    """Yield (link type, frame) of a classic pcap."""
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        e = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        e = '>'
    else:
        raise SourceError('not a classic pcap file (pcapng is not read here)')
    if len(data) < 24:
        return
    linktype = struct.unpack_from(e + 'I', data, 20)[0] & 0xFFFF
    rec = struct.Struct(e + 'IIII')
    off = 24
    while off + 16 <= len(data):
        caplen = rec.unpack_from(data, off)[2]
        off += 16
        if off + caplen > len(data):
            break
        yield linktype, data[off:off + caplen]
        off += caplen


def udp_payload(frame):
    """The UDP payload of an Ethernet/IPv4/UDP frame, or None."""
    off = 14
    if len(frame) < off:
        return None
    etype = (frame[12] << 8) | frame[13]
    if etype == 0x8100 and len(frame) >= 18:
        off, etype = 18, (frame[16] << 8) | frame[17]
    if etype != 0x0800 or len(frame) < off + 20 or frame[off] >> 4 != 4:
        return None
    ihl = (frame[off] & 0x0F) * 4
    total, frag = struct.unpack_from('>H2xH', frame, off + 2)
    if frame[off + 9] != 17 or frag & 0x3FFF or ihl < 20 or total < ihl + 8 \
            or off + total > len(frame):
        return None
    u = off + ihl
    ulen = (frame[u + 4] << 8) | frame[u + 5]
    if ulen < 8 or ulen > total - ihl:
        return None
    return frame[u + 8:u + ulen]


def mold_blocks(p):
    """(session, seq, [messages]) of a whole valid MoldUDP64 packet, else None."""
    if len(p) < 20:
        return None
    session, seq, count = MOLD_HEADER.unpack_from(p, 0)
    if count in (0, END_OF_SESSION):
        return (session, seq, []) if len(p) == 20 else None
    msgs, off = [], 20
    for _ in range(count):
        if off + 2 > len(p):
            return None
        n = (p[off] << 8) | p[off + 1]
        if off + 2 + n > len(p):
            return None
        msgs.append(p[off + 2:off + 2 + n])
        off += 2 + n
    return (session, seq, msgs) if off == len(p) else None


def from_pcap(path):
    with open(path, 'rb') as f:
        data = f.read()
    session, by_seq = None, {}
    for linktype, frame in pcap_records(data):
        p = udp_payload(frame) if linktype == 1 else None
        pkt = mold_blocks(p) if p is not None else None
        if pkt is None:
            continue
        if session is None:
            session = pkt[0]
        if pkt[0] != session:
            continue
        for i, m in enumerate(pkt[2]):
            by_seq.setdefault(pkt[1] + i, m)
    if session is None:
        raise SourceError('%s: no MoldUDP64 packet' % path)
    first = min(by_seq) if by_seq else 1
    n = len(by_seq)
    if n and max(by_seq) != first + n - 1:
        missing = next(s for s in range(first, first + n) if s not in by_seq)
        raise SourceError('%s: sequence %d is missing (the capture lost it on every line)'
                          % (path, missing))
    parts, offs, at = [], array('Q'), 0
    for s in range(first, first + n):
        m = by_seq[s]
        parts.append(struct.pack('>H', len(m)))
        parts.append(m)
        offs.append(at)
        at += 2 + len(m)
    offs.append(at)
    return Source(session, first, b''.join(parts), offs)


def server_arguments(doc, transport):
    """A parser with the options both servers take: the source and --listen."""
    p = argparse.ArgumentParser(description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument('--pcap', metavar='FILE', help='capture of the session (MoldUDP64)')
    g.add_argument('--itch', metavar='FILE', help='NASDAQ binary ITCH 5.0 file')
    p.add_argument('--session', metavar='NAME', default=None,
                   help='session name for --itch (default %s)' % DEFAULT_SESSION.decode())
    p.add_argument('--listen', default='127.0.0.1:0', metavar='HOST:PORT',
                   help='%s address to serve on (port 0: any free port); default '
                   '127.0.0.1:0' % transport)
    return p


def server_source(parser, args):
    """(Source, host, port) of the parsed arguments; a usage error if they are bad."""
    try:
        if args.pcap and args.session is not None:
            raise SourceError('--session applies to --itch only (a capture names its session)')
        src = from_pcap(args.pcap) if args.pcap else \
            from_itch(args.itch, args.session or DEFAULT_SESSION)
        return (src,) + parse_hostport(args.listen)
    except (SourceError, OSError) as e:
        parser.error(str(e))


def server_stop_flag():
    """A list that SIGTERM or SIGINT makes non-empty: the servers' loops test it."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    return stop


def counters_line(name, counters):
    return name + ': ' + ' '.join('%s %d' % kv for kv in counters.items())


def parse_hostport(s):
    host, sep, port = s.rpartition(':')
    if not sep or not port.isdigit() or int(port) > 65535:
        raise SourceError('expected HOST:PORT, got %r' % s)
    return host or '127.0.0.1', int(port)
