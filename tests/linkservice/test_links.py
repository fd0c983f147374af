"""The links domain on both databases: creation with the quota in one transaction,
paging, per-link guess throttling from many addresses, atomic access counting."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable

import pytest

from gateway.clock import ManualClock
from gateway.core import Core
from gateway.errors import BadRequest, Conflict, Gone, QuotaExceeded, RateLimited
from linkservice.links import WrongPassword
from linkservice.service import LinkService
from linkservice.validation import parse_link_request
from tests.conftest import PASSWORD, CoreFactory, count_verifications, in_parallel

BODY = {"type": "url", "targetUrl": "https://example.com/t", "password": "pass", "memo": "m"}


ServiceFactory = Callable[..., tuple[LinkService, ManualClock, int]]


@pytest.fixture
def make_service(make_core: CoreFactory, database_url: str) -> ServiceFactory:
    """A link service with its clock and the id of its account alice."""

    def factory(**settings: object) -> tuple[LinkService, ManualClock, int]:
        clock = ManualClock()
        core: Core = make_core(database_url, clock=clock, **settings)
        account = core.accounts.create("alice", "alice@example.com", PASSWORD)
        return LinkService(core), clock, account.id

    return factory


@pytest.fixture
def service(make_service: ServiceFactory) -> tuple[LinkService, ManualClock, int]:
    return make_service(link_guesses=100, link_guesses_per_link=3, links_monthly_quota=3)


def test_quota_counts_only_created_links(service: tuple[LinkService, ManualClock, int]) -> None:
    links, _clock, alice = service[0].links, service[1], service[2]
    quota = service[0].monthly_quota(alice)
    request = parse_link_request({**BODY, "customSlug": "taken-slug"}, now=0)
    assert links.create(alice, request, source="api", quota=quota)[1] == 1
    with pytest.raises(Conflict):
        links.create(alice, request, source="api", quota=quota)
    plain = parse_link_request(BODY, now=0)
    assert links.create(alice, plain, source="api", quota=quota)[1] == 2
    assert links.create(alice, plain, source="dashboard")[1] is None  # not counted
    assert links.create(alice, plain, source="api", quota=quota)[1] == 3
    with pytest.raises(QuotaExceeded):
        links.create(alice, plain, source="api", quota=quota)
    page, cursor = links.page(alice, limit=3)
    assert len(page) == 3 and cursor is not None
    rest, end = links.page(alice, cursor=cursor, limit=3)
    assert len(rest) == 1 and end is None
    with pytest.raises(BadRequest):
        links.page(alice, cursor="not-a-cursor")


def test_guesses_are_limited_per_link_from_any_address(
    service: tuple[LinkService, ManualClock, int],
) -> None:
    links, clock, alice = service[0].links, service[1], service[2]
    info, _ = links.create(alice, parse_link_request(BODY, now=0), source="api")
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        with pytest.raises(WrongPassword):
            links.unlock(info.slug, "guess", address=address)
    with pytest.raises(RateLimited) as limited:
        links.unlock(info.slug, "pass", address="10.0.0.4")
    assert limited.value.retry_after and limited.value.retry_after > 0
    clock.advance(900)
    _info, revealed = links.unlock(info.slug, "pass", address="10.0.0.4")
    assert revealed.secret == "https://example.com/t"


def test_accesses_are_counted_atomically(make_service: ServiceFactory) -> None:
    # Each unlock holds one guess while its password is checked: leave room for all.
    service = make_service(link_guesses_per_link=10)
    links, alice = service[0].links, service[2]
    request = parse_link_request({**BODY, "redirectLimit": 4}, now=0)
    info, _ = links.create(alice, request, source="api")

    def attempt(index: int) -> str:
        try:
            return links.unlock(info.slug, "pass", address=f"10.1.0.{index}")[1].secret
        except Gone:
            return "gone"

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        results = list(pool.map(attempt, range(10)))
    assert results.count("https://example.com/t") == 4 and results.count("gone") == 6
    assert links.preview(info.slug).access_count == 4


def test_parallel_guesses_run_at_most_the_limit(
    service: tuple[LinkService, ManualClock, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guesses at once from many addresses: at most ``link_guesses_per_link`` passwords
    are checked, the rest are 429 unchecked; right passwords do not use the budget."""
    links, alice = service[0].links, service[2]
    info, _ = links.create(alice, parse_link_request(BODY, now=0), source="api")
    for index in range(5):
        assert links.unlock(info.slug, "pass", address=f"10.2.0.{index}")[1].secret
    calls = count_verifications(service[0].core, monkeypatch, seconds=0.05)
    results = in_parallel(
        lambda index: links.unlock(info.slug, f"guess {index}", address=f"10.2.{index}.1"),
        range(50),
    )
    assert calls == [3]
    assert sum(isinstance(r, WrongPassword) for r in results) == 3
    assert sum(isinstance(r, RateLimited) for r in results) == 47
