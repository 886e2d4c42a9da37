#!/usr/bin/env python3
"""Slow clients for scripts/faults/idle_conns.sh: opens IDLE connections that send nothing, DRIP ones that
send a request one byte every INTERVAL seconds (never finishing its headers in time), and KEEPALIVE ones
that send one whole request, read the answer and then stay silent. Records when the server closes each
one, prints "connected N" once all are open, then a JSON summary per kind (closed, still open, seconds
to the close from the connect, or for KEEPALIVE from the answer: min, median, max). Bounded by MAX_SECONDS.

Usage: slow_clients.py PORT IDLE DRIP KEEPALIVE INTERVAL MAX_SECONDS"""
import json
import resource
import selectors
import socket
import sys
import time

port, idle, drip, keepalive = (int(a) for a in sys.argv[1:5])
interval, max_seconds = float(sys.argv[5]), float(sys.argv[6])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, idle + drip + keepalive + 64)), hard))

REQUEST = b"GET /collections/pei/items?limit=1&properties=insee HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: drip\r\n\r\n"
sel = selectors.DefaultSelector()
clients = []
start = time.monotonic()
for kind, n in (("idle", idle), ("drip", drip), ("keepalive", keepalive)):
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.setblocking(False)
        c = {"kind": kind, "sock": s, "last": time.monotonic(), "sent": 0, "closed": None, "answered": False}
        if kind == "keepalive":
            s.sendall(REQUEST)
            c["last"] = time.monotonic()
        clients.append(c)
        sel.register(s, selectors.EVENT_READ, c)
print("connected", len(clients), "in %.1f s" % (time.monotonic() - start), flush=True)

def close(c, now):
    c["closed"] = now - c["last"]
    sel.unregister(c["sock"])
    c["sock"].close()

next_drip = time.monotonic() + interval
while any(c["closed"] is None for c in clients) and time.monotonic() - start < max_seconds:
    for key, _ in sel.select(timeout=0.2):
        c, now = key.data, time.monotonic()
        try:
            data = c["sock"].recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:
            close(c, now)
        elif c["kind"] == "keepalive":
            c["answered"] = True
            c["last"] = now  # the server's read timeout starts once it has written its answer
    now = time.monotonic()
    if now >= next_drip:
        next_drip = now + interval
        for c in clients:
            if c["kind"] == "drip" and c["closed"] is None and c["sent"] < len(REQUEST) - 1:
                try:
                    c["sock"].send(REQUEST[c["sent"]:c["sent"] + 1])
                    c["sent"] += 1  # "last" stays the connect time: the server's read timer started then
                except (ConnectionResetError, BrokenPipeError):
                    close(c, now)

summary = {}
for kind in ("idle", "drip", "keepalive"):
    group = [c for c in clients if c["kind"] == kind]
    times = sorted(c["closed"] for c in group if c["closed"] is not None)
    summary[kind] = {
        "opened": len(group),
        "closed": len(times),
        "open_at_end": len(group) - len(times),
        "answered": sum(1 for c in group if c["answered"]),
        "bytes_sent_max": max((c["sent"] for c in group), default=0),
        "close_s_min": round(times[0], 2) if times else None,
        "close_s_median": round(times[len(times) // 2], 2) if times else None,
        "close_s_max": round(times[-1], 2) if times else None,
    }
print(json.dumps(summary), flush=True)
