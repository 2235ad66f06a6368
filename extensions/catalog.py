"""The data catalog: every fact about runtimes, data services, orchestrators and clouds.

Templates never spell an image tag, a port or an environment variable name themselves: they read
them from the context that `context.py` derives from this catalog. Change a version here and every
layer (app, Dockerfile, compose, manifests, CI) follows.

`available` marks what the template can render today; anything else is refused at the prompt by a
choice validator in copier.yml with the reason given in `unavailable_reason`.
"""

from __future__ import annotations

APP_UID = 10001
"""Numeric non-root UID/GID every generated image runs as (PSS "restricted" needs a number)."""

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"

APP_ENV = {
    "port": "PORT",
    "log_level": "LOG_LEVEL",
    "service_name": "SERVICE_NAME",
    "service_version": "SERVICE_VERSION",
    "ready_timeout": "READY_TIMEOUT_SECONDS",
}
"""Environment variables every runtime reads, whatever the data services."""

READY_TIMEOUT_SECONDS = 2

INITIAL_VERSION = "0.1.0"
"""Version a new project starts at; also its first image tag."""

RUNTIMES: dict[str, dict] = {
    "python": {
        "label": "Python",
        "version": "3.12",
        "build_image": "python:3.12.7-slim-bookworm",
        "run_image": "python:3.12.7-slim-bookworm",
        "tmp_dirs": ["/tmp"],
        "commands": {
            "install": (
                "python3 -m venv .venv && .venv/bin/pip install --quiet -r requirements.lock -e '.[dev]'"
            ),
            "lint": ".venv/bin/ruff check . && .venv/bin/ruff format --check .",
            "test": ".venv/bin/pytest -q",
            "run": ".venv/bin/python -m service",
            "lock": (
                "python3 -m venv .lock-venv && .lock-venv/bin/pip install --quiet -e . && "
                ".lock-venv/bin/pip freeze --exclude-editable > requirements.lock; "
                "rm -rf .lock-venv *.egg-info"
            ),
        },
        "packages": {
            # "direct" goes to pyproject.toml as ranges; "lock" is the exact, resolved set that
            # requirements.lock pins for reproducible images (resolved together, per service).
            "base": {
                "direct": ["fastapi>=0.115,<1", "uvicorn>=0.30,<1", "prometheus-client>=0.20,<1"],
                "lock": [
                    "annotated-doc==0.0.7",
                    "annotated-types==0.8.0",
                    "anyio==4.16.0",
                    "click==8.5.1",
                    "fastapi==0.165.0",
                    "h11==0.16.0",
                    "idna==3.20",
                    "opentelemetry-api==1.45.2",
                    "prometheus-client==0.26.0",
                    "pydantic==2.14.3",
                    "pydantic-core==2.50.4",
                    "starlette==1.10.0",
                    "typing-extensions==4.16.0",
                    "typing-inspection==0.4.5",
                    "uvicorn==0.54.0",
                ],
            },
            "postgres": {
                "direct": ["psycopg[binary]>=3.2,<4"],
                "lock": ["psycopg==3.3.9", "psycopg-binary==3.3.9"],
            },
            "redis": {"direct": ["redis>=5,<9"], "lock": ["redis==8.1.0"]},
            "dev": {"direct": ["httpx2>=2.16,<3", "pytest>=8,<10", "ruff>=0.6,<1"]},
        },
        "available": True,
    },
    "node": {
        "label": "Node.js",
        "version": "22",
        # One pinned Debian image for both stages: the runtime stage deletes npm, corepack and yarn.
        "build_image": "node:22.23.3-bookworm-slim",
        "run_image": "node:22.23.3-bookworm-slim",
        "tmp_dirs": ["/tmp"],
        "commands": {
            "install": "npm ci",
            "lint": "npm run lint",
            "test": "npm test",
            "run": "node src/server.js",
            "lock": "npm install --package-lock-only --ignore-scripts",
        },
        # package.json ranges, per part; package-lock.json is cut from extensions/node-lock.json, one
        # lockfile resolved for every part together (scripts/node_lock.py regenerates it after a change).
        "npm": {
            "base": {"prom-client": "^15.1.3"},
            "postgres": {"pg": "^8.23.1"},
            "redis": {"redis": "^6.3.1"},
            "dev": {
                "@eslint/js": "^10.0.1",
                "eslint": "^10.15.0",
                "globals": "^17.14.0",
                "prettier": "^3.10.1",
            },
        },
        "engines": ">=20.19",
        "available": True,
    },
    "go": {
        "label": "Go",
        "version": "1.23",
        "build_image": "golang:1.23.4-bookworm",
        "run_image": "gcr.io/distroless/static-debian12:nonroot",
        "tmp_dirs": ["/tmp"],
        "commands": {
            "install": "go mod download",
            "lint": 'go vet ./... && test -z "$$(gofmt -l .)"',
            "test": "go test ./...",
            "run": "go run .",
        },
        "available": False,
        "unavailable_reason": "the Go runtime is planned (issue: runtimes)",
    },
    "java": {
        "label": "Java",
        "version": "17",
        "build_image": "maven:3.9.9-eclipse-temurin-17",
        "run_image": "eclipse-temurin:17.0.13_11-jre-jammy",
        "tmp_dirs": ["/tmp"],
        "commands": {
            "install": "mvn -B -q dependency:go-offline",
            "lint": "mvn -B -q verify -DskipTests",
            "test": "mvn -B -q test",
            "run": "mvn -B -q package -DskipTests && java -jar target/app.jar",
        },
        "available": False,
        "unavailable_reason": "the Java runtime is planned (issue: runtimes)",
    },
}

