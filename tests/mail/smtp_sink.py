"""A real SMTP server (aiosmtpd) for the tests: every accepted message is written to
DIR/NNNNN.eml with its envelope in DIR/NNNNN.json.

  --fail-first N   answer the first N messages with 451 (a temporary failure)
  --cert C --key K  offer STARTTLS with this certificate and require it
  --smtps           with --cert/--key: TLS from the first byte instead (SMTPS)
  Recipients starting with "nobody@" are refused with 550 (a permanent failure).

Prints "ready PORT" once listening; exits when its parent (the test process) goes away.
"""
import argparse
import asyncio
import json
import os
import ssl
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out, fail_first):
        self.out = out
        self.fail_first = fail_first
        self.n = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("nobody@"):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.fail_first > 0:
            self.fail_first -= 1
            return "451 4.3.0 Temporary local problem, try again later"
        self.n += 1
        base = os.path.join(self.out, "%05d" % self.n)
        with open(base + ".tmp", "wb") as f:
            f.write(envelope.original_content)
        with open(base + ".json", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}, f)
        os.rename(base + ".tmp", base + ".eml")
        return "250 2.0.0 OK queued as %05d" % self.n


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--smtps", action="store_true")
    a = p.parse_args()
    parent = os.getppid()
    tls = {}
    if a.cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.cert, a.key)
        tls = {"ssl_context": ctx} if a.smtps else {"tls_context": ctx, "require_starttls": True}
    c = Controller(Sink(a.dir, a.fail_first), hostname="127.0.0.1", port=a.port,
                   decode_data=False, data_size_limit=60 * 1024 * 1024, **tls)
    c.start()
    print("ready", a.port, flush=True)
    try:
        while os.getppid() == parent:
            time.sleep(0.5)
    finally:
        c.stop()


if __name__ == "__main__":
    sys.exit(main())
