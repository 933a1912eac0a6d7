# Wijkwerf: one image; run N containers behind a reverse proxy against one PostgreSQL.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    WIJKWERF_ENV=production \
    DATABASE_URL=sqlite:////data/wijkwerf.db \
    MAIL_URL=console://

WORKDIR /srv/wijkwerf
COPY requirements.lock pyproject.toml alembic.ini ./
RUN pip install --no-cache-dir -r requirements.lock
COPY app ./app
COPY migrations ./migrations
RUN pip install --no-cache-dir --no-deps -e . \
    && useradd --system --home /srv/wijkwerf wijkwerf \
    && mkdir -p /data && chown wijkwerf /data

USER wijkwerf
EXPOSE 8000
# SECRET_KEY and BASE_URL must be given at run time; the server refuses to start without a key.
CMD ["sh", "-c", "wijkwerf migrate && exec wijkwerf serve --host 0.0.0.0 --port 8000 --workers ${WEB_CONCURRENCY:-2}"]
