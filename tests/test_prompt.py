"""The real interactive prompt: `copier copy` in a pseudo-terminal of 80 columns (pexpect), its screen
read back through a terminal emulator (pyte), keys typed as a user types them.

`--data` and `--defaults` are covered by test_render.py; this drives the paths they cannot: menus
(where Copier runs per-choice validators but not a question's own), questions shown or not by `when`,
and what fits on the screen.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pexpect
import pyte
import pytest
import yaml

from matrix import ROOT, load_extension, questions

pytestmark = pytest.mark.render

EXT = load_extension()
COLUMNS = EXT.PROMPT_WIDTH
DOWN = "\x1b[B"
CLEAR = "\x15"  # Ctrl-U: the typed answer starts with the default filled in
ENTER = "\r"
SPACE = " "  # ticks a checkbox
SHOWN_ERROR = object()  # in a key list: wait until the validation error is on screen
CLUSTER_ONLY = ("kubernetes_version", "service_mesh", "secrets")


def help_lines(name: str) -> list[str]:
    return questions()[name]["help"].splitlines()


class Prompt:
    """One `copier copy` run; `answer(name, keys)` types when that question is on screen."""

    def __init__(self, dest: Path):
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "TERM": "xterm",
            "PROMPT_TOOLKIT_NO_CPR": "1",  # the emulator does not answer cursor position requests
        }
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "copier", "copy", "--trust", "--vcs-ref=HEAD", str(ROOT), str(dest)],
            env=env,
            dimensions=(60, COLUMNS),
            encoding="utf-8",
            timeout=60,
        )
        self.screen = pyte.Screen(COLUMNS, 60)
        self.stream = pyte.Stream(self.screen)
        self.asked: list[str] = []
        self.seen: set[str] = set()

    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.screen.display]

    def pump(self, until, timeout: float = 60) -> bool:
        """Feed the child's output to the screen until `until()` holds or the child exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.seen.update(line.strip() for line in self.lines())
            if until():
                return True
            try:
                self.stream.feed(self.child.read_nonblocking(65536, timeout=0.2))
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                self.seen.update(line.strip() for line in self.lines())
                return until()
        raise AssertionError("the prompt stalled:\n" + "\n".join(self.lines()))

    def current(self) -> str | None:
        """The question whose help opens the last prompt on screen."""
        prompts = [line for line in self.lines() if line.startswith("🎤")]
        if not prompts:
            return None
        text = prompts[-1].removeprefix("🎤").strip()
        return next((name for name in questions() if help_lines(name)[0] == text), None)

    def run(self, answers: dict[str, list[str]]) -> None:
        """Answer every question as it comes: the keys given for it, else Enter (its default)."""
        while True:
            self.pump(lambda: not self.child.isalive() or self.current() not in (None, *self.asked[-1:]))
            if not self.child.isalive() and self.current() in (None, *self.asked[-1:]):
                break
            name = self.current()
            self.asked.append(name)
            last_line = help_lines(name)[-1]
            self.pump(lambda line=last_line: self.on_screen(line), timeout=10)
            for keys in answers.get(name, [ENTER]):
                if keys is SHOWN_ERROR:
                    self.pump(lambda: self.on_screen("Validation error for question"), timeout=10)
                    continue
                self.child.send(keys)
                time.sleep(0.3)
        self.child.close()
        assert self.child.exitstatus == 0, "\n".join(self.lines())

    def on_screen(self, text: str) -> bool:
        return any(text in line for line in self.lines())

    def expect_line(self, text: str) -> None:
        """`text` is shown whole, as one line of the screen (nothing cut at the terminal's edge)."""
        self.pump(lambda: any(line.strip() == text for line in self.lines()), timeout=20)


def answers_file(dest: Path) -> dict:
    return yaml.safe_load((dest / ".copier-answers.yml").read_text())


