#!/usr/bin/env python3
"""Structure checks for the Kubernetes manifests (python3-yaml).

    check_manifests.py daemonset FILE [--entry-out JSON_FILE]
    check_manifests.py pod FILE

daemonset: the installer manifest has the ConfigMap and the DaemonSet it
claims (kube-system, hostNetwork, tolerations, RollingUpdate), the
privileged init container running `/sklookup-ctl install` (the node image's
entrypoint) with the steps bpffs, binaries and config and the host paths it
writes, bpffs mounted with Bidirectional propagation, the agent container
(sklookup-ctl agent) with /run/sklookup and bpffs, the watch container
(install --watch ... config), and hostPath volumes for /opt/cni/bin,
/etc/cni/net.d, /sys/fs/bpf and /run/sklookup. Every mount names a declared
volume; every step and option passed to install is one its --help names
(plugin/ctl/ctl_install*.c). --entry-out writes the ConfigMap's plugin entry (with
cniVersion and name, as libcni injects them) for the schema and the plugin.

pod: the pod asks for bindings with the annotation sklookup.dev/bindings,
runs its server under `sklookup-ctl exec --label L` with L a label of the
annotation, adds no capability (drops ALL, not privileged, no privilege
escalation), mounts /run/sklookup (the agent's socket) from the host, and
does not mount bpffs.

Prints "ok FILE" or "FAIL FILE: reason"; exit 0 when ok, 1 otherwise.
"""

import json
import os
import re
import sys

import yaml

CTL = os.path.join(os.path.dirname(__file__), "..", "..", "plugin", "ctl")
INSTALLER = os.path.join(CTL, "ctl_install.c")  # install's help
INSTALLER_OPTIONS = os.path.join(CTL, "ctl_install_options.c")  # its steps
ANNOTATION = "sklookup.dev/bindings"


class Fail(Exception):
    pass


def need(cond, msg):
    if not cond:
        raise Fail(msg)


