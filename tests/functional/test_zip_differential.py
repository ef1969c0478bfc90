"""The differential harness of issue 14: no archive the landing check accepts may be readable
without the password by any common extractor, and every extractor must see the entries the check
saw.

Hypothesis mutates genuine AES-256 archives (written by pyzipper, by 7-Zip when it is installed,
and in WinZip's AE-1/AE-2 style) at the structural level, through `zipfactory.Layout`: local
header and central record fields, extra fields (AES, ZIP64, Unicode Path, harmless ones), gaps and
prepended or trailing bytes, archive and entry comments holding records, duplicate records and
entries, ZIP64 end records and their extensible data, data descriptors (honest and forged),
records hidden in the ciphertext, plaintext entries. Every archive the checker accepts is then
given to Info-ZIP unzip, 7-Zip, bsdtar (from a file and from a pipe) and Python's zipfile, with
no password and with a wrong one: none may write or return any entry data, and each must list the
same entry names as the checker.

`make test` runs a bounded, repeatable set (S2S_ZIP_FUZZ_EXAMPLES examples per extractor, 60 by
default, derandomized); `make fuzz` raises the count and lets Hypothesis choose new examples.
No deadline and no example database: a slow machine or an earlier run cannot fail this test.
An extractor that is not installed is skipped with the command that installs it; the zipfile part
always runs.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import struct
import subprocess
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, find, given, settings
from hypothesis import strategies as st
from s2s.domain.ranged import BytesRangedReader
from s2s.domain.zipcheck import Inspection, inspect_archive
from support.extractors import EXTRACTORS, available, extract, leaked, missing_message, names_seen
from support.zipfactory import (
    DESCRIPTOR_SIG,
    PASSWORD,
    Layout,
    Member,
    aes_field,
    extra_field,
    make_aes_zip,
    parse_archive,
    plain_member,
    unicode_path_field,
    winzip_style,
    with_descriptor,
)

pytestmark = [pytest.mark.functional, pytest.mark.hardening]

EXAMPLES = int(os.environ.get("S2S_ZIP_FUZZ_EXAMPLES", "60"))
FUZZING = "S2S_ZIP_FUZZ_EXAMPLES" in os.environ
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=not FUZZING,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
SECRET = b"Pupil: Jane Example, UPN A123456789012, SEN support\n"
LIMIT = 50 * 1024 * 1024


# --- genuine archives -------------------------------------------------------------------------


def _by_7zip(files: dict[str, bytes], folders: tuple[str, ...] = ()) -> bytes | None:
    if shutil.which("7zz") is None:
        return None
    with tempfile.TemporaryDirectory(prefix="s2s-7z-") as folder:
        root = Path(folder, "in")
        for name in folders:
            (root / name).mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(content)
        archive = Path(folder, "out.zip")
        subprocess.run(
            ["7zz", "a", "-tzip", "-mem=AES256", f"-p{PASSWORD.decode()}", str(archive), *sorted(os.listdir(root))],
            cwd=root,
            check=True,
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )
        return archive.read_bytes()


@functools.cache
def genuine_archives() -> tuple[tuple[str, bytes], ...]:
    """AES-256 archives as the tools schools use write them, each accepted by the checker."""
    ctf = {"8231234_CTF_8232345_001.XML": b"<CTfile>" + SECRET * 20 + b"</CTfile>"}
    several = {"report.pdf": b"%PDF-1.7 " + SECRET * 10, "docs/": b"", "docs/notes.txt": SECRET * 3}
    made = [
        ("pyzipper_ctf", make_aes_zip(ctf)),
        ("pyzipper_stored", make_aes_zip(several, compression=zipfile.ZIP_STORED)),
        ("winzip_ae1", winzip_style(make_aes_zip(several), vendor_version=1)),
        ("winzip_ae2", winzip_style(make_aes_zip(ctf), vendor_version=2)),
    ]
    layout = parse_archive(make_aes_zip(several))
    described = tuple(with_descriptor(member, zero_local=False) for member in layout.members)
    made.append(("pyzipper_descriptors", replace(layout, members=described).pack()))
    seven = _by_7zip({"a.txt": SECRET * 5, "docs/b.txt": SECRET}, folders=("docs",))
    if seven is not None:
        made.append(("7zip_folder", seven))
    seven_one = _by_7zip(ctf)
    if seven_one is not None:
        made.append(("7zip_ctf", seven_one))
    for label, data in made:
        verdict = inspect(data)
        assert verdict.ok, (label, verdict.detail)
    return tuple(made)


def inspect(data: bytes) -> Inspection:
    return inspect_archive(BytesRangedReader(data), max_upload_bytes=LIMIT)


# --- structural mutations ---------------------------------------------------------------------

Draw = Callable[[st.SearchStrategy], object]
Mutation = Callable[[Draw, Layout], Layout]


def _member_index(draw: Draw, layout: Layout) -> int:
    return int(draw(st.integers(0, len(layout.members) - 1)))  # type: ignore[call-overload]


def _with_member(layout: Layout, index: int, member: Member) -> Layout:
    members = list(layout.members)
    members[index] = member
    return replace(layout, members=tuple(members))


def _field_value(draw: Draw, field: str, current: object) -> object:
    if field == "flags":
        return int(current) ^ int(draw(st.sampled_from([0x0001, 0x0008, 0x0800, 0x0040])))  # type: ignore[call-overload]
    if field == "method":
        return draw(st.sampled_from([0, 8, 12, 99]))
    if field in ("compressed", "uncompressed", "crc"):
        value = int(current)  # type: ignore[call-overload]
        return draw(st.sampled_from([0, (value + 1) & 0xFFFFFFFF, max(0, value - 1), 0xFFFFFFFF, 0x08074B50]))
    if field == "name":
        name = bytes(current)  # type: ignore[call-overload]
        return draw(st.sampled_from([name.upper(), name.swapcase(), b"evil.txt", name + b"/", name[:-1] + b"\x00"]))
    if field == "external":
        return draw(st.sampled_from([0, 0x10, (0o040755 << 16) | 0x10, (0o120777 << 16), (0o100644 << 16)]))
    if field == "signature":
        return draw(st.sampled_from([b"PK\x03\x05", b"PK\x01\x02", b"\x00\x00\x00\x00"]))
    raise ValueError(field)


def mutate_header_field(draw: Draw, layout: Layout) -> Layout:
    """One field of a local header, of a central record, or of both alike."""
    index = _member_index(draw, layout)
    member = layout.members[index]
    where = draw(st.sampled_from(["local", "central", "both"]))
    fields = ["flags", "method", "compressed", "uncompressed", "crc", "name"]
    if where == "local":
        fields.append("signature")
    if where == "central":
        fields.append("external")
    field = str(draw(st.sampled_from(fields)))
    if where in ("local", "both"):
        member = replace(
            member, local=replace(member.local, **{field: _field_value(draw, field, getattr(member.local, field))})
        )
    if where in ("central", "both") and field != "signature":
        value = (
            getattr(member.local, field)
            if where == "both"
            else _field_value(draw, field, getattr(member.central, field))
        )
        member = replace(member, central=replace(member.central, **{field: value}))
    return _with_member(layout, index, member)


def _extra(draw: Draw, member: Member) -> bytes:
    local = member.local
    kind = draw(
        st.sampled_from(
            [
                "ntfs",
                "unix_time",
                "unknown",
                "unicode_same",
                "unicode_other",
                "zip64_true",
                "zip64_false",
                "aes_weak",
                "aes_stored",
                "aes_again",
            ]
        )
    )
    if kind == "ntfs":
        return extra_field(0x000A, struct.pack("<LHH3Q", 0, 1, 24, 1, 2, 3))
    if kind == "unix_time":
        return extra_field(0x5455, b"\x01" + struct.pack("<L", 1_700_000_000))
    if kind == "unknown":
        return extra_field(0xCAFE, bytes(draw(st.binary(max_size=8))))  # type: ignore[call-overload]
    if kind == "unicode_same":
        return unicode_path_field(local.name, local.name)
    if kind == "unicode_other":
        return unicode_path_field(b"record.txt", local.name)
    if kind == "zip64_true":
        return extra_field(0x0001, struct.pack("<2Q", member.central.uncompressed, member.central.compressed))
    if kind == "zip64_false":
        return extra_field(0x0001, struct.pack("<2Q", (member.central.uncompressed + 7) & 0xFFFFFFFF, 0))
    if kind == "aes_weak":
        return aes_field(strength=1)
    if kind == "aes_stored":
        return aes_field(strength=3, actual_method=0)
    return aes_field()


def mutate_extra_fields(draw: Draw, layout: Layout) -> Layout:
    """Add a field to the local header, the central record or both; or drop every field."""
    index = _member_index(draw, layout)
    member = layout.members[index]
    where = draw(st.sampled_from(["local", "central", "both", "drop_local", "drop_central"]))
    if where == "drop_local":
        return _with_member(layout, index, replace(member, local=replace(member.local, extra=b"")))
    if where == "drop_central":
        return _with_member(layout, index, replace(member, central=replace(member.central, extra=b"")))
    field = _extra(draw, member)
    front = bool(draw(st.booleans()))
    if where in ("local", "both"):
        extra = field + member.local.extra if front else member.local.extra + field
        member = replace(member, local=replace(member.local, extra=extra))
    if where in ("central", "both"):
        extra = field + member.central.extra if front else member.central.extra + field
        member = replace(member, central=replace(member.central, extra=extra))
    return _with_member(layout, index, member)


def _hidden_entry() -> bytes:
    hidden = plain_member("record.txt", SECRET)
    return hidden.local.pack() + hidden.data


def mutate_gap(draw: Draw, layout: Layout) -> Layout:
    """Bytes where an honest archive has none: random, zeros, or a whole plaintext entry."""
    content = bytes(
        draw(st.one_of(st.binary(min_size=1, max_size=64), st.just(b"\x00" * 30), st.just(_hidden_entry())))  # type: ignore[call-overload]
    )
    where = draw(st.sampled_from(["prefix", "after_member", "before_directory", "before_end", "trailing"]))
    if where == "after_member":
        index = _member_index(draw, layout)
        return _with_member(layout, index, replace(layout.members[index], after=content))
    return replace(layout, **{where: content})


def mutate_comment(draw: Draw, layout: Layout) -> Layout:
    """A harmless comment, one holding a signature, or one holding a whole second directory."""
    kind = draw(st.sampled_from(["plain", "signature", "directory"]))
    if kind == "plain":
        return replace(layout, comment=b"Sent by the school office")
    if kind == "signature":
        signature = draw(st.sampled_from([b"PK\x01\x02", b"PK\x03\x04", b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07"]))
        return replace(layout, comment=b"note " + bytes(signature))  # type: ignore[call-overload]
    comment_at = len(replace(layout, comment=b"", trailing=b"").pack())
    hidden = plain_member("record.txt", SECRET)
    local = hidden.local.pack() + hidden.data
    directory = replace(hidden.central, offset=comment_at).pack()
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(directory), comment_at + len(local), 0)
    tail = bytes(draw(st.sampled_from([b"", b"x"])))  # type: ignore[call-overload]
    return replace(layout, comment=local + directory + end + tail)


def mutate_entry_comment(draw: Draw, layout: Layout) -> Layout:
    """An entry comment in the central directory: plain, or holding an end record (which a tool
    that searches backwards from the end must not prefer to the real one)."""
    index = _member_index(draw, layout)
    member = layout.members[index]
    kind = draw(st.sampled_from(["plain", "end_record", "local_entry"]))
    if kind == "plain":
        comment = b"checked by the office"
    elif kind == "end_record":
        comment = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, 46, 0, 0)
    else:
        comment = _hidden_entry()
    return _with_member(layout, index, replace(member, central=replace(member.central, comment=comment)))


def mutate_duplicate(draw: Draw, layout: Layout) -> Layout:
    """A central record listed twice, or a whole entry twice."""
    index = _member_index(draw, layout)
    member = layout.members[index]
    if draw(st.booleans()):
        return replace(layout, extra_records=(*layout.extra_records, member.central))
    members = list(layout.members)
    members.insert(index, member)
    return replace(layout, members=tuple(members))


def mutate_zip64(draw: Draw, layout: Layout) -> Layout:
    """ZIP64 end records, with or without extensible data (random, or a second record); and
    ZIP64 sizes in a central record."""
    extensible = draw(st.sampled_from(["none", "random", "record"]))
    layout = replace(layout, zip64=True)
    if extensible == "random":
        layout = replace(layout, zip64_extensible=bytes(draw(st.binary(min_size=1, max_size=40))))  # type: ignore[call-overload]
    elif extensible == "record":
        second = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, 1, 1, 46, 0)
        layout = replace(layout, zip64_extensible=_hidden_entry() + second)
    if draw(st.booleans()):
        index = _member_index(draw, layout)
        member = layout.members[index]
        central = member.central
        wide = extra_field(0x0001, struct.pack("<2Q", central.uncompressed, central.compressed))
        central = replace(central, compressed=0xFFFFFFFF, uncompressed=0xFFFFFFFF, extra=wide + central.extra)
        layout = _with_member(layout, index, replace(member, central=central))
    return layout


def mutate_descriptor(draw: Draw, layout: Layout) -> Layout:
    """Flag bit 3 and a data descriptor: honest, with zeros in the local header, lying, or forged
    inside the data with a plaintext entry after it."""
    index = _member_index(draw, layout)
    member = layout.members[index]
    kind = draw(st.sampled_from(["honest", "zeros", "wide", "lying", "forged"]))
    if kind == "forged":
        forged = DESCRIPTOR_SIG + struct.pack("<3L", 0, 18, 0)
        data = member.data[:18] + forged + _hidden_entry() + member.data[18:]
        member = replace(
            member,
            data=data,
            local=replace(member.local, compressed=len(data)),
            central=replace(member.central, compressed=len(data)),
        )
    if member.local.flags & 0x0008:
        member = replace(
            member,
            local=replace(member.local, flags=member.local.flags & ~0x0008),
            central=replace(member.central, flags=member.central.flags & ~0x0008),
            descriptor=b"",
        )
    if kind == "wide":
        local = member.local
        wide = extra_field(0x0001, struct.pack("<2Q", local.uncompressed, local.compressed))
        member = replace(member, local=replace(local, extra=local.extra + wide))
    described = with_descriptor(
        member,
        signature=bool(draw(st.booleans())),
        zip64=kind == "wide",
        zero_local=(kind in ("zeros", "forged") and bool(draw(st.booleans()))) or kind == "zeros",
    )
    if kind == "lying":
        described = replace(described, descriptor=described.descriptor[:-4] + struct.pack("<L", 0))
    return _with_member(layout, index, described)


def mutate_ciphertext(draw: Draw, layout: Layout) -> Layout:
    """Records inside an encrypted entry's data, which the sender chooses and no check can read:
    a forged descriptor and a plaintext entry, a bare plaintext entry, or a directory and end
    record. Sizes and flags stay consistent."""
    index = _member_index(draw, layout)
    member = layout.members[index]
    if member.central.method != 99 or len(member.data) < 28:
        return layout
    kind = draw(st.sampled_from(["descriptor", "entry", "directory"]))
    if kind == "descriptor":
        inside = DESCRIPTOR_SIG + struct.pack("<3L", 0, 0, 0) + _hidden_entry()
    elif kind == "entry":
        inside = _hidden_entry()
    else:
        record = replace(plain_member("record.txt", SECRET).central, offset=0).pack()
        inside = record + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(record), 0, 0)
    at = int(draw(st.integers(0, len(member.data))))  # type: ignore[call-overload]
    data = member.data[:at] + inside + member.data[at:]
    return _with_member(
        layout,
        index,
        replace(
            member,
            data=data,
            local=replace(member.local, compressed=len(data)),
            central=replace(member.central, compressed=len(data)),
        ),
    )


def mutate_plaintext_entry(draw: Draw, layout: Layout) -> Layout:
    """A plaintext entry: honest (mixed), or with a central record that claims AES."""
    hidden = plain_member("record.txt", SECRET)
    if draw(st.booleans()):
        central = replace(hidden.central, method=99, flags=hidden.central.flags | 1, extra=aes_field(3, 0), crc=0)
        hidden = replace(hidden, central=central)
    members = list(layout.members)
    members.insert(int(draw(st.integers(0, len(members)))), hidden)  # type: ignore[call-overload]
    return replace(layout, members=tuple(members))


def mutate_order(draw: Draw, layout: Layout) -> Layout:
    """The entries in another order in the file (and so in the directory)."""
    members = list(layout.members)
    return replace(layout, members=tuple(draw(st.permutations(members))))  # type: ignore[call-overload]


MUTATIONS: tuple[Mutation, ...] = (
    mutate_header_field,
    mutate_extra_fields,
    mutate_gap,
    mutate_comment,
    mutate_entry_comment,
    mutate_duplicate,
    mutate_zip64,
    mutate_descriptor,
    mutate_ciphertext,
    mutate_plaintext_entry,
    mutate_order,
)


@st.composite
def archives(draw: Draw) -> bytes:
    """A genuine archive with up to three structural mutations."""
    _label, data = draw(st.sampled_from(genuine_archives()))  # type: ignore[misc]
    layout = parse_archive(data)
    for mutation in draw(st.lists(st.sampled_from(MUTATIONS), max_size=3)):  # type: ignore[union-attr]
        layout = mutation(draw, layout)
        event(mutation.__name__)
    return layout.pack()


# --- what each extractor does with an accepted archive ------------------------------------------


def wrong_password(path: Path) -> str:
    """A wrong password whose 2-byte AES verifier matches no entry's: with one that matched
    (1 in 65536), 7-Zip would decrypt garbage and write it, which is not a leak but would read as
    one."""
    entries = []
    with zipfile.ZipFile(path) as archive, path.open("rb") as handle:
        for info in archive.infolist():
            if info.compress_type != 99:
                continue
            handle.seek(info.header_offset + 26)
            name_length, extra_length = struct.unpack("<2H", handle.read(4))
            handle.seek(info.header_offset + 30 + name_length + extra_length)
            entries.append(handle.read(18))
    for attempt in range(100):
        candidate = f"not the password {attempt}"
        verifiers = {hashlib.pbkdf2_hmac("sha1", candidate.encode(), salt[:16], 1000, 66)[64:] for salt in entries}
        if all(salt[16:18] not in verifiers for salt in entries):
            return candidate
    raise AssertionError("no wrong password found")  # pragma: no cover


def check_extractor(extractor: str, data: bytes, verdict: Inspection, folder: Path) -> None:
    """The extractor sees the checker's entries and gets no entry data without the password."""
    path = folder / "accepted.zip"
    path.write_bytes(data)
    assert names_seen(extractor, path) == sorted(name.rstrip("/") for name in verdict.names)
    for number, password in enumerate((None, wrong_password(path))):
        files, output = extract(extractor, path, password=password, into=folder / f"out{number}")
        assert leaked(files) == {}, f"{extractor} with password {password!r} read data:\n{output}"


