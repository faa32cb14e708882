#!/usr/bin/env python3
"""Copies each quoted example into the docs: after every `<!-- snippet: examples/docs/FILE.cpp -->` marker in
docs/*.md and README.md, the fenced code block becomes that file's content. CTest's docs snippet test checks
that they match; this script makes them match.  Usage: python3 scripts/sync_snippets.py"""
import glob
import os
import re

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pattern = re.compile(r"(<!-- snippet: (\S+) -->\n```cpp\n)(.*?)(```)", re.S)
for page in sorted(glob.glob(os.path.join(root, "docs", "*.md")) + [os.path.join(root, "README.md")]):
    text = open(page, encoding="utf-8").read()
    new = pattern.sub(lambda m: m.group(1) + open(os.path.join(root, m.group(2)), encoding="utf-8").read() + m.group(4), text)
    if new != text:
        open(page, "w", encoding="utf-8").write(new)
        print("updated", os.path.relpath(page, root))
