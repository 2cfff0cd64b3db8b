#!/usr/bin/env python3
"""The layering test: the code must match docs/architecture.md.

Reads the ```layering block of docs/architecture.md (module -> direct
dependencies, module -> public headers, what tools/examples/bench/tests may
reach, the known exceptions), the ckpt_module(...) calls of src/**/CMakeLists.txt
(which .cc belongs to which module, and its DEPS), and every #include "..." of
include/, src/, tools/, examples/, bench/ and tests/. It fails, naming file:line,
the include and both modules, when
  (a) a file of module M includes a public or src/ header of a module that M
      does not (transitively) depend on;
  (b) a public header includes one of a module above it (the same rule, for
      the files of include/ckpt/);
  (c) a header, a source file or a module is not in the table (or the table
      names one that does not exist);
  (d) a module's CMake DEPS differ from its line in the table, a listed
      dependency is not used or is already reached through another one, or a
      module is missing from the ckpt::ckpt aggregate;
  (e) the table has a cycle.

Usage: check_layering.py [--root DIR]   check the tree (default: the repo)
       check_layering.py --self-test    prove that each check can fail
Python 3 standard library only.
"""

import argparse
import fnmatch
import os
import re
import shutil
import sys
import tempfile

DOC = "docs/architecture.md"
CONSUMER_DIRS = ("tools", "examples", "bench", "tests", "python")
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
HOW_TO_ADD = (
    "  (the table is the ```layering block of %s; CMake DEPS are in the\n"
    "  ckpt_module(...) calls of src/**/CMakeLists.txt; keep both the same)" % DOC)


class Table:
    def __init__(self):
        self.deps = {}        # module -> set of modules (direct)
        self.headers = {}     # module -> list of header patterns
        self.top = {}         # consumer -> (may_public_of_all, may_src, others)
        self.exceptions = {}  # (file, include) -> line in the doc
        self.line = {}        # module -> line of its deps entry
        self.standalone = set()  # modules linked on their own, not via ckpt::ckpt


def parse_table(root, errors):
    path = os.path.join(root, DOC)
    try:
        text = open(path, encoding="utf-8").read().split("\n")
    except OSError as e:
        errors.append("%s: cannot read: %s" % (DOC, e))
        return None
    t = Table()
    inside = False
    section = "deps"
    found = False
    for n, raw in enumerate(text, 1):
        s = raw.strip()
        if not inside:
            if s == "```layering":
                inside, found = True, True
            continue
        if s == "```":
            inside = False
            continue
        s = s.split("#", 1)[0].strip()
        if not s:
            continue
        if s.startswith("[") and s.endswith("]"):
            section = s[1:-1].strip()
            if section not in ("deps", "headers", "top", "exceptions", "standalone"):
                errors.append("%s:%d: unknown section [%s]" % (DOC, n, section))
            continue
        if section == "exceptions":
            parts = s.split()
            if len(parts) != 2:
                errors.append("%s:%d: an exception is '<file> <include>'" % (DOC, n))
                continue
            t.exceptions[(parts[0], parts[1])] = n
            continue
        if ":" not in s:
            errors.append("%s:%d: expected '<name>: <names...>', got %r" % (DOC, n, s))
            continue
        name, rest = s.split(":", 1)
        name, items = name.strip(), rest.split()
        if section == "deps":
            if name in t.deps:
                errors.append("%s:%d: module %s listed twice" % (DOC, n, name))
            t.deps[name] = set(items)
            t.line[name] = n
        elif section == "headers":
            t.headers.setdefault(name, []).extend(items)
        elif section == "standalone":
            t.standalone.add(name)
        elif section == "top":
            t.top[name] = ("*" in items, "src" in items,
                           set(i for i in items if i not in ("*", "src")))
    if not found:
        errors.append("%s: no ```layering block" % DOC)
        return None
    for m, ds in t.deps.items():
        for d in ds:
            if d not in t.deps:
                errors.append("%s:%d: module %s depends on %s, which has no line of its own"
                              % (DOC, t.line[m], m, d))
    for m in t.standalone:
        if m not in t.deps:
            errors.append("%s: [standalone] names module %s, which is not in [deps]" % (DOC, m))
    for m in t.headers:
        if m not in t.deps:
            errors.append("%s: [headers] names module %s, which is not in [deps]" % (DOC, m))
    return t


