"""The fake LRS itself (driven over HTTP from another process, as the local stack does) and the
credentials cache in front of Secrets Manager."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

import pytest
from s2s.adapters import lrs_registry
from s2s.adapters.lrs import LrsClient, LrsCredentials, RetryPolicy
from s2s.contracts.uln import DemographicSearch
from s2s.domain import errors
from s2s.services.registration import credentials_for
from s2s_cli.fake_lrs import DEFAULT_PASSWORD, DEFAULT_USERNAME, FakeLrs

pytestmark = pytest.mark.functional

SEARCH = DemographicSearch.parse(
    {
        "given_name": "Oliver",
        "family_name": "Brook",
        "date_of_birth": "2009-11-03",
        "gender": 1,
        "postcode": "MK45 2DD",
    }
)


def post_json(url: str, value: object) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(value).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_scenarios_can_be_set_over_http(lrs: FakeLrs):
    state = post_json(f"{lrs.base_url}/_scenario", {"scenario": "too_many"})
    once = post_json(f"{lrs.base_url}/_scenario", {"scenario": "no_match", "once": True})
    client = LrsClient(lrs.url, lambda: LrsCredentials("10000001", DEFAULT_USERNAME, DEFAULT_PASSWORD))

    assert state["scenario"] == "too_many"
    assert once["queued"] == ["no_match"]
    with pytest.raises(errors.NotFound) as first:
        client.find_by_demographics(SEARCH)
    with pytest.raises(errors.InvalidRequest) as second:
        client.find_by_demographics(SEARCH)
    assert first.value.code == "learner_not_found"
    assert second.value.code == "too_many_matches"
    with urllib.request.urlopen(f"{lrs.base_url}/_state", timeout=5) as response:
        assert json.loads(response.read())["requests"] == ["learnerByDemographics"] * 2


def test_an_unknown_scenario_is_refused(lrs: FakeLrs):
    with pytest.raises(urllib.error.HTTPError) as caught:
        post_json(f"{lrs.base_url}/_scenario", {"scenario": "everything_fine"})
    assert caught.value.code == 400
    assert lrs.scenario == "auto"


@pytest.mark.parametrize(
    ("creds", "code"),
    [
        (LrsCredentials("99999999", DEFAULT_USERNAME, DEFAULT_PASSWORD), "WSEC0003"),
        (LrsCredentials("10000001", "someone-else", DEFAULT_PASSWORD), "WSEC0005"),
        (LrsCredentials("10000001", DEFAULT_USERNAME, "guess"), "WSEC0005"),
    ],
)
def test_the_fake_checks_the_credentials(lrs: FakeLrs, creds, code):
    client = LrsClient(lrs.url, lambda: creds, RetryPolicy(attempt_seconds=2, deadline_seconds=4))

    with pytest.raises(errors.UpstreamError) as caught:
        client.find_by_demographics(SEARCH)
    assert caught.value.code == "lrs_credentials_refused"
    assert caught.value.details == [{"response_code": code}]


def test_the_fake_runs_standalone():
    process = subprocess.Popen(
        [sys.executable, "-m", "s2s_cli.fake_lrs", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        url = line.split(" at ", 1)[1].split()[0]
        base = url.rsplit("/", 1)[0]
        assert post_json(f"{base}/_scenario", {"scenario": "out_of_hours"})["scenario"] == "out_of_hours"
        client = LrsClient(url, lambda: LrsCredentials("10000001", DEFAULT_USERNAME, DEFAULT_PASSWORD))
        with pytest.raises(errors.UpstreamUnavailable) as caught:
            client.find_by_demographics(SEARCH)
        assert caught.value.code == "lrs_out_of_hours"
    finally:
        process.terminate()
        process.wait(timeout=5)


def test_a_registration_is_read_once_and_cached(lrs: FakeLrs, monkeypatch):
    calls: list[str] = []
    real = lrs_registry.scoped_client("8231234")
    original = real.get_secret_value

    def counting(**kwargs):
        calls.append(kwargs["SecretId"])
        return original(**kwargs)

    monkeypatch.setattr(real, "get_secret_value", counting)
    first = credentials_for("8231234")
    second = credentials_for("8231234")

    assert first == second == LrsCredentials("10000001", "s2s-local", "local-lrs-password")
    assert calls == ["s2s/lrs/8231234"]
    lrs_registry.read("8231234", fresh=True)
    assert len(calls) == 2
