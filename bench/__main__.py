"""`make bench` = `python -m bench`: see bench/runner.py and docs/BENCHMARKS.md."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.runner import main  # noqa: E402

sys.exit(main())
