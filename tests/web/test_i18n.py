"""Spanish first: the CBO worker's screens and the member-facing screening render fully in Spanish.
Fails on any text in those templates left outside gettext, and on any message (template text or a
label shown through ``_()``: statuses, steps, channels, screening questions and answers) without a
Spanish translation in the committed catalogue."""

from __future__ import annotations

import re

from sqlalchemy import update

from socialcare.referrals import service as svc
from socialcare.security.models import User
from socialcare.web import i18n_catalog, localization
from tests.web.fixtures import csrf_from

# words that are the same in every language: product and code names, units of codes
ALLOWED = {"socialcare", "CBO", "HTMX", "GQ", "Rivera", "T1016", "Z59", "UTC"}
ATTR_RE = re.compile(r'\b(placeholder|aria-label|title|data-confirm|alt|hx-confirm)="([^"]*)"')


def _bare_text(template: str) -> list[str]:
    t = re.sub(r"{%-?\s*trans\b.*?{%-?\s*endtrans\s*-?%}", " ", template, flags=re.S)
    t = re.sub(r"{#.*?#}", " ", t, flags=re.S)
    attrs = [v for _k, v in ATTR_RE.findall(t)]
    t = re.sub(r"{{.*?}}", " ", t, flags=re.S)
    t = re.sub(r"{%.*?%}", " ", t, flags=re.S)
    t = re.sub(r"<(script|style)\b.*?</\1>", " ", t, flags=re.S)
    t = re.sub(r"<[^>]*>", " ", t)
    found = []
    for chunk in [t] + [re.sub(r"{{.*?}}|{%.*?%}", " ", a) for a in attrs]:
        for word in re.findall(r"[A-Za-z][A-Za-z'’]+", chunk):
            if word not in ALLOWED:
                found.append(word)
    return found


def test_every_covered_template_has_no_text_outside_gettext():
    for name in i18n_catalog.COVERED_TEMPLATES:
        text = (i18n_catalog.TEMPLATES / name).read_text()
        assert _bare_text(text) == [], f"{name}: untranslatable text {_bare_text(text)[:10]}"


def test_every_message_has_spanish():
    lack = i18n_catalog.missing("es")
    assert lack == {}, "no Spanish for: " + "; ".join(f"{w}: {m}" for m, w in list(lack.items())[:20])


def test_catalogue_compiles_on_the_fly_and_formats():
    localization.translations.cache_clear()
    with localization.use("es"):
        assert localization.gettext("Worklist") == "Lista de trabajo"
        assert localization.gettext("%(label)s: saved.") % {"label": "Aceptar"} == "Aceptar: guardado."
    assert localization.language_code("Spanish") == "es" and localization.language_code("español") == "es"
    assert localization.language_name("so") == "Somali" and localization.language_name("ne") == "Nepali"


def test_cbo_worker_day_renders_in_spanish(db, client_factory, world):
    w = world
    db.execute(update(User).where(User.id == w.users["cbo"].user_id).values(language="es"))
    ref, _ = svc.create_referral(db, w.users["staff_a"], svc.NewReferral(
        member_id=w.members_a[0].id, need_domain="food", owner_org_id=w.cbo.id, consent_scope="referral"))
    cbo = client_factory("cbo_staff")
    pages = {
        "/referrals": ["Lista de trabajo", "Solicitada", "Aceptar", "Ordenar por"],
        f"/referrals/{ref.id}": ["Siguiente paso", "Plazos", "Historial", "Consentimiento para compartir"],
        "/delivery/services/new": ["Registrar un servicio", "Fecha de prestación", "Unidades"],
        "/delivery/services": ["Servicios prestados"],
        "/notifications": ["Bandeja de entrada", f"Nueva remisión de alimentos #{ref.id}"],
        "/settings": ["zona horaria", "Resumen diario"],
        "/": ["Su punto de partida", "Notificaciones nuevas"],
    }
    for path, expected in pages.items():
        r = cbo.get(path)
        assert r.status_code == 200, (path, r.status_code)
        assert '<html lang="es">' in r.text
        for text in expected:
            assert text in r.text, (path, text)
    # a step from the worklist answers in Spanish too
    page = cbo.get("/referrals")
    r = cbo.post(f"/referrals/{ref.id}/act", data={"action": "accept", "version": ref.version, "row": "1",
                                                   "csrf_token": csrf_from(page.text)}, headers={"HX-Request": "true"})
    assert "Aceptar: guardado." in r.text and "Aceptada" in r.text


def test_screening_is_offered_in_the_members_language(db, client_factory, world):
    w = world
    member = w.members_a[0]  # prefers Spanish (factories)
    staff = client_factory("staff_a")
    r = staff.get(f"/screening/new?member_id={member.id}")
    assert r.status_code == 200 and 'lang="es"' in r.text
    for text in ("¿Cuál es su situación de vivienda hoy?", "Tengo un lugar estable donde vivir",
                 "Con frecuencia es cierto", "El miembro prefirió no responder", "Guardar la evaluación"):
        assert text in r.text
    assert "96777-8" not in r.text and "71802-3)" not in r.text  # no LOINC codes on the questions
    hvs = staff.get(f"/screening/new?member_id={member.id}&instrument=hunger_vital_sign")
    assert "los alimentos que compramos no duraron lo suficiente" in hvs.text
    english = staff.get(f"/screening/new?member_id={member.id}&language=en")
    assert "What is your living situation today?" in english.text
