"""Find a school (docs/SERVICE.md §12), in-process against moto: the import through the bucket and
its queue, search by every key, one establishment with its links, the routing check of uploads and
Lost Pupils claims, idempotent re-imports, and searches during a re-import."""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3
import pytest
from s2s.adapters import directory as repository
from s2s.services import directory
from support.directory import (
    CHAIN_END,
    CHAIN_START,
    CLOSED,
    NO_SUCCESSOR,
    SPLIT,
    ST_MARYS,
    SUCCESSOR,
    THERESE,
    UNKNOWN,
    generated,
    import_files,
    import_handler,
    import_sample,
    pointer_version,
    put_files,
)
from support.flows import drain, start_upload
from support.helpers import call, dfe_claims, la_claims, school_claims

pytestmark = pytest.mark.functional

A = "8231234"  # the sender in these tests (not in the sample)
HEADER = (
    "URN,LA (code),EstablishmentNumber,EstablishmentName,TypeOfEstablishment (name),"
    "PhaseOfEducation (name),EstablishmentStatus (name),OpenDate,CloseDate,Postcode,Extra\r\n"
)


@pytest.fixture(autouse=True)
def _fresh_caches():
    repository.reset_cache()
    yield
    repository.reset_cache()


def directory_api() -> Any:
    import directory_api as module

    return module.lambda_handler


def search(claims: dict[str, Any] | None = None, **query: Any):
    return call(
        directory_api(),
        "GET",
        "/directory/establishments",
        claims=claims or school_claims(A),
        query={k: str(v) for k, v in query.items()},
    )


def show(laestab: str, claims: dict[str, Any] | None = None):
    return call(
        directory_api(),
        "GET",
        "/directory/establishments/{laestab}",
        claims=claims or school_claims(A),
        path_params={"laestab": laestab},
    )


def codes(reply) -> list[str]:
    assert reply.status == 200, reply.body
    return [item["laestab"] for item in reply.body["items"]]


def report(version: str) -> dict[str, Any]:
    found = repository.read_report(version)
    assert found is not None
    return found


def directory_objects(aws) -> list[str]:
    s3 = boto3.client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=aws.bucket, Prefix="directory-index/")
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


# ---------------------------------------------------------------- import


def test_the_sample_imports_through_the_bucket_with_its_links(aws):
    import_sample(aws)

    version = pointer_version()
    assert version is not None
    loaded = report(version)
    assert (loaded["ok"], loaded["rows"], loaded["accepted"], loaded["refused"]) == (True, 300, 300, 0)
    assert loaded["links"] == 30  # every row of the sample's links file
    reply = show(CLOSED)
    assert reply.status == 200
    assert reply.body["name"] == "Hillside Primary School" and reply.body["status"] == "Closed"
    assert reply.body["successor"] == {"laestab": SUCCESSOR, "name": "Hillside Primary Academy"}
    assert reply.body["directory"]["establishments"] == 300


