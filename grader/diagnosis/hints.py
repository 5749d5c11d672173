"""Hints as data: three levels per gradient, each one step closer without giving the answer away.

Level 1 recalls what the forward pass did, level 2 the local derivative of that operation, level 3 the shape
rule (what to sum over, what to transpose). Keyed by (exercise, name); exercise 0 holds the one-by-one hints that
exercises 1 and 4 share.
"""
from __future__ import annotations

H = {}


def _add(exercise: int, name: str, forward: str, local: str, shape: str) -> None:
    H[(exercise, name)] = (forward, local, shape)


_add(0, "logprobs", "The loss is -logprobs[range(n), Yb].mean(): it picks one entry per row, the correct character's.",
     "Each picked entry enters the mean with weight 1/n and a minus sign; the entries not picked do not touch the loss.",
     "dlogprobs has logprobs' shape (n, vocab_size): start from zeros and fill in only the picked entries.")
_add(0, "probs", "logprobs = probs.log(), element by element.",
     "The derivative of log(x) is 1/x.",
     "Element-wise: dprobs has probs' shape; multiply the local derivative by dlogprobs, no sum.")
_add(0, "counts_sum_inv", "probs = counts * counts_sum_inv, where counts_sum_inv (n, 1) is broadcast across each row.",
     "With respect to counts_sum_inv, the local derivative of the product is the other factor.",
     "A tensor broadcast over a dimension collects its gradient by summing over that dimension: keep the (n, 1) shape.")
_add(0, "counts_sum", "counts_sum_inv = counts_sum**-1.",
     "The derivative of x**-1 is -x**-2.",
     "Element-wise: (n, 1) in, (n, 1) out; multiply by dcounts_sum_inv.")
_add(0, "counts", "counts is used twice: in probs = counts * counts_sum_inv and in counts_sum = counts.sum(1, keepdim=True).",
     "Through probs the local derivative is counts_sum_inv; through the sum every element gets 1 times dcounts_sum.",
     "Add the two contributions (+=); dcounts_sum (n, 1) is broadcast across each row of counts.")
_add(0, "norm_logits", "counts = norm_logits.exp().",
     "The derivative of exp(x) is exp(x) itself, which the forward pass already computed.",
     "Element-wise: dnorm_logits has norm_logits' shape, no sum.")
_add(0, "logit_maxes", "norm_logits = logits - logit_maxes, with logit_maxes (n, 1) broadcast across each row.",
     "With respect to logit_maxes the local derivative of the subtraction is -1.",
     "Broadcast over dim 1 in the forward pass, so sum over dim 1 and keep the (n, 1) shape. (It comes out ~0: why?)")
_add(0, "logits", "logits is used twice: in norm_logits = logits - logit_maxes, and in logit_maxes = logits.max(1).",
     "Through the subtraction the local derivative is 1; the max passes its gradient to the position of each row's "
     "maximum only.",
     "Add the two contributions; F.one_hot of logits.max(1).indices marks where the max was.")
_add(0, "h", "logits = h @ W2 + b2: a matrix multiplication.",
     "For a matmul, the gradient of one operand is the upstream gradient matmul'ed with the other operand.",
     "dh must have h's shape (n, n_hidden): line up the shapes of dlogits (n, vocab_size) and W2 (n_hidden, "
     "vocab_size) until they fit, transposing what must be transposed.")
_add(0, "W2", "logits = h @ W2 + b2: a matrix multiplication.",
     "The gradient of W2 combines h and dlogits, and sums over the examples of the batch.",
     "dW2 must have W2's shape (n_hidden, vocab_size): find the product of h (or h.T) and dlogits that has it.")
_add(0, "b2", "logits = h @ W2 + b2: b2 (vocab_size,) is broadcast to every row of the batch.",
     "The local derivative of an addition is 1.",
     "Broadcast over dim 0 (the batch) in the forward pass, so sum over dim 0; b2 is a vector (vocab_size,).")
_add(0, "hpreact", "h = torch.tanh(hpreact).",
     "The derivative of tanh can be written with tanh's own output: it uses h, not hpreact.",
     "Element-wise: dhpreact has hpreact's shape, no sum.")
_add(0, "bngain", "hpreact = bngain * bnraw + bnbias, with bngain (1, n_hidden) broadcast over the batch.",
     "With respect to bngain, the local derivative of the product is the other factor.",
     "Broadcast over dim 0, so sum over dim 0 and keep the (1, n_hidden) shape.")
_add(0, "bnbias", "hpreact = bngain * bnraw + bnbias, with bnbias (1, n_hidden) broadcast over the batch.",
     "The local derivative of an addition is 1.",
     "Broadcast over dim 0, so sum over dim 0 and keep the (1, n_hidden) shape.")
