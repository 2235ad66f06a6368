"""Terraform tier: every cloud's infra/terraform/, with no data services, the selectable ones and every
service in the catalog, is formatted, valid, consistent across clouds and passes checkov.

Copier renders the first two; the third is rendered with plain Jinja (support.infra), because
Copier still refuses the planned services whose Terraform already exists. AWS is initialised and
validated against the machine's provider mirror; the GCP and Azure providers cannot be installed
offline, so their configurations are parsed and their references resolved here.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
from pathlib import Path

import hcl2
import pytest

from matrix import (
    DEFAULT,
    Variant,
    implemented,
    kubernetes_orchestrators,
    load_extension,
    questions,
    supported_services,
)
from support import tools
from support.infra import render_infra

catalog = load_extension().catalog

CLOUDS = [cloud for cloud in implemented("cloud") if "terraform" in catalog.CLOUDS[cloud]]
SELECTABLE = tuple(implemented("data_services"))
EVERY = tuple(catalog.DATA_SERVICES)
# "external-secrets": the services of the default runtime with secrets=external-secrets, the same
# render test_mesh.py checks the ExternalSecret of (Terraform then writes the entries it reads).
EXTERNAL = "external-secrets"
# "gitlab-no-services": no data services, and GitLab CI as the identity Terraform trusts (GitHub in
# the others), so every engine below also checks the GitLab OIDC trust.
BARE = "gitlab-no-services"
# "<orchestrator>-vms": a Nomad job or a Swarm stack on the cloud's virtual machines (no Kubernetes),
# with the selectable services the cloud manages (the others are refused there: cloud_error).
VMS = {
    f"{orchestrator}-vms": orchestrator
    for orchestrator in implemented("orchestrator")
    if orchestrator not in catalog.KUBERNETES_ORCHESTRATORS
}
CASES = [
    (cloud, label)
    for cloud in CLOUDS
    for label in (BARE, "selectable", "every-service", EXTERNAL, *VMS)
    if not (label == "every-service" and EVERY == SELECTABLE)
    and (label not in VMS or cloud in implemented("cloud", orchestrator=VMS[label]))
]
IDS = [f"{cloud}-{label}" for cloud, label in CASES]
STANDARD_FILES = {
    "versions.tf",
    "providers.tf",
    "variables.tf",
    "outputs.tf",
    "main.tf",
    "network.tf",
    "kubernetes.tf",
    "registry.tf",
    "identity.tf",
    "backend.tf.example",
    "terraform.tfvars.example",
    "README.md",
}
COMMON_OUTPUTS = {
    "cluster_name",
    "cluster_endpoint",
    "kubeconfig_command",
    "registry_url",
    "service_account_annotations",
    "ci_variables",
}
# On virtual machines: the app's load balancer and a way in, instead of a Kubernetes API.
VM_FILES = {"vms.tf", "cloud-init.yaml.tftpl"}
VM_OUTPUTS = {"cluster_name", "app_url", "connect_command", "registry_url", "ci_variables"}


def services_of(label: str, cloud: str) -> tuple[str, ...]:
    if label == EXTERNAL:
        return supported_services(DEFAULT.runtime)
    if label in VMS:
        return tuple(svc for svc in SELECTABLE if catalog.CLOUDS[cloud]["services"][svc]["managed"])
    return {BARE: (), "selectable": SELECTABLE, "every-service": EVERY}[label]


def external_secrets_variant(cloud: str) -> Variant:
    orchestrator = kubernetes_orchestrators()[0]
    return Variant(
        DEFAULT.runtime, orchestrator, cloud, services_of(EXTERNAL, cloud), (("secrets", EXTERNAL),)
    )


@pytest.fixture(scope="session")
def terraform_dirs(render, tmp_path_factory):
    """(cloud, label) -> a pristine infra/terraform directory (never initialised: tests copy it)."""
    dirs = {}
    for cloud, label in CASES:
        services = services_of(label, cloud)
        if label == "every-service":
            out = tmp_path_factory.mktemp(f"infra-{cloud}-every")
            dirs[(cloud, label)] = render_infra({"cloud": cloud, "data_services": list(services)}, out)
        elif label == EXTERNAL:
            dirs[(cloud, label)] = render(external_secrets_variant(cloud)) / "infra" / "terraform"
        else:
            extra = (("ci_provider", "gitlab"),) if label == BARE else ()
            orchestrator = VMS.get(label, DEFAULT.orchestrator)
            variant = Variant(DEFAULT.runtime, orchestrator, cloud, services, extra)
            dirs[(cloud, label)] = render(variant) / "infra" / "terraform"
    return dirs


def copy_of(directory: Path, tmp_path: Path) -> Path:
    target = tmp_path / "terraform"
    shutil.copytree(directory, target, ignore=shutil.ignore_patterns(".terraform*"))
    return target


def remove_lines(directory: Path, pattern: re.Pattern) -> None:
    """Delete what `pattern` matches (inline exceptions) from every .tf file of a copied module."""
    for path in directory.glob("*.tf"):
        path.write_text(pattern.sub("", path.read_text()))


def encryption_off(terraform_dirs, tmp_path: Path) -> Path:
    """A copy of AWS with the selectable services, PostgreSQL storage and Redis transit unencrypted."""
    directory = copy_of(terraform_dirs[("aws", "selectable")], tmp_path)
    for name, on, off in [
        ("postgres.tf", "storage_encrypted     = true", "storage_encrypted     = false"),
        ("redis.tf", "transit_encryption_enabled = true", "transit_encryption_enabled = false"),
    ]:
        path = directory / name
        text = path.read_text()
        assert on in text, f"{name} no longer says {on!r}"
        path.write_text(text.replace(on, off))
    return directory


# Callers read the exit code (and the output) themselves.
run = functools.partial(tools.run, check=False)


# --- parsing ---------------------------------------------------------------------------------------


def unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def parse(directory: Path) -> dict:
    """Declarations of a module: variables, outputs, locals, resources, data, ephemeral, providers."""
    module = {
        "variable": {},
        "output": {},
        "locals": set(),
        "resource": set(),
        "data": set(),
        "ephemeral": set(),
        "required_providers": {},
        "required_version": None,
    }
    for path in sorted(directory.glob("*.tf")):
        doc = hcl2.loads(path.read_text())
        for block in doc.get("variable", []):
            for name, body in block.items():
                module["variable"][unquote(name)] = body
        for block in doc.get("output", []):
            for name, body in block.items():
                module["output"][unquote(name)] = body
        for block in doc.get("locals", []):
            module["locals"] |= {key for key in block if not key.startswith("__")}
        for kind in ("resource", "data", "ephemeral"):
            for block in doc.get(kind, []):
                for rtype, named in block.items():
                    for name in named:
                        module[kind].add(f"{unquote(rtype)}.{unquote(name)}")
        for block in doc.get("terraform", []):
            module["required_version"] = block.get("required_version")
            for providers in block.get("required_providers", []):
                for name, spec in providers.items():
                    if not name.startswith("__"):
                        module["required_providers"][name] = spec
    return module


def code(directory: Path) -> str:
    """Every .tf file without its comment lines (references are looked for in code only)."""
    lines = []
    for path in sorted(directory.glob("*.tf")):
        lines += [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
    return "\n".join(lines)


def reference_errors(directory: Path) -> list[str]:
    """Every var., local., data., ephemeral. and resource reference resolves to a declaration."""
    module = parse(directory)
    text = code(directory)
    prefixes = {name.split("-")[0] for name in module["required_providers"]}
    errors = []
    for name in sorted(set(re.findall(r"\bvar\.([a-z_][a-z0-9_]*)", text))):
        if name not in module["variable"]:
            errors.append(f"var.{name} is not declared")
    for name in sorted(set(re.findall(r"\blocal\.([a-z_][a-z0-9_]*)", text))):
        if name not in module["locals"]:
            errors.append(f"local.{name} is not declared")
    for kind in ("data", "ephemeral"):
        for ref in sorted(set(re.findall(rf"\b{kind}\.([a-z0-9_]+\.[a-z_][a-z0-9_]*)", text))):
            if ref not in module[kind]:
                errors.append(f"{kind}.{ref} is not declared")
    alternatives = "|".join(sorted(prefixes))
    resource_ref = re.compile(r"(?<![\w.\"-])((?:" + alternatives + r")_[a-z0-9_]+)\.([a-z_][a-z0-9_]*)\b")
    for rtype, name in sorted(set(resource_ref.findall(text))):
        if f"{rtype}.{name}" not in module["resource"]:
            errors.append(f"{rtype}.{name} is not declared")
    for name in module["variable"]:
        if not re.search(rf"\bvar\.{name}\b", text):
            errors.append(f"variable {name} is never used")
    used_types = {ref.split(".")[0] for ref in module["resource"] | module["data"] | module["ephemeral"]}
    for rtype in sorted(used_types):
        if rtype.split("_")[0] not in prefixes:
            errors.append(f"{rtype}: its provider is not in required_providers")
    used_prefixes = {rtype.split("_")[0] for rtype in used_types}
    for name in module["required_providers"]:
        if name.split("-")[0] not in used_prefixes or (
            name.endswith("-beta") and f"provider = {name}" not in text
        ):
            errors.append(f"provider {name} is required but never used")
    return errors


def declaration_errors(directory: Path) -> list[str]:
    module = parse(directory)
    errors = []
    for name, body in module["variable"].items():
        if not unquote(str(body.get("description", ""))).strip():
            errors.append(f"variable {name} has no description")
        if "type" not in body:
            errors.append(f"variable {name} has no type")
    for name, body in module["output"].items():
        if not unquote(str(body.get("description", ""))).strip():
            errors.append(f"output {name} has no description")
        if "value" not in body:
            errors.append(f"output {name} has no value")
    if not module["required_version"]:
        errors.append("terraform.required_version is not set")
    for name, spec in module["required_providers"].items():
        if not {"source", "version"} <= set(spec):
            errors.append(f"provider {name} is not pinned (source and version)")
    return errors


# --- render ----------------------------------------------------------------------------------------


@pytest.mark.render
@pytest.mark.parametrize(("cloud", "label"), CASES, ids=IDS)
def test_standard_module_layout_with_one_file_per_service(terraform_dirs, cloud, label):
    directory = terraform_dirs[(cloud, label)]
    names = {path.name for path in directory.iterdir()}
    services = services_of(label, cloud)
    standard = STANDARD_FILES - {"kubernetes.tf"} | VM_FILES if label in VMS else STANDARD_FILES
    assert names == standard | {"kms.tf" if cloud != "azure" else "keyvault.tf"} | {
        f"{svc}.tf" for svc in services
    }
    readme = (directory / "README.md").read_text()
    for svc in services:
        assert catalog.CLOUDS[cloud]["services"][svc]["offering"] in readme
        if not catalog.CLOUDS[cloud]["services"][svc]["managed"]:
            assert catalog.CLOUDS[cloud]["services"][svc]["why"] in readme, "say why it runs in-cluster"


@pytest.mark.render
@pytest.mark.parametrize("cloud", CLOUDS)
def test_plain_jinja_render_matches_copier(terraform_dirs, tmp_path, cloud):
    """support.infra renders exactly what Copier renders, so the every-service checks are sound."""
    copier_dir = terraform_dirs[(cloud, "selectable")]
    plain = render_infra({"cloud": cloud, "data_services": list(SELECTABLE)}, tmp_path)
    copier_files = {p.name: p.read_text() for p in copier_dir.iterdir() if p.is_file()}
    plain_files = {p.name: p.read_text() for p in plain.iterdir() if p.is_file()}
    assert plain_files == copier_files


@pytest.mark.render
def test_generated_readme_has_an_infrastructure_section_per_cloud(render):
    for cloud in implemented("cloud"):
        project = render(Variant(DEFAULT.runtime, DEFAULT.orchestrator, cloud, DEFAULT.data_services))
        text = (project / "README.md").read_text()
        section = text.split("## Infrastructure", 1)[1].split("\n## ", 1)[0]
        if cloud == "none":
            assert "kind" in section and "nothing to pay for" in section
            assert not (project / "infra").exists()
        else:
            tf = catalog.CLOUDS[cloud]["terraform"]
            assert tf["kubernetes"] in section and "infra/terraform/README.md" in section
            for svc in DEFAULT.data_services:
                assert catalog.CLOUDS[cloud]["services"][svc]["offering"] in section


def unenforced(cloud: str, directory: Path) -> set[str]:
    """The controls the Kubernetes manifests declare that the module's cluster would not enforce."""
    resources = bodies(directory)

    def of_type(rtype: str) -> list[dict]:
        return [body for (kind, _), body in resources.items() if kind == rtype]

    def flag(value) -> bool:
        return str(value).lower() in ("true", '"true"')

    missing = set()
    if cloud == "aws":
        (cluster,) = of_type("aws_eks_cluster")
        cni = [body for body in of_type("aws_eks_addon") if unquote(body["addon_name"]) == "vpc-cni"]
        if not (cni and re.search(r'enableNetworkPolicy\W+true"', str(cni[0].get("configuration_values")))):
            missing.add("network_policy")
        elif not all(
            "aws_eks_addon.vpc_cni" in str(group.get("depends_on")) for group in of_type("aws_eks_node_group")
        ):
            missing.add("network_policy")  # nodes would run pods before the policy agent exists
        issuers = [str(body["url"]) for body in of_type("aws_iam_openid_connect_provider")]
        if not any("aws_eks_cluster.main.identity" in url for url in issuers):
            missing.add("workload_identity")
        encrypted = [unquote(r) for block in cluster.get("encryption_config", []) for r in block["resources"]]
        if "secrets" not in encrypted:
            missing.add("encryption")
    elif cloud == "gcp":
        (cluster,) = of_type("google_container_cluster")
        policy = cluster.get("network_policy", [{}])[0]
        if unquote(str(cluster.get("datapath_provider"))) != "ADVANCED_DATAPATH" and not flag(
            policy.get("enabled")
        ):
            missing.add("network_policy")
        metadata = [
            unquote(config["workload_metadata_config"][0]["mode"])
            for body in [cluster, *of_type("google_container_node_pool")]
            for config in body.get("node_config", [{"workload_metadata_config": [{"mode": "unset"}]}])
        ]
        if not cluster.get("workload_identity_config") or set(metadata) != {"GKE_METADATA"}:
            missing.add("workload_identity")
        if unquote(str(cluster.get("database_encryption", [{}])[0].get("state"))) != "ENCRYPTED":
            missing.add("encryption")
    else:
        (cluster,) = of_type("azurerm_kubernetes_cluster")
        if unquote(str(cluster["network_profile"][0].get("network_policy"))) not in (
            "azure",
            "calico",
            "cilium",
        ):
            missing.add("network_policy")
        if not (flag(cluster.get("oidc_issuer_enabled")) and flag(cluster.get("workload_identity_enabled"))):
            missing.add("workload_identity")
        if not cluster.get("key_management_service"):
            missing.add("encryption")
    return missing