def test_rows_that_break_a_rule_are_reported_with_their_line_numbers_and_skipped(aws):
    rows = (
        HEADER
        + "100001,823,5001,Good Primary School,Community school,Primary,Open,01-09-1990,,mk45 1ab,x\r\n"  # line 2
        + "100002,999,5002,Unknown LA School,Community school,Primary,Open,,,,x\r\n"  # 3: LA 999
        + "100003,823,,No Number School,Other,Primary,Open,,,,x\r\n"  # 4: no establishment number
        + '100004,823,5004,"Two-line\r\nName School",Community school,Primary,Shut,,,,x\r\n'  # 5-6: bad status
        + "100005,823,5005,Bad Date School,Community school,Primary,Closed,,31-13-2020,,x\r\n"  # 7: bad date
        + "1,823,5006,Short URN School,Community school,Primary,Open,,,,x\r\n"  # 8: bad URN
        + "100007,82,5007,Short LA School,Community school,Primary,Open,,,,x\r\n"  # 9: bad LA
        + "100008,823,5008,,Community school,Primary,Open,,,,x\r\n"  # 10: no name
        + "100009,823,5009,Also Good School,Community school,Secondary,Closed,,31-08-2020,MK45 2CD,x\r\n"  # 11
    ).encode("utf-8")
    import_files(aws, rows)

    loaded = report(pointer_version() or "")
    assert (loaded["rows"], loaded["accepted"], loaded["refused"]) == (9, 2, 7)
    assert [(r["line"], r["reason"]) for r in loaded["refusals"]] == [
        (3, "unknown_la"),
        (4, "bad_establishment_number"),
        (6, "bad_status"),
        (7, "bad_date"),
        (8, "bad_urn"),
        (9, "bad_la"),
        (10, "no_name"),
    ]
    assert all(r["message"] for r in loaded["refusals"])
    assert codes(search(la="823")) == ["8235001", "8235009"]
    assert show("8235001").body["postcode"] == "MK45 1AB"


def test_a_file_without_the_gias_columns_is_refused_whole_and_the_current_load_stays(aws):
    import_sample(aws)
    before = pointer_version()

    result = directory.import_directory(lambda: [b"Name,Town\r\nA School,Sampletown\r\n"])

    assert result.outcome == "refused"
    assert "URN" in result.report["error"]
    assert pointer_version() == before
    assert codes(search(q=CLOSED)) == [CLOSED]


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8", "utf-8-sig"])
def test_windows_1252_and_utf8_files_read_the_same(aws, encoding):
    from s2s_cli.directory_sample import edubase_bytes, generate

    rows, _ = generate(20, 20)
    import_files(aws, edubase_bytes(rows, encoding))

    assert show(THERESE).body["name"] == "Sainte-Thérèse Catholic Primary School"
    assert codes(search(q="therese")) == [THERESE]


def test_a_repeated_import_of_the_same_files_changes_nothing(aws):
    import_sample(aws)
    version, objects = pointer_version(), directory_objects(aws)

    result = directory.import_from_bucket(aws.bucket, "directory/edubase.csv")
    import_sample(aws)  # and the same files put again, through the queue

    assert result is not None and (result.outcome, result.version) == ("unchanged", version)
    assert pointer_version() == version
    assert directory_objects(aws) == objects
    assert report(version or "")["accepted"] == 300


def test_the_import_ignores_other_buckets_and_objects_that_are_not_csv(aws):
    assert directory.import_from_bucket("someone-elses-bucket", "directory/edubase.csv") is None
    assert directory.import_from_bucket(aws.bucket, "directory/readme.txt") is None
    assert pointer_version() is None


# ---------------------------------------------------------------- search


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "Hillside Primary"}, ["8234001", "8233001"]),  # open before closed
        ({"q": "saint marys c of e"}, [ST_MARYS]),
        ({"q": "ST. MARY'S CE primary"}, [ST_MARYS]),
        ({"q": "st johns church of england junior"}, ["8233003"]),
        ({"q": "larchw acad"}, [CHAIN_END]),  # the start of words, as someone types
        ({"q": CLOSED}, [CLOSED]),
        ({"q": "823/3001"}, [CLOSED]),
    ],
)
def test_search_by_words_of_the_name_and_by_laestab(aws, query, expected):
    import_sample(aws)

    found = codes(search(la="823", **query))

    assert found[: len(expected)] == expected
    if "Hillside" not in query.get("q", ""):
        assert found == expected


