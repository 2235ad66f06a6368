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

OBSERVABILITY = {
    # Standard OpenTelemetry variable: traces are exported over OTLP/HTTP when it is set.
    "otlp_env": "OTEL_EXPORTER_OTLP_ENDPOINT",
    "otlp_port": 4318,
    "collector_image": "otel/opentelemetry-collector-contrib:0.114.0",
    # Where the in-cluster collector is expected (change in the overlay's ConfigMap to match yours).
    "cluster_endpoint": "http://otel-collector.observability.svc:4318",
    # The local stack `make up` starts beside the app: what each is for, its image and the UI's port
    # on localhost. The collector sends traces to Jaeger; Grafana shows Prometheus and Jaeger.
    "local": {
        "prometheus": {"what": "metrics and alerts", "image": "prom/prometheus:v3.5.0", "port": 9090},
        "grafana": {"what": "the dashboard", "image": "grafana/grafana:12.1.0", "port": 3000},
        "jaeger": {"what": "traces", "image": "jaegertracing/jaeger:2.5.0", "port": 16686},
    },
    # Alert thresholds rendered into the PrometheusRule.
    "error_ratio": 0.05,
    "latency_p95_seconds": 0.5,
}

INITIAL_VERSION = "0.1.0"
"""Version a new project starts at; also its first image tag."""

JAVA_FLAGS = [
    # Heap follows the container's memory limit, leaving 40% for what a Spring Boot service needs
    # beside it (metaspace, code cache, thread stacks, Netty's direct buffers); exit (and get
    # restarted) instead of limping on after an OutOfMemoryError.
    "-XX:MaxRAMPercentage=60",
    "-XX:+ExitOnOutOfMemoryError",
]
JAVA_ENTRYPOINT = [
    "java",
    *JAVA_FLAGS,
    "-jar",
    "/app/app.jar",
]

