#!/usr/bin/env bash
# test_docs: the documentation holds together in a clone alone. Every relative link in
# README.md and docs/ (docs/man/ included) names a file or directory of the repository,
# and every #anchor a heading of the file it names (GitHub's heading ids); nothing in
# them points at ../shared, and no file of the repository cites shared/docs (the
# design and book-dump texts are in docs/ now). Links inside code are not links.
# docs/metrics.md's table of the recovery counters is the code's own: row for row
# fh_stats_counters of publish/libfh/stats_layout.h (group, text word, JSON key,
# Prometheus name, meaning), so the vocabulary cannot drift from what fhd prints.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

python3 - "$ROOT" <<'EOF'
import os
import re
import sys

root = sys.argv[1]
failures = []


def strip_code(text):
    """The text without fenced blocks and inline code, line numbers kept."""
    out, fenced = [], False
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            out.append("")
            continue
        out.append("" if fenced else re.sub(r"`[^`]*`", "", line))
    return out


def anchors(path):
    """GitHub's ids for the headings of a markdown file."""
    ids, seen = set(), {}
    fenced = False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.lstrip().startswith("```"):
                fenced = not fenced
                continue
            m = None if fenced else re.match(r"^#{1,6} (.*?)\s*#*\s*$", line)
            if not m:
                continue
            slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            ids.add(slug if n == 0 else f"{slug}-{n}")
    return ids


files = [os.path.join(root, "README.md")]
for d, _, names in os.walk(os.path.join(root, "docs")):
    files += [os.path.join(d, n) for n in sorted(names) if n.endswith(".md")]
links = 0
for path in files:
    rel = os.path.relpath(path, root)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if "../shared" in text or "shared/docs" in text:
        failures.append(f"{rel}: mentions ../shared or shared/docs, which a clone does not have")
    for n, line in enumerate(strip_code(text), 1):
        for target in re.findall(r"\]\(([^)\s]+)\)", line):
            if re.match(r"^[a-z]+:", target):
                continue  # http:, https:, mailto:
            links += 1
            file_part, _, anchor = target.partition("#")
            dest = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
            if not dest.startswith(root + os.sep):
                failures.append(f"{rel}:{n}: {target}: outside the repository")
                continue
            if not os.path.exists(dest):
                failures.append(f"{rel}:{n}: {target}: no such file")
                continue
            if anchor:
                if not dest.endswith(".md") or os.path.isdir(dest):
                    failures.append(f"{rel}:{n}: {target}: an anchor into a file that is not markdown")
                elif anchor not in anchors(dest):
                    failures.append(f"{rel}:{n}: {target}: no heading #{anchor} in {os.path.relpath(dest, root)}")

# Code and scripts that cite the old shared documents (data paths are another matter).
for d, dirs, names in os.walk(root):
    dirs[:] = [x for x in dirs if x not in (".git", "build") and not x.startswith("build-")]
    for name in names:
        path = os.path.join(d, name)
        if os.path.relpath(path, root) == os.path.join("tests", "test_docs.sh"):
            continue
        try:
            with open(path, encoding="utf-8") as f:
                if "shared/docs" in f.read():
                    failures.append(f"{os.path.relpath(path, root)}: cites shared/docs; cite docs/ instead")
        except (UnicodeDecodeError, OSError):
            pass

