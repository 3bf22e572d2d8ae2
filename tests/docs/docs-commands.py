#!/usr/bin/env python3
"""docs-commands.py - the commands of README.md and docs/*.md, run as written.

What a document may rely on, and what this checks:

- Every `build/...` path named in a code block or a code span exists in the
  build directory under test (the documents name build/; the test maps it to
  the directory meson built, so the ASan build is checked the same way). So
  do the `build/...` paths of `build/clustersim --help`.
- Every path of the tree (sim/..., harness/..., tests/..., docs/...) named in
  a code span or a ```sh block exists (a `<placeholder>` or a glob aside).
- A ```sh block holds command lines typed at the top of the source tree:
  - a program named by a path (./setup.sh, bench/run.sh) exists and is
    executable;
  - every `build/clustersim ...` command runs, in a scratch directory that
    sees the tree (its outputs stay there), in the order of its block:
    for real when it is quick (--help, version, list, check, report merge,
    diff of two traces, run or diff of scenario files on targets that
    exist); otherwise (a whole folder of scenarios, an exec: agent that is
    the reader's own) on an empty selection, an extra --filter (or --tag)
    that no scenario matches, so that every option of the line is still
    parsed and checked;
  - it exits with the code its trailing comment states (`# exit N`), else 0;
  - an input a line names (*.xml, *.jsonl) that no earlier line made is
    made first, by a real run of one bundled scenario.
A renamed binary, a path that is gone, an option that no longer exists or
an exit code that changed fails the test.

Markdown is read by cmark (CommonMark's reference parser), shell words by
shlex, option arities from the commands' own --help.

usage: docs-commands.py SOURCE_ROOT BUILD_DIR [--only DOC...]
       docs-commands.py SOURCE_ROOT BUILD_DIR --self-check
--self-check proves that the check can fail: on scratch copies of the
documents with one stale line each (a renamed binary path, a renamed
option, a wrong exit code), the check must fail.
Exit: 0 pass, 1 fail, 99 hard error.
"""

import glob
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

CM = '{http://commonmark.org/xml/1.0}'
# A real run of one of these is quick; the fixtures come from the first.
QUICK_SCENARIO = 'scenarios/crash-exit-code.yaml'
NO_SCENARIO = '=no scenario has this name='
RUN_TIMEOUT_S = 300
PATH_RE = re.compile(r'(?<![\w./-])build/[^\s`\'"<>()\[\]{},;]*')
TREE_RE = re.compile(r'(?<![\w./-])(?:agents|base|bench|cli|docs|harness|'
                     r'reports|scenarios|sim|tests)/[\w./<>*{}-]*')
EXIT_RE = re.compile(r'#\s*exit\s+(\d+)\b[^\'"]*$')
SEPARATORS = {'&&', '||', ';', '|', '&'}


class HardError(Exception):
    pass


def run(argv, cwd, timeout=RUN_TIMEOUT_S):
    """(exit code, output) of argv; its process group is killed at the
    timeout, so nothing it started is left behind."""
    try:
        p = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT,
                             start_new_session=True)
    except OSError as e:
        return 127, f'{argv[0]}: {e.strerror}'
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        return -1, out.decode(errors='replace') + '\n[killed: timeout]'
    return p.returncode, out.decode(errors='replace')


# --------------------------------------------------------------------------
# Markdown

