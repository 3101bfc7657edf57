# Huiying service image: installed the same way `make run` installs (an editable pip install of this
# checkout, so that migrations/ and the package data sit beside the code).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HUIYING_DATABASE_URL=sqlite:////data/huiying.db \
    NUMBA_CACHE_DIR=/srv/huiying/var/numba

# A package-index mirror for networks that cannot reach the public index (most deployments in China):
#   docker compose build --build-arg PIP_MIRROR=https://<mirror>/simple
ARG PIP_MIRROR=""

WORKDIR /srv/huiying
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY connectors ./connectors
COPY kb ./kb
COPY migrations ./migrations
# The demo and evaluation data (`huiying demo` finds it beside the code, as in a checkout).
COPY data ./data
RUN pip install ${PIP_MIRROR:+--index-url "$PIP_MIRROR"} --upgrade pip \
    && pip install ${PIP_MIRROR:+--index-url "$PIP_MIRROR"} -e . \
    && useradd --system --uid 10001 --home /srv/huiying huiying \
    && mkdir -p /data /srv/huiying/var && chown -R huiying /data /srv/huiying/var

USER huiying
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status == 200 else 1)"
CMD ["huiying", "serve", "--host", "0.0.0.0", "--port", "8000"]
