"""SMTP sink for local runs and tests: accepts every message on loopback and writes it, as sent,
to an .eml file in the mail directory.

Each file appears atomically (written under a hidden temporary name, then renamed), so a reader
polling the directory never sees half a message. The envelope sender and recipients are added as
X-Envelope-From / X-Envelope-To headers, since Bcc recipients are nowhere else in the message.

    python scripts/smtp_sink.py --host 127.0.0.1 --port 8025 --dir MAIL_DIR
"""

import argparse
import asyncio
import os
import signal
import time
import uuid

from aiosmtpd.controller import Controller


class MailDirHandler:
    def __init__(self, mail_dir):
        self.mail_dir = mail_dir

    async def handle_DATA(self, server, session, envelope):
        headers = (
            f"X-Envelope-From: {envelope.mail_from}\r\n"
            f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        name = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex}.eml"
        temporary = os.path.join(self.mail_dir, f".{name}.tmp")
        with open(temporary, "wb") as out:
            out.write(headers + envelope.original_content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, os.path.join(self.mail_dir, name))
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True, help="where the .eml files are written")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    controller = Controller(MailDirHandler(args.dir), hostname=args.host, port=args.port)
    controller.start()
    print(f"smtp sink: listening on {args.host}:{args.port}, writing to {args.dir}", flush=True)

    loop = asyncio.new_event_loop()
    stopped = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopped.set)
    try:
        loop.run_until_complete(stopped.wait())
    finally:
        controller.stop()
        print("smtp sink: stopped", flush=True)


if __name__ == "__main__":
    main()
