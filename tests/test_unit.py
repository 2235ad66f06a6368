"""Unit tier: the context hook, the filters and the macros, on plain data (no Copier)."""

from __future__ import annotations

import json
import re
import tomllib

import hcl2
import jinja2
import pytest
import yaml

from matrix import jinja_env, load_extension

pytestmark = pytest.mark.unit
ext = load_extension()

HOSTILE = [
    'He said "hi": #1 ok',
    "colon: value # not a comment",
    "multi\nline\n\ttabbed",
    "unicode ✓ café 日本語 🚀",
    "back\\slash and 'single' quotes",
    "${not_interpolated} %{nor_this} $(nor) `this`",
    "- looks: [like, yaml] {and: flow}",
    "trailing space ",
    "null",
    "yes",
    "0x1F",
    "ctrl\x07bell\x7fdel\u2028sep",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_yaml_str_round_trips(text):
    assert yaml.safe_load(f"key: {ext.yaml_str(text)}") == {"key": text}


@pytest.mark.parametrize("text", HOSTILE)
def test_json_str_round_trips(text):
    assert json.loads(ext.json_str(text)) == text


@pytest.mark.parametrize("text", HOSTILE)
def test_toml_str_round_trips(text):
    assert tomllib.loads(f"key = {ext.toml_str(text)}") == {"key": text}


@pytest.mark.parametrize("text", HOSTILE)
def test_hcl_str_round_trips(text):
    parsed = hcl2.loads(f"key = {ext.hcl_str(text)}\n")
    value = parsed["key"]
    # python-hcl2 returns the literal as written: unquote and unescape it as Terraform does.
    assert json.loads(value.replace("$${", "${").replace("%%{", "%{")) == text


@pytest.mark.parametrize("text", HOSTILE)
def test_sh_quote_is_one_word(text):
    import shlex

    assert shlex.split(ext.sh_quote(text)) == [text]


@pytest.mark.parametrize("text", HOSTILE)
def test_dockerfile_str_is_one_line_without_expansion(text):
    quoted = ext.dockerfile_str(text)
    assert "\n" not in quoted
    assert quoted.startswith('"') and quoted.endswith('"')
    assert "$" not in quoted.replace("\\$", "")


def test_xml_text_escapes_markup():
    assert ext.xml_text('<a href="x">&</a>') == "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Hello Service", "hello-service"),
        ("  My_App!! v2 ", "my-app-v2"),
        ("Café Crème", "cafe-creme"),
        ("x" * 80, "x" * 58),
        ("1Password 2", "password-2"),
        ("a" + "-" * 70 + "b", "a-b"),
        ("x" * 57 + " y", "x" * 57),
    ],
)
def test_dns_label(name, slug):
    assert ext.dns_label(name) == slug
    assert ext.slug_error(slug) == ""


@pytest.mark.parametrize(
    ("slug", "fragment"),
    [
        ("My_App", "only a-z"),
        ("", "empty"),
        ("-a", "start with a letter"),
        ("a-", "end with a letter or digit"),
        ("a" * 59, "at most 58"),
        ("a.b", "only a-z"),
        ("ünï", "only a-z"),
        ("9lives", "start with a letter"),
    ],
)
def test_slug_error_refuses(slug, fragment):
    assert fragment in ext.slug_error(slug)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "empty"),
        ("  ", "empty"),
        ("a\nb", "one line"),
        ("!!!", "needs a letter"),
        ("2026", "needs a letter"),
        ("x" * 101, "at most"),
    ],
)
def test_name_error(name, fragment):
    assert fragment in ext.name_error(name)


@pytest.mark.parametrize(
    "owner",
    [
        "group:default/platform",
        "platform",
        "team-a",
        "default/platform",
        "user:jane.doe",
        "Group:payments/Team_A",
        "user:default/j.doe-2",
    ],
)
def test_owner_error_accepts_backstage_owner_references(owner):
    assert ext.owner_error(owner) == ""


@pytest.mark.parametrize(
    ("owner", "fragment"),
    [
        ("", "empty"),
        ("Platform Team!!", "name: 1-63"),
        ("group:default/", "name: 1-63"),
        ("team-", "name: 1-63"),
        ("a" * 64, "name: 1-63"),
        ("component:default/shop", "group or user"),
        ("group:Default/shop", "namespace"),
        ("group:-x/shop", "namespace"),
        ("group:a/b/c", "[kind:][namespace/]name"),
        ("group:a:b", "[kind:][namespace/]name"),
        ("group:platform\n", "name: 1-63"),
    ],
)
def test_owner_error_refuses(owner, fragment):
    assert fragment in ext.owner_error(owner)


def test_port_and_registry_errors():
    assert ext.port_error(8080) == ""
    assert "1024-65535" in ext.port_error(80)
    assert "number" in ext.port_error("http")
    assert ext.registry_error("ghcr.io/acme") == ""
    assert ext.registry_error("registry.local:5000/team/sub") == ""
    assert "lowercase" in ext.registry_error("GHCR.io/x")


def test_unavailable_error_names_the_reason():
    assert ext.unavailable_error("runtime", "python") == ""
    for kind, table in [("runtime", ext.catalog.RUNTIMES), ("cloud", ext.catalog.CLOUDS)]:
        for value, entry in table.items():
            message = ext.unavailable_error(kind, value)
            assert (message == "") == entry["available"]
            if message:
                assert message.startswith("not available yet: ")


ANSWERS = {
    "project_slug": "shop",
    "runtime": "python",
    "orchestrator": "kubernetes",
    "cloud": "none",
    "app_port": 9000,
    "image_registry": "ghcr.io/acme",
    "data_services": ["redis", "postgres"],
}


