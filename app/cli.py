"""The `huiying` command: serve, migrate, demo, users create (and more, added by each domain)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Sequence

import uvicorn
from sqlmodel import select

from app import wiring, worker
from app.auth import SYSTEM
from app.cli_extra import register
from app.config import get_settings
from app.db import get_engine, migrate, session_scope
from app.demo import load_demo
from app.errors import HuiyingError
from app.serving import PROTOCOL
from app.users import service, signin
from app.users.models import Role, User, UserCreate

Command = Callable[[argparse.Namespace], int]


def _serve(args: argparse.Namespace) -> int:
    """The API; with the default settings the background jobs run beside it in a `huiying worker`
    process (HUIYING_SERVE_WORKER=inline keeps them in the API process; HUIYING_SCHEDULER=off runs none)."""
    # Through the environment, so that every worker process reads the same limits.
    for name in ("header_timeout", "body_timeout", "limit_concurrency"):
        value = getattr(args, name)
        if value is not None:
            os.environ[f"HUIYING_SERVE_{name.upper()}"] = str(value)
    get_settings.cache_clear()
    settings = get_settings()
    child = None
    if settings.scheduler == "on" and settings.serve_worker == "process":
        child = worker.spawn(settings)
        # The API process(es) import the app after this: they run no jobs of their own.
        os.environ["HUIYING_SCHEDULER"] = "off"
        get_settings.cache_clear()
    proxy: dict[str, object] = {"proxy_headers": False}
    if settings.forwarded_allow_ips:
        proxy = {"proxy_headers": True, "forwarded_allow_ips": settings.forwarded_allow_ips}
    try:
        uvicorn.run(
            "app.asgi:app",
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level="info",
            access_log=settings.access_log,
            http=PROTOCOL,
            limit_concurrency=settings.serve_limit_concurrency,
            timeout_keep_alive=5,
            **proxy,  # type: ignore[arg-type]
        )
    finally:
        if child is not None:
            worker.stop_child(child)
    return 0


def _worker(_: argparse.Namespace) -> int:
    worker.run(get_settings())
    return 0


def _migrate(_: argparse.Namespace) -> int:
    migrate(get_engine())
    print("数据库已迁移到最新版本 (migrated to head)")
    return 0


def _demo(args: argparse.Namespace) -> int:
    summary = load_demo(data_dir=args.data)
    for key, value in summary.items():
        print(f"{key}: {value}")
    return 0


def _read_password() -> str:
    """The password from standard input (a prompt without echo on a terminal; else the first line)."""
    if sys.stdin.isatty():
        return getpass.getpass("密码：")
    return sys.stdin.readline().rstrip("\r\n")


def _users_create(args: argparse.Namespace) -> int:
    password = _read_password() if args.username else None
    try:
        with session_scope() as session:
            user, token = service.create(
                session=session,
                actor=SYSTEM,
                data=UserCreate(
                    name=args.name or args.username or args.role,
                    role=Role(args.role),
                    unit_code=args.unit,
                    username=args.username,
                    password=password,
                ),
            )
            print(f"user {user.id} ({user.role}{'@' + user.unit_code if user.unit_code else ''})")
            if user.username:
                print(f"username: {user.username}")
            print(f"token: {token}")
            print("令牌只显示这一次，请妥善保存。")
    except HuiyingError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    return 0


def _users_reset_password(args: argparse.Namespace) -> int:
    password = _read_password()
    try:
        with session_scope() as session:
            user = session.exec(select(User).where(User.username == args.username)).first()
            if user is None or user.id is None:
                print(f"用户名 {args.username} 不存在", file=sys.stderr)
                return 2
            signin.reset_password(session=session, actor=SYSTEM, user_id=user.id, password=password)
            print(f"用户 {args.username} 的密码已重置，锁定已解除，原有会话已失效。")
    except HuiyingError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="huiying", description="回应 Huiying — 政务新媒体留言统一办理")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--header-timeout",
        type=float,
        help="close a connection whose request headers take longer, seconds (HUIYING_SERVE_HEADER_TIMEOUT, 10)",
    )
    serve.add_argument(
        "--body-timeout",
        type=float,
        help="close a connection whose body takes longer after its headers, seconds (HUIYING_SERVE_BODY_TIMEOUT, 30)",
    )
    serve.add_argument(
        "--limit-concurrency",
        type=int,
        help="answer 503 beyond this many connections and requests per worker (HUIYING_SERVE_LIMIT_CONCURRENCY, 500)",
    )
    serve.set_defaults(func=_serve)

    sub.add_parser(
        "worker", help="run the background jobs (pipeline, outbox, SLA sweeps, polls)"
    ).set_defaults(func=_worker)
    sub.add_parser("migrate", help="migrate the database to the newest schema").set_defaults(func=_migrate)

    demo = sub.add_parser("demo", help="load demo data (idempotent)")
    demo.add_argument("--data", default=None, help="folder with dev_eval.json and wenzheng-2020/")
    demo.set_defaults(func=_demo)

    users = sub.add_parser("users", help="manage users").add_subparsers(dest="users_command", required=True)
    create = users.add_parser("create", help="create a user and print its token once")
    create.add_argument(
        "--role", required=True, choices=["admin", "supervisor", "leader", "reviewer", "operator", "auditor"]
    )
    create.add_argument("--unit", default=None)
    create.add_argument("--name", default=None)
    create.add_argument(
        "--username", default=None, help="sign-in name; the password is read from standard input"
    )
    create.set_defaults(func=_users_create)
    reset = users.add_parser("reset-password", help="set a user's password (read from standard input)")
    reset.add_argument("--username", required=True)
    reset.set_defaults(func=_users_reset_password)

    register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    wiring.install()
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
