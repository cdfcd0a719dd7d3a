"""Names instead of ids on every screen: people, schools and work units from the directory.

The services answer with ids (``ow-anouk``, ``brin-11aa``, ``wu-vlaardingen``); people
expect names. The directory (assignment) has them: ``GET /directory/names`` for people
and ``GET /directory`` for schools and work units. The portal keeps what it learned per
SWV for a few minutes, so a page costs at most one lookup of the names it had not seen.

A page is rendered once to learn which names it shows (the template filters note every
id they were asked for), the missing ones are looked up, and the page is rendered again
with them (:class:`Page`). Python code that needs names (a chart's labels) asks
:meth:`DirectoryNames.people` directly.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import jinja2
from starlette.responses import HTMLResponse
from starlette.types import Receive, Scope, Send

from passend_portal import labels
from passend_portal.clients import ServiceDown, ServiceError, Services
from passend_portal.session import Session

log = logging.getLogger("passend_portal.names")
# How long a learned name is used before it is asked again (a renamed school shows
# within this long).
KEEP_SECONDS = 300
# The directory answers at most this many ids at once (assignment's api_people).
MAX_PER_LOOKUP = 200
# Who is shown for what no person did: the services' own steps, and parents by link.
SYSTEM = "Passend (automatisch)"
PARENT = "een ouder (via de persoonlijke link)"
UNKNOWN_PERSON = "iemand die niet (meer) in de lijst van het samenwerkingsverband staat"
UNKNOWN_SCHOOL = "een school die niet (meer) in de lijst van het samenwerkingsverband staat"
UNKNOWN_UNIT = "een werkeenheid die niet (meer) bestaat"


@dataclass
class Known:
    """What the portal learned of one SWV's directory; ``None``: the directory doesn't know."""

    people: dict[str, tuple[str | None, float]] = field(default_factory=dict)
    schools: dict[str, str] = field(default_factory=dict)
    # The municipality (CBS code) of each school: the directory's SchoolRegistered.
    school_municipalities: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    areas: dict[str, str] = field(default_factory=dict)
    swv: dict[str, str] = field(default_factory=dict)
    directory_at: float = 0.0

    def person(self, person_id: str, now: float) -> tuple[bool, str | None]:
        """(known, name) of ``person_id``: not known when never asked or asked too long ago."""
        entry = self.people.get(person_id)
        if entry is None or now - entry[1] > KEEP_SECONDS:
            return False, None
        return True, entry[0]

    def directory_fresh(self, now: float) -> bool:
        return now - self.directory_at <= KEEP_SECONDS


class DirectoryNames:
    """The directory's names per SWV, as the signed-in person may ask for them."""

    def __init__(self, services: Services, clock: Callable[[], float] = time.monotonic) -> None:
        self.services = services
        self.clock = clock
        self.known: dict[str, Known] = {}

    def of(self, swv: str) -> Known:
        return self.known.setdefault(swv, Known())

    async def learn(self, session: Session, people: Iterable[str], directory: bool) -> bool:
        """Ask the directory for ``people`` (and the schools and work units when
        ``directory``); False when it did not answer (the page then shows what it has)."""
        known = self.of(session.swv)
        now = self.clock()
        wanted = sorted({p for p in people if not known.person(p, now)[0]})
        try:
            for start in range(0, len(wanted), MAX_PER_LOOKUP):
                batch = wanted[start : start + MAX_PER_LOOKUP]
                answer = await self.services.get(
                    "assignment",
                    "/directory/names",
                    token=session.token,
                    params={"ids": ",".join(batch)},
                )
                found = answer if isinstance(answer, dict) else {}
                for person_id in batch:
                    name = found.get(person_id)
                    known.people[person_id] = (str(name) if name else None, now)
            if directory and not known.directory_fresh(now):
                answer = await self.services.get("assignment", "/directory", token=session.token)
                schools = answer.get("schools", [])
                known.schools = {str(s["school_id"]): str(s["name"]) for s in schools}
                known.school_municipalities = {
                    str(s["school_id"]): str(s["municipality"])
                    for s in schools
                    if s.get("municipality")
                }
                known.units = {
                    str(u["work_unit_id"]): str(u["name"]) for u in answer.get("work_units", [])
                }
                settings = answer.get("settings") or {}
                if settings.get("swv_id") and settings.get("name"):
                    known.swv = {str(settings["swv_id"]): str(settings["name"])}
                areas = settings.get("expertise_areas") or []
                known.areas = {str(a["area_id"]): str(a["label"]) for a in areas if a.get("label")}
                known.directory_at = now
        except (ServiceError, ServiceDown, KeyError, TypeError, AttributeError) as exc:
            # The page still shows (also when an answer is not what was expected); the
            # names it lacks say they are unknown for now.
            log.warning("directory_names_unavailable reason=%s", type(exc).__name__)
            return False
        return True

    async def lookup(self, session: Session, people: Iterable[str]) -> Lookup:
        """Names of ``people`` and of the directory's schools and work units, for Python
        code that writes names itself (a CSV export)."""
        await self.learn(session, [p for p in people if p], directory=True)
        return Lookup(self.of(session.swv), self.clock(), complete=True)

    async def school_municipalities(self, session: Session) -> dict[str, str]:
        """``{school id: CBS code}`` of the SWV's schools, from the directory (the one place
        a school's municipality is kept); empty when the directory did not answer."""
        await self.learn(session, [], directory=True)
        return dict(self.of(session.swv).school_municipalities)

    async def people(self, session: Session, ids: Iterable[str]) -> dict[str, str]:
        """``{id: name}`` for Python code that writes names itself (a chart's labels)."""
        wanted = [i for i in ids if i]
        await self.learn(session, wanted, directory=False)
        lookup = Lookup(self.of(session.swv), self.clock(), complete=True)
        return {i: lookup.person(i) for i in wanted}


