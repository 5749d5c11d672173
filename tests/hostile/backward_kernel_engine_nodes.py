# Hostile: exercise 3's answer by native_batch_norm_backward, the kernel autograd's BatchNorm node runs.
# exercise: 3
# expect-status: flagged
# expect-score: 0
# expect-integrity: backward kernel aten::native_batch_norm_backward
mean, var = hprebn.mean(0), hprebn.var(0, unbiased=False)
dhprebn = torch.ops.aten.native_batch_norm_backward(dhpreact, hprebn, bngain.view(-1), None, None, mean,
                                                      (var + 1e-5) ** -0.5, True, 1e-5, [True, True, True])[0]
