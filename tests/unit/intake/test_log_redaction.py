"""A consent link's token, a searched text and a school's reference of a pupil never reach
the access log; other paths pass unchanged."""

from __future__ import annotations

import logging

import pytest

from passend_intake.log_redaction import RedactConsentTokens, install


def access_record(path: str) -> logging.LogRecord:
    return logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", path, "1.1", 201),
        None,
    )


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/consent/abcDEF123_-xyz", "/consent/[token]"),
        ("/consent/abcDEF123_-xyz/confirm", "/consent/[token]/confirm"),
        ("/consent/abc?x=1", "/consent/[token]?x=1"),
        ("/requests/42/consent", "/requests/42/consent"),
        # A search may be by the pupil's name: the text never reaches the log.
        ("/requests?find=Sem%20de%20Boer", "/requests?find=[redacted]"),
        ("/requests?case_ids=a&find=Sem&x=1", "/requests?case_ids=a&find=[redacted]&x=1"),
        # Issue 20: a school's reference of a pupil links to the school's records.
        ("/privacy/pupils/ll-2024-0193", "/privacy/pupils/[redacted]"),
        ("/privacy/pupils/ll-2024-0193/erasure", "/privacy/pupils/[redacted]/erasure"),
        (
            "/internal/schools/brin-1/pupils?ref=ll-1&ref=ll-2",
            "/internal/schools/brin-1/pupils?ref=[redacted]&ref=[redacted]",
        ),
    ],
)
def test_tokens_are_redacted(path: str, logged: str) -> None:
    record = access_record(path)
    assert RedactConsentTokens().filter(record)
    assert record.getMessage() == f'127.0.0.1:5000 - "POST {logged} HTTP/1.1" 201'


def test_installed_once() -> None:
    install()
    install()
    filters = logging.getLogger("uvicorn.access").filters
    assert sum(isinstance(f, RedactConsentTokens) for f in filters) == 1
