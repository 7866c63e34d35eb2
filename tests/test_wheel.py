"""The wheel works on its own: built, installed in a fresh venv, run from another folder.

Issue 15 (point 5): the bundled scenarios and the validation cases ship as package data,
so the library API, ``python -m qcalc.validation`` and ``qcalc stage --example NAME`` work
from an installed wheel in any working directory. The wheel is built offline from a copy
of the source tree (``pip wheel --no-build-isolation``: the build backend of the test
environment, nothing downloaded) and installed with ``--no-deps`` into a venv made without
pip; that venv reaches numpy, scipy, typer and yaml through a ``.pth`` line naming the test
environment's site-packages (a plain path: the editable-install hook there never runs, and
the wheel's ``qcalc`` comes first on ``sys.path``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import site
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from conftest import ROOT

#: The setuptools that builds a wheel by itself (bdist_wheel without the wheel package).
SETUPTOOLS_WHEEL = (70, 1)

#: What a user would run in a notebook, in the installed venv: the public API on the text
#: of a bundled scenario, and every bundled scenario checked from its installed file.
LIBRARY_SCRIPT = """
import json, qcalc
from qcalc import examples
from qcalc.scenario import load_scenario
text = examples.path("metro-fibre").read_text(encoding="utf-8")
result = qcalc.evaluate(qcalc.load_scenario(text))
for name in examples.names():
    load_scenario(str(examples.path(name)))  # side files (e.g. table_file) resolve
print(json.dumps({"file": qcalc.__file__, "names": list(examples.names()),
                  "result": result.to_dict()}))
"""


#: A scenario the test adds to its copy of scenarios/, reading a table from a folder beside it.
SIDE_FILE_EXAMPLE = "zz-side-file"


def _add_a_scenario_with_a_side_file(folder: Path) -> None:
    """The Micius downlink with its atmosphere read from a CSV file beside the scenario
    (``table_file``, relative to the scenario's folder): it must ship and resolve."""
    side = folder / SIDE_FILE_EXAMPLE
    side.mkdir()
    shutil.copy(ROOT / "qcalc" / "data" / "atmosphere" / "modtran-satquma.csv", side)
    text = (folder / "micius-2017-qkd-downlink.yaml").read_text(encoding="utf-8")
    text = re.sub(r"^\s+zenith_transmittance: .*\n", "", text, flags=re.M)
    text, found = re.subn(
        r"^(\s+)atmosphere: .*$",
        rf"\1atmosphere: {{model: table, table_file: {SIDE_FILE_EXAMPLE}/modtran-satquma.csv}}",
        text,
        flags=re.M,
    )
    assert found == 1, "the Micius downlink scenario no longer has one atmosphere line"
    (folder / f"{SIDE_FILE_EXAMPLE}.yaml").write_text(text, encoding="utf-8")


def _setuptools_version() -> tuple[int, ...]:
    return tuple(int(part) for part in version("setuptools").split(".")[:2] if part.isdigit())


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stderr}"
    return done


def test_the_wheel_runs_the_api_the_validation_and_the_examples(tmp_path: Path) -> None:
    if _setuptools_version() < SETUPTOOLS_WHEEL:
        pytest.skip(
            "building a wheel offline needs setuptools >= 70.1 in the test environment "
            f"(have {version('setuptools')}): pip install '.[test]'"
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "QCALC"))}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", COLUMNS="80")
    source, dist, venv, elsewhere = (tmp_path / d for d in ("src", "dist", "venv", "elsewhere"))
    # A copy of the tree: the build's build/ and *.egg-info stay out of the checkout.
    shutil.copytree(
        ROOT,
        source,
        symlinks=True,  # qcalc/data/scenarios stays the link to scenarios/ it is in git
        ignore=shutil.ignore_patterns(
            ".*", "build", "dist", "*.egg-info", "__pycache__", "tests", "bench", "docs"
        ),
    )
    _add_a_scenario_with_a_side_file(source / "scenarios")
    pip = [sys.executable, "-m", "pip"]
    _run(
        [*pip, "wheel", str(source), "--no-deps", "--no-build-isolation", "-q", "-w", str(dist)],
        tmp_path,
        env,
    )
    (wheel,) = dist.glob("qcalc-*.whl")
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, env)
    python = venv / "bin" / "python"
    (installed,) = venv.glob("lib/python*/site-packages")
    (installed / "test-environment.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n", encoding="utf-8"
    )
    _run(
        # --ignore-installed: the test environment's own qcalc, seen through the .pth above
        # (a regular install in CI), must neither satisfy nor be replaced by this install.
        [
            *pip,
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            "--ignore-installed",
            "-q",
            str(wheel),
        ],
        tmp_path,
        env,
    )
    elsewhere.mkdir()

    library = json.loads(_run([str(python), "-c", LIBRARY_SCRIPT], elsewhere, env).stdout)
    assert Path(library["file"]).is_relative_to(installed)
    bundled = [p.stem for p in (ROOT / "scenarios").glob("*.yaml")]
    assert library["names"] == sorted([*bundled, SIDE_FILE_EXAMPLE])
    from qcalc import examples
    from qcalc.api import evaluate, load_scenario

    text = examples.path("metro-fibre").read_text(encoding="utf-8")
    here = evaluate(load_scenario(text)).to_dict()
    assert library["result"] == json.loads(json.dumps(here))

    table = _run([str(python), "-m", "qcalc.validation"], elsewhere, env)
    assert table.stdout == (ROOT / "docs" / "validation.md").read_text(encoding="utf-8")

    stage = _run([str(venv / "bin" / "qcalc"), "stage", "--example", "metro-fibre"], elsewhere, env)
    assert stage.stdout.startswith("Metro fibre link — demand key: stage 2 (prepare and measure)")
