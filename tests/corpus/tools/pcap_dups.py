#!/usr/bin/env python3
"""Count frames in a classic pcap (Ethernet, optionally 802.1Q) whose IP packet repeats
an earlier frame's exactly, TTL and header checksum aside — duplicates as pathtrace's
digest would see them. Used by make_corpus.sh to record what a set really contains.

  pcap_dups.py FILE      prints: FRAMES UNIQUE DUPLICATES OVER_1514
"""
import struct
import sys

import pcaplib


def ip_key(data):
    off, etype = 12, None
    while off + 2 <= len(data):
        etype = struct.unpack("!H", data[off:off + 2])[0]
        if etype in (0x8100, 0x88A8):
            off += 4
            continue
        break
    ip = data[off + 2:]
    if etype == 0x0800 and len(ip) >= 20:
        return ip[:8] + ip[9:10] + ip[12:]          # without TTL (8) and checksum (10-11)
    if etype == 0x86DD and len(ip) >= 40:
        return ip[:7] + ip[8:]                       # without hop limit (7)
    return data


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    p = pcaplib.read(argv[1])
    seen, dups, big = set(), 0, 0
    for _, _, _, orig, data in p.records:
        k = ip_key(data)
        if k in seen:
            dups += 1
        seen.add(k)
        big += orig > 1514
    print(len(p.records), len(seen), dups, big)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
