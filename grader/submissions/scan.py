"""A static scan of a student's code for ways to get autograd's answers instead of computing them.

It flags what the lecture's exercises never need: autograd itself (backward, torch.autograd,
torch.func, functorch, forward-mode AD, switching grad mode or requires_grad back on, reading
.grad or .grad_fn) and ways around the run-time guards (the grader's own modules, torch._C,
ctypes, function internals, names built from strings for getattr/eval/exec). Code given to
exec/eval as a string constant is scanned too. `torch.no_grad()` and `set_grad_enabled(False)`
are fine. Each finding is (line, what); a flagged exercise scores 0 unless the rubric says otherwise.
"""
from __future__ import annotations

import ast
import functools

from grader import cells
from grader.submissions.notebook import parse

# attribute names whose use means the code asks autograd (or rebuilds a graph)
_ATTRS = {
    "backward": "calls .backward() (autograd)",
    "retain_grad": "calls .retain_grad() (autograd)",
    "grad_fn": "reads .grad_fn (autograd's graph)",
    "enable_grad": "re-enables autograd (torch.enable_grad)",
    "_set_grad_enabled": "switches autograd on (torch._C._set_grad_enabled)",
    "_set_fwd_grad_enabled": "switches forward-mode autograd on",
    "autograd": "uses torch.autograd",
    "forward_ad": "uses forward-mode autograd (torch.autograd.forward_ad)",
    "__globals__": "reaches into a function's __globals__ (a way around the grader's guards)",
    "__closure__": "reaches into a function's __closure__ (a way around the grader's guards)",
    "__bases__": "reaches a class's __bases__ (a way around the grader's guards)",
    "__mro__": "reaches a class's __mro__ (a way around the grader's guards)",
    "__subclasses__": "reaches a class's __subclasses__ (a way around the grader's guards)",
    "__import__": "calls __import__ (imports what the scan would flag, under another spelling)",
    "run_backward": "calls autograd's engine (run_backward)",
    "ImperativeEngine": "reaches autograd's engine (ImperativeEngine)",
    "_execution_engine": "reaches autograd's engine (_execution_engine)",
    "executable": "runs the Python interpreter again (sys.executable)",
    "_ForceDispatchKeyGuard": "changes PyTorch's dispatch keys (a way around the grader's guards)",
    "_InferenceMode": "switches inference mode (a way to switch autograd back on)",
}
# os functions that start another program
_EXEC = ("execv", "execve", "execl", "execle", "execlp", "execlpe", "execvp", "execvpe", "posix_spawn", "posix_spawnp",
         "spawnv", "spawnve", "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnvp", "spawnvpe", "system", "popen", "fexecve")
_THREADS = "starts a thread (grad mode is on again in a new thread; the grader allows none)"
_PROGRAMS = "starts another program (a fresh interpreter has no guards; the grader allows none)"
_MODULES = {"functorch": "imports functorch (autograd)", "torch.autograd": "imports torch.autograd",
            "threading": _THREADS, "_thread": _THREADS, "concurrent.futures": _THREADS, "multiprocessing": _PROGRAMS,
            "subprocess": _PROGRAMS, "_posixsubprocess": _PROGRAMS, "pty": _PROGRAMS, "_ctypes": "imports ctypes (native code can bypass the grader)",
            "cffi": "imports cffi (native code can bypass the grader)", "torch._decomp": "imports torch._decomp (PyTorch's derivative formulas)",
            "torch._refs": "imports torch._refs (PyTorch's derivative formulas)",
            "gc": "imports gc (reaches the grader's guards and their originals through the garbage collector)",
            "torch.func": "imports torch.func (autograd)", "torch._functorch": "imports torch._functorch (autograd)",
            "torch._C": "imports torch._C (a way around the grader's guards)",
            "grader": "imports the grader's own modules", "ctypes": "imports ctypes (native code can bypass the grader)"}
_TORCH_ONLY = {"func": "uses torch.func transforms (autograd)", "_C": "uses torch._C internals (a way around the grader's guards)",
               "_functorch": "uses torch._functorch (autograd)"}
