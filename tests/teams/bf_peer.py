#!/usr/bin/env python3
"""The Bot Framework, as far as the tests need it, on loopback: OpenID metadata and a JWKS
(keys with endorsements) signed by a local RSA key, tokens minted on request (PyJWT, RS256),
the client-credentials token endpoint, and the connector's conversation APIs. Incoming
activities are built, and our outgoing ones parsed, with Microsoft's `botbuilder-schema`.

Control endpoints (tests only): POST /__token, POST /__activity, POST /__config,
GET /__requests. Usage: bf_peer.py --port-file F --app-id ID --app-password PW
"""
import argparse
import base64
import json
import os
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from botbuilder.schema import Activity, ChannelAccount, ConversationAccount
from cryptography.hazmat.primitives.asymmetric import rsa

LOCK = threading.Lock()
KEYS = {name: rsa.generate_private_key(public_exponent=65537, key_size=2048)
        for name in ("teams-key", "webchat-key", "rogue-key")}
# rogue-key signs tokens but is not published; webchat-key is published for webchat only.
ENDORSE = {"teams-key": ["msteams", "skype"], "webchat-key": ["webchat"]}
STATE = {"requests": [], "tokens_issued": 0, "access_tokens": set(), "throttle": 0, "members": {},
         "graph_tokens": set(), "graph_users": {}, "graph_calls": []}
GRAPH_APP = ("graph-reset-app", "graph-reset-secret")
ARGS = None


def b64u(n):
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwks():
    keys = []
    for kid, endorsements in ENDORSE.items():
        pub = KEYS[kid].public_key().public_numbers()
        keys.append({"kty": "RSA", "use": "sig", "kid": kid, "n": b64u(pub.n), "e": b64u(pub.e),
                     "endorsements": endorsements})
    return {"keys": keys}


def mint(req):
    now = int(time.time())
    claims = {
        "iss": req.get("iss", "https://api.botframework.com"),
        "aud": req.get("aud", ARGS.app_id),
        "exp": now + int(req.get("exp_in", 3600)),
        "nbf": now + int(req.get("nbf_in", -60)),
        "serviceurl": req["serviceurl"],
    }
    if req.get("drop_serviceurl"):
        del claims["serviceurl"]
    kid = req.get("kid", "teams-key")
    return jwt.encode(claims, KEYS[kid], algorithm="RS256", headers={"kid": kid})


