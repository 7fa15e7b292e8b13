#!/usr/bin/env python3
"""Switch segmentation offloads of an interface, like `ethtool -K DEV tso off gso off`,
without ethtool (legacy SIOCETHTOOL commands).

  offload.py DEV tso=on|off [gso=on|off] [gro=on|off]    (inside the namespace owning DEV)
"""
import ctypes
import fcntl
import socket
import struct
import sys

SIOCETHTOOL = 0x8946
CMDS = {"tso": (0x1E, 0x1F), "gso": (0x23, 0x24), "gro": (0x2B, 0x2C)}  # (get, set)


def ethtool_value(sock, dev, cmd, data=0):
    buf = ctypes.create_string_buffer(struct.pack("II", cmd, data))
    ifreq = struct.pack("16sP", dev.encode(), ctypes.addressof(buf))
    fcntl.ioctl(sock.fileno(), SIOCETHTOOL, ifreq)
    return struct.unpack("II", buf.raw[:8])[1]


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    dev = argv[1]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for spec in argv[2:]:
        name, _, val = spec.partition("=")
        if name not in CMDS or val not in ("on", "off"):
            print(f"offload: bad setting {spec!r}", file=sys.stderr)
            return 2
        get, put = CMDS[name]
        ethtool_value(s, dev, put, 1 if val == "on" else 0)
        if ethtool_value(s, dev, get) != (1 if val == "on" else 0):
            print(f"offload: {dev}: {name} did not switch {val}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
