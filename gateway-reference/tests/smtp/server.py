"""A loopback SMTP server for the gateway's mail tests, built on aiosmtpd.

Every received message is written to OUT as NNNN.eml (the raw message) and NNNN.json (the
envelope and the parsed message: headers, content type, both bodies, the AUTH user and
whether TLS was on), the JSON last, each through a rename, so a reader never sees half a file.

  server.py --port 2525 --out DIR [--starttls CERT KEY] [--tls CERT KEY] [--auth USER:PASS]

--starttls requires STARTTLS before MAIL; --tls is implicit TLS; --auth requires AUTH (only
after TLS when TLS is on). Prints READY when it accepts connections and runs until killed.
"""

import argparse
import itertools
import json
import os
import ssl
import threading

from email import policy
from email.parser import BytesParser

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, out):
        self.out = out
        # Numbered on from what an earlier run left (a restarted server appends).
        done = [n for n in os.listdir(out) if n.endswith(".json")]
        self.numbers = itertools.count(len(done) + 1)
        self.lock = threading.Lock()

    def write(self, name, data):
        tmp = os.path.join(self.out, "." + name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, os.path.join(self.out, name))

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            n = next(self.numbers)
        raw = envelope.original_content or envelope.content
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        text = msg.get_body(("plain",))
        html = msg.get_body(("html",))
        auth = session.auth_data
        summary = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "auth_user": auth.login.decode() if isinstance(auth, LoginPassword) else None,
            # STARTTLS sets session.ssl; implicit TLS only shows on the transport.
            "tls": session.ssl is not None
            or server.transport.get_extra_info("ssl_object") is not None,
            "headers": {k.lower(): str(v) for k, v in msg.items()},
            "content_type": msg.get_content_type(),
            "parts": [p.get_content_type() for p in msg.iter_parts()] if msg.is_multipart() else [],
            "text": text.get_content() if text is not None else None,
            "html": html.get_content() if html is not None else None,
        }
        name = f"{n:04d}"
        self.write(name + ".eml", raw)
        self.write(name + ".json", json.dumps(summary).encode())
        return "250 OK"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--auth", metavar="USER:PASS")
    args = ap.parse_args()

    kwargs = {}
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, data):
            ok = (
                isinstance(data, LoginPassword)
                and data.login.decode() == user
                and data.password.decode() == password
            )
            return AuthResult(success=True, auth_data=data) if ok else AuthResult(success=False, handled=False)

        kwargs.update(authenticator=authenticator, auth_required=True)
    if args.starttls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(*args.starttls)
        kwargs.update(tls_context=ctx, require_starttls=True, auth_require_tls=True)
    else:
        kwargs.update(auth_require_tls=False)
    if args.tls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(*args.tls)
        kwargs.update(ssl_context=ctx)

    controller = Controller(Sink(args.out), hostname="127.0.0.1", port=args.port, **kwargs)
    controller.start()
    print("READY", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