RUNTIMES: dict[str, dict] = {
    "python": {
        "label": "Python",
        # What `make install`, `make run` and `make migrate` need on a developer's machine.
        "prerequisites": "Python 3.11 or newer with `venv` (Debian and Ubuntu: `python3-venv`)",
        "version": "3.13",
        # Distroless's Python is Debian's (/usr/bin/python3.13): the virtualenv is built on the same
        # Debian release's interpreter, so its links point at the one the runtime image has.
        "build_image": "debian:13.4-slim",
        "run_image": "gcr.io/distroless/python3-debian13:nonroot",
        "processes": (
            "`WEB_CONCURRENCY` uvicorn worker processes on the one port (default 1), each with its own "
            "pools; Prometheus's multiprocess mode sums their metrics on `/metrics`"
        ),
        "tmp_dirs": ["/tmp"],
        # One event loop serves one core: the app runs this many server processes (uvicorn workers),
        # and every orchestrator sets it to the container's CPU limit in whole cores, rounded up.
        "workers_env": "WEB_CONCURRENCY",
        # Data services whose client this runtime's app implements (others are refused at the prompt).
        "services": ["postgres", "mongodb", "redis", "memcached", "kafka", "rabbitmq"],
        # How the image runs its schema migration step (compose `migrate`, Kubernetes initContainer).
        "migrate_command": ["python", "-m", "service.migrate"],
        # The image's own health check, exec form, as compose and Swarm run it ({port_env}, {path}).
        "healthcheck": [
            "python",
            "-c",
            "import os, urllib.request as r; "
            "r.urlopen('http://127.0.0.1:%s{path}' % os.environ['{port_env}'], timeout=2)",
        ],
        # The app also reads `<NAME>_FILE` (a file holding the value), so Swarm secrets reach it.
        "secret_files": True,
        # With observability on, the app exports OTLP traces and puts trace ids in its logs.
        "traces": True,
        # How tests and benchmarks run the installed app (`make install`) in app/ on this machine:
        # the server and the migration step, after `build` if any ({binary}: a path outside the
        # project). And the exit code of a clean stop on SIGTERM.
        "local": {
            "server": [".venv/bin/python", "-m", "service"],
            "migrate": [".venv/bin/python", "-m", "service.migrate"],
        },
        "stop_exit_code": 0,
        # The generated CI's toolchain: GitHub's setup action and its inputs ({version}: the runtime's
        # version); GitLab's dependency cache (variables pointing the tool's cache into the project,
        # keyed on a lockfile). GitLab runs the job in build_image, which has the toolchain.
        "ci_toolchain": {
            "setup": {"action": "actions/setup-python", "with": {"python-version": "{version}"}},
            "cache": {
                "variables": {"PIP_CACHE_DIR": "$CI_PROJECT_DIR/.cache/pip"},
                "key": "app/requirements.lock",
                "paths": [".cache/pip"],
            },
        },
        # The recipes of scripts/standin_bases.py that stand in for build_image and run_image here
        # (no container registry is reachable: the tests build these bases locally).
        "standins": {"build_image": "debian-slim", "run_image": "distroless-python"},
        # The module in extensions/ that cuts the app's manifests and lockfiles from its lock data
        # (the templates' `lock`).
        "lock_renderer": "python_lock.py",
        # What scripts/bench_apps.py and scripts/bench_images.py need: targets, a source-only edit,
        # the bare app on the same framework (scripts/bench/<runtime>/bare: its build and run, in
        # its folder, `{app}` the generated app's) and a reference image to compare sizes with.
        "bench": {
            "start_seconds": 1.0,
            "ready_seconds": 1.0,
            "rebuild_ratio": 0.25,
            "source_edit": ["service/__init__.py", "# edit {i}\n"],
            "bare": {"run": ["{app}/.venv/bin/python", "bare.py"]},
            "reference": {"name": "docker init", "standin": "python"},
        },
        "commands": {
            # The locked packages, each file checked against its hash; then the app and its dev tools.
            "install": (
                "python3 -m venv .venv && .venv/bin/pip install --quiet --require-hashes -r requirements.lock"
                " && .venv/bin/pip install --quiet -e '.[dev]'"
            ),
            "lint": ".venv/bin/ruff check . && .venv/bin/ruff format --check .",
            "test": ".venv/bin/pytest -q",
            "run": ".venv/bin/python -m service",
            "migrate": ".venv/bin/python -m service.migrate",
            # Every platform and Python version the project supports, with each file's hash; uv keeps
            # the versions requirements.lock already holds unless given `--upgrade`.
            "lock": (
                ".venv/bin/uv pip compile --quiet pyproject.toml --universal --generate-hashes"
                " --output-file=requirements.lock"
            ),
        },
        # The image installs requirements.lock alone, without resolving: in a fresh folder, those
        # packages must satisfy each other and every module the app imports (the build tier runs it).
        "production_check": (
            "python3 -m venv .prod"
            " && .prod/bin/pip install --quiet --no-deps --require-hashes -r requirements.lock"
            " && .prod/bin/pip check && .prod/bin/python -c 'import service.main, service.__main__'"
        ),
        # What `make lock` writes (the build tier proves it rewrites nothing in a fresh project).
        "lockfiles": ["requirements.lock"],
        # Renovate's managers beyond its defaults: pip-compile re-runs `make lock`'s uv command (read
        # from the lockfile's header) on a pyproject.toml update and for lock file maintenance.
        "renovate": {"pip-compile": {"managerFilePatterns": ["/(^|/)requirements\\.lock$/"]}},
        # What in them is a file's digest (one group): `make install` must refuse a changed one.
        "integrity": {"digest": r"--hash=sha256:([0-9a-f]{64})"},
        # pyproject.toml's ranges, per part; requirements.lock is cut from extensions/python-lock.json,
        # one uv resolution of every part together (scripts/python_lock.py regenerates it after a
        # change). The dev tools are not locked: they never reach the image.
        "packages": {
            "base": [
                "fastapi>=0.165,<1",
                "uvicorn>=0.30,<1",
                "prometheus-client>=0.20,<1",
                "ecs-logging>=2.2,<3",
            ],
            "postgres": ["psycopg[binary,pool]>=3.2,<4"],
            "mongodb": ["pymongo>=4.9,<5"],
            "redis": ["redis>=5.0.1,<9"],
            "memcached": ["pymemcache>=4,<5"],
            "kafka": ["aiokafka>=0.11,<1"],
            "rabbitmq": ["aio-pika>=9.4,<11"],
            "observability": [
                "opentelemetry-sdk>=1.27,<2",
                "opentelemetry-exporter-otlp-proto-http>=1.27,<2",
            ],
            # uv writes requirements.lock (`make lock`).
            "dev": ["httpx2>=2.16,<3", "pytest>=8,<10", "ruff>=0.6,<1", "uv>=0.13,<1"],
        },
        # The dev container (.devcontainer/): Microsoft's image for the toolchain, and the editor's
        # extensions for the app's language, linter and formatter.
        "devcontainer": {
            "image": "mcr.microsoft.com/devcontainers/python:1-3.13-bookworm",
            "extensions": ["ms-python.python", "charliermarsh.ruff"],
        },
        "available": True,
    },
    "node": {
        "label": "Node.js",
        "prerequisites": "Node.js 22.22 or newer with npm",
        "version": "22",
        # npm installs the packages on the Node image; they run on distroless's Node 22 (node at
        # /nodejs/bin/node, no shell, no npm). Renovate keeps both on the 22 line, pinned by digest.
        "build_image": "node:22.23.3-bookworm-slim",
        "run_image": "gcr.io/distroless/nodejs22-debian13:nonroot",
        "processes": (
            "`WEB_CONCURRENCY` worker processes (`node:cluster`) on the one port (default 1), each with "
            "its own pools; the primary sums their metrics (prom-client's `AggregatorRegistry`)"
        ),
        "tmp_dirs": ["/tmp"],
        # One event loop serves one core: the app runs this many processes (node:cluster), and every
        # orchestrator sets it to the container's CPU limit in whole cores, rounded up.
        "workers_env": "WEB_CONCURRENCY",
        "services": ["postgres", "mongodb", "redis", "memcached", "kafka", "rabbitmq"],
        # The image's own health check, exec form, as compose and Swarm run it too ({port_env}, {path}):
        # the runtime image has no curl or shell, so node itself makes the request.
        "healthcheck": ["/nodejs/bin/node", "src/healthcheck.js", "{path}"],
        "migrate_command": ["/nodejs/bin/node", "src/migrate.js"],
        "traces": True,
        # How tests and benchmarks run the installed app (`make install`) in app/ on this machine:
        # the server and the migration step, after `build` if any ({binary}: a path outside the
        # project). And the exit code of a clean stop on SIGTERM.
        "local": {
            "server": ["node", "src/server.js"],
            "migrate": ["node", "src/migrate.js"],
            # npm's defaults, whatever this machine's npmrc says (it omits the lockfile's `resolved`).
            "env": {"npm_config_omit_lockfile_registry_resolved": "false"},
        },
        "stop_exit_code": 0,
        # The generated CI's toolchain: GitHub's setup action and its inputs ({version}: the runtime's
        # version); GitLab's dependency cache (variables pointing the tool's cache into the project,
        # keyed on a lockfile). GitLab runs the job in build_image, which has the toolchain.
        "ci_toolchain": {
            "setup": {
                "action": "actions/setup-node",
                "with": {
                    "node-version": "{version}",
                    "cache": "npm",
                    "cache-dependency-path": "app/package-lock.json",
                },
            },
            "cache": {
                "variables": {"npm_config_cache": "$CI_PROJECT_DIR/.cache/npm"},
                "key": "app/package-lock.json",
                "paths": [".cache/npm"],
            },
        },
        # The recipes of scripts/standin_bases.py that stand in for build_image and run_image here
        # (no container registry is reachable: the tests build these bases locally).
        "standins": {"build_image": "node", "run_image": "distroless-node"},
        "lock_renderer": "npm_lock.py",
        "bench": {
            "start_seconds": 1.0,
            "ready_seconds": 1.0,
            "source_edit": ["src/server.js", "// edit {i}\n"],
            "bare": {"link": ["node_modules"], "run": ["node", "bare.mjs"]},
        },
        "commands": {
            "install": "npm ci",
            "lint": "npm run lint",
            "test": "npm test",
            "run": "node src/server.js",
            "migrate": "node src/migrate.js",
            "lock": "npm install --package-lock-only --ignore-scripts",
        },
        "lockfiles": ["package-lock.json"],
        # The image runs `npm ci --omit=dev`: no dev package may arrive, and the production packages
        # alone must load every module but the entry points, which start something when imported.
        "production_check": (
            "npm ci --omit=dev --ignore-scripts --no-audit --no-fund"
            " && test ! -e node_modules/eslint && test ! -e node_modules/prettier"
            " && node --input-type=module -e '"
            'import { readdirSync } from "node:fs";'
            ' const entry = new Set(["server.js", "healthcheck.js", "migrate.js"]);'
            ' for (const f of readdirSync("src", { recursive: true }))'
            ' if (f.endsWith(".js") && !entry.has(f)) await import(`./src/${f}`);'
            "'"
        ),
        # npm retries a refused download for minutes; the test of a changed digest asks it not to.
        "integrity": {
            "digest": r'"integrity": "sha512-([A-Za-z0-9+/]+=*)"',
            "env": {"npm_config_fetch_retries": "0"},
        },
        # package.json ranges, per part; package-lock.json is cut from extensions/node-lock.json, one
        # lockfile resolved for every part together (scripts/node_lock.py regenerates it after a change).
        "npm": {
            # Fastify: routing, JSON Schema body validation (Ajv) and pino logging in one framework;
            # Elastic's ECS formatter for pino writes the contract's log schema.
            "base": {
                "fastify": "^5.12.8",
                "pino": "^10.4.0",
                "@elastic/ecs-pino-format": "^1.5.0",
                "prom-client": "^15.1.3",
            },
            "postgres": {"pg": "^8.23.1"},
            "mongodb": {"mongodb": "^7.9.1"},
            "redis": {"redis": "^6.3.1"},
            "memcached": {"memjs": "^1.3.2"},
            # @platformatic/kafka: a maintained pure-JavaScript client (KafkaJS, the most used one,
            # has had no release since 2023; Confluent's needs native librdkafka binaries).
            "kafka": {"@platformatic/kafka": "^2.12.1"},
            # amqplib with amqp-connection-manager: reconnects and re-declares after a broker restart.
            "rabbitmq": {"amqplib": "^2.3.1", "amqp-connection-manager": "^5.0.0"},
            # Traces over OTLP/HTTP: the 2.x SDK line (the 3.x line needs Node >= 22.15, and its
            # tracer SDK accepts @opentelemetry/api below 1.10 only, hence ~1.9).
            "observability": {
                "@fastify/otel": "^0.21.2",
                "@opentelemetry/api": "~1.9.1",
                "@opentelemetry/context-async-hooks": "^2.12.0",
                "@opentelemetry/core": "^2.12.1",
                "@opentelemetry/exporter-trace-otlp-http": "^0.223.1",
                "@opentelemetry/resources": "^2.12.1",
                "@opentelemetry/sdk-trace": "^2.12.1",
            },
            "dev": {
                "@eslint/js": "^10.0.1",
                "eslint": "^10.15.0",
                "globals": "^17.14.0",
                "prettier": "^3.10.1",
            },
        },
        # The image's release line and newer (Node.js 20 reached its end of life in April 2026), from
        # the release @platformatic/kafka needs.
        "engines": ">=22.22",
        "devcontainer": {
            "image": "mcr.microsoft.com/devcontainers/javascript-node:1-22-bookworm",
            "extensions": ["dbaeumer.vscode-eslint", "esbenp.prettier-vscode"],
        },
        "available": True,
    },
    "go": {
        "label": "Go",
        "prerequisites": "Go 1.26",
        "version": "1.26",
        "build_image": "golang:1.26.6-bookworm",
        "run_image": "gcr.io/distroless/static-debian13:nonroot",
        # The image's own health check ({path}): the distroless image has no shell or curl; the binary
        # requests the path itself.
        "healthcheck": ["/app", "-healthcheck={path}"],
        "processes": "one process; Go (1.25 and later) sets `GOMAXPROCS` from the container's CPU limit",
        "tmp_dirs": ["/tmp"],
        "services": ["postgres", "mongodb", "redis", "memcached", "kafka", "rabbitmq"],
        # The image's ENTRYPOINT with -migrate: the schema migration step instead of the server.
        "migrate_command": ["/app", "-migrate"],
        # The OpenTelemetry Go SDK (otelhttp, otlptracehttp).
        "traces": True,
        # The modules each part imports, at the versions go.mod pins (scripts/go_lock.py resolves
        # everything they need into go-lock.json; edit a pin here, then rerun it).
        "go_modules": {
            "base": {"github.com/prometheus/client_golang": "v1.25.0"},
            "observability": {
                "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp": "v0.72.0",
                "go.opentelemetry.io/otel": "v1.47.0",
                "go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp": "v1.47.0",
                "go.opentelemetry.io/otel/sdk": "v1.47.0",
                "go.opentelemetry.io/otel/trace": "v1.47.0",
            },
            "postgres": {"github.com/jackc/pgx/v5": "v5.13.0"},
            "mongodb": {"go.mongodb.org/mongo-driver/v2": "v2.10.0"},
            "redis": {"github.com/redis/go-redis/v9": "v9.23.0"},
            "memcached": {"github.com/bradfitz/gomemcache": "v0.0.0-20260422231931-4d751bb6e37c"},
            "kafka": {"github.com/IBM/sarama": "v1.61.1"},
            "rabbitmq": {"github.com/rabbitmq/amqp091-go": "v1.17.0"},
        },
        # Developer tools, pinned in go.mod's `tool` block and run with `go tool NAME`.
        "go_tools": {"honnef.co/go/tools/cmd/staticcheck": "v0.7.0"},
        # How tests and benchmarks run the installed app (`make install`) in app/ on this machine:
        # the server and the migration step, after `build` if any ({binary}: a path outside the
        # project). And the exit code of a clean stop on SIGTERM.
        "local": {
            "build": ["go", "build", "-o", "{binary}", "."],
            "server": ["{binary}"],
            "migrate": ["{binary}", "-migrate"],
        },
        "stop_exit_code": 0,
        # The generated CI's toolchain: GitHub's setup action and its inputs ({version}: the runtime's
        # version); GitLab's dependency cache (variables pointing the tool's cache into the project,
        # keyed on a lockfile). GitLab runs the job in build_image, which has the toolchain.
        "ci_toolchain": {
            "setup": {"action": "actions/setup-go", "with": {"go-version-file": "app/go.mod"}},
            "cache": {
                "variables": {
                    "GOMODCACHE": "$CI_PROJECT_DIR/.cache/go/mod",
                    "GOCACHE": "$CI_PROJECT_DIR/.cache/go/build",
                },
                "key": "app/go.sum",
                "paths": [".cache/go"],
            },
        },
        # The recipes of scripts/standin_bases.py that stand in for build_image and run_image here
        # (no container registry is reachable: the tests build these bases locally).
        "standins": {"build_image": "golang", "run_image": "distroless-static"},
        "lock_renderer": "go_lock.py",
        "bench": {
            "start_seconds": 0.2,
            "ready_seconds": 1.0,
            "source_edit": ["main.go", "// edit {i}\n"],
            "bare": {"build": ["go", "build", "-o", "bare", "."], "run": ["./bare"]},
        },
        "commands": {
            "install": "go mod download",
            "lint": 'go vet ./... && test -z "$$(gofmt -l .)" && go tool staticcheck ./...',
            "test": "go test ./...",
            "run": "go run .",
            "migrate": "go run . -migrate",
            "lock": "go mod tidy",
        },
        "lockfiles": ["go.mod", "go.sum"],
        "integrity": {"digest": r" h1:([A-Za-z0-9+/]+=*)"},
        "devcontainer": {
            "image": "mcr.microsoft.com/devcontainers/go:1-1.26-bookworm",
            "extensions": ["golang.go"],
        },
        "available": True,
    },
    "java": {
        "label": "Java",
        "prerequisites": "a JDK 17 or newer and Maven 3.9 or newer",
        # The LTS release Debian 12 builds (openjdk-17) and Spring Boot 4 supports.
        "version": "17",
        "build_image": "maven:3.9.9-eclipse-temurin-17",
        # Distroless's Java 17 runtime (Temurin): no shell, no package manager.
        "run_image": "gcr.io/distroless/java17-debian13:nonroot",
        "processes": "one JVM; it sizes its thread pools and its garbage collector from the CPU limit",
        "tmp_dirs": ["/tmp"],
        # The image's own health check ({package}, {path}): the runtime image has no shell or curl, so
        # a JVM runs the app's Healthcheck class (no Spring, C1 only: a fraction of a second).
        "healthcheck": [
            "java",
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            "-Xmx16m",
            "-cp",
            "/app/app.jar",
            "{package}.Healthcheck",
            "{path}",
        ],
        # The image's ENTRYPOINT; with the argument `migrate` it runs the schema migration instead.
        "entrypoint": JAVA_ENTRYPOINT,
        # Micrometer Tracing on the OpenTelemetry SDK (spring-boot-starter-opentelemetry).
        "traces": True,
        # Spring Boot with every data service's client resides in about 360 MB with a 192 MB heap,
        # and starts in seconds on one core: more than RESOURCES gives the other runtimes.
        "resources": {
            "requests": {"cpu": "250m", "memory": "512Mi"},
            "limits": {"cpu": "1", "memory": "768Mi"},
        },
        "migrate_command": [*JAVA_ENTRYPOINT, "migrate"],
        "services": ["postgres", "mongodb", "redis", "memcached", "kafka", "rabbitmq"],
        # Spring Boot's parent POM: its BOM pins every Spring, Micrometer, OpenTelemetry, driver and
        # test dependency version (the 4.1 line: supported until mid-2027).
        "spring_boot": "4.1.2",
        # BOM properties overridden: Boot 4.1.2's Netty (Lettuce's transport) is not yet on every
        # mirror; 4.2.18.Final is the same 4.2 line.
        "bom_overrides": {"netty.version": "4.2.18.Final"},
        # Per data service, what the app adds to Spring Boot's BOM (a version only where the BOM
        # has none), and the Actuator health contributor that becomes its readiness check.
        "maven": {
            "postgres": [
                {"group": "org.springframework.boot", "artifact": "spring-boot-starter-jdbc"},
                {"group": "org.springframework.boot", "artifact": "spring-boot-starter-flyway"},
                {"group": "org.flywaydb", "artifact": "flyway-database-postgresql"},
                {"group": "org.postgresql", "artifact": "postgresql", "scope": "runtime"},
            ],
            "mongodb": [
                {"group": "org.springframework.boot", "artifact": "spring-boot-starter-data-mongodb"}
            ],
            "redis": [{"group": "org.springframework.boot", "artifact": "spring-boot-starter-data-redis"}],
            # XMemcached: the maintained Java memcached client (Spring Boot has no starter).
            "memcached": [
                {"group": "com.googlecode.xmemcached", "artifact": "xmemcached", "version": "2.4.9"}
            ],
            "kafka": [{"group": "org.springframework.boot", "artifact": "spring-boot-starter-kafka"}],
            "rabbitmq": [{"group": "org.springframework.boot", "artifact": "spring-boot-starter-amqp"}],
        },
        # Per data service, the library the app uses (its README's table).
        "libraries": {
            "postgres": "`JdbcTemplate` on HikariCP; Flyway migrations in `src/main/resources/db/migration`",
            "mongodb": "Spring Data MongoDB (`MongoTemplate`)",
            "redis": "Spring Data Redis on Lettuce (`StringRedisTemplate`)",
            "memcached": (
                "XMemcached (Spring Boot has no Memcached support); its readiness check is in "
                "`memcached/Memcached.java`"
            ),
            "kafka": (
                "Spring for Apache Kafka (`KafkaTemplate`, `@KafkaListener`); its readiness check is in "
                "`kafka/KafkaHealth.java`"
            ),
            "rabbitmq": "Spring AMQP (`RabbitTemplate`, `@RabbitListener`)",
        },
        # What runs the migration step, and where a new migration goes.
        "migrations": "Flyway",
        "migration_files": "Flyway files, `V2__...sql`",
        "health_contributors": {
            "postgres": "db",
            "mongodb": "mongo",
            "redis": "redis",
            "memcached": "memcached",
            "kafka": "kafka",
            "rabbitmq": "rabbit",
        },
        # `make lint`: Spotless with google-java-format (the newest release that runs on Java 17).
        "spotless": "3.11.0",
        "google_java_format": "1.28.0",
        # How tests and benchmarks run the installed app (`make install`) in app/ on this machine:
        # the server and the migration step, after `build` if any ({binary}: a path outside the
        # project). And the exit code of a clean stop on SIGTERM (the JVM reports 128 + 15).
        "local": {
            "server": ["java", "-jar", "target/app.jar"],
            "migrate": ["java", "-jar", "target/app.jar", "migrate"],
        },
        "stop_exit_code": 143,
        # The generated CI's toolchain: GitHub's setup action and its inputs ({version}: the runtime's
        # version); GitLab's dependency cache (variables pointing the tool's cache into the project,
        # keyed on a lockfile). GitLab runs the job in build_image, which has the toolchain.
        "ci_toolchain": {
            "setup": {
                "action": "actions/setup-java",
                "with": {"distribution": "temurin", "java-version": "{version}", "cache": "maven"},
            },
            "cache": {
                "variables": {"MAVEN_OPTS": "-Dmaven.repo.local=$CI_PROJECT_DIR/.cache/maven"},
                "key": "app/pom.xml",
                "paths": [".cache/maven"],
            },
        },
        # The recipes of scripts/standin_bases.py that stand in for build_image and run_image here
        # (no container registry is reachable: the tests build these bases locally).
        "standins": {"build_image": "maven", "run_image": "distroless-java"},
        "lock_renderer": "java_lock.py",
        "bench": {
            "start_seconds": 3.0,
            "ready_seconds": 3.0,
            "source_edit": ["src/main/java/**/*.java", "// edit {i}\n"],
            "bare": {
                "build": ["mvn", "-B", "-q", "package", "-DskipTests"],
                "run": ["java", "-jar", "target/app.jar"],
            },
            # Here the JVM would size its heap from the host's memory, in the container from its limit.
            "env": {"JAVA_TOOL_OPTIONS": " ".join(["-XX:MaxRAM={memory_mib}m", *JAVA_FLAGS])},
        },
        "commands": {
            "install": "mvn -B -q package -DskipTests",
            "lint": "mvn -B -q spotless:check verify -DskipTests",
            "test": "mvn -B -q test",
            "run": "java -jar target/app.jar",
            "migrate": "java -jar target/app.jar migrate",
            # Records the SHA-256 of every artifact install, lint and test resolve (.mvn/maven.config
            # has Maven check them on every build); from scratch, so nothing stale stays trusted.
            "lock": (
                "rm -f .mvn/checksums/checksums.sha256 && mvn -B -q "
                "-Daether.artifactResolver.postProcessor.trustedChecksums.record=true spotless:check verify"
            ),
        },
        "lockfiles": [".mvn/checksums/checksums.sha256"],
        "integrity": {"digest": r"(?m)^([0-9a-f]{64})  "},
        # The Java image has the JDK; Maven comes from the dev container feature for Java.
        "devcontainer": {
            "image": "mcr.microsoft.com/devcontainers/java:1-17-bookworm",
            "features": {
                "ghcr.io/devcontainers/features/java:1": {
                    "version": "none",
                    "installMaven": "true",
                    "installGradle": "false",
                }
            },
            "extensions": ["vscjava.vscode-java-pack"],
        },
        "available": True,
    },
}