def find_cycle(deps):
    """Returns one cycle as a list of modules, or None."""
    state = {}
    stack = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for d in sorted(deps.get(m, ())):
            if state.get(d) == 1:
                return stack[stack.index(d):] + [d]
            if d not in state:
                c = visit(d)
                if c:
                    return c
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(deps):
        if m not in state:
            c = visit(m)
            if c:
                return c
    return None


def closure(deps, m):
    seen, todo = set(), list(deps.get(m, ()))
    while todo:
        d = todo.pop()
        if d not in seen:
            seen.add(d)
            todo.extend(deps.get(d, ()))
    return seen


def strip_cmake_comments(text):
    return "\n".join(l.split("#", 1)[0] for l in text.split("\n"))


def parse_cmake(root, errors):
    """module -> (deps, sources, cmake file) from ckpt_module(...) and
    add_library(ckpt_x ...)/target_link_libraries(ckpt_x ...) under src/ and proto/."""
    modules = {}
    extra_links = {}
    aggregate = set()
    for top in ("src", "proto"):
        for dp, dn, fn in os.walk(os.path.join(root, top)):
            dn.sort()
            if "CMakeLists.txt" not in fn:
                continue
            cm = os.path.join(dp, "CMakeLists.txt")
            rel_cm = os.path.relpath(cm, root)
            base = os.path.relpath(dp, root)
            text = strip_cmake_comments(open(cm, encoding="utf-8").read())
            for call in re.finditer(r"\bckpt_module\s*\(([^)]*)\)", text):
                words = call.group(1).split()
                if not words or words[0] == "name":  # the function's definition
                    continue
                name, key = words[0], None
                srcs, deps = [], set()
                for w in words[1:]:
                    if w in ("SOURCES", "DEPS"):
                        key = w
                    elif key == "SOURCES":
                        srcs.append(os.path.normpath(os.path.join(base, w)))
                    elif key == "DEPS" and w.startswith("ckpt_"):
                        deps.add(w[len("ckpt_"):])
                modules[name] = (deps, srcs, rel_cm)
            for call in re.finditer(r"\badd_library\s*\(\s*ckpt_(\w+)\s", text):
                modules.setdefault(call.group(1), (set(), [], rel_cm))
            for call in re.finditer(r"\btarget_link_libraries\s*\(\s*(ckpt(?:_\w+)?)\s([^)]*)\)",
                                    text):
                target = call.group(1)
                libs = set(re.findall(r"\bckpt_(\w+)", call.group(2)))
                if target == "ckpt":
                    aggregate |= libs
                else:
                    extra_links.setdefault(target[len("ckpt_"):], set()).update(libs)
    for m, libs in extra_links.items():
        if m in modules:
            modules[m][0].update(libs)
    return modules, aggregate


def walk_files(root, top, exts=(".h", ".cc")):
    out = []
    for dp, dn, fn in os.walk(os.path.join(root, top)):
        dn[:] = sorted(d for d in dn if not d.startswith(".") and d != "build")
        for f in sorted(fn):
            if f.endswith(exts):
                out.append(os.path.relpath(os.path.join(dp, f), root))
    return out


