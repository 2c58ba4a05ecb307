"""A member story carries no member name, id, birth date or phone number (seed 002 JOC template:
"Keep the member's identity anonymous")."""

from datetime import date

from socialcare.joc.rules import check_member_story

MEMBER = dict(first_name="Rosa", last_name="Delgado", member_id="M0004521", birth_date=date(1958, 3, 14),
              phone="716-555-0142")


def kinds(story):
    return sorted({f.kind for f in check_member_story(story, **MEMBER)})


def test_clean_story_passes():
    story = ("Ms. R, a grandmother in her sixties, was discharged last spring after a fall. Our CHW reached "
             "her within a day; two weeks of meals and a ride to her follow-up visit kept her home.")
    assert check_member_story(story, **MEMBER) == []


def test_each_identifier_is_caught():
    assert kinds("Rosa was helped.") == ["name"]
    assert kinds("Mrs. Delgado was helped.") == ["name"]
    assert kinds("Member M0004521 got meals.") == ["member_id"]
    assert kinds("Born 3/14/1958, she lives alone.") == ["birth_date"]
    assert kinds("Born March 14, 1958, she lives alone.") == ["birth_date"]
    assert kinds("Call her at (716) 555-0142.") == ["phone"]


def test_generic_identifiers_are_caught_even_when_not_hers():
    assert "phone" in kinds("Her daughter's number is 212.555.0199.")
    assert "date" in kinds("Admitted on 2026-02-03 for pneumonia.")
    assert "identifier" in kinds("MRN A99812 at the hospital.")


def test_name_inside_another_word_is_not_a_hit():
    assert check_member_story("Rosalind Franklin Hall hosted the class.", **MEMBER) == []
