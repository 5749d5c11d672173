# Exercise 2: backprop through cross_entropy but all in one go
# to complete this challenge look at the mathematical expression of the loss,
# take the derivative, simplify the expression, and just write it out
#
# forward pass
# before:
# logprobs = probs.log()
# loss = -logprobs[range(n), Yb].mean()
# now:
# loss_fast = F.cross_entropy(logits, Yb)
#
# Your code runs after the lecture's forward pass, with every name the notebook defines by then:
#   torch, F, words, stoi, itos, vocab_size, block_size, Xtr, Ytr, Xdev, Ydev, Xte, Yte,
#   n_embd, n_hidden, g, C, W1, b1, W2, b2, bngain, bnbias, parameters, batch_size, n, ix, Xb, Yb,
#   emb, embcat, hprebn, bnmeani, bndiff, bndiff2, bnvar, bnvar_inv, bnraw, hpreact, h, logits,
#   logit_maxes, norm_logits, counts, counts_sum, counts_sum_inv, probs, logprobs, loss
# Tensors carry no graph and no .grad: autograd is what you are graded against, so it is off limits.
# Grade it: backprop-ninja grade ex2_cross_entropy.py

# backward pass

# -----------------
# YOUR CODE HERE :)
dlogits = None  # TODO. my solution is 3 lines
# -----------------

# cmp('logits', dlogits, logits) # I can only get approximate to be true, my maxdiff is 8e-9