def check(root):
    errors = []
    t = parse_table(root, errors)
    if t is None:
        return errors

    # (e) cycles.
    cyc = find_cycle(t.deps)
    if cyc:
        errors.append("%s: the table has a cycle: %s" % (DOC, " -> ".join(cyc)))
        return errors
    reach = {m: closure(t.deps, m) for m in t.deps}

    # Which module owns which file.
    cmake, aggregate = parse_cmake(root, errors)
    owner = {}      # file -> module
    src_dirs = {}   # src directory -> module
    for m, (deps, srcs, cm) in sorted(cmake.items()):
        if m not in t.deps:
            errors.append("%s: module %s (ckpt_%s) is not in the table.\n  Add a line "
                          "'%s: <the modules it includes>' to [deps] and its public headers "
                          "to [headers]." % (cm, m, m, m))
            continue
        for s in srcs:
            owner[s] = m
            d = os.path.dirname(s)
            if src_dirs.get(d, m) != m:
                errors.append("%s: directory %s holds sources of two modules, %s and %s"
                              % (cm, d, src_dirs[d], m))
            src_dirs[d] = m
    for m in sorted(t.deps):
        if m not in cmake:
            errors.append("%s:%d: module %s is in the table but no ckpt_module(%s ...) or "
                          "add_library(ckpt_%s ...) exists" % (DOC, t.line[m], m, m, m))

    # Public headers.
    header_owner = {}   # include path -> module
    patterns = []       # (pattern, module)
    for m, hs in t.headers.items():
        for h in hs:
            inc = h if "/" in h else "ckpt/" + h
            if "*" in inc:
                patterns.append((inc, m))
                continue
            if inc in header_owner:
                errors.append("%s: header %s is listed under %s and %s"
                              % (DOC, inc, header_owner[inc], m))
            header_owner[inc] = m
            if not os.path.isfile(os.path.join(root, "include", inc)):
                errors.append("%s: [headers] lists %s (module %s), which does not exist in "
                              "include/; drop it" % (DOC, inc, m))
    for f in walk_files(root, "include"):
        inc = os.path.relpath(f, "include")
        if inc not in header_owner:
            errors.append("%s: public header not in the table.\n  Add '%s' to the [headers] "
                          "line of the module whose .cc implements it." % (f, os.path.basename(inc)))
        else:
            owner[f] = header_owner[inc]
    for f in walk_files(root, "src"):
        if f in owner:
            continue
        m = src_dirs.get(os.path.dirname(f))
        if f.endswith(".cc"):
            errors.append("%s: source file in no module's SOURCES.\n  Add it to a "
                          "ckpt_module(...) in src/**/CMakeLists.txt." % f)
        elif m is None:
            errors.append("%s: internal header in a directory that holds no module's "
                          "sources; put it beside the module it belongs to." % f)
        else:
            owner[f] = m

    def resolve(including, inc):
        """-> (kind, module-or-consumer) for an #include "inc" seen in `including`."""
        local = os.path.normpath(os.path.join(os.path.dirname(including), inc))
        if os.path.isfile(os.path.join(root, local)):
            top = local.split(os.sep)[0]
            if top in ("src", "include"):
                return ("file", owner.get(local), local)
            return ("consumer", top, local)
        if os.path.isfile(os.path.join(root, "include", inc)):
            f = os.path.join("include", inc)
            return ("file", owner.get(f), f)
        if os.path.isfile(os.path.join(root, "src", inc)):
            f = os.path.join("src", inc)
            return ("file", owner.get(f), f)
        for c in CONSUMER_DIRS:
            if os.path.isfile(os.path.join(root, c, inc)):
                return ("consumer", c, os.path.join(c, inc))
        for pat, m in patterns:
            if fnmatch.fnmatch(inc, pat):
                return ("file", m, inc)
        return ("unknown", None, inc)

    used = {m: set() for m in t.deps}
    seen_exceptions = set()
    files = walk_files(root, "include") + walk_files(root, "src")
    for c in CONSUMER_DIRS:
        files += walk_files(root, c)
    for f in files:
        top = f.split(os.sep)[0]
        me = owner.get(f) if top in ("src", "include") else None
        if top in ("src", "include") and me is None:
            continue  # reported above
        if top not in ("src", "include") and top not in t.top:
            errors.append("%s: %s/ is not in the table's [top] section" % (f, top))
            continue
        for n, line in enumerate(open(os.path.join(root, f), encoding="utf-8",
                                      errors="replace"), 1):
            mm = INCLUDE_RE.match(line)
            if not mm:
                continue
            inc = mm.group(1)
            where = "%s:%d: #include \"%s\"" % (f, n, inc)
            kind, them, target = resolve(f, inc)
            if (f, inc) in t.exceptions:
                seen_exceptions.add((f, inc))
                continue
            if kind == "unknown":
                if top in ("src", "include") or not inc.startswith("tensorflow/"):
                    errors.append("%s: no file or [headers] pattern of the table matches "
                                  "this include.\n  Add the header to its module's [headers] "
                                  "line (public) or put it in src/<module>/ (internal)." % where)
                continue
            if kind == "consumer":
                if top in ("src", "include"):
                    errors.append("%s: module %s includes a file of %s/, which sits on top "
                                  "of every module" % (where, me, them))
                elif them != top and them not in t.top[top][2]:
                    errors.append("%s: %s/ may not include files of %s/ (see [top])"
                                  % (where, top, them))
                continue
            if them is None:
                continue  # the header itself is reported above (not in the table)
            if me is not None:
                if them == me:
                    continue
                used[me].add(them)
                if them not in reach[me]:
                    what = "public header" if target.startswith("include") else "src/ header"
                    is_pub = f.startswith("include")
                    errors.append(
                        "%s\n  %s %s of module %s includes a %s of module %s, and %s does not "
                        "depend on %s.\n  If %s really needs %s (and %s does not need %s), add "
                        "%s to %s's line in [deps] and to the DEPS of ckpt_module(%s);\n  "
                        "otherwise this is a back edge: move the code, or the declaration, "
                        "down to where it belongs."
                        % (where, "Public header" if is_pub else "File", f, me, what, them, me,
                           them, me, them, them, me, them, me, me))
                continue
            may_all, may_src, _ = t.top[top]
            if not may_all:
                errors.append("%s: %s/ may not include headers of module %s (see [top])"
                              % (where, top, them))
            elif target.startswith("src") and not may_src:
                errors.append("%s: %s/ may use public headers only, and %s is internal to %s"
                              % (where, top, target, them))

    for key, n in sorted(t.exceptions.items(), key=lambda kv: kv[1]):
        if key not in seen_exceptions:
            errors.append("%s:%d: exception '%s %s' no longer occurs in the code; delete it"
                          % (DOC, n, key[0], key[1]))

    # (d) the table's deps: used, not redundant, equal to CMake's.
    for m in sorted(t.deps):
        for d in sorted(t.deps[m]):
            if d not in used[m]:
                errors.append("%s:%d: %s lists %s, but no file of %s includes a header of %s; "
                              "drop it (here and in CMake)" % (DOC, t.line[m], m, d, m, d))
            for other in sorted(t.deps[m] - {d}):
                if d in reach[other]:
                    errors.append("%s:%d: %s lists %s, which it already reaches through %s; "
                                  "drop it (here and in CMake)" % (DOC, t.line[m], m, d, other))
                    break
        if m in cmake and cmake[m][0] != t.deps[m]:
            errors.append(
                "%s: ckpt_%s has DEPS %s, but %s:%d says %s.\n  Make them the same."
                % (cmake[m][2], m, " ".join("ckpt_" + d for d in sorted(cmake[m][0])) or "(none)",
                   DOC, t.line[m], " ".join("ckpt_" + d for d in sorted(t.deps[m])) or "(none)"))
        if m in cmake and m not in aggregate and m not in t.standalone:
            errors.append("%s: ckpt_%s is not linked into the ckpt::ckpt aggregate "
                          "(target_link_libraries(ckpt INTERFACE ...))" % (cmake[m][2], m))
    return errors


