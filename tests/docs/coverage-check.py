#!/usr/bin/env python3
"""coverage-check.py - docs/coverage.md and scenarios/ name each other.

docs/coverage.md maps rules, Node's tests, the tutorial programs and faults
to scenarios in tables: every table whose header has a `scenarios` column
names scenarios there, one code span each (`name`). This checks that:

- every name in a `scenarios` column is the `name` of a scenario in
  scenarios/ (as `clustersim list` reads them, with the project's loader);
- every scenario in scenarios/ is named in some `scenarios` column;
- the first column of those tables (the row's id: B1, T03, F12...) is
  unique within the document, so a tool can group scenarios by it.

Markdown is read by cmark (CommonMark's reference parser, with source
positions); CommonMark has no tables, so a table is its lines, and the
column of a code span is the number of `|` before it on its line, counted
in the text around it (never inside a code span).

usage: coverage-check.py SOURCE_ROOT BUILD_DIR
       coverage-check.py SOURCE_ROOT BUILD_DIR --self-check
--self-check proves that the check can fail: on scratch copies, a map that
names a scenario that does not exist, a scenario the map does not name,
and a repeated row id must each fail with the message that says so, and
the real tree must pass.
Exit: 0 pass, 1 fail, 99 hard error.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

NS = '{http://commonmark.org/xml/1.0}'


class HardError(Exception):
    pass


def scenario_names(clustersim, folder):
    """name -> file of every scenario in folder, read by `clustersim list`."""
    try:
        out = subprocess.run([clustersim, 'list', folder], capture_output=True,
                             text=True, timeout=60)
    except OSError as e:
        raise HardError(f'cannot run {clustersim}: {e}')
    if out.returncode != 0:
        raise HardError(f'clustersim list {folder} failed: {out.stderr.strip()}')
    names = {}
    for line in out.stdout.splitlines():
        words = line.split()
        if len(words) >= 2:
            names[words[0]] = words[1]
    return names


def pos(node):
    """(line, column) of a node's start."""
    start = node.get('sourcepos').split('-')[0]
    line, col = start.split(':')
    return int(line), int(col)


def rows_of(paragraph):
    """The lines of a paragraph, each a list of (cell, kind, text, line)."""
    rows, cur, line_no, cell = [], [], None, -1
    for node in paragraph:
        tag = node.tag[len(NS):]
        if tag in ('softbreak', 'linebreak'):
            continue
        line, _ = pos(node)
        if line != line_no:
            if cur:
                rows.append(cur)
            cur, line_no, cell = [], line, -1
        if tag == 'text':
            text = node.text or ''
            parts = text.split('|')
            for i, part in enumerate(parts):
                if i > 0:
                    cell += 1
                if part.strip():
                    cur.append((cell, 'text', part.strip(), line))
        elif tag == 'code':
            cur.append((cell, 'code', node.text or '', line))
        else:
            cur.append((cell, tag, ''.join(node.itertext()), line))
    if cur:
        rows.append(cur)
    return rows


def cell_text(row, cell):
    return ' '.join(t for c, _, t, _ in row if c == cell)


def tables(path):
    """Each table with a `scenarios` column: [(id, line, [names])]."""
    try:
        xml = subprocess.run(['cmark', '--to', 'xml', '--sourcepos', path],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise HardError(f'cmark cannot read {path}: {e} '
                        '(cmark: ./setup.sh installs it)')
    found = []
    for para in ET.fromstring(xml).iter(NS + 'paragraph'):
        rows = rows_of(para)
        if len(rows) < 2 or not rows[0] or rows[0][0][2] == '':
            continue
        header = rows[0]
        cols = {cell_text(header, c).strip(): c
                for c in sorted({c for c, _, _, _ in header})}
        if 'scenarios' not in cols:
            continue
        col = cols['scenarios']
        table = []
        for row in rows[2:]:
            names = [t for c, k, t, _ in row if c == col and k == 'code']
            table.append((cell_text(row, 0), row[0][3], names))
        found.append(table)
    return found


def check(doc, folder, clustersim):
    """The findings, one line each; empty when the map and the suite agree."""
    rel = os.path.basename(doc)
    names = scenario_names(clustersim, folder)
    findings, named, ids = [], set(), {}
    maps = tables(doc)
    if not maps:
        return [f'{rel}: no table with a `scenarios` column']
    for table in maps:
        for row_id, line, row_names in table:
            if row_id in ids:
                findings.append(f'{rel}:{line}: row id {row_id} repeats '
                                f'line {ids[row_id]}')
            else:
                ids[row_id] = line
            for name in row_names:
                named.add(name)
                if name not in names:
                    findings.append(f'{rel}:{line}: `{name}` ({row_id}) is '
                                    f'not a scenario in {folder}')
    for name in sorted(set(names) - named):
        findings.append(f'{names[name]}: scenario {name} is not named in '
                        f'{rel}')
    return findings


def self_check(source, clustersim):
    """Stale copies must fail, each with its own message; the tree passes."""
    doc = os.path.join(source, 'docs', 'coverage.md')
    folder = os.path.join(source, 'scenarios')
    problems = check(doc, folder, clustersim)
    if problems:
        return ['the tree itself fails:'] + problems
    text = open(doc, encoding='utf-8').read()
    names = scenario_names(clustersim, folder)
    some = sorted(names)[0]
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        stale_dir = os.path.join(tmp, 'scenarios')
        shutil.copytree(folder, stale_dir)
        cases = []
        # a renamed scenario the map still names under its old name
        bad_doc = os.path.join(tmp, 'renamed.md')
        with open(bad_doc, 'w', encoding='utf-8') as f:
            f.write(text.replace(f'`{some}`', f'`{some}-gone`'))
        cases.append(('a name that is no scenario', bad_doc, folder,
                      f'`{some}-gone`'))
        # a new scenario the map does not name
        src = open(names[some], encoding='utf-8').read()
        with open(os.path.join(stale_dir, 'unmapped-extra.yaml'), 'w',
                  encoding='utf-8') as f:
            f.write(src.replace(f'name: {some}\n', 'name: unmapped-extra\n'))
        cases.append(('a scenario the map does not name', doc, stale_dir,
                      'scenario unmapped-extra is not named'))
        # a row id used twice
        dup_doc = os.path.join(tmp, 'dup.md')
        with open(dup_doc, 'w', encoding='utf-8') as f:
            f.write(text.replace('| T02 |', '| T01 |', 1))
        cases.append(('a repeated row id', dup_doc, folder,
                      'row id T01 repeats'))
        for what, d, s, want in cases:
            got = check(d, s, clustersim)
            if not any(want in g for g in got):
                failures.append(f'self-check: {what} was not caught '
                                f'(wanted "{want}", got {got[:3]})')
    return failures


def main(argv):
    if len(argv) not in (3, 4) or (len(argv) == 4 and argv[3] != '--self-check'):
        print(__doc__.split('usage:')[1].split('--self-check proves')[0].strip(),
              file=sys.stderr)
        return 99
    source, build = argv[1], argv[2]
    clustersim = os.path.join(build, 'clustersim')
    try:
        if len(argv) == 4:
            problems = self_check(source, clustersim)
        else:
            problems = check(os.path.join(source, 'docs', 'coverage.md'),
                             os.path.join(source, 'scenarios'), clustersim)
    except HardError as e:
        print(f'coverage-check: {e}', file=sys.stderr)
        return 99
    for p in problems:
        print(p)
    if problems:
        return 1
    print('coverage-check: ok')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
