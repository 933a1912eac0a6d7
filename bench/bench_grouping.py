"""How long a group suggestion takes for 1,000, 10,000 and 100,000 households.

Run: .venv/bin/python -m bench.bench_grouping
Times the pure cutting function (app.services.grouping.suggest_groups) on synthetic rows:
12 streets × house numbers, random life phase, budget band, profile and tenure.
"""

import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.models.enums import BudgetBand, LifePhase, Profile, Tenure  # noqa: E402
from app.services.grouping import HouseholdRow, suggest_groups  # noqa: E402

SIZES = (1_000, 10_000, 100_000)
LIMIT_SECONDS = 2.0


def synthetic_rows(count: int, seed: int = 8400) -> list[HouseholdRow]:
    """`count` households spread over streets of ~400 numbers, in random order."""
    rng = random.Random(seed)
    streets = [f"Straat {index}" for index in range(max(1, count // 400))]
    rows = [
        HouseholdRow(
            household_id=index + 1,
            street=rng.choice(streets),
            house_number=str(rng.randint(1, 400)) + rng.choice(["", "", "", "A", "B"]),
            life_phase=rng.choice(list(LifePhase)).value,
            budget_band=rng.choice(list(BudgetBand)).value,
            profile=rng.choice(list(Profile)).value,
            tenure=rng.choice(list(Tenure)).value,
            measure="facade_insulation",
        )
        for index in range(count)
    ]
    rng.shuffle(rows)
    return rows


def time_suggestion(rows: list[HouseholdRow], by: list[str]) -> tuple[float, float, int, int]:
    """Wall-clock and CPU seconds, groups made, households left over."""
    started, started_cpu = time.perf_counter(), time.process_time()
    suggestion = suggest_groups(rows, by=by, min_size=5, max_size=12)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    return elapsed, cpu, len(suggestion.groups), len(suggestion.unassigned)


def main() -> int:
    print(f"{'households':>10}  {'keys':<24} {'seconds':>8}  {'cpu s':>6}  {'groups':>7}  "
          f"{'left over':>9}")
    worst = 0.0
    for count in SIZES:
        rows = synthetic_rows(count)
        for by in (["life_phase"], ["life_phase", "budget_band"], ["street"]):
            elapsed, cpu, groups, unassigned = time_suggestion(rows, by)
            worst = max(worst, elapsed) if count == SIZES[-1] else worst
            print(f"{count:>10,}  {'+'.join(by):<24} {elapsed:>8.3f}  {cpu:>6.3f}  {groups:>7,}  "
                  f"{unassigned:>9,}")
    verdict = "OK" if worst < LIMIT_SECONDS else "TOO SLOW"
    print(f"slowest for {SIZES[-1]:,} households: {worst:.3f} s "
          f"(limit {LIMIT_SECONDS:.0f} s): {verdict}")
    return 0 if worst < LIMIT_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
