"""Each test's phase reports, kept on the item so fixtures can tell whether the test failed."""

import pytest

REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def remember(item: pytest.Item, report: pytest.TestReport) -> None:
    item.stash.setdefault(REPORTS, {})[report.when] = report


def node_failed(request: pytest.FixtureRequest) -> bool:
    reports = request.node.stash.get(REPORTS, {})
    return any(report.failed for report in reports.values())
