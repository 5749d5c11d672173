"""A static scan of a student's code for ways to get autograd's answers instead of computing them."""
from __future__ import annotations

import ast

# attribute names whose use means the code asks autograd (or rebuilds a graph)
_ATTRS = {
    "backward": "calls .backward() (autograd)",
    "retain_grad": "calls .retain_grad() (autograd)",
    "requires_grad_": "re-enables requires_grad to rebuild the graph",
    "enable_grad": "re-enables autograd (torch.enable_grad)",
    "set_grad_enabled": "switches autograd on (torch.set_grad_enabled)",
    "autograd": "uses torch.autograd",
    "func": "uses torch.func transforms (autograd)",
}
_MODULES = {"functorch": "imports functorch (autograd)", "torch.autograd": "imports torch.autograd",
            "torch.func": "imports torch.func (autograd)"}


def scan(code: str) -> list[tuple[int, str]]:
    """(line, what) for each use of autograd in `code`; [] if it does not parse (the run reports that)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in _ATTRS:
            if node.attr == "func" and not (isinstance(node.value, ast.Name) and node.value.id == "torch"):
                continue
            found.append((node.lineno, _ATTRS[node.attr]))
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Attribute) and target.attr == "requires_grad":
                    found.append((node.lineno, "sets requires_grad to rebuild the graph"))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            for name in names:
                for module, what in _MODULES.items():
                    if name == module or name.startswith(module + "."):
                        found.append((node.lineno, what))
    return sorted(set(found))
