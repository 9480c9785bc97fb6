"""A small world for the security suites: one of every scoped object in five places.

Place P0 is grid A (110102001001001), home of every scoped persona. The other places sit ever
further away: P1 the next grid of the same community, P2 another community of the same street, P3
another street, P4 another district (110105, loaded next to the test district). A persona scoped to
grid A, community C, street S or district D sees P0 and the places inside its scope; everything
else is "another region" and must not leak.

Every object carries its place's tag (泄漏P3 …) in a name or address, so a response can be scanned
for a place's objects without knowing the endpoint's format. Every person has a full ID number and
a phone number that no response, log line or database column may show in clear.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass, field
from datetime import date

from PIL import Image
from shapely.geometry import box

from wangge.cases.models import Case, CasePhoto
from wangge.cases.photos import prepare_photo, store_photos
from wangge.cases.tests import factories as cf
from wangge.core.models import User
from wangge.lib.idnumbers import resident_id_check_digit
from wangge.regions.models import Grid, Region
from wangge.regions.services import territory_import
from wangge.registry import lifecycle, selfregistration
from wangge.registry.models import (
    Building,
    Component,
    House,
    Household,
    LedgerImport,
    Organization,
    Person,
    Residency,
    SelfRegistration,
)
from wangge.registry.tests import factories as rf
from wangge.testing.factories import collection, feature, make_user

OTHER_DISTRICT = "110105"


@dataclass(frozen=True)
class PlaceSpec:
    name: str
    grid: str  # the social grid's code
    unit: str  # the unit grid (万米单元网格) covering it
    point: tuple[float, float]

    @property
    def tag(self) -> str:
        return f"泄漏{self.name}"

    @property
    def community(self) -> str:
        return self.grid[:12]


PLACES = (
    PlaceSpec("P0", "110102001001001", "110102001001001", (116.31, 39.93)),
    PlaceSpec("P1", "110102001001002", "110102001001001", (116.34, 39.93)),
    PlaceSpec("P2", "110102001002001", "110102001002001", (116.31, 39.89)),
    PlaceSpec("P3", "110102003002004", "110102003002001", (116.39, 39.87)),
    PlaceSpec("P4", "110105001001001", "110105001001001", (116.45, 39.90)),
)

_serials = itertools.count(500)


def pii_id(sequence: int) -> str:
    """A valid resident ID number (area 110102, born 1975-03-04) used only by this world."""
    body = f"11010219750304{sequence:03d}"
    return body + resident_id_check_digit(body)


def pii_phone(sequence: int) -> str:
    return f"139{sequence:08d}"


@dataclass
class Place:
    spec: PlaceSpec
    grid: Grid
    community: Region
    building: Building
    house: House
    household: Household
    person: Person
    residency: Residency
    organization: Organization
    component: Component
    case: Case
    photo: CasePhoto
    self_registration: SelfRegistration
    ledger_import: LedgerImport
    id_number: str
    phone: str
    org_phone: str
    reporter_phone: str
    tenant_id_number: str
    tenant_phone: str

    @property
    def tag(self) -> str:
        return self.spec.tag

    def markers(self) -> list[str]:
        """Strings that appear in a response only when one of this place's objects is in it."""
        return [self.tag, self.spec.grid, self.case.number]


@dataclass
class World:
    places: dict[str, Place] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Place:
        return self.places[name]

    def pii(self) -> list[str]:
        """Every full number planted in the world."""
        return [
            value
            for place in self.places.values()
            for value in (
                place.id_number,
                place.phone,
                place.org_phone,
                place.reporter_phone,
                place.tenant_id_number,
                place.tenant_phone,
            )
        ]


