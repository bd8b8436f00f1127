#!/usr/bin/env python3
"""Validate sklookup configurations against schema/sklookup.schema.json.

    validate.py SCHEMA FILE...
    validate.py --expect-invalid SCHEMA FILE...

SCHEMA is checked first (Draft202012Validator.check_schema). Then each FILE:

  *.conflist        every plugin entry whose "type" is "sklookup", with the
                    list's "cniVersion" and "name" injected as libcni does
                    (there must be at least one such entry)
  *.json, *.conf    the whole object, as one plugin entry (what the plugin
                    reads on stdin)
  *.yaml, *.yml     the pod annotation "sklookup.dev/bindings" of every
                    object (metadata.annotations, or the pod template's):
                    its string value must be a JSON array of bindings

The value of runtimeConfig["io.kubernetes.cri.pod-annotations"]
["sklookup.dev/bindings"] is a string (contentMediaType application/json,
which JSON Schema does not assert), so it is decoded and checked against the
schema's bindings definition as well. Duplicate keys and NaN/Infinity are
errors: parsers disagree on them.

One line per file: "ok FILE" or "FAIL FILE: reason". With --expect-invalid,
a file must be rejected: "ok FILE (rejected: reason)", or "FAIL FILE: ..."
when it is accepted or cannot be checked at all (not JSON, no sklookup
entry). Exit status: 0 when every file is ok, 1 otherwise, 2 on bad usage.

Needs python3-jsonschema (>= 4.0, for draft 2020-12); *.yaml needs
python3-yaml.
"""

import argparse
import json
import os
import re
import sys

try:
    import jsonschema
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match
except ImportError as e:  # pragma: no cover - depends on the machine
    sys.exit("validate.py: %s: install python3-jsonschema (>= 4.0)" % e)

ANNOTATION = "sklookup.dev/bindings"
ANNOTATIONS_CAP = "io.kubernetes.cri.pod-annotations"
PLUGIN_TYPE = "sklookup"

# Messages whose text is a regex or a bare "not valid under any": the
# schema's title (or description) says what is accepted instead.
OPAQUE = {"pattern", "anyOf", "allOf", "oneOf", "not", "contentSchema"}
DESCRIPTION_MAX = 160


class Problem(Exception):
    """A file that cannot be checked at all (unreadable, not JSON, ...)."""


class Rejected(Exception):
    """A file the schema (or the annotation check) rejects."""


def _no_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError("duplicate key %r" % key)
        obj[key] = value
    return obj


def _no_constant(name):
    raise ValueError("%s is not JSON" % name)


def parse_json(text):
    """json.loads, but duplicate keys and NaN/Infinity are errors."""
    return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)


def load_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return parse_json(f.read())
    except OSError as e:
        raise Problem(e.strerror or str(e))
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError, duplicates
        raise Problem("not valid JSON: %s" % e)


def where(prefix, path):
    """A readable location: plugins[2].bindings[0]["io.example/x"]."""
    out = prefix
    for part in path:
        if isinstance(part, int):
            out += "[%d]" % part
        elif re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", part):
            out += ("." if out else "") + part
        else:
            out += "[%s]" % json.dumps(part)
    return out or "(top level)"


def hint(error):
    """What the schema accepts where error happened: the title (or the
    description) of the outermost schema whose keyword failed on the same
    value, e.g. the port list item rather than one of its patterns."""
    top = error
    while (top.parent is not None and top.parent.validator in OPAQUE
           and top.parent.absolute_path == error.absolute_path):
        top = top.parent
    for e in (top, error):
        if isinstance(e.schema, dict):
            text = e.schema.get("title") or e.schema.get("description")
            if text:
                if len(text) > DESCRIPTION_MAX:
                    text = text[: DESCRIPTION_MAX - 3].rstrip() + "..."
                return text
    return None


def describe(error, prefix):
    """One line for the most relevant error of a failed validation."""
    message = error.message
    if error.validator in OPAQUE:
        message = "%s is not accepted" % json.dumps(error.instance)
        text = hint(error)
        if text:
            message += ": expected %s" % text
    return "%s: %s" % (where(prefix, error.absolute_path), message)


def check(validator, instance, prefix):
    errors = list(validator.iter_errors(instance))
    if errors:
        reason = describe(best_match(errors), prefix)
        if len(errors) > 1:
            reason += " (and %d more error%s)" % (len(errors) - 1, "s" if len(errors) > 2 else "")
        raise Rejected(reason)


def bindings_validator(schema):
    """Validates a bindings array against the schema's own definition."""
    if "bindings" not in schema.get("$defs", {}):
        raise Problem("the schema has no $defs/bindings to check annotations with")
    wrapper = {
        "$schema": schema.get("$schema"),
        "$defs": schema["$defs"],
        "$ref": "#/$defs/bindings",
    }
    return Draft202012Validator(wrapper)


