"""A real SMTP server for the end-to-end tests (driven by tests/src/smtp.rs).

    sink.py --port N --dir PATH

Listens on 127.0.0.1:N (0: a free port) for plain SMTP: no STARTTLS, no
AUTH, as a relay on localhost would be. Prints `ready PORT` once listening,
so the test waits for that line rather than sleeping, and exits cleanly on
SIGTERM.

Every accepted message is stored as PATH/NNNN.eml, the raw bytes as
received, numbered in arrival order (continuing after a restart on the same
directory). The answer to DATA is read from PATH/answer at each message, so
a test can change it while the server runs: absent or empty means `250 OK`;
otherwise the file holds the whole reply line (`451 4.3.0 try again later`).
A message answered with anything but 2xx is not stored; its Message-ID is
appended to PATH/refused.log instead, one line per attempt.
"""

import argparse
import asyncio
import os
import re
import signal
from email.parser import BytesHeaderParser
from pathlib import Path

from aiosmtpd.smtp import SMTP

STORED = re.compile(r"^(\d+)\.eml$")


class Sink:
    def __init__(self, directory: Path):
        self.dir = directory
        # Continue the numbering after a restart so earlier messages stay.
        numbers = [int(m.group(1)) for m in map(STORED.match, os.listdir(directory)) if m]
        self.next = max(numbers, default=0) + 1

    def answer(self) -> str:
        try:
            line = (self.dir / "answer").read_text().strip().splitlines()
        except FileNotFoundError:
            return "250 OK"
        return line[0].strip() if line else "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content
        answer = self.answer()
        if not answer.startswith("2"):
            message_id = BytesHeaderParser().parsebytes(raw).get("Message-ID", "-")
            with open(self.dir / "refused.log", "a") as log:
                log.write(f"{message_id.strip()}\n")
            return answer
        # Written under a hidden temporary name, then renamed: a reader
        # polling the directory never sees half a message.
        name = f"{self.next:04}.eml"
        self.next += 1
        partial = self.dir / f".{name}.tmp"
        partial.write_bytes(raw)
        os.replace(partial, self.dir / name)
        return answer


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()

    sink = Sink(args.dir)
    loop = asyncio.get_running_loop()
    # A fixed hostname: the default (socket.getfqdn) can wait on DNS.
    server = await loop.create_server(
        lambda: SMTP(sink, hostname="sink.test", enable_SMTPUTF8=True),
        host="127.0.0.1",
        port=args.port,
    )
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    port = server.sockets[0].getsockname()[1]
    print(f"ready {port}", flush=True)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
