"""Render a cloud's infra/terraform/ with plain Jinja, for any data services in the catalog.

Copier refuses data services that are not selectable yet, but their Terraform already exists and
must pass the same checks. This renders just the cloud's infra folder with the same context the
template gets (copier.yml defaults, the answers, then `derive`), the same filters and the same
path rules (a name rendering empty is skipped); the tests also prove it matches Copier's output
for the selectable services.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from matrix import ROOT, jinja_env, load_extension, questions

TEMPLATE = ROOT / "template"


def context(answers: dict) -> dict:
    ext = load_extension()
    env = jinja_env()
    values: dict = {}
    for name, spec in questions().items():
        if name in answers:
            values[name] = answers[name]
            continue
        default = spec["default"]
        values[name] = env.from_string(default).render(**values) if isinstance(default, str) else default
    values["app_port"] = int(values["app_port"])
    return {**values, **ext.derive(values)}


def render_infra(answers: dict, dest: Path) -> Path:
    """Render the infra folder of answers["cloud"] into dest/infra; returns dest/infra/terraform."""
    env = jinja_env()
    ctx = context(answers)
    source = TEMPLATE / f"{{% if cloud == '{ctx['cloud']}' %}}infra{{% endif %}}"
    assert source.is_dir(), f"no infra folder for cloud {ctx['cloud']!r}"
    for path in sorted(source.rglob("*")):
        if not path.is_file():
            continue
        parts = [env.from_string(part).render(ctx) for part in path.relative_to(TEMPLATE).parts]
        if path.suffix == ".jinja":  # as Copier: a name that renders empty but for the suffix is skipped
            parts[-1] = parts[-1].removesuffix(".jinja")
        if not all(parts):
            continue
        target = dest.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".jinja":
            template = env.get_template(path.relative_to(ROOT).as_posix())
            target.write_text(template.render(ctx))
        else:
            shutil.copyfile(path, target)
    return dest / "infra" / "terraform"