def check_annotation(value, bindings, prefix):
    """The annotation's value: a string holding a JSON array of bindings."""
    if not isinstance(value, str):
        raise Rejected("%s: must be a string holding a JSON array (annotation values are "
                       "strings), got %s" % (prefix, type(value).__name__))
    try:
        array = parse_json(value)
    except ValueError as e:
        raise Rejected("%s: the string is not JSON: %s" % (prefix, e))
    check(bindings, array, prefix)


def check_entry(validator, bindings, entry, prefix):
    check(validator, entry, prefix)
    rc = entry.get("runtimeConfig")
    annotations = rc.get(ANNOTATIONS_CAP) if isinstance(rc, dict) else None
    if isinstance(annotations, dict) and ANNOTATION in annotations:
        check_annotation(annotations[ANNOTATION], bindings,
                         where(prefix, ["runtimeConfig", ANNOTATIONS_CAP, ANNOTATION]))


def check_conflist(validator, bindings, doc):
    if not isinstance(doc, dict) or not isinstance(doc.get("plugins"), list):
        raise Problem("not a conflist: no \"plugins\" array")
    found = 0
    for i, entry in enumerate(doc["plugins"]):
        if not isinstance(entry, dict) or entry.get("type") != PLUGIN_TYPE:
            continue
        found += 1
        entry = dict(entry)
        # libcni (buildOneConfig) copies the list's name and version into
        # every entry, replacing whatever the entry had.
        for key in ("cniVersion", "name"):
            if key in doc:
                entry[key] = doc[key]
        check_entry(validator, bindings, entry, "plugins[%d]" % i)
    if not found:
        raise Problem("no plugin entry with \"type\": \"%s\"" % PLUGIN_TYPE)


def annotation_sources(obj):
    """(location, annotations) of an object and of the pod templates in it."""
    paths = [
        ["metadata", "annotations"],
        ["spec", "template", "metadata", "annotations"],
        ["spec", "jobTemplate", "spec", "template", "metadata", "annotations"],
    ]
    for path in paths:
        node = obj
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            yield ".".join(path), node


def check_yaml(bindings, path):
    try:
        import yaml
    except ImportError:
        raise Problem("checking YAML needs python3-yaml")
    try:
        with open(path, encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
    except OSError as e:
        raise Problem(e.strerror or str(e))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise Problem("not valid YAML: %s" % str(e).replace("\n", " "))
    found = 0
    for n, doc in enumerate(docs):
        if not isinstance(doc, dict):
            continue
        for location, annotations in annotation_sources(doc):
            if ANNOTATION in annotations:
                found += 1
                name = "document %d %s %s[%s]" % (n + 1, doc.get("kind", "?"), location,
                                                json.dumps(ANNOTATION))
                check_annotation(annotations[ANNOTATION], bindings, name)
    if not found:
        raise Problem("no %s annotation found" % ANNOTATION)


def check_file(validator, bindings, path):
    ext = os.path.splitext(path)[1].lower()
    if ext in (".yaml", ".yml"):
        check_yaml(bindings, path)
        return
    doc = load_json(path)
    if ext == ".conflist":
        check_conflist(validator, bindings, doc)
    elif ext in (".json", ".conf"):
        if not isinstance(doc, dict):
            raise Problem("a plugin configuration must be a JSON object")
        check_entry(validator, bindings, doc, "")
    else:
        raise Problem("unknown file type %r: use .conflist, .json, .conf, .yaml or .yml"
                      % (ext or path))


def main(argv):
    parser = argparse.ArgumentParser(
        description="Validate sklookup plugin configurations against the JSON Schema.")
    parser.add_argument("--expect-invalid", action="store_true",
                        help="every FILE must be rejected by the schema")
    parser.add_argument("schema", metavar="SCHEMA", help="schema/sklookup.schema.json")
    parser.add_argument("files", metavar="FILE", nargs="+",
                        help="*.conflist, *.json, *.conf or *.yaml files")
    args = parser.parse_args(argv)

    try:
        schema = load_json(args.schema)
        Draft202012Validator.check_schema(schema)
        validator = Draft202012Validator(schema)
        bindings = bindings_validator(schema)
    except Problem as e:
        print("FAIL %s: %s" % (args.schema, e))
        return 1
    except jsonschema.exceptions.SchemaError as e:
        print("FAIL %s: not a valid draft 2020-12 schema: %s at %s"
              % (args.schema, e.message, where("", e.absolute_path)))
        return 1

    failed = 0
    for path in args.files:
        try:
            check_file(validator, bindings, path)
        except Problem as e:
            print("FAIL %s: %s" % (path, e))
            failed += 1
        except Rejected as e:
            if args.expect_invalid:
                print("ok %s (rejected: %s)" % (path, e))
            else:
                print("FAIL %s: %s" % (path, e))
                failed += 1
        else:
            if args.expect_invalid:
                print("FAIL %s: accepted, but it should be rejected" % path)
                failed += 1
            else:
                print("ok %s" % path)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
