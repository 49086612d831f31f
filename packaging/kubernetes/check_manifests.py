#!/usr/bin/env python3
"""What a schema cannot see in packaging/kubernetes/: that the manifests fit together, and the files
the relay will find in its configuration folder. Run by validate.sh with the venv's Python (PyYAML comes
with kubernetes-validate).

    check_manifests.py DIR WORK

Checks the manifests of DIR against each other (kustomization resources, namespaces, selectors and
named ports, probes and the scrape annotation, the volumes' ConfigMap and Secret, the ServiceMonitor's
Service) and the relay configurations inside the ConfigMap against the manifests (TOML syntax, ports,
key files). Writes to WORK:
    schema.list        the files for kubernetes-validate, one path a line
    config.list        the relay configurations for `mptcp-relay check-config`, one path a line
    etc-mptcp-relay/   the container's /etc/mptcp-relay as the DaemonSet's volume lays it out (the
                       ConfigMap's files and the Secret's decoded keys, with the volume's modes)
    daemonset-with-node-setup.yaml   daemonset.yaml with node-setup-patch.yaml merged in
Prints each finding as FILE: message and exits 1 when there is one.
"""

import base64
import os
import re
import sys
import tomllib

import yaml

# Files that are no resource of kustomization.yaml, and why (validate.sh prints it).
NOT_RESOURCES = {
    "kustomization.yaml": "kustomize's own file, not a Kubernetes object (kubectl kustomize builds it)",
    "servicemonitor.yaml": "a monitoring.coreos.com/v1 custom resource: kubernetes-validate has no schema for"
    " CRDs, so only its references are checked here",
    "node-setup-patch.yaml": "an optional patch: validated merged into daemonset.yaml",
}
PATCH_FILE = "node-setup-patch.yaml"
CLUSTER_SCOPED = {"Namespace"}


class Findings:
    """Collects what is wrong, each with the file it is in."""

    def __init__(self):
        self.lines = []

    def add(self, file, message):
        self.lines.append(f"{file}: {message}")


def load_documents(path, findings):
    """The YAML documents of `path` (empty ones left out), or [] after a finding."""
    try:
        with open(path, encoding="utf-8") as stream:
            return [document for document in yaml.safe_load_all(stream) if document is not None]
    except (OSError, yaml.YAMLError) as error:
        findings.add(os.path.basename(path), f"cannot parse: {error}")
        return []


def subset(labels, of):
    """Whether every label of `labels` is in `of` with the same value."""
    return bool(labels) and all(of.get(key) == value for key, value in labels.items())


def merge(base, patch):
    """`patch` merged into `base` as a strategic merge patch does for what it holds: maps key by key,
    lists of named maps (containers, volumes, env) by name, anything else replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    if named_maps(base) and named_maps(patch):
        merged = list(base)
        for item in patch:
            index = next((n for n, old in enumerate(merged) if old["name"] == item["name"]), None)
            if index is None:
                merged.append(item)
            else:
                merged[index] = merge(merged[index], item)
        return merged
    return patch


def named_maps(items):
    """Whether `items` is a list of maps that each have a name (merged by name)."""
    return isinstance(items, list) and all(isinstance(item, dict) and "name" in item for item in items)


def check_kustomization(directory, findings):
    """The resources of kustomization.yaml: each exists, and every other manifest is accounted for."""
    documents = load_documents(os.path.join(directory, "kustomization.yaml"), findings)
    if len(documents) != 1 or not isinstance(documents[0], dict):
        findings.add("kustomization.yaml", "expected one Kustomization document")
        return [], None
    kustomization = documents[0]
    resources = kustomization.get("resources") or []
    for resource in resources:
        if not os.path.isfile(os.path.join(directory, resource)):
            findings.add("kustomization.yaml", f"resource {resource} does not exist")
    for patch in kustomization.get("patches") or []:
        if not os.path.isfile(os.path.join(directory, patch.get("path", ""))):
            findings.add("kustomization.yaml", f"patch {patch.get('path')} does not exist")
    for name in sorted(os.listdir(directory)):
        if name.endswith((".yaml", ".yml")) and name not in resources:
            if name in NOT_RESOURCES:
                print(f"k8s-validate: not schema-checked: {name}: {NOT_RESOURCES[name]}")
            else:
                findings.add("kustomization.yaml", f"{name} is not among its resources")
    if "servicemonitor.yaml" in resources:
        findings.add("kustomization.yaml", "servicemonitor.yaml needs the Prometheus operator's CRD: keep it out")
    return resources, kustomization.get("namespace")


def container_ports(container):
    """A container's ports by name."""
    return {port.get("name"): port.get("containerPort") for port in container.get("ports") or []}


