"""Run-time guards inside the child: autograd is off limits to a student's code.

`install()` switches grad mode (and forward-mode AD) off and replaces every entry point that
could give back autograd's answers, wherever torch exposes it, with a refusal that names what
was called. What stays: everything the lecture's code legitimately uses (torch.no_grad(),
.data, .clone(), F.one_hot, set_grad_enabled(False) ...). A determined student can still undo
this from inside the process; the static scan (grader/submissions/scan.py) flags such code, see SECURITY.md.
"""
from __future__ import annotations

import sys

import torch
import torch.autograd.forward_ad
import torch.autograd.functional
import torch.func


class IntegrityError(RuntimeError):
    """The student's code tried to get gradients from autograd."""


def message(what: str) -> str:
    """The refusal a student reads."""
    return (f"{what} is not allowed: the grader compares your hand-written gradients with autograd's, "
            "so your code must not use autograd (delete that line)")


def _refuse(what: str):
    def refuse(*args, **kwargs):
        raise IntegrityError(message(what))
    return refuse


def _refuse_true(what: str, original, off: bool = True):
    """A switch that may be turned off (torch.set_grad_enabled(False) is fine) but not on (`off`: which is allowed)."""
    def switch(mode=True, *args, **kwargs):
        if bool(mode) != (not off):
            raise IntegrityError(message(what))
        return original(mode, *args, **kwargs)
    return switch


