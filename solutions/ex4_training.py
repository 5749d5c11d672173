# Exercise 4: putting it all together!
# Train the MLP neural net with your own backward pass
# (reference solution: the backward block of the lecture's training loop; the grader runs the loop)

# manual backprop! #swole_doge_meme
# -----------------
dlogits = F.softmax(logits, 1)
dlogits[range(n), Yb] -= 1
dlogits /= n
# 2nd layer backprop
dh = dlogits @ W2.T
dW2 = h.T @ dlogits
db2 = dlogits.sum(0)
# tanh
dhpreact = (1.0 - h**2) * dh
# batchnorm backprop
dbngain = (bnraw * dhpreact).sum(0, keepdim=True)
dbnbias = dhpreact.sum(0, keepdim=True)
dhprebn = bngain*bnvar_inv/n * (n*dhpreact - dhpreact.sum(0) - n/(n-1)*bnraw*(dhpreact*bnraw).sum(0))
# 1st layer
dembcat = dhprebn @ W1.T
dW1 = embcat.T @ dhprebn
db1 = dhprebn.sum(0)
# embedding: the lecture loops over Xb here; index_add_ accumulates the same rows in one call
demb = dembcat.view(emb.shape)
dC = torch.zeros_like(C).index_add_(0, Xb.view(-1), demb.view(-1, n_embd))
grads = [dC, dW1, db1, dW2, db2, dbngain, dbnbias]
# -----------------
