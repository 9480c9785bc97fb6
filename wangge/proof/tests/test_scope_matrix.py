"""The data-scope matrix: no list, detail, action or export shows another region's objects.

The endpoints are not listed here: they are walked from the URL conf (``get_resolver()``) and the
API's are matched one-to-one with the OpenAPI operations, so an endpoint added later is checked
without anyone touching this file — or the test fails and names it, when it cannot tell how to
check it (a path parameter it does not know, a create it has no body for). Endpoints that hold no
scoped data are in ``SCOPE_FREE``, each with its reason.

How an endpoint is checked, for each persona (grid A, grids A and P2 — one worker of two grids in
two communities, 一员多格 —, community C, street S, district D, none; a persona's scope is a set of
region-code prefixes) and the nearest and farthest places of the world outside the persona's scope
(every one of them with WANGGE_SCOPE_MATRIX_FULL=1; see ``world.py``):

- an endpoint naming an object in its path (detail, action, export of one object) is called with
  the foreign object and with a missing one: the answers must be the same (status and body, the
  identifier aside) and not a success; the foreign rows must be unchanged afterwards;
- an endpoint without one (list, export, search) is called plainly and with its filters pointed at
  the foreign place: the body (JSON, HTML, CSV or xlsx, read as text) must not name any of the
  place's objects (each carries its place's tag, grid code and case number);
- a create is called with a body naming the foreign object and one naming a missing object: the
  answers must be the same.

Every GET is also called on the persona's own objects (grid A): some persona must get a 200 there,
so a check cannot pass because every request missed. And a persona of several prefixes sees every
one of them: where grid A reads its own object or finds it in a list, the two-grid worker reads the
object of each of his grids and finds both in the list. Every response body of the run is scanned for
the world's full ID and phone numbers (none of the requests unmasks).
"""

from __future__ import annotations

import ast
import inspect
import io
import itertools
import json
import os
import re
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from wangge.core.models import User
from wangge.proof.tests.world import PLACES, World, build_world, png
from wangge.testing.factories import make_user
from wangge.testing.piiscan import find_pii

# Endpoints that hold no scoped data, or are not for scoped users at all. -----------------------

SCOPE_FREE: dict[str, str] = {
    "api:token": "signs in; answers with the caller's own token only",
    "api:schema": "the OpenAPI document: describes endpoints, holds no data",
    "api:grid-layers": "the list of grid layers (social, unit …): configuration, the same for all",
    "api:categories": "the case classification (部件/事件 codes): configuration, the same for all",
    "api:person-tags": "the person tag vocabulary: configuration, the same for all",
    "api:care-classes": "the care class vocabulary: configuration, the same for all",
    "api:rating-criteria": "the star-rating criteria of rented houses: configuration",
    "api:locate": "point → grid lookup; answers only for grids inside the scope, and the grid "
    "layout is the published territory (regions/tests/test_locate.py)",
    "api:territory-import": "system administrators only: writes the territory, reads no rows",
    "api:ledger-template": "an empty ledger workbook (the column headings): no rows",
    "web:ledger-template": "an empty ledger workbook (the column headings): no rows",
    "web:home": "a redirect to the page of the user's own work (web.views.landing_page)",
    "web:map": "the map page's shell; its data comes from the scoped API endpoints",
    "web:console-map": "the map page's shell; its points come from web:console-map-data; a "
    "number search opens only a case of case_list (the scope)",
    "web:mobile-report": "the empty report form; it posts to api:cases",
    "web:services": "the service catalogue (一次性告知): public information, the same for all "
    "(cases/catalogue.py takes no data scope); its search box shows what was searched",
    "login": "the sign-in form",
    "logout": "signs out",
    "set_language": "stores the language choice in the session",
    "account-totp-verify": "the signed-in user's own second factor",
    "account-totp-enrol": "the signed-in user's own second factor",
    "web:notification-read": "marks one of the caller's own notifications read: the inbox is per "
    "person, not per place; another person's answers 404 like a missing one "
    "(web/tests/test_notifications.py)",
}
# Whole namespaces left out.
SCOPE_FREE_NAMESPACES: dict[str, str] = {
    "admin": "the back office for staff (system administrators), district-wide by design",
}
# Creates whose body names no object of a region: what they create is placed by the service.
CREATE_FREE: dict[str, str] = {
    "api:cases": "anyone may report a problem anywhere; the reporter then sees his own report "
    "and nothing else there (test_a_report_outside_the_scope_shows_only_itself)",
    "api:ledger-imports": "an uploaded ledger's rows name their places; a row outside the "
    "importer's scope is rejected row by row "
    "(registry/tests/test_ledgers.py::test_a_building_in_another_grid_rejects_the_row)",
    "web:ledgers": "the upload form of api:ledger-imports (same service, same row checks)",
    "web:notifications-read-all": "marks the caller's own notifications read; names no object",
}
# GET endpoints whose own object may have nothing to show (no 200 expected at home).
NOTHING_AT_HOME: dict[str, str] = {
    "api:ledger-import-rejects": "a job without rejected rows has no rejects file",
    "web:ledger-rejects": "a job without rejected rows has no rejects file",
}

