#!/usr/bin/env python3
"""Small traffic generators for the corpus labs (run inside a lab namespace).

  send.py udp --dst IP --dport P [--sport P] --count N --rate R [--sizes 100,600,1200] [--df]
      N UDP datagrams (IPv4 or IPv6, from the address family of IP), payload sizes cycling
      through --sizes, each payload starting with its index (every datagram differs).
  send.py icmpflood --src IP --dst IP --count N --rate R
      N identical ICMP echo requests through a raw socket (IP_HDRINCL): IPv4 ID 0, DF,
      same ICMP id, sequence and payload in every one — a flood of indistinguishable packets.
  send.py tcpsink --bind IP --port P
      accept one TCP connection and read it to the end (runs until killed or EOF).
  send.py tcpbulk --dst IP --port P --bytes N
      connect and send N bytes as fast as the socket takes them, then close.

Prints one line saying what it sent.
"""
import argparse
import socket
import struct
import sys
import time


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def pace(t0, i, rate):
    delay = t0 + (i + 1) / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def udp(a):
    fam = socket.AF_INET6 if ":" in a.dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if a.sport:
        s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", a.sport))
    if a.df and fam == socket.AF_INET:
        s.setsockopt(socket.IPPROTO_IP, 10, 2)  # IP_MTU_DISCOVER = IP_PMTUDISC_DO
    sizes = [int(x) for x in a.sizes.split(",")]
    t0 = time.monotonic()
    by_size = {}
    for i in range(a.count):
        n = sizes[i % len(sizes)]
        payload = (b"%08d " % i + b"pathtrace-corpus " * (n // 17 + 1))[:n]
        s.sendto(payload, (a.dst, a.dport))
        by_size[n] = by_size.get(n, 0) + 1
        pace(t0, i, a.rate)
    sizes_txt = ", ".join(f"{c}x{n}B" for n, c in sorted(by_size.items()))
    print(f"send udp: {a.count} datagrams to {a.dst}:{a.dport} ({sizes_txt}) in {time.monotonic() - t0:.2f}s",
          flush=True)


def icmpflood(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    payload = b"pathtrace corpus flood!!"  # 24 bytes
    icmp = struct.pack("!BBHHH", 8, 0, 0, 0x7074, 1) + payload
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0, 0x4000, 64, 1, 0,
                      socket.inet_aton(a.src), socket.inet_aton(a.dst))
    pkt = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + icmp
    t0 = time.monotonic()
    for i in range(a.count):
        s.sendto(pkt, (a.dst, 0))
        pace(t0, i, a.rate)
    print(f"send icmpflood: {a.count} identical echo requests {a.src} -> {a.dst} (IP ID 0, DF, "
          f"ICMP id 0x7074 seq 1) in {time.monotonic() - t0:.2f}s", flush=True)


def tcpsink(a):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((a.bind, a.port))
    srv.listen(1)
    conn, _ = srv.accept()
    total = 0
    while True:
        b = conn.recv(1 << 16)
        if not b:
            break
        total += len(b)
    conn.close()
    print(f"send tcpsink: received {total} bytes", flush=True)


def tcpbulk(a):
    s = socket.create_connection((a.dst, a.port), timeout=10)
    block = b"pathtrace corpus bulk " * 3000
    left = a.bytes
    while left > 0:
        n = s.send(block[:left])
        left -= n
    s.shutdown(socket.SHUT_WR)
    s.settimeout(5)
    while s.recv(4096):
        pass
    s.close()
    print(f"send tcpbulk: {a.bytes} bytes to {a.dst}:{a.port}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    u = sub.add_parser("udp")
    u.add_argument("--dst", required=True)
    u.add_argument("--dport", type=int, required=True)
    u.add_argument("--sport", type=int, default=0)
    u.add_argument("--count", type=int, default=200)
    u.add_argument("--rate", type=float, default=100)
    u.add_argument("--sizes", default="100")
    u.add_argument("--df", action="store_true")
    f = sub.add_parser("icmpflood")
    f.add_argument("--src", required=True)
    f.add_argument("--dst", required=True)
    f.add_argument("--count", type=int, default=500)
    f.add_argument("--rate", type=float, default=1000)
    k = sub.add_parser("tcpsink")
    k.add_argument("--bind", required=True)
    k.add_argument("--port", type=int, required=True)
    b = sub.add_parser("tcpbulk")
    b.add_argument("--dst", required=True)
    b.add_argument("--port", type=int, required=True)
    b.add_argument("--bytes", type=int, default=1 << 20)
    a = ap.parse_args()
    {"udp": udp, "icmpflood": icmpflood, "tcpsink": tcpsink, "tcpbulk": tcpbulk}[a.mode](a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
