#!/usr/bin/env python3
"""md2man: turns one of docs/man/*.md into a man page (groff -man), so the man pages
and the documentation are one text. Python 3 standard library only.

It reads a deliberately small subset of Markdown and refuses anything else, so a page
never renders differently from what its source shows:

  # NAME(SECTION) - one-line description    the title: .TH, then a NAME section
  ## HEADING                                .SH (upper-cased)
  ### Heading                               .SS
  paragraph lines                           .PP, lines joined
  - `-x`, `--opt ARG`: text                 .TP: an item that opens with code spans
                                            and a colon is a tagged paragraph
  - text                                    .IP bullet
  (continuation lines of an item are indented by two spaces)
  ```                                       .EX / .EE, shown as is
  `code` **bold** *italic* [text](link)     \\fB \\fB \\fI, a link shows its text

Usage: md2man.py [--version V] [--date D] FILE.md  (the page on stdout)
"""
import re
import sys


class Md2ManError(Exception):
    pass


def escape(text):
    """Text as groff shows it: backslashes and hyphens escaped."""
    return text.replace("\\", "\\e").replace("-", "\\-")


def inline(text):
    """Markdown inline markup to groff fonts; link targets are dropped."""
    out = []
    pos = 0
    pattern = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|\[([^\]]+)\]\(([^)]+)\)")
    for m in pattern.finditer(text):
        out.append(escape(text[pos:m.start()]))
        if m.group(1) is not None:
            out.append("\\fB" + escape(m.group(1)) + "\\fR")
        elif m.group(2) is not None:
            out.append("\\fB" + inline(m.group(2)) + "\\fR")
        elif m.group(3) is not None:
            out.append("\\fI" + inline(m.group(3)) + "\\fR")
        else:
            out.append(inline(m.group(4)))
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def line_out(text):
    """One output text line: a leading '.' or "'" would be read as a request."""
    if text.startswith(".") or text.startswith("'"):
        return "\\&" + text
    return text


TAGGED = re.compile(r"^((?:`[^`]+`(?:, )?)+): (.*)$")


def convert(source, name, version, date):
    lines = source.split("\n")
    out = []
    if not lines or not lines[0].startswith("# "):
        raise Md2ManError(f"{name}:1: expected '# NAME(SECTION) - description'")
    m = re.match(r"^# ([a-z0-9_-]+)\((\d)\) - (.+)$", lines[0])
    if not m:
        raise Md2ManError(f"{name}:1: expected '# NAME(SECTION) - description', got {lines[0]!r}")
    page, section, description = m.groups()
    out.append(f'.TH "{page.upper()}" "{section}" "{date}" "fh {version}" "fh manual"')
    out.append(".SH NAME")
    out.append(line_out(f"{escape(page)} \\- {inline(description)}"))
    i = 1
    paragraph = []

    def flush():
        if paragraph:
            out.append(".PP")
            out.extend(line_out(inline(p)) for p in paragraph)
            paragraph.clear()

    while i < len(lines):
        line = lines[i]
        lineno = i + 1
        if line.strip() == "":
            flush()
            i += 1
            continue
        if line.startswith("```"):
            flush()
            i += 1
            out.append(".EX")
            while i < len(lines) and not lines[i].startswith("```"):
                out.append(line_out(escape(lines[i])))
                i += 1
            if i == len(lines):
                raise Md2ManError(f"{name}:{lineno}: a code block without its closing ```")
            out.append(".EE")
            i += 1
            continue
        if line.startswith("### "):
            flush()
            out.append(".SS " + inline(line[4:]))
            i += 1
            continue
        if line.startswith("## "):
            flush()
            out.append(".SH " + inline(line[3:].upper()))
            i += 1
            continue
        if line.startswith("#") or line.startswith("|") or line.startswith(">") or \
                re.match(r"^\d+\. ", line) or line.startswith("* ") or line.startswith("\t"):
            raise Md2ManError(f"{name}:{lineno}: outside md2man's Markdown subset: {line!r}")
        if line.startswith("- "):
            flush()
            item = [line[2:]]
            i += 1
            while i < len(lines) and lines[i].startswith("  ") and not lines[i].startswith("  - "):
                item.append(lines[i].strip())
                i += 1
            if i < len(lines) and lines[i].startswith("  - "):
                raise Md2ManError(f"{name}:{i + 1}: nested lists are outside md2man's subset")
            text = " ".join(item)
            tagged = TAGGED.match(text)
            if tagged:
                out.append(".TP")
                out.append(line_out(inline(tagged.group(1))))
                out.append(line_out(inline(tagged.group(2))))
            else:
                out.append(".IP \\(bu 2")
                out.append(line_out(inline(text)))
            continue
        if line.startswith(" "):
            raise Md2ManError(f"{name}:{lineno}: an indented line outside a list item: {line!r}")
        paragraph.append(line)
        i += 1
    flush()
    return "\n".join(out) + "\n"


def main(argv):
    version, date, path = "", "", None
    args = iter(argv[1:])
    for arg in args:
        if arg == "--version":
            version = next(args, "")
        elif arg == "--date":
            date = next(args, "")
        elif path is None and not arg.startswith("-"):
            path = arg
        else:
            print(__doc__.split("\n\n")[-1].strip(), file=sys.stderr)
            return 2
    if path is None:
        print(__doc__.split("\n\n")[-1].strip(), file=sys.stderr)
        return 2
    with open(path, encoding="utf-8") as f:
        source = f.read()
    try:
        sys.stdout.write(convert(source, path, version, date))
    except Md2ManError as e:
        print(f"md2man: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