def test_derive_is_pure_and_complete():
    first = ext.derive(dict(ANSWERS))
    assert first == ext.derive(dict(ANSWERS))
    assert first["image_repository"] == "ghcr.io/acme/shop"
    assert first["registry_host"] == "ghcr.io"
    # services follow catalog order, whatever the answer order
    assert [svc["key"] for svc in first["services"]] == ["postgres", "redis"]
    assert [svc["env"] for svc in first["services"]] == ["DATABASE_URL", "REDIS_URL"]
    assert [svc["key"] for svc in first["secret_services"]] == ["postgres"]
    spec = first["service_spec"]
    assert spec["port"] == 9000
    assert spec["image"] == "ghcr.io/acme/shop:0.1.0"
    assert spec["env"] == [
        "PORT",
        "LOG_LEVEL",
        "SERVICE_NAME",
        "SERVICE_VERSION",
        "READY_TIMEOUT_SECONDS",
        "DATABASE_URL",
        "REDIS_URL",
        "WEB_CONCURRENCY",  # Python runs that many server processes
    ]
    assert spec["uid"] == 10001
    assert first["java_package"] == "com.example.shop"


class _Reads(dict):
    """A dict that records which keys were read."""

    def __init__(self, *args):
        super().__init__(*args)
        self.read: set[str] = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)


@pytest.mark.parametrize("runtime", list(ext.catalog.RUNTIMES))
def test_derive_reads_only_the_inputs_its_cache_is_keyed_on(runtime):
    answers = _Reads({**ANSWERS, "runtime": runtime, "observability": True, "project_name": "Shop"})
    ext.derive(answers)
    assert answers.read <= set(ext.DERIVE_INPUTS), answers.read - set(ext.DERIVE_INPUTS)
    assert ext.derive_cached(dict(answers)) == ext.derive(dict(answers))
    other = ext.derive_cached({**answers, "data_services": []})
    assert other["services"] == [] and ext.derive_cached(dict(answers))["services"]


def test_derive_urls_per_environment():
    services = {svc["key"]: svc for svc in ext.derive(dict(ANSWERS))["services"]}
    pg = services["postgres"]
    assert pg["local_url"] == "postgres://app:app@localhost:5432/app?sslmode=disable"
    assert pg["compose_url"] == "postgres://app:${POSTGRES_PASSWORD:-app}@postgres:5432/app?sslmode=disable"
    assert pg["prod_url"].endswith("?sslmode=require")
    assert pg["dev_url"].startswith("postgres://app:dev-only-password@postgres:5432/")
    assert services["redis"]["local_url"] == "redis://localhost:6379/0"


def test_derive_python_lock_follows_the_services():
    def lock(services):
        return ext.derive({**ANSWERS, "data_services": services, "observability": False})["lock"][
            "requirements"
        ]

    bare, redis, both = lock([]), lock(["redis"]), lock(["redis", "kafka"])
    names = [line.split("==")[0] for line in both.splitlines() if "==" in line]
    assert names == sorted(names) and len(names) == len(set(names))
    assert "\nredis==" in redis and "\nredis==" not in bare and "\naiokafka==" not in redis
    # Redis needs async-timeout on old 3.11 releases only, aiokafka always: the union drops the marker.
    assert "\nasync-timeout==5.0.1 ; python_full_version < '3.11.3' \\\n" in redis
    assert "\nasync-timeout==5.0.1 \\\n" in both
    assert "    # via\n    #   aiokafka\n    #   redis\n" in both
    assert "    # via shop (pyproject.toml)\n" in bare, "the project requires its direct dependencies"
    pins = [line for line in both.splitlines() if "==" in line]
    hashed = [line for line in both.splitlines() if line.startswith("    --hash=sha256:")]
    assert len(hashed) >= len(pins), "every pin carries the hashes of its files"


def test_python_lock_data_matches_the_catalog():
    """extensions/python-lock.json must be re-resolved (scripts/python_lock.py) after a catalog range
    changes: each part's lock has exactly the packages its ranges name as the project's own."""
    python = ext.catalog.RUNTIMES["python"]
    lock = json.loads(ext.lock_renderer("python").LOCK_PATH.read_text())
    assert set(lock["parts"]) == set(python["packages"]) - {"dev"}, "run scripts/python_lock.py"
    project = ext.lock_renderer("python").PROJECT
    for part, ranges in python["packages"].items():
        if part == "dev":
            continue
        named = {re.split(r"[\[<>=!~; ]", spec, maxsplit=1)[0].lower() for spec in ranges}
        if part != "base":
            named |= {name for name, entry in lock["parts"]["base"].items() if project in entry["via"]}
        direct = {name for name, entry in lock["parts"][part].items() if project in entry["via"]}
        assert direct == named, f"{part}: run scripts/python_lock.py"
    command = python["commands"]["lock"].replace(".venv/bin/uv", "uv").replace(" --quiet", "")
    assert lock["header"][1] == f"#    {command}", "the header uv writes for `make lock`"


NODE = {**ANSWERS, "runtime": "node"}


def test_derive_node_dependencies_follow_the_services():
    npm = ext.catalog.RUNTIMES["node"]["npm"]
    with_all = ext.derive(dict(NODE))["lock"]
    without = ext.derive({**NODE, "data_services": []})["lock"]
    assert set(with_all["dependencies"]) == {*npm["base"], *npm["postgres"], *npm["redis"]}
    assert set(without["dependencies"]) == set(npm["base"])
    assert with_all["devDependencies"] == without["devDependencies"] == npm["dev"]
    assert list(with_all["dependencies"]) == sorted(with_all["dependencies"])
    lock = json.loads(without["package_lock"])
    assert lock["name"] == "shop" and lock["packages"][""]["dependencies"] == without["dependencies"]
    assert "node_modules/pg" not in lock["packages"] and "node_modules/redis" not in lock["packages"]


