"""Slow-loris against `huiying serve`: N connections that never finish their headers, and one normal
client meanwhile. Reports whether the normal client is served and when the server closed the others.

    python -m scripts.bench_slowloris                     # 400 connections, header timeout 3 s
    python -m scripts.bench_slowloris --connections 800 --header-timeout 10
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time

from scripts.bench_server import ROOT, bench_env
from scripts.loadgen import free_port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--connections", type=int, default=400)
    parser.add_argument("--header-timeout", type=float, default=3.0)
    args = parser.parse_args(argv)
    env = bench_env(None)
    subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"], env=env, cwd=ROOT, check=True, capture_output=True
    )
    port = free_port()
    command = [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
    command += [
        "--header-timeout",
        str(args.header_timeout),
        "--limit-concurrency",
        str(args.connections * 2),
    ]
    server = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(150):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        started = time.monotonic()
        slow = []
        for _ in range(args.connections):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # the headers never end
            slow.append(sock)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as normal:
            normal.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            status = normal.recv(64).split(b"\r\n")[0].decode()
        print(f"normal client meanwhile: {status} after {time.monotonic() - started:.1f} s")
        closed = 0
        for sock in slow:
            sock.settimeout(args.header_timeout * 5)
            try:
                closed += sock.recv(16) == b""
            except OSError:
                closed += 1
            sock.close()
        print(
            f"{args.connections} trickling connections: {closed} closed by the server "
            f"{time.monotonic() - started:.1f} s after the first (header timeout {args.header_timeout:g} s)"
        )
        return 0 if closed == args.connections else 1
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    sys.exit(main())
