"""Deterministic generator of realistic xAPI 1.0.3 Statements (about 1.5 KB each).

A fixed *universe* (built from ``UNIVERSE_SEED``) holds ~1,000 learners, 32 verbs (ADL, cmi5,
video) and ~2,000 activities: 25 courses of 8 cmi5 AUs (modules), each AU with a lesson, a video,
an assessment and six interaction questions. A *stream* (built from ``seed``) interleaves cmi5
sessions of learners: launched, initialized, content verbs (experienced, answered, played, ...),
passed/failed, completed, terminated. A learner's enrolment in a course has one registration UUID
shared by all its sessions (attempts).

Usage::

    from loadtests.generator import batches, statements
    for batch in batches(10, size=50, seed=1): ...

Statements share nested objects (verbs, activity definitions): serialize them, never mutate them.
``python -m loadtests.generator [N]`` validates N statements and prints their average size.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any

import orjson

# Bump whenever the output for a given seed changes: cached benchmark databases are keyed by it.
GENERATOR_VERSION = 1
UNIVERSE_SEED = 1_000_003
N_LEARNERS = 1_000
N_COURSES = 25
MODULES_PER_COURSE = 8
QUESTIONS_PER_MODULE = 6
ACTIVE_SESSIONS = 40  # sessions interleaved in the stream
START = datetime(2024, 1, 8, 7, 30, tzinfo=UTC)

Json = dict[str, Any]

# --------------------------------------------------------------------------------------------
# Vocabulary

ADL = "http://adlnet.gov/expapi/verbs/"
ADL_W3ID = "https://w3id.org/xapi/adl/verbs/"
VIDEO = "https://w3id.org/xapi/video/"
CMI5_CATEGORY = "https://w3id.org/xapi/cmi5/context/categories/cmi5"
MOVEON_CATEGORY = "https://w3id.org/xapi/cmi5/context/categories/moveon"
CMI5_SESSION = "https://w3id.org/xapi/cmi5/context/extensions/sessionid"
CMI5_MASTERY = "https://w3id.org/xapi/cmi5/context/extensions/masteryscore"
CMI5_LAUNCHMODE = "https://w3id.org/xapi/cmi5/context/extensions/launchmode"
CMI5_MOVEON = "https://w3id.org/xapi/cmi5/context/extensions/moveon"
CMI5_PROGRESS = "https://w3id.org/xapi/cmi5/result/extensions/progress"
CMI5_REASON = "https://w3id.org/xapi/cmi5/result/extensions/reason"
ORG_EXT = "https://lms.example.com/xapi/extensions/"
ACT = "http://adlnet.gov/expapi/activities/"

# name -> (IRI, {language: display})
VERB_TABLE: dict[str, tuple[str, dict[str, str]]] = {
    "answered": (ADL + "answered", {"en-US": "answered", "de-DE": "beantwortete"}),
    "asked": (ADL + "asked", {"en-US": "asked", "fr-FR": "a demandé"}),
    "attempted": (ADL + "attempted", {"en-US": "attempted", "de-DE": "versuchte"}),
    "attended": (ADL + "attended", {"en-US": "attended", "es-ES": "asistió"}),
    "commented": (ADL + "commented", {"en-US": "commented"}),
    "completed": (ADL + "completed", {"en-US": "completed", "de-DE": "abgeschlossen"}),
    "exited": (ADL + "exited", {"en-US": "exited"}),
    "experienced": (ADL + "experienced", {"en-US": "experienced", "fr-FR": "a expérimenté"}),
    "failed": (ADL + "failed", {"en-US": "failed", "de-DE": "nicht bestanden"}),
    "imported": (ADL + "imported", {"en-US": "imported"}),
    "initialized": (ADL + "initialized", {"en-US": "initialized", "de-DE": "initialisiert"}),
    "interacted": (ADL + "interacted", {"en-US": "interacted"}),
    "launched": (ADL + "launched", {"en-US": "launched"}),
    "mastered": (ADL + "mastered", {"en-US": "mastered", "es-ES": "dominó"}),
    "passed": (ADL + "passed", {"en-US": "passed", "de-DE": "bestanden", "fr-FR": "a réussi"}),
    "preferred": (ADL + "preferred", {"en-US": "preferred"}),
    "progressed": (ADL + "progressed", {"en-US": "progressed"}),
    "registered": (ADL + "registered", {"en-US": "registered", "fr-FR": "s'est inscrit"}),
    "responded": (ADL + "responded", {"en-US": "responded"}),
    "resumed": (ADL + "resumed", {"en-US": "resumed"}),
    "scored": (ADL + "scored", {"en-US": "scored"}),
    "shared": (ADL + "shared", {"en-US": "shared"}),
    "suspended": (ADL + "suspended", {"en-US": "suspended"}),
    "terminated": (ADL + "terminated", {"en-US": "terminated", "de-DE": "beendet"}),
    "abandoned": (ADL_W3ID + "abandoned", {"en-US": "abandoned"}),
    "waived": (ADL_W3ID + "waived", {"en-US": "waived"}),
    "satisfied": (ADL_W3ID + "satisfied", {"en-US": "satisfied"}),
    "logged-in": (ADL_W3ID + "logged-in", {"en-US": "logged in"}),
    "logged-out": (ADL_W3ID + "logged-out", {"en-US": "logged out"}),
    "played": (VIDEO + "verbs/played", {"en-US": "played"}),
    "paused": (VIDEO + "verbs/paused", {"en-US": "paused"}),
    "seeked": (VIDEO + "verbs/seeked", {"en-US": "seeked"}),
}
VERBS: dict[str, Json] = {
    name: {"id": iri, "display": display} for name, (iri, display) in VERB_TABLE.items()
}
CMI5_DEFINED = frozenset(
    {
        "launched",
        "initialized",
        "completed",
        "passed",
        "failed",
        "abandoned",
        "waived",
        "terminated",
        "satisfied",
    }
)

TOPICS = (
    "Workplace Safety",
    "Data Privacy Basics",
    "Leadership Essentials",
    "Customer Service Excellence",
    "Project Management Fundamentals",
    "Financial Literacy",
    "Cybersecurity Awareness",
    "Effective Communication",
    "Diversity and Inclusion",
    "Anti-Bribery Compliance",
    "First Aid at Work",
    "Agile Team Practices",
    "Negotiation Skills",
    "Time Management",
    "Introduction to Python",
    "Sales Techniques",
    "Conflict Resolution",
    "Forklift Operation",
    "Food Hygiene Level 2",
    "Remote Work Wellbeing",
    "Coaching for Managers",
    "Cloud Computing Foundations",
    "Export Control Regulations",
    "Presentation Skills",
    "Quality Management Systems",
)
SUBTOPICS = (
    "Overview",
    "Key Concepts",
    "Policies and Procedures",
    "Case Studies",
    "Hands-on Practice",
    "Common Mistakes",
    "Advanced Topics",
    "Review and Wrap-up",
)
WORDS = {
    "en-US": {
        "Module": "Module",
        "Lesson": "Lesson",
        "Video": "Video",
        "Assessment": "Assessment",
        "Question": "Question",
        "about": "A self-paced unit about",
        "watch": "A short video explaining",
        "quiz": "Check your understanding of",
        "course": "An online course covering",
    },
    "de-DE": {
        "Module": "Modul",
        "Lesson": "Lektion",
        "Video": "Video",
        "Assessment": "Prüfung",
        "Question": "Frage",
        "about": "Eine Lerneinheit im eigenen Tempo zum Thema",
        "watch": "Ein kurzes Erklärvideo zum Thema",
        "quiz": "Überprüfen Sie Ihr Wissen zum Thema",
        "course": "Ein Online-Kurs zum Thema",
    },
    "fr-FR": {
        "Module": "Module",
        "Lesson": "Leçon",
        "Video": "Vidéo",
        "Assessment": "Évaluation",
        "Question": "Question",
        "about": "Une unité à votre rythme sur",
        "watch": "Une courte vidéo expliquant",
        "quiz": "Vérifiez vos connaissances sur",
        "course": "Un cours en ligne sur",
    },
    "es-ES": {
        "Module": "Módulo",
        "Lesson": "Lección",
        "Video": "Vídeo",
        "Assessment": "Evaluación",
        "Question": "Pregunta",
        "about": "Una unidad a su propio ritmo sobre",
        "watch": "Un vídeo corto que explica",
        "quiz": "Compruebe sus conocimientos sobre",
        "course": "Un curso en línea sobre",
    },
}
LANGS = tuple(WORDS)
FIRST = (
    "Ada", "Bruno", "Chloé", "Dmitri", "Elena", "Farid", "Greta", "Hiro", "Ines", "Jonas",
    "Kateryna", "Liam", "Maya", "Nikolai", "Olivia", "Pedro", "Quinn", "Rosa", "Sven", "Tariq",
    "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoë", "Amara", "Björn", "Camila", "Deepa",
)  # fmt: skip
LAST = (
    "Andersen", "Bianchi", "Chen", "Dubois", "Eriksson", "Fischer", "García", "Hassan", "Ivanova",
    "Jensen", "Kowalski", "López", "Müller", "Nakamura", "O'Brien", "Patel", "Rossi", "Schmidt",
    "Tanaka", "Umarov", "Varga", "Weber", "Xu", "Yilmaz", "Zhang", "Novak", "Silva", "Kim",
)  # fmt: skip
DOMAINS = ("example.com", "corp.example.org", "learners.example.net", "mail.example.edu")
PLATFORMS = (
    "Progress LMS 4.12 (web)",
    "Progress LMS 4.12 (iOS app 2.3.1)",
    "Progress LMS 4.12 (Android app 2.3.0)",
    "Acme Authoring Player 7.1",
)
TZ_OFFSETS = (0, 0, 0, 60, 120, -300, -360, 330, 540, -180)  # minutes; 0 = "Z"
INTERACTIONS = (
    "choice",
    "choice",
    "true-false",
    "fill-in",
    "numeric",
    "sequencing",
    "likert",
    "matching",
    "performance",
    "long-fill-in",
)
COMMENTS = (
    "Great explanation, the examples made it clear.",
    "The audio in the second part is too quiet.",
    "Could you add a downloadable summary?",
    "I think question 3 has two correct answers.",
    "Very useful for my daily work.",
)


# --------------------------------------------------------------------------------------------
# Universe


@dataclass(frozen=True, slots=True)
class Activity:
    id: str
    kind: str  # course | module | lesson | video | assessment | question
    course: int
    module: int  # -1 for a course
    definition: Json
    response: str = ""  # a plausible learner response (questions)
    correct: str = ""

    def object(self) -> Json:
        return {"objectType": "Activity", "id": self.id, "definition": self.definition}

    def ref(self, typed: bool = False) -> Json:
        """A context activity: the id, with the activity type when ``typed``."""
        if typed:
            return {"id": self.id, "definition": {"type": self.definition["type"]}}
        return {"objectType": "Activity", "id": self.id}


@dataclass(slots=True)
class Enrollment:
    course: int
    registration: str


@dataclass(slots=True)
class Learner:
    index: int
    actor: Json
    tz_minutes: int
    language: str
    platform: str
    enrollments: list[Enrollment] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Universe:
    learners: list[Learner]
    courses: list[Activity]
    modules: list[list[Activity]]  # per course
    children: dict[str, list[Activity]]  # module id -> lesson, video, assessment, questions
    activities: list[Activity]
    instructors: list[Json]
    teams: list[Json]


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _langs(rng: random.Random) -> list[str]:
    """en-US plus 0-2 other languages (about 45 %, 35 %, 20 %)."""
    others = [lang for lang in LANGS if lang != "en-US"]
    k = rng.choices((0, 1, 2), weights=(45, 35, 20))[0]
    return ["en-US", *rng.sample(others, k)]


def _text(langs: list[str], template: str, **values: object) -> dict[str, str]:
    """A language map: ``template`` filled with each language's WORDS and ``values``."""
    return {lang: template.format(**WORDS[lang], **values) for lang in langs}


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c.lower() if c.isalnum() else "-" for c in ascii_text).strip("-")


