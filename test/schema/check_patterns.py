#!/usr/bin/env python3
"""Check the regular expressions of schema/sklookup.schema.json against the
plugin's own rules (plugin/lib/bindings_syntax.c), by brute force and fuzzing.

    check_patterns.py SCHEMA

- ports: every string "0".."999999" and "0N", pairs "N-M" over a sample that
  holds every boundary: accepted exactly when 1 <= N <= M <= 65535, plain
  decimal, no leading zero (skl_port_range_parse);
- prefixes: random IPv4/IPv6 spellings and mutations: accepted exactly when
  inet_pton(3) takes the address and the length is plain decimal within
  /0../32 or /0../128 (skl_prefix_parse_also; host bits are not the schema's job).

Prints one summary line and exits 1 on any mismatch. Needs no jsonschema.
"""

import json
import random
import re
import socket
import sys


def pointer(doc, ptr):
    for part in ptr.strip("#/").split("/"):
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


def decimal(s):
    if not s or len(s) > 6 or (s[0] == "0" and len(s) > 1) or not s.isascii() or not s.isdigit():
        return None
    return int(s)


def port_rule(s):
    lo, dash, hi = s.partition("-")
    a = decimal(lo)
    b = decimal(hi) if dash else a
    return a is not None and b is not None and 1 <= a <= b <= 65535


def prefix_rule(s):
    host, slash, plen = s.partition("/")
    if not host or len(host) >= 46:
        return False
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        socket.inet_pton(family, host)
    except (OSError, ValueError):
        return False
    if slash:
        n = decimal(plen)
        return n is not None and n <= (128 if family == socket.AF_INET6 else 32)
    return True


def main(argv):
    if len(argv) != 1:
        sys.exit("usage: check_patterns.py SCHEMA")
    schema = json.load(open(argv[0], encoding="utf-8"))
    d = "#/$defs/"
    port = re.compile(pointer(schema, d + "port/pattern"))
    syntax = re.compile(pointer(schema, d + "portRange/allOf/0/pattern"))
    shorter = re.compile(pointer(schema, d + "portRange/allOf/1/anyOf/0/pattern"))
    same = re.compile(pointer(schema, d + "portRange/allOf/1/anyOf/1/allOf/0/pattern"))
    order = re.compile(pointer(schema, d + "portRange/allOf/1/anyOf/1/allOf/1/pattern"))
    v4 = re.compile(pointer(schema, d + "ipv4Prefix/pattern"))
    v6 = re.compile(pointer(schema, d + "ipv6Prefix/pattern"))

    def port_schema(s):
        if port.search(s):
            return True
        return bool(syntax.search(s) and (shorter.search(s) or (same.search(s) and order.search(s))))

    def prefix_schema(s):
        return bool(v4.search(s) or v6.search(s))

    mismatches = []
    checked = 0

    def compare(kind, s, got, want):
        nonlocal checked
        checked += 1
        if got != want and len(mismatches) < 20:
            mismatches.append("%s %r: schema %s, plugin %s" % (kind, s, got, want))

    rng = random.Random(1)
    for v in range(0, 1000000):
        for s in (str(v), "0" + str(v)):
            compare("port", s, port_schema(s), port_rule(s))
    nums = set(range(0, 130))
    for p in range(1, 6):
        for k in range(1, 10):
            for delta in (-1, 0, 1):
                nums.add(k * 10 ** p + delta)
    nums |= {65529, 65530, 65534, 65535, 65536, 65599, 65600, 100000}
    nums |= {rng.randint(1, 65535) for _ in range(300)}
    nums = sorted(nums)
    for a in nums:
        for b in nums:
            s = "%d-%d" % (a, b)
            compare("range", s, port_schema(s), port_rule(s))
    for s in ["", "-", "1-", "-1", "1--2", "1-2-3", " 1", "1 ", "+1", "1.0", "1-02", "01-2",
              "\u0663", "1-\u0663"]:
        compare("port", s, port_schema(s), port_rule(s))

    hexdigits = "0123456789abcdefABCDEF"

    def octet():
        r = rng.random()
        if r < 0.8:
            return str(rng.randint(0, 255))
        return rng.choice([str(rng.randint(256, 999)), "0" + str(rng.randint(0, 99)), "", "00"])

    def ipv4():
        return ".".join(octet() for _ in range(rng.choice([4, 4, 4, 3, 5])))

    def group():
        if rng.random() < 0.15:
            return "".join(rng.choice(hexdigits) for _ in range(rng.choice([0, 1, 4, 5])))
        return format(rng.randint(0, 0xFFFF), rng.choice(["x", "X", "04x"]))

    def ipv6():
        k = rng.randint(0, 9)
        groups = [group() for _ in range(k)]
        if k and rng.random() < 0.3:
            groups[-1] = ipv4()
        r = rng.random()
        if r < 0.5 and k:
            i = rng.randint(0, k)
            return ":".join(groups[:i]) + "::" + ":".join(groups[i:])
        s = ":".join(groups)
        return {0: ":" + s, 1: s + ":", 2: s.replace(":", ":::", 1)}.get(int(r * 20) % 4, s)

    def length():
        if rng.random() < 0.4:
            return ""
        return "/" + rng.choice([str(rng.randint(0, 140)), "0" + str(rng.randint(0, 9)), "", "x",
                                 "-1", "32", "33", "128", "129", " 1"])

    for _ in range(300000):
        s = (ipv6() if rng.random() < 0.7 else ipv4()) + length()
        compare("prefix", s, prefix_schema(s), prefix_rule(s))
    for s in ["::", "::/0", "0.0.0.0/0", "::ffff:192.0.2.1", "1::", "1:2:3:4:5:6:7::",
              "::2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1::2::3", "::1.2.3.4",
              "1:2:3:4:5::1.2.3.4", "1:2:3:4:5:6::1.2.3.4", "1:2:3:4:5:6:1.2.3.4",
              "2001:db8::/32", "192.0.2.0/24", "192.0.2.0/024", "2001:db8::/0128",
              "fe80::1%eth0", "pod", "", "/24", "192.0.2.1/"]:
        compare("prefix", s, prefix_schema(s), prefix_rule(s))

    for m in mismatches:
        print("mismatch: " + m)
    print("%s %d strings checked, %d mismatches" % ("FAIL" if mismatches else "ok", checked,
                                                    len(mismatches)))
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