# How to check what the walk finds. ----------------------------------------------------------------

MISSING_PK = 987_654_321
MISSING = {
    "number": "110102-1999-999999",
    "code": "110102009009",
    "grid": "110102009009009",
    "token": "Zz9Zz9Zz9Zz9Zz9Zz9Zz9",
}

# A path parameter naming an object: the object of a place it names, by the route segment before
# it (``pk``) or by its own name.
KIND_BY_SEGMENT = {
    "buildings": "building",
    "houses": "house",
    "households": "household",
    "people": "person",
    "residencies": "residency",
    "organizations": "organization",
    "components": "component",
    "self-registrations": "self_registration",
    "ledger-imports": "ledger_import",
    "jobs": "ledger_import",  # web:ledger-job
}
# Path parameters that name no object: the values to call the endpoint with (each of them).
FIXED_PARAMS: dict[str, tuple[str, ...]] = {
    "flag": ("not_deregistered",),  # a data-quality rule (api:data-quality-flagged)
    "key": ("checking",),  # a console queue (web:console-queue)
    "kind": ("people", "houses", "organizations", "components"),  # a ledger
}

Body = Callable[[Any, Any], dict[str, Any]]  # (the place, the home place) → request body

# Bodies for actions on an object; without one an action is called with an empty body.
ACTION_BODIES: dict[tuple[str, str], Body] = {
    ("api:case-actions", "post"): lambda p, h: {"action": "accept"},
    ("api:case-transfer", "post"): lambda p, h: {"to_grid": h.grid.code, "reason": "转给本网格"},
    ("api:case-photos", "post"): lambda p, h: {"kind": "after", "photo": png()},
    ("api:person-unmask", "post"): lambda p, h: {"field": "id_number", "reason": "核对身份信息"},
    ("api:person-merge", "post"): lambda p, h: {"duplicate": h.person.pk, "reason": "合并重复记录"},
    ("api:person-move-in", "post"): lambda p, h: {"house": h.house.pk, "relation": "tenant"},
    ("api:person-residency-type", "post"): lambda p, h: {"residency_type": "floating"},
    ("api:residency-deregister", "post"): lambda p, h: {"deregistration_reason": "error"},
    ("api:residency-move-out", "post"): lambda p, h: {"moved_out_on": "2025-06-01"},
    ("api:residency-permit", "post"): lambda p, h: {
        "permit_number": "京居A123",
        "issued_on": "2025-02-01",
        "expires_on": "2026-01-31",
    },
    ("api:self-registration-reject", "post"): lambda p, h: {"reason": "信息不实"},
    ("api:building", "patch"): lambda p, h: {"name": "改名楼"},
    ("api:house", "patch"): lambda p, h: {"rented": False},
    ("api:person", "patch"): lambda p, h: {"name": "改名"},
    ("api:organization", "patch"): lambda p, h: {"name": "改名商店"},
    ("web:console-case", "post"): lambda p, h: {"action": "accept"},
    ("web:mobile-case", "post"): lambda p, h: {"action": "confirm"},
    ("web:registry-person-photo", "post"): lambda p, h: {"photo": png()},
}
# Creates and form posts naming an object in the body: the same body naming a missing object
# must answer alike. ``_Missing`` stands in for a place whose objects do not exist.
CREATE_BODIES: dict[str, Callable[[Any], dict[str, Any]]] = {
    "api:buildings": lambda p: {"grid": p.grid.code, "name": "新楼", "address": "新路1号"},
    "api:houses": lambda p: {"building": p.building.pk, "unit": "1", "room": "101"},
    "api:households": lambda p: {"house": p.house.pk},
    "api:people": lambda p: {
        "house": p.house.pk,
        "relation": "tenant",
        "name": "王五",
        "residency_type": "registered",
    },
    "api:organizations": lambda p: {"grid": p.grid.code, "name": "新店", "org_type": "individual"},
    "web:mobile-self-registrations": lambda p: {
        "action": "reject",
        "id": p.self_registration.pk,
        "reason": "信息不实",
    },
}
# Creates placed by a point: one at a foreign place must be refused (and nothing stored).
REFUSED_CREATES: dict[str, Callable[[Any], dict[str, Any]]] = {
    "api:components": lambda p: {
        "lng": p.spec.point[0],
        "lat": p.spec.point[1],
        "component_id": f"{p.spec.grid[:6]}01001{next(_serials):06d}",
        "name": "供水井盖",
        "competent_unit_code": p.component.competent_unit_code,
        "competent_unit_name": "市政",
        "surveyed_on": "2024-05-01",
    },
}
# Searches and exports by POST: a body aimed at the place; the answer is scanned like a list.
SEARCH_BODIES: dict[str, Callable[[Any], dict[str, Any]]] = {
    "api:people-search": lambda p: {"id_number": p.id_number},
    "api:ledger-export": lambda p: {"region": p.spec.community},
    "web:registry-search": lambda p: {"phone": p.phone},
    "web:ledger-export": lambda p: {"region": p.spec.community},
}
# List filters pointed at a foreign place (sent when the operation declares them, and to pages).
FOREIGN_FILTERS: dict[str, Callable[[Any], Any]] = {
    "region": lambda p: p.spec.community,
    "parent": lambda p: p.spec.community,
    "building": lambda p: p.building.pk,
    "house": lambda p: p.house.pk,
    "q": lambda p: p.tag,
    "name": lambda p: p.tag,
    "ids": lambda p: str(p.house.pk),
}
# Lists that answer only when asked about a point: the query aimed at a place.
POINT_QUERIES: dict[str, Callable[[Any], dict[str, Any]]] = {
    "api:case-report-check": lambda p: {
        "lng": p.spec.point[0],
        "lat": p.spec.point[1],
        "category": p.case.category_id,
    },
}
_serials = itertools.count(900)
FULL = os.environ.get("WANGGE_SCOPE_MATRIX_FULL") == "1"


