# Exercise 3: backprop through batchnorm but all in one go
# to complete this challenge look at the mathematical expression of the output of batchnorm,
# take the derivative w.r.t. its input, simplify the expression, and just write it out
#
# forward pass
# hpreact = bngain * (hprebn - hprebn.mean(0, keepdim=True)) / torch.sqrt(hprebn.var(0, keepdim=True, unbiased=True) + 1e-5) + bnbias
#
# Your code runs after the lecture's forward pass, with every name the notebook defines by then:
#   torch, F, words, stoi, itos, vocab_size, block_size, Xtr, Ytr, Xdev, Ydev, Xte, Yte,
#   n_embd, n_hidden, g, C, W1, b1, W2, b2, bngain, bnbias, parameters, batch_size, n, ix, Xb, Yb,
#   emb, embcat, hprebn, bnmeani, bndiff, bndiff2, bnvar, bnvar_inv, bnraw, hpreact, h, logits,
#   logit_maxes, norm_logits, counts, counts_sum, counts_sum_inv, probs, logprobs, loss
# Tensors carry no graph and no .grad: autograd is what you are graded against, so it is off limits.
# You are also given dhpreact, the correct gradient of the loss w.r.t. hpreact.
# Grade it: backprop-ninja grade ex3_batchnorm.py

# calculate dhprebn given dhpreact (i.e. backprop through the batchnorm)
# (you'll also need to use some of the variables from the forward pass up above)

# -----------------
# YOUR CODE HERE :)
dhprebn = None  # TODO. my solution is 1 (long) line
# -----------------

# cmp('hprebn', dhprebn, hprebn) # I can only get approximate to be true, my maxdiff is 9e-10
