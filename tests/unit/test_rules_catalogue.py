"""The rules catalogue (docs/rules.md) is current, and its matcher takes only real citations."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from passend_devstack import rules
from passend_devstack.rules import Citation, scan


def cited(source: str, *, test: bool = False) -> set[tuple[str, str]]:
    """(tag, scope) of every citation in a sample module."""
    found = scan(textwrap.dedent(source), "sample.py", test=test)
    return {(c.tag, c.scope) for c in found.tags}


def tags(source: str, *, test: bool = False) -> set[str]:
    return {tag for tag, _ in cited(source, test=test)}


def test_the_committed_catalogue_is_current():
    problems = rules.check()
    assert not problems, "\n".join(problems)


def test_w2_is_found_but_not_inside_w21():
    assert tags('"""W21: every trajectory is evaluated."""\n# W2x, xW2, SW2 and W2_a') == {"W21"}
    assert tags('"""W2: the request is the starting point; so is W21."""') == {"W2", "W21"}
    assert tags('rule = "W21"') == {"W21"}


def test_a_range_cites_its_two_ends_only():
    assert tags('"""W24-W26: a withdrawn request leaves the inbox."""') == {"W24", "W26"}


def test_single_letter_tags_are_taken_in_rule_positions():
    source = '''
        """Care levels, the OPP and the TLV (S)."""


        def care_level():
            """S: an evaluation scales the care level."""


        def director():
            raise Refusal.conflict("R", "already directs the case")


        def old_style():
            raise RuleViolation("B", "what was tried")


        def with_kind():
            raise Refusal(RefusalKind.CONFLICT, "C", "roles")


        def listed():
            """Routing and claim (W24, W25, R)."""


        def leading_list():
            """W21, S: evaluations due."""


        # B: what the school already tried.
        def commented():
            pass


        def keyword():
            return Rule("x", tag="R")


        def detail():
            return {"rule": "S", "message": "no OPP on record"}


        def regie():
            """Who leads the case (regiehouder, R)."""


        def levels():
            """What the school tried (B, S 1-2)."""


        def helper(value, rule):
            pass


        def calls_helper():
            helper("x", "B")


        RULES_NL = {"W10": "toestemming", "R": "route"}
    '''
    assert cited(source) == {
        ("S", "(module)"),
        ("S", "care_level"),
        ("R", "director"),
        ("B", "old_style"),
        ("C", "with_kind"),
        ("W24", "listed"),
        ("W25", "listed"),
        ("R", "listed"),
        ("W21", "leading_list"),
        ("S", "leading_list"),
        ("B", "commented"),
        ("R", "keyword"),
        ("S", "detail"),
        ("R", "regie"),
        ("B", "levels"),
        ("S", "levels"),
        ("B", "calls_helper"),
        ("W10", "RULES_NL"),
        ("R", "RULES_NL"),
    }


def test_single_letter_tags_are_never_taken_from_words_or_variables():
    source = '''
        """Route, Sessions and Claims: R and S are letters here (see R), and so is C."""

        import struct
        from typing import TypeVar

        S = TypeVar("S")
        C = TypeVar("C")
        R = 3
        B: int = 4


        def decide(state: S, command: C) -> S:
            """Decides; returns S. Pairs (A, B) and (x, R) are no tag lists; nor is C:\\\\path."""
            flipped = "A" if state else "B"
            name = ParentContact(name="B")
            packed = struct.pack("B", 1)
            # Plan B: in a comment, B is a word (as in "plan B"); R&D, S-curve, C-level.
            return {"name": "S", "grade": "R"}, ("B", "C"), flipped, name, packed
    '''
    assert tags(source) == set()


def test_tests_cite_by_name_by_parametrize_and_by_comparing_the_rule():
    source = """
        @pytest.mark.parametrize(("field", "rule"), [("why_stuck", "W4"), ("tried", "B")])
        def test_blank_text_names_the_rule(field, rule):
            pass


        def test_w25_w10_claim_and_consent_reach_the_trajectory():
            pass


        def test_s_level_4_without_an_opp_is_refused(refused):
            assert refused.value.rule == "S"
            assert answer["detail"]["rule"] == "R"


        def test_wx_and_w2a_are_not_tags():
            pass
    """
    assert cited(source, test=True) == {
        ("W4", "test_blank_text_names_the_rule"),
        ("B", "test_blank_text_names_the_rule"),
        ("W25", "test_w25_w10_claim_and_consent_reach_the_trajectory"),
        ("W10", "test_w25_w10_claim_and_consent_reach_the_trajectory"),
        ("S", "test_s_level_4_without_an_opp_is_refused"),
        ("R", "test_s_level_4_without_an_opp_is_refused"),
    }


def test_a_citation_belongs_to_its_method_or_the_definition_just_below_its_comment():
    source = '''
        class Router:
            """W24: routing."""

            @staticmethod
            def claim():
                """W25: the receiving worker stays responsible."""

                def inner():
                    # W26: contact within a working week.
                    pass


        # W29: the route coach.

        def unrelated():
            pass
    '''
    assert cited(source) == {
        ("W24", "Router"),
        ("W25", "Router.claim"),
        ("W26", "Router.claim.inner"),
        ("W29", "(module)"),
    }


def test_technical_refusals_are_no_tags():
    found = scan(
        'def key_reused():\n    raise Refusal.invalid("idempotency", "key reused")\n', "x.py"
    )
    assert found.tags == []
    assert found.technical == [Citation("idempotency", "x.py", 2, "key_reused")]


def test_an_undefined_tag_in_a_source_is_reported_with_its_file_and_line(tmp_path: Path):
    module = tmp_path / "services/sample/passend_sample/domain.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        '"""A sample service."""\n\n\n'
        "def decide():\n"
        '    """W10: consent first."""\n'
        '    raise Refusal.conflict("W32", "no such agreement")\n'
        "# W99: nor this one\n",
        encoding="utf-8",
    )
    design = rules.design_dir()
    catalogue = rules.collect(tmp_path, design)
    problems = rules.undefined_problems(catalogue)
    assert len(problems) == 2
    assert problems[0].startswith("services/sample/passend_sample/domain.py:6: cites W32")
    assert problems[1].startswith("services/sample/passend_sample/domain.py:7: cites W99")
    assert [c.tag for c in catalogue.code["W10"]] == ["W10"]
    assert rules.check(tmp_path, design) == problems


def test_a_stale_catalogue_is_reported_with_the_command_to_run(tmp_path: Path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs/rules.md").write_text("# Old\n", encoding="utf-8")
    problems = rules.check(tmp_path, rules.design_dir())
    assert problems[0] == (
        "docs/rules.md is stale: run `python -m passend_devstack.rules` and commit the result"
    )


def test_check_on_the_command_line_exits_1_naming_the_stale_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("PASSEND_DESIGN_DIR", str(rules.design_dir()))
    monkeypatch.setattr(rules, "ROOT", tmp_path)
    (tmp_path / "services").mkdir()
    assert rules.main(["--check"]) == 1
    assert "docs/rules.md is missing" in capsys.readouterr().err
    assert rules.main([]) == 0
    assert (tmp_path / "docs/rules.md").read_text(encoding="utf-8").startswith("# Passend rules")
    assert rules.main(["--check"]) == 0


def test_the_werkwijzer_agreements_and_quoted_sentences_come_from_the_seeds():
    loaded = rules.load_rules(rules.design_dir())
    assert list(loaded)[:3] == ["W1", "W2", "W3"]
    assert list(loaded)[31:] == ["B", "S", "R", "TNO", "C"]
    assert loaded["W26"].quote == (
        "Binnen een (werk)week wordt de intern begeleider benaderd door de "
        "onderwijsondersteuner die de vraag oppakt."
    )
    assert loaded["W26"].place.endswith("agreement 26")
    assert "ondersteuningsteam weten wat het besluit is" in loaded["TNO"].quote


def test_a_quoted_sentence_missing_from_its_seed_fails_loudly(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(rules.QUOTES, "S", "Deze zin staat niet in het profiel.")
    with pytest.raises(rules.CatalogueError, match="does not occur in seed 002_"):
        rules.load_rules(rules.design_dir())
