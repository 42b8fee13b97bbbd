"""A local webhook receiver for the monitoring walk-through: checks Slipway's HMAC-SHA256
signature (`Slipway-Signature: t=<unix seconds>,v1=<hex>` over `<t>.<body>`) and prints one
line per request. Standard library only.

    SLIPWAY_HOOK_SECRET=s3cret python3 receiver.py 8765
"""

import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

SECRET = os.environ.get("SLIPWAY_HOOK_SECRET", "").encode()


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        sig = dict(p.split("=", 1) for p in self.headers.get("Slipway-Signature", "").split(",") if "=" in p)
        want = hmac.new(SECRET, sig.get("t", "").encode() + b"." + body, hashlib.sha256).hexdigest()
        fresh = abs(time.time() - int(sig.get("t", "0") or 0)) < 300
        ok = hmac.compare_digest(want, sig.get("v1", "")) and fresh
        event = json.loads(body or b"{}")
        line = f"{self.command} {self.path} signature {'ok' if ok else 'BAD'}: {event.get('action')} {event.get('dedup_key')}: {event.get('summary')}"
        print(line, flush=True)
        self.send_response(200 if ok else 401)
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    HTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 8765), Hook).serve_forever()
