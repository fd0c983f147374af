"""The link service, built once from the core: links, API keys, quotas and limits,
and the JSON shapes the API and the dashboard share."""

from __future__ import annotations

from gateway.apikeys import ApiKeyInfo
from gateway.core import Core
from gateway.counters import Limit, LimitReached
from gateway.errors import RateLimited
from gateway.throttle import Attempts, Budget
from gateway.timefmt import iso
from linkservice.links import LinkInfo, Links, WrongPassword
from linkservice.sealing import KeyDerivation


class LinkService:
    def __init__(self, core: Core) -> None:
        config = core.config
        self.core = core
        window = config.link_guess_window
        self.links = Links(
            core.db,
            core.counters,
            core.passwords,
            KeyDerivation(
                time_cost=config.argon2_time_cost,
                memory_cost=config.argon2_memory_cost,
                parallelism=config.argon2_parallelism,
                gate=core.passwords.gate,
            ),
            core.clock,
            Attempts(
                core.counters,
                [
                    Budget("link-guess:address", config.link_guesses, window),
                    Budget("link-guess:link", config.link_guesses_per_link, window),
                ],
                refusal="too many wrong passwords for this link; wait before trying again",
                failure=WrongPassword,
            ),
        )

    def monthly_quota(self, account_id: int) -> Limit:
        """The account's API-created links this calendar month (UTC)."""
        return self.core.counters.monthly(
            f"links:month:{account_id}", self.core.config.links_monthly_quota
        )

    def admit(self, key: ApiKeyInfo) -> None:
        """Count one API request against the key's per-minute and 10-second limits, or
        raise RateLimited (a refused request is not counted)."""
        config = self.core.config
        counters = self.core.counters
        try:
            counters.take(
                [
                    counters.fixed(f"links:minute:{key.id}", config.links_per_minute, 60),
                    counters.fixed(f"links:10s:{key.id}", config.links_per_10s, 10),
                ]
            )
        except LimitReached as reached:
            wait = reached.limit.retry_after(self.core.clock())
            limit = reached.limit
            seconds = round(limit.resets_at - limit.start)
            per = "minute" if seconds == 60 else f"{seconds} seconds"
            raise RateLimited(
                f"rate limit: at most {limit.limit} requests per {per} per API key; "
                f"retry in {wait} s",
                retry_after=wait,
            ) from None

    def quota_headers(self, quota: Limit, used: int | None = None) -> dict[str, str]:
        """``X-Api-Quota-*``: the monthly limit, what is left, and when it resets
        (Unix seconds)."""
        if used is None:
            used = self.core.counters.used(quota)
        return {
            "X-Api-Quota-Limit": str(quota.limit),
            "X-Api-Quota-Remaining": str(max(0, quota.limit - used)),
            "X-Api-Quota-Reset": str(int(quota.resets_at)),
        }

    def short_url(self, slug: str) -> str:
        return f"{self.core.config.public_url}/{slug}"

    def link_json(self, info: LinkInfo) -> dict[str, object]:
        return {
            "id": info.id,
            "slug": info.slug,
            "shortUrl": self.short_url(info.slug),
            "type": info.type,
            "memo": info.memo,
            "redirectLimit": info.redirect_limit,
            "accessCount": info.access_count,
            "startTime": _iso_or_none(info.start_time),
            "expireTime": _iso_or_none(info.expire_time),
            "createdAt": iso(info.created_at),
            "source": info.source,
        }


def key_json(info: ApiKeyInfo | None) -> dict[str, object] | None:
    """Metadata only: never the key or its hash."""
    if info is None:
        return None
    return {
        "prefix": info.prefix,
        "createdAt": iso(info.created_at),
        "lastUsedAt": _iso_or_none(info.last_used_at),
    }


def _iso_or_none(seconds: float | None) -> str | None:
    return None if seconds is None else iso(seconds)