_DYNAMIC = {"getattr", "setattr", "delattr", "__import__", "eval", "exec", "compile"}
_SWITCHES = {"set_grad_enabled": "switches autograd on (torch.set_grad_enabled)",
             "requires_grad_": "re-enables requires_grad to rebuild the graph (.requires_grad_())"}
_WORDS = ("backward", "autograd", "grad", "functorch", "_C", "grader", "forward_ad")
# a string that is exactly one of these names is a way to reach it without writing it
_NAMES = {"backward", "grad", "autograd", "functorch", "enable_grad", "set_grad_enabled", "_set_grad_enabled",
          "requires_grad", "requires_grad_", "retain_grad", "grad_fn", "_execution_engine", "run_backward",
          "forward_ad", "make_dual", "guards", "uninstall", "_saved", "grader", "grader.guards", "grader.sandbox.guards"}


def _string(node: ast.AST) -> str | None:
    """The value of a string constant, also when built with + from constants ('back' + 'ward')."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _string(node.left), _string(node.right)
        return None if left is None or right is None else left + right
    return None


def _false(node: ast.AST | None) -> bool:
    """A constant that switches something off (False, 0, None)."""
    return isinstance(node, ast.Constant) and not node.value


def _root(node: ast.AST) -> str:
    """The name an attribute chain starts from: `torch` for torch.ops.aten."""
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else ""


def _torch_chain(node: ast.AST) -> bool:
    """An attribute chain into torch (torch.ops.aten, torch._C._nn, F ...): a student's own x.my_backward is not."""
    names = set()
    while isinstance(node, ast.Attribute):
        names.add(node.attr)
        node = node.value
    return _root(node) in ("torch", "F", "aten") or bool(names & {"ops", "aten", "_C", "_nn", "_VariableFunctions"})