_add(0, "bnraw", "hpreact = bngain * bnraw + bnbias.",
     "With respect to bnraw, the local derivative of the product is the other factor.",
     "dbnraw has bnraw's shape (n, n_hidden); the (1, n_hidden) factor broadcasts by itself, no sum.")
_add(0, "bnvar_inv", "bnraw = bndiff * bnvar_inv, with bnvar_inv (1, n_hidden) broadcast over the batch.",
     "With respect to bnvar_inv, the local derivative of the product is the other factor.",
     "Broadcast over dim 0, so sum over dim 0 and keep the (1, n_hidden) shape.")
_add(0, "bnvar", "bnvar_inv = (bnvar + 1e-5)**-0.5.",
     "The power rule: the derivative of x**k is k * x**(k - 1).",
     "Element-wise: (1, n_hidden) in, (1, n_hidden) out.")
_add(0, "bndiff2", "bnvar = 1/(n-1) * bndiff2.sum(0, keepdim=True): Bessel's correction, n - 1.",
     "Every element of bndiff2 enters the sum with weight 1/(n-1).",
     "dbndiff2 has bndiff2's shape (n, n_hidden): the (1, n_hidden) dbnvar is broadcast back over the batch.")
_add(0, "bndiff", "bndiff is used twice: in bndiff2 = bndiff**2 and in bnraw = bndiff * bnvar_inv.",
     "The derivative of x**2 is 2x; through the product it is the other factor.",
     "Add the two contributions (+=), each of shape (n, n_hidden).")
_add(0, "bnmeani", "bndiff = hprebn - bnmeani, with bnmeani (1, n_hidden) broadcast over the batch.",
     "With respect to bnmeani the local derivative of the subtraction is -1.",
     "Broadcast over dim 0, so sum over dim 0 and keep the (1, n_hidden) shape.")
_add(0, "hprebn", "hprebn is used twice: in bndiff = hprebn - bnmeani and in bnmeani = 1/n * hprebn.sum(0, keepdim=True).",
     "Through the subtraction the local derivative is 1; through the mean every element gets 1/n.",
     "Add the two contributions; dbnmeani (1, n_hidden) is broadcast back over the batch.")
_add(0, "embcat", "hprebn = embcat @ W1 + b1: a matrix multiplication.",
     "For a matmul, the gradient of one operand is the upstream gradient matmul'ed with the other operand.",
     "dembcat must have embcat's shape (n, block_size * n_embd): make dhprebn and W1's shapes meet.")
_add(0, "W1", "hprebn = embcat @ W1 + b1: a matrix multiplication.",
     "The gradient of W1 combines embcat and dhprebn, and sums over the examples of the batch.",
     "dW1 must have W1's shape (block_size * n_embd, n_hidden): find the product that has it.")
_add(0, "b1", "hprebn = embcat @ W1 + b1: b1 (n_hidden,) is broadcast to every row.",
     "The local derivative of an addition is 1.",
     "Sum over dim 0; b1 is a vector (n_hidden,). (It comes out ~0 because of batchnorm: why?)")
_add(0, "emb", "embcat = emb.view(emb.shape[0], -1): a reshape, no arithmetic.",
     "A view moves no values: the gradient flows through unchanged.",
     "Undo the reshape: demb has emb's shape (n, block_size, n_embd).")
_add(0, "C", "emb = C[Xb]: each entry of Xb picks a row of C, and a character can be picked many times.",
     "Each pick copies a row, so each row of C receives the gradients of every place it was picked.",
     "dC has C's shape (vocab_size, n_embd): accumulate (+=, index_add_), never assign, for repeated characters.")
_add(2, "logits", "The loss is F.cross_entropy(logits, Yb): a softmax over each row, then -log of the correct "
     "character's probability, averaged over the batch.",
     "Differentiate -log(softmax(logits)[y]) with respect to each logit: it gives the softmax, with something "
     "different at the correct character y.",
     "dlogits has logits' shape (n, vocab_size); the average over the batch divides every row by n.")
_add(3, "hprebn", "bnraw = (hprebn - mean) / sqrt(var + 1e-5) and hpreact = bngain * bnraw + bnbias; the mean and "
     "the variance (with n - 1) depend on every row of hprebn.",
     "Each hprebn[i] reaches the loss three ways: directly, through the mean, and through the variance; write the "
     "derivative of each path and simplify with bnraw.",
     "dhprebn has shape (n, n_hidden); the mean and variance paths sum over the batch, dim 0.")


def hints_for(exercise: int, name: str) -> list[str]:
    """The three hints for d<name> in `exercise` ([] when there are none)."""
    fused = {(4, "logits"): (2, "logits"), (4, "hprebn"): (3, "hprebn")}
    key = fused.get((exercise, name), (exercise, name))
    return list(H.get(key) or H.get((0, name)) or ())
