# Exercise 1: backprop through the whole thing manually,
# backpropagating through exactly all of the variables
# as they are defined in the forward pass above, one by one
#
# Your code runs after the lecture's forward pass, with every name the notebook defines by then:
#   torch, F, words, stoi, itos, vocab_size, block_size, Xtr, Ytr, Xdev, Ydev, Xte, Yte,
#   n_embd, n_hidden, g, C, W1, b1, W2, b2, bngain, bnbias, parameters, batch_size, n, ix, Xb, Yb,
#   emb, embcat, hprebn, bnmeani, bndiff, bndiff2, bnvar, bnvar_inv, bnraw, hpreact, h, logits,
#   logit_maxes, norm_logits, counts, counts_sum, counts_sum_inv, probs, logprobs, loss
# Tensors carry no graph and no .grad: autograd is what you are graded against, so it is off limits.
# Grade it: backprop-ninja grade ex1_backprop_one_by_one.py

# -----------------
# YOUR CODE HERE :)
dlogprobs = None  # TODO
dprobs = None  # TODO
dcounts_sum_inv = None  # TODO
dcounts_sum = None  # TODO
dcounts = None  # TODO
dnorm_logits = None  # TODO
dlogit_maxes = None  # TODO
dlogits = None  # TODO
dh = None  # TODO
dW2 = None  # TODO
db2 = None  # TODO
dhpreact = None  # TODO
dbngain = None  # TODO
dbnbias = None  # TODO
dbnraw = None  # TODO
dbnvar_inv = None  # TODO
dbnvar = None  # TODO
dbndiff2 = None  # TODO
dbndiff = None  # TODO
dbnmeani = None  # TODO
dhprebn = None  # TODO
dembcat = None  # TODO
dW1 = None  # TODO
db1 = None  # TODO
demb = None  # TODO
dC = None  # TODO
# -----------------

# cmp('logprobs', dlogprobs, logprobs)
# cmp('probs', dprobs, probs)
# cmp('counts_sum_inv', dcounts_sum_inv, counts_sum_inv)
# cmp('counts_sum', dcounts_sum, counts_sum)
# cmp('counts', dcounts, counts)
# cmp('norm_logits', dnorm_logits, norm_logits)
# cmp('logit_maxes', dlogit_maxes, logit_maxes)
# cmp('logits', dlogits, logits)
# cmp('h', dh, h)
# cmp('W2', dW2, W2)
# cmp('b2', db2, b2)
# cmp('hpreact', dhpreact, hpreact)
# cmp('bngain', dbngain, bngain)
# cmp('bnbias', dbnbias, bnbias)
# cmp('bnraw', dbnraw, bnraw)
# cmp('bnvar_inv', dbnvar_inv, bnvar_inv)
# cmp('bnvar', dbnvar, bnvar)
# cmp('bndiff2', dbndiff2, bndiff2)
# cmp('bndiff', dbndiff, bndiff)
# cmp('bnmeani', dbnmeani, bnmeani)
# cmp('hprebn', dhprebn, hprebn)
# cmp('embcat', dembcat, embcat)
# cmp('W1', dW1, W1)
# cmp('b1', db1, b1)
# cmp('emb', demb, emb)
# cmp('C', dC, C)
