"""Every rule of the links seed's field table, and the message naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.errors import BadRequest
from linkservice.validation import parse_link_request

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z
URL = {"type": "url", "targetUrl": "https://example.com/x", "password": "pass", "memo": "m"}
MEMO = {"type": "memo", "secretMemo": "s", "password": "pass", "memo": "m"}


def refused(body: dict[str, Any]) -> str:
    with pytest.raises(BadRequest) as error:
        parse_link_request(body, now=NOW)
    return error.value.message


def test_the_seeds_examples_are_accepted() -> None:
    url = parse_link_request({**URL, "redirectLimit": 3}, now=NOW)
    assert (url.type, url.secret, url.redirect_limit) == ("url", "https://example.com/x", 3)
    memo = parse_link_request(MEMO, now=NOW)
    assert (memo.type, memo.secret, memo.slug) == ("memo", "s", None)
    alias = parse_link_request(
        {**{k: v for k, v in URL.items() if k != "targetUrl"}, "link": "http://a.example"}, now=NOW
    )
    assert alias.secret == "http://a.example"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({k: v for k, v in URL.items() if k != "type"}, "type"),
        ({**URL, "type": "file"}, "type"),
        ({**URL, "type": 1}, "type"),
        ({k: v for k, v in URL.items() if k != "targetUrl"}, "targetUrl"),
        ({**URL, "targetUrl": "ftp://example.com"}, "targetUrl"),
        ({**URL, "targetUrl": "/relative"}, "targetUrl"),
        ({**URL, "targetUrl": "https://"}, "targetUrl"),
        ({**URL, "targetUrl": "https://exa mple.com"}, "targetUrl"),
        ({**URL, "targetUrl": 5}, "targetUrl"),
        ({**URL, "link": "https://b.example"}, "targetUrl and link"),
        ({**URL, "secretMemo": "x"}, "secretMemo"),
        ({**MEMO, "targetUrl": "https://example.com"}, "targetUrl"),
        ({**MEMO, "link": "https://example.com"}, "link"),
        ({k: v for k, v in MEMO.items() if k != "secretMemo"}, "secretMemo"),
        ({**MEMO, "secretMemo": "   "}, "secretMemo"),
        ({k: v for k, v in URL.items() if k != "password"}, "password"),
        ({**URL, "password": "abc"}, "password"),
        ({**URL, "password": 1234}, "password"),
        ({k: v for k, v in URL.items() if k != "memo"}, "memo"),
        ({**URL, "memo": ""}, "memo"),
        ({**URL, "memo": "x" * 201}, "memo"),
        ({**URL, "customSlug": "AB-cd"}, "customSlug"),
        ({**URL, "customSlug": "ab"}, "customSlug"),
        ({**URL, "customSlug": "a" * 31}, "customSlug"),
        ({**URL, "customSlug": "a_b_c"}, "customSlug"),
        ({**URL, "customSlug": "dashboard"}, "customSlug"),
        ({**URL, "customSlug": 123}, "customSlug"),
        ({**URL, "redirectLimit": 0}, "redirectLimit"),
        ({**URL, "redirectLimit": -1}, "redirectLimit"),
        ({**URL, "redirectLimit": 1.5}, "redirectLimit"),
        ({**URL, "redirectLimit": "3"}, "redirectLimit"),
        ({**URL, "redirectLimit": True}, "redirectLimit"),
        ({**URL, "startTime": "tomorrow"}, "startTime"),
        ({**URL, "startTime": 1800000000}, "startTime"),
        ({**URL, "expireTime": "2020-01-01T00:00:00Z"}, "expireTime"),
        (
            {**URL, "startTime": "2027-03-01T00:00:00Z", "expireTime": "2027-02-01T00:00:00Z"},
            "expireTime",
        ),
        ({**URL, "colour": "red"}, "colour"),
    ],
)
def test_each_rule_names_its_field(body: dict[str, Any], field: str) -> None:
    assert refused(body).startswith(field)


def test_slugs_and_times() -> None:
    ok = parse_link_request(
        {
            **URL,
            "customSlug": "q3-report-2027",
            "startTime": "2027-02-01T10:00:00",
            "expireTime": "2027-02-02T10:00:00+02:00",
        },
        now=NOW,
    )
    assert ok.slug == "q3-report-2027"
    assert ok.start_time == 1801476000.0  # no zone means UTC
    assert ok.expire_time == 1801476000.0 + 86400 - 7200
    assert parse_link_request({**URL, "startTime": "2027-02-01"}, now=NOW).start_time == (
        1801440000.0
    )
