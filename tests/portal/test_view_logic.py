"""The portal's own logic: refusals in Dutch, the signed session, charts, form to command."""

from __future__ import annotations

from datetime import date

from passend_portal import commands, labels
from passend_portal.charts import bar_chart
from passend_portal.clients import ServiceDown, ServiceError
from passend_portal.messages import explain, field_name
from passend_portal.routes_ib import request_body
from passend_portal.routes_worker import this_week
from passend_portal.session import Session, decode, encode
from passend_portal.web import Form

SECRET = b"s" * 32


def test_a_location_becomes_the_form_fields_name() -> None:
    assert field_name(["body", "pupil", "parents", 0, "email"]) == "pupil.parents.0.email"
    assert field_name(["query", "as_of"]) == "as_of"


def test_a_rule_refusal_without_a_field_becomes_the_general_message_W10() -> None:
    problem = explain(ServiceError("trajectory", 409, {"rule": "W10", "message": "consent"}))
    assert problem.general is not None and "toestemming van de ouders" in problem.general
    assert problem.fields == {}
    assert problem.technical == "W10: consent"


def test_a_rule_naming_a_group_lands_on_its_first_field_W10() -> None:
    detail = {
        "rule": "W10",
        "field": "pupil.parents.0",
        "message": "a parent needs an email address or a phone number: ...",
    }
    known = frozenset({"pupil.parents.0.email", "pupil.parents.0.phone"})
    problem = explain(ServiceError("intake", 422, detail), known)
    assert list(problem.fields) == ["pupil.parents.0.email"]
    assert "e-mailadres of telefoonnummer" in problem.fields["pupil.parents.0.email"]


def test_schema_errors_of_unknown_fields_are_not_lost() -> None:
    detail = [{"type": "missing", "loc": ["body", "secret"], "msg": "Field required"}]
    problem = explain(ServiceError("intake", 422, detail), frozenset({"why_stuck"}))
    assert problem.general == "Niet alle gegevens zijn goed ingevuld."
    assert problem.fields == {}


def test_not_found_and_forbidden_say_so_whatever_the_rule() -> None:
    assert "niet gevonden" in str(explain(ServiceError("intake", 404, {"rule": "W3"})).general)
    assert "in uw rol" in str(explain(ServiceError("intake", 403, {"message": "x"})).general)


def test_a_service_down_is_named_in_dutch() -> None:
    assert explain(ServiceDown("trajectory")).general == (
        "De dienst Trajecten is nu niet bereikbaar. Probeer het over een paar minuten opnieuw."
    )


def test_the_session_survives_the_round_trip_and_nothing_else() -> None:
    session = Session(token="t", subject="ib-1", role="ib", swv="swv-1", started=1000.0)
    value = encode(session, SECRET)
    assert decode(value, SECRET, now=1001.0) == session
    assert decode(value, b"o" * 32, now=1001.0) is None
    assert decode(value.replace(".", "x.", 1), SECRET, now=1001.0) is None
    assert decode(value, SECRET, now=1000.0 + 9 * 3600) is None
    assert decode(None, SECRET) is None


def test_a_chart_has_a_title_a_bar_per_value_and_escapes_its_labels() -> None:
    svg = str(bar_chart("Per <reden>", [("Wachtlijst", 2), ("<b>", 1)], unit="keer"))
    assert 'role="img"' in svg and "<title" in svg and "Per &lt;reden&gt;" in svg
    assert svg.count("<rect") == 2
    assert "&lt;b&gt;" in svg and "<b>" not in svg
    assert "2 keer" in svg


def test_an_empty_chart_says_there_is_nothing_yet() -> None:
    assert "Nog geen gegevens" in str(bar_chart("Leeg", []))


def test_the_plan_form_leaves_empty_goal_rows_out_W15() -> None:
    form = Form(
        {
            "goals.0.description": ["Leest"],
            "goals.0.measure": ["AVI"],
            "goals.0.target_date": ["2027-01-01"],
            "goals.1.description": [""],
            "school_participants": ["ib-1, lk-2;lk-3"],
            "duration_weeks": ["12"],
        }
    )
    body = commands.plan(form)
    assert [g["goal_id"] for g in body["goals"]] == ["doel-1"]
    assert body["school_participants"] == ["ib-1", "lk-2", "lk-3"]


def test_first_contact_is_sent_with_the_dutch_offset_W26() -> None:
    body = commands.first_contact(
        Form({"contacted_on": ["2027-01-15"], "contacted_time": ["09:30"]})
    )
    assert body == {"contacted_at": "2027-01-15T09:30:00+01:00"}


def test_this_week_is_overdue_and_the_next_seven_days_W21() -> None:
    due = [
        {"case_id": "a", "due_on": "2027-01-01"},
        {"case_id": "b", "due_on": "2027-01-20"},
        {"case_id": "c", "due_on": "2027-01-12"},
    ]
    assert [d["case_id"] for d in this_week(due, date(2027, 1, 10))] == ["a", "c"]


def test_dutch_dates_hours_and_event_names() -> None:
    assert labels.nl_date("2026-09-14") == "14 september 2026"
    assert labels.nl_datetime("2026-09-14T08:30:00+00:00") == "14 september 2026, 10:30"
    assert labels.hours(1.5) == "1,5" and labels.hours(1.0) == "1"
    assert labels.event_name("nl.passend.intake.RequestSubmitted.v1") == "Aanvraag ingediend"


def test_the_portal_numbers_the_parents_not_the_schools_records() -> None:
    """Issue 20: a parent's number from the school's records would link the case to them
    after an erasure; the portal numbers the parents of the form itself."""
    form = Form(
        {
            "pupil.parents.0.name": [""],
            "pupil.parents.1.name": ["J. de Boer"],
            "pupil.parents.1.email": ["j.deboer@example.nl"],
            "pupil.parents.1.parent_ref": ["LAS-88213"],  # sent anyway: not taken
        }
    )
    [parent] = request_body(form, "brin-11aa")["pupil"]["parents"]
    assert parent == {
        "parent_ref": "ouder-1",
        "name": "J. de Boer",
        "email": "j.deboer@example.nl",
        "phone": None,
    }
