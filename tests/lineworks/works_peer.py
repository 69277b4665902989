#!/usr/bin/env python3
"""LINE WORKS (API 2.0), as far as the tests need it, on loopback: the service-account token
endpoint (checks the JWT assertion, RS256, with the public half of a key this peer makes and
writes for the bot to sign with) and the bot message API (checks the bearer token and the
message content's shape, records every message). GET /__requests returns the messages.

Usage: works_peer.py --port-file F --key-out PEM --client-id ID --client-secret S --service-account SA
"""
import argparse
import json
import os
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

LOCK = threading.Lock()
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
STATE = {"messages": [], "tokens": set(), "issued": 0}
ARGS = None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, code, doc):
        data = json.dumps(doc, ensure_ascii=False).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/__requests":
            with LOCK:
                return self.send(200, {"messages": STATE["messages"], "issued": STATE["issued"]})
        self.send(404, {"code": "NOT_FOUND"})

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.path == "/oauth2/v2.0/token":
            form = urllib.parse.parse_qs(raw.decode())
            try:
                claims = jwt.decode(form["assertion"][0], KEY.public_key(), algorithms=["RS256"])
                assert claims["iss"] == ARGS.client_id and claims["sub"] == ARGS.service_account, claims
                assert claims["exp"] > time.time() and claims["iat"] <= time.time() + 60, claims
                assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
                assert form["client_id"] == [ARGS.client_id] and form["client_secret"] == [ARGS.client_secret]
                assert form["scope"] == ["bot"]
            except Exception as e:
                return self.send(400, {"error": "invalid_request", "error_description": repr(e)})
            tok = "works-" + os.urandom(8).hex()
            with LOCK:
                STATE["tokens"].add(tok)
                STATE["issued"] += 1
            return self.send(200, {"access_token": tok, "refresh_token": "r", "scope": "bot", "token_type": "Bearer",
                                   "expires_in": "86400"})
        parts = self.path.split("/")
        # /v1.0/bots/{botId}/{users|channels}/{id}/messages
        if len(parts) == 7 and parts[1] == "v1.0" and parts[2] == "bots" and parts[4] in ("users", "channels") \
                and parts[6] == "messages":
            auth = self.headers.get("authorization", "")
            with LOCK:
                ok = auth.startswith("Bearer ") and auth[7:] in STATE["tokens"]
            if not ok:
                return self.send(401, {"code": "UNAUTHORIZED", "description": "Authentication failed"})
            body = json.loads(raw)
            try:
                c = body["content"]
                assert c["type"] == "text" and isinstance(c["text"], str) and 0 < len(c["text"]) <= 2000, c
                items = c.get("quickReply", {}).get("items", [])
                assert len(items) <= 13, len(items)
                for i in items:
                    a = i["action"]
                    assert a["type"] in ("postback", "uri", "message") and 0 < len(a["label"]) <= 20, a
                    assert a["type"] != "postback" or 0 < len(a["data"]) <= 300, a
            except Exception as e:
                return self.send(400, {"code": "INVALID_PARAMETER", "description": repr(e)})
            with LOCK:
                STATE["messages"].append({"bot": parts[3], "kind": parts[4], "to": parts[5], "content": body["content"]})
            self.send_response(201)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        self.send(404, {"code": "NOT_FOUND"})


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    for a in ("--port-file", "--key-out", "--client-id", "--client-secret", "--service-account"):
        ap.add_argument(a, required=True)
    ARGS = ap.parse_args()
    with open(ARGS.key_out, "wb") as f:
        f.write(KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(ARGS.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(ARGS.port_file + ".tmp", ARGS.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
