#!/usr/bin/env python3
"""delay-proxy.py LISTEN_PORT TARGET_HOST TARGET_PORT RTT_MS

A small TCP proxy that adds RTT/2 of one-way delay in each direction (the
kernel here has no netem). Bytes keep their order; each chunk is released
RTT/2 after it was read, so throughput is not capped, only latency added,
like a long link. Used by bench/run.sh to measure clients over a 50 ms RTT.
"""
import asyncio
import sys
import time


async def pump(reader, writer, delay, on_read=None, on_sent=None):
    """Carries reader's bytes to writer, each chunk RTT/2 (`delay`) after it was
    read. `on_read(data)` sees a chunk when it is read, `on_sent(data)` once it
    is written (bench/trace-proxy.py follows the commands with them)."""
    queue = asyncio.Queue()

    async def sender():
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
            if on_sent is not None:
                on_sent(data)
        try:
            writer.write_eof()
        except (OSError, RuntimeError):
            pass

    task = asyncio.create_task(sender())
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if on_read is not None:
                on_read(data)
            queue.put_nowait((time.monotonic() + delay, data))
    except (ConnectionResetError, BrokenPipeError):
        pass
    queue.put_nowait((0, None))
    try:
        await task
    except (ConnectionResetError, BrokenPipeError):
        pass


async def handle(client_r, client_w, host, port, delay):
    try:
        server_r, server_w = await asyncio.open_connection(host, port)
    except OSError:
        client_w.close()
        return
    for w in (client_w, server_w):
        sock = w.get_extra_info("socket")
        if sock is not None:
            import socket
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    await asyncio.gather(
        pump(client_r, server_w, delay), pump(server_r, client_w, delay), return_exceptions=True
    )
    for w in (client_w, server_w):
        w.close()


async def main():
    listen, host, port, rtt_ms = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    delay = rtt_ms / 2000.0
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, host, port, delay), "127.0.0.1", listen
    )
    # LISTEN_PORT 0: the kernel chooses; the line says which (tests read it).
    listen = server.sockets[0].getsockname()[1]
    print(f"delay-proxy 127.0.0.1:{listen} -> {host}:{port}, RTT +{rtt_ms} ms", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