def _targets() -> dict:
    """Every function or class that runs autograd, by the name a student would write."""
    fn = torch.func
    out = {torch.autograd.backward: "torch.autograd.backward()", torch.autograd.grad: "torch.autograd.grad()",
           torch.autograd.gradcheck: "torch.autograd.gradcheck()", torch.autograd.gradgradcheck: "torch.autograd.gradgradcheck()",
           torch.autograd.graph._engine_run_backward: "autograd's engine (run_backward)"}
    for name in ("jacobian", "hessian", "vjp", "jvp", "hvp", "vhp"):
        out[getattr(torch.autograd.functional, name)] = f"torch.autograd.functional.{name}()"
    for name in ("make_dual", "dual_level", "enter_dual_level"):  # unpack_dual stays: printing a tensor calls it
        out[getattr(torch.autograd.forward_ad, name)] = f"forward-mode autograd (torch.autograd.forward_ad.{name})"
    for name in ("grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "linearize"):
        out[getattr(fn, name)] = f"torch.func.{name}()"
    from torch._functorch import eager_transforms as et

    for name in ("grad_impl", "grad_and_value_impl", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "linearize"):
        if hasattr(et, name):
            out.setdefault(getattr(et, name), f"torch.func.{name.replace('_impl', '')}()")
    return out


class _RefusingEnableGrad:
    """Stands in for torch.enable_grad: torch's own modules may still decorate with it when imported
    lazily (e.g. torch.distributed.fsdp); entering it, or calling what it decorated, is refused."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __enter__(self):
        raise IntegrityError(message("torch.enable_grad()"))

    def __exit__(self, *exc) -> None:
        pass

    def __call__(self, func):
        def refuse(*args, **kwargs):
            raise IntegrityError(message("torch.enable_grad()"))
        return refuse

    def clone(self):
        return self


class _BlockFunctorch:
    """A meta-path finder that refuses `import functorch` (its transforms are autograd)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "functorch" or fullname.startswith("functorch."):
            raise IntegrityError(message("import functorch"))
        return None


class _RefusingEngine:
    """Stands in for autograd's execution engine."""

    def __getattr__(self, name):
        raise IntegrityError(message(f"autograd's engine ({name})"))


_saved: list = []  # (owner, attribute, original or _ABSENT), in the order they were replaced
_current: list = []  # (owner, attribute, replacement): what intact() expects to find
_modes: list = []  # grad mode and forward-AD mode before install()
_ABSENT = object()


def _own(owner) -> bool:
    """Whether `owner`'s own __dict__ says what it holds (a class; torch.ops.aten, which looks names up lazily)."""
    return isinstance(owner, (type, torch._ops._OpNamespace))


def _replace(owner, attr: str, value) -> None:
    _saved.append((owner, attr, owner.__dict__.get(attr, _ABSENT) if _own(owner) else getattr(owner, attr)))
    setattr(owner, attr, value)
    _current.append((owner, attr, value))


def _torch_modules():
    for name, module in list(sys.modules.items()):
        if (name == "torch" or name.startswith("torch.")) and module is not None:
            yield name, module


_plan: dict = {}  # module name -> (module, number of names, [(attribute, target id)]): where the targets are,
# found once per process, then only re-checked (install() again after uninstall(), in tests)


def _target_map() -> dict:
    targets = {id(obj): (obj, _refuse(what)) for obj, what in _targets().items()}
    targets[id(torch.enable_grad)] = (torch.enable_grad, _RefusingEnableGrad)
    return targets


def _locations(targets: dict):
    """(module, attribute, target id) for every module attribute that is one of the targets."""
    for name, module in _torch_modules():
        known, names = _plan.get(name), vars(module)
        if known is None or known[0] is not module or known[1] != len(names):  # new, or its names changed
            found = [(attr, id(value)) for attr, value in list(names.items()) if id(value) in targets]
            known = _plan[name] = (module, len(names), found)
        for attr, ident in known[2]:
            yield module, attr, ident


def _requires_grad_property():
    base = torch._C.TensorBase.requires_grad

    def setter(self, value):
        if value:
            raise IntegrityError(message("setting .requires_grad = True"))
        base.__set__(self, value)
    return property(base.__get__, setter, doc=base.__doc__)


def _requires_grad_method():
    original = torch._C.TensorBase.requires_grad_

    def requires_grad_(self, requires_grad=True):
        if requires_grad:
            raise IntegrityError(message(".requires_grad_()"))
        return original(self, requires_grad)
    return requires_grad_


def install(allow_requires_grad: bool = False) -> None:
    """Disable grad mode and forward AD, and replace autograd's entry points with a clear refusal.

    `allow_requires_grad`: leave .requires_grad = True alone (exercise 4's setup cell sets it;
    without grad mode and backward() it builds nothing).
    """
    if _saved:
        return
    _modes[:] = [torch.is_grad_enabled(), torch._C._is_fwd_grad_enabled()]
    torch.set_grad_enabled(False)
    torch._C._set_fwd_grad_enabled(False)
    targets = _target_map()
    for module, attr, ident in list(_locations(targets)):
        value = vars(module).get(attr, _ABSENT)
        if ident in targets and value is targets[ident][0]:
            _replace(module, attr, targets[ident][1])
    _replace(torch.Tensor, "backward", _refuse("loss.backward()"))
    _replace(torch._C, "_set_grad_enabled", _refuse_true("torch._C._set_grad_enabled(True)", torch._C._set_grad_enabled))
    _replace(torch._C, "_set_fwd_grad_enabled", _refuse_true("forward-mode autograd", torch._C._set_fwd_grad_enabled))
    _replace(torch._C, "_enter_dual_level", _refuse("forward-mode autograd (dual levels)"))
    original_switch = torch.set_grad_enabled

    class set_grad_enabled(original_switch):  # noqa: N801 - the name the student wrote
        def __init__(self, mode: bool) -> None:
            if mode:
                raise IntegrityError(message("torch.set_grad_enabled(True)"))
            super().__init__(mode)

    for module in (torch, torch.autograd, torch.autograd.grad_mode):
        if getattr(module, "set_grad_enabled", None) is original_switch:
            _replace(module, "set_grad_enabled", set_grad_enabled)
    _replace(torch.autograd.variable.Variable, "_execution_engine", _RefusingEngine())
    _more(original_switch)
    if not allow_requires_grad:
        _replace(torch.Tensor, "requires_grad", _requires_grad_property())
        _replace(torch.Tensor, "requires_grad_", _requires_grad_method())
    finder = _BlockFunctorch()
    sys.meta_path.insert(0, finder)
    _saved.append((sys.meta_path, finder, _ABSENT))
    _current.append((sys.meta_path, finder, _ABSENT))


def _more(original_switch) -> None:
    """Other ways to grad mode or the engine: inference_mode(False), TorchScript's aten::grad/backward, threads for torch."""
    original_inference = torch.inference_mode

    class inference_mode(original_inference):  # noqa: N801 - the name the student wrote
        def __init__(self, mode: bool = True) -> None:
            if not mode:
                raise IntegrityError(message("torch.inference_mode(False) (it switches autograd back on)"))
            super().__init__(mode)

    for module in (torch, torch.autograd, torch.autograd.grad_mode):
        if getattr(module, "inference_mode", None) is original_inference:
            _replace(module, "inference_mode", inference_mode)
    _replace(torch._C, "_InferenceMode", _refuse_true("torch._C._InferenceMode", torch._C._InferenceMode, off=False))
    jit_operation = torch._C._jit_get_operation

    def get_operation(name, *args, **kwargs):
        if str(name).split(".")[0] in ("aten::grad", "aten::backward", "aten::_grad", "aten::autograd"):
            raise IntegrityError(message(f"TorchScript's {name} (autograd)"))
        return jit_operation(name, *args, **kwargs)

    _replace(torch._C, "_jit_get_operation", get_operation)
    for name in ("grad", "backward"):  # torch.ops.aten.grad, whether or not it was looked up before
        _replace(torch.ops.aten, name, _refuse(f"TorchScript's aten::{name} (autograd)"))
    for name in ("script", "trace", "trace_module", "CompilationUnit"):  # TorchScript runs autograd in C++
        _replace(torch.jit, name, _refuse(f"torch.jit.{name}"))
    original_threads = torch.set_num_threads
    _replace(torch, "set_num_threads", lambda n: original_threads(1))  # the child may start no thread
    _replace(torch, "set_num_interop_threads", lambda n: None)


def intact() -> bool:
    """True while everything install() did is still in place (a student's code may have undone some)."""
    if not _saved or torch.is_grad_enabled() or torch._C._is_fwd_grad_enabled():
        return False
    for owner, attr, value in _current:
        if owner is sys.meta_path:
            if not sys.meta_path or sys.meta_path[0] is not attr:
                return False
        elif (owner.__dict__.get(attr, _ABSENT) if _own(owner) else getattr(owner, attr, _ABSENT)) is not value:
            return False
    return True


def uninstall() -> None:
    """Restore what install() replaced, and the grad modes (the grader's own code runs after the student's)."""
    _current.clear()
    while _saved:
        owner, attr, original = _saved.pop()
        if owner is sys.meta_path:
            if attr in sys.meta_path:
                sys.meta_path.remove(attr)
        elif original is _ABSENT:
            try:
                delattr(owner, attr)
            except AttributeError:
                pass
        else:
            setattr(owner, attr, original)
    if _modes:
        torch.set_grad_enabled(_modes[0])
        torch._C._set_fwd_grad_enabled(_modes[1])
        _modes.clear()


def installed() -> bool:
    """True between install() and uninstall()."""
    return bool(_saved)
