#!/usr/bin/env python3
"""Rewrite the link type in a classic pcap file's header, leaving every packet as it was:
the file then claims the wrong link layer for its bytes (a mislabelled capture).

  pcap_linktype.py IN OUT LINKTYPE     e.g. 101 (LINKTYPE_RAW), 113 (LINUX_SLL), 276 (SLL2)
"""
import struct
import sys

import pcaplib


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    src, dst, lt = argv[1], argv[2], int(argv[3])
    p = pcaplib.read(src)
    old = p.linktype
    p.header = p.header[:20] + struct.pack(p.endian + "I", lt)
    pcaplib.write(dst, p)
    print(f"pcap_linktype: {src} -> {dst}: link type {old} -> {lt}, {len(p.records)} records unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
