"""Dutch templates render, and an SWV's wording can't ask for data its message may not carry."""

from __future__ import annotations

import pytest

from passend_notifications.domain.templates import (
    COMMON,
    DEFAULTS,
    MessageTemplate,
    TemplateError,
    render,
    validate,
)

VALUES = {
    "zaak": "3F2C8A4E",
    "datum": "27 november 2026",
    "termijn": "4 december 2026",
    "aanhef": "Beste Anna,",
    "link": "https://passend.example/zaken/1",
    "persoonlijke_link": "https://passend.example/toestemming/abc",
    "gemeente": "Schiedam",
    "redenen": "wachtlijst",
    "uitkomst": "de ondersteuning gaat door",
    "onderwerp": "de aanpak in de klas",
    "school": "De Havenmeester",
    "kind": "Noor",
    "geldig_tot": "4 december 2026, 09:30",
}


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_every_default_renders_in_dutch_with_only_its_placeholders(name: str) -> None:
    template = DEFAULTS[name]
    validate(name, template.subject, template.body)
    rendered = render(template, VALUES)
    assert "$" not in rendered.subject + rendered.body
    assert "Met vriendelijke groet" in rendered.body
    assert "\n" not in rendered.subject


def test_claimed_message_tells_the_ib_about_the_one_week_contact_w26() -> None:
    rendered = render(DEFAULTS["zaak_geclaimd"], VALUES)
    assert rendered.subject == "Hulpvraag 3F2C8A4E is opgepakt"
    assert "Binnen één werkweek" in rendered.body
    assert rendered.body.startswith("Beste Anna,")


def test_w10_the_consent_mail_names_school_child_and_link_and_says_what_is_asked() -> None:
    rendered = render(DEFAULTS["toestemming_gevraagd"], VALUES)
    assert rendered.body.startswith("Beste Anna,")
    assert "De Havenmeester vraagt uw toestemming voor individuele begeleiding van Noor" in (
        rendered.body
    )
    assert "https://passend.example/toestemming/abc" in rendered.body
    assert "werkt één keer en is geldig tot 4 december 2026, 09:30" in rendered.body
    assert "intrekken" in rendered.body
    # No more of the child than the first name: no case reference, no dossier link.
    assert "3F2C8A4E" not in rendered.subject + rendered.body
    assert "passend.example/zaken" not in rendered.body


def test_w10_the_confirmation_carries_the_link_to_withdraw() -> None:
    rendered = render(DEFAULTS["toestemming_gegeven"], VALUES)
    assert "Noor" in rendered.subject
    assert "intrekken" in rendered.body
    assert "https://passend.example/toestemming/abc" in rendered.body


def test_a_staff_message_may_not_carry_the_childs_name() -> None:
    with pytest.raises(TemplateError, match="kind"):
        validate("zaak_geclaimd", "Hulpvraag $zaak", "Over $kind")


def test_an_override_asking_for_pupil_data_is_refused() -> None:
    with pytest.raises(TemplateError, match="pupil_ref"):
        validate("zaak_geclaimd", "Hulpvraag $zaak", "Over leerling $pupil_ref")


def test_a_parent_message_may_not_carry_team_no_facts() -> None:
    with pytest.raises(TemplateError, match="redenen"):
        validate("traject_gestart", "Start", "Redenen: $redenen")


def test_malformed_placeholders_and_multi_line_subjects_are_refused() -> None:
    with pytest.raises(TemplateError, match="malformed"):
        validate("zaak_geclaimd", "Hulpvraag $", "tekst")
    with pytest.raises(TemplateError, match="one line"):
        validate("zaak_geclaimd", "Hulpvraag\nBcc: x@y.z", "tekst")
    with pytest.raises(TemplateError, match="unknown template"):
        validate("bestaat_niet", "a", "b")


def test_render_offers_a_template_only_its_allowed_values() -> None:
    sneaky = MessageTemplate("x", "$zaak", "$gemeente")  # not declared: gemeente
    assert "gemeente" not in COMMON
    with pytest.raises(TemplateError, match="gemeente"):
        render(sneaky, VALUES)