def check_daemonset(daemonset, file, findings):
    """The DaemonSet on its own: selector, host network, probes, scrape annotation, least privilege."""
    spec = daemonset.get("spec") or {}
    template = spec.get("template") or {}
    pod = template.get("spec") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if not subset((spec.get("selector") or {}).get("matchLabels") or {}, labels):
        findings.add(file, "spec.selector.matchLabels do not match the pod template's labels")
    if pod.get("hostNetwork") is not True:
        findings.add(file, "hostNetwork must be true: subflows reach each instance on its node's own addresses")
    if pod.get("hostNetwork") and pod.get("dnsPolicy") != "ClusterFirstWithHostNet":
        findings.add(file, "a hostNetwork pod needs dnsPolicy ClusterFirstWithHostNet")
    containers = pod.get("containers") or []
    if len(containers) != 1:
        findings.add(file, f"expected one container, found {len(containers)}")
        return None
    container = containers[0]
    ports = container_ports(container)
    for probe in ("readinessProbe", "livenessProbe"):
        get = (container.get(probe) or {}).get("httpGet") or {}
        if get.get("path") != "/healthz" or get.get("port") not in ("metrics", ports.get("metrics")):
            findings.add(file, f"{probe} must be an httpGet of /healthz on the metrics port")
    annotations = (template.get("metadata") or {}).get("annotations") or {}
    if annotations.get("prometheus.io/scrape") != "true":
        findings.add(file, 'the pod template lacks prometheus.io/scrape: "true"')
    if annotations.get("prometheus.io/port") != str(ports.get("metrics")):
        findings.add(file, f"prometheus.io/port is {annotations.get('prometheus.io/port')!r}, the metrics port"
                     f" {ports.get('metrics')}")
    security = container.get("securityContext") or {}
    capabilities = security.get("capabilities") or {}
    if capabilities.get("drop") != ["ALL"]:
        findings.add(file, "the container must drop ALL capabilities")
    extra = set(capabilities.get("add") or []) - {"NET_ADMIN", "NET_BIND_SERVICE"}
    if extra:
        findings.add(file, f"capabilities beyond NET_ADMIN and NET_BIND_SERVICE: {sorted(extra)}")
    if security.get("allowPrivilegeEscalation") is not False:
        findings.add(file, "securityContext.allowPrivilegeEscalation must be false")
    if security.get("readOnlyRootFilesystem") is not True:
        findings.add(file, "securityContext.readOnlyRootFilesystem must be true")
    if security.get("privileged", False):
        findings.add(file, "the relay's container must not be privileged")
    resources = container.get("resources") or {}
    for kind in ("requests", "limits"):
        if not {"cpu", "memory"} <= set(resources.get(kind) or {}):
            findings.add(file, f"resources.{kind} must name cpu and memory")
    return container


def config_folder(daemonset, container, objects, file, findings):
    """The relay's configuration path (with $(NODE_NAME) in it) and its folder as the pod sees it: file
    name -> (bytes, mode), from the volume mounted there."""
    arguments = (container.get("command") or []) + (container.get("args") or [])
    if "--config" not in arguments[:-1]:
        findings.add(file, "the container runs no `run --config FILE`")
        return None, {}
    config = arguments[arguments.index("--config") + 1]
    if "run" not in arguments:
        findings.add(file, "the container does not run `mptcp-relay run`")
    for variable in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", config):
        env = {item.get("name"): item for item in container.get("env") or []}
        field = ((env.get(variable) or {}).get("valueFrom") or {}).get("fieldRef") or {}
        if field.get("fieldPath") != "spec.nodeName":
            findings.add(file, f"$({variable}) in --config must come from the env fieldRef spec.nodeName")
    folder = os.path.dirname(config)
    mounts = [m for m in container.get("volumeMounts") or [] if m.get("mountPath", "").rstrip("/") == folder]
    if len(mounts) != 1:
        findings.add(file, f"no volume is mounted at {folder}, the folder of --config {config}")
        return config, {}
    volumes = {v.get("name"): v for v in ((daemonset["spec"]["template"]["spec"]).get("volumes") or [])}
    volume = volumes.get(mounts[0].get("name"))
    if volume is None:
        findings.add(file, f"volumeMount {mounts[0].get('name')} names no volume")
        return config, {}
    if "projected" in volume:
        default_mode = volume["projected"].get("defaultMode", 0o644)
        sources = volume["projected"].get("sources") or []
    else:
        default_mode = (volume.get("configMap") or volume.get("secret") or {}).get("defaultMode", 0o644)
        sources = [{key: volume[key]} for key in ("configMap", "secret") if key in volume]
    files = {}
    for source in sources:
        for kind, decode in (("configMap", lambda text: text.encode()), ("secret", base64.b64decode)):
            if kind not in source:
                continue
            name = source[kind].get("name")
            found = [o for o in objects if o.get("kind") == kind[0].upper() + kind[1:]
                     and o["metadata"].get("name") == name]
            if not found:
                findings.add(file, f"the volume's {kind} {name} is in no manifest")
                continue
            data = found[0].get("data") or {}
            items = source[kind].get("items") or [{"key": key, "path": key} for key in data]
            for item in items:
                if item.get("key") not in data:
                    findings.add(file, f"{kind} {name} has no key {item.get('key')}")
                    continue
                try:
                    files[item["path"]] = (decode(data[item["key"]]), item.get("mode", default_mode))
                except ValueError as error:
                    findings.add(file, f"{kind} {name}: {item['key']} is not base64: {error}")
    return config, files