# --- self-test ------------------------------------------------------------

SELF_DOC = """# test
```layering
[deps]
low:
high: low
[headers]
low: low.h
high: high.h
[top]
tools: * src
```
"""

SELF_FILES = {
    "src/CMakeLists.txt":
        "ckpt_module(low SOURCES low/low.cc)\n"
        "ckpt_module(high SOURCES high/high.cc DEPS ckpt_low)\n"
        "target_link_libraries(ckpt INTERFACE ckpt_low ckpt_high)\n",
    "include/ckpt/low.h": "#include <string>\n",
    "include/ckpt/high.h": '#include "ckpt/low.h"\n',
    "src/low/low.cc": '#include "ckpt/low.h"\n#include "low/detail.h"\n',
    "src/low/detail.h": "",
    "src/high/high.cc": '#include "ckpt/high.h"\n#include "low/detail.h"\n',
    "tools/main.cc": '#include "ckpt/high.h"\n#include "low/detail.h"\n',
}

# (name, what to change, a phrase the failure must contain)
SELF_CASES = [
    ("back edge from a .cc", {"src/low/low.cc": '#include "ckpt/high.h"\n'},
     "this is a back edge"),
    ("back edge to an internal header",
     {"src/low/low2.cc": '#include "high/inner.h"\n', "src/high/inner.h": "",
      "src/CMakeLists.txt": SELF_FILES["src/CMakeLists.txt"].replace(
          "low/low.cc)", "low/low.cc low/low2.cc)")},
     "src/ header of module high"),
    ("back edge from a public header", {"include/ckpt/low.h": '#include "ckpt/high.h"\n'},
     "Public header include/ckpt/low.h"),
    ("unknown public header", {"include/ckpt/new.h": ""}, "public header not in the table"),
    ("unknown module",
     {"src/CMakeLists.txt": SELF_FILES["src/CMakeLists.txt"] + "ckpt_module(extra SOURCES x.cc)\n"},
     "module extra (ckpt_extra) is not in the table"),
    ("CMake DEPS differ",
     {"src/CMakeLists.txt": SELF_FILES["src/CMakeLists.txt"].replace(" DEPS ckpt_low", "")},
     "Make them the same"),
    ("cycle", {DOC: SELF_DOC.replace("low:\n", "low: high\n")}, "cycle"),
    ("unused dependency", {"src/high/high.cc": '#include "ckpt/high.h"\n',
                           "include/ckpt/high.h": ""}, "no file of high includes"),
    ("stale exception",
     {DOC: SELF_DOC.replace("[top]\n", "[exceptions]\nsrc/low/low.cc ckpt/high.h\n[top]\n")},
     "no longer occurs"),
    ("examples may not use src/", {"examples/ex.cc": '#include "low/detail.h"\n',
                                   DOC: SELF_DOC.replace("[top]\n", "[top]\nexamples: *\n")},
     "public headers only"),
]


