"""The SMTP sink of scripts/smtp_sink.py, but a recipient whose address starts with ``refuse.``
is refused for good (550: no such mailbox), as a real server refuses an unknown address.

    python -m tests.notices.refusing_sink --port PORT --dir MAIL_DIR
"""
import argparse
import asyncio
import os
import signal

from aiosmtpd.controller import Controller

from scripts.smtp_sink import MailDirHandler


class RefusingHandler(MailDirHandler):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("refuse."):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    controller = Controller(RefusingHandler(args.dir), hostname="127.0.0.1", port=args.port)
    controller.start()
    loop = asyncio.new_event_loop()
    stopped = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stopped.set)
    try:
        loop.run_until_complete(stopped.wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