def activity(req):
    a = Activity(
        type=req.get("type", "message"),
        id=req["id"],
        timestamp=None,
        service_url=req["serviceUrl"],
        channel_id=req.get("channelId", "msteams"),
        from_property=ChannelAccount(id=req["fromId"], name=req.get("fromName", "利用者"),
                                     aad_object_id=req.get("aadObjectId")),
        recipient=ChannelAccount(id="28:" + ARGS.app_id, name="窓口ボット"),
        conversation=ConversationAccount(id=req["conversationId"],
                                         conversation_type=req.get("conversationType", "personal"),
                                         tenant_id=req.get("tenantId")),
        text=req.get("text"),
        value=req.get("value"),
        members_added=[ChannelAccount(id=m) for m in req.get("membersAdded", [])] or None,
        channel_data={"tenant": {"id": req.get("tenantId")}},
    )
    return a.serialize()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, code, doc, headers=None):
        data = json.dumps(doc, ensure_ascii=False).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def authorized(self):
        auth = self.headers.get("authorization", "")
        with LOCK:
            return auth.startswith("Bearer ") and auth[7:] in STATE["access_tokens"]

    def do_GET(self):
        path = self.path
        if path == "/v1/.well-known/openidconfiguration":
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            return self.send(200, {"issuer": "https://api.botframework.com",
                                   "authorization_endpoint": "https://invalid.botframework.com",
                                   "jwks_uri": base + "/v1/.well-known/keys",
                                   "id_token_signing_alg_values_supported": ["RS256"],
                                   "token_endpoint_auth_methods_supported": ["private_key_jwt"]})
        if path == "/v1/.well-known/keys":
            return self.send(200, jwks())
        if path == "/__requests":
            with LOCK:
                return self.send(200, {"requests": STATE["requests"], "tokensIssued": STATE["tokens_issued"],
                                       "graphCalls": STATE["graph_calls"]})
        # The serviceUrl may carry a region prefix (`/amer/`), as Teams' does.
        parts = path[path.find("/v3/"):].split("/") if "/v3/" in path else []
        # /v3/conversations/{conv}/members/{user}
        if len(parts) == 6 and parts[1] == "v3" and parts[2] == "conversations" and parts[4] == "members":
            if not self.authorized():
                return self.send(401, {"message": "Authorization has been denied for this request."})
            member = STATE["members"].get(urllib.parse.unquote(parts[5]))
            if member is None:
                return self.send(404, {"error": {"code": "MemberNotFoundInConversation"}})
            return self.send(200, member)
        self.send(404, {"message": "not found"})

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("content-length", "0")))
        path = self.path
        if path == "/__token":
            return self.send(200, {"token": mint(json.loads(raw))})
        if path == "/__activity":
            return self.send(200, activity(json.loads(raw)))
        if path == "/__config":
            with LOCK:
                STATE.update(json.loads(raw))
            return self.send(200, {})
        if path == "/graph-tenant/oauth2/v2.0/token":
            form = urllib.parse.parse_qs(raw.decode())
            if (form.get("client_id"), form.get("client_secret"), form.get("scope")) != (
                    [GRAPH_APP[0]], [GRAPH_APP[1]], ["https://graph.microsoft.com/.default"]):
                return self.send(401, {"error": "invalid_client"})
            tok = "graph-" + os.urandom(8).hex()
            with LOCK:
                STATE["graph_tokens"].add(tok)
            return self.send(200, {"token_type": "Bearer", "expires_in": 3599, "access_token": tok})
        if path == "/botframework.com/oauth2/v2.0/token":
            form = urllib.parse.parse_qs(raw.decode())
            ok = (form.get("grant_type") == ["client_credentials"] and form.get("client_id") == [ARGS.app_id]
                  and form.get("client_secret") == [ARGS.app_password]
                  and form.get("scope") == ["https://api.botframework.com/.default"])
            if not ok:
                return self.send(401, {"error": "invalid_client"})
            with LOCK:
                STATE["tokens_issued"] += 1
                tok = f"bf-access-{STATE['tokens_issued']}-{os.urandom(8).hex()}"
                STATE["access_tokens"].add(tok)
            return self.send(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                                   "access_token": tok})
        parts = path[path.find("/v3/"):].split("/") if "/v3/" in path else []
        if len(parts) >= 5 and parts[1] == "v3" and parts[2] == "conversations" and parts[4] == "activities":
            if not self.authorized():
                return self.send(401, {"message": "Authorization has been denied for this request."})
            body = json.loads(raw)
            record = {"path": path, "conversation": urllib.parse.unquote(parts[3]),
                      "replyToId": urllib.parse.unquote(parts[5]) if len(parts) > 5 else None,
                      "body": body, "at": time.time()}
            try:
                a = Activity().deserialize(body)
                assert a.type == "message", a.type
                for att in a.attachments or []:
                    assert att.content_type == "application/vnd.microsoft.card.adaptive", att.content_type
                    assert att.content["type"] == "AdaptiveCard"
                    for act in att.content.get("actions", []):
                        assert act["type"] == "Action.Submit" and "cmd" in act["data"], act
                assert a.text or a.attachments, "empty message"
            except Exception as e:
                record["status"] = 400
                with LOCK:
                    STATE["requests"].append(record)
                return self.send(400, {"error": {"code": "BadArgument", "message": repr(e)}})
            with LOCK:
                if STATE["throttle"] > 0:
                    STATE["throttle"] -= 1
                    record["status"] = 429
                    STATE["requests"].append(record)
                    return self.send(429, {"error": {"code": "TooManyRequests"}}, {"Retry-After": "1"})
                record["status"] = 200
                STATE["requests"].append(record)
            return self.send(200, {"id": f"1:{len(STATE['requests'])}"})
        self.send(404, {"message": "not found"})


def do_PATCH(self):
    raw = self.rfile.read(int(self.headers.get("content-length", "0")))
    auth = self.headers.get("authorization", "")
    if not (auth.startswith("Bearer ") and auth[7:] in STATE["graph_tokens"]):
        return self.send(401, {"error": {"code": "InvalidAuthenticationToken", "message": "Access token is empty."}})
    prefix = "/v1.0/users/"
    if not self.path.startswith(prefix):
        return self.send(404, {"error": {"code": "Request_ResourceNotFound", "message": "not found"}})
    user = urllib.parse.unquote(self.path[len(prefix):])
    if user not in STATE["graph_users"]:
        return self.send(404, {"error": {"code": "Request_ResourceNotFound",
                                         "message": f"Resource '{user}' does not exist."}})
    body = json.loads(raw)
    profile = body.get("passwordProfile", {})
    with LOCK:
        STATE["graph_calls"].append({"user": user, "force": profile.get("forceChangePasswordNextSignIn"),
                                     "password": profile.get("password")})
    self.send_response(204)
    self.send_header("content-length", "0")
    self.end_headers()


Handler.do_PATCH = do_PATCH


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--app-id", required=True)
    ap.add_argument("--app-password", required=True)
    ARGS = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(ARGS.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(ARGS.port_file + ".tmp", ARGS.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
