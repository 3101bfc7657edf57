"""The container files stay true to how the service installs and starts (no Docker engine runs here)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_runs_postgres_then_migrate_then_app():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) >= {"db", "migrate", "app"}
    assert services["db"]["image"].startswith("postgres:")
    assert "healthcheck" in services["db"]
    assert services["migrate"]["command"] == ["huiying", "migrate"]
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["app"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["app"]["command"][:2] == ["huiying", "serve"]
    assert "8000:8000" in services["app"]["ports"]
    db = services["db"]["environment"]
    expected = (
        f"postgresql+psycopg://{db['POSTGRES_USER']}:{db['POSTGRES_PASSWORD']}@db:5432/{db['POSTGRES_DB']}"
    )
    for name in ("migrate", "app"):
        assert services[name]["environment"]["HUIYING_DATABASE_URL"] == expected
    # one image, built once: `migrate` builds it (with the optional mirror), `app` reuses it
    assert services["migrate"]["build"]["context"] == "."
    assert services["migrate"]["build"]["args"]["PIP_MIRROR"] == "${PIP_MIRROR:-}"
    assert "build" not in services["app"] and services["app"]["pull_policy"] == "never"
    assert services["app"]["image"] == services["migrate"]["image"]
    assert [name for name, svc in services.items() if "build" in svc] == ["migrate"]
    # the first admin is documented in the file itself
    assert "huiying users create --role admin" in (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    # secrets are required from the environment, never written into the file
    assert "HUIYING_SECRET_KEY" in services["app"]["environment"]
    assert services["app"]["environment"]["HUIYING_SECRET_KEY"].startswith("${")


def test_dockerfile_installs_like_make_run_and_runs_unprivileged():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()]
    text = "\n".join(lines)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "pip install -q -e '.[dev]'" in makefile and " -e ." in text
    # every package the project ships, the migrations and alembic.ini are copied into the image
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    for folder in [*packages, "migrations"]:
        assert any(line.startswith(f"COPY {folder} ") for line in lines), folder
    assert "alembic.ini" in text
    # the demo data ships in the image (`huiying demo` finds it beside the code), and pip may use a mirror
    assert any(line.startswith("COPY data ") for line in lines)
    assert "ARG PIP_MIRROR" in text and '--index-url "$PIP_MIRROR"' in text
    user_lines = [line for line in lines if line.startswith("USER ")]
    assert user_lines and user_lines[-1] not in ("USER root", "USER 0")
    assert any(line.startswith("HEALTHCHECK") for line in lines) and "/readyz" in text
    assert 'CMD ["huiying", "serve"' in text
    assert project["project"]["scripts"]["huiying"] == "app.cli:main"


def test_package_data_patterns_cover_the_data_files():
    """Every non-Python file the service reads at run time matches a package-data pattern."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = project["tool"]["setuptools"]["package-data"]["*"]
    for folder in ("app", "kb", "connectors"):
        for path in (ROOT / folder).rglob("*"):
            if (
                path.is_file()
                and path.suffix not in (".py", ".pyc", ".md")
                and "__pycache__" not in path.parts
            ):
                assert any(path.match(p) for p in patterns), path


def test_make_run_is_demo_mode_with_its_receiver_on_loopback():
    """`make demo` / `make run` turn the demo receiver on, point the demo account at it on the served
    port, and allow outbound calls to loopback only; nothing else in the Makefile turns them on."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "HUIYING_DEMO_RECEIVER ?= on" in makefile
    assert "HUIYING_OUTBOUND_ALLOWED_NETWORKS ?= 127.0.0.1/32" in makefile
    assert "HUIYING_DEMO_RECEIVER_URL=http://127.0.0.1:$(PORT)/demo/receiver" in makefile
    recipes = {
        target: body for target, body in re.findall(r"^([a-z-]+):[^\n]*\n((?:\t[^\n]*\n)+)", makefile, re.M)
    }
    assert "$(DEMO_ENV) $(VENV)/bin/huiying demo" in recipes["demo"]
    assert "$(DEMO_ENV)" in recipes["run"] and "huiying serve" in recipes["run"]
    assert [t for t, body in recipes.items() if "$(DEMO_ENV)" in body] == ["demo", "run"]