# The memcached image has no client: ask the server's version over bash's /dev/tcp.
MEMCACHED_PROBE = (
    "exec 3<>/dev/tcp/127.0.0.1/11211 && printf 'version\\r\\n' >&3 && head -c 7 <&3 | grep -q VERSION"
)

# The golden path's data services: the prompt's default (those the chosen runtime supports).
DEFAULT_DATA_SERVICES = ["postgres", "redis"]

DATA_SERVICES: dict[str, dict] = {
    # Order here is the order services appear in every rendered file. Per service:
    #   env            the one variable the app reads its connection from
    #   setting        what that variable holds: a "url", or "addresses" (host:port, comma-separated)
    #   url            its value, with {host}, {port} and {password} filled per environment by context.py
    #   password_var   the variable holding the password in compose (.env) and in the dev Secret
    #   image          pinned image of the local (compose) and in-cluster development instance
    #   dev            how the in-cluster development instance runs (dev overlay, cloud "none")
    #   json_body      whether its real use reads a JSON request body
    "postgres": {
        "resource_type": "database",
        "label": "PostgreSQL",
        "env": "DATABASE_URL",
        "setting": "url",
        "port": 5432,
        "image": "postgres:16.6-bookworm",
        "url": "postgres://app:{password}@{host}:{port}/app?sslmode={tls}",
        "password_var": "POSTGRES_PASSWORD",
        "healthcheck": ["CMD-SHELL", "pg_isready -U app -d app"],
        "container_env": {"POSTGRES_USER": "app", "POSTGRES_DB": "app", "POSTGRES_PASSWORD": "{password}"},
        "command": [],
        "data_dir": "/var/lib/postgresql/data",
        "dev": {
            "uid": 999,
            "writable_dirs": ["/var/run/postgresql", "/tmp"],
            "env": {"PGDATA": "/var/lib/postgresql/data/pgdata"},
            "probe": ["pg_isready", "-U", "app", "-d", "app", "-h", "127.0.0.1"],
            "storage": "1Gi",
            "inherit_container_env": True,
        },
        "use": "a visits table (made by the migration step) numbering visits at POST /api/postgres/visits",
        # The first request to try (the generated README's local walk-through).
        "try": {"method": "POST", "path": "/api/postgres/visits"},
        "needs_migration": True,
        "json_body": False,
        "available": True,
    },
    "mongodb": {
        "resource_type": "database",
        "label": "MongoDB",
        "env": "MONGODB_URL",
        "setting": "url",
        "port": 27017,
        "image": "mongo:7.0.16",
        "url": "mongodb://app:{password}@{host}:{port}/app?authSource=admin",
        "password_var": "MONGO_PASSWORD",
        "healthcheck": ["CMD", "mongosh", "--quiet", "--eval", "db.adminCommand('ping').ok"],
        "container_env": {"MONGO_INITDB_ROOT_USERNAME": "app", "MONGO_INITDB_ROOT_PASSWORD": "{password}"},
        "command": [],
        "data_dir": "/data/db",
        "dev": {
            "uid": 999,
            "writable_dirs": ["/tmp", "/data/configdb"],
            "env": {},
            "probe": ["mongosh", "--quiet", "--eval", "db.adminCommand('ping').ok"],
            "storage": "1Gi",
            "inherit_container_env": True,
        },
        "use": "a notes collection written and counted (from its metadata) at POST /api/mongodb/notes",
        "try": {"method": "POST", "path": "/api/mongodb/notes", "body": {"text": "hello"}},
        "needs_migration": False,
        "json_body": True,
        "available": True,
    },
    "redis": {
        "resource_type": "cache",
        "label": "Redis",
        "env": "REDIS_URL",
        "setting": "url",
        "port": 6379,
        "image": "redis:7.4.1-bookworm",
        "url": "redis://{host}:{port}/0",
        # The managed offerings require TLS and an AUTH token: in the cloud, the URL is a credential.
        "cloud_url": "rediss://:{password}@{host}:6379/0",
        "password_var": None,
        "healthcheck": ["CMD", "redis-cli", "ping"],
        "container_env": {},
        "command": ["redis-server", "--appendonly", "yes"],
        "data_dir": "/data",
        "dev": {
            "uid": 999,
            "writable_dirs": ["/tmp"],
            "env": {},
            "probe": ["redis-cli", "ping"],
            "storage": "1Gi",
            "inherit_container_env": True,
        },
        "use": "a hit counter incremented at POST /api/redis/hits",
        "try": {"method": "POST", "path": "/api/redis/hits"},
        "needs_migration": False,
        "json_body": False,
        "available": True,
    },
    "memcached": {
        "resource_type": "cache",
        "label": "Memcached",
        "env": "MEMCACHED_SERVERS",
        "setting": "addresses",
        "port": 11211,
        "image": "memcached:1.6.32-bookworm",
        "url": "{host}:{port}",
        "password_var": None,
        "healthcheck": ["CMD", "bash", "-c", MEMCACHED_PROBE],
        "container_env": {},
        "command": ["memcached", "--memory-limit=64"],
        "data_dir": None,
        "dev": {
            "uid": 11211,
            "writable_dirs": [],
            "env": {},
            "probe": ["bash", "-c", MEMCACHED_PROBE],
            "storage": None,
            "inherit_container_env": True,
        },
        "use": "a greeting cached for 30 seconds at GET /api/memcached/greeting",
        "try": {"method": "GET", "path": "/api/memcached/greeting"},
        "needs_migration": False,
        "json_body": False,
        "available": True,
    },
    "kafka": {
        "resource_type": "message-broker",
        "label": "Kafka",
        "env": "KAFKA_BROKERS",
        "setting": "addresses",
        "port": 9092,
        "image": "apache/kafka:3.9.0",
        "url": "{host}:{port}",
        # In compose the app talks to the broker's internal listener; the host uses localhost:9092.
        "compose_url": "kafka:19092",
        "password_var": None,
        "healthcheck": [
            "CMD-SHELL",
            "/opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server localhost:9092 > /dev/null",
        ],
        "container_env": {
            "KAFKA_NODE_ID": "1",
            "KAFKA_PROCESS_ROLES": "broker,controller",
            "KAFKA_LISTENERS": "INTERNAL://:19092,EXTERNAL://:9092,CONTROLLER://:9093",
            "KAFKA_ADVERTISED_LISTENERS": "INTERNAL://kafka:19092,EXTERNAL://localhost:9092",
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": (
                "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT"
            ),
            "KAFKA_INTER_BROKER_LISTENER_NAME": "INTERNAL",
            "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
            "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
            "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        },
        "command": [],
        "data_dir": "/var/lib/kafka/data",
        "dev": {
            "uid": 1000,
            "writable_dirs": ["/tmp", "/opt/kafka/logs", "/mnt/shared/config"],
            "env": {
                "KAFKA_NODE_ID": "1",
                "KAFKA_PROCESS_ROLES": "broker,controller",
                "KAFKA_LISTENERS": "PLAINTEXT://:9092,CONTROLLER://:9093",
                "KAFKA_ADVERTISED_LISTENERS": "PLAINTEXT://kafka:9092",
                "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
                "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
                "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
                "KAFKA_LOG_DIRS": "/var/lib/kafka/data",
            },
            "probe": ["/opt/kafka/bin/kafka-broker-api-versions.sh", "--bootstrap-server", "localhost:9092"],
            "storage": "2Gi",
            "inherit_container_env": False,  # compose's two listeners do not apply in the cluster
        },
        "use": "events published at POST /api/kafka/events and consumed in the background",
        "try": {"method": "POST", "path": "/api/kafka/events", "body": {"message": "hello"}},
        "needs_migration": False,
        "json_body": True,
        "available": True,
    },
    "rabbitmq": {
        "resource_type": "message-broker",
        "label": "RabbitMQ",
        "env": "RABBITMQ_URL",
        "setting": "url",
        "port": 5672,
        "image": "rabbitmq:4.0.4",
        "url": "amqp://app:{password}@{host}:{port}/",
        "password_var": "RABBITMQ_PASSWORD",
        "healthcheck": ["CMD", "rabbitmq-diagnostics", "-q", "ping"],
        "container_env": {"RABBITMQ_DEFAULT_USER": "app", "RABBITMQ_DEFAULT_PASS": "{password}"},
        "command": [],
        "data_dir": "/var/lib/rabbitmq",
        "dev": {
            "uid": 999,
            "writable_dirs": ["/tmp"],
            "env": {},
            "probe": ["rabbitmq-diagnostics", "-q", "ping"],
            "storage": "1Gi",
            "inherit_container_env": True,
        },
        "use": "events published at POST /api/rabbitmq/events and consumed in the background",
        "try": {"method": "POST", "path": "/api/rabbitmq/events", "body": {"message": "hello"}},
        "needs_migration": False,
        "json_body": True,
        "available": True,
    },
}

