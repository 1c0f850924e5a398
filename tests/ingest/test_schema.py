import pyarrow as pa
import pytest

from sekimori.ingest.schema import EVENT_SCHEMA, OCSF_CLASSES, make_batch


def test_make_batch_fills_unknown_columns_with_nulls_and_names_the_ocsf_class():
    batch = make_batch({"principal": ["alice", "bob"], "ocsf_class_uid": [3002, 1007]})
    assert batch.schema == EVENT_SCHEMA
    assert batch.num_rows == 2
    assert batch.column("principal").to_pylist() == ["alice", "bob"]
    assert batch.column("host").null_count == 2
    assert batch.column("ocsf_class_name").to_pylist() == ["Authentication", "Process Activity"]


def test_ocsf_names_are_vectorised_and_unknown_uids_say_so():
    from sekimori.ingest.schema import ocsf_names

    names = ocsf_names(pa.array([3002, None, 999999, 0], pa.int32())).to_pylist()
    assert names == ["Authentication", None, "Unknown", "Base Event"]


@pytest.mark.parametrize("typ", [pa.int32(), pa.int64()])
def test_ocsf_names_of_a_small_array_looked_up_by_row_are_the_vectorised_ones(monkeypatch, typ):
    from sekimori.ingest import schema

    uids = pa.array([None, 0, 3002, 1007, 999999, -1, 2**31 - 1, *OCSF_CLASSES], typ)
    by_row = schema.ocsf_names(uids)
    monkeypatch.setattr(schema, "_OCSF_ROWS_BY_ROW", -1)
    assert by_row.equals(schema.ocsf_names(uids))


def test_make_batch_rejects_columns_that_are_not_in_the_schema():
    with pytest.raises(KeyError, match="not event columns"):
        make_batch({"principle": ["typo"]})


def test_make_batch_casts_arrow_arrays_to_the_schema_types():
    batch = make_batch({"src_port": pa.array([22, 443], pa.int64())})
    assert batch.column("src_port").type == pa.int32()


def test_every_ocsf_class_has_a_name_and_the_time_column_is_utc():
    assert all(OCSF_CLASSES.values())
    assert str(EVENT_SCHEMA.field("time").type) == "timestamp[us, tz=UTC]"


@pytest.mark.parametrize("n", [0, 1, 9, 300, 9000])
def test_a_column_of_nothing_but_nulls_is_what_arrow_converts_it_to(n):
    """All-null columns skip the conversion (a small batch has some thirty); the batch is the same, to
    its byte count (which bounds the memory of a run)."""
    from sekimori.ingest.fit import column_array

    columns = {f.name: [None] * n for f in EVENT_SCHEMA if f.name != "record_id"}
    columns["record_id"] = list(range(n))
    batch = make_batch(columns, n)
    converted = [pa.array(columns[f.name], f.type) for f in EVENT_SCHEMA]
    assert batch.equals(pa.RecordBatch.from_arrays(converted, schema=EVENT_SCHEMA))
    for field, arr in zip(EVENT_SCHEMA, converted, strict=True):
        got = column_array(field.name, columns[field.name], field.type)
        assert got.equals(arr) and got.nbytes == arr.nbytes
    assert batch.nbytes == sum(a.nbytes for a in converted)
    assert make_batch({"host": ["h"] * n}, n).nbytes == make_batch({"host": pa.array(["h"] * n)}, n).nbytes


def _evtx_batches() -> list[pa.RecordBatch]:
    """The batches the EVTX reader makes of the real files in tests/data/evtx (one per file)."""
    from pathlib import Path

    from sekimori.ingest import Quarantine, Source
    from sekimori.ingest.readers.evtx import EvtxReader

    folder = Path(__file__).resolve().parents[1] / "data" / "evtx"
    batches = []
    for path in sorted(folder.glob("*.evtx")):
        source = Source(str(path), path)
        batches.extend(EvtxReader().read(source, Quarantine(source)))
    return batches


def test_batch_and_column_nbytes_of_make_batch_batches_and_of_others_are_arrows_nbytes():
    from sekimori.ingest import schema
    from sekimori.ingest.schema import batch_nbytes, column_nbytes

    batches = _evtx_batches()
    assert len(batches) == 9  # nine files, each a few hundred events at most: one batch each
    for batch in batches:
        assert schema._NBYTES[id(batch)][0]() is batch  # measured by make_batch as it built it
        assert batch_nbytes(batch) == batch.nbytes  # Arrow's own measure: the oracle
        for i in range(batch.num_columns):
            assert column_nbytes(batch, i) == batch.column(i).nbytes
        part = batch.slice(1, batch.num_rows // 2)  # not made by make_batch: Arrow measures it
        assert id(part) not in schema._NBYTES
        assert batch_nbytes(part) == part.nbytes
        assert column_nbytes(part, 1) == part.column(1).nbytes
    ids = [id(b) for b in batches]
    del batches, batch, part
    assert not any(i in schema._NBYTES for i in ids)  # forgotten with their batches
