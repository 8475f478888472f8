#!/usr/bin/env python3
"""dns_client.py HOST udp|tcp NAME [CONNECT_PORT]: one A query for NAME to
HOST:53 and its answer; with CONNECT_PORT, then a TCP connect to the address
answered (not waited for). Prints the answer's address."""
import socket
import struct
import sys

host, proto, name = sys.argv[1], sys.argv[2], sys.argv[3]
family = socket.AF_INET6 if ":" in host else socket.AF_INET
query = struct.pack(">HHHHHH", 0x5151, 0x0100, 1, 0, 0, 0)
query += b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"
query += struct.pack(">HH", 1, 1)
if proto == "udp":
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.sendto(query, (host, 53))
    reply = s.recv(512)
else:
    s = socket.create_connection((host, 53), timeout=5)
    s.sendall(struct.pack(">H", len(query)) + query)
    length = struct.unpack(">H", s.recv(2, socket.MSG_WAITALL))[0]
    reply = s.recv(length, socket.MSG_WAITALL)
address = socket.inet_ntoa(reply[-4:])
print(address)
if len(sys.argv) > 4:
    c = socket.socket()
    c.setblocking(False)
    try:
        c.connect((address, int(sys.argv[4])))
    except OSError:
        pass  # EINPROGRESS, or no route: connect's exit is what is checked
