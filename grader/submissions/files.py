"""Which files count: those of a folder named to grade, and of two files holding the same exercise
(ex2_cross_entropy.py beside ex2_cross_entropy_old.py), the one that is graded."""
from __future__ import annotations

import re
from pathlib import Path

# the stubs `backprop-ninja start` writes (exercises/)
STUBS = {1: "ex1_backprop_one_by_one.py", 2: "ex2_cross_entropy.py", 3: "ex3_batchnorm.py", 4: "ex4_training.py"}
SUBMISSION_SUFFIXES = (".py", ".ipynb")  # a student's code: a stub, a script, a notebook
FOLDER_SUFFIXES = (*SUBMISSION_SUFFIXES, ".zip")  # what counts in a folder named to grade; a .zip is unpacked (archive.py)
_SPARE = re.compile(r"(old|backup|bak|copy|orig|draft|test|tmp|scratch|\(\d+\)|~)", re.I)


def prefer(exercise: int, first, second) -> tuple[object, str]:
    """(the ExerciseCode that counts, a note naming both): the file named like the stub wins, then one not named
    like a spare copy (_old, backup, copy, (1)), else the later one."""
    names = [Path(code.source).name for code in (first, second)]
    stub = [name == STUBS.get(exercise) for name in names]
    spare = [bool(_SPARE.search(Path(name).stem)) for name in names]
    if stub[0] != stub[1]:
        winner, why = (first, "named like the stub") if stub[0] else (second, "named like the stub")
    elif spare[0] != spare[1]:
        winner, why = (second, "the other looks like a spare copy") if spare[0] else (first, "the other looks like a spare copy")
    else:
        winner, why = second, "the last one counts"
    return winner, (f"exercise {exercise} appears in {names[0]} and {names[1]}; graded {Path(winner.source).name} ({why}); "
                    "duplicate flagged for the instructor")


def expand(paths) -> list[Path]:
    """Files to grade: each path itself, or the submission files directly inside a folder."""
    files = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(f for f in p.iterdir() if f.suffix in FOLDER_SUFFIXES and f.is_file()))
        else:
            files.append(p)
    return files
