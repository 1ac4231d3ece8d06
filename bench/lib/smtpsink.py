#!/usr/bin/env python3
"""A loopback SMTP sink for the email-path benchmark: accepts every mail and appends "<unix time> <recipient>" per
delivered message (after the final "." of DATA, when the 250 goes back) to LOG, flushed every 50 ms.

asyncio, one coroutine per connection, PIPELINING advertised, the message body read in one readuntil: it does no more
than a mail server must, so it is not the limit (bench/Queue/run.sh measures it alone with a trivial sender first).
Usage: smtpsink.py PORT LOG          (and: smtpsink.py --send PORT COUNT CONNECTIONS: the trivial sender)
"""
import asyncio
import sys
import time


async def session(reader, writer, log):
    writer.write(b"220 sink ESMTP\r\n")
    recipients = []
    try:
        while True:
            line = await reader.readuntil(b"\r\n")
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                writer.write(b"250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n")
            elif verb == b"MAIL":
                recipients = []
                writer.write(b"250 2.1.0 ok\r\n")
            elif verb == b"RCPT":
                recipients.append(line[line.index(b"<") + 1:line.rindex(b">")].decode())
                writer.write(b"250 2.1.5 ok\r\n")
            elif verb == b"DATA":
                writer.write(b"354 go ahead\r\n")
                await reader.readuntil(b"\r\n.\r\n")
                now = f"{time.time():.4f}"
                log.extend(f"{now} {r}\n" for r in recipients)
                writer.write(b"250 2.0.0 queued\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:  # RSET, NOOP
                writer.write(b"250 ok\r\n")
            # Pipelined commands are answered together: drain only once the client has sent all it had.
            if not reader._buffer:
                await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(port, path):
    log = []
    server = await asyncio.start_server(lambda r, w: session(r, w, log), "127.0.0.1", port, reuse_address=True)
    with open(path, "a", buffering=1 << 16) as out:
        async with server:
            while True:
                await asyncio.sleep(0.05)
                if log:
                    out.write("".join(log))
                    log.clear()
                    out.flush()


async def send(port, count, connections):
    """The trivial sender: each connection sends its share of one small mail after another, pipelining nothing."""
    body = b"Subject: hi\r\nMessage-ID: <x@y>\r\n\r\nHello, this is about as long as a welcome email.\r\n.\r\n"

    async def one(n):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await reader.readuntil(b"\r\n")
        writer.write(b"EHLO bench\r\n")
        while not (await reader.readuntil(b"\r\n")).startswith(b"250 "):
            pass
        for i in range(n):
            for command in (b"MAIL FROM:<a@b>\r\n", f"RCPT TO:<trivial-{i}@example.com>\r\n".encode(), b"DATA\r\n"):
                writer.write(command)
                await reader.readuntil(b"\r\n")
            writer.write(body)
            await reader.readuntil(b"\r\n")
        writer.write(b"QUIT\r\n")
        await reader.readuntil(b"\r\n")
        writer.close()

    started = time.time()
    await asyncio.gather(*(one(count // connections) for _ in range(connections)))
    print(f"{count // connections * connections / (time.time() - started):.0f}")


if __name__ == "__main__":
    if sys.argv[1] == "--send":
        asyncio.run(send(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))
    else:
        asyncio.run(serve(int(sys.argv[1]), sys.argv[2]))