# The one vocabulary of the recovery counters: the table in docs/metrics.md is the code's
# (publish/libfh/stats_layout.h's fh_stats_counters, the group names, prefixes and units
# beside it), row for row: group, text word, JSON key, Prometheus name and meaning.
def vocabulary_expected(src):
    def array(name):
        m = re.search(name + r"\[FH_STATS_GROUPS\]\s*=\s*\{([^}]*)\}", src)
        return [x.strip().strip('"') for x in m.group(1).split(",")] if m else []
    names, prefixes, units = (array("fh_stats_group_" + a) for a in ("names", "prefixes", "units"))
    start = src.find("fh_stats_counters[] = {")
    body = src[start:src.find("\n};", start)] if start >= 0 else ""
    rows = []
    for m in re.finditer(r'\{\s*FH_STATS_GROUP_(\w+),\s*FH_STATS_(\w+),\s*"(\w+)",\s*FH_STATS_[RF]\(\w+\),'
                         r'\s*((?:"(?:[^"\\]|\\.)*"\s*)+)\}', body):
        g = ["BOOK", "RECOVERY", "SNAPSHOT"].index(m.group(1))
        kind, word = m.group(2), m.group(3)
        meaning = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(4)))
        duration = kind == "DURATION"
        json_key = word + ("_ns" if duration else "")
        rows.append((names[g], word + ("_" + units[g] if duration else ""),
                     (names[g] + "." if g else "") + json_key,
                     "fh_" + prefixes[g] + word + {"COUNTER": "_total", "GAUGE": "", "DURATION": "_seconds"}[kind],
                     meaning))
    return rows, body.count("FH_STATS_GROUP_")


with open(os.path.join(root, "publish", "libfh", "stats_layout.h"), encoding="utf-8") as f:
    expected, entries = vocabulary_expected(f.read())
if not expected or len(expected) != entries:
    failures.append(f"stats_layout.h: read {len(expected)} of {entries} fh_stats_counters entries; "
                    "tests/test_docs.sh no longer understands the table")
with open(os.path.join(root, "docs", "metrics.md"), encoding="utf-8") as f:
    text = f.read()
heading = "## The recovery counters: one vocabulary\n"
section = text[text.find(heading):] if heading in text else ""
section = section[:section.find("\n## ", 1)] if "\n## " in section[1:] else section
documented = []
for line in section.split("\n"):
    cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
    if line.startswith("|") and len(cells) == 5 and cells[0] in ("book", "recovery", "snapshot"):
        documented.append(tuple(cells))
if not section:
    failures.append("docs/metrics.md: no section '" + heading.strip() + "'")
for row in expected:
    if row not in documented:
        failures.append("docs/metrics.md: the vocabulary table lacks the row | " + " | ".join(row) + " |")
for row in documented:
    if row not in expected:
        failures.append("docs/metrics.md: the vocabulary table's row | " + " | ".join(row) +
                        " | is not in stats_layout.h's fh_stats_counters")

# The per-line counters: fh_stats_line_counters, row for row (word, Prometheus, meaning).
with open(os.path.join(root, "publish", "libfh", "stats_layout.h"), encoding="utf-8") as f:
    src = f.read()
start = src.find("fh_stats_line_counters[] = {")
body = src[start:src.find("\n};", start)] if start >= 0 else ""
line_expected = [(m.group(1), "fh_" + m.group(1) + "_total", "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(2))))
                 for m in re.finditer(r'\{\s*"(\w+)",\s*offsetof\([^)]*\),\s*((?:"(?:[^"\\]|\\.)*"\s*)+)\}', body)]
heading = "## Per-line counters\n"
section = text[text.find(heading):] if heading in text else ""
section = section[:section.find("\n## ", 1)] if "\n## " in section[1:] else section
line_documented = [tuple(c.strip().strip("`") for c in line.strip().strip("|").split("|"))
                   for line in section.split("\n") if line.startswith("| `")]
if not line_expected or len(line_expected) != body.count("offsetof("):
    failures.append("stats_layout.h: tests/test_docs.sh no longer understands fh_stats_line_counters")
if sorted(line_expected) != sorted(line_documented):
    failures.append("docs/metrics.md: the per-line counters table is not stats_layout.h's "
                    f"fh_stats_line_counters: {line_documented} vs {line_expected}")

for f in failures:
    print("FAIL " + f)
print(f"{len(files)} files, {links} relative links, {len(expected)} vocabulary rows, {len(failures)} failures")
sys.exit(1 if failures else 0)
EOF
