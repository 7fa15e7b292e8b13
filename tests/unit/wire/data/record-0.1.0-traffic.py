import socket, time, subprocess
# UDP datagrams to a port nobody listens on, a short TCP exchange, and pings: on lo.
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 40001)); srv.listen(1)
for i in range(20):
    u.sendto(b"pathtrace udp %02d" % i, ("127.0.0.1", 40000)); time.sleep(0.05)
c = socket.create_connection(("127.0.0.1", 40001)); a, _ = srv.accept()
c.sendall(b"hello over tcp"); a.recv(100); a.sendall(b"reply"); c.recv(100)
c.close(); a.close(); time.sleep(0.2)
subprocess.run(["ping", "-c", "3", "-i", "0.2", "-q", "127.0.0.1"], stdout=subprocess.DEVNULL)
for i in range(20, 40):
    u.sendto(b"pathtrace udp %02d" % i, ("127.0.0.1", 40000)); time.sleep(0.05)
