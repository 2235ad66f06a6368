# syntax=docker/dockerfile:1
# The reference: `docker init`'s Python Dockerfile (one stage) on its slim base, with the same lock
# (bind target made absolute: buildah 1.28 requires it).
FROM python:3.13-slim-trixie AS base
ENV PYTHONDONTWRITEBYTECODE=1
ENV PYTHONUNBUFFERED=1
WORKDIR /app
ARG UID=10001
RUN adduser \
    --disabled-password \
    --gecos "" \
    --home "/nonexistent" \
    --shell "/sbin/nologin" \
    --no-create-home \
    --uid "${UID}" \
    appuser
RUN --mount=type=cache,target=/root/.cache/pip \
    --mount=type=bind,source=requirements.lock,target=/app/requirements.txt \
    python -m pip install -r requirements.txt
USER appuser
COPY . .
EXPOSE 8000
CMD ["python", "-m", "service"]
