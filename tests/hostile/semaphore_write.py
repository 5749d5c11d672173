# Hostile: write zeros over every shared-memory mapping it inherited (a process pool's semaphores live in /dev/shm;
# zeroed, they hung a whole batch), through /proc/self/mem, then answer correctly: nothing of the grader hangs.
# exercise: 2
# expect-status: complete
# expect-score: full
try:
    with open("/proc/self/maps") as f:
        maps = [line.split() for line in f.read().splitlines()]
    with open("/proc/self/mem", "r+b", buffering=0) as mem:
        for fields in maps:
            if len(fields) > 5 and ("/dev/shm" in fields[5] or "sem." in fields[5] or "SYSV" in fields[5]):
                start, end = (int(x, 16) for x in fields[0].split("-"))
                mem.seek(start)
                mem.write(bytes(end - start))
except OSError:
    pass
dlogits = F.softmax(logits, 1)
dlogits[range(n), Yb] -= 1
dlogits /= n