def test_node_lock_data_matches_the_catalog():
    """extensions/node-lock.json must be re-resolved (scripts/node_lock.py) after a catalog range changes."""
    node = ext.catalog.RUNTIMES["node"]
    root = json.loads(ext.lock_renderer("node").LOCK_PATH.read_text())["packages"][""]
    prod = {name: spec for part, deps in node["npm"].items() if part != "dev" for name, spec in deps.items()}
    assert root["dependencies"] == dict(sorted(prod.items())), "run scripts/node_lock.py"
    assert root["devDependencies"] == dict(sorted(node["npm"]["dev"].items())), "run scripts/node_lock.py"
    assert root["engines"] == {"node": node["engines"]}


def test_go_lock_data_matches_the_catalog():
    """extensions/go-lock.json must be re-resolved (scripts/go_lock.py) after a catalog pin changes:
    each part requires exactly the modules the catalog pins for it, at those versions."""
    go = ext.catalog.RUNTIMES["go"]
    lock = json.loads(ext.lock_renderer("go").LOCK_PATH.read_text())
    assert set(lock["parts"]) == set(go["go_modules"]), "run scripts/go_lock.py"
    for part, pins in go["go_modules"].items():
        assert lock["parts"][part]["require"] == pins, f"{part}: run scripts/go_lock.py"
    assert lock["tool"] == sorted(go["go_tools"]), "run scripts/go_lock.py"
    assert lock["go"] == f"{go['version']}.0"
    assert set(go["go_modules"]) - {"base", "observability"} == set(go["services"])


def test_java_lock_data_matches_the_catalog():
    """extensions/java-lock.json must be recorded again (scripts/java_lock.py) after Spring Boot, an
    artifact or a plugin changes in the catalog: each part holds the artifacts the catalog names for it."""
    java = ext.catalog.RUNTIMES["java"]
    lock = json.loads(ext.lock_renderer("java").LOCK_PATH.read_text())
    assert set(lock["parts"]) == {"base", "observability", *java["services"]}, "run scripts/java_lock.py"
    assert lock["lines"] == sorted(set(lock["lines"])), "one line per file, in the file's byte order"
    assert all(re.fullmatch(r"[0-9a-f]{64}  [\w.+-]+(/[\w.+-]+)+", line) for line in lock["lines"])

    def paths(part):
        return {lock["lines"][n].split("  ")[1] for n in lock["parts"][part]}

    boot = java["spring_boot"]
    base = paths("base")
    for path in (
        f"org/springframework/boot/spring-boot/{boot}/spring-boot-{boot}.jar",
        f"com/diffplug/spotless/spotless-maven-plugin/{java['spotless']}/",
        f"com/google/googlejavaformat/google-java-format/{java['google_java_format']}/",
    ):
        assert any(p.startswith(path) for p in base), f"{path}: run scripts/java_lock.py"
    for service in java["services"]:
        for artifact in java["maven"][service]:
            folder = f"{artifact['group'].replace('.', '/')}/{artifact['artifact']}/"
            assert any(p.startswith(folder) for p in paths(service) | base), f"{service}: {folder}"


def test_derive_java_checksums_follow_the_services():
    def lines(services, observability=False):
        answers = {**ANSWERS, "runtime": "java", "data_services": services, "observability": observability}
        return ext.derive(answers)["lock"]["checksums"]

    bare, pg, full = lines([]), lines(["postgres"]), lines(["postgres", "kafka"], True)
    assert set(bare) < set(pg) < set(full) and full == sorted(full)
    assert not any("/org/postgresql/" in line or "  org/postgresql/" in line for line in bare)
    assert any("  org/postgresql/postgresql/" in line for line in pg)
    assert not any("  org/apache/kafka/" in line for line in pg)


def test_derive_go_module_files_follow_the_services():
    def go_files(services, observability):
        return ext.derive(
            {**ANSWERS, "runtime": "go", "data_services": services, "observability": observability}
        )["lock"]

    bare, full = go_files([], False), go_files(["postgres", "redis"], True)
    assert [path for path, _ in bare["require"]] == ["github.com/prometheus/client_golang"]
    assert {"github.com/jackc/pgx/v5", "github.com/redis/go-redis/v9", "go.opentelemetry.io/otel/sdk"} <= {
        path for path, _ in full["require"]
    }
    assert not {path for path, _ in full["require"]} & {path for path, _ in full["indirect"]}
    assert set(bare["sum"]) < set(full["sum"]) and len(set(full["sum"])) == len(full["sum"])
    assert not any("mongo-driver" in line for line in full["sum"]), "a service not chosen adds nothing"
    assert bare["tool"] == ["honnef.co/go/tools/cmd/staticcheck"]


def test_every_node_service_has_an_npm_client():
    node = ext.catalog.RUNTIMES["node"]
    clients = set(node["npm"]) - {"base", "dev", "observability"}
    assert clients == set(node["services"]), "each supported service needs its npm packages, and only those"


