# Hostile: 26 gradients, each under the per-tensor limit, together over the answer size limit.
# exercise: 1
# expect-status: error
# expect-score: 0
# expect-error: answer size limit
dlogprobs = torch.rand(1_000_000)
for name in ("probs counts_sum_inv counts_sum counts norm_logits logit_maxes logits h W2 b2 hpreact "
             "bngain bnbias bnraw bnvar_inv bnvar bndiff2 bndiff bnmeani hprebn embcat W1 b1 emb C").split():
    globals()["d" + name] = torch.rand(1_000_000)  # 4 MB each, 104 MB in all