@pytest.mark.parametrize("extractor", EXTRACTORS)
def test_no_accepted_archive_yields_data_to_an_extractor_without_the_password(extractor: str) -> None:
    if not available(extractor):
        pytest.skip(missing_message(extractor))

    @SETTINGS
    @given(data=archives())
    def accepted_means_unreadable(data: bytes) -> None:
        verdict = inspect(data)
        event("accepted" if verdict.ok else f"refused: {verdict.reason}")
        if not verdict.ok:
            return
        with tempfile.TemporaryDirectory(prefix="s2s-differential-") as folder:
            check_extractor(extractor, data, verdict, Path(folder))

    accepted_means_unreadable()


def test_the_generated_corpus_holds_archives_the_checker_accepts_and_refuses() -> None:
    """The harness is not vacuous: its strategy reaches both verdicts, and accepted archives
    beyond the genuine ones (a mutation that keeps the archive consistent)."""
    genuine = {data for _label, data in genuine_archives()}
    search = settings(database=None, deadline=None, derandomize=True, max_examples=2000)

    accepted = find(archives(), lambda data: data not in genuine and inspect(data).ok, settings=search)
    refused = find(archives(), lambda data: not inspect(data).ok, settings=search)

    assert inspect(accepted).ok and not inspect(refused).ok


def test_the_harness_catches_an_archive_that_leaks(tmp_path: Path) -> None:
    """Given the checker's verdict on a genuine archive but a hostile archive's bytes (the local
    header says stored), the extractor check fails: it would notice a checker that let one in."""
    extractor = next((name for name in ("bsdtar", "7zz") if available(name)), None)
    if extractor is None:
        pytest.skip(missing_message("bsdtar"))
    member = plain_member("record.txt", SECRET)
    central = replace(member.central, method=99, flags=member.central.flags | 1, extra=aes_field(3, 0), crc=0)
    hostile = Layout(members=(replace(member, central=central),)).pack()
    verdict = replace(inspect(make_aes_zip({"record.txt": SECRET})), names=("record.txt",))

    with pytest.raises(AssertionError, match="read data"):
        check_extractor(extractor, hostile, verdict, tmp_path)
