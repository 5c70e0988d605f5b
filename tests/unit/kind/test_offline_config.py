"""The kind configuration of the offline node image: the checkout's, with the changes it needs."""

from __future__ import annotations

from pathlib import Path

import yaml

from ebbtide.kind.cluster import offline_config

REPO = Path(__file__).resolve().parents[3]


def test_the_repositorys_config_gets_a_name_no_default_cni_and_absolute_mounts() -> None:
    config = yaml.safe_load((REPO / "kind-config.yaml").read_text())

    made = offline_config(config, name="ebbtide-x", root=REPO)

    assert made["name"] == "ebbtide-x"
    assert made["networking"] == {"disableDefaultCNI": True, "kubeProxyMode": "nftables"}
    assert [n["role"] for n in made["nodes"]] == ["control-plane", "worker", "worker"]
    [mount] = made["nodes"][0]["extraMounts"]
    assert Path(mount["hostPath"]) == REPO / "examples/kind/scheduler-config.yaml"
    assert Path(mount["hostPath"]).is_file()
    assert made["kubeadmConfigPatches"] == config["kubeadmConfigPatches"]


def test_an_absolute_mount_path_is_kept(tmp_path: Path) -> None:
    config = {
        "nodes": [{"role": "control-plane", "extraMounts": [{"hostPath": "/srv/x", "containerPath": "/x"}]}]
    }
    made = offline_config(config, name="n", root=tmp_path)
    assert made["nodes"][0]["extraMounts"][0]["hostPath"] == "/srv/x"