def test_every_help_line_fits_the_terminal():
    for name in questions():
        for line in help_lines(name):
            assert len("🎤 ") + 1 + len(line) <= COLUMNS, f"{name}: {line!r} is cut at 80 columns"


def test_nomad_is_never_asked_what_only_a_cluster_has(tmp_path):
    """Choosing Nomad in the menu: no Kubernetes version, mesh or secrets operator is asked or
    recorded, where Copier used to offer Istio and Vault for a Nomad job. With MongoDB ticked too,
    the cloud without a managed MongoDB for its virtual machines is shown disabled."""
    prompt = Prompt(tmp_path / "out")
    prompt.run({"data_services": [DOWN, SPACE, ENTER], "orchestrator": [DOWN, DOWN, ENTER]})
    expected = [name for name in questions() if name not in CLUSTER_ONLY]
    assert prompt.asked == expected
    for name in questions():  # each question's help was shown whole
        if name in prompt.asked:
            first, *rest = help_lines(name)
            assert f"🎤 {first}" in prompt.seen and all(line in prompt.seen for line in rest), name
    recorded = answers_file(tmp_path / "out")
    assert "mongodb" in recorded["data_services"]
    # a cloud that cannot host those answers is shown disabled, with the reason; the others are not
    for label, value in (("AWS", "aws"), ("Google Cloud", "gcp"), ("Azure", "azure")):
        reason = EXT.cloud_error(value, "nomad", recorded["data_services"])
        disabled = [line.strip() for line in prompt.seen if line.strip().startswith(f"- {label} (")]
        assert disabled == ([f"- {label} ({reason})"] if reason else []), label
        assert bool(reason) == (value == "gcp"), value
    assert recorded["orchestrator"] == "nomad"
    assert not set(CLUSTER_ONLY) & set(recorded)
    readme = (tmp_path / "out" / "README.md").read_text()
    assert "Istio" not in readme and "Vault Secrets Operator" not in readme


def test_helm_asks_for_the_cluster_and_records_the_menu_choices(tmp_path):
    prompt = Prompt(tmp_path / "out")
    prompt.run(
        {
            "orchestrator": [DOWN, ENTER],
            "service_mesh": [DOWN, ENTER],
            "secrets": [DOWN, DOWN, ENTER],
        }
    )
    assert prompt.asked == list(questions())
    recorded = answers_file(tmp_path / "out")
    assert (recorded["orchestrator"], recorded["service_mesh"], recorded["secrets"]) == (
        "helm",
        "istio",
        "vault",
    )
    assert recorded["kubernetes_version"] == questions()["kubernetes_version"]["default"]


def test_bad_typed_answers_are_explained_in_full(tmp_path):
    prompt = Prompt(tmp_path / "out")
    prompt.run(
        {
            "project_slug": [CLEAR + "9-lives" + ENTER, SHOWN_ERROR, CLEAR + "lives" + ENTER],
            "owner": [CLEAR + "Platform Team!!" + ENTER, SHOWN_ERROR, CLEAR + "group:shop/payments" + ENTER],
            "app_port": [CLEAR + "80" + ENTER, SHOWN_ERROR, CLEAR + "8000" + ENTER],
            "ci_provider": [DOWN, ENTER],
        }
    )
    for name, value in (("project_slug", "9-lives"), ("owner", "Platform Team!!"), ("app_port", "80")):
        message = {"project_slug": EXT.slug_error, "owner": EXT.owner_error, "app_port": EXT.port_error}[
            name
        ](value)
        assert f"Validation error for question '{name}': {message}" in prompt.seen
    recorded = answers_file(tmp_path / "out")
    assert (recorded["project_slug"], recorded["owner"], recorded["app_port"]) == (
        "lives",
        "group:shop/payments",
        8000,
    )
    assert recorded["ci_provider"] == "gitlab"
    assert (tmp_path / "out" / ".gitlab-ci.yml").is_file() and not (tmp_path / "out" / ".github").exists()
