#!/usr/bin/env python3
"""test_config_doc: docs/config.md against the config loader, so the reference cannot
drift from the code.

The doc's tables give, per key: `path` | type | default | range | meaning. Everything
is checked against what the loader itself does, through build/config_probe (which
loads a config with config/config.c and prints what it read, or the error):

  - keys: for every mapping the doc lists (and the root), a key the loader does not
    know is added to a valid config; the error lists every key the loader accepts
    there, which must be exactly the keys the doc lists under it;
  - type and range: each key set to a value of the wrong kind; the error says what
    the loader expected ("a decimal integer in 1..65535", "a string of 1..31
    characters", "true or false", "a list of 1..16 lcore ids", ...), which must match
    the doc's type and range;
  - the power-of-two and multiple-of-4 rules: a value breaking each is refused with
    that rule exactly when the doc's range states it;
  - defaults: a config without the key loads, and the probe prints the documented
    default; "required" keys are refused when left out; "none" keys print nothing;
    a "computed" default is checked by its rule here.

Usage: test_config_doc.py CONFIG_PROBE [DOC]. Exit 0 pass, 1 fail, 77 skip.
"""
import copy
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNKNOWN = "zz_not_a_key"
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL " + msg)


def doc_rows(path):
    """{key path: (type, default, range)} from every table row whose key is `code`."""
    rows = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = re.match(r"^\| `([^`]+)` \|(.*)\|\s*$", line)
            if not m:
                continue
            cells = [c.strip() for c in m.group(2).split("|")]
            if len(cells) != 4:
                fail(f"{path}:{n}: a key row needs 5 cells (key, type, default, range, meaning)")
                continue
            if m.group(1) in rows:
                fail(f"{path}:{n}: {m.group(1)} documented twice")
            rows[m.group(1)] = (cells[0], cells[1], cells[2])
    return rows


def base_config(tmp):
    """A config with every section, holding only what each section requires."""
    return {
        "lcores": {"main": 0, "rx": [1]},
        "ports": [{"name": "p0", "device": "net_null0"}],
        "feeds": [{
            "name": "f", "protocol": "itch50-moldudp64", "lcore": 1,
            "lines": {"A": {"group": "233.54.12.111", "udp_port": 26477, "port": "p0"}},
            "recovery": {"server": "10.0.0.5:18001"},
            "snapshot": {"server": "10.0.0.6:18002", "username": "fh", "password": "secret"},
        }],
        "publish": {"ring": "probe"},
        "journal": {"dir": tmp},
        "stats": {},
    }


def concrete(path, line="A"):
    """feeds[].lines.X.group -> feeds[0].lines.A.group, as the loader's messages name it."""
    path = path.replace("[]", "[0]")
    return re.sub(r"\.X(\.|$)", "." + line + r"\1", path)


def walk(cfg, path, line="A", create=False):
    """The mapping holding the last key of path, and that key."""
    parts = concrete(path, line).split(".") if path else []
    node = cfg
    for part in parts[:-1]:
        m = re.match(r"^(\w+)\[0\]$", part)
        if m:
            node = node[m.group(1)][0]
        else:
            if part not in node and create:
                node[part] = {}
            node = node[part]
    return node, parts[-1] if parts else None


def probe(probe_bin, cfg, tmp):
    path = os.path.join(tmp, "probe.yaml")
    with open(path, "w") as f:
        json.dump(cfg, f)  # JSON is YAML
    r = subprocess.run([probe_bin, path], capture_output=True, text=True, timeout=30)
    if r.returncode == 2 and r.stdout.startswith("error: "):
        return None, r.stdout[len("error: "):].strip()
    if r.returncode != 0:
        raise RuntimeError(f"config_probe failed ({r.returncode}): {r.stdout}{r.stderr}")
    values = {}
    for line in r.stdout.splitlines():
        k, _, v = line.partition("=")
        values[k] = v
    return values, None


def message_of(err, path):
    """'expected X, got Y' of an error at path (concrete), or None."""
    m = re.search(re.escape(path) + r": expected (.*), got ", err or "")
    return m.group(1) if m else None


def type_of(expected):
    """The doc's type word for the loader's 'expected ...' phrase."""
    table = [
        (r"^a decimal integer in (-?\d+)\.\.(-?\d+)$", "integer"),
        (r"^a string of 1\.\.(\d+) characters$", "string"),
        (r"^true or false$", "boolean"),
        (r"^a list of (\d+)\.\.(\d+) ", "list"),
        (r"^a mapping$", "mapping"),
        (r'^"A\.B\.C\.D:PORT"', "address"),
        (r"^an IPv4 address$", "IPv4"),
        (r"^(one of )?'", "choice"),
    ]
    for pattern, name in table:
        m = re.match(pattern, expected)
        if m:
            return name, m.groups()
    return None, ()


