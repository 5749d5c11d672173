# Exercise 4: putting it all together!
# Train the MLP neural net with your own backward pass
#
# The grader runs the lecture's training loop (n_hidden 200, batch 32, lr 0.1 then 0.01 after
# 100,000 steps, seed 2147483647) and, where the lecture calls loss.backward(), runs this block.
# Every step it runs after the forward pass, with the loop's names:
#   torch, F, C, W1, b1, W2, b2, bngain, bnbias, parameters, Xb, Yb, n, batch_size,
#   emb, embcat, hprebn, bnmean, bnvar, bnvar_inv, bnraw, hpreact, h, logits, loss,
#   i, lr, max_steps, vocab_size, block_size, n_embd, n_hidden
# Tensors carry no graph and no .grad: autograd is what you are graded against, so it is off limits.
# Leave grads = [dC, dW1, db1, dW2, db2, dbngain, dbnbias]; the loop then does p.data += -lr * grad.
# The code between the lecture's `# manual backprop!` markers can be pasted here unchanged.
#
# Grade it: backprop-ninja grade ex4_training.py          (a few thousand steps, side by side with autograd)
#           backprop-ninja grade ex4_training.py --full   (all 200,000 steps, train/val loss, samples)

# manual backprop! #swole_doge_meme
# -----------------
# YOUR CODE HERE :)
dC, dW1, db1, dW2, db2, dbngain, dbnbias = None, None, None, None, None, None, None
grads = [dC, dW1, db1, dW2, db2, dbngain, dbnbias]
# -----------------