def write_tree(root, files):
    for rel, text in files.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)


def self_test():
    ok = True
    base = dict(SELF_FILES)
    base[DOC] = SELF_DOC
    with tempfile.TemporaryDirectory(prefix="check_layering.") as tmp:
        good = os.path.join(tmp, "good")
        write_tree(good, base)
        errs = check(good)
        if errs:
            print("FAIL: the clean tree reports errors:\n  " + "\n  ".join(errs))
            ok = False
        else:
            print("ok: the clean tree passes")
        for i, (name, change, phrase) in enumerate(SELF_CASES):
            d = os.path.join(tmp, "case%d" % i)
            shutil.copytree(good, d)
            write_tree(d, change)
            errs = check(d)
            if not any(phrase in e for e in errs):
                print("FAIL: %s: expected an error containing %r, got:\n  %s"
                      % (name, phrase, "\n  ".join(errs) or "(no error)"))
                ok = False
            else:
                print("ok: %s is caught" % name)
    # The exception mechanism: the back edge passes once listed.
    with tempfile.TemporaryDirectory(prefix="check_layering.") as tmp:
        files = dict(base)
        files["src/low/low.cc"] = '#include "ckpt/high.h"\n#include "ckpt/low.h"\n'
        files[DOC] = SELF_DOC.replace("[top]\n", "[exceptions]\nsrc/low/low.cc ckpt/high.h\n[top]\n")
        write_tree(tmp, files)
        errs = check(tmp)
        if errs:
            print("FAIL: a listed exception still fails:\n  " + "\n  ".join(errs))
            ok = False
        else:
            print("ok: a listed exception passes")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        return 0 if self_test() else 1
    errors = check(args.root)
    for e in errors:
        print(e + "\n")
    if errors:
        print("check_layering: %d problem(s); the layering is described in %s"
              % (len(errors), DOC))
        return 1
    print("check_layering: the code matches %s" % DOC)
    return 0


if __name__ == "__main__":
    sys.exit(main())
