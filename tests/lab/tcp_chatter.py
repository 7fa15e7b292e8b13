#!/usr/bin/env python3
"""A small TCP conversation for the lab: the "SSH that still works" of INCIDENT.md.

  tcp_chatter.py serve --bind 198.18.0.20 --port 22
      echo server (one thread per connection), runs until killed.
  tcp_chatter.py talk --to 198.18.0.20 --port 22 --interval 0.2 --duration 3.5
      connects, sends one short line every INTERVAL seconds and reads its echo,
      for DURATION seconds (or until SIGINT/SIGTERM, or until FILE given with
      --until-file exists), then closes cleanly (FIN). Prints the exchange count.

Not sshd: the lab only needs a real TCP connection on port 22 that keeps
exchanging a little data while captures run.
"""
import argparse
import os
import signal
import socket
import sys
import threading
import time


def serve(args):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((args.bind, args.port))
    srv.listen(16)

    def handle(conn):
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                conn.sendall(data)

    while True:
        conn, _ = srv.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def talk(args):
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    s = socket.create_connection((args.to, args.port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    end = time.monotonic() + args.duration
    n = 0
    while not stop.is_set() and time.monotonic() < end:
        if args.until_file and os.path.exists(args.until_file):
            break
        line = b"pathtrace lab keepalive %06d\n" % n
        s.sendall(line)
        got = b""
        while len(got) < len(line):
            chunk = s.recv(len(line) - len(got))
            if not chunk:
                raise SystemExit("tcp_chatter: peer closed early")
            got += chunk
        n += 1
        stop.wait(args.interval)
    s.shutdown(socket.SHUT_WR)
    s.settimeout(2)
    while s.recv(4096):
        pass
    s.close()
    print(f"tcp_chatter: {n} exchanges with {args.to}:{args.port}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    a = sub.add_parser("serve")
    a.add_argument("--bind", required=True)
    a.add_argument("--port", type=int, default=22)
    b = sub.add_parser("talk")
    b.add_argument("--to", required=True)
    b.add_argument("--port", type=int, default=22)
    b.add_argument("--interval", type=float, default=0.2)
    b.add_argument("--duration", type=float, default=3.0)
    b.add_argument("--until-file", default="")
    args = ap.parse_args()
    serve(args) if args.mode == "serve" else talk(args)


if __name__ == "__main__":
    sys.exit(main())
