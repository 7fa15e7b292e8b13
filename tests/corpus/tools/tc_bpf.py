#!/usr/bin/env python3
"""Print a classic-BPF program for `tc filter add dev DEV ingress|egress bpf da bytecode "…"`:
frames matching every condition given are dropped (TC_ACT_SHOT), all others pass.

  tc_bpf.py [--ipv4-proto N] [--icmp-type T] [--udp-dport P] [--ipv6-nh N] [--byte OFF=VAL]...
            [--min-len L] [--rand P]

  --ipv4-proto N   IPv4 (ethertype 0x0800, untagged) carrying IP protocol N
  --icmp-type T    … and (with --ipv4-proto 1, 20-byte IP header) ICMP type T
  --udp-dport P    … and (with --ipv4-proto 17, 20-byte IP header) UDP destination port P
  --byte OFF=VAL   the byte at offset OFF (from the MAC header) equals VAL (repeatable)
  --ipv6-nh N      IPv6 (ethertype 0x86dd, untagged) whose next header is N
  --min-len L      frame length (Ethernet header included) greater than L
  --rand P         only a random share P (0 < P <= 1) of the matching frames (`ld rand`)

cls_bpf runs the program with the Ethernet header in front at ingress and at egress alike
(checked here: offset 23 is the IPv4 protocol on both), so offsets count from the MAC header.
This is how the corpus emulates loss: this kernel has no netem and no tc action modules.
"""
import argparse
import sys

LDH, LDB, LDW, LDLEN, JEQ, JGT, RET = 0x28, 0x30, 0x20, 0x80, 0x15, 0x25, 0x06
SKF_AD_RANDOM = 0xFFFFF000 + 56
TC_ACT_SHOT, TC_ACT_UNSPEC = 2, 0xFFFFFFFF


def program(a):
    conds = []  # (load opcode, offset, jump opcode, k)
    if a.ipv4_proto is not None:
        conds += [(LDH, 12, JEQ, 0x0800), (LDB, 23, JEQ, a.ipv4_proto)]
        if a.icmp_type is not None:
            conds += [(LDB, 34, JEQ, a.icmp_type)]
        if a.udp_dport is not None:
            conds += [(LDH, 36, JEQ, a.udp_dport)]
    if a.ipv6_nh is not None:
        conds += [(LDH, 12, JEQ, 0x86DD), (LDB, 20, JEQ, a.ipv6_nh)]
    for spec in a.byte:
        off, _, val = spec.partition("=")
        conds += [(LDB, int(off, 0), JEQ, int(val, 0))]
    if a.min_len is not None:
        conds += [(LDLEN, 0, JGT, a.min_len)]
    n = 2 * len(conds) + (2 if a.rand is not None else 0) + 2
    pass_at = n - 1
    ins = []
    for load, off, jmp, k in conds:
        ins.append((load, 0, 0, off))
        i = len(ins)
        ins.append((jmp, 0, pass_at - (i + 1), k))
    if a.rand is not None:
        ins.append((LDW, 0, 0, SKF_AD_RANDOM))
        i = len(ins)
        thr = min(int(a.rand * 2**32), 2**32 - 1)
        ins.append((JGT, pass_at - (i + 1), 0, thr))  # random > threshold: pass
    ins.append((RET, 0, 0, TC_ACT_SHOT))
    ins.append((RET, 0, 0, TC_ACT_UNSPEC))
    assert len(ins) == n
    return f"{n}," + ",".join(f"{c} {jt} {jf} {k}" for c, jt, jf, k in ins)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ipv4-proto", type=int)
    ap.add_argument("--icmp-type", type=int)
    ap.add_argument("--udp-dport", type=int)
    ap.add_argument("--byte", action="append", default=[])
    ap.add_argument("--ipv6-nh", type=int)
    ap.add_argument("--min-len", type=int)
    ap.add_argument("--rand", type=float)
    a = ap.parse_args()
    if a.rand is not None and not 0 < a.rand <= 1:
        ap.error("--rand must be in (0, 1]")
    if a.icmp_type is not None and a.ipv4_proto != 1:
        ap.error("--icmp-type needs --ipv4-proto 1")
    if a.udp_dport is not None and a.ipv4_proto != 17:
        ap.error("--udp-dport needs --ipv4-proto 17")
    print(program(a))
    return 0


if __name__ == "__main__":
    sys.exit(main())