def test_npm_lock_prune_recomputes_flags_and_drops_the_unreached():
    """A small tree with every case: prod, dev-only, shared, optional, optional peer, nested copies."""
    pkg = {"version": "1.0.0"}
    union = {
        "lockfileVersion": 3,
        "packages": {
            "node_modules/a": {
                **pkg,
                "dependencies": {"shared": "1", "c": "2"},
                "optionalDependencies": {"opt": "1"},
            },
            "node_modules/a/node_modules/c": {"version": "2.0.0"},
            "node_modules/c": {"version": "1.0.0", "dev": True},
            "node_modules/d": {**pkg, "dev": True, "dependencies": {"shared": "1", "c": "1"}},
            "node_modules/gone": {**pkg, "dependencies": {"shared": "1"}},
            "node_modules/opt": {**pkg, "optional": True},
            "node_modules/p": {
                **pkg,
                "peerDependencies": {"absent": "1"},
                "peerDependenciesMeta": {"absent": {"optional": True}},
            },
            "node_modules/shared": {**pkg},
        },
    }
    root = {
        "name": "x",
        "version": "0.1.0",
        "dependencies": {"a": "1", "p": "1"},
        "devDependencies": {"d": "1"},
    }
    lock = ext.lock_renderer("node").prune(union, root)
    packages = lock["packages"]
    assert list(packages) == [
        "",
        "node_modules/a",
        "node_modules/a/node_modules/c",
        "node_modules/c",
        "node_modules/d",
        "node_modules/opt",
        "node_modules/p",
        "node_modules/shared",
    ]
    flags = {
        path: {k for k in ("dev", "optional", "devOptional", "peer") if k in entry}
        for path, entry in packages.items()
    }
    assert flags == {
        "": set(),
        "node_modules/a": set(),
        "node_modules/a/node_modules/c": set(),
        "node_modules/c": {"dev"},
        "node_modules/d": {"dev"},
        "node_modules/opt": {"optional"},
        "node_modules/p": set(),
        "node_modules/shared": set(),
    }
    assert list(packages["node_modules/d"]) == ["version", "dev", "dependencies"], "npm's key order"


def test_java_package_is_a_valid_identifier():
    derived = ext.derive({**ANSWERS, "project_slug": "9-lives"})
    assert derived["java_package"] == "com.example.app9lives"
    assert derived["java_package_path"] == "com/example/app9lives"
    longest = ext.derive({**ANSWERS, "project_slug": "a" * 30 + "-" + "b" * 27})["java_package"]
    assert longest == "com.example." + "a" * 30 + "b" * 10, "at most 40 letters and digits of the slug"


def test_hook_waits_for_every_answer():
    hook = ext.ContextUpdater.__new__(ext.ContextUpdater)
    partial = {"project_slug": "shop"}
    hook.hook(partial)
    assert partial == {"project_slug": "shop"}
    full = dict(ANSWERS)
    hook.hook(full)
    assert full["image_repository"] == "ghcr.io/acme/shop"


# --- macros, rendered with plain Jinja ------------------------------------------------------------


@pytest.fixture(scope="module")
def k8s():
    return jinja_env().get_template("includes/k8s.jinja").module


def test_macro_pod_security_context_is_restricted(k8s):
    assert yaml.safe_load(str(k8s.pod_security_context(10001))) == {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "fsGroup": 10001,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def test_macro_container_security_context_is_restricted(k8s):
    assert yaml.safe_load(str(k8s.container_security_context())) == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }


def test_macro_labels(k8s):
    labels = yaml.safe_load(str(k8s.labels("shop", "shop", "app")))
    assert labels["app.kubernetes.io/name"] == "shop"
    assert labels["app.kubernetes.io/component"] == "app"
    assert yaml.safe_load(str(k8s.selector_labels("shop"))).items() <= labels.items()


def test_macro_resources(k8s):
    spec = {"requests": {"cpu": "100m", "memory": "2Mi"}, "limits": {"cpu": "3500m", "memory": "4Mi"}}
    assert yaml.safe_load(str(k8s.resources(spec))) == spec


def test_macro_dev_instance_is_hardened_and_wired(k8s):
    svc = ext.derive(dict(ANSWERS))["services"][0]
    docs = list(yaml.safe_load_all(str(k8s.dev_instance(svc, "shop", "shop-secrets"))))
    kinds = [doc["kind"] for doc in docs]
    assert kinds == ["Service", "StatefulSet", "NetworkPolicy"]
    pod = docs[1]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = pod["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {
        "name": "POSTGRES_PASSWORD",
        "valueFrom": {"secretKeyRef": {"name": "shop-secrets", "key": "POSTGRES_PASSWORD"}},
    } in container["env"]
    ingress = docs[2]["spec"]["ingress"][0]
    assert ingress["from"][0]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "shop"}
    assert ingress["ports"] == [{"protocol": "TCP", "port": 5432}]


def test_services_error_names_what_the_runtime_lacks(monkeypatch):
    assert ext.services_error("python", ["postgres", "kafka"]) == ""
    monkeypatch.setitem(ext.catalog.RUNTIMES["python"], "services", ["postgres"])
    message = ext.services_error("python", ["postgres", "kafka", "redis"])
    assert message == "no Kafka, Redis in the Python app yet"


@pytest.fixture(scope="module")
def terraform_macros():
    return jinja_env().get_template("includes/terraform.jinja").module


TF_VARIABLES = {
    "name",
    "environment",
    "account_id",
    "region",
    "network_cidr",
    "admin_cidrs",
    "kubernetes_version",
    "node_instance_type",
    "node_min_count",
    "node_max_count",
    "app_name",
    "deletion_protection",
    "labels",
}