def check_relay_configs(configmap_file, container, files, findings):
    """Each NODE.toml of the folder: TOML, a metrics port and listeners the container declares, an
    announced address, key files that are there and readable by the owner only."""
    ports = container_ports(container)
    declared = set(ports.values())
    configs = sorted(name for name in files if name.endswith(".toml"))
    if not configs:
        findings.add(configmap_file, "holds no NODE.toml")
    for name in configs:
        where = f"{configmap_file}: data[{name}]"
        try:
            config = tomllib.loads(files[name][0].decode())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            findings.add(where, f"not TOML: {error}")
            continue
        listen = (config.get("metrics") or {}).get("listen", "127.0.0.1:9090")
        if not listen.endswith(f":{ports.get('metrics')}") or listen.startswith(("127.", "[::1]")):
            findings.add(where, f"[metrics] listen = {listen!r}: expected the node's InternalIP and the metrics"
                         f" port {ports.get('metrics')} (probes and Prometheus use it)")
        for listener in config.get("listener") or []:
            port = str(listener.get("listen", "")).rsplit(":", 1)[-1]
            if not port.isdigit() or int(port) not in declared:
                findings.add(where, f"listener {listener.get('name')} listens on port {port}, which the"
                             f" container does not declare ({sorted(declared)})")
        if not (config.get("runtime") or {}).get("announce"):
            findings.add(where, "no [runtime] announce: the node's own address is what the joins need")
        for client in config.get("client") or []:
            key_files = client.get("key_file") or []
            for key_file in [key_files] if isinstance(key_files, str) else key_files:
                if not isinstance(key_file, str):
                    continue  # check-config names the wrong type
                if key_file.startswith("/"):
                    findings.add(where, f"key_file {key_file}: use a name relative to the folder (the Secret"
                                 " is mounted beside the configuration)")
                elif key_file not in files:
                    findings.add(where, f"key_file {key_file} is not in the mounted folder (the Secret's keys:"
                                 f" {sorted(n for n in files if not n.endswith('.toml'))})")
                elif files[key_file][1] & 0o077:
                    findings.add(where, f"key_file {key_file} gets mode {files[key_file][1]:o}; the relay"
                                 " refuses keys that group or others may read")
    return configs


def check_services(services, template_labels, ports, findings):
    """Each Service selects the converter pods and targets ports the container declares."""
    for file, service in services:
        name = service["metadata"]["name"]
        spec = service.get("spec") or {}
        if not subset(spec.get("selector") or {}, template_labels):
            findings.add(file, f"service {name}: its selector matches no converter pod")
        for port in spec.get("ports") or []:
            target = port.get("targetPort", port.get("port"))
            if target not in ports and target not in ports.values():
                findings.add(file, f"service {name}: targetPort {target} is no port of the container")


def check_servicemonitor(file, monitor, services, namespace, findings):
    """The ServiceMonitor finds the metrics Service and its port."""
    if monitor.get("apiVersion") != "monitoring.coreos.com/v1" or monitor.get("kind") != "ServiceMonitor":
        findings.add(file, "expected apiVersion monitoring.coreos.com/v1, kind ServiceMonitor")
        return
    spec = monitor.get("spec") or {}
    if namespace not in ((spec.get("namespaceSelector") or {}).get("matchNames") or []):
        findings.add(file, f"namespaceSelector.matchNames lacks {namespace}")
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    matched = [s for _, s in services if subset(selector, s["metadata"].get("labels") or {})]
    if len(matched) != 1:
        findings.add(file, f"its selector matches {len(matched)} Services; expected the metrics Service")
        return
    names = {port.get("name") for port in matched[0]["spec"].get("ports") or []}
    for endpoint in spec.get("endpoints") or [{}]:
        if endpoint.get("port") not in names:
            findings.add(file, f"endpoint port {endpoint.get('port')} is no named port of service"
                         f" {matched[0]['metadata']['name']} ({sorted(names)})")


