# Wijkwerf: one image; run N containers behind a reverse proxy against one PostgreSQL.
# Stage 1 builds the wheel; stage 2 installs that wheel and its locked runtime dependencies, so
# the image runs the installed package, as pip or pipx would, and holds no source tree.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml setup.py MANIFEST.in ./
COPY app ./app
COPY migrations ./migrations
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    WIJKWERF_ENV=production \
    DATABASE_URL=sqlite:////data/wijkwerf.db \
    MAIL_URL=console://

# pg_dump and pg_restore for `wijkwerf backup` and `wijkwerf restore` on PostgreSQL (Debian 12's
# client is version 15: it must be the server's major version or newer).
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.lock /tmp/requirements.lock
COPY --from=build /dist /tmp/dist
# The lock pins every version; only the wheel's own (runtime) dependencies are installed.
RUN pip install --no-cache-dir --constraint /tmp/requirements.lock /tmp/dist/wijkwerf-*.whl \
    && rm -rf /tmp/dist /tmp/requirements.lock \
    && useradd --system --home /data wijkwerf \
    && mkdir -p /data && chown wijkwerf /data

USER wijkwerf
WORKDIR /data
EXPOSE 8000
# SECRET_KEY and BASE_URL must be given at run time; the server refuses to start without a key.
CMD ["sh", "-c", "wijkwerf migrate && exec wijkwerf serve --host 0.0.0.0 --port 8000 --workers ${WEB_CONCURRENCY:-2}"]