def test_search_by_urn_postcode_la_and_status(aws):
    import_sample(aws)
    record = show(ST_MARYS).body

    assert codes(search(q=record["urn"])) == [ST_MARYS]
    by_postcode = search(postcode=record["postcode"].split(" ")[0] + " " + record["postcode"].split(" ")[1][:1])
    assert ST_MARYS in codes(by_postcode)
    assert all(i["postcode"].startswith(record["postcode"][:-2]) for i in by_postcode.body["items"])
    in_823 = search(la="823", limit=100)
    assert all(i["la"] == "823" for i in in_823.body["items"]) and in_823.body["total"] > 13
    closed = search(la="823", status="closed", limit=100).body["items"]
    assert closed and all(i["status"] == "Closed" and i["open"] is False for i in closed)
    assert CLOSED not in codes(search(q="hillside primary", la="823", status="open"))
    assert codes(search(q="no such school anywhere")) == []


def test_a_search_needs_something_to_look_for_and_checks_its_fields(aws):
    import_sample(aws)

    assert search().status == 422
    bad = search(la="82", status="shut")
    assert bad.status == 422
    assert {d["field"] for d in bad.body["details"]} == {"la", "status"}


def test_long_answers_are_paginated_with_signed_cursors(aws):
    import_sample(aws)
    first = search(q="school", limit=5)
    assert first.body["total"] > 10 and len(first.body["items"]) == 5

    seen = codes(first)
    cursor = first.body["next_cursor"]
    while cursor:
        page = search(q="school", limit=5, cursor=cursor)
        seen += codes(page)
        cursor = page.body["next_cursor"]

    assert len(seen) == len(set(seen)) == first.body["total"]
    forged = search(q="school", limit=5, cursor=first.body["next_cursor"][:-2] + "AA")
    assert forged.status == 422
    other = search(q="academy", limit=5, cursor=first.body["next_cursor"])
    assert other.status == 422


def test_a_cursor_from_before_a_reload_asks_for_a_new_search(aws):
    import_sample(aws)
    first = search(q="school", limit=5)
    import_files(aws, *generated(320, 7))

    again = search(q="school", limit=5, cursor=first.body["next_cursor"])

    assert again.status == 422 and again.error == "directory_reloaded"


def test_one_establishment_with_its_predecessors_and_successors(aws):
    import_sample(aws)

    middle = show("8233005").body  # Larchwood Primary: closed, between the infant school and the academy
    assert [p["laestab"] for p in middle["predecessors"]] == [CHAIN_START]
    assert [s["laestab"] for s in middle["successors"]] == [CHAIN_END]
    assert show(CHAIN_START).body["successor"]["laestab"] == CHAIN_END  # followed through the closed one
    assert show(SPLIT).body["successor"] is None
    assert len(show(SPLIT).body["successors"]) == 2
    assert show(UNKNOWN).status == 404
    assert show("82", claims=school_claims(A)).status == 422


@pytest.mark.parametrize("claims", [school_claims(A), la_claims("330"), dfe_claims()])
def test_anyone_signed_in_may_search_and_nobody_else(aws, claims):
    import_sample(aws)

    assert codes(search(claims, q=CLOSED)) == [CLOSED]
    anonymous = call(directory_api(), "GET", "/directory/establishments", query={"q": CLOSED})
    assert anonymous.status == 401


def test_with_no_directory_loaded_a_search_answers_nothing(aws):
    reply = search(q="hillside")

    assert reply.status == 200 and reply.body["items"] == [] and reply.body["directory"] is None
    assert show(CLOSED).status == 404


# ---------------------------------------------------------------- routing safety


def test_a_file_for_a_closed_school_is_refused_with_its_successor_and_the_renamed_file(aws):
    import_sample(aws)

    reply = start_upload(school_claims(A), f"{A}_CTF_{CLOSED}_001.zip", 1000)

    assert reply.status == 422
    assert reply.error == "closed_destination"
    assert reply.body["successor"] == SUCCESSOR
    assert reply.body["suggestion"] == f"{A}_CTF_{SUCCESSOR}_001.zip"
    assert "Hillside Primary School" in reply.body["message"] and "Hillside Primary Academy" in reply.body["message"]
    assert reply.body["details"] == [
        {
            "field": "filename",
            "reason": "closed_destination",
            "suggestion": f"{A}_CTF_{SUCCESSOR}_001.zip",
            "successor": SUCCESSOR,
        }
    ]