def _is_torch(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "torch"


class _Scanner(ast.NodeVisitor):
    def __init__(self, checkers: tuple, depth: int) -> None:
        self.found: list = []
        self.checkers = set(checkers)
        self.depth = depth
        self.in_checker = 0

    def flag(self, node: ast.AST, what: str) -> None:
        self.found.append((getattr(node, "lineno", 0), what))

    def visit_FunctionDef(self, node) -> None:
        checker = node.name in self.checkers  # the lecture's cmp reads t.grad; its calls are no-ops here
        self.in_checker += checker
        self.generic_visit(node)
        self.in_checker -= checker

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Attribute(self, node: ast.Attribute) -> None:
        attr = node.attr
        if attr in _ATTRS:
            self.flag(node, _ATTRS[attr])
        elif attr in _TORCH_ONLY and _is_torch(node.value):
            self.flag(node, _TORCH_ONLY[attr])
        elif "backward" in attr and _torch_chain(node.value):
            self.flag(node, f"calls PyTorch's backward kernel {attr} (autograd's derivative)")
        elif attr in _EXEC and (attr not in ("system", "popen") or _root(node.value) in ("os", "posix")):
            self.flag(node, f"{_PROGRAMS} (os.{attr})")
        elif attr == "grad" and isinstance(node.ctx, ast.Load) and not self.in_checker:
            self.flag(node, "reads .grad (autograd's answer)")
        elif attr == "requires_grad" and isinstance(node.ctx, ast.Store):
            pass  # judged with its value in visit_Assign
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            if isinstance(target, ast.Attribute) and target.attr == "requires_grad" and not _false(node.value):
                self.flag(node, "sets requires_grad = True to rebuild the graph")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        first = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg in ("mode", "requires_grad")), None)
        if name in _SWITCHES and not _false(first):
            self.flag(node, _SWITCHES[name])
        if name == "inference_mode" and first is not None and not (isinstance(first, ast.Constant) and first.value):
            self.flag(node, "switches autograd back on (torch.inference_mode(False))")
        for keyword in node.keywords:
            if keyword.arg == "requires_grad" and not _false(keyword.value) and name != "requires_grad_":
                self.flag(node, "creates a tensor with requires_grad=True (to rebuild the graph)")
        if name in _DYNAMIC or name == "import_module":
            self.dynamic(node, name)
        self.generic_visit(node)

    def dynamic(self, node: ast.Call, name: str) -> None:
        """getattr(x, 'backward'), exec('...'), __import__('functorch'): look inside the strings."""
        strings = [text for text in map(_string, node.args) if text is not None]
        if name in ("exec", "eval", "compile"):
            if not strings:
                self.flag(node, f"runs code built at run time ({name}), which the grader cannot check")
            for text in strings:
                for _, what in (scan(text, tuple(self.checkers), self.depth + 1) if self.depth < 3 else []):
                    self.flag(node, f"{what} (inside {name})")
            return
        if name in ("__import__", "import_module"):
            for text in strings:
                self.imported(node, text)
            if not strings:
                self.flag(node, f"imports a module named at run time ({name}), which the grader cannot check")
                return
        words = [w for text in strings for w in _WORDS if w in text]
        if words:
            self.flag(node, f"names {words[0]!r} in a string given to {name}() (a way to hide autograd)")

    def imported(self, node: ast.AST, name: str) -> None:
        for module, what in _MODULES.items():
            if name == module or name.startswith(module + "."):
                self.flag(node, what)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and (node.value in _MODULES or node.value in _EXEC or node.value in _ATTRS):
            self.flag(node, f"names {node.value!r} in a string (a way to reach it without writing it)")
        elif isinstance(node.value, str) and node.value in _NAMES:
            self.flag(node, f"names {node.value!r} in a string (a way to reach autograd or the guards without writing it)")

    def visit_BinOp(self, node: ast.BinOp) -> None:
        text = _string(node)
        if text is not None and (text in _NAMES or text in _MODULES or text in _EXEC or text in _ATTRS or "backward" in text):
            self.flag(node, f"builds the name {text!r} from strings (a way to reach autograd or the guards without writing it)")
        self.generic_visit(node)

    def visit_Import(self, node) -> None:
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
        if isinstance(node, ast.ImportFrom) and node.module == "torch":
            names += [f"torch.{a.name}" for a in node.names]
        for name in names:
            self.imported(node, name)
        self.generic_visit(node)

    visit_ImportFrom = visit_Import

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in ("enable_grad", "functorch") and isinstance(node.ctx, ast.Load):
            self.flag(node, _ATTRS["enable_grad"] if node.id == "enable_grad" else _MODULES["functorch"])


def scan(code: str, checkers: tuple = ("cmp",), _depth: int = 0, cell_starts: tuple = ()) -> list[tuple[int, str]]:
    """(line, what) for each use of autograd in `code`; [] if it does not parse (the run reports that).

    `checkers`: names of the student's own cmp-like functions, whose reading of t.grad is the
    lecture's and harmless (the grader replaces them with a no-op). `cell_starts`: code that does not
    parse as a whole is scanned cell by cell, as the child runs it (grader/cells.py).
    """
    return list(_scan(code, tuple(checkers), _depth, tuple(cell_starts)))


@functools.lru_cache(maxsize=32)  # one exercise's code is scanned for each of its runs and its report
def _scan(code: str, checkers: tuple, depth: int, cell_starts: tuple = ()) -> tuple:
    scanner = _Scanner(checkers, depth)
    try:
        try:
            trees = [parse(code)]
        except SyntaxError:
            trees = [t for t in cells.trees(code, cell_starts) if isinstance(t, ast.AST)]
        for tree in trees:
            scanner.visit(tree)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # too deep to parse: the child cannot compile it either
        return ()
    return tuple(sorted(set(scanner.found)))


def flagged_lines(code: str, cell_starts: tuple = ()) -> list[int]:
    """The lines scan() flags: the child reports which of them ran (grader/sandbox/reach.py)."""
    return sorted({line for line, _ in scan(code, cell_starts=cell_starts) if isinstance(line, int)})