class Lookup:
    """The names a page shows, noting every id it had to leave unnamed (for a second pass)."""

    def __init__(self, known: Known | None, now: float, *, complete: bool) -> None:
        self.known = known or Known()
        self.now = now
        # After the lookup: an id still unknown is unknown to the directory.
        self.complete = complete
        self.missing_people: set[str] = set()
        self.needs_directory = False

    @property
    def missing(self) -> bool:
        return bool(self.missing_people) or self.needs_directory

    def person(self, person_id: object, unknown: str = UNKNOWN_PERSON) -> str:
        """The name of ``person_id``; ``unknown`` when the directory doesn't know them."""
        if person_id is None or person_id == "":
            return "–"
        text = str(person_id)
        if text.startswith("service:"):
            return SYSTEM
        if text.startswith("parent:"):
            return PARENT
        known, name = self.known.person(text, self.now)
        if name:
            return name
        if not known:
            self.missing_people.add(text)
        return unknown if self.complete or known else "…"

    def school(self, school_id: object) -> str:
        if school_id is None or school_id == "":
            return "–"
        name = self.known.schools.get(str(school_id))
        if name:
            return name
        if not self.known.directory_fresh(self.now):
            self.needs_directory = True
        return UNKNOWN_SCHOOL if self.complete else "…"

    def unit(self, unit_id: object) -> str:
        if unit_id is None or unit_id == "":
            return "–"
        name = self.known.units.get(str(unit_id))
        if name:
            return name
        if not self.known.directory_fresh(self.now):
            self.needs_directory = True
        return UNKNOWN_UNIT if self.complete else "…"

    def people(self, ids: Iterable[object]) -> str:
        """``"Anouk Jansen, Marieke de Vries"``."""
        return ", ".join(self.person(i) for i in ids)

    def area(self, area_id: object) -> str:
        """An expertise area by the SWV's own label, else the portal's (labels.EXPERTISE)."""
        if area_id is None or area_id == "":
            return "–"
        text = str(area_id)
        name = self.known.areas.get(text)
        if name:
            return name
        if text not in labels.EXPERTISE and not self.known.directory_fresh(self.now):
            self.needs_directory = True
        return labels.label(labels.EXPERTISE, text)

    def areas(self, ids: Iterable[object]) -> str:
        return ", ".join(self.area(i) for i in ids)

    def text(self, value: object) -> str:
        """A service's free text (an audit description) in a school's words: ids become
        names, codes words, ISO moments Dutch dates, a case's UUID its short number."""
        if value is None:
            return ""
        words = str(value)
        words = _UUID.sub(lambda m: m.group(0)[:8], words)
        words = _MOMENT.sub(lambda m: labels.nl_datetime(m.group(0)), words)
        words = _DAY.sub(lambda m: labels.nl_date(m.group(0)), words)
        words = _WORD.sub(lambda m: _CODES[m.group(0)], words)
        words = _CODE.sub(lambda m: labels.label(_CODES, m.group(0)), words)
        words = _DECIMAL.sub(lambda m: labels.number(m.group(0)), words)
        return _ID.sub(self._named, words)

    def _named(self, found: re.Match[str]) -> str:
        token = found.group(0)
        for table in (self.known.schools, self.known.units, self.known.swv):
            if token in table:
                return table[token]
        if not self.known.directory_fresh(self.now):
            self.needs_directory = True
        known, name = self.known.person(token, self.now)
        if name:
            return name
        if not known:
            self.missing_people.add(token)
        # Not a person, school or unit of the directory (a pupil's reference): as it is.
        return token