def load(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def containers(spec, key="containers"):
    return {c["name"]: c for c in spec.get(key) or []}


def mounts(c):
    return {m["mountPath"]: m for m in c.get("volumeMounts") or []}


def installer_knows():
    """The steps and options of sklookup-ctl install, from its source."""
    text = open(INSTALLER, encoding="utf-8").read()
    steps = re.search(r"step_names\[\] = \{([^}]*)\}",
                      open(INSTALLER_OPTIONS, encoding="utf-8").read())
    need(steps, "cannot find the step list in plugin/ctl/ctl_install_options.c")
    helptext = re.search(r"install_help\[\] =(.*?);\n", text, re.S)
    need(helptext, "cannot find install's help in plugin/ctl/ctl_install.c")
    return set(re.findall(r'"([a-z]+)"', steps.group(1))), \
        set(re.findall(r"(--[a-z][a-z-]+)", helptext.group(1)))


def install_call(c, steps_known, options_known, want_steps):
    """The options ({--name: value}) of a container running sklookup-ctl
    install with the steps want_steps."""
    cmd = c.get("command") or []
    need(cmd[:2] == ["/sklookup-ctl", "install"],
         "%s: runs %r, not /sklookup-ctl install" % (c["name"], cmd))
    options, steps = {}, []
    for arg in cmd[2:]:
        if arg.startswith("--"):
            name, _, value = arg.partition("=")
            need(name in options_known, "%s: sklookup-ctl install has no option %s"
                 % (c["name"], name))
            options[name] = value
        else:
            need(arg in steps_known, "%s: sklookup-ctl install has no step %r" % (c["name"], arg))
            steps.append(arg)
    need(steps == want_steps, "%s: steps %r, want %r" % (c["name"], steps, want_steps))
    return options


def check_daemonset(path, entry_out):
    docs = load(path)
    kinds = {d.get("kind"): d for d in docs}
    need(set(kinds) == {"ConfigMap", "DaemonSet"}, "kinds %r, want ConfigMap and DaemonSet"
         % sorted(kinds))
    cm, ds = kinds["ConfigMap"], kinds["DaemonSet"]
    for d in (cm, ds):
        need(d["metadata"].get("namespace") == "kube-system",
             "%s is not in kube-system" % d["kind"])
    need(ds["apiVersion"] == "apps/v1", "DaemonSet apiVersion is not apps/v1")
    need(ds["spec"].get("updateStrategy", {}).get("type") == "RollingUpdate",
         "updateStrategy is not RollingUpdate")
    template = ds["spec"]["template"]
    need(ds["spec"]["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items(),
         "the selector does not match the pod template's labels")
    spec = template["spec"]
    need(spec.get("hostNetwork") is True, "hostNetwork is not true")
    effects = {t.get("effect") for t in spec.get("tolerations") or [] if t.get("operator") == "Exists"}
    need({"NoSchedule", "NoExecute"} <= effects, "no tolerations Exists for NoSchedule and NoExecute")

    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    host_paths = {v["hostPath"]["path"]: n for n, v in volumes.items() if "hostPath" in v}
    for p in ("/opt/cni/bin", "/etc/cni/net.d", "/sys/fs/bpf", "/run/sklookup"):
        need(p in host_paths, "no hostPath volume for %s" % p)
    cm_volumes = [n for n, v in volumes.items() if "configMap" in v]
    need(len(cm_volumes) == 1 and volumes[cm_volumes[0]]["configMap"]["name"]
         == cm["metadata"]["name"], "no volume of the ConfigMap %s" % cm["metadata"]["name"])

    steps_known, options_known = installer_knows()
    inits, mains = containers(spec, "initContainers"), containers(spec)
    need(list(inits) == ["install", "upgrade"],
         "init containers %r, want install then upgrade" % list(inits))
    need(set(mains) == {"agent", "config"}, "containers %r, want agent and config" % sorted(mains))
    used = set()
    for c in list(inits.values()) + list(mains.values()):
        for m in mounts(c).values():
            need(m["name"] in volumes, "%s mounts the undeclared volume %s" % (c["name"], m["name"]))
            used.add(m["name"])
    need(used == set(volumes), "volumes never mounted: %r" % sorted(set(volumes) - used))

    install = inits["install"]
    need(install.get("securityContext", {}).get("privileged") is True,
         "the install container is not privileged (Bidirectional propagation needs it)")
    o = install_call(install, steps_known, options_known, ["bpffs", "binaries", "config"])
    m = mounts(install)
    for opt, host in (("--cni-bin-dir", "/opt/cni/bin"), ("--cni-conf-dir", "/etc/cni/net.d")):
        need(opt in o and o[opt] in m, "install: %s is not a mounted directory" % opt)
        need(volumes[m[o[opt]]["name"]]["hostPath"]["path"] == host,
             "install: %s is not the host's %s" % (opt, host))
    need(m.get("/sys/fs/bpf", {}).get("mountPropagation") == "Bidirectional",
         "install: /sys/fs/bpf is not mounted with Bidirectional propagation")
    need(o.get("--bpffs", "/sys/fs/bpf") == "/sys/fs/bpf", "install: --bpffs")
    need(o.get("--from", "/") == "/", "install: --from is not the image's root")
    entry_file = o.get("--entry-file", "")
    need(os.path.dirname(entry_file) in m and
         volumes[m[os.path.dirname(entry_file)]["name"]].get("configMap"),
         "install: --entry-file is not in the mounted ConfigMap")
    need(os.path.basename(entry_file) in cm["data"],
         "the ConfigMap has no %s" % os.path.basename(entry_file))

    upgrade = inits["upgrade"]
    need("sklookup-ctl upgrade --all" in " ".join(upgrade.get("command", [])),
         "upgrade: does not run sklookup-ctl upgrade --all")
    um = mounts(upgrade)
    need(um.get("/sys/fs/bpf", {}).get("mountPropagation") in ("HostToContainer", "Bidirectional"),
         "upgrade: does not see the host's bpffs mounts")
    need(volumes[um.get("/run/netns", {}).get("name", "")].get("hostPath", {}).get("path")
         == "/run/netns" if "/run/netns" in um else False,
         "upgrade: the host's /run/netns (the pods' network namespaces) is not mounted")

    agent = mains["agent"]
    need(agent.get("command", [])[-2:] and agent["command"][0] == "/sklookup-ctl"
         and "agent" in agent["command"][1:], "agent: does not run sklookup-ctl agent")
    am = mounts(agent)
    need("/run/sklookup" in am and volumes[am["/run/sklookup"]["name"]]["hostPath"]["path"]
         == "/run/sklookup", "agent: /run/sklookup is not the host's")
    need(am.get("/sys/fs/bpf", {}).get("mountPropagation") in ("HostToContainer", "Bidirectional"),
         "agent: does not see the host's bpffs mounts")

    config = mains["config"]
    oc = install_call(config, steps_known, options_known, ["config"])
    need(oc.get("--watch", "").isdigit(), "config: no --watch SECONDS")
    need(oc.get("--entry-file") == entry_file, "config: not the install container's --entry-file")
    mc = mounts(config)
    need(oc.get("--cni-conf-dir") in mc and
         volumes[mc[oc["--cni-conf-dir"]]["name"]]["hostPath"]["path"] == "/etc/cni/net.d",
         "config: --cni-conf-dir is not the host's /etc/cni/net.d")
    need(not config.get("securityContext", {}).get("privileged"), "config: privileged")

    entry = json.loads(cm["data"][os.path.basename(entry_file)])
    need(entry.get("type") == "sklookup", "the ConfigMap's entry is not of type sklookup")
    need(entry.get("capabilities", {}).get("io.kubernetes.cri.pod-annotations") is True,
         "the entry does not declare the pod-annotations capability")
    if entry_out:
        entry = dict(entry, cniVersion="1.0.0", name="pods")
        with open(entry_out, "w", encoding="utf-8") as f:
            json.dump(entry, f)


def check_pod(path):
    docs = [d for d in load(path) if d.get("kind") == "Pod"]
    need(len(docs) == 1, "want one Pod, found %d" % len(docs))
    pod = docs[0]
    value = (pod["metadata"].get("annotations") or {}).get(ANNOTATION)
    need(isinstance(value, str), "no %s annotation (a string)" % ANNOTATION)
    labels = {b["label"] for b in json.loads(value)}
    spec = pod["spec"]
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    for name, c in containers(spec).items():
        sc = c.get("securityContext") or {}
        need(not sc.get("privileged"), "%s: privileged" % name)
        need(not (sc.get("capabilities") or {}).get("add"), "%s: adds capabilities" % name)
        need("ALL" in ((sc.get("capabilities") or {}).get("drop") or []),
             "%s: does not drop ALL capabilities" % name)
        need(sc.get("allowPrivilegeEscalation") is False, "%s: allows privilege escalation" % name)
        cmd = c.get("command") or []
        need(cmd[:2] == ["sklookup-ctl", "exec"], "%s: does not run sklookup-ctl exec" % name)
        need("--" in cmd and "--listen" in cmd[:cmd.index("--")],
             "%s: sklookup-ctl exec without --listen ... --" % name)
        label = cmd[cmd.index("--label") + 1] if "--label" in cmd else None
        need(label in labels, "%s: --label %r is not a label of the annotation %r"
             % (name, label, sorted(labels)))
        m = mounts(c)
        need("/run/sklookup" in m, "%s: does not mount /run/sklookup (the agent's socket)" % name)
        vol = volumes.get(m["/run/sklookup"]["name"], {})
        need(vol.get("hostPath", {}).get("path") == "/run/sklookup",
             "%s: /run/sklookup is not the host's" % name)
        need(not any(p.startswith("/sys/fs/bpf") for p in m), "%s: mounts bpffs" % name)
    need(not (spec.get("securityContext") or {}).get("privileged"), "the pod is privileged")


def main(argv):
    if len(argv) < 3 or argv[1] not in ("daemonset", "pod"):
        print(__doc__, file=sys.stderr)
        return 2
    kind, path = argv[1], argv[2]
    entry_out = argv[4] if len(argv) == 5 and argv[3] == "--entry-out" else None
    try:
        if kind == "daemonset":
            check_daemonset(path, entry_out)
        else:
            check_pod(path)
    except (Fail, KeyError, TypeError, ValueError, IndexError, OSError, yaml.YAMLError) as e:
        print("FAIL %s: %s" % (path, e if isinstance(e, Fail) else "%s: %s"
                               % (type(e).__name__, e)))
        return 1
    print("ok %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
