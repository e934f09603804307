"""Run a huey worker for the tests, as `huey_consumer app.tasks.huey` does.

With JOB_TEST_PAUSE_MARKER=path, a job stops for an hour once the import has handed its first
rows to the database (they are written, not committed) and writes that path: the test then
kills this process mid-import.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def main() -> None:
    marker = os.environ.get("JOB_TEST_PAUSE_MARKER")
    if marker:
        from app.services import jobs

        real = jobs.Heartbeat.progress

        def progress(self, phase: str, done: int, total: int) -> None:
            real(self, phase, done, total)
            if phase == "store" and done > 0:
                self.beat()  # PostgreSQL shows it; SQLite's write lock keeps it out
                Path(marker).write_text(str(done))
                time.sleep(3600)

        jobs.Heartbeat.progress = progress
    from huey.bin.huey_consumer import consumer_main

    sys.argv = ["huey_consumer", "app.tasks.huey", "-w", "1", "-d", "0.1", "-m", "0.5"]
    consumer_main()


if __name__ == "__main__":
    main()
