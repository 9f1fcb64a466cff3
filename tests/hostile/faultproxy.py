#!/usr/bin/env python3
"""faultproxy.py LISTEN_PORT TARGET_PORT RULES.json LOG

A loopback IMAP proxy (127.0.0.1:LISTEN_PORT -> 127.0.0.1:TARGET_PORT)
that injects faults. It follows the client's command lines (skipping
literals) and applies the first matching rule of RULES.json, a list of:

  {"match": "REGEX on the command line after the tag (case-insensitive)",
   "nth": N,            # only the N-th connection (1-based) that sends a
                        # matching command (default: every one)
   "count": K,          # only the first K matching commands on such a
                        # connection (default: all)
   "after": M,          # only after M earlier matching commands on it
   "total": T,          # applied at most T times in all (all connections)
   "tag": "REGEX on the tag" (optional; e.g. the tail's A1844674407370955161[2-5]),
   "action": "hang" | "no" | "bad" | "bye" | "close" | "delay" | "stall" | "cutafter",
   "text": "...",       # the text of no / bad / bye
   "secs": S}           # delay: hold the command S seconds before sending

  hang:  the command is not forwarded, nothing more goes either way on the
         connection (it stays open, silent).
  stall: the command is forwarded, but no byte of the server's reaches the
         client any more (the connection stays open).
  no/bad: answered `TAG NO text` / `TAG BAD text` by the proxy, the server
         never sees it.
  bye:   `* BYE text` sent to the client, then the connection is closed.
  close: the connection is closed without a word.
  delay: the command (and everything after it on the connection) is held
         S seconds, then sent.
  cutafter: the command is forwarded; the connection is closed right after
         the server's tagged answer to it has reached the client (nothing
         after that line).

A top-level {"strip_caps": ["BINARY", ...]} removes those capability atoms
from every server line that holds CAPABILITY (the greeting's [CAPABILITY ...],
`* CAPABILITY`, the OK [CAPABILITY ...] after login).

A top-level {"latency": S, "mode": "serial"|"pipe"} rule (no "match") slows
every connection's server-to-client bytes: "serial" (default) holds each
chunk S seconds after the one before was delivered (a server that answers
one thing every S seconds); "pipe" delivers each chunk S seconds after it
arrived, in order (a link with S seconds of one-way delay).

LOG gets one line per connection event and per rule applied.
"""
import asyncio
import json
import re
import sys
import os
import time

TRACE = os.environ.get('TRACE') == '1'

LITERAL = re.compile(rb"\{(\d+)(\+?)\}\r?\n?$")

RULES = []
LATENCY = 0.0
MODE = "serial"
STRIP = []
LOG = None
T0 = time.monotonic()
CONNS = [0]
# rule index -> list of connection numbers that matched it, in order
SEEN = {}
# rule index -> times applied, all connections (for "total")
TOTALS = {}


def log(msg):
    LOG.write(f"{time.monotonic() - T0:9.3f} {msg}\n")
    LOG.flush()