@pytest.mark.lint
@pytest.mark.parametrize("cloud", CLOUDS)
def test_cluster_enforces_what_the_manifests_declare(render, terraform_dirs, cloud):
    """Each control the README's enforcement table names is switched on in the cluster's Terraform;
    Pod Security admission is built into every Kubernetes version the questions offer."""
    assert DEFAULT.orchestrator == "kubernetes"
    project = render(Variant(DEFAULT.runtime, DEFAULT.orchestrator, cloud, SELECTABLE))
    assert unenforced(cloud, terraform_dirs[(cloud, "selectable")]) == set()
    readme = (project / "README.md").read_text()
    for key, (label, common) in catalog.CLUSTER_CONTROLS.items():
        by = common or catalog.CLOUDS[cloud]["terraform"]["enforcement"][key]
        assert f"| {label} | {by} |" in readme
    versions = [tuple(map(int, v.split("."))) for v in questions()["kubernetes_version"]["choices"]]
    assert min(versions) >= (1, 25), "PodSecurity admission is GA and always on from 1.25"
    base = project / "deploy" / "kubernetes"
    assert (
        "pod-security.kubernetes.io/enforce: restricted"
        in (base / "overlays" / "prod" / "namespace.yaml").read_text()
    )
    assert "policyTypes" in (base / "base" / "networkpolicy.yaml").read_text()


