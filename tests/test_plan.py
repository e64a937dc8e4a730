"""The plan stage and the keys between stages: frozen values, keyed by inputs, then by results."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from conftest import deals_site

from gtmsite.config import load_config
from gtmsite.execute import PageData, content_key
from gtmsite.plan import KeyInputs, plan_site
from gtmsite.queries import QueryResult

REPORTS = {
    "reports/index.md": "# Home\n",
    "reports/channels/[channel].md": "---\npages: select distinct channel from deals order by 1\n---\n\n"
                                     "# {{ params.channel }}\n\n```sql n\nselect count(*) as n from deals "
                                     "where channel = $channel\n```\n",
}


def plan_for(project, fingerprint: str):
    config = load_config(project)

    def pages_query(name, sql, rel, line):
        assert sql == "select distinct channel from deals order by 1"
        return QueryResult(name, ("channel",), ("VARCHAR",), (("Organic",), ("Paid Search",)))

    inputs = KeyInputs("theme", config, False, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    return plan_site(config, pages_query, lambda report: fingerprint, inputs, None)


def test_the_plan_is_frozen_pages_navigation_and_keys(tmp_path):
    plan = plan_for(deals_site(tmp_path / "site", REPORTS), "data-1")
    assert [p.url for p in plan.pages] == ["/", "/channels/organic/", "/channels/paid-search/", "/channels/"]
    assert [item.url for item in plan.nav] == ["/", "/channels/"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.pages = ()  # type: ignore[misc]
    other = plan_for(deals_site(tmp_path / "site"), "data-2")
    assert plan.base_keys == other.base_keys  # the inputs without the data are the same
    assert plan.keys["/channels/organic/"] != other.keys["/channels/organic/"]  # the data is not


def test_a_page_key_follows_its_own_results():
    def data(*rows):
        return PageData({"n": QueryResult("n", ("n",), ("BIGINT",), rows)})

    assert content_key("base", data((1,))) == content_key("base", data((1,)))
    assert content_key("base", data((1,))) != content_key("base", data((2,)))
    assert content_key("base", data((1,))) != content_key("other", data((1,)))