@pytest.mark.parametrize("ci_provider", ["github", "gitlab", "none"])
@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_macro_terraform_variables_are_the_one_interface(terraform_macros, cloud, ci_provider):
    tf = ext.catalog.CLOUDS[cloud]["terraform"]
    oidc = ext.derive({**ANSWERS, "cloud": cloud, "ci_provider": ci_provider})["ci"]["oidc"]
    parsed = hcl2.loads(str(terraform_macros.variables(tf, "shop", "shop", "1.33", oidc, "kubernetes")))
    variables = {name.strip('"'): body for block in parsed["variable"] for name, body in block.items()}
    # the CI repository whose main branch may sign in: GitHub's when there is no CI yet
    repository = {"gitlab": "gitlab_project"}.get(ci_provider, "github_repository")
    assert set(variables) == TF_VARIABLES | {repository}
    assert variables["region"]["default"] == json.dumps(tf["region"]["default"])
    assert variables["kubernetes_version"]["default"] == '"1.33"'
    assert all("description" in body and "type" in body for body in variables.values())
    required = {name for name, body in variables.items() if "default" not in body}
    assert required == {"account_id", repository}


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_macro_terraform_tfvars_example_and_readme(terraform_macros, cloud):
    derived = ext.derive({**ANSWERS, "cloud": cloud})
    oidc = derived["ci"]["oidc"]
    example = hcl2.loads(
        str(terraform_macros.tfvars_example(derived["infra"]["tf"], "shop", "shop", oidc, "kubernetes"))
    )
    assert {"account_id", "github_repository", "region"} <= set(example)
    readme = str(terraform_macros.readme(derived["infra"], "shop", "1.33", oidc))
    assert readme.startswith(f"# Infrastructure: {derived['infra']['tf']['name']}\n")
    for name in TF_VARIABLES | {"github_repository"}:
        assert f"| `{name}` |" in readme
    for svc in derived["infra"]["services"]:
        assert f"| `{svc['key']}_endpoint` |" in readme and svc["offering"] in readme


def test_infra_name_fits_every_cloud():
    for slug in ["shop", "9-lives", "a" * 63, "x", "hello-service-with-a-long-name"]:
        name = ext.infra_name(slug)
        assert 3 <= len(name) <= ext.catalog.INFRA_NAME_MAX
        assert name[0].isalpha() and name[-1].isalnum()


def test_derive_infra_per_cloud():
    none = ext.derive(dict(ANSWERS))["infra"]
    assert none["tf"] == {} and none["services"] == []
    for cloud in ("aws", "gcp", "azure"):
        infra = ext.derive({**ANSWERS, "cloud": cloud})["infra"]
        assert [svc["key"] for svc in infra["services"]] == ["postgres", "redis"]
        for svc in infra["services"]:
            assert svc["credential"] == (svc["auth"] == "password")
            assert svc["managed"] or svc["why"]
        assert set(ext.catalog.CLOUDS[cloud]["services"]) == set(ext.catalog.DATA_SERVICES)


def test_derive_infra_external_secrets_match_the_external_secret():
    """Terraform's URL entries are the ExternalSecret's remote keys: same services, same names."""
    answers = {**ANSWERS, "data_services": ["postgres", "redis", "mongodb"], "secrets": "external-secrets"}
    for cloud in ("aws", "gcp", "azure"):
        derived = ext.derive({**answers, "cloud": cloud})
        entries = derived["infra"]["external_secrets"]
        assert {e["env"]: e["name"] for e in entries} == derived["secrets_info"]["remote_keys"]
        assert [e["name"] for e in entries] == ["shop-database-url", "shop-mongodb-url", "shop-redis-url"]
        assert derived["secrets_info"]["store"]["from_output"], "a placeholder filled from Terraform"
    for other in ({**answers, "cloud": "aws", "secrets": "vault"}, {**answers, "cloud": "none"}):
        assert ext.derive(other)["infra"]["external_secrets"] == []


def test_redis_url_is_a_credential_in_the_cloud_only():
    """The managed Redis offerings want TLS and an AUTH token, so there REDIS_URL carries a secret and
    moves from the ConfigMap to the Secret; a development instance keeps its password-less URL."""
    answers = {**ANSWERS, "data_services": ["redis"]}
    local = ext.derive({**answers, "cloud": "none"})
    (svc,) = local["services"]
    assert not svc["secret"] and "REDIS_URL" in local["service_spec"]["config"]
    for cloud in ("aws", "gcp", "azure"):
        derived = ext.derive({**answers, "cloud": cloud})
        (svc,) = derived["services"]
        assert svc["secret"] and svc["prod_url"].startswith("rediss://:CHANGE-ME@")
        assert derived["service_spec"]["secret_env"] == ["REDIS_URL"]
        assert "REDIS_URL" not in derived["service_spec"]["config"]
        assert svc["dev_url"] == local["services"][0]["dev_url"] == "redis://redis:6379/0"


# --- the service spec every orchestrator renders --------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "millicores"), [("100m", 100), ("1", 1000), ("1.5", 1500), ("0.25", 250)]
)
def test_cpu_millicores(quantity, millicores):
    assert ext.cpu_millicores(quantity) == millicores


@pytest.mark.parametrize(("quantity", "mib"), [("128Mi", 128), ("1Gi", 1024), ("2Gi", 2048)])
def test_memory_mib(quantity, mib):
    assert ext.memory_mib(quantity) == mib


def test_memory_mib_refuses_units_it_cannot_convert_exactly():
    with pytest.raises(ValueError, match="Mi or Gi"):
        ext.memory_mib("128M")