ORCHESTRATORS: dict[str, dict] = {
    # Per orchestrator: where its files live, where the schema migration runs, and `make manifests`
    # (help and command; context.py fills in {slug} and {release}) to check the files offline.
    "kubernetes": {
        "label": "Kubernetes (Kustomize)",
        "deploy_dir": "deploy/kubernetes",
        "migration": "an initContainer in Kubernetes",
        "manifests": {
            "help": "Print the dev overlay's manifests",
            "command": "kubectl kustomize deploy/kubernetes/overlays/dev",
        },
        "available": True,
    },
    "helm": {
        "label": "Helm chart",
        "deploy_dir": "deploy/helm",
        "migration": "an initContainer of the chart's Deployment",
        "manifests": {
            "help": "Lint the chart and print its manifests",
            "command": "helm lint --strict deploy/helm/{slug} && helm template {release} deploy/helm/{slug}",
        },
        # Image of the chart's `helm test` pod (wget against the app's readiness endpoint).
        "test_image": "busybox:1.37.0",
        "available": True,
    },
    "nomad": {
        "label": "Nomad job",
        "deploy_dir": "deploy/nomad",
        "migration": "a prestart task of the Nomad job",
        "manifests": {
            "help": "Check the Nomad job's format and validate it",
            "command": "nomad fmt -check deploy/nomad && nomad job validate deploy/nomad/{slug}.nomad.hcl",
        },
        "available": True,
        # On a cloud: virtual machines that form the cluster at boot. `control` keeps the quorum (a
        # fixed three), `workers` run the app (autoscaled, behind the load balancer); `ports` are
        # what the nodes open to each other.
        "vms": {
            "label": "Nomad",
            "control": "server",
            "workers": "client",
            "app_on_control": False,
            "ports": {"tcp": [4646, 4647, 4648], "udp": [4648]},
            # what the nodes share through the cloud's secret store while they form the cluster
            "shared": ["gossip-key"],
            "api": "http://127.0.0.1:4646",
        },
    },
    "swarm": {
        "label": "Docker Swarm stack",
        "deploy_dir": "deploy/swarm",
        "migration": "a one-off job service (replicated-job) of the Swarm stack",
        "manifests": {
            "help": "Print the Swarm stack as it will be deployed",
            "command": "docker stack config --compose-file deploy/swarm/stack.yaml",
        },
        "available": True,
        "vms": {
            "label": "Docker Swarm",
            "control": "manager",
            "workers": "worker",
            # the routing mesh publishes the app's port on every node, managers included
            "app_on_control": True,
            "ports": {"tcp": [2377, 7946], "udp": [7946, 4789]},
            "shared": ["founder", "manager-token", "worker-token"],
            "api": "unix:///var/run/docker.sock",
        },
    },
}