def resolve(text, cfg):
    """A range bound as the doc writes it: a number, or another key's value here."""
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    m = re.fullmatch(r"`([\w.\[\]]+)`", text)
    if m:
        node, key = walk(cfg, "feeds[]." + m.group(1))
        return node[key]
    return None


def check_type_and_range(probe_bin, rows, base, tmp, key, doc_type, doc_range):
    cfg = copy.deepcopy(base)
    # a hold's lower bound is the window: give the window a value no other bound has
    cfg["feeds"][0]["reorder_window"] = {"packets": 1000}
    if key.startswith("feeds[].reorder_window"):
        cfg["feeds"][0]["reorder_window"] = {}
    node, last = walk(cfg, key, create=True)
    wrong = [] if doc_type.startswith("mapping") else {}
    node[last] = wrong
    _, err = probe(probe_bin, cfg, tmp)
    expected = message_of(err, concrete(key))
    if expected is None:
        fail(f"{key}: a {type(wrong).__name__} for it was not refused at {concrete(key)} ({err})")
        return None
    code_type, groups = type_of(expected)
    if code_type is None:
        fail(f"{key}: the loader expects '{expected}', a kind this test does not know")
        return None
    if not doc_type.startswith(code_type) and not (code_type == "list" and doc_type.startswith("list")):
        fail(f"{key}: documented as '{doc_type}', the loader expects {expected}")
    if code_type == "integer":
        m = re.match(r"^(-?\d+|`[^`]+`)\.\.(-?\d+|`[^`]+`)", doc_range)
        if not m:
            fail(f"{key}: range '{doc_range}' does not start with MIN..MAX")
            return None
        lo, hi = resolve(m.group(1), cfg), resolve(m.group(2), cfg)
        if (lo, hi) != (int(groups[0]), int(groups[1])):
            fail(f"{key}: documented range {m.group(0)} (here {lo}..{hi}), the loader's {groups[0]}..{groups[1]}")
        return cfg, int(groups[0]), int(groups[1])
    if code_type in ("string",):
        if f"{groups[0]} characters" not in doc_range:
            fail(f"{key}: range '{doc_range}' does not say '{groups[0]} characters' (the loader: {expected})")
    if code_type == "list":
        if f"{groups[0]}..{groups[1]}" not in doc_range:
            fail(f"{key}: range '{doc_range}' does not say {groups[0]}..{groups[1]} (the loader: {expected})")
    if code_type == "choice":
        for choice in re.findall(r"'([^']+)'", expected):
            if f"`{choice}`" not in doc_range:
                fail(f"{key}: range '{doc_range}' does not list `{choice}` (the loader: {expected})")
    return None


def check_rules(probe_bin, key, doc_range, cfg, lo, hi, tmp):
    """'power of two' and 'multiple of 4': refused exactly when the doc says so."""
    pow_value = next((v for v in range(max(lo, 5), hi + 1) if v % 4 == 0 and v & (v - 1)), None)
    m4_value = next((v for v in range(max(lo, 5), hi + 1) if v % 4 != 0), None)
    said = set()
    for value in (pow_value, m4_value):
        if value is None:
            continue
        c = copy.deepcopy(cfg)
        node, last = walk(c, key, create=True)
        node[last] = value
        _, err = probe(probe_bin, c, tmp)
        for rule in ("power of two", "multiple of 4"):
            if err and rule in err and concrete(key) in err:
                said.add(rule)
    for rule in ("power of two", "multiple of 4"):
        if (rule in said) != (rule in doc_range):
            fail(f"{key}: the loader {'refuses' if rule in said else 'does not refuse'} a value "
                 f"that is not a {rule}; the documented range is '{doc_range}'")


def mbufs_rule(cfg, values):
    """operations.md's pool rule: every hold, descriptor, ring, cache and burst at once."""
    f = cfg["feeds"][0]
    holds = max(int(values["feeds[].reorder_window.packets"]),
                int(values["feeds[].recovery.hold"]) if "recovery" in f else 0,
                int(values["feeds[].snapshot.hold"]) if "snapshot" in f else 0)
    rx = len(cfg["lcores"]["rx"])
    journal = "journal" in cfg
    need = (holds + int(values["ports[].rx_queues"]) * int(values["ports[].rx_descriptors"])
            + (int(values["journal.ring"]) * rx + 64 if journal else 0)
            + 384 * (1 + rx + (1 if journal else 0)) + 64 * rx)
    size = 1
    while size < need + 1:
        size <<= 1
    return max(size - 1, 16383)


