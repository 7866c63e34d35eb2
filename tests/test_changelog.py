"""docs/ci.md pins something the repository really has."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

import qcalc

ROOT = Path(__file__).resolve().parent.parent
CHANGELOG = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


def test_the_package_version_has_a_changelog_entry():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "version"
    ]
    assert version == qcalc.__version__
    assert re.search(rf"^## {re.escape(version)}\b", CHANGELOG, re.M), version


def test_ci_docs_pin_a_commit_the_changelog_names():
    pins = set(
        re.findall(
            r"@([0-9a-f]{40})\b|rev: ([0-9a-f]{40})\b",
            (ROOT / "docs" / "ci.md").read_text(encoding="utf-8"),
        )
    )
    commits = {a or b for a, b in pins}
    assert commits, "docs/ci.md pins no commit"
    named = set(re.findall(r"^## [^\n]*commit ([0-9a-f]{40})", CHANGELOG, re.M))
    assert commits <= named, commits - named


def test_the_pinned_commit_exists():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the commit cannot be looked up")
    named = re.findall(r"^## [^\n]*commit ([0-9a-f]{40})", CHANGELOG, re.M)
    for commit in named:
        found = subprocess.run(
            ["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=ROOT, capture_output=True
        )
        if (
            found.returncode != 0
            and subprocess.run(
                ["git", "rev-parse", "--is-shallow-repository"],
                cwd=ROOT,
                capture_output=True,
                text=True,
            ).stdout.strip()
            == "true"
        ):
            pytest.skip("a shallow clone does not hold the pinned commit")
        assert found.returncode == 0, f"{commit} is not a commit of this repository"
