# Hostile: a tensor subclass that says it equals anything, is close to anything, has any shape.
# Once it crosses to the parent it is plain bytes: just a wrong answer.
# exercise: 2
# expect-status: incorrect
# expect-score: 0
# expect-integrity: none
class Liar(torch.Tensor):
    def __eq__(self, other):
        return True

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in ("equal", "allclose"):
            return True
        if name == "__eq__":
            return torch.ones(27, dtype=torch.bool)
        return super().__torch_function__(func, types, args, kwargs or {})


dlogits = torch.zeros_like(logits).as_subclass(Liar)
