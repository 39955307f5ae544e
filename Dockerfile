# The worker image used by docker-compose.yml (`centers-worker`).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Only what the package needs: keeps .venv/, var/ and .git/ out of the image.
COPY pyproject.toml README.md ./
COPY models ./models
COPY rules ./rules
COPY workflows ./workflows
COPY activities ./activities
COPY workers ./workers
COPY db ./db
COPY centers ./centers
RUN pip install . && useradd --create-home --uid 10001 app

USER app
CMD ["centers-worker"]
