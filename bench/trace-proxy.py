#!/usr/bin/env python3
"""trace-proxy.py LISTEN_PORT TARGET_HOST TARGET_PORT RTT_MS TRACE_FILE

The delay proxy of bench/delay-proxy.py (RTT/2 of one-way delay each way)
that also follows the IMAP commands on every connection: it reads the
client's command lines (skipping literal data, {n} and {n+}) and the
server's tagged answers, and writes one JSON line per command to
TRACE_FILE when it completes:

  {"conn": 3, "tag": "A12", "verb": "UID FETCH", "arg": "INBOX",
   "sent": 1.234, "done": 1.284, "serial": true}

`serial` is true when the command was sent while the connection had no
command outstanding (every earlier command on it had its tagged answer
delivered to the client): the client waited a full round trip before it.
The number of serial commands is the number of round trips a client
spends waiting, whatever the RTT. `bench/trace-proxy.py --summary FILE`
prints them per connection and per command verb.

The times are the proxy's (when it read the command from the client, when
it forwarded the tagged answer to the client). Used by tests/it/longlink.rs
and by hand (see the README's Performance section).
"""
import asyncio
import json
import re
import sys
import time

LITERAL = re.compile(rb"\{(\d+)(\+?)\}\r?\n?$")
VERBS2 = {b"UID"}


class Conn:
    def __init__(self, n, trace):
        self.n = n
        self.trace = trace
        self.open = {}  # tag -> record
        self.cbuf = b""
        self.skip = 0  # literal bytes still to skip (client side)
        self.cur = None  # the command whose line is being read (after a literal)
        self.sbuf = b""
        self.sskip = 0
        self.t0 = time.monotonic()

    def now(self):
        return round(time.monotonic(), 6)

    def client(self, data):
        """Bytes the client sent (read by the proxy now)."""
        self.cbuf += data
        while True:
            if self.skip:
                k = min(self.skip, len(self.cbuf))
                self.cbuf = self.cbuf[k:]
                self.skip -= k
                if self.skip:
                    return
            i = self.cbuf.find(b"\n")
            if i < 0:
                return
            line, self.cbuf = self.cbuf[: i + 1], self.cbuf[i + 1 :]
            if self.cur is None:
                parts = line.strip().split(b" ", 3)
                if len(parts) >= 2 and parts[0] not in (b"*", b"+", b""):
                    verb = parts[1].upper()
                    arg = parts[2] if len(parts) > 2 else b""
                    if verb in VERBS2 and len(parts) > 2:
                        verb = verb + b" " + parts[2].upper()
                        arg = parts[3].split(b" ")[0] if len(parts) > 3 else b""
                    rec = {
                        "conn": self.n,
                        "tag": parts[0].decode("latin-1"),
                        "verb": verb.decode("latin-1"),
                        "arg": arg[:60].decode("latin-1"),
                        "sent": self.now(),
                        "serial": not self.open,
                    }
                    self.open[rec["tag"]] = rec
                    self.cur = rec
                else:
                    self.cur = {}  # a continuation (AUTHENTICATE data, DONE)
            m = LITERAL.search(line)
            if m:
                self.skip = int(m.group(1))
            else:
                self.cur = None

    def server(self, data):
        """Bytes the server sent (delivered to the client now)."""
        self.sbuf += data
        while True:
            if self.sskip:
                k = min(self.sskip, len(self.sbuf))
                self.sbuf = self.sbuf[k:]
                self.sskip -= k
                if self.sskip:
                    return
            i = self.sbuf.find(b"\n")
            if i < 0:
                return
            line, self.sbuf = self.sbuf[: i + 1], self.sbuf[i + 1 :]
            m = LITERAL.search(line)
            if m:
                self.sskip = int(m.group(1))
                continue
            tag = line.split(b" ", 1)[0].decode("latin-1")
            rec = self.open.pop(tag, None)
            if rec is not None:
                rec["done"] = self.now()
                self.trace.write(json.dumps(rec) + "\n")
                self.trace.flush()


def _delay_proxy():
    """bench/delay-proxy.py as a module (its pump carries the bytes here too)."""
    import importlib.util
    import os

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "delay-proxy.py")
    spec = importlib.util.spec_from_file_location("delay_proxy", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


pump = _delay_proxy().pump


COUNTER = [0]


async def handle(client_r, client_w, host, port, delay, trace):
    try:
        server_r, server_w = await asyncio.open_connection(host, port)
    except OSError:
        client_w.close()
        return
    import socket

    for w in (client_w, server_w):
        sock = w.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    COUNTER[0] += 1
    c = Conn(COUNTER[0], trace)

    # The command is counted when the proxy reads it (before the delay),
    # the answer when the client gets it (after the delay).
    await asyncio.gather(
        pump(client_r, server_w, delay, on_read=c.client),
        pump(server_r, client_w, delay, on_sent=c.server),
        return_exceptions=True,
    )
    for w in (client_w, server_w):
        w.close()


def summary(path):
    recs = [json.loads(x) for x in open(path)]
    by_conn = {}
    for r in recs:
        by_conn.setdefault(r["conn"], []).append(r)
    total = sum(1 for r in recs if r["serial"])
    print(f"{len(recs)} commands, {total} serial (round trips waited for)")
    for n, rs in sorted(by_conn.items()):
        verbs = {}
        for r in rs:
            if r["serial"]:
                verbs[r["verb"]] = verbs.get(r["verb"], 0) + 1
        ser = sum(verbs.values())
        print(f"  conn {n}: {len(rs)} commands, {ser} serial: "
              + ", ".join(f"{v} {k}" for k, v in sorted(verbs.items(), key=lambda x: -x[1])))


async def main():
    listen, host, port, rtt_ms = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    trace = open(sys.argv[5], "a")
    delay = rtt_ms / 2000.0
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, host, port, delay, trace), "127.0.0.1", listen
    )
    # LISTEN_PORT 0: the kernel chooses; the line says which (tests read it).
    listen = server.sockets[0].getsockname()[1]
    print(f"trace-proxy 127.0.0.1:{listen} -> {host}:{port}, RTT +{rtt_ms} ms", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--summary":
        summary(sys.argv[2])
    else:
        asyncio.run(main())