CLOUDS: dict[str, dict] = {
    # `terraform`: the facts infra/terraform/ reads, so every cloud renders the same variables and
    # outputs. `services`: the cloud's offering for each data service; `managed: False` means none
    # exists and the service runs in the cluster (Terraform then keeps only its credentials).
    # `auth` is how the app authenticates: "password" (in the cloud's secret store), "iam" (the
    # app's workload identity, no secret) or "none" (network isolation only).
    "none": {"label": "None (local cluster)", "available": True},
    "aws": {
        "label": "AWS (EKS, ECR, RDS)",
        "available": True,
        "terraform": {
            "name": "AWS",
            "providers": [{"name": "aws", "source": "hashicorp/aws", "version": "~> 5.100"}],
            "kubernetes": "Amazon EKS",
            "registry": "Amazon ECR (immutable tags, scanned on push)",
            "network": "VPC with private subnets in three zones and one NAT gateway",
            "secret_store": "AWS Secrets Manager",
            "secret_scope": "account and region",
            "encryption": "a customer-managed AWS KMS key (yearly rotation)",
            "workload_identity": "IAM Roles for Service Accounts (IRSA)",
            "workload_identity_note": "",
            "ci_identity": "an IAM role trusted through the CI system's OIDC provider",
            "state_backend": "an S3 bucket with a DynamoDB lock table",
            "region": {"default": "us-east-1", "pattern": "^[a-z]{2}(-gov)?-[a-z]+-[0-9]$"},
            "account": {"what": "AWS account ID", "pattern": "^[0-9]{12}$", "example": "123456789012"},
            "node_instance_type": "m6i.large",
            # Nomad and Swarm run on virtual machines that form the cluster at boot (cloud-init).
            "vms": {
                "compute": "EC2 Auto Scaling groups of Amazon Linux 2023",
                "access": "Session Manager (no SSH, no open port)",
                "load_balancer": "an internal Network Load Balancer, port 80 to the app's port",
                "identity": "the nodes' instance role (IMDSv2), which the app's containers use",
                # The deploy walkthrough (README "On AWS"): sign Docker in to the registry, read a
                # secret ({name}), and reach a Swarm manager's Docker (`swarm_access`, with $cluster
                # the cluster's name; every Docker command is then prefixed with `swarm_prefix`).
                "registry_login": (
                    "aws ecr get-login-password |"
                    ' docker login --username AWS --password-stdin "${registry%%/*}"'
                ),
                "read_secret": (
                    "aws secretsmanager get-secret-value --secret-id {name}"
                    " --query SecretString --output text"
                ),
                "swarm_access": [
                    "# Docker on a manager, over SSH through Session Manager (no open port, no stored key):",
                    "# EC2 Instance Connect admits your key for 60 seconds.",
                    "# ~/.ssh/config: Host i-*",
                    "#   ProxyCommand aws ssm start-session --target %h"
                    " --document-name AWS-StartSSHSession --parameters portNumber=%p",
                    'manager="$(aws ec2 describe-instances \\',
                    '  --filters Name=tag:swarm-cluster,Values="$cluster" Name=tag:role,Values=manager \\',
                    "  Name=instance-state-name,Values=running \\",
                    "  --query 'Reservations[0].Instances[0].InstanceId' --output text)\"",
                    "aws ec2-instance-connect send-ssh-public-key"
                    ' --instance-id "$manager" --instance-os-user ec2-user \\',
                    '  --ssh-public-key "file://$HOME/.ssh/id_ed25519.pub"',
                    'export DOCKER_HOST="ssh://ec2-user@$manager"',
                ],
                "swarm_prefix": "",
                "first_apply": (
                    "An account that never used EC2 Auto Scaling creates its service-linked role before the"
                    " first\napply (`aws iam create-service-linked-role --aws-service-name"
                    " autoscaling.amazonaws.com`): the\nnodes' disks are encrypted with the KMS key, and"
                    " `vms.tf` grants that role its use."
                ),
            },
            "ci": {
                "action": "aws-actions/configure-aws-credentials",
                "inputs": {"role-to-assume": "AWS_ROLE_ARN", "aws-region": "AWS_REGION"},
                "env": {},
                "env_from_vars": {},
                "note": "",
                # GitLab CI: the job's ID token (`token`, for `audience`) becomes the provider's
                # credentials through `script`; `env_from_vars` and the CI/CD variables do the rest.
                "gitlab": {
                    "token": "OIDC_TOKEN",
                    "audience": "sts.amazonaws.com",
                    "script": [
                        "printf '%s' \"$OIDC_TOKEN\" > /tmp/oidc-token",
                        # with AWS_ROLE_ARN set, the provider assumes the role with this token
                        "export AWS_WEB_IDENTITY_TOKEN_FILE=/tmp/oidc-token",
                    ],
                },
            },
            "login": "aws sso login",
            # What enforces each control the Kubernetes manifests declare (README, per cloud).
            "enforcement": {
                "network_policy": "the VPC CNI managed add-on with `enableNetworkPolicy`",
                "workload_identity": "IRSA: the app's IAM role trusts only its ServiceAccount",
                "encryption": "Secrets envelope-encrypted with the KMS key, node volumes too",
            },
        },
        "services": {
            "postgres": {"offering": "Amazon RDS for PostgreSQL", "managed": True, "auth": "password"},
            "mongodb": {"offering": "Amazon DocumentDB (MongoDB API)", "managed": True, "auth": "password"},
            "redis": {"offering": "Amazon ElastiCache for Redis", "managed": True, "auth": "password"},
            "memcached": {"offering": "Amazon ElastiCache for Memcached", "managed": True, "auth": "none"},
            "kafka": {"offering": "Amazon MSK (IAM auth)", "managed": True, "auth": "iam"},
            "rabbitmq": {"offering": "Amazon MQ for RabbitMQ", "managed": True, "auth": "password"},
        },
    },
    "gcp": {
        "label": "Google Cloud (GKE, Artifact Registry, Cloud SQL)",
        "available": True,
        "terraform": {
            "name": "Google Cloud",
            "providers": [
                {"name": "google", "source": "hashicorp/google", "version": "~> 6.36"},
                {"name": "google-beta", "source": "hashicorp/google-beta", "version": "~> 6.36"},
                # only when a data service's password is generated by Terraform (`needs` below)
                {"name": "random", "source": "hashicorp/random", "version": "~> 3.7", "optional": True},
            ],
            "kubernetes": "Google Kubernetes Engine (GKE)",
            "registry": "Artifact Registry (immutable tags)",
            "network": "VPC with one private subnet, Cloud NAT and private service access",
            "secret_store": "Secret Manager",
            "secret_scope": "project",
            "encryption": "a Cloud KMS key (90-day rotation)",
            "workload_identity": "GKE Workload Identity",
            "workload_identity_note": "",
            "ci_identity": "a service account behind a Workload Identity Federation pool",
            "state_backend": "a GCS bucket (locking built in)",
            "region": {"default": "us-central1", "pattern": "^[a-z]+-[a-z]+[0-9]+$"},
            "account": {
                "what": "Google Cloud project ID",
                "pattern": "^[a-z][a-z0-9-]{4,28}[a-z0-9]$",
                "example": "acme-prod-1234",
            },
            "node_instance_type": "e2-standard-4",
            "vms": {
                "compute": "regional managed instance groups of Ubuntu 24.04 LTS",
                "access": "IAP TCP forwarding and OS Login (no public address, no stored key)",
                "load_balancer": "an internal passthrough Network Load Balancer on the app's port",
                "identity": "the app's service account, which the nodes run as (metadata server)",
                "registry_login": 'gcloud auth configure-docker "${registry%%/*}"',
                "read_secret": "gcloud secrets versions access latest --secret {name}",
                "swarm_access": [
                    "# Commands as root on a running manager, through IAP; OS Login admits you",
                    "# (roles/compute.osAdminLogin) and the command reads this shell's input.",
                    "on_manager() {",
                    "  local name zone",
                    "  read -r name zone < <(gcloud compute instances list --limit 1 \\",
                    '    --filter "labels.swarm-cluster=$cluster AND labels.role=manager'
                    ' AND status=RUNNING" \\',
                    '    --format "value(name,zone.basename())")',
                    '  gcloud compute ssh "$name" --zone "$zone" --tunnel-through-iap \\',
                    '    --command "sudo $(printf \'%q \' "$@")"',
                    "}",
                ],
                "swarm_prefix": "on_manager ",
                "first_apply": "",
            },
            "ci": {
                "action": "google-github-actions/auth",
                "inputs": {
                    "workload_identity_provider": "GCP_WORKLOAD_IDENTITY_PROVIDER",
                    "service_account": "GCP_SERVICE_ACCOUNT",
                },
                "env": {},
                "env_from_vars": {},
                "note": "",
                "gitlab": {
                    "token": "OIDC_TOKEN",
                    "audience": "https://iam.googleapis.com/${GCP_WORKLOAD_IDENTITY_PROVIDER}",
                    # a Workload Identity Federation credential file that reads the token
                    "script": [
                        "printf '%s' \"$OIDC_TOKEN\" > /tmp/oidc-token",
                        "iam=https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts",
                        """cat > /tmp/gcp-credentials.json <<EOF
{
  "type": "external_account",
  "audience": "//iam.googleapis.com/$GCP_WORKLOAD_IDENTITY_PROVIDER",
  "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
  "token_url": "https://sts.googleapis.com/v1/token",
  "credential_source": {"file": "/tmp/oidc-token"},
  "service_account_impersonation_url": "$iam/$GCP_SERVICE_ACCOUNT:generateAccessToken"
}
EOF""",
                        "export GOOGLE_APPLICATION_CREDENTIALS=/tmp/gcp-credentials.json",
                    ],
                },
            },
            "login": "gcloud auth application-default login",
            "enforcement": {
                "network_policy": "GKE Dataplane V2 (`ADVANCED_DATAPATH`)",
                "workload_identity": "GKE Workload Identity (`GKE_METADATA` on every node)",
                "encryption": "application-layer Secrets encryption with the Cloud KMS key",
            },
        },
        "services": {
            "postgres": {
                "offering": "Cloud SQL for PostgreSQL",
                "managed": True,
                "auth": "password",
                "needs": ["random"],
            },
            "mongodb": {
                "offering": "in-cluster MongoDB",
                "managed": False,
                "auth": "password",
                "why": "Google Cloud has no managed MongoDB (MongoDB Atlas is a separate contract)",
                "needs": ["random"],
            },
            "redis": {"offering": "Memorystore for Redis", "managed": True, "auth": "password"},
            "memcached": {"offering": "Memorystore for Memcached", "managed": True, "auth": "none"},
            "kafka": {"offering": "Managed Service for Apache Kafka", "managed": True, "auth": "iam"},
            "rabbitmq": {
                "offering": "in-cluster RabbitMQ",
                "managed": False,
                "auth": "password",
                "why": "Google Cloud has no managed RabbitMQ",
                "needs": ["random"],
            },
        },
    },
    "azure": {
        "label": "Azure (AKS, ACR, Azure Database)",
        "available": True,
        "terraform": {
            "name": "Azure",
            "providers": [
                {"name": "azurerm", "source": "hashicorp/azurerm", "version": "~> 4.30"},
                {"name": "random", "source": "hashicorp/random", "version": "~> 3.7"},
                # only on virtual machines (`vms.needs`)
                {"name": "tls", "source": "hashicorp/tls", "version": "~> 4.1", "optional": True},
            ],
            "kubernetes": "Azure Kubernetes Service (AKS)",
            "registry": "Azure Container Registry (Premium, Entra ID sign-in only)",
            "network": "VNet with private subnets and a NAT gateway",
            "secret_store": "Azure Key Vault",
            "secret_scope": "Key Vault (one per deployment)",
            "encryption": "platform-managed keys; Key Vault keys for AKS secrets (yearly rotation)",
            "workload_identity": "Microsoft Entra Workload ID",
            "workload_identity_note": 'Its pods also need the label `azure.workload.identity/use: "true"`.',
            "ci_identity": "a user-assigned managed identity with a federated credential",
            "state_backend": "an Azure Storage blob container (lease locking built in)",
            "region": {"default": "eastus2", "pattern": "^[a-z]+[0-9]?$"},
            "account": {
                "what": "Azure subscription ID",
                "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
                "example": "00000000-0000-0000-0000-000000000000",
            },
            "node_instance_type": "Standard_D4s_v5",
            "vms": {
                "compute": "Uniform virtual machine scale sets of Ubuntu 24.04 LTS in three zones",
                "access": "Azure Bastion with Microsoft Entra ID sign-in (no public address, no stored key)",
                "load_balancer": "an internal Standard Load Balancer, port 80 to the app's port",
                "identity": "the app's user-assigned managed identity, which the nodes carry (IMDS)",
                "encryption": "platform-managed keys; node disks encrypted at the host as well",
                # Scale sets need an SSH key; sign-in is Entra ID, so nobody holds it (tls_private_key).
                "needs": ["tls"],
                "registry_login": 'az acr login --name "${registry%%.*}"',
                "read_secret": (
                    "az keyvault secret show --id"
                    ' "$(terraform -chdir=infra/terraform output -raw {key}_credentials_secret)"'
                    " --query value --output tsv"
                ),
                "swarm_access": [
                    "# Commands as root on a running manager, over SSH through Azure Bastion with your",
                    "# Entra ID (role Virtual Machine Administrator Login; `az extension add --name ssh`);",
                    "# the command reads this shell's input.",
                    'connect="$(terraform -chdir=infra/terraform output -raw connect_command)"',
                    "on_manager() {",
                    "  local remote",
                    '  remote="sudo $(printf \'%q \' "$@")"',
                    '  eval "$connect -- $(printf \'%q\' "$remote")"',
                    "}",
                ],
                "swarm_prefix": "on_manager ",
                "first_apply": (
                    "Nodes encrypt their disks at the host: register the feature once per subscription"
                    "\n(`az feature register --namespace Microsoft.Compute --name EncryptionAtHost`)."
                ),
            },
            "ci": {
                "action": "azure/login",
                "inputs": {
                    "client-id": "AZURE_CLIENT_ID",
                    "tenant-id": "AZURE_TENANT_ID",
                    "subscription-id": "AZURE_SUBSCRIPTION_ID",
                },
                # azurerm fetches the OIDC token itself: tell it to, and which identity to be.
                "env": {"ARM_USE_OIDC": "true"},
                "env_from_vars": {
                    "ARM_CLIENT_ID": "AZURE_CLIENT_ID",
                    "ARM_TENANT_ID": "AZURE_TENANT_ID",
                    "ARM_SUBSCRIPTION_ID": "AZURE_SUBSCRIPTION_ID",
                },
                "note": (
                    "Plan reads Key Vault secrets, and the vault's firewall admits only `admin_cidrs`: "
                    "run the plan job on a self-hosted runner inside the VNet or from an admitted address."
                ),
                # azurerm reads the ID token from ARM_OIDC_TOKEN itself.
                "gitlab": {"token": "ARM_OIDC_TOKEN", "audience": "api://AzureADTokenExchange", "script": []},
            },
            "login": "az login",
            "enforcement": {
                "network_policy": 'Azure CNI powered by Cilium (`network_policy = "cilium"`)',
                "workload_identity": "Workload Identity: a federated credential for the ServiceAccount",
                "encryption": "KMS etcd encryption with a Key Vault key; host encryption of node disks",
            },
        },
        "services": {
            "postgres": {
                "offering": "Azure Database for PostgreSQL flexible server",
                "managed": True,
                "auth": "password",
            },
            "mongodb": {"offering": "Azure Cosmos DB for MongoDB", "managed": True, "auth": "password"},
            "redis": {"offering": "Azure Cache for Redis", "managed": True, "auth": "password"},
            "memcached": {
                "offering": "in-cluster Memcached",
                "managed": False,
                "auth": "none",
                "why": "Azure has no managed Memcached (Azure Cache for Redis is its managed cache)",
            },
            "kafka": {"offering": "Azure Event Hubs (Kafka endpoint)", "managed": True, "auth": "iam"},
            "rabbitmq": {
                "offering": "in-cluster RabbitMQ",
                "managed": False,
                "auth": "password",
                "why": "Azure has no managed RabbitMQ",
            },
        },
    },
}