def _question(
    rng: random.Random, base: str, topic: str, sub: str, n: int, langs: list[str]
) -> tuple[Json, str, str]:
    """A cmi.interaction definition, a plausible response and the correct one."""
    kind = rng.choice(INTERACTIONS)
    d: Json = {
        "name": _text(langs, "{Question} {n}: {sub}", n=n, sub=sub),
        "description": _text(langs, "{quiz} {t} ({s}).", t=topic.lower(), s=sub.lower()),
        "type": ACT + "cmi.interaction",
        "interactionType": kind,
    }
    options = ["Always", "Only when asked", "Never", "Once a year", "After an incident"]
    if kind in ("choice", "sequencing"):
        ids = [f"choice-{i}" for i in range(1, 5)]
        d["choices"] = [
            {"id": cid, "description": {"en-US": options[i]}} for i, cid in enumerate(ids)
        ]
        if kind == "choice":
            correct = rng.choice(ids)
            response = correct if rng.random() < 0.7 else rng.choice(ids)
        else:
            correct = "[,]".join(ids)
            shuffled = ids[:]
            rng.shuffle(shuffled)
            response = "[,]".join(shuffled)
        d["correctResponsesPattern"] = [correct]
    elif kind == "true-false":
        correct = rng.choice(("true", "false"))
        d["correctResponsesPattern"] = [correct]
        response = correct if rng.random() < 0.8 else ("false" if correct == "true" else "true")
    elif kind == "fill-in":
        correct = rng.choice(("risk assessment", "escalate", "encryption", "feedback"))
        d["correctResponsesPattern"] = [correct]
        response = correct if rng.random() < 0.6 else "not sure"
    elif kind == "long-fill-in":
        correct = "{case_matters=false}report the incident to your manager"
        d["correctResponsesPattern"] = [correct]
        response = "I would report it to my manager and document what happened."
    elif kind == "numeric":
        correct = f"{rng.randint(2, 8)}[:]{rng.randint(9, 20)}"
        d["correctResponsesPattern"] = [correct]
        response = str(rng.randint(1, 20))
    elif kind == "likert":
        d["scale"] = [
            {"id": f"likert_{i}", "description": {"en-US": label}}
            for i, label in enumerate(
                ("Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree")
            )
        ]
        correct = ""
        response = f"likert_{rng.randint(0, 4)}"
    elif kind == "matching":
        d["source"] = [
            {"id": f"{i}", "description": {"en-US": s}}
            for i, s in enumerate(("Fire", "Spill", "Injury"), 1)
        ]
        d["target"] = [
            {"id": t[0].lower(), "description": {"en-US": t}}
            for t in ("Alarm", "Barrier", "Call first aider")
        ]
        correct = "1[.]a[,]2[.]b[,]3[.]c"
        d["correctResponsesPattern"] = [correct]
        response = correct if rng.random() < 0.5 else "1[.]b[,]2[.]a[,]3[.]c"
    else:  # performance
        d["steps"] = [
            {"id": s, "description": {"en-US": s.replace("-", " ")}}
            for s in ("inspect-area", "secure-site", "file-report")
        ]
        correct = "inspect-area[.]yes[,]secure-site[.]yes[,]file-report[.]yes"
        d["correctResponsesPattern"] = [correct]
        response = "inspect-area[.]yes[,]secure-site[.]no[,]file-report[.]yes"
    d["extensions"] = {ORG_EXT + "item-bank-id": f"{base.rsplit('/', 1)[-1]}-q{n}"}
    return d, response, correct