def markdown(path):
    """The code blocks (info, first line, text) and code spans (line, text)
    of a document."""
    try:
        xml = subprocess.run(['cmark', '--to', 'xml', '--sourcepos', path],
                             check=True, capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise HardError(f'cmark cannot read {path}: {e} '
                        '(cmark: ./setup.sh installs it)')
    blocks, spans = [], []

    def walk(node, line):
        pos = node.get('sourcepos')
        if pos:
            line = int(pos.split(':')[0])
        if node.tag == CM + 'code_block':
            blocks.append((node.get('info') or '', line, node.text or ''))
        elif node.tag == CM + 'code':
            spans.append((line, node.text or ''))
        for child in node:
            walk(child, line)

    walk(ET.fromstring(xml), 1)
    return blocks, spans


# --------------------------------------------------------------------------
# Command lines

def commands_of(line):
    """The simple commands of a shell line, as word lists (assignments
    before the program dropped)."""
    lex = shlex.shlex(line, posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    cmds, cur = [], []
    for word in lex:
        if word in SEPARATORS:
            cmds.append(cur)
            cur = []
        else:
            cur.append(word)
    cmds.append(cur)
    out = []
    for words in cmds:
        while words and re.match(r'^[A-Za-z_][A-Za-z0-9_]*=', words[0]):
            words = words[1:]
        if words:
            out.append(words)
    return out


class Clustersim:
    """The binary under test, and what its --help says of each command."""

    def __init__(self, build):
        self.exe = os.path.join(build, 'clustersim')
        self.arity = {}

    def options(self, cmd, cwd):
        """{option: takes a value} for a command ('run', 'report merge'),
        from its --help."""
        if cmd not in self.arity:
            rc, out = run([self.exe] + cmd.split() + ['--help'], cwd)
            table = {}
            if rc == 0:
                for m in re.finditer(r'^  (?:-(\w), )?--([\w-]+)( \S+)?  ',
                                     out, re.M):
                    takes = m.group(3) is not None
                    table['--' + m.group(2)] = takes
                    if m.group(1):
                        table['-' + m.group(1)] = takes
            self.arity[cmd] = table
        return self.arity[cmd]


def split_args(args, arity):
    """(options as (name, value) pairs, operands) of a GNU command line."""
    opts, operands, i = [], [], 0
    while i < len(args):
        a = args[i]
        if a == '--':
            operands += args[i + 1:]
            break
        if a.startswith('--'):
            name, eq, value = a.partition('=')
            if not eq and arity.get(name) and i + 1 < len(args):
                i += 1
                value = args[i]
            opts.append((name, value))
        elif a.startswith('-') and len(a) > 1:
            name, rest = a[:2], a[2:]
            if arity.get(name) and not rest and i + 1 < len(args):
                i += 1
                rest = args[i]
            opts.append((name, rest))
        else:
            operands.append(a)
        i += 1
    return opts, operands


def is_scenario(path):
    return path.endswith('.yaml') or path.endswith('.yml')


def own_agent(opts, cwd):
    """Whether an exec: target names a program that is not there: the
    reader's own agent."""
    for name, value in opts:
        if name == '--target' and value.startswith('exec:'):
            words = shlex.split(value[5:])
            prog = words[0] if words else ''
            if '/' in prog and not os.path.exists(os.path.join(cwd, prog)):
                return True
            if '/' not in prog and shutil.which(prog) is None:
                return True
    return False


def plan(args, cs, cwd):
    """How to run `clustersim ARGS`: (how, argv, inputs) with how 'real',
    'empty' (the argv then selects no scenario) or 'skip' (argv: why), and
    inputs the files the line reads (operands, --trace)."""
    if not args or args[0] in ('help', 'version', '--help', '-h',
                               '--version') or '--help' in args or \
            '-h' in args:
        return 'real', args, []
    cmd = args[0]
    if cmd == 'report' and len(args) > 1:
        cmd = 'report ' + args[1]
    if cmd in ('primary', 'worker'):
        return 'skip', 'an agent role, started by the harness', []
    opts, operands = split_args(args[len(cmd.split()):],
                                cs.options(cmd, cwd))
    inputs = operands + [v for n, v in opts if n == '--trace']
    if cmd not in ('run', 'diff', 'matrix'):
        return 'real', args, inputs
    if cmd == 'diff' and len(operands) == 2 and \
            not any(is_scenario(o) or os.path.isdir(os.path.join(cwd, o))
                    for o in operands):
        return 'real', args, inputs
    if operands and all(is_scenario(o) for o in operands) and \
            not own_agent(opts, cwd):
        return 'real', args, inputs
    names = {n for n, _ in opts}
    if '--filter' not in names:
        return 'empty', args + ['--filter', NO_SCENARIO], []
    if '--tag' not in names:
        return 'empty', args + ['--tag', NO_SCENARIO], []
    return 'skip', 'a long run whose --filter and --tag are both given', []


def make_input(path, args, cs, cwd):
    """An input the line reads and no line made: a JUnit file or a trace of
    a real run of one scenario (the line's own, if it names one)."""
    scenario = next((a for a in args if is_scenario(a)), QUICK_SCENARIO)
    full = os.path.join(cwd, path)
    os.makedirs(os.path.dirname(full) or '.', exist_ok=True)
    tmp = tempfile.mkdtemp(dir=cwd, prefix='.fixture-')
    if path.endswith('.xml'):
        argv = [cs.exe, 'run', '-q', '--seed', '1', '--junit', full, scenario]
    else:
        argv = [cs.exe, 'run', '-q', '--seed', '1', '--trace-dir', tmp,
                scenario]
    rc, out = run(argv, cwd)
    if rc != 0:
        raise HardError(f'making {path} for the line: {" ".join(argv)} '
                        f'exited {rc}:\n{out}')
    if path.endswith('.jsonl'):
        made = glob.glob(os.path.join(tmp, '*.jsonl'))
        if len(made) != 1:
            raise HardError(f'making {path}: {len(made)} traces in {tmp}')
        shutil.move(made[0], full)
    shutil.rmtree(tmp)


# --------------------------------------------------------------------------
# The checks

class Checker:
    def __init__(self, source, build):
        self.source = source
        self.build = build
        self.cs = Clustersim(build)
        self.failures = []
        self.ran = self.empty = self.skipped = 0

    def fail(self, where, what):
        self.failures.append(f'{where}: {what}')
        print(f'FAIL: {where}: {what}')

    def check_paths(self, where, text):
        for m in PATH_RE.finditer(text):
            p = m.group(0).rstrip('.:')
            if not os.path.exists(os.path.join(self.build, p[len('build/'):])):
                self.fail(where, f'{p}: no such file after the build')

    def check_tree_paths(self, where, text):
        for m in TREE_RE.finditer(text):
            p = m.group(0).rstrip('.:')
            if re.search(r'[<>*{}]', p):
                continue
            if not os.path.exists(os.path.join(self.source, p)):
                self.fail(where, f'{p}: no such file in the tree')

    def scratch(self):
        """A directory that sees the source tree, with build/ the build
        under test; what commands write stays in it."""
        d = tempfile.mkdtemp(prefix='clustersim-docs-')
        for name in os.listdir(self.source):
            if name == '.git' or name.startswith('build'):
                continue
            os.symlink(os.path.join(self.source, name), os.path.join(d, name))
        os.symlink(self.build, os.path.join(d, 'build'))
        return d

    def check_line(self, where, line, cwd):
        want = EXIT_RE.search(line)
        want = int(want.group(1)) if want else 0
        for words in commands_of(line):
            prog = words[0]
            if prog == 'build/clustersim':
                self.check_clustersim(where, words[1:], want, cwd)
            elif '/' in prog:
                path = os.path.join(cwd, prog)
                if not (os.path.isfile(path) and os.access(path, os.X_OK)):
                    self.fail(where, f'{prog}: not an executable of the tree')

    def check_clustersim(self, where, args, want, cwd):
        how, what, inputs = plan(args, self.cs, cwd)
        shown = ' '.join(shlex.quote(a) for a in ['build/clustersim'] + args)
        if how == 'skip':
            self.skipped += 1
            print(f'# {where}: not run ({what}): {shown}')
            return
        if how == 'empty' and want not in (0, 64):
            self.skipped += 1
            print(f'# {where}: not run (exit {want} needs the whole run): '
                  f'{shown}')
            return
        for a in inputs:
            if (a.endswith('.xml') or a.endswith('.jsonl')) and \
                    not os.path.isabs(a) and \
                    not os.path.exists(os.path.join(cwd, a)):
                try:
                    make_input(a, what, self.cs, cwd)
                except HardError as e:
                    self.fail(where, str(e))
                    return
        rc, out = run([self.cs.exe] + what, cwd)
        if how == 'empty':
            self.empty += 1
        else:
            self.ran += 1
        print(f'ok {rc} {"(empty selection) " if how == "empty" else ""}'
              f'{where}: {shown}')
        if rc != want:
            self.fail(where, f'{shown} exited {rc}, the document says {want}'
                      f'\n{out[-3000:]}')

    def check_document(self, doc):
        rel = os.path.relpath(doc, self.source)
        blocks, spans = markdown(doc)
        for line, text in spans:
            self.check_paths(f'{rel}:{line}', text)
            self.check_tree_paths(f'{rel}:{line}', text)
        cwd = self.scratch()
        try:
            for info, first, text in blocks:
                lines = text.split('\n')
                for k, line in enumerate(lines):
                    where = f'{rel}:{first + 1 + k}'
                    self.check_paths(where, line)
                    if info.split()[:1] == ['sh'] and line.strip():
                        self.check_tree_paths(where, line)
                        self.check_line(where, line, cwd)
        finally:
            shutil.rmtree(cwd, ignore_errors=True)

    def check_help(self):
        rc, out = run([self.cs.exe, '--help'], self.source)
        if rc != 0:
            self.fail('build/clustersim --help', f'exited {rc}')
        self.check_paths('build/clustersim --help', out)


def documents(source):
    return [os.path.join(source, 'README.md')] + \
        sorted(glob.glob(os.path.join(source, 'docs', '*.md')))


def check(source, build, only=None):
    """0 when every document holds, else 1."""
    c = Checker(source, build)
    if not os.access(c.cs.exe, os.X_OK):
        c.fail('build', f'{c.cs.exe}: the binary is not there')
    else:
        c.check_help()
    for doc in only or documents(source):
        c.check_document(doc)
    print(f'# {c.ran} commands run, {c.empty} on an empty selection, '
          f'{c.skipped} not run, {len(c.failures)} failures')
    return 1 if c.failures else 0


# --------------------------------------------------------------------------
# --self-check

# (document, the line as it is, the line made stale, what it shows)
STALE = [
    ('README.md', './setup.sh && build/clustersim run scenarios/',
     './setup.sh && build/cli/clustersim run scenarios/',
     'a renamed binary'),
    ('docs/harness.md', '--trace-dir traces', '--traces-dir traces',
     'an option that no longer exists'),
    ('docs/harness.md', '# exit 64: no -o FILE', '# exit 2: no -o FILE',
     'an exit code that changed'),
    ('README.md', 'bench/run.sh  ', 'bench/runs.sh ', 'a script that moved'),
    ('docs/reports.md', '`harness/suite/suite.c` does all',
     '`harness/suite.c` does all', 'a source file that moved'),
]


def self_check(source, build):
    fails = 0
    for doc, line, stale, what in STALE:
        tree = tempfile.mkdtemp(prefix='clustersim-docs-stale-')
        try:
            for name in os.listdir(source):
                if name not in ('.git', 'README.md', 'docs') and \
                        not name.startswith('build'):
                    os.symlink(os.path.join(source, name),
                               os.path.join(tree, name))
            shutil.copy(os.path.join(source, 'README.md'), tree)
            shutil.copytree(os.path.join(source, 'docs'),
                            os.path.join(tree, 'docs'))
            path = os.path.join(tree, doc)
            with open(path) as f:
                text = f.read()
            if line not in text:
                raise HardError(f'{doc} no longer has "{line}": update '
                                'STALE in tests/docs/docs-commands.py')
            with open(path, 'w') as f:
                f.write(text.replace(line, stale, 1))
            print(f'## {what}: "{line}" -> "{stale}" in {doc}')
            if check(tree, build, only=[path]) == 0:
                print(f'FAIL: {what} in {doc} went unnoticed')
                fails += 1
            else:
                print(f'ok: {what} in {doc} fails the check')
        finally:
            shutil.rmtree(tree, ignore_errors=True)
    return 1 if fails else 0


def main(argv):
    if len(argv) < 3:
        print('usage: docs-commands.py SOURCE_ROOT BUILD_DIR '
              '[--only DOC... | --self-check]', file=sys.stderr)
        return 99
    source, build = os.path.abspath(argv[1]), os.path.abspath(argv[2])
    os.environ['LC_ALL'] = 'C'
    try:
        if argv[3:] == ['--self-check']:
            return self_check(source, build)
        if argv[3:4] == ['--only']:
            return check(source, build,
                         [os.path.abspath(d) for d in argv[4:]])
        return check(source, build)
    except HardError as e:
        print(f'hard error: {e}')
        return 99


if __name__ == '__main__':
    sys.exit(main(sys.argv))