_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_MOMENT = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?")
_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_CODE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")
_ID = re.compile(r"\b[a-z][a-z0-9]*(?:-[a-z0-9]+)+\b")
_DECIMAL = re.compile(r"(?<![\w.])\d+\.\d+(?![\w.])")
_CODES = labels.all_codes()
# The services' one-word codes in a sentence (``uitkomst escalate``, ``: confirmed``).
_WORD = re.compile(
    r"(?<![\w-])(?:"
    + "|".join(sorted(map(re.escape, _CODES), key=len, reverse=True))
    + r")(?![\w-])"
)


def _lookup(context: jinja2.runtime.Context) -> Lookup:
    found = context.get("namen")
    if isinstance(found, Lookup):
        return found
    # A page rendered without names (no one signed in): ids stay unnamed, never shown.
    return Lookup(None, 0.0, complete=True)


@jinja2.pass_context
def person_filter(
    context: jinja2.runtime.Context, person_id: object, unknown: str = UNKNOWN_PERSON
) -> str:
    """``{{ a.responsible_worker_id|naam }}``; ``|naam("")``: nothing for someone unknown."""
    return _lookup(context).person(person_id, unknown)


@jinja2.pass_context
def people_filter(context: jinja2.runtime.Context, ids: Iterable[object]) -> str:
    """``{{ conversation.participants|namen }}``."""
    return _lookup(context).people(ids or [])


@jinja2.pass_context
def school_filter(context: jinja2.runtime.Context, school_id: object) -> str:
    """``{{ a.school_id|school }}``."""
    return _lookup(context).school(school_id)


@jinja2.pass_context
def unit_filter(context: jinja2.runtime.Context, unit_id: object) -> str:
    """``{{ w.work_unit_id|werkeenheid }}``."""
    return _lookup(context).unit(unit_id)


@jinja2.pass_context
def area_filter(context: jinja2.runtime.Context, area_id: object) -> str:
    """``{{ "reading"|gebied }}`` -> ``Lezen en spelling``."""
    return _lookup(context).area(area_id)


@jinja2.pass_context
def areas_filter(context: jinja2.runtime.Context, ids: Iterable[object]) -> str:
    return _lookup(context).areas(ids or [])


@jinja2.pass_context
def text_filter(context: jinja2.runtime.Context, value: object) -> str:
    """``{{ e.description|leesbaar }}``: a service's free text with names and words."""
    return _lookup(context).text(value)


def install(env: jinja2.Environment) -> None:
    env.filters["gebied"] = area_filter
    env.filters["gebieden"] = areas_filter
    env.filters["leesbaar"] = text_filter
    env.filters["naam"] = person_filter
    env.filters["namen"] = people_filter
    env.filters["school"] = school_filter
    env.filters["werkeenheid"] = unit_filter


class Page(HTMLResponse):
    """A page rendered when it is sent: first to learn its names, then with them.

    Portal.render stays synchronous for the routes; the names are looked up here, in the
    response's own (asynchronous) sending.
    """

    def __init__(
        self,
        template: jinja2.Template,
        variables: dict[str, Any],
        *,
        status: int,
        names: DirectoryNames,
        session: Session | None,
    ) -> None:
        super().__init__(b"", status_code=status)
        self.template = template
        self.variables = variables
        self.names = names
        self.session = session

    def _render(self, complete: bool) -> tuple[str, Lookup]:
        known = self.names.known.get(self.session.swv) if self.session else None
        lookup = Lookup(known, self.names.clock(), complete=complete)
        return self.template.render({**self.variables, "namen": lookup}), lookup

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        page, lookup = self._render(complete=self.session is None)
        if lookup.missing and self.session is not None:
            await self.names.learn(
                self.session, lookup.missing_people, directory=lookup.needs_directory
            )
            page, _ = self._render(complete=True)
        self.body = page.encode("utf-8")
        self.headers["content-length"] = str(len(self.body))
        await super().__call__(scope, receive, send)
