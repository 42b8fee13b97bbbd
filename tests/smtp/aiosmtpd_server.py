"""An SMTP server for the email alert test: STARTTLS required, AUTH LOGIN required.

Usage: python aiosmtpd_server.py PORT CERT.pem KEY.pem USER PASSWORD OUT.jsonl
Prints "READY <port>" once it accepts connections; appends one JSON line per message
received (sender, recipients, the raw message, the AUTH mechanism and user, whether the
session was under TLS) to OUT.jsonl. Stops when stdin closes.
"""

import email
import email.policy
import json
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, cert, key, user, password, out = sys.argv[1:7]
auth_log = []


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == user
        and auth_data.password.decode() == password
    )
    login = auth_data.login.decode() if isinstance(auth_data, LoginPassword) else None
    auth_log.append({"mechanism": mechanism, "login": login, "ok": ok})
    # handled=False: the server itself answers 235 or 535 (the default, handled=True, leaves
    # the client waiting for a reply that never comes).
    return AuthResult(success=ok, handled=False)


class Handler:
    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with open(out, "a") as f:
            f.write(
                json.dumps(
                    {
                        "mail_from": envelope.mail_from,
                        "rcpt_tos": envelope.rcpt_tos,
                        "content": envelope.content.decode("utf-8", "replace"),
                        "subject": str(message["subject"]),
                        "from": str(message["from"]),
                        "body": message.get_content(),
                        "tls": session.ssl is not None,
                        "auth_mechanism": auth_log[-1]["mechanism"] if auth_log else None,
                        "login": auth_log[-1]["login"] if auth_log else None,
                        "authenticated": session.authenticated,
                    }
                )
                + "\n"
            )
        return "250 OK"


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
controller = Controller(
    Handler(),
    hostname="127.0.0.1",
    port=int(port),
    tls_context=context,
    require_starttls=True,
    authenticator=authenticator,
    auth_required=True,
    auth_require_tls=True,
)
controller.start()
print("READY", controller.port, flush=True)
sys.stdin.read()
controller.stop()
