"""Accessibility checks with the vendored axe-core (WCAG 2.1 A and AA rules)."""

from collections.abc import Iterable
from typing import Any

from playwright.sync_api import Page

from tests.support.environment import ROOT

AXE_PATH = ROOT / "tests" / "vendor" / "axe-4.11.0.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING_IMPACTS = ("serious", "critical")

_RUN_AXE = """
async ({options, include}) => {
  const context = include ? {include: include} : document;
  const results = await axe.run(context, options);
  return results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({
      target: n.target.map(t => Array.isArray(t) ? t.join(" >>> ") : t).join(", "),
      summary: n.failureSummary || "",
    })),
  }));
}
"""


def _inject_axe(page: Page) -> None:
    if page.evaluate("typeof window.axe !== 'undefined'"):
        return
    # Evaluated through the DevTools protocol rather than a <script> tag: the app's
    # Content-Security-Policy (script-src 'self') rightly refuses inline scripts.
    page.evaluate(AXE_PATH.read_text(encoding="utf-8") + "\n;undefined")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        raise RuntimeError(f"axe-core did not load from {AXE_PATH}")


def axe_violations(
    page: Page, *, include: list[str] | None = None, disabled_rules: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """Every WCAG 2.1 A/AA violation on the current page, whatever its impact."""
    _inject_axe(page)
    options: dict[str, Any] = {"runOnly": {"type": "tag", "values": WCAG_TAGS}}
    rules = {rule: {"enabled": False} for rule in disabled_rules}
    if rules:
        options["rules"] = rules
    violations: list[dict[str, Any]] = page.evaluate(
        _RUN_AXE, {"options": options, "include": include}
    )
    return violations


def format_violations(violations: list[dict[str, Any]], url: str) -> str:
    lines = [f"axe-core found {len(violations)} serious/critical WCAG violation(s) on {url}:"]
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        lines.append(f"  {violation['helpUrl']}")
        for node in violation["nodes"][:10]:
            summary = _one_line(node["summary"])
            lines.append(f"    at {node['target']}: {summary}")
        if len(violation["nodes"]) > 10:
            lines.append(f"    ... and {len(violation['nodes']) - 10} more elements")
    return "\n".join(lines)


def _one_line(failure_summary: str) -> str:
    """axe's "Fix any of the following:" heading, then its alternatives separated by |."""
    lines = [line.strip() for line in failure_summary.splitlines() if line.strip()]
    if len(lines) <= 1:
        return "".join(lines)
    return f"{lines[0]} {' | '.join(lines[1:])}"


def axe_check(
    page: Page,
    *,
    include: list[str] | None = None,
    disabled_rules: Iterable[str] = (),
    impacts: Iterable[str] = BLOCKING_IMPACTS,
) -> list[dict[str, Any]]:
    """Fail on any serious or critical WCAG 2.1 A/AA violation; return all violations found."""
    violations = axe_violations(page, include=include, disabled_rules=disabled_rules)
    blocking = [v for v in violations if v["impact"] in set(impacts)]
    assert not blocking, format_violations(blocking, page.url)
    return violations
