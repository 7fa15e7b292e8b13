#!/usr/bin/env python3
"""Seeds tests/fuzz/corpus/wire from recorded collector streams: each stream whole, and each
of its frames alone (a 4-byte length, a type byte, the payload), named STREAM-NN-TYPE.

usage: make_wire_corpus.py OUT_DIR STREAM...
The streams are what `pathtrace collect --stdout` wrote (tests/unit/wire/data/README.md and
docs/security.md say how they were recorded)."""
import os
import struct
import sys

NAMES = {1: "hello", 2: "chain", 3: "records", 4: "stats", 5: "bye", 6: "kept", 0x10: "stop", 0x11: "reject"}


def main():
    out, streams = sys.argv[1], sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    for path in streams:
        data = open(path, "rb").read()
        base = os.path.splitext(os.path.basename(path))[0]
        open(os.path.join(out, base + ".stream"), "wb").write(data)
        off, n = 0, 0
        while off + 5 <= len(data):
            (length,) = struct.unpack_from("<I", data, off)
            frame = data[off:off + 4 + length]
            name = NAMES.get(data[off + 4], "x%02x" % data[off + 4])
            open(os.path.join(out, "%s-%02d-%s" % (base, n, name)), "wb").write(frame)
            off += 4 + length
            n += 1
        if off != len(data):
            sys.exit("%s: %d bytes after the last whole frame" % (path, len(data) - off))


if __name__ == "__main__":
    main()
