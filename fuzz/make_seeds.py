#!/usr/bin/env python3
"""Writes the seed corpora fuzz/corpus/<target>/ from the repository's own
inputs (test/schema good and bad configs, the sklookup entries of examples/
with cniVersion, name and a prevResult injected) plus hand-made edge cases.
Rerun after the schema examples change: python3 fuzz/make_seeds.py
"""
import hashlib
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"

PREV_RESULT = {
    "cniVersion": "1.0.0",
    "interfaces": [
        {"name": "cni0", "mac": "02:00:5e:00:53:01"},
        {"name": "veth1", "mac": "02:00:5e:00:53:02"},
        {"name": "eth0", "mac": "02:00:5e:00:53:03", "sandbox": "/var/run/netns/x"},
    ],
    "ips": [
        {"address": "192.0.2.10/24", "gateway": "192.0.2.1", "interface": 2},
        {"address": "2001:db8::10/64", "gateway": "2001:db8::1", "interface": 2},
    ],
}


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / name).write_bytes(data)


def compact(obj):
    return json.dumps(obj, separators=(",", ":"))


def netconf_seeds():
    """Every config the repo has, and the bindings arrays inside them."""
    bindings = []
    for kind in ("good", "bad"):
        for f in sorted((ROOT / "test" / "schema" / kind).glob("*.json")):
            text = f.read_text()
            write("netconf", f"{kind}-{f.stem}.json", text)
            try:
                conf = json.loads(text)
            except ValueError:
                continue
            if not isinstance(conf, dict):
                continue
            for arr in (conf.get("bindings"), (conf.get("runtimeConfig") or {}).get("bindings")):
                if isinstance(arr, list):
                    bindings.append((f"{kind}-{f.stem}", arr))
            ann = ((conf.get("runtimeConfig") or {}).get("io.kubernetes.cri.pod-annotations") or {})
            value = ann.get("sklookup.dev/bindings") if isinstance(ann, dict) else None
            if isinstance(value, str):
                try:
                    bindings.append((f"{kind}-{f.stem}-annotation", json.loads(value)))
                except ValueError:
                    pass
    for f in sorted((ROOT / "examples").glob("*.conflist")):
        conflist = json.loads(f.read_text())
        for entry in conflist["plugins"]:
            if entry.get("type") != "sklookup":
                continue
            conf = {"cniVersion": conflist["cniVersion"], "name": conflist["name"], **entry,
                    "prevResult": PREV_RESULT}
            write("netconf", f"example-{f.stem}.json", compact(conf))
            if "bindings" in entry:
                bindings.append((f"example-{f.stem}", entry["bindings"]))
    return bindings


def handmade_netconf():
    base = {"cniVersion": "1.1.0", "name": "net", "type": "sklookup", "prevResult": PREV_RESULT}
    nested = [
        {"label": "all", "protocol": "tcp", "prefix": "0.0.0.0/0", "missing": "pass"},
        {"label": "web", "protocol": "tcp", "prefix": "192.0.2.0/24", "ports": ["80", "8000-8999"]},
        {"label": "api", "protocol": "tcp", "prefix": "192.0.2.128/25", "ports": ["8080"]},
        {"label": "dns", "protocol": "udp", "prefix": "pod", "ports": ["53", "1-65535"]},
        {"label": "v6", "protocol": "tcp", "prefix": "2001:db8::/32", "ports": ["40000-50000"]},
        {"label": "v6h", "protocol": "tcp", "prefix": "pod6", "ports": ["40000"]},
    ]
    annotation = [
        {"label": "ann", "protocol": "tcp", "prefix": "pod4", "ports": ["8080-8089"]},
        {"label": "vip", "protocol": "udp", "prefix": "203.0.113.8/29", "ports": ["9000"]},
    ]
    seeds = {
        "nested": {**base, "bindings": nested, "limits": {"bindings": 100, "labels": 8,
                                                           "portRanges": 200}},
        "annotation-allowed": {
            **base,
            "annotations": {"allow": True, "allowedPrefixes": ["pod", "203.0.113.0/24"],
                            "allowedPorts": ["1024-65535", "53"]},
            "runtimeConfig": {"io.kubernetes.cri.pod-annotations": {
                "sklookup.dev/bindings": compact(annotation)}},
        },
        "annotation-refused": {
            **base,
            "annotations": {"allow": True},
            "runtimeConfig": {"io.kubernetes.cri.pod-annotations": {
                "sklookup.dev/bindings": compact(annotation)},
                "bindings": [{"label": "rc", "protocol": "tcp", "prefix": "pod"}]},
        },
        "gc": {"cniVersion": "1.1.0", "name": "net.work", "type": "sklookup",
               "bpffsRoot": "/sys/fs/bpf/x/",
               "cni.dev/valid-attachments": [
                   {"containerID": "abc.def", "ifname": "eth0"},
                   {"containerID": "../etc", "ifname": "eth0"},
                   {"containerID": "x", "ifname": 5}]},
        "del-bad-bindings": {**base, "bindings": [{"label": "-", "protocol": "sctp"}]},
        "prevresult-odd": {**base, "bindings": [{"label": "p", "protocol": "tcp",
                                                 "prefix": "pod"}],
                           "prevResult": {"interfaces": [{"name": "eth0"}],
                                          "ips": [{"address": "192.0.2.1", "interface": 7},
                                                  {"address": "::ffff:192.0.2.1/128"},
                                                  {"address": "192.0.2.1/32",
                                                   "interface": 0}]}},
        "conflict": {**base, "bindings": [
            {"label": "a", "protocol": "tcp", "prefix": "192.0.2.0/24", "ports": ["1-100"]},
            {"label": "b", "protocol": "tcp", "prefix": "192.0.2.0/24", "ports": ["50-150"]}]},
    }
    for name, conf in seeds.items():
        write("netconf", f"hand-{name}.json", compact(conf))
    return [("hand-nested", nested), ("hand-annotation", annotation)]