COMPUTED = {
    "mbufs": mbufs_rule,
    "journal.lcore": lambda cfg, v: max([cfg["lcores"]["main"]] + cfg["lcores"]["rx"]) + 1,
    "journal.cpu": lambda cfg, v: cfg["lcores"]["main"],
}


def literal(text):
    m = re.fullmatch(r"`(.*)`", text)
    return m.group(1).strip('"') if m else None


def main():
    if len(sys.argv) < 2:
        print(__doc__.split("\n\n")[-1])
        return 2
    probe_bin = sys.argv[1]
    doc = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "docs", "config.md")
    if not os.access(probe_bin, os.X_OK):
        print(f"{probe_bin}: not built: skip")
        return 77
    rows = doc_rows(doc)
    if not rows:
        fail(f"{doc}: no key rows")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        base = base_config(tmp)
        values, err = probe(probe_bin, base, tmp)
        if err:
            fail(f"the test's base config is refused: {err}")
            return 1

        # keys: every mapping the doc lists, and the root
        mappings = [""] + [k for k, (t, _, _) in rows.items() if t.startswith("mapping") or t == "list of mappings"]
        for m in mappings:
            if m == "feeds[].lines.X":
                lines = ["A", "B"]
            else:
                lines = ["A"]
            for line in lines:
                cfg = copy.deepcopy(base)
                if line == "B":
                    cfg["feeds"][0]["lines"]["B"] = {"group": "233.49.196.111", "udp_port": 26477, "port": "p0"}
                prefix = (m + ("[]" if rows.get(m, ("",))[0] == "list of mappings" else "")) if m else ""
                node, last = walk(cfg, prefix + "." + UNKNOWN if prefix else UNKNOWN, line, create=True)
                node[last] = 1
                _, err = probe(probe_bin, cfg, tmp)
                got = re.search(r"expected one of (.*), got unknown key '" + UNKNOWN + "'", err or "")
                if not got:
                    fail(f"{m or 'the root'}: an unknown key was not refused with the list of keys ({err})")
                    continue
                code_keys = set(got.group(1).split(", "))
                if m == "feeds[].lines":
                    code_keys = {"X"} if code_keys == {"A", "B"} else code_keys
                doc_keys = {k[len(prefix) + 1:] if prefix else k for k in rows
                            if (k.startswith(prefix + ".") if prefix else "." not in k and "[" not in k)
                            and "." not in (k[len(prefix) + 1:] if prefix else k)}
                for k in sorted(code_keys - doc_keys):
                    fail(f"{(prefix + '.' if prefix else '') + k}: the loader accepts it, docs/config.md does not list it")
                for k in sorted(doc_keys - code_keys):
                    fail(f"{(prefix + '.' if prefix else '') + k}: documented, the loader does not accept it")

        for key, (doc_type, doc_default, doc_range) in sorted(rows.items()):
            # type, range and rules
            got = check_type_and_range(probe_bin, rows, base, tmp, key, doc_type, doc_range)
            if got:
                check_rules(probe_bin, key, doc_range, *got, tmp)
            if doc_type.startswith("mapping") or doc_type == "list of mappings":
                continue
            # defaults
            try:
                node, last = walk(base, key)
                present = last in node
            except KeyError:
                present = False
            if doc_default.startswith("required"):
                if not present:
                    fail(f"{key}: documented as required, but the test's base config does not set it")
                    continue
                cfg = copy.deepcopy(base)
                node, last = walk(cfg, key)
                del node[last]
                _, err = probe(probe_bin, cfg, tmp)
                if not (err and "(required key)" in err and concrete(key) in err):
                    fail(f"{key}: documented as required, but a config without it gives: {err or 'no error'}")
                continue
            if present:
                fail(f"{key}: the base config sets it, but docs/config.md does not say it is required")
                continue
            if key not in values:
                fail(f"{key}: config_probe does not print it: add it to tests/config_probe.c")
                continue
            value = values[key]
            lit = literal(doc_default)
            if lit is not None:
                if lit != value:
                    fail(f"{key}: documented default {doc_default}, the loader's {value!r}")
            elif doc_default.startswith("none"):
                if value != "":
                    fail(f"{key}: documented without a default, the loader takes {value!r}")
            elif doc_default.startswith("computed"):
                if key not in COMPUTED:
                    fail(f"{key}: a computed default this test cannot check: add its rule")
                elif str(COMPUTED[key](base, values)) != value:
                    fail(f"{key}: the documented rule gives {COMPUTED[key](base, values)}, the loader {value}")
            else:
                fail(f"{key}: default '{doc_default}' is none of `literal`, required, none or computed")
    print(f"{len(rows)} keys checked, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
