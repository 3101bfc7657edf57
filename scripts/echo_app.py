"""The baseline for benchmarks: a bare FastAPI JSON echo endpoint."""

from typing import Any

from fastapi import FastAPI

app = FastAPI()


@app.post("/echo")
def echo(body: dict[str, Any]) -> dict[str, Any]:
    return body