def test_the_successor_chain_is_followed_and_a_generic_file_is_renamed_too(aws):
    import_sample(aws)

    chain = start_upload(school_claims(A), f"{A}_ATF_{CHAIN_START}_26001.zip", 1000)
    generic = start_upload(school_claims(A), f"{A}_{CLOSED}_SEN-report.zip", 1000)

    assert (chain.status, chain.body["successor"], chain.body["suggestion"]) == (
        422,
        CHAIN_END,
        f"{A}_ATF_{CHAIN_END}_26001.zip",
    )
    assert generic.body["suggestion"] == f"{A}_{SUCCESSOR}_SEN-report.zip"


@pytest.mark.parametrize("closed", [SPLIT, NO_SUCCESSOR])
def test_a_closed_school_without_one_successor_is_refused_without_a_suggestion(aws, closed):
    import_sample(aws)

    reply = start_upload(school_claims(A), f"{A}_CTF_{closed}_001.zip", 1000)

    assert reply.status == 422 and reply.error == "closed_destination"
    assert "suggestion" not in reply.body and "successor" not in reply.body
    assert reply.body["details"] == [{"field": "filename", "reason": "closed_destination"}]


def test_an_unknown_school_is_accepted_with_a_warning_and_a_known_one_without(aws):
    import_sample(aws)

    unknown = start_upload(school_claims(A), f"{A}_CTF_{UNKNOWN}_001.zip", 1000)
    known = start_upload(school_claims(A), f"{A}_CTF_{SUCCESSOR}_001.zip", 1000)
    to_the_la = start_upload(school_claims(A), f"{A}_CTF_823LLLL_001.zip", 1000)

    assert (unknown.status, unknown.body["warnings"]) == (201, ["unknown_destination"])
    assert (known.status, known.body["warnings"]) == (201, [])
    assert (to_the_la.status, to_the_la.body["warnings"]) == (201, [])


def test_with_no_directory_loaded_uploads_go_on_as_before(aws):
    reply = start_upload(school_claims(A), f"{A}_CTF_{CLOSED}_001.zip", 1000)

    assert (reply.status, reply.body["warnings"]) == (201, [])


def test_the_naming_checks_come_before_the_directory(aws):
    import_sample(aws)

    reply = start_upload(school_claims(A), f"{A}_ctf_{CLOSED}_001.zip", 1000)

    assert (reply.status, reply.error, reply.body["suggestion"]) == (422, "bad_pattern", f"{A}_CTF_{CLOSED}_001.zip")


def test_a_lost_pupil_claim_for_a_closed_school_is_refused_and_an_unknown_one_warned(aws):
    from functional.reports.support import claim, send_file, upn

    import_sample(aws)
    first = send_file(aws, school_claims(A), f"{A}_CTF_XXXXXXX_001", pupil=upn(1))
    second = send_file(aws, school_claims(A), f"{A}_CTF_XXXXXXX_002", pupil=upn(2))

    refused = claim(la_claims("823"), first, CLOSED)
    warned = claim(la_claims("823"), second, UNKNOWN)

    assert (refused.status, refused.error, refused.body["successor"]) == (422, "closed_destination", SUCCESSOR)
    assert refused.body["details"] == [{"field": "destination", "reason": "closed_destination", "successor": SUCCESSOR}]
    assert (warned.status, warned.body["warnings"]) == (200, ["unknown_destination"])
    assert claim(la_claims("823"), first, SUCCESSOR).body["warnings"] == []


# ---------------------------------------------------------------- replacing a load