def bindings_seeds(found):
    seen = set()
    for name, arr in found:
        text = compact(arr)
        digest = hashlib.sha1(text.encode()).hexdigest()
        if digest not in seen:
            seen.add(digest)
            write("bindings", f"{name}.json", text)
    # Dense nesting in a tiny universe, as test_compile.c's random sets.
    dense = []
    for i, (plen, port) in enumerate([(28, "1-24"), (30, "3-8"), (32, "5"), (31, "1-65535"),
                                      (29, "10-20"), (32, "12-14")]):
        dense.append({"label": "abcd"[i % 4], "protocol": "tcp",
                      "prefix": f"192.0.2.{(i * 2) & ~((1 << (32 - plen)) - 1) & 15}/{plen}",
                      "ports": [port]})
    write("bindings", "hand-dense.json", compact(dense))
    write("bindings", "hand-duplicates.json", compact([
        {"label": "a", "protocol": "udp", "prefix": "2001:db8::/126", "ports": ["5", "5", "1-9"]},
        {"label": "a", "protocol": "udp", "prefix": "2001:db8::/126", "ports": ["5"]},
        {"label": "a", "protocol": "udp", "prefix": "2001:db8::/128", "ports": ["1-9"]}]))


def strings_seeds():
    seeds = {
        0: ["80", "8000-8999", "1-65535", "65535", "0", "080", "65536", "10-5", "-", "1-"],
        1: ["192.0.2.0/24", "2001:db8::/64", "192.0.2.1", "::/0", "0.0.0.0/0",
            "::ffff:192.0.2.0/120", "192.0.2.1/24", "fe80::1%eth0/64", "1.2.3.4/033",
            "2001:db8::1:2:3:4:5/128"],
        2: ["web", "a", "A.b-c_d", "-web", "abcdefghijklmnopqrstuvwxyz0123456",
            "abcdefghijklmnopqrstuvwxyz012345"],
        3: ["f00dcafe0123", "eth0", ".hidden", "a/b", "", "x" * 20, "net.work"],
        4: ["/sys/fs/bpf/sklookup\nnet\ncontainer\neth0",
            "/sys/fs/bpf/sklookup/\nnet.1\nabc.def\neth0.5",
            "/sys/fs/bpf/..\nnet\nc\ni", "/\nn\nc\ni", "/a/.\nn\nc\ni", "relative\nn\nc\ni"],
        5: ["", "\n", "1000-2000,3000\n", "0-65535", "32768\t60999\n", "1,2,3,5-9,4",
            "65535-0", "1,,2", "99999"],
    }
    for sel, values in seeds.items():
        for i, v in enumerate(values):
            write("strings", f"sel{sel}-{i}", bytes([sel]) + v.encode())