@dataclass(frozen=True)
class Endpoint:
    name: str  # "api:building"
    route: str  # "api/v1/buildings/<int:pk>/"
    method: str  # "get", "post", "patch", …
    params: tuple[str, ...]  # path parameters

    @property
    def api(self) -> bool:
        return self.name.startswith("api:")

    @property
    def label(self) -> str:
        return f"{self.method.upper()} /{self.route} ({self.name})"


# Walking the URL conf -----------------------------------------------------------------------------


def _patterns(
    patterns: list[Any], prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str, URLPattern]]:
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _patterns(entry.url_patterns, route, inner)
        else:
            yield route, f"{namespace}{entry.name}", entry


_ONLY = {"require_POST": ["post"], "require_GET": ["get"], "require_safe": ["get"]}


def _function_methods(view: Callable[..., Any]) -> list[str]:
    """From the view's decorators, else GET, and POST when the view (or a helper of its module
    it calls) reads a POST."""
    view = inspect.unwrap(view)
    source = inspect.getsource(view)
    for decorator, methods in _ONLY.items():
        if f"@{decorator}\n" in source:
            return methods
    module = inspect.getmodule(view)
    seen: set[str] = set()
    queue = [view.__name__]
    while queue:
        name = queue.pop()
        function = getattr(module, name, None)
        if name in seen or not inspect.isfunction(function):
            continue
        seen.add(name)
        source = textwrap.dedent(inspect.getsource(function))
        if '"POST"' in source or "request.POST" in source:
            return ["get", "post"]
        queue += [n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)]
    return ["get"]


def _methods(callback: Any) -> list[str]:
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is not None:
        return [m for m in ("get", "post", "put", "patch", "delete") if hasattr(view_class, m)]
    return _function_methods(callback)


def endpoints() -> tuple[list[Endpoint], dict[str, str]]:
    """Every endpoint of the URL conf to check, and the left-out ones with their reasons."""
    checked: list[Endpoint] = []
    left_out: dict[str, str] = {}
    for route, name, pattern in _patterns(get_resolver().url_patterns):
        namespace = name.split(":", 1)[0] if ":" in name else ""
        if namespace in SCOPE_FREE_NAMESPACES:
            left_out[name] = SCOPE_FREE_NAMESPACES[namespace]
            continue
        if name in SCOPE_FREE:
            left_out[name] = SCOPE_FREE[name]
            continue
        converters = getattr(pattern.pattern, "converters", None)
        params = tuple(converters if converters is not None else pattern.pattern.regex.groupindex)
        for method in _methods(pattern.callback):
            checked.append(Endpoint(name, route, method, params))
    return checked, left_out


