# Hostile: allocate (and touch) memory until something gives.
# exercise: 2
# expect-status: error
# expect-score: 0
# expect-error: stopped: memory limit
dlogits = torch.zeros_like(logits)  # attempted: something is assigned
hoard = []
while True:
    hoard.append(torch.ones(1 << 22))  # 16 MiB at a time, all of it touched