def _actor(rng: random.Random, i: int) -> Json:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    name = f"{first} {last}"
    local = _slug(f"{first}.{last}") + str(i)
    domain = rng.choice(DOMAINS)
    kind = rng.choices(("mbox", "account", "mbox_sha1sum", "openid"), weights=(40, 35, 15, 10))[0]
    actor: Json = {"objectType": "Agent", "name": name}
    if kind == "mbox":
        actor["mbox"] = f"mailto:{local}@{domain}"
    elif kind == "account":
        actor["account"] = {"homePage": "https://sso.example.com", "name": f"u{100_000 + i}"}
    elif kind == "mbox_sha1sum":
        actor["mbox_sha1sum"] = hashlib.sha1(f"mailto:{local}@{domain}".encode()).hexdigest()
    else:
        actor["openid"] = f"https://openid.example.net/users/{local}"
    if rng.random() < 0.2:
        del actor["objectType"]  # optional in xAPI; some clients leave it out
    return actor


@cache
def universe(seed: int = UNIVERSE_SEED) -> Universe:
    """The fixed population the stream draws from (cached; ~10 ms)."""
    rng = random.Random(seed)
    courses: list[Activity] = []
    modules: list[list[Activity]] = []
    children: dict[str, list[Activity]] = {}
    for c, topic in enumerate(TOPICS[:N_COURSES]):
        base = f"https://content.example.org/xapi/courses/{_slug(topic)}"
        langs = _langs(rng)
        course = Activity(
            id=base,
            kind="course",
            course=c,
            module=-1,
            definition={
                "name": dict.fromkeys(langs, topic),
                "description": _text(langs, "{course} {t}.", t=topic.lower()),
                "type": ACT + "course",
                "moreInfo": f"https://lms.example.com/catalog/{_slug(topic)}",
            },
        )
        courses.append(course)
        course_modules = []
        for m, sub in enumerate(SUBTOPICS[:MODULES_PER_COURSE]):
            mbase = f"{base}/au/{m + 1:02d}-{_slug(sub)}"
            langs = _langs(rng)
            module = Activity(
                id=mbase,
                kind="module",
                course=c,
                module=m,
                definition={
                    "name": _text(langs, "{Module} {n}: {s}", n=m + 1, s=sub),
                    "description": _text(
                        langs, "{about} {t}: {s}.", t=topic.lower(), s=sub.lower()
                    ),
                    "type": ACT + "module",
                },
            )
            course_modules.append(module)
            kids = [
                Activity(
                    id=f"{mbase}/lesson",
                    kind="lesson",
                    course=c,
                    module=m,
                    definition={
                        "name": _text(langs, "{Lesson}: {s}", s=sub),
                        "description": _text(langs, "{about} {s}.", s=sub.lower()),
                        "type": ACT + "lesson",
                    },
                ),
                Activity(
                    id=f"{mbase}/video",
                    kind="video",
                    course=c,
                    module=m,
                    definition={
                        "name": _text(langs, "{Video}: {s}", s=sub),
                        "description": _text(langs, "{watch} {s}.", s=sub.lower()),
                        "type": "https://w3id.org/xapi/video/activity-type/video",
                    },
                ),
                Activity(
                    id=f"{mbase}/assessment",
                    kind="assessment",
                    course=c,
                    module=m,
                    definition={
                        "name": _text(langs, "{Assessment}: {s}", s=sub),
                        "description": _text(langs, "{quiz} {s}.", s=sub.lower()),
                        "type": ACT + "assessment",
                    },
                ),
            ]
            for q in range(1, QUESTIONS_PER_MODULE + 1):
                qid = f"{mbase}/assessment/q{q}"
                definition, response, correct = _question(rng, qid, topic, sub, q, _langs(rng))
                kids.append(
                    Activity(
                        id=qid,
                        kind="question",
                        course=c,
                        module=m,
                        definition=definition,
                        response=response,
                        correct=correct,
                    )
                )
            children[module.id] = kids
        modules.append(course_modules)
    learners = []
    for i in range(N_LEARNERS):
        learner = Learner(
            index=i,
            actor=_actor(rng, i),
            tz_minutes=rng.choice(TZ_OFFSETS),
            language=rng.choices(LANGS, weights=(70, 12, 10, 8))[0],
            platform=rng.choice(PLATFORMS),
        )
        n_courses = rng.choices((1, 2, 3, 4), (40, 30, 20, 10))[0]
        for c in rng.sample(range(N_COURSES), n_courses):
            learner.enrollments.append(Enrollment(c, _uuid(rng)))
        learners.append(learner)
    instructors = [
        {"objectType": "Agent", "name": f"Instructor {n}", "mbox": f"mailto:trainer{n}@example.com"}
        for n in range(1, 21)
    ]
    teams = [
        {
            "objectType": "Group",
            "name": f"Cohort {year}-{n}",
            "account": {"homePage": "https://lms.example.com/cohorts", "name": f"{year}-{n}"},
        }
        for year in (2023, 2024)
        for n in range(1, 6)
    ]
    activities = courses + [m for ms in modules for m in ms]
    activities += [k for kids in children.values() for k in kids]
    return Universe(learners, courses, modules, children, activities, instructors, teams)