@pytest.mark.lint
def test_enforcement_check_catches_an_unenforced_network_policy(terraform_dirs, tmp_path):
    directory = copy_of(terraform_dirs[("aws", "selectable")], tmp_path)
    path = directory / "kubernetes.tf"
    text = path.read_text()
    assert 'enableNetworkPolicy = "true"' in text
    path.write_text(text.replace('enableNetworkPolicy = "true"', 'enableNetworkPolicy = "false"'))
    assert unenforced("aws", directory) == {"network_policy"}


# --- virtual machines: the boot script Terraform hands every node -----------------------------------


def user_data(directory: Path, role: str) -> str:
    """cloud-init.yaml.tftpl as `templatefile` renders it for a role (a sample value for the rest)."""
    text = (directory / "cloud-init.yaml.tftpl").read_text()
    assert "%{" not in text, "only ${name} interpolations: the test renders no template directives"
    values = {"role": role}
    return re.sub(
        r"(?<!\$)\$\{(\w+)\}", lambda m: values.get(m.group(1), f"sample-{m.group(1)}"), text
    ).replace("$${", "${")


VM_CASES = [(cloud, label) for cloud, label in CASES if label in VMS]


@pytest.mark.lint
@pytest.mark.parametrize(("cloud", "label"), VM_CASES, ids=[f"{c}-{label}" for c, label in VM_CASES])
def test_nodes_boot_into_the_cluster_with_a_valid_cloud_config(terraform_dirs, tmp_path, cloud, label):
    """The variables `vms.tf` hands `templatefile` are exactly those the boot template reads; for
    each role it is a cloud-config cloud-init's own schema accepts, whose join script passes
    shellcheck and takes that role."""
    directory = terraform_dirs[(cloud, label)]
    template = (directory / "cloud-init.yaml.tftpl").read_text()
    call = re.search(r"templatefile\([^,]+cloud-init\.yaml\.tftpl\", \{(.*?)\}\)", code(directory), re.S)
    assert call, "vms.tf renders cloud-init.yaml.tftpl with templatefile"
    handed = set(re.findall(r"^\s*(\w+)\s*=", call.group(1), re.M))
    assert "role" in handed
    assert handed == set(re.findall(r"(?<!\$)\$\{(\w+)\}", template))
    facts = catalog.ORCHESTRATORS[VMS[label]]["vms"]
    for role in (facts["control"], facts["workers"]):
        rendered = tmp_path / f"{role}.yaml"
        rendered.write_text(user_data(directory, role))
        assert rendered.read_text().startswith("#cloud-config\n")
        proc = run(["cloud-init", "schema", "--config-file", str(rendered)], tmp_path)
        assert proc.returncode == 0 and "Valid cloud-config" in proc.stdout, proc.stdout + proc.stderr
        import yaml

        config = yaml.safe_load(rendered.read_text())
        (script,) = [f for f in config["write_files"] if f["path"] == "/usr/local/sbin/join-cluster"]
        assert f'role="{role}"' in script["content"]
        assert config["runcmd"] == [["/usr/local/sbin/join-cluster"]]
        path = tmp_path / f"join-{role}.sh"
        path.write_text(script["content"])
        check = run([tools.venv_tool("shellcheck"), str(path)], tmp_path)
        assert check.returncode == 0, check.stdout