def test_a_search_during_a_reimport_sees_the_old_load_until_the_pointer_moves(aws):
    import_sample(aws)
    old = pointer_version()
    new_files = generated(310, 9)
    during: list[tuple[str, list[str], int]] = []

    def look(version: str) -> None:
        # Every object of the new load is written (beside the two before it); the pointer still
        # names the one before.
        assert {k.split("/")[1] for k in directory_objects(aws)} == {old, current, version}
        assert pointer_version() == current
        repository.forget_pointer()
        reply = search(q="hillside primary", la="823")
        during.append((reply.body["directory"]["version"], codes(reply), reply.body["directory"]["establishments"]))

    put_files(aws, *new_files)
    result = directory.import_from_bucket(aws.bucket, "directory/edubase.csv")
    assert result is not None
    assert (result.outcome, result.version != old) == ("imported", True)
    # The queue also holds the put's events: the import they trigger is the same, so nothing changes.
    assert drain(aws.queue_urls["DirectoryQueue"], import_handler()) == []
    assert during == []  # (the hook only runs on an import that writes)
    current = result.version

    third = generated(300, 11)
    directory.import_directory(lambda: [third[0]], lambda: [third[1]], before_switch=look)
    after = search(q="hillside primary", la="823")

    assert during == [(result.version, during[0][1], 310)]
    assert after.body["directory"]["version"] not in (old, result.version)
    assert after.body["directory"]["establishments"] == 300
    # The load just replaced is kept for readers in flight; the one before it is gone.
    versions = {k.split("/")[1] for k in directory_objects(aws)}
    assert versions == {result.version, after.body["directory"]["version"]}
    assert old not in versions


def test_each_import_through_the_bucket_deletes_the_load_before_the_one_it_replaces(aws):
    import_sample(aws)
    first = pointer_version()
    import_files(aws, *generated(310, 12))
    second = pointer_version()
    import_files(aws, *generated(320, 13))
    third = pointer_version()

    assert len({first, second, third}) == 3
    assert {k.split("/")[1] for k in directory_objects(aws)} == {second, third}
    assert show(CLOSED).body["directory"]["version"] == third


def test_concurrent_searches_see_one_whole_load_or_the_other(aws):
    import_sample(aws)
    old_answer = search(q="school", la="823", limit=100).body
    files = generated(320, 3)
    seen: list[tuple[str, tuple[str, ...], int]] = []
    stop = threading.Event()

    def reader() -> None:
        from s2s.domain.principal import principal_from_claims

        principal = principal_from_claims(school_claims(A))
        while not stop.is_set():
            repository.forget_pointer()
            answer = directory.search(
                principal, q="school", la="823", postcode=None, status="any", limit=100, cursor=None
            )
            seen.append((answer["directory"]["version"], tuple(i["laestab"] for i in answer["items"]), answer["total"]))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        result = directory.import_directory(lambda: [files[0]], lambda: [files[1]])
    finally:
        stop.set()
        thread.join()
    # The reader's last search may have cached the pointer just before the switch (a container
    # keeps it a few seconds): the new answer is read as a fresh container would.
    repository.forget_pointer()
    new_answer = search(q="school", la="823", limit=100).body
    assert new_answer["directory"]["version"] == result.version

    answers = {
        old_answer["directory"]["version"]: (tuple(i["laestab"] for i in old_answer["items"]), old_answer["total"]),
        result.version: (tuple(i["laestab"] for i in new_answer["items"]), new_answer["total"]),
    }
    assert answers[result.version] != answers[old_answer["directory"]["version"]]
    assert seen
    for version, found, total in seen:
        assert answers[version] == (found, total)


# ---------------------------------------------------------------- names everywhere


