"""Cold start: seconds from launching `huiying serve` to the first 200 from /readyz (a migrated SQLite
database, demo-sized). DESIGN's budget is under 3 s.

    python -m scripts.bench_startup [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from scripts.loadgen import free_port

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="huiying-start-"))
    env = {**os.environ, "HUIYING_DATABASE_URL": f"sqlite:///{tmp / 's.db'}", "HUIYING_SECRET_KEY": "x"}
    subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"], env=env, cwd=ROOT, check=True, capture_output=True
    )
    times = []
    for _ in range(args.runs):
        port = free_port()
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as resp:
                        if resp.status == 200:
                            break
                except OSError:
                    time.sleep(0.02)
                if time.perf_counter() - start > 60:
                    raise SystemExit("not ready after 60 s")
            times.append(time.perf_counter() - start)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print(
        "cold start to ready (s): "
        + ", ".join(f"{t:.2f}" for t in times)
        + f"  best {min(times):.2f}  (budget < 3 s)"
    )


if __name__ == "__main__":
    main()
