"""How fast the personal-data scrubber cleans statements (app/services/anonymize.py).

Scrubs the hand-made test statements (tests/services/data/pii_statements*.jsonl) --repeat
times over in one process, after one warm-up pass (the name lists are read once), and prints
one JSON line and a Markdown table: statements per second of wall time and of CPU time (the
second moves less on a shared machine), and CPU microseconds per statement.

    .venv/bin/python bench/scrub.py --repeat 100
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.services.anonymize import scrub  # noqa: E402

DATA = ROOT / "tests" / "services" / "data"


def statements() -> list[str]:
    return [json.loads(line)["text"] for path in sorted(DATA.glob("pii_statements*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines() if line]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--json", help="append the JSON line to this file")
    args = parser.parse_args()
    texts = statements()
    for text in texts:
        scrub(text)  # warm-up: the lists are read and the patterns compiled
    work = texts * args.repeat
    cpu, wall = time.process_time(), time.perf_counter()
    for text in work:
        scrub(text)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    result = {
        "bench": "scrub", "statements": len(work), "distinct": len(texts),
        "characters": sum(map(len, work)), "seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3), "statements_per_s": round(len(work) / wall),
        "statements_per_cpu_s": round(len(work) / cpu),
        "chars_per_s": round(sum(map(len, work)) / wall),
        "cpu_us_per_statement": round(cpu / len(work) * 1e6, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    line = json.dumps(result)
    print(line)
    if args.json:
        with open(args.json, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    print("\n| statements | seconds | statements/s | CPU seconds | statements/CPU s "
          "| CPU µs/statement |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    print(f"| {result['statements']:,} | {result['seconds']} | {result['statements_per_s']:,} "
          f"| {result['cpu_seconds']} | {result['statements_per_cpu_s']:,} "
          f"| {result['cpu_us_per_statement']} |")


if __name__ == "__main__":
    main()
