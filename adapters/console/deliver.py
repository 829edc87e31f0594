"""The console as a platform: effects are printed, and a log of effect ids is its memory.

The log holds ids only, never text. An id is written (and synced) before its line is printed, so
after a crash the console can tell what it already showed and never shows a post twice.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TextIO

from adapters.console.render import render, stamp
from bot.service import Delivery, Receipt


class ConsoleDeliverer:
    def __init__(
        self,
        out: TextIO,
        log_path: Path,
        start: datetime,
        stamper: Callable[[datetime], str] | None = None,
    ) -> None:
        self.out = out
        self.log_path = log_path
        self.start = start
        # How a line's time is shown: by default, minutes into the session.
        self.stamper = stamper or (lambda moment: stamp(moment, start))
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._seen = set(log_path.read_text().split()) if log_path.exists() else set()

    def already_delivered(self, delivery: Delivery) -> Receipt | None:
        return Receipt() if delivery.effect_id in self._seen else None

    def deliver(self, delivery: Delivery) -> Receipt:
        with self.log_path.open("a") as log:
            log.write(delivery.effect_id + "\n")
            log.flush()
            os.fsync(log.fileno())
        self._seen.add(delivery.effect_id)
        self.out.write(f"{self.stamper(delivery.created_at)} {render(delivery.effect)}\n")
        self.out.flush()
        return Receipt()