def test_lists_a_transfers_page_and_reports_name_schools_from_the_directory(aws):
    from functional.reports.support import report_handler, send_file, undownloaded

    import_sample(aws)
    sender = school_claims(ST_MARYS, name="St Marys (as sign-in says)")
    recipient = school_claims(SUCCESSOR, name="HPA")
    transfer_id = send_file(aws, sender, f"{ST_MARYS}_CTF_{SUCCESSOR}_001")

    inbox = call(__import__("upload_api").lambda_handler, "GET", "/transfers", claims=recipient, query={"box": "inbox"})
    outbox = call(__import__("upload_api").lambda_handler, "GET", "/transfers", claims=sender, query={"box": "outbox"})
    page = call(
        __import__("upload_api").lambda_handler,
        "GET",
        "/transfers/{id}",
        claims=sender,
        path_params={"id": transfer_id},
    )
    repository.reset_cache()  # the report function runs in its own containers: it reads the load itself
    by_school = call(
        report_handler(), "GET", "/reports/transfers", claims=la_claims("823"), query={"group_by": "school"}
    )
    waiting = undownloaded(la_claims("823"), older_than_days="0")

    assert inbox.body["items"][0]["source_name"] == "St Mary's C of E Primary School"
    assert outbox.body["items"][0]["recipient_name"] == "Hillside Primary Academy"
    assert page.body["recipient_name"] == "Hillside Primary Academy"
    assert page.body["names"][ST_MARYS] == "St Mary's C of E Primary School"
    names = {row["school"]: row["school_name"] for row in by_school.body["rows"]}
    assert names[ST_MARYS] == "St Mary's C of E Primary School"
    assert names[SUCCESSOR] == "Hillside Primary Academy"
    row = waiting.body["items"][0]
    assert (row["recipient_name"], row["sender_name"]) == (
        "Hillside Primary Academy",
        "St Mary's C of E Primary School",
    )


def test_emails_name_both_schools_from_the_directory(aws, monkeypatch):
    import json

    import notify_events
    from functional.reports.support import send_file
    from s2s.adapters import ses, subscriptions
    from support.events import sqs_event, sqs_record
    from support.flows import queued_events
    from support.helpers import FakeContext

    import_sample(aws)
    subscriptions.subscribe(SUCCESSOR, "office@hpa.school.example", "user-hpa", "HPA")
    send_file(aws, school_claims(ST_MARYS, name="SMP"), f"{ST_MARYS}_CTF_{SUCCESSOR}_001")
    sent: list[str] = []
    monkeypatch.setattr(ses, "send_email", lambda sender, to, subject, text, html: sent.append(text) or "message-1")
    event = next(e for e in queued_events(aws) if e["type"] == "transfer.available")
    event.pop("_attributes")
    repository.reset_cache()  # as the notify function's own container, which has not read the load yet

    notify_events.lambda_handler(sqs_event(sqs_record(json.dumps(event))), FakeContext())

    assert len(sent) == 1
    assert "St Mary's C of E Primary School (8233002)" in sent[0]
    assert "Hillside Primary Academy" in sent[0]


def test_messages_name_both_organisations_from_the_directory(aws):
    """The messages function reads the load's shards like the others (its policy must allow it):
    the names shown are the directory's, not what the sender's sign-in said."""
    import messages_api

    import_sample(aws)
    sent = call(
        messages_api.lambda_handler,
        "POST",
        "/messages",
        claims=school_claims(ST_MARYS, name="SMP"),
        body={"to": SUCCESSOR, "subject": "A question", "body": "Has the CTF for the twins arrived?"},
    )
    assert sent.status == 201, sent.body
    repository.reset_cache()  # the recipient's request may reach another container
    inbox = call(messages_api.lambda_handler, "GET", "/messages", claims=school_claims(SUCCESSOR))

    assert sent.body["sender_name"] == "St Mary's C of E Primary School"
    assert sent.body["recipient_name"] == "Hillside Primary Academy"
    (item,) = inbox.body["messages"]
    assert item["sender_name"] == "St Mary's C of E Primary School"


# ---------------------------------------------------------------- a much smaller load


def sources(aws) -> list[str]:
    s3 = boto3.client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=aws.bucket, Prefix="directory/")
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def put_marker(aws) -> None:
    boto3.client("s3").put_object(Bucket=aws.bucket, Key="directory/ACCEPT-SMALLER", Body=b"")