GITHUB_ACTIONS: dict[str, tuple[str, str]] = {
    # What the generated workflow uses, pinned to the commit of a release (a tag can be moved, a
    # commit cannot); the comment names the release, and Renovate moves both together.
    "actions/checkout": ("34e114876b0b11c390a56381ad16ebd13914f8d5", "v4.3.1"),
    "actions/setup-python": ("a26af69be951a213d495a4c3e4e4022e16d87065", "v5.6.0"),
    "actions/setup-node": ("49933ea5288caeca8642d1e84afbd3f7d6820020", "v4.4.0"),
    "actions/setup-go": ("d35c59abb061a4a6fb18e82ac0862c26744d6ab5", "v5.5.0"),
    "actions/setup-java": ("c5195efecf7bdfc987ee8bae7a71cb8b11521c00", "v4.7.1"),
    "actions/attest-build-provenance": ("e8998f949152b193b063cb0ec769d69d929409be", "v2.4.0"),
    "azure/setup-helm": ("1a275c3b69536ee54be43f2070a358922e12c8d4", "v4.3.1"),
    "hashicorp/setup-terraform": ("b9cd54a3c349d3f38e8881555d616ced269862dd", "v3.1.2"),
    "aws-actions/configure-aws-credentials": ("7474bc4690e29a8392af63c5b98e7449536d5c3a", "v4.3.1"),
    "google-github-actions/auth": ("ba79af03959ebeac9769e648f473a284504d9193", "v2.1.10"),
    "azure/login": ("a457da9ea143d694b1b9c7c869ebb04ebe844ef5", "v2.3.0"),
    "docker/setup-buildx-action": ("e468171a9de216ec08956ac3ada2f0791b6bd435", "v3.11.1"),
    "docker/login-action": ("c94ce9fb468520275223c153574b00df6fe4bcc9", "v3.7.0"),
    "docker/metadata-action": ("c299e40c65443455700f0fdfc63efafe5b349051", "v5.10.0"),
    "docker/build-push-action": ("10e90e3645eae34f1e60eeb005ba3a3d33f178e8", "v6.19.2"),
    "aquasecurity/trivy-action": ("ed142fd0673e97e23eac54620cfb913e5ce36c25", "v0.36.0"),
    "anchore/sbom-action": ("e22c389904149dbc22b58101806040fa8d37a610", "v0.24.0"),
    "sigstore/cosign-installer": ("7e8b541eb2e61bf99390e1afd4be13a184e9ebc5", "v3.10.1"),
}