DATA_SERVICES: dict[str, dict] = {
    # Order here is the order services appear in every rendered file.
    "postgres": {
        "resource_type": "database",
        "label": "PostgreSQL",
        "env": "DATABASE_URL",
        "port": 5432,
        "image": "postgres:16.6-bookworm",
        "url": "postgres://app:{password}@{host}:5432/app",
        "healthcheck": ["CMD-SHELL", "pg_isready -U app -d app"],
        "container_env": {
            "POSTGRES_USER": "app",
            "POSTGRES_DB": "app",
            "POSTGRES_PASSWORD": "${POSTGRES_PASSWORD:-app}",
        },
        "command": [],
        # In-cluster development instance (dev overlay, cloud "none"): runs as the image's own user.
        "dev": {
            "uid": 999,
            "writable_dirs": ["/var/run/postgresql", "/tmp"],
            "env": [
                {"name": "POSTGRES_USER", "value": "app"},
                {"name": "POSTGRES_DB", "value": "app"},
                {"name": "POSTGRES_PASSWORD", "secret_key": "POSTGRES_PASSWORD"},
                {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"},
            ],
            "probe": ["pg_isready", "-U", "app", "-d", "app", "-h", "127.0.0.1"],
            "storage": "1Gi",
        },
        "data_dir": "/var/lib/postgresql/data",
        "secret": True,
        "available": True,
    },
    "mongodb": {
        "resource_type": "database",
        "label": "MongoDB",
        "env": "MONGODB_URL",
        "port": 27017,
        "image": "mongo:7.0.16-jammy",
        "secret": True,
        "available": False,
        "unavailable_reason": "MongoDB is planned (issue: data services)",
    },
    "redis": {
        "resource_type": "cache",
        "label": "Redis",
        "env": "REDIS_URL",
        "port": 6379,
        "image": "redis:7.4.1-bookworm",
        "url": "redis://{host}:6379/0",
        "healthcheck": ["CMD", "redis-cli", "ping"],
        "container_env": {},
        "command": ["redis-server", "--appendonly", "yes"],
        "dev": {
            "uid": 999,
            "writable_dirs": ["/tmp"],
            "env": [],
            "probe": ["redis-cli", "ping"],
            "storage": "1Gi",
        },
        "data_dir": "/data",
        "secret": False,
        "available": True,
    },
    "memcached": {
        "resource_type": "cache",
        "label": "Memcached",
        "env": "MEMCACHED_SERVERS",
        "port": 11211,
        "image": "memcached:1.6.32-bookworm",
        "secret": False,
        "available": False,
        "unavailable_reason": "Memcached is planned (issue: data services)",
    },
    "kafka": {
        "resource_type": "message-broker",
        "label": "Kafka",
        "env": "KAFKA_BROKERS",
        "port": 9092,
        "image": "apache/kafka:3.9.0",
        "secret": False,
        "available": False,
        "unavailable_reason": "Kafka is planned (issue: data services)",
    },
    "rabbitmq": {
        "resource_type": "message-broker",
        "label": "RabbitMQ",
        "env": "RABBITMQ_URL",
        "port": 5672,
        "image": "rabbitmq:4.0.4-management",
        "secret": True,
        "available": False,
        "unavailable_reason": "RabbitMQ is planned (issue: data services)",
    },
}

ORCHESTRATORS: dict[str, dict] = {
    "kubernetes": {"label": "Kubernetes (Kustomize)", "deploy_dir": "deploy/kubernetes", "available": True},
    "helm": {
        "label": "Helm chart",
        "deploy_dir": "deploy/helm",
        "available": False,
        "unavailable_reason": "the Helm chart is planned (issue: orchestrators)",
    },
    "nomad": {
        "label": "Nomad job",
        "deploy_dir": "deploy/nomad",
        "available": False,
        "unavailable_reason": "the Nomad job is planned (issue: orchestrators)",
    },
    "swarm": {
        "label": "Docker Swarm stack",
        "deploy_dir": "deploy/swarm",
        "available": False,
        "unavailable_reason": "the Swarm stack is planned (issue: orchestrators)",
    },
}

CLOUDS: dict[str, dict] = {
    "none": {"label": "None (local cluster)", "available": True},
    "aws": {
        "label": "AWS (EKS, ECR, RDS)",
        "available": False,
        "unavailable_reason": "AWS Terraform is planned (issue: clouds)",
    },
    "gcp": {
        "label": "Google Cloud (GKE, Artifact Registry, Cloud SQL)",
        "available": False,
        "unavailable_reason": "GCP Terraform is planned (issue: clouds)",
    },
    "azure": {
        "label": "Azure (AKS, ACR, Azure Database)",
        "available": False,
        "unavailable_reason": "Azure Terraform is planned (issue: clouds)",
    },
}

RESOURCES = {
    "requests": {"cpu": "100m", "memory": "128Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi"},
}
"""Container resources every orchestrator renders for the app."""

KUBERNETES_VERSIONS = ["1.31", "1.32", "1.33"]
