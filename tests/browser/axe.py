"""Accessibility and layout checks the browser tests run on every page they visit: axe-core
(vendored in tests/fixtures/axe-core, injected by Playwright; the page context bypasses the CSP
for that one script) with zero serious or critical violations, and no horizontal scrolling."""

from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).resolve().parent.parent / "fixtures" / "axe-core" / "axe.min.js"

_RUN = """async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
}"""


def serious_violations(page) -> list[str]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate(_RUN)


def horizontal_overflow(page) -> tuple[int, int]:
    """(scrollWidth, innerWidth) of the page."""
    return page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")


def check_page(page, label: str = "") -> list[str]:
    """Problems on the page as it is now: sideways scrolling and serious/critical axe findings."""
    problems = []
    scroll, inner = horizontal_overflow(page)
    if scroll > inner:
        problems.append(f"{label or page.url}: scrollWidth {scroll} > innerWidth {inner}")
    problems += [f"{label or page.url}: {v}" for v in serious_violations(page)]
    return problems