COPIER_VERSION = "9.19.1"
"""Copier the generated CI runs to tell of a newer template release (the one this repo tests with)."""

CI_PROVIDERS: dict[str, dict] = {
    # `oidc`: how the CI system proves to a cloud which repository's main branch is running, so
    # infra/terraform/ trusts exactly that (no stored keys). `claim` is the token's repository claim.
    # With no CI, Terraform still trusts GitHub's main branch, ready for when one is added.
    "github": {
        "label": "GitHub Actions",
        "file": ".github/workflows/ci.yml",
        "push_credentials": "the workflow's `GITHUB_TOKEN`",
        "oidc": {
            "key": "github",
            "name": "GitHub Actions",
            "issuer": "https://token.actions.githubusercontent.com",
            "variable": "github_repository",
            "pool": "gh",  # suffix of the GCP Workload Identity pool
            "what": "GitHub repository (owner/name)",
            "shape": "owner/name",
            "pattern": "^[A-Za-z0-9-]+/[A-Za-z0-9_.-]+$",
            "subject": "repo:${var.github_repository}:ref:refs/heads/main",
            "claim": "repository",
            "variables": "GitHub Actions repository variables",
            "set_variable": 'gh variable set "$key" --body "$value"',
        },
    },
    "gitlab": {
        "label": "GitLab CI",
        "file": ".gitlab-ci.yml",
        "push_credentials": (
            "`REGISTRY_USER` and `REGISTRY_PASSWORD`\n"
            "(the job's GitLab registry login unless you set both as CI/CD variables)"
        ),
        "oidc": {
            "key": "gitlab",
            "name": "GitLab CI",
            # GitLab.com; a self-managed instance signs its ID tokens with its own URL.
            "issuer": "https://gitlab.com",
            "variable": "gitlab_project",
            "pool": "gl",
            "what": "GitLab project path (group/project, subgroups allowed)",
            "shape": "group/project",
            "pattern": "^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$",
            "subject": "project_path:${var.gitlab_project}:ref_type:branch:ref:main",
            "claim": "project_path",
            "variables": "GitLab CI/CD variables",
            "set_variable": 'glab variable set "$key" "$value"',
        },
    },
    "none": {"label": "None", "file": None, "push_credentials": None, "oidc": None},
}

CLUSTER_CONTROLS = {
    # A control the Kubernetes manifests declare -> (its README label, what enforces it on every
    # cloud alike, or None when each cloud's `terraform.enforcement` says).
    "network_policy": ("default-deny NetworkPolicies", None),
    "pod_security": (
        'Pod Security "restricted" namespace labels',
        "the API server's PodSecurity admission, built in since Kubernetes 1.25",
    ),
    "workload_identity": ("the app's cloud identity, no stored keys", None),
    "encryption": ("Secrets encrypted at rest", None),
}

