#!/usr/bin/env python3
"""Writes fixtures.hpp (inline wire bytes for the packet tests) and the fuzz regression corpus.

Run from the repository root: python3 tests/unit/packet/make_fixtures.py
The bytes are built field by field here so the header stays reviewable; the C++ tests only
see the resulting hex arrays.
"""
import ipaddress
import os
import struct

MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")
MAC_C = bytes.fromhex("02000000000a")
MAC_D = bytes.fromhex("02000000000b")


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def a4(s):
    return ipaddress.IPv4Address(s).packed


def a6(s):
    return ipaddress.IPv6Address(s).packed


def eth(payload, etype, tags=(), src=MAC_A, dst=MAC_B, pad=False):
    h = dst + src
    for tpid, vid in tags:
        h += struct.pack("!HH", tpid, vid)
    frame = h + struct.pack("!H", etype) + payload
    if pad and len(frame) < 60:
        frame += b"\0" * (60 - len(frame))
    return frame


def ipv4(payload, proto, src, dst, ident=0x1234, ttl=64, tos=0, flags_frag=0x4000, options=b"",
         total=None, bad_csum=False):
    ihl = 5 + len(options) // 4
    tl = total if total is not None else ihl * 4 + len(payload)
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, tos, tl, ident, flags_frag, ttl, proto, 0,
                    a4(src), a4(dst)) + options
    c = csum(h) ^ (0x5555 if bad_csum else 0)
    h = h[:10] + struct.pack("!H", c) + h[12:]
    return h + payload


def ipv6(payload, nh, src, dst, hlim=64, tc=0, flow=0):
    return struct.pack("!IHBB16s16s", (6 << 28) | (tc << 20) | flow, len(payload), nh, hlim,
                       a6(src), a6(dst)) + payload


def tcp(payload, sport=40000, dport=80, seq=0x01020304, ack=0x0A0B0C0D, flags=0x18, win=502,
        options=b"", check=0xBEEF):
    off = 5 + len(options) // 4
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, win, check,
                       0) + options + payload


def udp(payload, sport=5353, dport=53, length=None):
    return struct.pack("!HHHH", sport, dport, length or 8 + len(payload), 0xCAFE) + payload


def l4_csum(segment, proto, src, dst, at):
    """`segment` with the real TCP/UDP checksum (IPv4 pseudo header) at offset `at`: what a
    NAT rewrites along with the addresses and ports."""
    seg = segment[:at] + b"\0\0" + segment[at + 2:]
    pseudo = a4(src) + a4(dst) + struct.pack("!BBH", 0, proto, len(seg))
    return seg[:at] + struct.pack("!H", csum(pseudo + seg)) + seg[at + 2:]


def icmp(payload, typ=8, code=0, ident=0x4242, seq=7):
    return struct.pack("!BBHHH", typ, code, 0xABCD, ident, seq) + payload


def sctp(payload, sport=36412, dport=36412, vtag=0xDEADBEEF):
    return struct.pack("!HHII", sport, dport, vtag, 0x11223344) + payload


def vxlan(inner, vni=42):
    return struct.pack("!BBHI", 0x08, 0, 0, vni << 8) + inner


