# Hostile: a backward block that only works for a batch of 32, and that sends itself SIGUSR1 (the
# grader's "stop" signal) at step 300 so the hidden variants (a batch of 17) are skipped. Only the
# parent decides that a run was stopped: the hidden variants still run, and fail; so does the training check.
# exercise: 4
# expect-status: incorrect
# expect-score: 0
# expect-check: fails on a batch of 17
# expect-check: stopped itself
import os
import signal

if i == 300:
    os.kill(os.getpid(), signal.SIGUSR1)
dlogits = F.softmax(logits, 1)
dlogits[range(32), Yb] -= 1
dlogits /= 32
# 2nd layer backprop
dh = dlogits @ W2.T
dW2 = h.T @ dlogits
db2 = dlogits.sum(0)
# tanh
dhpreact = (1.0 - h**2) * dh
# batchnorm backprop
dbngain = (bnraw * dhpreact).sum(0, keepdim=True)
dbnbias = dhpreact.sum(0, keepdim=True)
dhprebn = bngain*bnvar_inv/32 * (32*dhpreact - dhpreact.sum(0) - 32/31*bnraw*(dhpreact*bnraw).sum(0))
# 1st layer
dembcat = dhprebn @ W1.T
dW1 = embcat.T @ dhprebn
db1 = dhprebn.sum(0)
# embedding: the lecture loops over Xb here; index_add_ accumulates the same rows in one call
demb = dembcat.view(emb.shape)
dC = torch.zeros_like(C).index_add_(0, Xb.view(-1), demb.view(-1, n_embd))
grads = [dC, dW1, db1, dW2, db2, dbngain, dbnbias]
