"""Print: a referral and a member's care summary each print on one or two clean pages (the print
stylesheet drops navigation and forms)."""

from __future__ import annotations

import io

import pypdfium2
import pytest

from tests.browser.test_browser import sign_in

pytestmark = pytest.mark.browser


def _pages(pdf: bytes) -> tuple[int, str]:
    doc = pypdfium2.PdfDocument(io.BytesIO(pdf))
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    return len(doc), text


def test_referral_and_care_summary_print_on_one_or_two_pages(page, demo_logins):
    sign_in(page, demo_logins, "plan_staff")
    page.goto("/referrals?status=completed")
    href = page.locator("#referrals a[href^='/referrals/']").first.get_attribute("href")
    page.goto(href)
    count, text = _pages(page.pdf(format="Letter"))
    assert 1 <= count <= 2, count
    assert "Timeline" in text and "Sign out" not in text and "Next step" not in text
    member = page.locator("a[href^='/members/']").first.get_attribute("href")
    page.goto(member)
    count, text = _pages(page.pdf(format="Letter"))
    assert 1 <= count <= 2, count
    assert "Sign out" not in text