@pytest.mark.lint
def test_cloud_config_check_catches_a_broken_boot_file(tmp_path):
    broken = tmp_path / "user-data.yaml"
    broken.write_text("#cloud-config\npackages: docker\nruncmd: 5\n")
    proc = run(["cloud-init", "schema", "--config-file", str(broken)], tmp_path)
    assert proc.returncode != 0


# --- lint ------------------------------------------------------------------------------------------


@pytest.mark.lint
@pytest.mark.parametrize(("cloud", "label"), CASES, ids=IDS)
def test_terraform_fmt_is_clean(terraform_dirs, cloud, label):
    proc = run(
        [str(tools.terraform()), "fmt", "-check", "-recursive", "-diff", "-no-color"],
        terraform_dirs[(cloud, label)],
        env=tools.terraform_env(),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(scope="session")
def terraform_env(tmp_path_factory):
    """Environment for `terraform init`: the machine's provider mirror, else the registry."""
    config = tools.terraform_cli_config(tmp_path_factory.mktemp("terraform-cli"))
    return {**tools.terraform_env(), "TF_CLI_CONFIG_FILE": str(config), "TF_IN_AUTOMATION": "1"}


def require_providers(directory: Path) -> None:
    """Skip, saying why, where no provider the module needs can be installed: `validate` loads each
    provider's schema. On our machines the mirror holds hashicorp/aws alone and no registry is reachable."""
    sources = [unquote(str(spec["source"])) for spec in parse(directory)["required_providers"].values()]
    missing = tools.unavailable_providers(sources)
    if missing:
        pytest.skip(
            f"terraform validate needs {', '.join(missing)}: no provider mirror on this machine holds it "
            f"and {tools.registry_host()} is unreachable (the structure checks below still run)"
        )


def init_and_validate(directory: Path, env: dict) -> subprocess.CompletedProcess:
    cli = str(tools.terraform())
    init = run([cli, "init", "-backend=false", "-input=false", "-no-color"], directory, env=env)
    assert init.returncode == 0, init.stdout + init.stderr
    return run([cli, "validate", "-no-color", "-json"], directory, env=env)


@pytest.mark.lint
@pytest.mark.parametrize(("cloud", "label"), CASES, ids=IDS)
def test_inits_and_validates(terraform_dirs, terraform_env, tmp_path, cloud, label):
    directory = copy_of(terraform_dirs[(cloud, label)], tmp_path)
    require_providers(directory)
    proc = init_and_validate(directory, terraform_env)
    result = json.loads(proc.stdout)
    assert result["valid"], json.dumps(result["diagnostics"], indent=2)
    assert result["error_count"] == 0 and result["warning_count"] == 0, result["diagnostics"]


@pytest.mark.lint
def test_validate_catches_an_undeclared_reference(terraform_dirs, terraform_env, tmp_path):
    directory = copy_of(terraform_dirs[("aws", BARE)], tmp_path)
    require_providers(directory)
    registry = directory / "registry.tf"
    registry.write_text(registry.read_text().replace("name                 = var.app_name", "name = var.app"))
    result = json.loads(init_and_validate(directory, terraform_env).stdout)
    assert not result["valid"]
    assert any("var.app" in json.dumps(d) for d in result["diagnostics"])


@pytest.mark.lint
@pytest.mark.parametrize(("cloud", "label"), CASES, ids=IDS)
def test_references_resolve_and_declarations_are_typed_and_described(terraform_dirs, cloud, label):
    directory = terraform_dirs[(cloud, label)]
    assert declaration_errors(directory) == []
    assert reference_errors(directory) == []


@pytest.mark.lint
def test_structure_checks_catch_breakage(terraform_dirs, tmp_path):
    directory = copy_of(terraform_dirs[("gcp", BARE)], tmp_path)
    registry = directory / "registry.tf"
    registry.write_text(
        registry.read_text()
        .replace("google_kms_crypto_key.main.id", "google_kms_crypto_key.missing.id")
        .replace('  description   = "Images of ${var.app_name}"\n', "")
    )
    outputs = directory / "outputs.tf"
    outputs.write_text(outputs.read_text().replace('  description = "Name of the Kubernetes cluster."\n', ""))
    assert "google_kms_crypto_key.missing is not declared" in reference_errors(directory)
    assert "output cluster_name has no description" in declaration_errors(directory)


@pytest.mark.lint
@pytest.mark.parametrize("label", sorted({label for _, label in CASES}))
def test_every_cloud_has_the_same_interface(terraform_dirs, label):
    """Same variable names and types, same outputs, whatever the cloud: nothing else branches on it
    (but for the data services' outputs, where a cloud offers fewer on virtual machines)."""
    modules = {
        cloud: parse(terraform_dirs[(cloud, label)]) for cloud in CLOUDS if (cloud, label) in terraform_dirs
    }

    def common_outputs(module: dict) -> set[str]:
        return {name for name in module["output"] if name.split("_")[0] not in catalog.DATA_SERVICES}

    reference = modules[CLOUDS[0]]
    for cloud, module in modules.items():
        assert {n: v["type"] for n, v in module["variable"].items()} == {
            n: v["type"] for n, v in reference["variable"].items()
        }, cloud
        assert common_outputs(module) == common_outputs(reference), cloud


@pytest.mark.lint
@pytest.mark.parametrize(("cloud", "label"), CASES, ids=IDS)
def test_outputs_cover_cluster_registry_ci_and_each_service(terraform_dirs, cloud, label):
    directory = terraform_dirs[(cloud, label)]
    module = parse(directory)
    expected = set(VM_OUTPUTS if label in VMS else COMMON_OUTPUTS)
    for svc in services_of(label, cloud):
        expected.add(f"{svc}_endpoint")
        if catalog.CLOUDS[cloud]["services"][svc]["auth"] == "password":
            expected.add(f"{svc}_credentials_secret")
    if label == EXTERNAL:
        expected.add("secret_store")
    assert set(module["output"]) == expected
    # the keys CI reads are the repository variables the workflow uses
    ci_keys = set(re.findall(r"^\s+([A-Z_]+)\s+=", (directory / "outputs.tf").read_text(), re.M))
    assert set(catalog.CLOUDS[cloud]["terraform"]["ci"]["inputs"].values()) <= ci_keys
    for name, body in module["output"].items():
        assert "password" not in str(body["value"]).lower(), f"{name} must not output a password"
    readme = (directory / "README.md").read_text()
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", readme, re.M))
    assert documented == set(module["variable"]) | set(module["output"])


def trusted_audiences(cloud: str, directory: Path, key: str) -> list[str]:
    """The token audiences the CI identity accepts, read from the module's trust resources."""
    resources = bodies(directory)
    if cloud == "aws":
        return [unquote(a) for a in resources[("aws_iam_openid_connect_provider", key)]["client_id_list"]]
    if cloud == "azure":
        return [unquote(a) for a in resources[("azurerm_federated_identity_credential", "ci")]["audience"]]
    oidc = resources[("google_iam_workload_identity_pool_provider", key)]["oidc"][0]
    # none listed: Google accepts the provider's own resource name
    return [unquote(a) for a in oidc.get("allowed_audiences", [])] or [
        "https://iam.googleapis.com/${GCP_WORKLOAD_IDENTITY_PROVIDER}"
    ]


@pytest.mark.lint
@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("label", ["selectable", BARE])
def test_ci_identity_trusts_the_main_branch_of_its_ci_system(render, terraform_dirs, cloud, label):
    """Terraform trusts the chosen CI system's issuer, for its main branch only, with the audience
    the pipeline asks its token for; the other system's issuer appears nowhere."""
    ci, other = ("gitlab", "github") if label == BARE else ("github", "gitlab")
    oidc = catalog.CI_PROVIDERS[ci]["oidc"]
    directory = terraform_dirs[(cloud, label)]
    identity = (directory / "identity.tf").read_text()
    assert f'"{oidc["issuer"]}"' in identity
    assert catalog.CI_PROVIDERS[other]["oidc"]["issuer"] + '"' not in identity
    subjects = re.findall(r'(?:"|\\")((?:repo|project_path):[^"\\]*)', identity)
    assert subjects and set(subjects) == {oidc["subject"]}, subjects
    assert oidc["subject"].endswith(("refs/heads/main", "ref:main"))
    variables = parse(directory)["variable"]
    assert oidc["variable"] in variables and catalog.CI_PROVIDERS[other]["oidc"]["variable"] not in variables
    audiences = trusted_audiences(cloud, directory, oidc["key"])
    if ci == "gitlab":
        import yaml

        project = directory.parent.parent
        plan = yaml.safe_load((project / ".gitlab-ci.yml").read_text())["plan"]
        (token,) = plan["id_tokens"].values()
        assert token["aud"] in audiences
        assert plan["rules"][0]["if"].startswith('$CI_COMMIT_BRANCH == "main" && ')


@pytest.mark.lint
@pytest.mark.parametrize("cloud", CLOUDS)
def test_workflow_runs_terraform_and_signs_in_with_oidc(render, cloud):
    import yaml

    project = render(Variant(DEFAULT.runtime, DEFAULT.orchestrator, cloud, DEFAULT.data_services))
    workflow = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    jobs = workflow["jobs"]
    commands = [step.get("run", "") for step in jobs["terraform"]["steps"]]
    assert "terraform fmt -check -recursive" in commands
    assert "terraform init -backend=false -input=false" in commands
    assert "terraform validate" in commands
    plan = jobs["plan"]
    assert plan["permissions"]["id-token"] == "write"
    login = next(
        step
        for step in plan["steps"]
        if step.get("uses", "").split("@")[0] == catalog.CLOUDS[cloud]["terraform"]["ci"]["action"]
    )
    assert re.fullmatch(r"[\w/.-]+@[0-9a-f]{40}", login["uses"]), "pinned to a commit"
    assert all("vars." in value for value in login["with"].values())
    assert "secrets." not in json.dumps(plan), "CI signs in with OIDC, never with stored keys"


# --- checkov ---------------------------------------------------------------------------------------


def checkov(directory: Path) -> dict:
    proc = run(
        [
            str(tools.checkov()),
            "--directory",
            str(directory),
            "--framework",
            "terraform",
            "--skip-download",
            "--output",
            "json",
        ],
        directory,
        env=tools.checkov_env(),
    )
    assert proc.stdout.strip(), proc.stderr
    report = json.loads(proc.stdout)
    reports = report if isinstance(report, list) else [report]
    if not reports or "results" not in reports[0]:
        return {"failed": [], "passed": 0, "skipped": []}
    results = reports[0]["results"]
    return {
        "failed": [
            f"{check['check_id']} {check['resource']} ({check['file_path']})"
            for check in results["failed_checks"]
        ],
        "passed": len(results["passed_checks"]),
        "skipped": [check["check_id"] for check in results["skipped_checks"]],
    }


@pytest.mark.lint
@pytest.mark.parametrize(("cloud", "label"), CASES, ids=IDS)
def test_checkov_finds_nothing(terraform_dirs, tmp_path, cloud, label):
    directory = copy_of(terraform_dirs[(cloud, label)], tmp_path)
    result = checkov(directory)
    assert result["failed"] == []
    assert result["passed"] > 30
    skips = suppressions(directory)
    for check_id, reason in skips:
        assert reason and len(reason.split()) >= 5, f"{check_id} is suppressed without a reason"
    # (a suppression on a for_each resource is reported once per instance)
    assert set(result["skipped"]) == {check_id for check_id, _ in skips}


SUPPRESSION = re.compile(r"^\s*#checkov:skip=([A-Z0-9_]+)(?::(.*))?$", re.M)


def suppressions(directory: Path) -> list[tuple[str, str]]:
    return [m for path in sorted(directory.glob("*.tf")) for m in SUPPRESSION.findall(path.read_text())]


WIDEST = [
    (c, lbl)
    for c, lbl in CASES
    if lbl in ("every-service" if EVERY != SELECTABLE else "selectable", EXTERNAL)
]


@pytest.mark.lint
@pytest.mark.parametrize(("cloud", "label"), WIDEST, ids=[f"{c}-{lbl}" for c, lbl in WIDEST])
def test_every_suppression_silences_a_real_finding(terraform_dirs, tmp_path, cloud, label):
    """Without the inline skips, checkov fails exactly the suppressed checks: none is stale."""
    directory = copy_of(terraform_dirs[(cloud, label)], tmp_path)
    expected = sorted(check_id for check_id, _ in suppressions(directory))
    remove_lines(directory, SUPPRESSION)
    failed = sorted(entry.split()[0] for entry in checkov(directory)["failed"])
    assert failed == expected


@pytest.mark.lint
def test_checkov_catches_encryption_turned_off(terraform_dirs, tmp_path):
    directory = encryption_off(terraform_dirs, tmp_path)
    failed = " ".join(checkov(directory)["failed"])
    assert "CKV_AWS_16 aws_db_instance.postgres" in failed
    assert "aws_elasticache_replication_group.redis" in failed


# --- Trivy ------------------------------------------------------------------------------------------


def trivy(directory: Path) -> list[str]:
    """Trivy's failed misconfiguration checks on a module, offline (the checks embedded in the
    binary), every severity: `ID resource (file)`."""
    proc = run(
        [
            str(tools.go_tool("trivy")),
            "config",
            "--skip-check-update",
            "--quiet",
            "--format",
            "json",
            "--cache-dir",
            str(tools.CACHE / "trivy-cache"),
            "--misconfig-scanners",
            "terraform",
            str(directory),
        ],
        directory,
    )
    assert proc.returncode == 0 and proc.stdout.strip(), proc.stderr
    return sorted(
        f"{finding['ID']} {finding['CauseMetadata'].get('Resource', '')} ({result['Target']})"
        for result in json.loads(proc.stdout).get("Results", [])
        for finding in result.get("Misconfigurations", [])
        if finding["Status"] == "FAIL"
    )


# `#trivy:ignore:<ID> <reason>` on the line above a block: Trivy reads the first word, we the rest.
TRIVY_IGNORE = re.compile(r"^[ \t]*#trivy:ignore:([A-Z0-9-]+)(?:[ \t]+(.*))?\n", re.M)


def trivy_ignores(directory: Path) -> list[tuple[str, str]]:
    """(check ID, reason) of every inline Trivy ignore in the module."""
    return [m for path in sorted(directory.glob("*.tf")) for m in TRIVY_IGNORE.findall(path.read_text())]


@pytest.mark.lint
@pytest.mark.parametrize(("cloud", "label"), CASES, ids=IDS)
def test_trivy_finds_nothing(terraform_dirs, tmp_path, cloud, label):
    directory = copy_of(terraform_dirs[(cloud, label)], tmp_path)
    assert trivy(directory) == []
    for check_id, reason in trivy_ignores(directory):
        assert len(reason.split()) >= 5, f"{check_id} is ignored without a reason"


@pytest.mark.lint
@pytest.mark.parametrize(("cloud", "label"), WIDEST, ids=[f"{c}-{lbl}" for c, lbl in WIDEST])
def test_every_trivy_ignore_silences_a_real_finding(terraform_dirs, tmp_path, cloud, label):
    """Without the inline ignores, Trivy fails exactly the ignored checks: none is stale."""
    directory = copy_of(terraform_dirs[(cloud, label)], tmp_path)
    expected = sorted({check_id for check_id, _ in trivy_ignores(directory)})
    remove_lines(directory, TRIVY_IGNORE)
    assert sorted({entry.split()[0] for entry in trivy(directory)}) == expected


@pytest.mark.lint
def test_trivy_catches_encryption_turned_off(terraform_dirs, tmp_path):
    directory = encryption_off(terraform_dirs, tmp_path)
    assert any("aws_db_instance.postgres" in finding for finding in trivy(directory))


def validation_patterns(directory: Path) -> dict[str, str]:
    """variable -> the regex its `can(regex(...))` validation applies."""
    patterns = {}
    for name, body in parse(directory)["variable"].items():
        for rule in body.get("validation", []):
            found = re.search(r'regex\(("(?:[^"\\]|\\.)*"), var\.' + name + r"\)", rule["condition"])
            if found:
                patterns[name] = json.loads(found.group(1))
    return patterns


@pytest.mark.render
@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("slug", ["hello-service", "9-lives", "a" * 63, "x"])
def test_defaults_and_examples_pass_their_own_validations(tmp_path, cloud, slug):
    """Every default (derived from any valid slug) and every example value satisfies its validation."""
    directory = render_infra({"cloud": cloud, "project_slug": slug, "data_services": []}, tmp_path)
    patterns = validation_patterns(directory)
    assert {"name", "environment", "account_id", "region", "kubernetes_version", "app_name"} <= set(patterns)
    variables = parse(directory)["variable"]
    example = hcl2.loads((directory / "terraform.tfvars.example").read_text())
    for name, pattern in patterns.items():
        values = [unquote(str(variables[name]["default"]))] if "default" in variables[name] else []
        if name in example:
            values.append(unquote(str(example[name])))
        assert values, f"{name}: no default and no example value"
        for value in values:
            assert re.search(pattern, value), f"{name} = {value!r} fails its own validation {pattern}"
    assert unquote(str(variables["app_name"]["default"])) == slug


# --- External Secrets: Terraform writes what the ExternalSecret reads -------------------------------

# Per cloud: the secret resource, its name attribute, the resource holding its value, that attribute.
SECRET_ENTRY = {
    "aws": ("aws_secretsmanager_secret", "name", "aws_secretsmanager_secret_version", "secret_string_wo"),
    "gcp": (
        "google_secret_manager_secret",
        "secret_id",
        "google_secret_manager_secret_version",
        "secret_data",
    ),
    "azure": ("azurerm_key_vault_secret", "name", "azurerm_key_vault_secret", "value"),
}


def bodies(directory: Path, kind: str = "resource") -> dict[tuple[str, str], dict]:
    """(type, name) -> body of every resource (or data source) of the module."""
    found = {}
    for path in sorted(directory.glob("*.tf")):
        for block in hcl2.loads(path.read_text()).get(kind, []):
            for rtype, named in block.items():
                for name, body in named.items():
                    found[(unquote(rtype), unquote(name))] = body
    return found


def secret_refs(values) -> set[str]:
    """The secret-store resources (type.name) a list of HCL expressions refers to."""
    return {m for value in values for m in re.findall(r"(\w+_secret\.\w+)\.", str(value))} | {
        f"{m}.master_user_secret"
        for value in values
        for m in re.findall(r"(\w+\.\w+)\.master_user_secret", str(value))
    }


def app_secret_grants(cloud: str, directory: Path) -> set[str]:
    """Every secret-store entry the app's workload identity may read, as `type.name`; `*` for all."""
    resources = bodies(directory)
    if cloud == "aws":
        attached = {
            re.search(r"aws_iam_policy_document\.(\w+)\.", body["policy"]).group(1)
            for (rtype, _), body in resources.items()
            if rtype == "aws_iam_role_policy" and "aws_iam_role.app." in body["role"]
        }
        documents = bodies(directory, "data")
        return {
            ref
            for name in attached
            for statement in documents[("aws_iam_policy_document", name)]["statement"]
            if any("secretsmanager" in action for action in statement["actions"])
            for ref in secret_refs(statement["resources"])
        }
    if cloud == "gcp":
        return {
            ref
            for (rtype, _), body in resources.items()
            if rtype == "google_secret_manager_secret_iam_member"
            and "google_service_account.app." in body["member"]
            for ref in secret_refs([body["secret_id"]])
        }
    grants = set()
    for (rtype, _), body in resources.items():
        if (
            rtype == "azurerm_role_assignment"
            and "azurerm_user_assigned_identity.app." in body["principal_id"]
        ):
            assert "Key Vault" not in body["role_definition_name"] or "secret" in body["scope"], (
                f"the app may read the whole vault: {body['scope']}"
            )
            grants |= secret_refs([body["scope"]])
    return grants


@pytest.mark.lint
@pytest.mark.parametrize("cloud", CLOUDS)
def test_terraform_writes_exactly_the_entries_the_external_secret_reads(render, terraform_dirs, cloud):
    """Both sides derived independently from their rendered files: the ExternalSecret's remote keys
    are the names of the secret-store entries Terraform creates, each holds the setting's whole URL,
    the app's identity may read those entries and no other secret, and the SecretStore's
    placeholders are the keys of the `secret_store` output."""
    import yaml

    project = render(external_secrets_variant(cloud))
    component = project / "deploy" / "kubernetes" / "components" / "external-secrets" / "externalsecret.yaml"
    manifests = {doc["kind"]: doc for doc in yaml.safe_load_all(component.read_text())}
    reads = {
        item["remoteRef"]["key"]: item["secretKey"] for item in manifests["ExternalSecret"]["spec"]["data"]
    }
    assert reads, "the variant has credential-carrying settings"

    directory = terraform_dirs[(cloud, EXTERNAL)]
    assert directory == project / "infra" / "terraform"
    secret_type, name_attr, value_type, value_attr = SECRET_ENTRY[cloud]
    resources = bodies(directory)
    written = {
        unquote(body[name_attr]): name
        for (rtype, name), body in resources.items()
        if rtype == secret_type and not unquote(body[name_attr]).startswith("${")
    }
    assert set(reads) <= set(written), "Terraform writes every entry the ExternalSecret reads"
    written = {entry: resource for entry, resource in written.items() if resource.endswith("_url")}
    assert set(written) == set(reads), "and no URL entry the ExternalSecret does not read"

    env_of = {svc["env"]: key for key, svc in catalog.DATA_SERVICES.items()}
    expected_grants = set()
    for entry, resource in written.items():
        svc = env_of[reads[entry]]
        assert resource == f"{svc}_url", f"{entry} belongs to {svc}.tf"
        value = str(resources[(value_type, resource)][value_attr])
        scheme = catalog.DATA_SERVICES[svc]["url"].split("://")[0]
        if "connection_string" not in value:  # Cosmos DB hands out its own, complete URL
            # the whole URL, its userinfo ("app:" or, for Redis's AUTH, empty) ending in the credential
            assert re.match(rf'^"{scheme}s?://(app)?:\$\{{', value), (
                f"{entry} holds the whole {reads[entry]}: {value}"
            )
            assert re.search(r"password|secret_string|auth_string|access_key", value), (
                f"{entry} carries the generated credential"
            )
        expected_grants.add(f"{secret_type}.{resource}")
    granted = app_secret_grants(cloud, directory)
    password_services = {env_of[env] for env in reads.values()}
    # Least privilege: of the services whose settings ExternalSecrets copies, the app reads the URL only.
    assert {g for g in granted if g.split(".")[1].split("_")[0] in password_services} == expected_grants

    output = parse(directory)["output"]["secret_store"]["value"]
    store = manifests["SecretStore"]["spec"]["provider"]
    (provider,) = store.values()
    assert set(output) <= set(provider), "each key of secret_store is a field of the SecretStore's provider"
    comment = component.read_text().split("apiVersion")[0]
    assert "output -json secret_store" in comment and all(key in comment for key in output)
    if "helm" in kubernetes_orchestrators():  # the chart's values carry the same remote keys
        helm = render(
            Variant(DEFAULT.runtime, "helm", cloud, services_of(EXTERNAL, cloud), (("secrets", EXTERNAL),))
        )
        (values_file,) = (helm / "deploy" / "helm").glob("*/values.yaml")
        external = yaml.safe_load(values_file.read_text())["secrets"]["externalSecrets"]
        assert {key: env for env, key in external["remoteKeys"].items()} == reads
        assert set(output) <= set(next(iter(external["store"]["provider"].values())))
        assert "output -json secret_store" in values_file.read_text()
