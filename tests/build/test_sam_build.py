"""`sam build` as a deployment runs it: the Lambda runtime's Python, every handler imported from the artifact.

The build needs ``python3.12`` on the PATH (pyenv's ``PYENV_VERSION=3.11.7:3.12.1`` on this machine's kind).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from scheduled_comms_local.template import load_template

pytestmark = [pytest.mark.build, pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RUNTIME = "python3.12"

# Imports each function's handler the way Lambda does: the layer's python/ and the function's own folder.
IMPORT_HANDLERS = """
import importlib, importlib.metadata as metadata, json, sys
build, functions, layer = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
found = {}
for name in functions:
    sys.path[:0] = [f"{build}/{name}", layer]
    module = importlib.import_module("app")
    found[name] = callable(getattr(module, "lambda_handler", None))
    del sys.modules["app"]
    sys.path[:2] = []
versions = {d.metadata["Name"].lower().replace("_", "-"): d.version for d in metadata.distributions(path=[layer])}
print(json.dumps({"python": list(sys.version_info[:2]), "handlers": found, "versions": versions}))
"""


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        name, sep, version = line.split("#")[0].strip().partition("==")
        if sep:
            pins[name.lower().replace("_", "-")] = version
    return pins


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build_dir = tmp_path_factory.mktemp("sam") / "build"
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "PYENV_VERSION": os.environ.get("SAM_PYENV", "3.11.7:3.12.1")}
    for name in [k for k in env if k.startswith(("AWS_", "COMMUNICATIONS_"))]:
        env.pop(name)
    result = subprocess.run(
        [str(BIN / "sam"), "build", "--build-dir", str(build_dir), "--template-file", str(ROOT / "template.yaml")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return build_dir


def test_every_handler_imports_from_the_built_artifact_on_the_lambda_runtime(built: Path) -> None:
    resources = load_template(built / "template.yaml")["Resources"]
    functions = sorted(n for n, r in resources.items() if r["Type"] == "AWS::Serverless::Function")
    layer = built / "SharedLayer" / "python"
    env = {
        "PATH": os.environ["PATH"],
        "PYENV_VERSION": os.environ.get("SAM_PYENV", "3.11.7:3.12.1"),
        "POWERTOOLS_SERVICE_NAME": "scheduled-comms",
        "POWERTOOLS_METRICS_NAMESPACE": "ScheduledComms",
        "AWS_DEFAULT_REGION": "us-east-1",
    }

    result = subprocess.run(
        [RUNTIME, "-c", IMPORT_HANDLERS, str(built), json.dumps(functions), str(layer)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["python"] == [3, 12]
    assert len(functions) >= 18 and report["handlers"] == dict.fromkeys(functions, True)
    pinned = _pins(ROOT / "layers" / "shared" / "requirements.txt")
    tested = _pins(ROOT / "constraints.txt")
    assert {name: report["versions"].get(name) for name in pinned} == pinned, "the layer holds exactly its pins"
    both = pinned.keys() & tested.keys()
    assert {n: pinned[n] for n in both} == {n: tested[n] for n in both}, "the layer runs what the tests ran"
