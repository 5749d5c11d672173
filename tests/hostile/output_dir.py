# Hostile: overwrite and delete the grader's output directory and the grader's own files;
# then answer correctly. Every attempt is refused; the output directory is intact.
# exercise: 2
# needs: root (its verdict relies on the per-run uid and namespaces; see SECURITY.md)
# expect-status: complete
# expect-score: full
# expect-error: none
# expect-output: output dir: refused
# expect-output: grader dir: refused
# expect-no-output: output dir: done
# expect-no-output: grader dir: done
import os
import shutil

OUTPUT_DIR = "__OUTPUT_DIR__"
GRADER_DIR = "__GRADER_DIR__"
for label, target in (("output dir", OUTPUT_DIR), ("grader dir", GRADER_DIR)):
    try:
        with open(os.path.join(target, "results.json"), "w") as f:
            f.write('{"score": 100}')
        print(label + ": done (wrote)")
    except OSError as exc:
        print(label + ": refused to write:", exc.strerror)
    for name in sorted(os.listdir(target)) if os.access(target, os.R_OK) else []:
        try:
            path = os.path.join(target, name)
            shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)
            print(label + ": done (deleted " + name + ")")
        except OSError as exc:
            print(label + ": refused to delete", name, exc.strerror)
try:
    os.rename(OUTPUT_DIR, OUTPUT_DIR + ".gone")
    print("output dir: done (renamed)")
except OSError as exc:
    print("output dir: refused to rename:", exc.strerror)
dlogits = F.softmax(logits, 1)
dlogits[range(n), Yb] -= 1
dlogits /= n
