#!/usr/bin/env python3
"""The LINE platform, as far as the tests need it, built on LINE's official SDK (line-bot-sdk 3).

- Webhooks: POST /__webhook {"secret", "events": [spec...]} builds each event with the SDK's
  webhook models (MessageEvent, PostbackEvent, FollowEvent, ...), serialises the
  CallbackRequest, signs it as LINE does, checks the signature and the body with the SDK's
  WebhookParser, and returns {"body", "signature"} for the test to post to madoguchi.
- The Messaging API: POST /v2/bot/message/reply and /v2/bot/message/push validate our bodies
  with the SDK's ReplyMessageRequest / PushMessageRequest models (422 when they do not parse),
  check the bearer token, honour X-Line-Retry-Key (409 on a key already accepted), answer
  400 "Invalid reply token" for tokens used twice or when told to expire them, and record
  every call. GET /__requests returns the calls; POST /__config changes behaviour.

Loopback only. Usage: line_peer.py --port-file F --token TOKEN
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from linebot.v3 import WebhookParser
from linebot.v3.messaging import PushMessageRequest, ReplyMessageRequest
from linebot.v3.webhooks import (
    AccountLinkEvent,
    CallbackRequest,
    LinkContent,
    DeliveryContext,
    FollowDetail,
    FollowEvent,
    GroupSource,
    ImageMessageContent,
    ContentProvider,
    MessageEvent,
    PostbackContent,
    PostbackEvent,
    TextMessageContent,
    UnfollowEvent,
    UserSource,
)

LOCK = threading.Lock()
STATE = {"requests": [], "retry_keys": set(), "used_tokens": set(), "expire_reply_tokens": False, "fail_push": 0,
         "delay_ms": 0, "slow_reply_tokens": {}}
TOKEN = ""


def source(spec):
    if spec.get("groupId"):
        return GroupSource(groupId=spec["groupId"], userId=spec.get("userId"))
    return UserSource(userId=spec["userId"])


def build_event(spec):
    common = dict(
        source=source(spec),
        timestamp=int(spec.get("timestamp", time.time() * 1000)),
        mode=spec.get("mode", "active"),
        webhookEventId=spec["webhookEventId"],
        deliveryContext=DeliveryContext(isRedelivery=bool(spec.get("redelivery", False))),
    )
    kind = spec["type"]
    if kind == "text":
        return MessageEvent(replyToken=spec["replyToken"], message=TextMessageContent(
            id=spec.get("messageId", "1"), text=spec["text"], quoteToken="q" + spec["webhookEventId"]), **common)
    if kind == "image":
        return MessageEvent(replyToken=spec["replyToken"], message=ImageMessageContent(
            id=spec.get("messageId", "1"), contentProvider=ContentProvider(type="line"), quoteToken="q"), **common)
    if kind == "postback":
        return PostbackEvent(replyToken=spec["replyToken"], postback=PostbackContent(data=spec["data"]), **common)
    if kind == "follow":
        return FollowEvent(replyToken=spec["replyToken"], follow=FollowDetail(isUnblocked=False), **common)
    if kind == "unfollow":
        return UnfollowEvent(**common)
    if kind == "accountLink":
        return AccountLinkEvent(replyToken=spec["replyToken"], link=LinkContent(
            result=spec.get("result", "ok"), nonce=spec["nonce"]), **common)
    raise ValueError(f"unknown event spec type {kind}")


def webhook(req):
    secret = req["secret"]
    events = [build_event(s) for s in req["events"]]
    body = CallbackRequest(destination="U" + "0" * 32, events=events).to_json()
    sig = base64.b64encode(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()).decode()
    # The SDK must accept what we are about to send (signature and every event).
    parsed = WebhookParser(secret).parse(body, sig)
    assert len(parsed) == len(events), (len(parsed), len(events))
    extra = [json.loads(x) for x in req.get("raw", [])]
    if extra:  # hand-made events the SDK has no model for (unknown types): appended after the check
        doc = json.loads(body)
        doc["events"].extend(extra)
        body = json.dumps(doc, ensure_ascii=False)
        sig = base64.b64encode(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()).decode()
    return {"body": body, "signature": sig}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, doc):
        data = json.dumps(doc, ensure_ascii=False).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/__requests":
            with LOCK:
                return self.reply(200, STATE["requests"])
        self.reply(404, {"message": "Not found"})

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.path == "/__webhook":
            try:
                return self.reply(200, webhook(json.loads(raw)))
            except Exception as e:  # a bad spec is the test's fault: say so
                return self.reply(400, {"message": repr(e)})
        if self.path == "/__config":
            with LOCK:
                for k, v in json.loads(raw).items():
                    STATE[k] = v
            return self.reply(200, {})
        if self.path.startswith("/v2/bot/user/") and self.path.endswith("/linkToken"):
            if self.headers.get("authorization") != f"Bearer {TOKEN}":
                return self.reply(401, {"message": "Authentication failed"})
            token = "lt" + base64.urlsafe_b64encode(os.urandom(24)).decode().rstrip("=")
            with LOCK:
                STATE["requests"].append({"path": self.path, "body": {}, "status": 200, "linkToken": token, "at": time.time()})
            return self.reply(200, {"linkToken": token})
        if self.path not in ("/v2/bot/message/reply", "/v2/bot/message/push"):
            return self.reply(404, {"message": "Not found"})
        if self.headers.get("authorization") != f"Bearer {TOKEN}":
            return self.reply(401, {"message": "Authentication failed"})
        body = json.loads(raw)
        model = ReplyMessageRequest if self.path.endswith("reply") else PushMessageRequest
        try:
            model.from_json(raw.decode())
            for m in body.get("messages", []):
                if m.get("type") == "text":
                    assert len(m["text"].encode("utf-16-le")) // 2 <= 5000, "text longer than 5000"
                assert len(body["messages"]) <= 5, "more than 5 messages"
        except Exception as e:
            return self.reply(400, {"message": "The request body has 1 error(s)", "details": [{"message": repr(e)}]})
        key = self.headers.get("x-line-retry-key")
        slow = STATE["slow_reply_tokens"].get(body.get("replyToken"), 0)
        time.sleep((STATE["delay_ms"] + slow) / 1000)
        with LOCK:
            record = {"path": self.path, "body": body, "retryKey": key, "at": time.time()}
            if self.path.endswith("reply"):
                tok = body["replyToken"]
                if STATE["expire_reply_tokens"] or tok in STATE["used_tokens"]:
                    record["status"] = 400
                    STATE["requests"].append(record)
                    return self.reply(400, {"message": "Invalid reply token"})
                STATE["used_tokens"].add(tok)
            else:
                if STATE["fail_push"] > 0:
                    STATE["fail_push"] -= 1
                    record["status"] = 500
                    STATE["requests"].append(record)
                    return self.reply(500, {"message": "Internal server error"})
                if key and key in STATE["retry_keys"]:
                    record["status"] = 409
                    STATE["requests"].append(record)
                    return self.reply(409, {"message": "The retry key is already accepted"})
                if key:
                    STATE["retry_keys"].add(key)
            record["status"] = 200
            STATE["requests"].append(record)
        self.reply(200, {"sentMessages": [{"id": str(i), "quoteToken": "q"} for i, _ in enumerate(body["messages"])]})


def main():
    global TOKEN
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--token", required=True)
    a = ap.parse_args()
    TOKEN = a.token
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
