"""Names a Python script reads but never defines (no assignment, import, parameter or builtin of that
name in any enclosing scope). The GPU machine is the only place most of scripts/*.py run, so a
missing import there costs a device call: session 22's first yardstick run lost FLA's column to a
`torch` that time_call used without importing. No third-party linter is served here.
  python3 scripts/dev/undefined_names.py FILE...     one line per undefined name; exit 1 if any
  python3 scripts/dev/undefined_names.py --self-test"""
import builtins
import symtable
import sys

# Module attributes every script has without defining them.
MODULE_NAMES = {"__file__", "__name__", "__doc__", "__spec__", "__builtins__", "__loader__", "__package__"}


def undefined_names(source, filename="<source>"):
    """(scope, name) for each name read in some scope of `source` that no scope defines."""
    if "import *" in source:  # a star import can define anything
        return []
    top = symtable.symtable(source, filename, "exec")
    module_defined = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported()}
    known = module_defined | set(dir(builtins)) | MODULE_NAMES
    found = []

    def walk(table):
        for symbol in table.get_symbols():
            name = symbol.get_name()
            # A function's implicit globals, and the module's own reads, resolve in the module.
            reads_module = symbol.is_global() or (table.get_type() == "module" and not symbol.is_assigned())
            if symbol.is_referenced() and reads_module and name not in known:
                found.append((table.get_name(), name))
        for child in table.get_children():
            walk(child)

    walk(top)
    return found


def self_test():
    missing = undefined_names("def f():\n    torch.cuda.synchronize()\n")
    assert missing == [("f", "torch")], missing
    assert undefined_names("import torch\ndef f():\n    torch.cuda.synchronize()\n") == []
    assert undefined_names("def f():\n    import torch\n    return torch.zeros(1)\n") == []
    assert undefined_names("def f(x):\n    y = [x * i for i in range(3)]\n    return len(y), __file__\n") == []
    assert undefined_names("def f():\n    return g()\ndef g():\n    return 1\n") == []
    assert undefined_names("print(value)\n") == [("top", "value")]
    assert undefined_names("class C:\n    def m(self):\n        return helper(self)\n") == [("m", "helper")]
    print("undefined_names self-test passed")


def main(paths):
    bad = 0
    for path in paths:
        with open(path) as f:
            source = f.read()
        for scope, name in undefined_names(source, path):
            print(f"{path}: {scope}: {name} is read but never defined")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
    else:
        sys.exit(main(sys.argv[1:]))
