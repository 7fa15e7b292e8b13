"""Minimal classic-pcap reader/writer for the corpus tools (stdlib only).

Reads and writes the libpcap file format (magic a1b2c3d4 µs or a1b23c4d ns, either byte
order). Records are kept byte for byte; only what a tool changes is rewritten.
"""
import struct

MAGIC_US = 0xA1B2C3D4
MAGIC_NS = 0xA1B23C4D


class Pcap:
    def __init__(self, endian, nanos, header, records):
        self.endian = endian      # "<" or ">"
        self.nanos = nanos        # True: ns timestamps
        self.header = header      # the 24-byte global header (bytes)
        self.records = records    # list of (ts_sec, ts_frac, caplen, origlen, data)

    @property
    def linktype(self):
        return struct.unpack(self.endian + "I", self.header[20:24])[0]


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 24:
        raise SystemExit(f"{path}: not a pcap file (shorter than its header)")
    for endian in ("<", ">"):
        magic = struct.unpack(endian + "I", blob[:4])[0]
        if magic in (MAGIC_US, MAGIC_NS):
            break
    else:
        raise SystemExit(f"{path}: not a classic pcap file (pcapng is not handled here)")
    nanos = magic == MAGIC_NS
    records, off = [], 24
    while off + 16 <= len(blob):
        sec, frac, cap, orig = struct.unpack(endian + "IIII", blob[off:off + 16])
        data = blob[off + 16:off + 16 + cap]
        if len(data) != cap:
            raise SystemExit(f"{path}: truncated record at byte {off}")
        records.append((sec, frac, cap, orig, data))
        off += 16 + cap
    return Pcap(endian, nanos, blob[:24], records)


def write(path, pcap):
    with open(path, "wb") as f:
        f.write(pcap.header)
        for sec, frac, cap, orig, data in pcap.records:
            f.write(struct.pack(pcap.endian + "IIII", sec, frac, cap, orig))
            f.write(data)
