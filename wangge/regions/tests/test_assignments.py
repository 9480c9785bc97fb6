"""Reassigning a grid worker to another grid."""

from __future__ import annotations

import pytest

from wangge.core.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from wangge.core.models import AuditLog, User
from wangge.core.scope import scope_prefixes
from wangge.regions.assignments import worker_reassign
from wangge.testing.factories import make_user

pytestmark = pytest.mark.django_db
GRID_A = "110102001001001"
GRID_A2 = "110102001001002"
GRID_B = "110102003002004"


def test_a_community_officer_moves_his_worker_to_another_grid_of_the_community(cast):
    result = worker_reassign(
        username="worker_a", to_grid_code=GRID_A2, reason="人员调整", actor=cast.community_officer
    )
    assert (result.from_grid, result.to_grid) == (GRID_A, GRID_A2)
    assert scope_prefixes(User.objects.get(username="worker_a")) == {GRID_A2}
    audit = AuditLog.objects.get(action="core.worker_reassign")
    assert audit.actor == cast.community_officer
    assert audit.details == {
        "username": "worker_a",
        "from_grid": GRID_A,
        "to_grid": GRID_A2,
        "reason": "人员调整",
    }


def test_across_streets_takes_the_district(cast):
    with pytest.raises(InvalidInputError) as caught:
        worker_reassign(
            username="worker_a", to_grid_code=GRID_B, reason="跨街道", actor=cast.community_officer
        )
    assert "to_grid" in caught.value.errors
    worker_reassign(username="worker_a", to_grid_code=GRID_B, reason="跨街道", actor=cast.commander)
    assert scope_prefixes(User.objects.get(username="worker_a")) == {GRID_B}


def test_who_and_whom(cast):
    with pytest.raises(PermissionDeniedError):
        worker_reassign(
            username="worker_b", to_grid_code=GRID_A, reason="自己调", actor=cast.grid_worker_a
        )
    with pytest.raises(NotFoundError):
        worker_reassign(
            username="worker_b",
            to_grid_code=GRID_A2,
            reason="别的社区",
            actor=cast.community_officer,
        )
    with pytest.raises(InvalidInputError, match="not a grid worker"):
        worker_reassign(
            username="officer_a", to_grid_code=GRID_A2, reason="不是网格员", actor=cast.commander
        )
    with pytest.raises(InvalidInputError) as caught:
        worker_reassign(username="worker_a", to_grid_code=GRID_A, reason="", actor=cast.commander)
    assert set(caught.value.errors) == {"reason", "to_grid"}
    assert not AuditLog.objects.filter(action="core.worker_reassign").exists()


def test_a_worker_of_several_grids_is_not_reassigned_here(cast):
    make_user("worker_ab", role="grid_worker", scope=[GRID_A, GRID_A2])
    with pytest.raises(InvalidInputError, match="several grids") as caught:
        worker_reassign(
            username="worker_ab", to_grid_code=GRID_A2, reason="合并", actor=cast.commander
        )
    assert "username" in caught.value.errors
    assert scope_prefixes(User.objects.get(username="worker_ab")) == {GRID_A, GRID_A2}