TERRAFORM_VERSION = "1.11.4"
"""Terraform the generated CI installs; versions.tf requires >= 1.11 (write-only arguments)."""

INFRA_NAME_MAX = 16
"""Longest resource-name prefix (`var.name`): leaves room for suffixes within every cloud's limits."""

RESOURCES = {
    "requests": {"cpu": "100m", "memory": "128Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi"},
}
"""Container resources every orchestrator renders for the app (Kubernetes quantities; context.py
converts them for Nomad and Swarm)."""

NOMAD_MHZ_PER_CORE = 1000
"""Nomad reserves CPU in MHz: one Kubernetes core (1000m) is rendered as this many MHz."""

PROBES = {
    # Liveness: the process is up. Readiness: every data service answers (the app's own check has a
    # timeout of READY_TIMEOUT_SECONDS, so the probe waits one second longer). Startup: first boot.
    "liveness": {"path": HEALTH_PATH, "period": 10, "timeout": 2, "failures": 3},
    "readiness": {"path": READY_PATH, "period": 5, "timeout": READY_TIMEOUT_SECONDS + 1, "failures": 3},
    "startup": {"path": HEALTH_PATH, "period": 2, "timeout": 2, "failures": 30},
}
"""Health checks every orchestrator renders, in seconds."""

SCALING = {"replicas": 2, "min_replicas": 2, "max_replicas": 6, "cpu_utilization": 70}
"""Replicas of the app in a production-like deployment, and the autoscaling bounds where supported."""

TMPFS_SIZE_MIB = 64
"""Size of each in-memory scratch directory (the root filesystem is read-only)."""

KUBERNETES_ORCHESTRATORS = ["kubernetes", "helm"]
"""Orchestrators that deploy to Kubernetes: the only ones a service mesh or a secrets operator applies to."""

MESHES: dict[str, dict] = {
    # Per mesh: how the app's pods join it (labels, annotations, those of mutual TLS only), what the
    # `helm test` pod adds so it joins and still ends (a native sidecar stops with the pod's
    # container), the ports the sidecar needs through the NetworkPolicy (an egress rule without a
    # namespace: to meshed peers, the app's own pods included), where the mesh serves the app's
    # metrics, and what the cluster must run under Pod Security "restricted". Kustomize's patches
    # (includes/k8s.jinja) and the Helm chart (its files/meshes.yaml) are rendered from these.
    "none": {"label": "None", "needs_kubernetes": False},
    "istio": {
        "label": "Istio",
        "needs_kubernetes": True,
        "pod_labels": {"sidecar.istio.io/inject": "true"},
        # Istio rewrites HTTP probes (the default, made explicit) so the kubelet reaches the app through
        # the sidecar's agent although the workload only accepts mutual TLS.
        "pod_annotations": {"sidecar.istio.io/rewriteAppHTTPProbers": "true"},
        "probes": "Istio rewrites the HTTP probes to its agent (`sidecar.istio.io/rewriteAppHTTPProbers`)",
        "test_pod_annotations": {"sidecar.istio.io/nativeSidecar": "true"},
        "ingress": [
            {"port": 15020, "why": "Istio: the app's and the sidecar's merged Prometheus metrics"},
        ],
        "egress": [
            {
                "namespace": "istio-system",
                "ports": [15012],
                "why": "istiod: proxy configuration and certificates",
            },
        ],
        "cni": "the Istio CNI node agent (istioctl install --set components.cni.enabled=true)",
        "cni_why": 'its istio-init container needs NET_ADMIN and NET_RAW, which "restricted" forbids',
        "policy": (
            "a PeerAuthentication in STRICT mode and an AuthorizationPolicy that admits mesh identities only"
        ),
        "docs": "https://istio.io/latest/docs/setup/additional-setup/cni/",
        # A Prometheus outside the mesh is refused on the app's port (mutual TLS only). Istio's
        # documented answer is metrics merging: at injection Istio reads the pod's prometheus.io
        # annotations, and its agent serves the app's metrics with the sidecar's own on port 15020,
        # which the sidecar does not intercept. The ServiceMonitor scrapes that port through the Service.
        "metrics": {
            "port": 15020,
            "port_name": "http-metrics",
            "path": "/stats/prometheus",
            "how": "Istio's metrics merging: the sidecar's agent serves the app's metrics with its own on "
            "port 15020, outside mutual TLS, and the ServiceMonitor scrapes that port",
            "docs": "https://istio.io/latest/docs/ops/integrations/prometheus/#option-1-metrics-merging",
        },
    },
    "linkerd": {
        "label": "Linkerd",
        "needs_kubernetes": True,
        "pod_labels": {},
        "pod_annotations": {"linkerd.io/inject": "enabled"},
        # With mutual TLS only (always in Kustomize; Helm's mesh.strictMtls): only mTLS-authenticated
        # clients may connect; Linkerd still admits the kubelet's probes.
        "strict_pod_annotations": {"config.linkerd.io/default-inbound-policy": "all-authenticated"},
        "probes": "Linkerd admits the kubelet's probes whatever the inbound policy",
        "test_pod_annotations": {
            "linkerd.io/inject": "enabled",
            "config.beta.linkerd.io/proxy-enable-native-sidecar": "true",
        },
        "ingress": [
            {"port": 4143, "why": "Linkerd: meshed clients reach the proxy's inbound port"},
            {"port": 4191, "why": "Linkerd: the proxy's metrics (linkerd-viz)"},
        ],
        "egress": [
            {
                "namespace": "linkerd",
                "ports": [8080, 8086, 8090],
                "why": "Linkerd control plane: identity, destination and policy",
            },
            {"namespace": None, "ports": [4143], "why": "Linkerd: meshed peers' inbound proxies"},
        ],
        "cni": "the linkerd-cni plugin (linkerd install-cni, then linkerd install --linkerd-cni-enabled)",
        "cni_why": 'its linkerd-init container needs NET_ADMIN and NET_RAW, which "restricted" forbids',
        "policy": "the default inbound policy all-authenticated on its pods",
        "docs": "https://linkerd.io/2/features/cni/",
        # all-authenticated admits meshed clients only: Linkerd's documented answer is a meshed
        # Prometheus (linkerd-viz's is), whose scrapes arrive over mutual TLS through port 4143.
        "metrics": {
            "how": "a meshed Prometheus: all-authenticated admits meshed clients only, so inject your "
            "Prometheus (linkerd.io/inject: enabled on its pods; linkerd-viz's Prometheus already is) "
            "and its scrapes arrive over mutual TLS",
            "docs": "https://linkerd.io/2/tasks/external-prometheus/",
        },
    },
}

SECRETS_REFRESH = "1h"
"""How often a secrets operator reads the store again (rotated credentials arrive within it)."""

SECRET_BACKENDS: dict[str, dict] = {
    # Per backend: what creates the `<slug>-secrets` Secret the workload reads in production. Every
    # backend produces the same Secret name and keys, so the Deployment never changes.
    "kubernetes": {
        "label": "Kubernetes Secret",
        "needs_kubernetes": False,
        "summary": "a Secret you create from your secret manager before the first deploy",
    },
    "external-secrets": {
        "label": "External Secrets Operator",
        "needs_kubernetes": True,
        "api_version": "external-secrets.io/v1",
        "summary": "an ExternalSecret that the External Secrets Operator turns into the Secret",
        # The store per cloud: a SecretStore in the app's namespace, authenticated as the app's
        # ServiceAccount through the cloud's workload identity. Without a cloud, a ClusterSecretStore
        # the platform team provides, by name.
        "stores": {
            "none": {
                "kind": "ClusterSecretStore",
                "name": "platform-secrets",
                "what": "your platform's store",
            },
            "aws": {"kind": "SecretStore", "what": "AWS Secrets Manager"},
            "gcp": {"kind": "SecretStore", "what": "Google Cloud Secret Manager"},
            "azure": {"kind": "SecretStore", "what": "Azure Key Vault"},
        },
    },
    "vault": {
        "label": "HashiCorp Vault (Vault Secrets Operator)",
        "needs_kubernetes": True,
        "api_version": "secrets.hashicorp.com/v1beta1",
        # Placeholders in the .example.internal style of the production endpoints.
        "address": "https://vault.example.internal:8200",
        "auth_mount": "kubernetes",
        "kv_mount": "secret",
        "summary": "a VaultStaticSecret that the Vault Secrets Operator turns into the Secret",
        # Why not the agent injector: it writes files (/vault/secrets/...), and the apps read their
        # settings from environment variables. Sourcing an env file needs a shell in the image, and
        # the Go image (distroless) has none; only the Python app reads <NAME>_FILE.
        "why_operator": (
            "the Vault agent injector writes files and the app reads environment variables; sourcing "
            "an env file needs a shell, which the distroless Go image does not have"
        ),
    },
}
