# Hostile: a fresh interpreter (no guards in it) runs backward() on tensors passed through a file.
# The kernel refuses execve in the child (seccomp); the scan flags the attempt.
# exercise: 2
# expect-status: flagged
# expect-score: 0
# expect-integrity: starts another program
# expect-output: refused
import subprocess
import sys

torch.save({"logits": logits, "Yb": Yb}, "in.pt")
script = ("import torch, torch.nn.functional as F; d = torch.load('in.pt'); x = d['logits'].requires_grad_();"
          "F.cross_entropy(x, d['Yb']).backward(); torch.save(x.grad, 'out.pt')")
dlogits = None
try:
    subprocess.run([sys.executable, "-c", script], check=True)
    dlogits = torch.load("out.pt")
except OSError as exc:
    print("refused:", exc)
