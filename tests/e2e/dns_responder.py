#!/usr/bin/env python3
"""A DNS responder for the e2e tests, over UDP and TCP on HOST:53.

Every query is answered with one A record (TTL 300): 203.0.113.77 for
connect.vigil.test, 203.0.113.7 for any other name. Prints "ready" once both
sockets listen."""
import socket
import struct
import sys
import threading

host = sys.argv[1]
family = socket.AF_INET6 if ":" in host else socket.AF_INET


def answer(query):
    qid = struct.unpack(">H", query[:2])[0]
    end = 12
    labels = []
    while query[end] != 0:
        labels.append(query[end + 1:end + 1 + query[end]].decode())
        end += query[end] + 1
    question = query[12:end + 5]
    address = [203, 0, 113, 77 if ".".join(labels) == "connect.vigil.test" else 7]
    record = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 300, 4) + bytes(address)
    return struct.pack(">HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question + record


def serve_udp(sock):
    while True:
        query, peer = sock.recvfrom(512)
        sock.sendto(answer(query), peer)


def serve_tcp(sock):
    while True:
        conn, _ = sock.accept()
        with conn:
            length = struct.unpack(">H", conn.recv(2, socket.MSG_WAITALL))[0]
            reply = answer(conn.recv(length, socket.MSG_WAITALL))
            conn.sendall(struct.pack(">H", len(reply)) + reply)


udp = socket.socket(family, socket.SOCK_DGRAM)
udp.bind((host, 53))
tcp = socket.socket(family, socket.SOCK_STREAM)
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind((host, 53))
tcp.listen(8)
threading.Thread(target=serve_udp, args=(udp,), daemon=True).start()
print("ready", flush=True)
serve_tcp(tcp)