@pytest.mark.parametrize(("limit", "workers"), [("500m", "1"), ("1", "1"), ("1500m", "2"), ("2", "2")])
def test_the_worker_count_is_the_cpu_limit_in_whole_cores_rounded_up(monkeypatch, limit, workers):
    resources = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": limit, "memory": "256Mi"}}
    monkeypatch.setattr(ext.catalog, "RESOURCES", resources)
    spec = ext.derive(dict(ANSWERS))["service_spec"]
    assert spec["plain_env"]["WEB_CONCURRENCY"] == workers  # as Kubernetes rounds a resourceFieldRef


def test_service_spec_splits_config_from_secrets_and_converts_resources():
    spec = ext.derive(dict(ANSWERS))["service_spec"]
    assert spec["config"] == {
        "PORT": "9000",
        "LOG_LEVEL": "info",
        "SERVICE_NAME": "shop",
        "SERVICE_VERSION": "0.1.0",
        "READY_TIMEOUT_SECONDS": "2",
        "REDIS_URL": "redis://redis.example.internal:6379/0",
    }
    assert spec["secret_env"] == ["DATABASE_URL"]
    assert sorted(spec["env"]) == sorted([*spec["plain_env"], *spec["secret_env"]])
    # Nomad and Swarm get the worker count the CPU limit (500m) makes: whole cores, rounded up
    assert spec["plain_env"] == {**spec["config"], "WEB_CONCURRENCY": "1"}
    assert spec["image_repository"] == "ghcr.io/acme/shop" and spec["image_tag"] == "0.1.0"
    assert spec["millicores"] == {"requests": 100, "limits": 500}
    assert spec["memory_mib"] == {"requests": 128, "limits": 256}
    assert spec["nomad_resources"] == {"cpu": 100, "memory": 128, "memory_max": 256}
    assert spec["swarm_resources"] == {
        "reservations": {"cpus": "0.1", "memory": "128M"},
        "limits": {"cpus": "0.5", "memory": "256M"},
    }
    assert spec["probes"]["readiness"]["path"] == spec["ready_path"] == "/readyz"
    assert spec["probes"]["readiness"]["timeout"] == ext.catalog.READY_TIMEOUT_SECONDS + 1
    assert spec["probes"]["liveness"]["path"] == spec["health_path"] == "/healthz"
    # the image's health check requests the liveness path on the port the app reads from PORT
    assert spec["healthcheck"][0] == "python" and "/healthz" in spec["healthcheck"][-1]
    assert "os.environ['PORT']" in spec["healthcheck"][-1]


@pytest.mark.parametrize("runtime", list(ext.catalog.RUNTIMES))
def test_every_runtime_has_one_exec_form_health_check_of_the_liveness_path(runtime):
    """The one command the Dockerfile's HEALTHCHECK, compose and Swarm run (the agreement test holds
    them to it): exec form, requesting the liveness path; a port it does not hard-code."""
    spec = ext.derive({**ANSWERS, "runtime": runtime, "app_port": 9000, "data_services": []})["service_spec"]
    command = spec["healthcheck"]
    assert command and all(isinstance(arg, str) for arg in command)
    assert any(spec["health_path"] in arg for arg in command), command
    assert not any("9000" in arg or "{" in arg.replace("${PORT}", "") for arg in command), command