def openapi_operations() -> dict[tuple[str, str], dict[str, Any]]:
    """(URL name, method) → the OpenAPI operation, for every operation of the schema."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = {}
    for path, item in schema["paths"].items():
        sample = re.sub(r"\{[^}]+\}", "1", path)
        match = resolve(sample)
        name = f"{match.namespace}:{match.url_name}" if match.namespace else match.url_name
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                operations[(name, method)] = operation
    return operations


# Calling an endpoint --------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    text: str  # the body as text: JSON re-encoded without escapes, xlsx cells, HTML


def body_text(response: Any) -> str:
    content_type = response.get("Content-Type", "")
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    if "spreadsheetml" in content_type:
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(raw), read_only=True)
        return "\n".join(
            "\t".join("" if v is None else str(v) for v in row)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
        )
    if (content_type.startswith("image/") and "svg" not in content_type) or "pdf" in content_type:
        return ""
    text = raw.decode("utf-8", errors="replace")
    if "json" in content_type:
        try:
            return json.dumps(json.loads(text), ensure_ascii=False, sort_keys=True)
        except ValueError:
            return text
    return text


@dataclass
class Caller:
    """One persona's clients; every answer is kept for the PII scan."""

    user: User
    api: APIClient = field(init=False)
    web: Client = field(init=False)
    answers: list[tuple[str, Answer]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.open_blocks = len(connection.atomic_blocks)  # the test's own
        self.api = APIClient()
        self.api.force_authenticate(self.user)
        self.web = Client()
        self.web.force_login(self.user)

    def call(
        self,
        endpoint: Endpoint,
        kwargs: dict[str, Any],
        *,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
    ) -> Answer:
        if endpoint.route.startswith("^"):
            raise AssertionError(f"{endpoint.label}: a regex route; the matrix calls path() routes")
        path = "/" + endpoint.route
        for name, value in kwargs.items():
            path = re.sub(rf"<(?:\w+:)?{name}>", str(value), path)
        body = body or {}
        multipart = any(hasattr(v, "read") for v in body.values())
        if endpoint.api:
            send = getattr(self.api, endpoint.method)
            options: dict[str, Any] = {"format": "multipart" if multipart else "json"}
        else:
            send = getattr(self.web, endpoint.method)
            options = {"HTTP_HX_REQUEST": "true"}
        if endpoint.method == "get":
            response = send(path, query or {}, **({} if endpoint.api else options))
        else:
            response = send(path, body, **options)
        answer = Answer(response.status_code, body_text(response))
        self.answers.append((f"{endpoint.method.upper()} {path}", answer))
        if len(connection.atomic_blocks) != self.open_blocks:
            raise AssertionError(f"{endpoint.method.upper()} {path} left a transaction open")
        return answer


# The checks -----------------------------------------------------------------------------------------


class UncheckableError(Exception):
    """The matrix cannot tell how to check an endpoint (a problem of the test, named once)."""


def _segment_before(endpoint: Endpoint, param: str) -> str:
    parts = endpoint.route.split("/")
    for before, part in zip(parts, parts[1:], strict=False):
        if re.fullmatch(rf"<(?:\w+:)?{param}>", part):
            return before
    return ""


def object_params(endpoint: Endpoint) -> list[str]:
    return [p for p in endpoint.params if p not in FIXED_PARAMS]


def identifiers(endpoint: Endpoint, place: Any, fixed: dict[str, str]) -> dict[str, Any]:
    """The path parameters naming the place's object (None: a missing one)."""
    kwargs: dict[str, Any] = dict(fixed)
    for param in object_params(endpoint):
        segment = _segment_before(endpoint, param)
        if param == "number":
            kwargs[param] = place.case.number if place else MISSING["number"]
        elif param == "layer":
            kwargs[param] = "social"
        elif param == "code" and ("layer" in endpoint.params or segment == "grids"):
            kwargs[param] = place.grid.code if place else MISSING["grid"]
        elif param == "code":
            kwargs[param] = place.community.code if place else MISSING["code"]
        elif param == "token":
            kwargs[param] = place.house.qr_token if place else MISSING["token"]
        elif param == "photo_id":
            kwargs[param] = place.photo.pk if place else MISSING_PK
        elif param == "pk" and segment in KIND_BY_SEGMENT:
            kwargs[param] = getattr(place, KIND_BY_SEGMENT[segment]).pk if place else MISSING_PK
        else:
            raise UncheckableError(
                f"{endpoint.label}: the scope matrix does not know the path parameter {param!r}. "
                "Teach test_scope_matrix.py which object of a place it names (KIND_BY_SEGMENT, "
                "world.py) or which values it takes (FIXED_PARAMS), or list the endpoint in "
                "SCOPE_FREE with a reason."
            )
    return kwargs


def fixed_variants(endpoint: Endpoint) -> list[dict[str, str]]:
    variants: list[dict[str, str]] = [{}]
    for param in endpoint.params:
        if param in FIXED_PARAMS:
            variants = [{**v, param: value} for v in variants for value in FIXED_PARAMS[param]]
    return variants


def _id_pattern(value: Any) -> str:
    return rf"(?<![0-9A-Za-z]){re.escape(str(value))}(?![0-9A-Za-z])"


# Every page carries the forms of the header (language, sign-out) with a CSRF token that Django
# masks afresh on each response: two answers are compared without it. A page's <head> is the same
# boilerplate for every answer (and its "initial-scale=1" would read as object 1).
CSRF_TOKEN = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')
HTML_HEAD = re.compile(r"<head>.*?</head>", re.S)


def normalized(text: str, values: list[Any]) -> str:
    text = CSRF_TOKEN.sub(r"\1<CSRF>\2", HTML_HEAD.sub("<head/>", text, count=1))
    for value in sorted({str(v) for v in values}, key=len, reverse=True):
        text = re.sub(_id_pattern(value), "<ID>", text)
    return text


def foreign_markers(place: Any, visible_places: list[Any]) -> list[str]:
    """The place's markers that no visible place shares."""
    shared = {m for other in visible_places for m in other.markers()}
    return [m for m in place.markers() if m not in shared]


def in_scope(place: Any, scope: frozenset[str]) -> bool:
    return any(place.spec.grid.startswith(prefix) for prefix in scope)


def leaked(text: str, markers: list[str]) -> list[str]:
    return [m for m in markers if re.search(rf"(?<![0-9]){re.escape(m)}(?![0-9])", text)]


def snapshot(places: list[Any]) -> list[dict[str, Any]]:
    attrs = (
        "building",
        "house",
        "household",
        "person",
        "residency",
        "organization",
        "component",
        "case",
        "self_registration",
    )
    rows: list[dict[str, Any]] = []
    for place in places:
        for attr in attrs:
            obj = getattr(place, attr)
            rows.append(model_to_dict(type(obj).objects.get(pk=obj.pk)))
        rows.append({"photos": place.case.photos.count()})
    return rows


@dataclass
class Matrix:
    world: World
    operations: dict[tuple[str, str], dict[str, Any]]
    ok_at_home: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    unknown: set[str] = field(default_factory=set)
    calls: int = 0

    def check_persona(self, persona: str, caller: Caller, scope: frozenset[str]) -> None:
        home = self.world["P0"]
        inside = [p for p in self.world.places.values() if in_scope(p, scope)]
        outside = [p for p in self.world.places.values() if p not in inside]
        before = snapshot(outside)
        # The nearest place outside the scope (where a prefix slip shows first) and the farthest;
        # WANGGE_SCOPE_MATRIX_FULL=1 takes every one.
        foreign = outside if FULL or len(outside) < 3 else [outside[0], outside[-1]]
        checked, _left_out = endpoints()
        for endpoint in checked:
            for fixed in fixed_variants(endpoint):
                try:
                    self.check_endpoint(persona, caller, endpoint, fixed, home, inside, foreign)
                except UncheckableError as exc:
                    self.unknown.add(str(exc))
        if snapshot(outside) != before:
            self.problems.append(f"{persona}: a request changed an object outside the scope")

    def check_endpoint(
        self,
        persona: str,
        caller: Caller,
        endpoint: Endpoint,
        fixed: dict[str, str],
        home: Any,
        inside: list[Any],
        foreign: list[Any],
    ) -> None:
        where = f"{persona}: {endpoint.label} {fixed or ''}".rstrip()
        if object_params(endpoint):
            self.check_object(where, caller, endpoint, fixed, home, foreign)
        elif endpoint.method == "get" or endpoint.name in SEARCH_BODIES:
            self.check_list(where, caller, endpoint, fixed, inside, foreign)
        elif endpoint.name in REFUSED_CREATES:
            for place in foreign:
                answer = caller.call(endpoint, fixed, body=REFUSED_CREATES[endpoint.name](place))
                if answer.status < 300:
                    self.problems.append(f"{where}: a create at {place.spec.name} was accepted")
        elif endpoint.name in CREATE_BODIES:
            self.check_create(where, caller, endpoint, fixed, foreign)
        elif endpoint.name not in CREATE_FREE:
            raise UncheckableError(
                f"{endpoint.label}: a create or form post the scope matrix has no body for. Add "
                "one to CREATE_BODIES that names an object of a place (the same body naming a "
                "missing object must answer alike), or to REFUSED_CREATES, or list it in "
                "CREATE_FREE with a reason."
            )

    def check_object(
        self,
        where: str,
        caller: Caller,
        endpoint: Endpoint,
        fixed: dict[str, str],
        home: Any,
        foreign: list[Any],
    ) -> None:
        body_for = ACTION_BODIES.get((endpoint.name, endpoint.method), lambda p, h: {})
        if endpoint.method == "get" and endpoint.label not in self.ok_at_home:
            if caller.call(endpoint, identifiers(endpoint, home, fixed)).status == 200:
                self.ok_at_home.add(endpoint.label)
        missing_kwargs = identifiers(endpoint, None, fixed)
        missing = caller.call(endpoint, missing_kwargs, body=body_for(home, home))
        for place in foreign:
            kwargs = identifiers(endpoint, place, fixed)
            answer = caller.call(endpoint, kwargs, body=body_for(place, home))
            # Both answers lose both identifiers: a small id (1) also stands elsewhere in a page.
            ids = [*missing_kwargs.values(), *kwargs.values()]
            expected = (missing.status, normalized(missing.text, ids))
            if answer.status < 300:
                self.problems.append(
                    f"{where}: {place.spec.name}'s object answered {answer.status}"
                )
            elif (answer.status, normalized(answer.text, ids)) != expected:
                self.problems.append(
                    f"{where}: {place.spec.name}'s object answers {answer.status} "
                    f"{answer.text[:300]!r}, a missing one {missing.status} {missing.text[:300]!r}"
                )

    def check_create(
        self,
        where: str,
        caller: Caller,
        endpoint: Endpoint,
        fixed: dict[str, str],
        foreign: list[Any],
    ) -> None:
        make = CREATE_BODIES[endpoint.name]
        missing = caller.call(endpoint, fixed, body=make(_Missing()))
        for place in foreign:
            answer = caller.call(endpoint, fixed, body=make(place))
            ids = [*_place_ids(_Missing()), *_place_ids(place)]  # both lose both (check_object)
            expected = (missing.status, normalized(missing.text, ids))
            got = (answer.status, normalized(answer.text, ids))
            if answer.status < 300 or got != expected:
                self.problems.append(
                    f"{where}: naming {place.spec.name}'s object answers {answer.status} "
                    f"{answer.text[:300]!r}, naming a missing one {missing.status} "
                    f"{missing.text[:300]!r}"
                )

    def check_list(
        self,
        where: str,
        caller: Caller,
        endpoint: Endpoint,
        fixed: dict[str, str],
        inside: list[Any],
        foreign: list[Any],
    ) -> None:
        markers = {p.spec.name: foreign_markers(p, inside) for p in foreign}
        search = SEARCH_BODIES.get(endpoint.name)
        operation = self.operations.get((endpoint.name, endpoint.method), {})
        declared = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
        filters = {k: f for k, f in FOREIGN_FILTERS.items() if not endpoint.api or k in declared}
        if point := POINT_QUERIES.get(endpoint.name):
            if inside and caller.call(endpoint, fixed, query=point(inside[0])).status == 200:
                self.ok_at_home.add(endpoint.label)
            for place in foreign:
                answer = caller.call(endpoint, fixed, query=point(place))
                self._scan(f"{where} (aimed at {place.spec.name})", answer, markers)
            return
        if search is None:
            plain = caller.call(endpoint, fixed)
            if plain.status == 200:
                self.ok_at_home.add(endpoint.label)
            elif inside and filters and endpoint.label not in self.ok_at_home:
                # A list that wants a filter: aimed at home, it must answer.
                query = {k: f(inside[0]) for k, f in filters.items()}
                if caller.call(endpoint, fixed, query=query).status == 200:
                    self.ok_at_home.add(endpoint.label)
            self._scan(where, plain, markers)
        elif inside and endpoint.label not in self.ok_at_home:
            if caller.call(endpoint, fixed, body=search(inside[0])).status == 200:
                self.ok_at_home.add(endpoint.label)
        for place in foreign:
            if search is not None:
                answer = caller.call(endpoint, fixed, body=search(place))
            elif filters:
                query = {k: f(place) for k, f in filters.items()}
                answer = caller.call(endpoint, fixed, query=query)
            else:
                continue
            self._scan(f"{where} (aimed at {place.spec.name})", answer, markers)

    def check_sees_inside(
        self, persona: str, caller: Caller, reference: Caller, scope: frozenset[str]
    ) -> None:
        """Where ``reference`` (grid A) reads its home object or finds it in a plain list, the
        persona reads the object of every place of his scope and finds each in the list."""
        home = self.world["P0"]
        inside = [p for p in self.world.places.values() if in_scope(p, scope)]
        for endpoint in endpoints()[0]:
            if endpoint.method != "get" or endpoint.name in POINT_QUERIES:
                continue
            for fixed in fixed_variants(endpoint):
                where = f"{persona}: {endpoint.label} {fixed or ''}".rstrip()
                if object_params(endpoint):
                    if reference.call(endpoint, identifiers(endpoint, home, fixed)).status != 200:
                        continue
                    for place in inside:
                        answer = caller.call(endpoint, identifiers(endpoint, place, fixed))
                        if answer.status != 200:
                            self.problems.append(
                                f"{where}: {place.spec.name}'s object answered {answer.status}"
                            )
                    continue
                seen = reference.call(endpoint, fixed)
                if seen.status != 200 or not leaked(seen.text, [home.tag]):
                    continue
                answer = caller.call(endpoint, fixed)
                for place in inside:
                    if answer.status != 200 or not leaked(answer.text, [place.tag]):
                        self.problems.append(f"{where}: does not show {place.spec.name}")

    def _scan(self, where: str, answer: Answer, markers: dict[str, list[str]]) -> None:
        if answer.status >= 300:
            return
        for name, wanted in markers.items():
            if found := leaked(answer.text, wanted):
                self.problems.append(f"{where}: shows {name}'s {found}")


class _Missing:
    """A stand-in place whose objects do not exist, for the create bodies."""

    class _Obj:
        pk = MISSING_PK
        code = MISSING["grid"]

    building = house = person = self_registration = grid = _Obj()


def _place_ids(place: Any) -> list[Any]:
    return [
        place.building.pk,
        place.house.pk,
        place.self_registration.pk,
        place.grid.code,
    ]


# The tests -------------------------------------------------------------------------------------------


@pytest.fixture
def world(cast, settings, tmp_path) -> World:
    settings.MEDIA_ROOT = tmp_path
    return build_world(home_importer=cast.commander)


GRIDS_A_AND_P2 = frozenset({PLACES[0].grid, PLACES[2].grid})


@pytest.fixture
def personas(cast) -> dict[str, tuple[User, frozenset[str]]]:
    """Persona → (user, scope prefixes); the empty set sees nothing."""
    street = make_user("street_s", role="street_officer", scope="110102001")
    two_grids = make_user("worker_a_p2", role="grid_worker", scope=sorted(GRIDS_A_AND_P2))
    return {
        "grid A": (cast.grid_worker_a, frozenset({"110102001001001"})),
        "grids A and P2": (two_grids, GRIDS_A_AND_P2),
        "community C": (cast.community_officer, frozenset({"110102001001"})),
        "street S": (street, frozenset({"110102001"})),
        "street dispatcher": (cast.street_dispatcher, frozenset({"110102001"})),
        "district D": (cast.commander, frozenset({"110102"})),
        "none": (cast.nobody, frozenset()),
    }


def test_the_world_has_one_place_per_scope_level():
    grid, community, street, district = "110102001001001", "110102001001", "110102001", "110102"
    codes = [spec.grid for spec in PLACES]
    assert [c.startswith(grid) for c in codes] == [True, False, False, False, False]
    assert [c.startswith(community) for c in codes] == [True, True, False, False, False]
    assert [c.startswith(street) for c in codes] == [True, True, True, False, False]
    assert [c.startswith(district) for c in codes] == [True, True, True, True, False]


@pytest.mark.django_db
def test_every_api_endpoint_of_the_url_conf_is_an_openapi_operation_and_back():
    checked, left_out = endpoints()
    in_urls = {(e.name, e.method) for e in checked if e.api}
    in_schema = {key for key in openapi_operations() if key[0] not in left_out}
    assert in_urls - in_schema == set(), "endpoints missing from the OpenAPI document"
    assert in_schema - in_urls == set(), "operations the URL walk did not find"
    assert len(in_urls) >= 50


@pytest.mark.django_db
def test_a_report_outside_the_scope_shows_only_itself(world, cast):
    """Why api:cases is in CREATE_FREE: reporting at another grid's point is allowed."""
    client = APIClient()
    client.force_authenticate(cast.grid_worker_a)
    far = world["P3"]
    body = {
        "source": "patrol",
        "category": far.case.category_id,
        "description": "路灯不亮",
        "lng": far.spec.point[0],
        "lat": far.spec.point[1],
    }

    created = client.post("/api/v1/cases/", body, format="json")
    listed = client.get("/api/v1/cases/", {"limit": 100})

    assert created.status_code == 201, created.json()
    numbers = {row["number"] for row in listed.json()["results"]}
    assert created.json()["number"] in numbers
    assert far.case.number not in numbers
    assert world["P0"].case.number in numbers


@pytest.mark.django_db
def test_the_matrix_sees_a_selector_that_forgets_the_scope(world, cast, monkeypatch):
    """The matrix can fail: with the registry's scope filter gone, grid A sees P1's building."""
    monkeypatch.setattr("wangge.registry.selectors._scoped", lambda queryset, user: queryset)
    matrix = Matrix(world, openapi_operations())
    caller = Caller(cast.grid_worker_a)
    wanted = {("api:buildings", "get"), ("api:building", "get")}
    for endpoint in [e for e in endpoints()[0] if (e.name, e.method) in wanted]:
        matrix.check_endpoint(
            "grid A", caller, endpoint, {}, world["P0"], [world["P0"]], [world["P1"]]
        )

    assert [p.split(": ", 1)[1] for p in matrix.problems] == [
        "GET /api/v1/buildings/ (api:buildings): shows P1's ['泄漏P1', '110102001001002']",
        "GET /api/v1/buildings/ (api:buildings) (aimed at P1): shows P1's "
        "['泄漏P1', '110102001001002']",
        "GET /api/v1/buildings/<int:pk>/ (api:building): P1's object answered 200",
    ]


@pytest.mark.django_db
def test_the_matrix_sees_a_scope_that_keeps_one_grid_of_several(world, personas, monkeypatch):
    """The "sees every grid of his scope" check can fail: with the scope cut to the first grant,
    the two-grid worker misses P2's building in the list and in its detail."""
    from wangge.core import scope as core_scope

    load = core_scope._prefixes._load
    monkeypatch.setattr(
        core_scope._prefixes, "_load", lambda user_id: frozenset(sorted(load(user_id))[:1])
    )
    wanted = {"api:buildings", "api:building"}
    monkeypatch.setattr(
        "wangge.proof.tests.test_scope_matrix.endpoints",
        lambda: ([e for e in _all_endpoints()[0] if e.name in wanted], set()),
    )
    matrix = Matrix(world, openapi_operations())
    two_grids, scope = personas["grids A and P2"]
    matrix.check_sees_inside("two", Caller(two_grids), Caller(personas["grid A"][0]), scope)

    assert [p.split(": ", 1)[1] for p in matrix.problems] == [
        "GET /api/v1/buildings/ (api:buildings): does not show P2",
        "GET /api/v1/buildings/<int:pk>/ (api:building): P2's object answered 404",
    ]


_all_endpoints = endpoints


@pytest.mark.slow
@pytest.mark.django_db
def test_no_endpoint_shows_another_regions_objects(world, personas):
    matrix = Matrix(world, openapi_operations())
    callers: dict[str, Caller] = {}
    for persona, (user, scope) in personas.items():
        callers[persona] = Caller(user)
        matrix.check_persona(persona, callers[persona], scope)
    matrix.check_sees_inside(
        "grids A and P2", callers["grids A and P2"], callers["grid A"], GRIDS_A_AND_P2
    )
    checked, _left_out = endpoints()
    never_ok = sorted(
        e.label
        for e in checked
        if e.method == "get" and e.label not in matrix.ok_at_home and e.name not in NOTHING_AT_HOME
    )

    assert not matrix.unknown, "endpoints the matrix cannot check:\n" + "\n".join(
        sorted(matrix.unknown)
    )
    assert not matrix.problems, f"{len(matrix.problems)} leaks:\n" + "\n".join(matrix.problems)
    assert never_ok == [], (
        f"no persona could read these at home, so their check is blind: {never_ok}"
    )
    pii = world.pii()
    for caller in callers.values():
        for request, answer in caller.answers:
            assert find_pii(answer.text, known=pii) == [], f"{request} shows a full number"


@pytest.mark.django_db
def test_a_superuser_sees_every_places_cases_as_well_as_its_registry(world):
    """Superusers see everything: the cases agree with the registry (an empty scope filter once
    vanished when OR-ed with "own reports" and left them only their own)."""
    root = make_user("root", role=None, is_superuser=True)
    caller = Caller(root)
    endpoints_by_name = {e.name: e for e in endpoints()[0] if e.method == "get"}
    cases = caller.call(endpoints_by_name["api:cases"], {}, query={"limit": 100})
    buildings = caller.call(endpoints_by_name["api:buildings"], {})

    for place in world.places.values():
        assert place.case.number in cases.text, place.spec.name
        assert place.tag in buildings.text, place.spec.name
        assert (
            caller.call(endpoints_by_name["api:case"], {"number": place.case.number}).status == 200
        )
        page = caller.call(endpoints_by_name["web:console-case"], {"number": place.case.number})
        assert page.status == 200, place.spec.name
