"""Benchmark: WeChat safe-mode pushes verified, decrypted and parsed per second, in one process.

Run: `.venv/bin/python scripts/bench_webhook.py [--count 20000]`. The pushes are built here the way
WeChat builds them (independently of the connector), so the run also checks interoperability.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import struct
import time
from datetime import UTC, datetime

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from connectors import wechat
from connectors.base import InboundItem

TOKEN = "benchToken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx5823bf96d3bd56c7"


def build_push(n: int, now: datetime) -> tuple[dict[str, str], bytes]:
    """One safe-mode push as WeChat sends it: query string parameters and the XML body."""
    timestamp, nonce = str(int(now.timestamp())), f"{n:010d}"
    message = (
        "<xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName>"
        f"<FromUserName><![CDATA[oUser{n % 997}]]></FromUserName><CreateTime>{timestamp}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[第{n}条：小区门口路灯不亮，已经一周了，请尽快安排维修。]]></Content>"
        f"<MsgId>{10**16 + n}</MsgId></xml>"
    ).encode()
    key = base64.b64decode(AES_KEY + "=")
    plain = os.urandom(16) + struct.pack(">I", len(message)) + message + APP_ID.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    encrypted = base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()
    msg_signature = hashlib.sha1("".join(sorted([TOKEN, timestamp, nonce, encrypted])).encode()).hexdigest()
    body = f"<xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    query = {"timestamp": timestamp, "nonce": nonce, "encrypt_type": "aes", "msg_signature": msg_signature}
    return query, body.encode()


def run(count: int) -> float:
    """Pushes per second through `wechat.parse_push`, safe mode, one process."""
    now = datetime.now(UTC)
    secrets = {"app_id": APP_ID, "app_secret": "unused", "token": TOKEN, "encoding_aes_key": AES_KEY}
    pushes = [build_push(n, now) for n in range(count)]
    started = time.perf_counter()
    for query, body in pushes:
        item = wechat.parse_push(secrets=secrets, query=query, body=body, now=now)
        assert isinstance(item, InboundItem)
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=20_000)
    args = parser.parse_args()
    run(min(args.count, 1000))  # warm-up
    rate = run(args.count)
    print(
        f"wechat safe-mode verify+decrypt+parse: {rate:,.0f} pushes/s ({1e6 / rate:.1f} µs each), one process"
    )


if __name__ == "__main__":
    main()
