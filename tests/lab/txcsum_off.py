#!/usr/bin/env python3
"""Turn off transmit checksum offload (and with it TSO/GSO) on interfaces, like
`ethtool -K DEV tx off`, without needing ethtool.

  txcsum_off.py DEV [DEV...]      (run inside the namespace that owns DEV)

Why: a veth transmits TCP with a partial checksum (CHECKSUM_PARTIAL). The OVS
userspace datapath reads frames through AF_PACKET and writes them out again as
plain bytes, so the checksum is never completed; conntrack on qbr then marks the
SYN INVALID and the Neutron chain drops it. Real NICs complete checksums in
hardware; turning offload off at the sender gives the same correct bytes.
"""
import ctypes
import fcntl
import socket
import struct
import sys

SIOCETHTOOL = 0x8946
ETHTOOL_GTXCSUM = 0x16
ETHTOOL_STXCSUM = 0x17


def ethtool_value(sock, dev, cmd, data=0):
    buf = ctypes.create_string_buffer(struct.pack("II", cmd, data))
    ifreq = struct.pack("16sP", dev.encode(), ctypes.addressof(buf))
    fcntl.ioctl(sock.fileno(), SIOCETHTOOL, ifreq)
    return struct.unpack("II", buf.raw[:8])[1]


def main(devs):
    if not devs:
        print(__doc__, file=sys.stderr)
        return 2
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for dev in devs:
        ethtool_value(s, dev, ETHTOOL_STXCSUM, 0)
        if ethtool_value(s, dev, ETHTOOL_GTXCSUM) != 0:
            print(f"txcsum_off: {dev}: tx checksumming still on", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
