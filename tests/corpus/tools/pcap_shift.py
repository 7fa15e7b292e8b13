#!/usr/bin/env python3
"""Shift every timestamp of a classic pcap file by a fixed offset (a clock that is off).

  pcap_shift.py IN OUT OFFSET       OFFSET in seconds, signed, e.g. +0.5, -0.5, +30

The packets are the recorded ones, byte for byte; only the record headers' times change,
as if the capturing host's clock had been OFFSET ahead (positive) or behind (negative).
"""
import sys
from decimal import Decimal

import pcaplib


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    src, dst, offset = argv[1], argv[2], Decimal(argv[3])
    p = pcaplib.read(src)
    unit = 10**9 if p.nanos else 10**6
    delta = int(offset * unit)
    out = []
    for sec, frac, cap, orig, data in p.records:
        t = sec * unit + frac + delta
        if t < 0:
            raise SystemExit(f"{src}: shifting by {offset} s goes before 1970")
        out.append((t // unit, t % unit, cap, orig, data))
    p.records = out
    pcaplib.write(dst, p)
    print(f"pcap_shift: {src} -> {dst}: {len(out)} records shifted by {offset:+} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
