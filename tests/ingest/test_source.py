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