def geneve(inner, proto, options=b""):
    return struct.pack("!BBHI", len(options) // 4, 0, proto, 4242 << 8) + options + inner


def gre(inner, proto, key=None, seq=None, checksum=False):
    flags = 0
    extra = b""
    if checksum:
        flags |= 0x8000
        extra += struct.pack("!HH", 0x1234, 0)
    if key is not None:
        flags |= 0x2000
        extra += struct.pack("!I", key)
    if seq is not None:
        flags |= 0x1000
        extra += struct.pack("!I", seq)
    return struct.pack("!HH", flags, proto) + extra + inner


def sll(payload, proto):
    return struct.pack("!HHH8sH", 0, 1, 6, MAC_A + b"\0\0", proto) + payload


def sll2(payload, proto):
    return struct.pack("!HHIHBB8s", proto, 0, 3, 1, 0, 6, MAC_A + b"\0\0") + payload


HTTP = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
DNS = bytes.fromhex("abcd01000001000000000000076578616d706c6503636f6d0000010001")
PING = bytes(range(0x10, 0x30))

C4, S4 = "192.0.2.1", "203.0.113.20"
DIR, RS = "198.51.100.7", "203.0.113.20"
V6A, V6B = "2001:db8::1", "2001:db8::2"

inner_tcp = ipv4(tcp(HTTP), 6, C4, S4)
inner_tcp_router = ipv4(tcp(HTTP, flags=0x18 | 0xC0), 6, C4, S4, ttl=3, tos=0x2B, bad_csum=True)
ipip_pkt = ipv4(inner_tcp, 4, DIR, RS, ident=0x7777)
inner_eth = eth(inner_tcp, 0x0800, src=MAC_C, dst=MAC_D)
outer_udp = lambda sport, inner: ipv4(udp(vxlan(inner), sport=sport, dport=4789), 17,
                                       "10.0.0.1", "10.0.0.2", ident=0x5000 + sport % 100)

F = {}
F["eth_ipv4_tcp"] = eth(inner_tcp, 0x0800)
F["eth_vlan_ipv4_tcp"] = eth(inner_tcp, 0x0800, tags=[(0x8100, 100)])
F["eth_qinq_ipv4_tcp"] = eth(inner_tcp, 0x0800, tags=[(0x88A8, 200), (0x8100, 100)])
F["eth_9100_ipv4_tcp"] = eth(inner_tcp, 0x0800, tags=[(0x9100, 300), (0x8100, 100)])
F["sll_ipv4_tcp"] = sll(inner_tcp, 0x0800)
F["sll2_ipv4_tcp"] = sll2(inner_tcp, 0x0800)
F["raw_ipv4_tcp"] = inner_tcp
F["eth_ipv4_tcp_routed"] = eth(inner_tcp_router, 0x0800, src=MAC_C, dst=MAC_D)
F["eth_ipv4_tcp_other_id"] = eth(ipv4(tcp(HTTP), 6, C4, S4, ident=0x1235), 0x0800)
F["eth_ipv4_tcp_other_seq"] = eth(ipv4(tcp(HTTP, seq=0x01020305), 6, C4, S4), 0x0800)
F["eth_ipv4_tcp_other_payload"] = eth(ipv4(tcp(b"PUT" + HTTP[3:]), 6, C4, S4),
                                      0x0800)
F["eth_ipv4_tcp_other_payload_late"] = eth(ipv4(tcp(HTTP[:20] + b"Z" + HTTP[21:]), 6, C4, S4),
                                           0x0800)
F["eth_ipv4_tcp_syn_padded"] = eth(ipv4(tcp(b"", flags=0x02, ack=0, options=bytes.fromhex(
    "020405b4")), 6, C4, S4), 0x0800, pad=True)
F["eth_ipv4_tcp_syn_unpadded"] = eth(ipv4(tcp(b"", flags=0x02, ack=0, options=bytes.fromhex(
    "020405b4")), 6, C4, S4), 0x0800)
F["eth_ipv4_ipip_tcp"] = eth(ipip_pkt, 0x0800)
F["eth_vlan_ipv4_ipip_tcp"] = eth(ipip_pkt, 0x0800, tags=[(0x8100, 4094)])
F["sll_ipv4_ipip_tcp"] = sll(ipip_pkt, 0x0800)
F["eth_ipv4_udp_vxlan_tcp"] = eth(outer_udp(54321, inner_eth), 0x0800)
F["eth_ipv4_udp_vxlan_tcp_sport2"] = eth(outer_udp(61000, inner_eth), 0x0800)
F["eth_ipv4_udp_vxlan_vlan_tcp"] = eth(outer_udp(54321, eth(inner_tcp, 0x0800,
                                                            tags=[(0x8100, 7)])), 0x0800)
F["eth_ipv4_udp_geneve_tcp"] = eth(ipv4(udp(geneve(inner_eth, 0x6558, options=bytes.fromhex(
    "0102030100000001")), sport=1111, dport=6081), 17, "10.0.0.1", "10.0.0.2"), 0x0800)
F["eth_ipv4_udp_geneve_ip_tcp"] = eth(ipv4(udp(geneve(inner_tcp, 0x0800), sport=2222,
                                               dport=6081), 17, "10.0.0.1", "10.0.0.2"), 0x0800)
F["eth_ipv4_gre_teb_tcp"] = eth(ipv4(gre(inner_eth, 0x6558, key=0x1000, seq=5), 47,
                                     "10.1.0.1", "10.1.0.2"), 0x0800)
F["eth_ipv4_gre_teb_icmp"] = eth(ipv4(gre(eth(ipv4(icmp(PING), 1, C4, S4), 0x0800), 0x6558,
                                          key=7), 47, "10.1.0.1", "10.1.0.2"), 0x0800)
F["eth_ipv4_icmp"] = eth(ipv4(icmp(PING), 1, C4, S4), 0x0800)
F["eth_ipv4_gre_csum_ipv4_udp"] = eth(ipv4(gre(ipv4(udp(DNS), 17, C4, S4), 0x0800, checksum=True),
                                           47, "10.1.0.1", "10.1.0.2"), 0x0800)
F["eth_ipv4_gre_ipv6_udp"] = eth(ipv4(gre(ipv6(udp(DNS), 17, V6A, V6B), 0x86DD), 47,
                                      "10.1.0.1", "10.1.0.2"), 0x0800)
F["eth_ipv6_tcp"] = eth(ipv6(tcp(HTTP, sport=40001, dport=443), 6, V6A, V6B), 0x86DD)
F["sll_ipv6_tcp"] = sll(ipv6(tcp(HTTP, sport=40001, dport=443), 6, V6A, V6B, hlim=9), 0x86DD)
hbh = bytes([60, 0]) + bytes.fromhex("050200000100")          # router alert, 8 bytes
dst = bytes([43, 0]) + bytes.fromhex("010400000000")          # PadN, 8 bytes
rte = bytes([44, 2, 0, 0, 0, 0, 0, 0]) + bytes(16)           # type 0, 24 bytes
frag_first = bytes([17, 0]) + struct.pack("!HI", 0x0001, 0xCAFEBABE)
F["eth_ipv6_ext_frag_udp"] = eth(ipv6(hbh + dst + rte + frag_first + udp(DNS), 0, V6A, V6B),
                                 0x86DD)
F["eth_ipv6_frag_later"] = eth(ipv6(bytes([17, 0]) + struct.pack("!HI", 0x00B8, 0xCAFEBABE) +
                                    DNS, 44, V6A, V6B), 0x86DD)
ah = bytes([6, 4, 0, 0]) + struct.pack("!II", 0x100, 1) + bytes(12)  # (4+2)*4 = 24 bytes
F["eth_ipv6_ah_tcp"] = eth(ipv6(ah + tcp(HTTP), 51, V6A, V6B), 0x86DD)
F["eth_ipv4_6in4_udp"] = eth(ipv4(ipv6(udp(DNS), 17, V6A, V6B), 41, "192.0.2.9", S4), 0x0800)
F["sll2_ipv6_4in6_udp"] = sll2(ipv6(ipv4(udp(DNS), 17, C4, S4), 4, V6A, V6B), 0x86DD)
F["eth_ipv6_6in6_icmp6"] = eth(ipv6(ipv6(icmp(PING, typ=128), 58, "2001:db8:1::1",
                                          "2001:db8:2::2"), 41, V6A, V6B), 0x86DD)
F["eth_ipv4_options_udp"] = eth(ipv4(udp(DNS), 17, C4, S4, options=bytes.fromhex("94040000")),
                                0x0800)
F["eth_ipv4_frag_first_udp"] = eth(ipv4(udp(DNS, length=8 + 400), 17, C4, S4, flags_frag=0x2000),
                                   0x0800)
F["eth_ipv4_frag_later"] = eth(ipv4(DNS, 17, C4, S4, flags_frag=0x0032), 0x0800)
F["eth_ipv4_icmp_unreach"] = eth(ipv4(icmp(ipv4(udp(b""), 17, S4, C4)[:28], typ=3, code=4,
                                           ident=0, seq=1400), 1, "192.0.2.254", S4), 0x0800)
F["eth_ipv6_icmp6_echo"] = eth(ipv6(icmp(PING, typ=128, ident=9, seq=1), 58, V6A, V6B), 0x86DD)
F["eth_ipv4_sctp"] = eth(ipv4(sctp(bytes.fromhex("0300000c000000010000000a")), 132, C4, S4),
                         0x0800)
F["eth_ipv4_esp"] = eth(ipv4(struct.pack("!II", 0x1001, 3) + bytes(range(24)), 50, C4, S4),
                        0x0800)
F["eth_ipv4_udp_dns"] = eth(ipv4(udp(DNS), 17, C4, S4), 0x0800)
F["eth_arp"] = eth(bytes.fromhex("0001080006040001") + MAC_A + a4(C4) + bytes(6) + a4(S4),
                   0x0806, pad=True)
F["raw_ipv6_udp"] = ipv6(udp(DNS), 17, V6A, V6B)
# Address translation (docs/digest.md): the same packets before and after a NAT hop.
# DNAT of a floating IP (Neutron router): 198.18.0.10:80 -> 10.0.0.5:8080, real checksums on
# both sides, routed (TTL - 1, other MACs). After it, the packet may go on in VXLAN.
FIP, FIXED = "198.18.0.10", "10.0.0.5"
fip_tcp = ipv4(l4_csum(tcp(HTTP, dport=80, check=0), 6, C4, FIP, 16), 6, C4, FIP, ident=0x2468)
dnat_tcp = ipv4(l4_csum(tcp(HTTP, dport=8080, check=0), 6, C4, FIXED, 16), 6, C4, FIXED,
                ident=0x2468, ttl=63)
F["eth_ipv4_tcp_fip"] = eth(fip_tcp, 0x0800)
F["eth_ipv4_tcp_dnat"] = eth(dnat_tcp, 0x0800, src=MAC_C, dst=MAC_D)
F["eth_ipv4_udp_vxlan_tcp_dnat"] = eth(outer_udp(50000, eth(dnat_tcp, 0x0800, src=MAC_C,
                                                            dst=MAC_D)), 0x0800)
F["eth_ipv4_ipip_tcp_fip"] = eth(ipv4(fip_tcp, 4, DIR, RS, ident=0x7778), 0x0800)
# The next packet of the same connection (IP ID + 1, seq + 27), after the DNAT.
F["eth_ipv4_tcp_dnat_next"] = eth(ipv4(l4_csum(tcp(HTTP, dport=8080, seq=0x01020304 + 27,
                                                   check=0), 6, C4, FIXED, 16), 6, C4, FIXED,
                                       ident=0x2469, ttl=63), 0x0800, src=MAC_C, dst=MAC_D)
# SNAT with port rewrite (masquerade): 10.0.0.5:5353 -> 203.0.113.1:61000.
F["eth_ipv4_udp_masq_before"] = eth(ipv4(l4_csum(udp(DNS), 17, FIXED, C4, 6), 17, FIXED, C4,
                                         ident=0x0bad), 0x0800)
F["eth_ipv4_udp_masq_after"] = eth(ipv4(l4_csum(udp(DNS, sport=61000), 17, "203.0.113.1", C4, 6),
                                        17, "203.0.113.1", C4, ident=0x0bad, ttl=63), 0x0800)
# ICMP echo through SNAT: the identifier kept (Linux does, unless two hosts clash) or rewritten.
F["eth_ipv4_icmp_snat"] = eth(ipv4(icmp(PING), 1, "203.0.113.1", S4, ttl=63), 0x0800)
F["eth_ipv4_icmp_snat_id"] = eth(ipv4(icmp(PING, ident=0x4243), 1, "203.0.113.1", S4, ttl=63),
                                 0x0800)
# NAT66 / NPTv6: the source prefix rewritten.
F["eth_ipv6_tcp_nat66"] = eth(ipv6(tcp(HTTP, sport=40001, dport=443, check=0x1357), 6,
                                   "2001:db8:ffff::1", V6B, hlim=63), 0x86DD)
# Edges that must stay plain or end early.
F["eth_ipv4_gre_v1"] = eth(ipv4(struct.pack("!HHHH", 0x3001, 0x880B, 4, 0x1234) + b"\x00" * 8,
                                47, "10.1.0.1", "10.1.0.2"), 0x0800)
F["eth_ipv4_gre_erspan"] = eth(ipv4(gre(bytes(24), 0x88BE, seq=1), 47, "10.1.0.1", "10.1.0.2"),
                               0x0800)
F["eth_ipv4_udp_4789_short"] = eth(ipv4(udp(b"abcd", sport=999, dport=4789), 17, C4, S4), 0x0800)
F["eth_ipv4_udp_4789_no_i_flag"] = eth(ipv4(udp(bytes(8) + DNS, sport=999, dport=4789), 17, C4,
                                            S4), 0x0800)
F["eth_ipv4_udp_6081_version1"] = eth(ipv4(udp(b"\x40" + bytes(7) + DNS, sport=999, dport=6081),
                                           17, C4, S4), 0x0800)
F["eth_ipv4_udp_vxlan_arp"] = eth(outer_udp(54321, eth(bytes.fromhex("0001080006040001") + MAC_A +
                                                       a4(C4) + bytes(6) + a4(S4), 0x0806)),
                                  0x0800)
F["deep_ipv6_ext9"] = eth(ipv6(b"".join(bytes([60 if i < 8 else 17, 0]) + bytes(6)
                                        for i in range(9)) + udp(DNS), 60, V6A, V6B), 0x86DD)
# Malformed on purpose.
F["bad_ipv4_version"] = eth(b"\x65" + inner_tcp[1:], 0x0800)
F["bad_ipv4_ihl"] = eth(b"\x44" + inner_tcp[1:], 0x0800)
F["bad_ipv4_total_len"] = eth(ipv4(tcp(HTTP), 6, C4, S4, total=16), 0x0800)
F["bad_ipv6_ext_len"] = eth(ipv6(bytes([17, 200]) + bytes(6) + udp(DNS), 0, V6A, V6B), 0x86DD)
F["bad_tcp_offset"] = eth(ipv4(tcp(HTTP)[:12] + b"\x30" + tcp(HTTP)[13:], 6, C4, S4), 0x0800)
F["bad_udp_len"] = eth(ipv4(udp(DNS, length=4), 17, C4, S4), 0x0800)
F["bad_inner_len"] = eth(ipv4(ipv4(tcp(HTTP), 6, C4, S4, total=1400), 4, DIR, RS), 0x0800)
deep = inner_tcp
for i in range(5):
    deep = ipv4(deep, 4, DIR, RS, ident=i)
F["deep_ipip5"] = eth(deep, 0x0800)
F["deep_vlan20"] = eth(inner_tcp, 0x0800, tags=[(0x8100, i) for i in range(20)])


def hexarr(b):
    rows = []
    for i in range(0, len(b), 16):
        rows.append("    " + " ".join("0x%02x," % x for x in b[i:i + 16]))
    return "\n".join(rows)


root = os.path.dirname(os.path.abspath(__file__))
out = [
    "#pragma once",
    "// Generated by make_fixtures.py: expected wire bytes of every protocol and encapsulation",
    "// the parser handles. Regenerate rather than edit by hand.",
    "",
    "#include <array>",
    "#include <cstdint>",
    "#include <span>",
    "#include <string_view>",
    "",
    "namespace pathtrace::packet::fixtures {",
    "",
]
for name, b in F.items():
    out.append("// %d bytes" % len(b))
    out.append("inline constexpr std::array<uint8_t, %d> %s{" % (len(b), name))
    out.append(hexarr(b))
    out.append("};")
    out.append("")
out.append("// A named fixture.")
out.append("struct Fixture {")
out.append("  std::string_view name;")
out.append("  std::span<const uint8_t> bytes;")
out.append("};")
out.append("")
out.append("// Every fixture, in definition order.")
out.append("inline constexpr std::array<Fixture, %d> kAll{{" % len(F))
for name in F:
    out.append('    {"%s", %s},' % (name, name))
out.append("}};")
out.append("")
out.append("}  // namespace pathtrace::packet::fixtures")
open(os.path.join(root, "fixtures.hpp"), "w").write("\n".join(out) + "\n")

corpus = os.path.join(root, "..", "..", "fuzz", "corpus", "parse")
os.makedirs(corpus, exist_ok=True)
for name, b in F.items():
    open(os.path.join(corpus, name), "wb").write(b)
    # An interesting cut: just inside the innermost headers.
    if len(b) > 40 and any(t in name for t in ("ipip", "vxlan", "geneve", "gre", "6in4", "4in6",
                                                "6in6", "ext", "ah_", "frag", "options")):
        open(os.path.join(corpus, name + ".cut"), "wb").write(b[:len(b) * 2 // 3])
