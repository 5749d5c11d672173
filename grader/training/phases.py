"""What exercise 4 is doing, said on stderr: each phase by name (your training, hidden variants, autograd's), with progress.

On a terminal a rich bar per phase (with steps, loss and ETA); otherwise plain lines, at most one every
PLAIN_EVERY seconds, so a CI log or Gradescope's stdout shows the run is alive without flooding it.
"""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager

PLAIN_EVERY = 5.0  # seconds between plain progress lines


class Phases:
    """Says each phase of exercise 4 as it starts, and feeds its progress records to a bar or to plain lines."""

    def __init__(self, enabled: bool, stream=None, every: float = PLAIN_EVERY):
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.every = every
        self._bar = None

    @contextmanager
    def phase(self, name: str, steps: int | None = None):
        """Yield an on_progress(record) callback for the phase `name` (records carry `step` and `loss`)."""
        if not self.enabled:
            yield None
            return
        if self.stream.isatty():
            with self._rich(name, steps) as update:
                yield update
            return
        started = last = time.monotonic()
        self._line(f"exercise 4: {name}" + (f" ({steps:,} steps)" if steps else "") + " ...")

        def update(record: dict) -> None:
            nonlocal last
            now = time.monotonic()
            step, loss = record.get("step"), record.get("loss")
            if now - last >= self.every and isinstance(step, int):
                last = now
                self._line(f"exercise 4: {name}: step {step:,}" + (f"/{steps:,}" if steps else "")
                           + (f", loss {loss:.4f}" if isinstance(loss, (int, float)) else "") + f", {now - started:.0f} s")
        yield update
        if time.monotonic() - started >= self.every:
            self._line(f"exercise 4: {name}: done in {time.monotonic() - started:.0f} s")

    def _line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    @contextmanager
    def _rich(self, name: str, steps: int | None):
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        columns = [SpinnerColumn(), TextColumn("exercise 4: {task.description}")]
        if steps:
            columns += [BarColumn(), MofNCompleteColumn(), TextColumn("loss {task.fields[loss]}"), TextColumn("eta"),
                        TimeRemainingColumn()]
        columns.append(TimeElapsedColumn())
        with Progress(*columns, console=Console(file=self.stream), transient=True) as bar:
            task = bar.add_task(f"{name} (starting)" if steps else name, total=steps, loss="-")

            def update(record: dict) -> None:
                step, loss = record.get("step"), record.get("loss")
                if isinstance(step, int) and steps:
                    bar.update(task, completed=min(max(step, 0), steps), description=name)
                if isinstance(loss, (int, float)):
                    bar.update(task, loss=f"{loss:.4f}")
            yield update