def load_other_district() -> None:
    """District 110105 east of the test district: one street, one community, one grid of each
    layer."""
    west, south, east, north = 116.40, 39.86, 116.50, 39.94
    features = [
        feature(OTHER_DISTRICT, "外区", "district", None, box(west, south, east, north)),
        feature("110105001", "外区街道", "street", "110105", box(west, south, east, north)),
        feature(
            "110105001001", "外区社区", "community", "110105001", box(west, south, east, north)
        ),
        feature(
            "110105001001001",
            "外区第1网格",
            "grid",
            "110105001001",
            box(west, south, east, north),
            layer="social",
        ),
        feature(
            "110105001001001",
            "外区单元网格",
            "grid",
            "110105001001",
            box(west, south, east, north),
            layer="unit",
        ),
    ]
    report = territory_import(data=collection(features), actor=None)
    assert report.ok, report.problems


def png() -> io.BytesIO:
    stream = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(stream, format="PNG")
    stream.seek(0)
    return stream


def make_place(spec: PlaceSpec, sequence: int, importer: User) -> Place:
    id_number, phone, org_phone = pii_id(sequence), pii_phone(sequence), pii_phone(sequence + 50)
    building = rf.building(spec.grid, name=f"{spec.tag}楼", address=f"{spec.tag}路{sequence}号")
    house = rf.house(building, room=f"{spec.tag}室", rented=True)
    registration = rf.register(house, name=f"{spec.tag}居民", id_number=id_number, phone=phone)
    household = rf.household(house, head=registration.person)
    # A photo, so the scope matrix reads web:registry-person-photo-file at home and abroad.
    lifecycle.person_photo_set(person=registration.person, stream=png(), actor=None)
    organization = rf.organization(
        spec.grid, name=f"{spec.tag}商店", contact_name="联系人", contact_phone=org_phone
    )
    component = rf.component(
        spec.unit,
        at=spec.point,
        name=f"{spec.tag}井盖",
        component_id=f"{spec.grid[:6]}01001{next(_serials):06d}",
    )
    case = cf.report(
        None,
        at=spec.point,
        cat=cf.category(),
        reporter_name=f"{spec.tag}报告人",
        reporter_phone=pii_phone(sequence + 80),
    )
    Case.objects.filter(pk=case.pk).update(
        description=f"{spec.tag}井盖破损", address=f"{spec.tag}路"
    )
    case.refresh_from_db()
    # Stored as intake stores it (no user to ask: the world's cases have no reporter account).
    (photo,) = store_photos(case, [prepare_photo(kind=CasePhoto.Kind.BEFORE, stream=png())], None)
    tenant = selfregistration.TenantDetails(
        name=f"{spec.tag}租客",
        id_number=pii_id(sequence + 20),
        phone=pii_phone(sequence + 20),
        moved_in_on=date(2025, 3, 1),
    )
    self_registration = selfregistration.self_registration_submit(house=house, details=tenant)
    ledger_import = LedgerImport.objects.create(
        kind="people", file_name=f"{spec.tag}.csv", file_format="csv", created_by=importer
    )
    return Place(
        spec=spec,
        grid=Grid.objects.get(layer_id="social", code=spec.grid),
        community=Region.objects.get(code=spec.community),
        building=building,
        house=house,
        household=household,
        person=registration.person,
        residency=registration.residency,
        organization=organization,
        component=component,
        case=case,
        photo=photo,
        id_number=id_number,
        phone=phone,
        org_phone=org_phone,
        reporter_phone=pii_phone(sequence + 80),
        self_registration=self_registration,
        ledger_import=ledger_import,
        tenant_id_number=tenant.id_number,
        tenant_phone=tenant.phone,
    )


def build_world(*, home_importer: User) -> World:
    """Needs the test territory (the ``territory`` fixture) already loaded. The ledger import of
    P0 is ``home_importer``'s; the other places' are another user's (imports belong to a user)."""
    load_other_district()
    stranger = make_user("importer", role="community_officer", scope="110102003002")
    world = World()
    for number, spec in enumerate(PLACES):
        importer = home_importer if spec.name == "P0" else stranger
        world.places[spec.name] = make_place(spec, 100 + number, importer)
    return world
