"""deploy/k8s and the Containerfile, checked offline: every manifest against the Kubernetes JSON
schemas (strict: unknown fields refused) bundled in the ``kubernetes-validate`` package, and the
deployment's invariants:

* every workload (Deployment, StatefulSet) has readiness and liveness probes on routes its
  service really serves, resource requests and limits, runs as non-root with a read-only root
  filesystem, no privilege escalation, no capability and no service-account token;
* a default-deny NetworkPolicy; every node pod is selected by NetworkPolicies that let in only
  the gateway pods and let out only the log (and DNS);
* no Secret is committed, no key material is in any file, every Secret referenced is one the
  operator guide tells how to create;
* the image is pinned by digest, the node pools run in confidential runtime classes;
* the issuer gets ``--attestation-status`` (a ConfigMap the operator refreshes, mounted so
  updates arrive) and ``--android-app``, and no workload gets ``--insecure-operator-codes``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from aiohttp import web

from privcloud.cli import build_parser
from privcloud.cli.tokens import _config
from privcloud.errors import ConfigError
from privcloud.services.gateway import Gateway
from privcloud.services.http import Metrics
from privcloud.services.issuer import Issuer
from privcloud.services.issuer_core import IssuerConfig
from privcloud.services.node import Node
from privcloud.services.relay import Relay
from privcloud.services.site import LIVENESS_PATH, new_app

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.34"
WORKLOADS = ("Deployment", "StatefulSet")
#: Secret names docs/deploy.md tells the operator to create.
DOCUMENTED_SECRETS = {
    "privcloud-database",
    "privcloud-gateway-keys",
    "privcloud-log-key",
    "privcloud-operator-key",
    "privcloud-witness-key",
}


def _files() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def _documents() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for path in _files():
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                docs.append((path.name, doc))
    return docs


def _workloads() -> Iterator[dict[str, Any]]:
    for _, doc in _documents():
        if doc["kind"] in WORKLOADS:
            yield doc


def _name(doc: dict[str, Any]) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


def _pod(doc: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = doc["spec"]["template"]["spec"]
    return spec


def _labels(doc: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = doc["spec"]["template"]["metadata"]["labels"]
    return labels


# --- schemas ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source,doc", _documents(), ids=[f"{f}:{_name(d)}" for f, d in _documents()]
)
def test_manifest_is_valid_against_the_kubernetes_schema(source: str, doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_schema_validation_refuses_a_misspelled_field() -> None:
    """The validator works offline and is strict: a typo is an error, not ignored."""
    doc = next(_workloads())
    broken = {**doc, "spec": {**doc["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest_and_pins_the_image_by_digest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(p.name for p in _files())
    (image,) = kustomization["images"]
    assert image["name"] == "privcloud"
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", image["digest"])
    assert "newTag" not in image


# --- workloads -------------------------------------------------------------------------------


def _routes(app: web.Application) -> set[str]:
    return {r.get_info().get("path", "") for r in app.router.resources()}


def _service_routes(tmp_path: Path) -> dict[str, set[str]]:
    """The GET routes each service command really serves (their apps, built here)."""
    issuer = Issuer(tmp_path / "issuer", IssuerConfig())
    try:
        issuer_routes = _routes(issuer.app())
    finally:
        issuer.core.store.close()
    return {
        "relay": _routes(Relay("http://gateway.invalid").app()),
        "gateway": _routes(Gateway(["http://node.invalid"]).app()),
        "issuer": issuer_routes,
        "node": _routes(Node("node-test").app()),
        # The log's and the witness's own routes need their stores; the probes use only these.
        "log": {"/v1/checkpoint", *_routes(new_app("log", Metrics("log")))},
        "witness": _routes(new_app("witness", Metrics("witness"))),
    }


def test_every_workload_probes_real_routes_of_its_service(tmp_path: Path) -> None:
    routes = _service_routes(tmp_path)
    assert LIVENESS_PATH in routes["relay"]
    for doc in _workloads():
        for container in _pod(doc)["containers"]:
            service = container["args"][0]
            for probe in ("readinessProbe", "livenessProbe"):
                path = container[probe]["httpGet"]["path"]
                assert path in routes[service], f"{_name(doc)} {probe} {path}"
            assert container["livenessProbe"]["httpGet"]["path"] == LIVENESS_PATH


def test_every_container_has_requests_and_limits() -> None:
    for doc in _workloads():
        pod = _pod(doc)
        for container in pod["containers"] + pod.get("initContainers", []):
            resources = container["resources"]
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[kind]), _name(doc)


def test_every_pod_runs_as_non_root_with_a_read_only_root_filesystem() -> None:
    for doc in _workloads():
        pod = _pod(doc)
        assert pod["securityContext"]["runAsNonRoot"] is True, _name(doc)
        assert pod["securityContext"]["runAsUser"] != 0
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert pod["automountServiceAccountToken"] is False
        assert "hostNetwork" not in pod and "hostPID" not in pod
        for container in pod["containers"] + pod.get("initContainers", []):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, _name(doc)
            assert context["allowPrivilegeEscalation"] is False
            assert context["runAsNonRoot"] is True
            assert context["capabilities"]["drop"] == ["ALL"]
            assert "add" not in context["capabilities"]
            assert container["image"] == "privcloud"  # pinned by digest in the kustomization


def test_no_container_puts_a_secret_from_the_environment_on_its_command_line() -> None:
    # A review (2026-12-07): "--database $(DATABASE_URL)" put the database's password on the
    # command line, which every process of the node reads; services read env:NAME themselves.
    found = 0
    for doc in _workloads():
        pod = _pod(doc)
        for container in pod["containers"] + pod.get("initContainers", []):
            args = [*container.get("command", []), *container.get("args", [])]
            secret = {
                v["name"]
                for v in container.get("env", [])
                if "secretKeyRef" in v.get("valueFrom", {})
            }
            assert not any(f"$({name})" in str(a) for a in args for name in secret), _name(doc)
            for i, arg in enumerate(args[:-1]):
                if arg == "--database":
                    assert str(args[i + 1]).startswith("env:"), _name(doc)
                    found += 1
    assert found >= 4  # the gateways, the issuers, the log and its readers


def test_node_pools_run_in_confidential_runtime_classes() -> None:
    classes = {d["metadata"]["name"]: d for _, d in _documents() if d["kind"] == "RuntimeClass"}
    nodes = [d for d in _workloads() if _labels(d)["app.kubernetes.io/component"] == "node"]
    assert {d["kind"] for d in nodes} == {"StatefulSet"}  # stable names for the gateway
    tees = set()
    for doc in nodes:
        pod = _pod(doc)
        runtime = classes[pod["runtimeClassName"]]
        assert pod["nodeSelector"] == runtime["scheduling"]["nodeSelector"]
        tees.add(pod["nodeSelector"]["privcloud.dev/tee"])
        gpu = "nvidia.com/gpu.present" in pod["nodeSelector"]
        for container in pod["containers"]:
            assert ("nvidia.com/gpu" in container["resources"]["limits"]) == gpu
    assert tees == {"sev-snp", "tdx"}
    assert any("nvidia" in d["metadata"]["name"] for d in classes.values())


def test_every_replicated_workload_has_a_disruption_budget() -> None:
    budgets = [d for _, d in _documents() if d["kind"] == "PodDisruptionBudget"]
    for doc in _workloads():
        if doc["spec"]["replicas"] < 2:
            continue  # a single sequencer / witness: a drain restarts it (deploy.md)
        labels = _labels(doc)
        assert any(
            b["spec"]["selector"]["matchLabels"].items() <= labels.items() for b in budgets
        ), _name(doc)


# --- network policies ----------------------------------------------------------------------


def _policies_selecting(labels: dict[str, str], kind: str) -> list[dict[str, Any]]:
    found = []
    for _, doc in _documents():
        if doc["kind"] != "NetworkPolicy" or kind not in doc["spec"]["policyTypes"]:
            continue
        wanted = doc["spec"]["podSelector"].get("matchLabels", {})
        if wanted.items() <= labels.items():
            found.append(doc)
    return found


def _only_pods(peers: list[dict[str, Any]], component: str) -> bool:
    return bool(peers) and all(
        set(p) == {"podSelector"}
        and p["podSelector"] == {"matchLabels": {"app.kubernetes.io/component": component}}
        for p in peers
    )


def test_everything_not_allowed_is_denied() -> None:
    deny = [
        d
        for _, d in _documents()
        if d["kind"] == "NetworkPolicy"
        and d["spec"]["podSelector"] == {}
        and "ingress" not in d["spec"]
        and "egress" not in d["spec"]
    ]
    assert deny and set(deny[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}


def test_node_pods_accept_traffic_only_from_gateway_pods() -> None:
    nodes = [d for d in _workloads() if _labels(d)["app.kubernetes.io/component"] == "node"]
    assert nodes
    for doc in nodes:
        rules = _ingress_rules(_labels(doc))
        assert rules, f"{_name(doc)}: no NetworkPolicy selects it"
        for rule in rules:
            assert _only_pods(rule.get("from", []), "gateway"), f"{_name(doc)}: {rule}"


def test_node_pods_reach_only_the_log_and_dns() -> None:
    for doc in (d for d in _workloads() if _labels(d)["app.kubernetes.io/component"] == "node"):
        for policy in _policies_selecting(_labels(doc), "Egress"):
            for rule in policy["spec"].get("egress", []):
                peers = rule.get("to", [])
                dns = all(
                    p.get("podSelector", {}).get("matchLabels") == {"k8s-app": "kube-dns"}
                    for p in peers
                ) and bool(peers)
                assert dns or _only_pods(peers, "log"), f"{_name(doc)}: {rule}"


def _ingress_rules(labels: dict[str, str]) -> list[dict[str, Any]]:
    return [r for p in _policies_selecting(labels, "Ingress") for r in p["spec"].get("ingress", [])]


def test_witness_is_reachable_only_from_the_log() -> None:
    labels = {"app.kubernetes.io/name": "privcloud", "app.kubernetes.io/component": "witness"}
    rules = _ingress_rules(labels)
    assert rules and all(_only_pods(r.get("from", []), "log") for r in rules)


def test_gateway_is_reachable_only_from_the_relays() -> None:
    labels = {"app.kubernetes.io/name": "privcloud", "app.kubernetes.io/component": "gateway"}
    rules = _ingress_rules(labels)
    assert rules and all(_only_pods(r.get("from", []), "relay") for r in rules)


# --- secrets and the image -------------------------------------------------------------------

_KEY_MATERIAL = re.compile(
    r"PRIVATE KEY|privcloud-ed25519-seed-v1|postgres(ql)?://[^\s\"']*:[^\s\"'@]*@", re.IGNORECASE
)


def test_no_secret_value_is_committed() -> None:
    assert not [d for _, d in _documents() if d["kind"] == "Secret"]
    for path in [*K8S.iterdir(), ROOT / "Containerfile"]:
        assert not _KEY_MATERIAL.search(path.read_text()), path.name


def test_every_secret_referenced_is_documented() -> None:
    guide = (ROOT / "docs" / "deploy.md").read_text()
    referenced = set()
    for doc in _workloads():
        pod = _pod(doc)
        for volume in pod.get("volumes", []):
            if "secret" in volume:
                referenced.add(volume["secret"]["secretName"])
        for container in pod["containers"]:
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref is not None:
                    referenced.add(ref["name"])
    assert referenced == DOCUMENTED_SECRETS
    for name in referenced:
        assert f"kubectl -n privcloud create secret generic {name}" in guide


def test_containerfile_is_multi_stage_non_root_and_pins_its_base_by_digest() -> None:
    text = (ROOT / "Containerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.MULTILINE)) >= 2
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE)
    assert base is not None and re.search(r"@sha256:[0-9a-f]{64}$", base.group(1))
    users = re.findall(r"^USER (\S+)$", text, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert not re.search(r"^(ENV|ARG) \S*(KEY|SECRET|PASSWORD|TOKEN)", text, re.MULTILINE)
    ignore = (ROOT / ".containerignore").read_text().splitlines()
    assert ignore[1:2] == ["*"] or "*" in ignore  # the build context is allow-listed


# --- attested enrolment ----------------------------------------------------------------------

#: The ConfigMap of the attestation status list: the operator creates and refreshes it.
STATUS_CONFIGMAP = "privcloud-attestation-status"


def _configmaps() -> dict[str, dict[str, str]]:
    return {d["metadata"]["name"]: d["data"] for _, d in _documents() if d["kind"] == "ConfigMap"}


def _env(container: dict[str, Any], configmaps: dict[str, dict[str, str]]) -> dict[str, str]:
    """Each variable's value: a committed ConfigMap's, else a stand-in (Secrets)."""
    env = {}
    for var in container.get("env", []):
        ref = var.get("valueFrom", {}).get("configMapKeyRef")
        if ref is not None and ref["name"] in configmaps:
            env[var["name"]] = configmaps[ref["name"]][ref["key"]]
        else:
            env[var["name"]] = var.get("value", "stand-in")
    return env


def test_issuer_enrols_by_attestation_with_a_status_list_and_never_by_operator_codes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for doc in _workloads():  # no workload enables operator codes
        for container in _pod(doc)["containers"]:
            assert "--insecure-operator-codes" not in container["args"], _name(doc)
    (issuer,) = (d for d in _workloads() if _labels(d)["app.kubernetes.io/component"] == "issuer")
    (container,) = _pod(issuer)["containers"]
    configmaps = _configmaps()
    env = _env(container, configmaps)
    for name, value in env.items():  # (what the service reads itself: env:NAME)
        monkeypatch.setenv(name, value)
    argv = [re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], a) for a in container["args"]]
    args = build_parser().parse_args(argv)
    # The status list: a file in a ConfigMap mounted as a directory (a subPath mount never
    # sees the operator's updates), the ConfigMap's creation told in the operator guide.
    status = Path(args.attestation_status)
    (mount,) = (m for m in container["volumeMounts"] if Path(m["mountPath"]) == status.parent)
    assert "subPath" not in mount
    (volume,) = (v for v in _pod(issuer)["volumes"] if v["name"] == mount["name"])
    assert volume["configMap"]["name"] == STATUS_CONFIGMAP
    assert {"key": "status.json", "path": status.name} in volume["configMap"]["items"]
    assert STATUS_CONFIGMAP not in configmaps  # the operator's, never overwritten by apply
    guide = (ROOT / "docs" / "deploy.md").read_text()
    assert f"create configmap {STATUS_CONFIGMAP}" in guide
    # The app identity: the committed placeholder fails closed; a real value is accepted.
    assert args.android_app and not args.insecure_operator_codes
    with pytest.raises(ConfigError, match="--android-app"):
        _config(args)
    args.android_app = [f"com.example.app:{'ab' * 32}" for _ in args.android_app]
    config = _config(args)
    assert not config.insecure_operator_codes
    assert config.android_policy.allowed_apps == {("com.example.app", bytes([0xAB]) * 32)}
    assert config.require_status_list
