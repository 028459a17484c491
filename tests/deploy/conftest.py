"""Shared by the deployment tests: the manifests rendered by kustomize, per overlay."""
import os
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")


def kustomize() -> str:
    """The pinned kustomize, installed by the setup script (instant when already there)."""
    subprocess.run(["bash", str(REPO / "scripts" / "setup_tools.sh")], check=True, capture_output=True, timeout=600)
    cache = Path(os.environ.get("PORTAL_CACHE_DIR", Path.home() / ".cache" / "portail-parents"))
    return str(cache / "bin" / "kustomize")


def build(path: Path) -> list[dict]:
    done = subprocess.run([kustomize(), "build", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"kustomize build {path} failed:\n{done.stderr}"
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture(scope="session", params=OVERLAYS)
def rendered(request) -> list[dict]:
    """Every object of one overlay, as `kubectl apply -k` would send it."""
    return build(K8S / "overlays" / request.param)


def of_kind(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["kind"] == kind]
