# Hostile: a backward kernel through torch._C._VariableFunctions, by a name built from pieces.
# exercise: 2
# expect-status: flagged
# expect-score: 0
# expect-integrity: backward kernel aten::_log_softmax_backward_data
import importlib

fns = importlib.import_module("torch._" + "C")._VariableFunctions
kernel = getattr(fns, "_log_softmax_back" + "ward_data")
p = F.softmax(logits, 1)
dlogp = torch.zeros_like(p)
dlogp[range(n), Yb] = -1.0 / n
dlogits = kernel(dlogp, p.log(), 1, torch.float32)