def deliver(aws) -> None:
    """The queued S3 events, to the import handler."""
    assert drain(aws.queue_urls["DirectoryQueue"], import_handler()) == []


def new_versions(aws, *known: str | None) -> set[str]:
    return {k.split("/")[1] for k in directory_objects(aws)} - set(known)


def test_a_much_smaller_load_is_refused_whole_and_the_current_load_keeps_answering(aws):
    import_sample(aws)  # 300 establishments
    before, objects = pointer_version(), directory_objects(aws)

    import_files(aws, *generated(100, 7), name="edubasealldata20261203.csv")  # a cut-short export

    assert pointer_version() == before
    (refused,) = new_versions(aws, before)
    # Only its report is kept: none of the refused load's objects.
    assert directory_objects(aws) == sorted([*objects, f"directory-index/{refused}/report.json"])
    found = report(refused)
    assert (found["ok"], found["code"]) == (False, "load_much_smaller")
    assert (found["establishments"], found["current_establishments"], found["min_ratio"]) == (100, 300, 0.9)
    assert "100 establishments" in found["error"] and "90% of the 300" in found["error"]
    assert "directory/ACCEPT-SMALLER" in found["error"] and "--accept-smaller" in found["error"]
    answer = search(la="823", limit=100).body
    assert answer["directory"] == {
        "version": before,
        "imported_at": answer["directory"]["imported_at"],
        "establishments": 300,
    }
    assert show(CLOSED).body["directory"]["version"] == before


def test_the_threshold_is_a_fraction_of_the_current_load_and_a_setting(aws, monkeypatch):
    from s2s.runtime.settings import get_settings

    import_sample(aws)
    first = pointer_version()

    below = directory.import_directory(lambda: [generated(269, 21)[0]])  # 269 < 90% of 300
    at = directory.import_directory(lambda: [generated(270, 22)[0]])  # exactly 90%: loaded

    assert (below.outcome, below.report["code"], pointer_version() != first) == ("refused", "load_much_smaller", True)
    assert at.outcome == "imported" and pointer_version() == at.version
    monkeypatch.setenv("DIRECTORY_MIN_RATIO", "0.5")
    get_settings.cache_clear()
    try:
        half = directory.import_directory(lambda: [generated(140, 23)[0]])  # 140 of 270 is more than half
        too_few = directory.import_directory(lambda: [generated(60, 24)[0]])
    finally:
        monkeypatch.delenv("DIRECTORY_MIN_RATIO")
        get_settings.cache_clear()
    assert half.outcome == "imported" and half.report["establishments"] == 140
    assert too_few.outcome == "refused" and "50% of the 140" in too_few.report["error"]
    assert pointer_version() == half.version


def test_a_first_load_is_never_refused_for_its_size(aws, monkeypatch):
    from s2s.runtime.settings import get_settings

    monkeypatch.setenv("DIRECTORY_MIN_RATIO", "1")
    get_settings.cache_clear()
    try:
        import_files(aws, *generated(20, 25))
    finally:
        monkeypatch.delenv("DIRECTORY_MIN_RATIO")
        get_settings.cache_clear()

    assert search(la="823", limit=100).body["directory"]["establishments"] == 20


def test_a_refused_import_deletes_what_an_interrupted_attempt_at_the_same_load_wrote(aws):
    import_sample(aws)
    before = pointer_version()
    files = generated(100, 7)

    class Interrupted(Exception):
        pass

    def crash(version: str) -> None:
        raise Interrupted(version)  # as a function timing out after writing the load, before the pointer

    with pytest.raises(Interrupted):
        directory.import_directory(lambda: [files[0]], lambda: [files[1]], accept_smaller=True, before_switch=crash)
    (orphan,) = new_versions(aws, before)
    assert len([k for k in directory_objects(aws) if orphan in k]) > 3  # shards, search, manifest, report

    import_files(aws, *files, name="edubasealldata20261203.csv")

    assert pointer_version() == before
    assert [k for k in directory_objects(aws) if orphan in k] == [f"directory-index/{orphan}/report.json"]
    assert report(orphan)["code"] == "load_much_smaller"