def main(directory, work):
    findings = Findings()
    resources, kustomize_namespace = check_kustomization(directory, findings)
    objects, sources = [], {}
    for resource in resources:
        for document in load_documents(os.path.join(directory, resource), findings):
            if not isinstance(document, dict) or not all(k in document for k in ("apiVersion", "kind", "metadata")):
                findings.add(resource, "a document without apiVersion, kind and metadata")
                continue
            objects.append(document)
            sources[id(document)] = resource
    namespaces = [o["metadata"].get("name") for o in objects if o["kind"] == "Namespace"]
    namespace = namespaces[0] if len(namespaces) == 1 else None
    if namespace is None:
        findings.add("kustomization.yaml", f"expected one Namespace among the resources, found {len(namespaces)}")
    elif kustomize_namespace not in (None, namespace):
        findings.add("kustomization.yaml", f"namespace {kustomize_namespace} is not the Namespace {namespace}")
    for item in objects:
        if item["kind"] not in CLUSTER_SCOPED and item["metadata"].get("namespace") != namespace:
            findings.add(sources[id(item)], f"{item['kind']} {item['metadata'].get('name')} is not in namespace"
                         f" {namespace}")

    daemonsets = [o for o in objects if o["kind"] == "DaemonSet"]
    configs = []
    if len(daemonsets) != 1:
        findings.add("kustomization.yaml", f"expected one DaemonSet among the resources, found {len(daemonsets)}")
    else:
        daemonset = daemonsets[0]
        file = sources[id(daemonset)]
        container = check_daemonset(daemonset, file, findings)
        if container is not None:
            template_labels = daemonset["spec"]["template"]["metadata"].get("labels") or {}
            services = [(sources[id(o)], o) for o in objects if o["kind"] == "Service"]
            check_services(services, template_labels, container_ports(container), findings)
            _, files = config_folder(daemonset, container, objects, file, findings)
            configmaps = [sources[id(o)] for o in objects if o["kind"] == "ConfigMap"]
            configs = check_relay_configs(configmaps[0] if configmaps else file, container, files, findings)
            folder = os.path.join(work, "etc-mptcp-relay")
            os.makedirs(folder, mode=0o755)
            for name, (content, mode) in files.items():
                path = os.path.join(folder, name)
                with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as stream:
                    stream.write(content)
                os.chmod(path, mode)
            monitor_path = os.path.join(directory, "servicemonitor.yaml")
            if os.path.isfile(monitor_path):
                for monitor in load_documents(monitor_path, findings):
                    check_servicemonitor("servicemonitor.yaml", monitor, services, namespace, findings)
            else:
                findings.add("servicemonitor.yaml", "missing")
            patch_path = os.path.join(directory, PATCH_FILE)
            if os.path.isfile(patch_path):
                patches = load_documents(patch_path, findings)
                merged = daemonset
                for patch in patches:
                    if (patch.get("kind"), (patch.get("metadata") or {}).get("name")) != (
                            "DaemonSet", daemonset["metadata"]["name"]):
                        findings.add(PATCH_FILE, "patches something else than the DaemonSet")
                    merged = merge(merged, patch)
                with open(os.path.join(work, "daemonset-with-node-setup.yaml"), "w", encoding="utf-8") as stream:
                    yaml.safe_dump(merged, stream, sort_keys=False)

    with open(os.path.join(work, "schema.list"), "w", encoding="utf-8") as stream:
        for resource in resources:
            stream.write(os.path.join(directory, resource) + "\n")
        if os.path.isfile(os.path.join(work, "daemonset-with-node-setup.yaml")):
            stream.write(os.path.join(work, "daemonset-with-node-setup.yaml") + "\n")
    with open(os.path.join(work, "config.list"), "w", encoding="utf-8") as stream:
        for name in configs:
            stream.write(os.path.join(work, "etc-mptcp-relay", name) + "\n")

    for line in findings.lines:
        print(f"k8s-validate: {line}", file=sys.stderr)
    return 1 if findings.lines else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(f"usage: {sys.argv[0]} DIR WORK", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