def record_seeds():
    records = {
        "empty": {"version": 2, "netnsIno": 4026532000, "podRoutes": [], "hostRoutes": [],
                  "reservedPorts": [], "unreservedRanges": 0},
        "full": {"version": 2, "netnsIno": 4026532001,
                 "podRoutes": [{"kind": "local", "prefix": "203.0.113.0/24"},
                               {"kind": "local", "prefix": "2001:db8:5::/48"}],
                 "hostRoutes": [{"kind": "via", "prefix": "203.0.113.0/24", "via": "192.0.2.10"},
                                {"kind": "via", "prefix": "2001:db8:5::/48",
                                 "via": "2001:db8::10"}],
                 "reservedPorts": ["40000-40010", "50000-50000"], "unreservedRanges": 1},
        "attachment": {"version": 2, "stateDir": "/sys/fs/bpf/sklookup/net/c1/eth0",
                       "linkId": 42, "netnsIno": 4026532002, "podRoutes": [],
                       "hostRoutes": [], "reservedPorts": [], "unreservedRanges": 0},
        "named": {"version": 2, "stateDir": "/sys/fs/bpf/sklookup/net/c1/eth0",
                  "linkId": 43, "netnsIno": 4026532003, "podRoutes": [], "hostRoutes": [],
                  "reservedPorts": [], "unreservedRanges": 0,
                  "pod": {"namespace": "shop", "name": "cart-1",
                          "uid": "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"}},
        "bad-route": {"version": 2, "netnsIno": 1,
                      "podRoutes": [{"kind": "via", "prefix": "203.0.113.1/24"}]},
    }
    for name, rec in records.items():
        write("record", f"{name}.json", compact(rec))
    # A record longer than one 4096-byte chunk: the text spans two entries.
    big = dict(records["full"])
    big["reservedPorts"] = [f"{p}-{p + 1}" for p in range(40000, 44000, 10)]
    write("record", "two-chunks.json", compact(big))


def agent_seeds():
    # First byte: even, a request with (byte / 2) % 7 fds; odd, by
    # (byte / 2) % 4, an answer record or a register, unregister or status
    # result document.
    sock = {"fd": 3, "name": "fd 3"}
    requests = {
        "register": (2, {"version": 2, "verb": "register", "label": "web",
                         "pid": 42, "sockets": [sock]}),
        "register4": (5, {"version": 2, "verb": "register", "label": "web",
                          "sockets": [dict(sock, fd=3 + i) for i in range(4)]}),
        "unregister": (1, {"version": 2, "verb": "unregister", "label": "dns",
                           "protocol": "udp"}),
        "status": (1, {"version": 2, "verb": "status"}),
    }
    for name, (n_fds, req) in requests.items():
        write("agent", f"req-{name}", bytes([n_fds * 2]) + compact(req).encode())
    # The overflow: "sockets" repeated (each within its own limit).
    head = '{"version":2,"verb":"register","label":"web"'
    four = ',"sockets":' + compact([sock] * 4)
    write("agent", "req-repeated-sockets", bytes([10]) + (head + four * 30 + "}").encode())
    answers = {
        "part": {"part": "{\"label\":\"web\",\"protocol\":\"both\","},
        "end": {"exit": 0},
        "error": {"exit": 3, "error": "no sklookup dispatcher"},
    }
    for name, ans in answers.items():
        write("agent", f"ans-{name}", b"\x01" + compact(ans).encode())
    counters = ["0"] * 10
    results = {
        "registered": (3, {"label": "web", "pid": 42, "sockets": [{
            "name": "fd 3", "fd": 3, "protocol": "tcp", "family": "ipv6", "v6only": False,
            "local": "[::]:8080", "cookie": "4097", "slots": [True, True, False, False],
            "cleared": ["0", "0", "0", "0"]}]}),
        "unregistered": (5, {"label": "dns", "protocol": "udp",
                             "removed": ["0", "0", "12", "12"]}),
        "status": (7, {"stateDir": "/sys/fs/bpf/sklookup/net/c1/eth0", "netnsIno": "4026532000",
                       "programId": 77, "totals": ["10", "2"],
                       "labels": [{"id": 0, "name": "web", "cookies": ["4097", "4097", "0", "0"],
                                   "locals": ["tcp [::]:8080", "tcp [::]:8080", "", ""],
                                   "counters": counters}],
                       "bindings": [{"protocol": "tcp", "prefix": "10.0.0.0/8",
                                     "ports": ["80", "8000-8999"], "label": "web"}],
                       "bindingIds": [0], "bindingCounters": [counters],
                       "socketsVisible": True,
                       "shadowed": [{"socket": "tcp 10.0.0.1:80", "cookie": "5000",
                                     "binding": 0, "label": "web"}]}),
    }
    for name, (first, doc) in results.items():
        write("agent", f"result-{name}", bytes([first]) + compact(doc).encode())


def main():
    found = netconf_seeds() + handmade_netconf()
    bindings_seeds(found)
    strings_seeds()
    record_seeds()
    agent_seeds()


if __name__ == "__main__":
    main()
