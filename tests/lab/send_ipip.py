#!/usr/bin/env python3
"""LVS-TUN traffic for the lab: IPIP (IP protocol 4) from the director to the real server.

  send_ipip.py --count 200 --rate 100 [--outer-src 198.18.0.1] [--outer-dst 198.18.0.20]
               [--vip 198.18.0.100] [--vport 80] [--clients 20]

Each packet: outer IPv4 (proto 4, DF, TTL 64, unique IP ID) -> inner IPv4/TCP SYN
from client 198.19.<k/250>.<k%250+1>:<40000+k> to VIP:VPORT, 20 clients, thousands of
inner flows would look the same. Checksums are computed here (IP_HDRINCL raw socket:
nothing is offloaded). Run it inside the director's namespace. Prints what it sent.
"""
import argparse
import ipaddress
import socket
import struct
import sys
import time


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, ident, payload, ttl=64):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, ttl, proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def tcp(src, dst, sport, dport, seq, flags=0x02, payload=b""):
    opts = struct.pack("!BBH", 2, 4, 1460)  # MSS
    off = (20 + len(opts)) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, off << 4, flags, 29200, 0, 0) + opts
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(hdr) + len(payload))
    c = csum(pseudo + hdr + payload)
    return hdr[:16] + struct.pack("!H", c) + hdr[18:] + payload


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--rate", type=float, default=100.0, help="packets per second")
    ap.add_argument("--outer-src", default="198.18.0.1")
    ap.add_argument("--outer-dst", default="198.18.0.20")
    ap.add_argument("--vip", default="198.18.0.100")
    ap.add_argument("--vport", type=int, default=80)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--client-net", default="198.19.0.0/16")
    ap.add_argument("--first-id", type=int, default=0x1000, help="outer IP ID of the first packet")
    a = ap.parse_args()
    if not (0 < a.count <= 60000 and a.rate > 0 and 0 < a.clients <= 10000):
        ap.error("bad --count/--rate/--clients")
    base = int(ipaddress.ip_network(a.client_net).network_address)
    clients = [str(ipaddress.ip_address(base + (k // 250) * 256 + k % 250 + 1)) for k in range(a.clients)]

    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)  # implies IP_HDRINCL
    gap = 1.0 / a.rate
    t0 = time.monotonic()
    for i in range(a.count):
        k = i % a.clients
        sport = 40000 + k
        inner = ipv4(clients[k], a.vip, 6, (0x2000 + i) & 0xFFFF,
                     tcp(clients[k], a.vip, sport, a.vport, 0x10000000 + i * 7919), ttl=63)
        pkt = ipv4(a.outer_src, a.outer_dst, 4, (a.first_id + i) & 0xFFFF, inner)
        s.sendto(pkt, (a.outer_dst, 0))
        delay = t0 + (i + 1) * gap - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    print(f"send_ipip: sent {a.count} IPIP packets {a.outer_src} -> {a.outer_dst} "
          f"(inner TCP SYN from {a.clients} clients to {a.vip}:{a.vport}) in {time.monotonic() - t0:.2f}s",
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