# --------------------------------------------------------------------------------------------
# Stream


def _duration(seconds: float) -> str:
    """ISO 8601 duration, e.g. PT1H2M3.45S."""
    whole = int(seconds)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    frac = f"{s + (seconds - whole):.2f}".rstrip("0").rstrip(".")
    out = "PT"
    if h:
        out += f"{h}H"
    if m or h:
        out += f"{m}M"
    return out + f"{frac}S"


def _timestamp(at: datetime, tz_minutes: int) -> str:
    if tz_minutes == 0:
        return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
    local = at.astimezone(timezone(timedelta(minutes=tz_minutes)))
    sign = "+" if tz_minutes > 0 else "-"
    hh, mm = divmod(abs(tz_minutes), 60)
    return (
        local.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{at.microsecond // 1000:03d}{sign}{hh:02d}:{mm:02d}"
    )


@dataclass(slots=True)
class _Session:
    learner: Learner
    enrollment: Enrollment
    module: Activity
    session_id: str
    steps: list[tuple[str, Activity, Json | None]]
    started: datetime | None = None


class _Stream:
    def __init__(self, seed: int, with_ids: bool, universe_seed: int) -> None:
        self.rng = random.Random(seed)
        self.u = universe(universe_seed)
        self.with_ids = with_ids
        self.now = START + timedelta(minutes=self.rng.randint(0, 60 * 24 * 14))
        self.active = [self._new_session() for _ in range(ACTIVE_SESSIONS)]

    # A session is one launch of one AU (module) by one learner, as cmi5 describes it.
    def _new_session(self) -> _Session:
        rng = self.rng
        learner = rng.choice(self.u.learners)
        enrollment = rng.choice(learner.enrollments)
        module = rng.choice(self.u.modules[enrollment.course])
        return _Session(learner, enrollment, module, _uuid(rng), self._script(module, learner))

    def _script(
        self, module: Activity, learner: Learner
    ) -> list[tuple[str, Activity, Json | None]]:
        rng = self.rng
        u = self.u
        kids = u.children[module.id]
        lesson, video, assessment, questions = kids[0], kids[1], kids[2], kids[3:]
        course = u.courses[module.course]
        steps: list[tuple[str, Activity, Json | None]] = []
        if rng.random() < 0.15:
            steps.append(("logged-in", course, None))
        if rng.random() < 0.05:
            steps.append(("registered", course, None))
        steps += [("launched", module, None), ("initialized", module, None)]
        t = 0.0  # seconds into the session
        position = 0.0
        for _ in range(rng.randint(2, 7)):
            pick = rng.random()
            if pick < 0.25:
                t += rng.uniform(30, 400)
                steps.append(
                    ("experienced", lesson, {"duration": _duration(t), "completion": True})
                )
            elif pick < 0.45:
                position = round(position + rng.uniform(5, 120), 3)
                steps.append(
                    ("played", video, {"extensions": {VIDEO + "extensions/time": position}})
                )
                position = round(position + rng.uniform(5, 120), 3)
                steps.append(
                    (
                        "paused",
                        video,
                        {
                            "extensions": {
                                VIDEO + "extensions/time": position,
                                VIDEO + "extensions/progress": round(min(position / 600, 1), 3),
                            }
                        },
                    )
                )
            elif pick < 0.5:
                steps.append(
                    (
                        "seeked",
                        video,
                        {
                            "extensions": {
                                VIDEO + "extensions/time-from": position,
                                VIDEO + "extensions/time-to": round(position + 30, 3),
                            }
                        },
                    )
                )
            elif pick < 0.6:
                steps.append(
                    ("progressed", module, {"extensions": {CMI5_PROGRESS: rng.randint(5, 95)}})
                )
            elif pick < 0.66:
                steps.append(("interacted", lesson, None))
            elif pick < 0.7:
                steps.append(("commented", lesson, {"response": rng.choice(COMMENTS)}))
            elif pick < 0.72:
                steps.append(
                    ("asked", lesson, {"response": "Where can I find the policy document?"})
                )
            elif pick < 0.74:
                steps.append(("shared", lesson, None))
            elif pick < 0.76:
                steps.append(("preferred", video, {"response": "playback-rate-1.5"}))
            elif pick < 0.78:
                steps.append(("imported", lesson, None))
            elif pick < 0.84:
                steps += [("suspended", module, None), ("resumed", module, None)]
            elif pick < 0.87:
                steps.append(("exited", lesson, {"duration": _duration(rng.uniform(20, 600))}))
            else:
                steps.append(("attended", course, {"duration": _duration(rng.uniform(1800, 5400))}))
        # The assessment: attempted, answered (or responded to a survey item), scored.
        steps.append(("attempted", assessment, None))
        correct = 0
        for q in questions:
            t += rng.uniform(10, 90)
            if q.definition["interactionType"] == "likert":
                steps.append(("responded", q, {"response": q.response, "duration": _duration(t)}))
                continue
            ok = rng.random() < 0.8
            correct += ok
            steps.append(
                (
                    "answered",
                    q,
                    {
                        "score": {
                            "scaled": 1 if ok else 0,
                            "raw": 1 if ok else 0,
                            "min": 0,
                            "max": 1,
                        },
                        "success": ok,
                        "response": q.correct if ok and q.correct else q.response,
                        "duration": _duration(rng.uniform(4, 90)),
                        "extensions": {ORG_EXT + "attempt": rng.randint(1, 3)},
                    },
                )
            )
        raw = round(100 * correct / max(1, len(questions)) * rng.uniform(0.9, 1.0), 1)
        score = {"scaled": round(raw / 100, 4), "raw": raw, "min": 0, "max": 100}
        passed = raw >= 70
        steps.append(("scored", assessment, {"score": score}))
        ending = rng.random()
        if ending < 0.05:
            steps.append(("abandoned", module, {"duration": _duration(t)}))
            return steps
        if ending < 0.07:
            steps.append(
                (
                    "waived",
                    module,
                    {
                        "success": True,
                        "completion": True,
                        "extensions": {CMI5_REASON: "Tested out"},
                    },
                )
            )
        else:
            steps.append(
                (
                    "passed" if passed else "failed",
                    module,
                    {"score": score, "success": passed, "duration": _duration(t)},
                )
            )
            if passed and raw >= 95:
                steps.append(("mastered", assessment, {"score": score, "success": True}))
            steps.append(("completed", module, {"completion": True, "duration": _duration(t)}))
            if passed and rng.random() < 0.12:
                steps.append(("satisfied", course, None))
        steps.append(("terminated", module, {"duration": _duration(t + rng.uniform(2, 30))}))
        if rng.random() < 0.15:
            steps.append(("logged-out", course, None))
        return steps

    def _context(self, s: _Session, verb: str, target: Activity) -> Json:
        rng = self.rng
        u = self.u
        course = u.courses[s.module.course]
        ctx_acts: Json
        if target.kind == "course":
            ctx_acts = {"grouping": [course.ref()] if verb == "satisfied" else []}
            if not ctx_acts["grouping"]:
                del ctx_acts["grouping"]
        elif target.kind == "module":
            ctx_acts = {"grouping": [course.ref()]}
        elif target.kind == "question":
            parent = u.children[s.module.id][2]  # the assessment
            ctx_acts = {"parent": [parent.ref(True)], "grouping": [s.module.ref(), course.ref()]}
        else:
            ctx_acts = {"parent": [s.module.ref(True)], "grouping": [course.ref()]}
        category = [{"id": CMI5_CATEGORY}]
        if verb in ("passed", "failed", "completed"):
            category.append({"id": MOVEON_CATEGORY})
        if verb in CMI5_DEFINED:
            ctx_acts["category"] = category
        extensions: Json = {
            CMI5_SESSION: s.session_id,
            ORG_EXT + "org-unit": f"OU-{s.learner.index % 37:02d}",
        }
        if verb in ("passed", "failed"):
            extensions[CMI5_MASTERY] = 0.7
        if verb == "launched":
            extensions[CMI5_LAUNCHMODE] = "Normal"
            extensions[CMI5_MOVEON] = "CompletedAndPassed"
        if target.kind == "video":
            extensions[VIDEO + "extensions/length"] = 600
            extensions[VIDEO + "extensions/session-id"] = s.session_id
        ctx: Json = {"registration": s.enrollment.registration}
        if ctx_acts:
            ctx["contextActivities"] = ctx_acts
        ctx["platform"] = s.learner.platform
        ctx["language"] = s.learner.language
        if rng.random() < 0.3:
            ctx["revision"] = "2024.1"
        if (target.kind == "course" and rng.random() < 0.5) or rng.random() < 0.06:
            ctx["instructor"] = rng.choice(u.instructors)
        if rng.random() < 0.04:
            ctx["team"] = rng.choice(u.teams)
        ctx["extensions"] = extensions
        return ctx

    def next(self) -> Json:
        rng = self.rng
        slot = rng.randrange(len(self.active))
        s = self.active[slot]
        verb, target, result = s.steps.pop(0)
        if not s.steps:
            self.active[slot] = self._new_session()
        self.now += timedelta(seconds=rng.expovariate(1 / 25))
        stmt: Json = {}
        if self.with_ids:
            stmt["id"] = _uuid(rng)
        stmt["actor"] = s.learner.actor
        stmt["verb"] = VERBS[verb]
        stmt["object"] = target.object()
        if result is not None:
            stmt["result"] = result
        stmt["context"] = self._context(s, verb, target)
        stmt["timestamp"] = _timestamp(self.now, s.learner.tz_minutes)
        if rng.random() < 0.5:
            stmt["version"] = "1.0.3"
        return stmt


def statements(
    n: int, seed: int = 1, *, with_ids: bool = True, universe_seed: int = UNIVERSE_SEED
) -> Iterator[Json]:
    """``n`` Statements; the same ``seed`` always gives the same Statements (ids included)."""
    stream = _Stream(seed, with_ids, universe_seed)
    for _ in range(n):
        yield stream.next()


def batches(
    n_batches: int,
    size: int = 50,
    seed: int = 1,
    *,
    with_ids: bool = True,
    universe_seed: int = UNIVERSE_SEED,
) -> Iterator[list[Json]]:
    """``n_batches`` lists of ``size`` Statements (one continuous stream)."""
    stream = _Stream(seed, with_ids, universe_seed)
    for _ in range(n_batches):
        yield [stream.next() for _ in range(size)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.generator", description=__doc__)
    parser.add_argument("n", nargs="?", type=int, default=10_000, help="statements (10,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--show", action="store_true", help="print the first statement")
    args = parser.parse_args(argv)
    from progress.domain.errors import InvalidStatement
    from progress.edge.xapi.validation import validate_statement

    sizes = []
    actors, verbs, activities, registrations = set(), set(), set(), set()
    for i, stmt in enumerate(statements(args.n, args.seed)):
        raw = orjson.dumps(stmt)
        try:
            validate_statement(orjson.loads(raw), f"statements[{i}]")
        except InvalidStatement as exc:
            print(
                f"INVALID: {exc.message}\n{orjson.dumps(stmt, option=orjson.OPT_INDENT_2).decode()}"
            )
            return 1
        sizes.append(len(raw))
        actors.add(orjson.dumps(stmt["actor"]))
        verbs.add(stmt["verb"]["id"])
        activities.add(stmt["object"]["id"])
        registrations.add(stmt["context"]["registration"])
        if i == 0 and args.show:
            print(orjson.dumps(stmt, option=orjson.OPT_INDENT_2).decode())
    u = universe()
    print(f"generator v{GENERATOR_VERSION}, seed {args.seed}: {args.n:,} statements, all valid")
    print(
        f"  serialized size: average {statistics.fmean(sizes):,.0f} B, median "
        f"{statistics.median(sizes):,.0f} B, min {min(sizes):,} B, max {max(sizes):,} B"
    )
    print(
        f"  distinct in sample: {len(actors):,} learners (of {len(u.learners):,}), "
        f"{len(verbs)} verbs (of {len(VERBS)}), {len(activities):,} activities as object "
        f"(of {len(u.activities):,}), {len(registrations):,} registrations"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