@pytest.mark.parametrize(
    ("orchestrator", "endpoint"),
    [
        ("kubernetes", "http://otel-collector.observability.svc:4318"),
        ("helm", "http://otel-collector.observability.svc:4318"),
        ("nomad", "http://otel-collector.example.internal:4318"),
        ("swarm", "http://otel-collector.example.internal:4318"),
    ],
)
def test_service_spec_points_traces_at_a_collector_the_orchestrator_can_reach(orchestrator, endpoint):
    answers = {**ANSWERS, "orchestrator": orchestrator, "observability": True}
    assert ext.derive(answers)["service_spec"]["config"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == endpoint
    assert (
        "OTEL_EXPORTER_OTLP_ENDPOINT"
        not in ext.derive({**answers, "observability": False})["service_spec"]["config"]
    )


def test_service_spec_without_data_services_has_no_secrets():
    spec = ext.derive({**ANSWERS, "data_services": []})["service_spec"]
    assert spec["secret_env"] == [] and "REDIS_URL" not in spec["config"]


def test_every_orchestrator_is_available_with_its_checks():
    for key in ("kubernetes", "helm", "nomad", "swarm"):
        assert ext.unavailable_error("orchestrator", key) == ""
        info = ext.derive({**ANSWERS, "orchestrator": key})["orchestrator_info"]
        assert info["manifests"]["help"] and "{" not in info["manifests"]["command"]
        assert info["migration"]
    helm = ext.derive({**ANSWERS, "project_slug": "a" * 58, "orchestrator": "helm"})["orchestrator_info"]
    assert helm["release"] == "a" * 53, "Helm refuses release names over 53 characters"
    assert f"helm template {'a' * 53} deploy/helm/{'a' * 58}" in helm["manifests"]["command"]


@pytest.fixture(scope="module")
def deploy_docs():
    return jinja_env().get_template("includes/deploy_docs.jinja").module


@pytest.mark.parametrize("orchestrator", ["helm", "nomad", "swarm"])
def test_macro_deploying_section_names_every_secret(deploy_docs, orchestrator):
    derived = ext.derive({**ANSWERS, "orchestrator": orchestrator})
    spec, info = derived["service_spec"], derived["orchestrator_info"]
    text = str(getattr(deploy_docs, orchestrator)("shop", spec, derived["migration"], info))
    assert text.startswith("## Deploying\n") and not text.endswith("\n")
    secret = "shop_database_url" if orchestrator == "swarm" else "DATABASE_URL"
    assert secret in text and "REDIS_URL" not in text, "only credentials need a step by hand"
    command = {"helm": "helm install shop", "nomad": "nomad job run", "swarm": "docker stack deploy"}
    assert command[orchestrator] in text
    assert "UID 10001" in text.replace("\n", " ")
    for svc in derived["services"]:
        source = str(getattr(deploy_docs, orchestrator + "_source")(svc, "shop", spec))
        assert "\n" not in source
        if svc["secret"]:
            assert svc["env"] in source or svc["env"].lower() in source
        else:
            assert svc["prod_url"] in source


def render_template_file(relative: str, answers: dict, **overrides) -> str:
    """A template file rendered with plain Jinja and derive()'s context (as Copier would, minus paths)."""
    env = jinja_env()
    context = {
        "project_name": "Shop",
        "description": "Sells things.",
        "owner": "group:default/shop",
        "observability": True,
        **answers,
    }
    context.update(ext.derive(context))
    for key, value in overrides.items():
        context[key] = {**context[key], **value} if isinstance(value, dict) else value
    return env.get_template(relative).render(context)


@pytest.mark.parametrize("secret_files", [True, False])
def test_swarm_stack_delivers_credentials_with_or_without_secret_files(secret_files):
    """A runtime whose app cannot read <NAME>_FILE gets its credentials from the deploying shell."""
    path = "template/deploy/{% if orchestrator == 'swarm' %}swarm{% endif %}/stack.yaml.jinja"
    text = render_template_file(
        path, {**ANSWERS, "orchestrator": "swarm"}, service_spec={"secret_files": secret_files}
    )
    stack = yaml.safe_load(text)
    environment = stack["services"]["app"]["environment"]
    if secret_files:
        assert environment["DATABASE_URL_FILE"] == "/run/secrets/DATABASE_URL"
        assert stack["secrets"] == {"database_url": {"name": "shop_database_url", "external": True}}
    else:
        assert environment["DATABASE_URL"] == "${DATABASE_URL:?set DATABASE_URL in the deploying shell}"
        assert "secrets" not in stack and "secrets" not in stack["services"]["app"]
        assert "export them in the deploying shell first:\n#   DATABASE_URL\n" in text
    assert "\n\n\n" not in text and text.endswith("\n")


def test_default_services_follow_the_runtime(monkeypatch):
    assert json.loads(ext.default_services("python")) == ["postgres", "redis"]
    monkeypatch.setitem(
        ext.catalog.RUNTIMES, "java", {**ext.catalog.RUNTIMES["java"], "services": ["postgres"]}
    )
    assert json.loads(ext.default_services("java")) == ["postgres"]
    monkeypatch.undo()
    for runtime in ext.catalog.RUNTIMES:
        assert ext.services_error(runtime, json.loads(ext.default_services(runtime))) == ""


# --- service mesh and secrets operators ---------------------------------------------------------------


@pytest.mark.parametrize("question", ["service_mesh", "secrets"])
def test_mesh_and_secrets_operators_need_a_kubernetes_orchestrator(question):
    table = {"service_mesh": ext.catalog.MESHES, "secrets": ext.catalog.SECRET_BACKENDS}[question]
    for value, entry in table.items():
        for orchestrator in ("kubernetes", "helm", "nomad", "swarm"):
            message = ext.kubernetes_only_error(question, value, orchestrator)
            kubernetes = orchestrator in ("kubernetes", "helm")
            assert (message == "") == (kubernetes or not entry["needs_kubernetes"]), (value, orchestrator)
            if message:
                assert message == f"{value} needs kubernetes or helm"
    assert "unknown" in ext.kubernetes_only_error(question, "consul", "kubernetes")


def test_derive_mesh_defaults_to_none_and_names_what_each_mesh_needs():
    assert ext.derive(dict(ANSWERS))["mesh"]["enabled"] is False
    for key in ("istio", "linkerd"):
        mesh = ext.derive({**ANSWERS, "service_mesh": key})["mesh"]
        assert mesh["enabled"] and mesh["key"] == key
        assert mesh["pod_labels"] or mesh["pod_annotations"]
        assert mesh["ingress"] and mesh["egress"] and "CNI" in mesh["cni"].upper()
        assert all(isinstance(port, int) for rule in mesh["egress"] for port in rule["ports"])
    assert ext.derive({**ANSWERS, "service_mesh": "istio"})["mesh"]["egress"][0]["ports"] == [15012]
    linkerd = ext.derive({**ANSWERS, "service_mesh": "linkerd"})["mesh"]
    assert linkerd["pod_annotations"]["config.linkerd.io/default-inbound-policy"] == "all-authenticated"
    assert {rule["port"] for rule in linkerd["ingress"]} == {4143, 4191}


def test_derive_secrets_keep_the_secret_name_and_keys_the_deployment_reads():
    plain = ext.derive(dict(ANSWERS))["secrets_info"]
    assert plain["key"] == "kubernetes" and plain["component"] == ""
    for backend in ("external-secrets", "vault"):
        info = ext.derive({**ANSWERS, "secrets": backend})["secrets_info"]
        assert info["component"] == backend and info["secret_name"] == "shop-secrets"
        assert info["remote_keys"] == {"DATABASE_URL": "shop-database-url"}, "credentials only"
        none = ext.derive({**ANSWERS, "secrets": backend, "data_services": ["redis"]})["secrets_info"]
        assert none["component"] == "", "no credential, nothing for an operator to fill"
    vault = ext.derive({**ANSWERS, "secrets": "vault"})["secrets_info"]["vault"]
    assert vault["role"] == vault["path"] == "shop" and vault["address"].startswith("https://")


@pytest.mark.parametrize(
    ("cloud", "kind", "provider"),
    [
        ("none", "ClusterSecretStore", None),
        ("aws", "SecretStore", "aws"),
        ("gcp", "SecretStore", "gcpsm"),
        ("azure", "SecretStore", "azurekv"),
    ],
)
def test_derive_external_secret_store_per_cloud(cloud, kind, provider):
    store = ext.derive({**ANSWERS, "cloud": cloud, "secrets": "external-secrets"})["secrets_info"]["store"]
    assert store["kind"] == kind and store["create"] == (provider is not None)
    assert list(store["provider"]) == ([provider] if provider else [])
    if provider:
        assert "'name': 'shop'" in str(store["provider"]), "signs in as the app's ServiceAccount"


def test_remote_keys_are_valid_names_in_every_cloud_store():
    import re

    for env in ext.catalog.DATA_SERVICES.values():
        key = ext.remote_key("a" * 63, env["env"])
        # Azure Key Vault: 1-127 of [0-9a-zA-Z-]; Secret Manager: [A-Za-z0-9_-]{1,255}; AWS: 512.
        assert re.fullmatch(r"[0-9a-z-]{1,127}", key), key


def test_macro_yaml_mapping_quotes_every_scalar(k8s):
    data = {"aws": {"region": "us-east-1", "auth": {"jwt": {"name": 'a: "b" #c'}}}, "top": "yes"}
    text = str(k8s.yaml_mapping(data)).strip()
    assert yaml.safe_load(text) == data
    assert '"yes"' in text


@pytest.mark.parametrize("mesh", ["istio", "linkerd"])
def test_macro_mesh_patches_label_the_pods_and_open_the_ports(k8s, mesh):
    info = ext.derive({**ANSWERS, "service_mesh": mesh})["mesh"]
    patches = yaml.safe_load(str(k8s.mesh_patches(info, "shop")))
    deployment, policy, *metrics = patches
    assert deployment["target"] == {"kind": "Deployment", "name": "shop"}
    metadata = yaml.safe_load(deployment["patch"])["spec"]["template"]["metadata"]
    assert metadata.get("labels", {}) == info["pod_labels"]
    assert metadata.get("annotations", {}) == info["pod_annotations"]
    ops = yaml.safe_load(policy["patch"])
    assert {op["path"] for op in ops} == {"/spec/ingress/-", "/spec/egress/-"}
    opened = {p["port"] for op in ops for p in op["value"]["ports"]}
    assert opened == {r["port"] for r in info["ingress"]} | {p for r in info["egress"] for p in r["ports"]}
    if "port" in info["metrics"]:  # Istio: the Service and the ServiceMonitor point at the merged metrics
        service, monitor = metrics
        assert (service["target"], monitor["target"]) == (
            {"kind": "Service", "name": "shop"},
            {"kind": "ServiceMonitor", "name": "shop"},
        )
        (added,) = yaml.safe_load(service["patch"])
        assert added["value"]["port"] == added["value"]["targetPort"] == info["metrics"]["port"]
        assert {op["value"] for op in yaml.safe_load(monitor["patch"])} == {
            info["metrics"]["port_name"],
            info["metrics"]["path"],
        }
    else:
        assert metrics == []


@pytest.mark.parametrize("backend", ["external-secrets", "vault"])
def test_macro_secrets_section_names_every_store_entry(deploy_docs, backend):
    info = ext.derive({**ANSWERS, "cloud": "aws", "secrets": backend})["secrets_info"]
    text = str(deploy_docs.secrets_section(info, "shop"))
    assert text.startswith("### Secrets: ") and "shop-secrets" in text
    assert ("shop-database-url" in text) == (backend == "external-secrets")
    assert ("secret/shop" in text) == (backend == "vault")
    assert str(deploy_docs.secrets_section(ext.derive(dict(ANSWERS))["secrets_info"], "shop")) == ""


@pytest.mark.parametrize("mesh", ["none", "istio", "linkerd"])
def test_macro_mesh_section_says_what_the_cluster_needs(deploy_docs, mesh):
    info = ext.derive({**ANSWERS, "service_mesh": mesh})["mesh"]
    text = str(deploy_docs.mesh_section(info, "shop", "values `mesh`"))
    if mesh == "none":
        assert text == ""
    else:
        assert text.startswith(f"### Service mesh: {info['label']}") and info["cni"] in text
        assert "Probes keep working" in text


def test_macro_helm_section_says_an_operator_fills_the_secret(deploy_docs):
    derived = ext.derive({**ANSWERS, "orchestrator": "helm", "secrets": "vault"})
    spec, info = derived["service_spec"], derived["orchestrator_info"]
    text = str(deploy_docs.helm("shop", spec, derived["migration"], info, "vault"))
    assert "`secrets.provider: vault`" in text and "kubectl create secret" not in text
    assert "kubectl create secret" in str(deploy_docs.helm("shop", spec, derived["migration"], info))


def test_compile_cache_reuses_code_and_still_renders_each_context():
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined)
    ext.cache_compiles(env)
    source = "{% if runtime == 'go' %}app{% endif %}"
    first, second = env.from_string(source), env.from_string(source)
    assert first is not second  # a fresh Template per call...
    assert first.root_render_func.__code__ is second.root_render_func.__code__  # ...from one compile
    assert first.render(runtime="go") == "app" and second.render(runtime="node") == ""
    assert env.from_string("{{ x }}").render(x=1) == "1"
