import gzip
import io
import tarfile
import zipfile

import pytest

from sekimori.ingest.source import SourceError, expand


def test_plain_gzip_zip_and_tar_sources_give_the_decompressed_content(tmp_path):
    payload = b'{"a": 1}\n{"a": 2}\n'
    (tmp_path / "plain.json").write_bytes(payload)
    with gzip.open(tmp_path / "stream.json.gz", "wb") as g:
        g.write(payload)
    with zipfile.ZipFile(tmp_path / "arch.zip", "w") as z:
        z.writestr("one.json", payload)
        z.writestr("dir/two.json", payload)
        z.writestr("__MACOSX/._one.json", b"junk")
    with tarfile.open(tmp_path / "arch.tar.gz", "w:gz") as t:
        info = tarfile.TarInfo("inside.json")
        info.size = len(payload)
        t.addfile(info, io.BytesIO(payload))

    for name in ("plain.json", "stream.json.gz", "arch.tar.gz"):
        sources = list(expand(str(tmp_path / name)))
        assert len(sources) == 1
        assert sources[0].head() == payload
        assert sources[0].path == str(tmp_path / name)
    members = list(expand(str(tmp_path / "arch.zip")))
    assert [s.member for s in members] == ["dir/two.json", "one.json"]  # metadata member skipped
    assert all(s.head() == payload for s in members)
    assert members[1].display.endswith("arch.zip!one.json")


def test_a_corrupt_zip_and_a_missing_file_raise_source_errors_naming_the_file(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04" + b"\x00" * 50)
    with pytest.raises(SourceError, match=r"bad\.zip"):
        list(expand(str(bad)))
    with pytest.raises(SourceError, match=r"missing\.evtx"):
        list(expand(str(tmp_path / "missing.evtx")))


def _tar_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _members(tmp_path, name: str, content: bytes) -> dict[str, bytes]:
    """What tarfile itself reads from each member: the reference."""
    path = tmp_path / name
    path.write_bytes(content)
    with tarfile.open(path, "r:*") as t:
        return {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}  # type: ignore[union-attr]


def test_tar_members_open_by_offset_and_read_as_tarfile_reads_them(tmp_path):
    import random

    rng = random.Random(3)
    members = {f"logs/{i:02d}.log": rng.randbytes(rng.randrange(0, 70_000)) for i in range(12)}
    members["logs/05.log"] = b""  # an empty member
    plain = _tar_bytes(members)
    cases = {
        "a.tar": plain,
        "a.tar.gz": gzip.compress(plain),
        # a gzip stream in two members, then a stray newline after it (as some real archives have)
        "b.tar.gz": gzip.compress(plain[:30_000]) + gzip.compress(plain[30_000:]) + b"\n",
    }
    for name, content in cases.items():
        expected = _members(tmp_path, name, content)
        assert expected == members, name
        sources = list(expand(str(tmp_path / name)))
        assert [s.member for s in sources] == sorted(members)
        for source in sources:
            with source.open() as fh:
                assert fh.read() == members[source.member], (name, source.member)
            data = members[source.member]
            with source.open() as fh:  # seek and tell stay inside the member
                fh.seek(0, io.SEEK_END)
                assert fh.tell() == len(data)
                fh.seek(len(data) // 3)
                assert fh.read(100) == data[len(data) // 3 : len(data) // 3 + 100]
                fh.seek(-10, io.SEEK_END)
                assert fh.read() == data[-10:] if data else fh.read() == b""


def test_a_tar_gz_is_unpacked_once_and_the_copy_removed_with_its_sources(tmp_path, monkeypatch):
    import gc

    from sekimori.ingest import source as source_module

    members = {f"{i}.log": f"line {i}\n".encode() * 100 for i in range(5)}
    (tmp_path / "a.tar.gz").write_bytes(gzip.compress(_tar_bytes(members)))
    calls = []
    real = source_module._gunzip
    monkeypatch.setattr(source_module, "_gunzip", lambda src, out: (calls.append(1), real(src, out)))
    sources = list(expand(str(tmp_path / "a.tar.gz")))
    for source in sources:
        assert source.head() == members[source.member]
        assert source.open().read() == members[source.member]
    assert len(calls) == 1  # ten opens, one decompression
    copy = sources[0].shared.unpacked()  # type: ignore[union-attr]
    assert copy.exists() and copy.stat().st_size == len(_tar_bytes(members))
    del sources, source
    gc.collect()
    assert not copy.exists()


def test_a_tar_cut_after_it_was_listed_fails_the_member_cut_and_keeps_the_one_before(tmp_path):
    first, second = b"a" * 5000, b"b" * 50_000
    content = _tar_bytes({"1.log": first, "2.log": second})
    path = tmp_path / "cut.tar"
    path.write_bytes(content)
    one, two = expand(str(path))  # listed whole (a cut archive is refused as a whole: tarfile)
    path.write_bytes(content[: 512 + 5120 + 512 + 20_000])  # 1.log whole, 2.log's header and a part
    assert one.open().read() == first
    with pytest.raises(EOFError, match="the archive ends 30000 bytes before the member does"):
        two.open().read()


def test_zip_members_share_one_reading_of_the_directory_closed_with_them(tmp_path, monkeypatch):
    import gc

    members = {f"host{i:03d}/auth.log": f"line {i}\n".encode() * (i + 1) for i in range(40)}
    with zipfile.ZipFile(tmp_path / "many.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    opened: list[zipfile.ZipFile] = []

    class Counted(zipfile.ZipFile):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            opened.append(self)

    monkeypatch.setattr(zipfile, "ZipFile", Counted)
    sources = list(expand(str(tmp_path / "many.zip")))
    streams = [s.open() for s in sources[:3]]  # several members open at once
    assert [fh.read() for fh in streams] == [members[s.member] for s in sources[:3]]
    for source in sources:
        assert source.head() == members[source.member]
        assert source.open().read() == members[source.member]
    assert len(opened) == 1  # 123 member opens, the directory read once
    for fh in streams:
        fh.close()
    del sources, source, streams
    gc.collect()
    assert opened[0].fp is None  # closed with the last source


def test_a_plain_files_head_is_the_files_first_bytes_kept_from_expand_or_read_again(tmp_path):
    from pathlib import Path

    from sekimori.ingest.source import HEAD_BYTES

    real = Path(__file__).resolve().parents[1] / "data" / "evtx" / "LM_WMIC_4648_rpcss.evtx"
    data = real.read_bytes()
    assert len(data) > HEAD_BYTES + 100  # long enough that a head past HEAD_BYTES reads the file
    (source,) = expand(str(real))
    assert source.first_bytes == data[:HEAD_BYTES]  # kept by expand's one opening
    assert source.head() == data[:HEAD_BYTES]
    assert source.head(8) == b"ElfFile\x00"  # the EVTX magic
    assert source.head(HEAD_BYTES + 100) == data[: HEAD_BYTES + 100]  # more than kept: read again
    short = tmp_path / "short.log"
    short.write_bytes(b"one line\n")
    (source,) = expand(str(short))
    assert source.head() == b"one line\n"