def test_an_operator_accepts_a_refused_smaller_load_with_the_marker_which_is_used_up(aws):
    import_sample(aws)
    before = pointer_version()
    import_files(aws, *generated(100, 7), name="edubasealldata20261203.csv")
    assert pointer_version() == before

    put_marker(aws)  # its arrival runs the newest file's import again, accepting it
    deliver(aws)

    now = pointer_version()
    assert now != before
    accepted = report(now or "")
    assert (accepted["ok"], accepted["establishments"], accepted["accepted_smaller"]) == (True, 100, True)
    assert search(la="823", limit=100).body["directory"]["establishments"] == 100
    assert "directory/ACCEPT-SMALLER" not in sources(aws)
    # It does not carry over: the next much smaller file is refused again.
    import_files(aws, *generated(30, 8), name="edubasealldata20261204.csv")
    assert pointer_version() == now
    assert report(next(iter(new_versions(aws, before, now))))["code"] == "load_much_smaller"


def test_a_marker_put_before_the_file_lets_that_file_through_and_no_later_one(aws):
    import_sample(aws)
    before = pointer_version()

    put_marker(aws)
    deliver(aws)  # the newest file is the current load's: nothing changes, and the consent waits
    assert pointer_version() == before and "directory/ACCEPT-SMALLER" in sources(aws)
    import_files(aws, *generated(100, 7), name="edubasealldata20261203.csv")

    smaller = pointer_version()
    assert smaller != before and report(smaller or "")["accepted_smaller"] is True
    assert "directory/ACCEPT-SMALLER" not in sources(aws)
    import_files(aws, *generated(30, 8), name="edubasealldata20261204.csv")
    assert pointer_version() == smaller


def test_the_marker_is_used_up_by_the_next_change_even_when_that_load_is_not_smaller(aws):
    import_sample(aws)
    put_marker(aws)
    deliver(aws)

    import_files(aws, *generated(320, 7), name="edubasealldata20261203.csv")
    bigger = pointer_version()
    import_files(aws, *generated(100, 8), name="edubasealldata20261204.csv")

    assert report(bigger or "")["accepted_smaller"] is False
    assert "directory/ACCEPT-SMALLER" not in sources(aws)
    assert pointer_version() == bigger


def test_a_marker_with_no_file_yet_waits(aws):
    put_marker(aws)
    deliver(aws)

    assert pointer_version() is None and "directory/ACCEPT-SMALLER" in sources(aws)


def test_a_refused_load_is_logged_and_counted_with_its_counts_only(aws, capsys, caplog):
    from functional.test_metrics import emitted

    import_sample(aws)
    capsys.readouterr()
    caplog.clear()

    import_files(aws, generated(100, 7)[0], name="edubasealldata20261203.csv")  # one file, one event

    refused = [
        (dims, value) for name, dims, value in emitted(capsys.readouterr().out) if name == "DirectoryLoadRefused"
    ]
    assert refused == [({"service": "s2s", "reason": "load_much_smaller"}, 1)]
    lines = {r.getMessage(): vars(r) for r in caplog.records if r.name == "s2s"}
    warning, outcome = lines["directory load refused"], lines["directory import"]
    assert (warning["levelname"], warning["code"], warning["establishments"], warning["current_establishments"]) == (
        "WARNING",
        "load_much_smaller",
        100,
        300,
    )
    assert (outcome["outcome"], outcome["code"], outcome["establishments"]) == ("refused", "load_much_smaller", 100)
    everything = json.dumps([warning, outcome], default=str)
    for school in ("Hillside", "Larchwood", "St Mary", "MK45", CLOSED):
        assert school not in everything, school