class Conn:
    def __init__(self, n, cw, sw):
        self.n = n
        self.cw = cw  # to the client
        self.sw = sw  # to the server
        self.buf = b""
        self.skip = 0
        self.in_cmd = False  # reading the rest of a command after a literal
        self.hits = {}  # rule index -> matching commands seen on this conn
        self.dead = False  # hang: nothing more either way
        self.mute = False  # stall: nothing more to the client
        self.queue = asyncio.Queue()  # bytes to the server, in order
        self.cut_tag = None  # cutafter: close after this tag's answer
        self.down_buf = b""  # cutafter: bytes to the client not yet sent

    def rule_for(self, line):
        text = line.split(b" ", 1)
        if len(text) < 2:
            return None
        rest = text[1].decode("latin-1").rstrip("\r\n")
        tag = text[0].decode("latin-1")
        for i, r in enumerate(RULES):
            if "match" not in r or not re.search(r["match"], rest, re.I):
                continue
            if "tag" in r and not re.search(r["tag"], tag):
                continue
            seen = SEEN.setdefault(i, [])
            if self.n not in seen:
                seen.append(self.n)
            if "nth" in r and seen.index(self.n) + 1 != r["nth"]:
                continue
            k = self.hits.get(i, 0)
            self.hits[i] = k + 1
            if k < r.get("after", 0):
                continue
            if "count" in r and k - r.get("after", 0) >= r["count"]:
                continue
            if "total" in r:
                if TOTALS.get(i, 0) >= r["total"]:
                    continue
                TOTALS[i] = TOTALS.get(i, 0) + 1
            return r
        return None

    async def from_client(self, data):
        """Splits the client's bytes into command lines and literal data."""
        self.buf += data
        out = b""
        while self.buf and not self.dead:
            if self.skip:
                k = min(self.skip, len(self.buf))
                out += self.buf[:k]
                self.buf = self.buf[k:]
                self.skip -= k
                continue
            i = self.buf.find(b"\n")
            if i < 0:
                break
            line, self.buf = self.buf[: i + 1], self.buf[i + 1 :]
            m = LITERAL.search(line)
            r = None if self.in_cmd else self.rule_for(line)
            if TRACE and not self.in_cmd:
                log(f"conn {self.n}: > {line[:70].decode('latin-1').rstrip()}")
            self.in_cmd = bool(m)
            if m:
                self.skip = int(m.group(1))
            if r is None:
                out += line
                continue
            tag = line.split(b" ", 1)[0]
            what = line[:80].decode("latin-1").rstrip()
            log(f"conn {self.n}: {r['action']} on {what!r}")
            a = r["action"]
            if out:
                await self.queue.put(out)
                out = b""
            if a == "hang":
                self.dead = True
                return
            if a == "stall":
                self.mute = True
                out += line
            elif a == "cutafter":
                self.cut_tag = tag
                out += line
            elif a in ("no", "bad"):
                # (meant for commands without literals)
                text = r.get("text", "injected")
                self.cw.write(tag + f" {a.upper()} {text}\r\n".encode())
                await self.cw.drain()
            elif a == "bye":
                self.cw.write(f"* BYE {r.get('text', 'injected')}\r\n".encode())
                await self.cw.drain()
                self.dead = True
                await asyncio.sleep(0.05)
                self.cw.close()
                self.sw.close()
                return
            elif a == "close":
                self.dead = True
                self.cw.close()
                self.sw.close()
                return
            elif a == "delay":
                await self.queue.put(("sleep", r.get("secs", 1.0)))
                out += line
        if out and not self.dead:
            await self.queue.put(out)

    async def to_server(self):
        while True:
            item = await self.queue.get()
            if item is None:
                return
            if isinstance(item, tuple):
                await asyncio.sleep(item[1])
                continue
            if self.dead:
                continue
            self.sw.write(item)
            await self.sw.drain()


async def handle(cr, cw):
    CONNS[0] += 1
    n = CONNS[0]
    try:
        sr, sw = await asyncio.open_connection("127.0.0.1", TARGET)
    except OSError:
        cw.close()
        return
    c = Conn(n, cw, sw)
    log(f"conn {n}: open")
    sender = asyncio.ensure_future(c.to_server())

    async def up():
        while True:
            d = await cr.read(65536)
            if not d:
                break
            if c.dead:
                continue
            await c.from_client(d)

    out_q = asyncio.Queue()

    async def down():
        while True:
            d = await sr.read(65536)
            if STRIP and b"CAPABILITY" in d:
                for cap in STRIP:
                    d = re.sub(rb"(?im)^(.*CAPABILITY.*?) " + re.escape(cap.encode()) + rb"(?=[ \]\r])", rb"\1", d)
            if LATENCY and MODE == "pipe":
                # delivered LATENCY after it arrived, in order
                await out_q.put((time.monotonic() + LATENCY, d))
                if not d:
                    break
                continue
            if not d:
                break
            if LATENCY:
                await asyncio.sleep(LATENCY)
            if c.dead or c.mute:
                continue
            if c.cut_tag is not None:
                buf = c.down_buf + d
                m = re.search(rb"(^|\n)" + re.escape(c.cut_tag) + rb" [^\n]*\n", buf)
                if m:
                    cw.write(buf[: m.end()])
                    await cw.drain()
                    log(f"conn {c.n}: cut after the answer to {c.cut_tag.decode()}")
                    c.dead = True
                    cw.close()
                    sw.close()
                    break
                k = buf.rfind(b"\n") + 1
                c.down_buf = buf[k:]
                d = buf[:k]
            cw.write(d)
            await cw.drain()

    async def deliver():
        while True:
            at, d = await out_q.get()
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            if not d:
                return
            if c.dead or c.mute:
                continue
            cw.write(d)
            await cw.drain()

    if LATENCY and MODE == "pipe":
        asyncio.ensure_future(deliver())

    await asyncio.gather(up(), down(), return_exceptions=True)
    await c.queue.put(None)
    await asyncio.gather(sender, return_exceptions=True)
    log(f"conn {n}: closed")
    for w in (cw, sw):
        try:
            w.close()
        except Exception:
            pass


async def main():
    global RULES, LATENCY, LOG, TARGET, MODE, STRIP
    listen, TARGET = int(sys.argv[1]), int(sys.argv[2])
    rules = json.load(open(sys.argv[3]))
    RULES = [r for r in rules if "match" in r]
    for r in rules:
        if "latency" in r:
            LATENCY = float(r["latency"])
            MODE = r.get("mode", "serial")
        if "strip_caps" in r:
            STRIP = list(r["strip_caps"])
    LOG = open(sys.argv[4], "a")
    log(f"listening on {listen} -> {TARGET}, rules {rules}")
    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
