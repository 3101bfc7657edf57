# Huiying service image: installed the same way `make run` installs (an editable pip install of this
# checkout, so that migrations/ and the package data sit beside the code).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HUIYING_DATABASE_URL=sqlite:////data/huiying.db \
    NUMBA_CACHE_DIR=/srv/huiying/var/numba

WORKDIR /srv/huiying
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY connectors ./connectors
COPY kb ./kb
COPY migrations ./migrations
RUN pip install --upgrade pip && pip install -e . \
    && useradd --system --uid 10001 --home /srv/huiying huiying \
    && mkdir -p /data /srv/huiying/var && chown -R huiying /data /srv/huiying/var

USER huiying
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status == 200 else 1)"
CMD ["huiying", "serve", "--host", "0.0.0.0", "--port", "8000"]
