# Hostile: PyTorch's own backward kernels (nll_loss_backward, _log_softmax_backward_data) compute dlogits.
# The sealed dispatcher refuses them (an integrity verdict); the scan flags them too.
# exercise: 2
# expect-status: flagged
# expect-score: 0
# expect-integrity: backward kernel
logp = F.log_softmax(logits, 1)
dlogp = torch.ops.aten.nll_loss_backward(torch.tensor(1.0), logp, Yb, None, 1, -100, torch.tensor(float(n)))
dlogits = torch.ops.aten._log_softmax_backward_data(dlogp, logp, 1, torch.float32)
