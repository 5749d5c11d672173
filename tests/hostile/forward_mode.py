# Hostile: forward-mode AD (dual numbers), which works even under torch.no_grad().
# exercise: 2
# expect-status: flagged
# expect-score: 0
# expect-integrity: forward-mode autograd
import torch.autograd.forward_ad as fwAD

dlogits = torch.zeros_like(logits)
with fwAD.dual_level():
    dual = fwAD.make_dual(logits, torch.ones_like(logits))
    tangent = fwAD.unpack_dual(F.cross_entropy(dual, Yb)).tangent
