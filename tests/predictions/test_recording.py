"""Recording outside a transaction, as server processes do: durable group commit and the
buffered writer (the default)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import OperationalError, connection
from prometheus_client import REGISTRY

from mlplatform.errors import ErrorCode, PlatformError
from models_app.models import MLModel
from predictions.models import Prediction
from predictions.recording import BufferedRecorder, GroupCommitRecorder, buffered, group_commit

MISSING_MODEL = 987654321


def _row(model_id: int, marker: str) -> Prediction:
    return Prediction(
        model_id=model_id,
        protocol="rest",
        inputs={"X": [[1, 2]]},
        outputs={"predictions": [1.0]},
        latency_ms=0.5,
        request_id=marker,
    )


def _recorded(marker: str) -> Any:
    return Prediction.objects.filter(request_id__startswith=marker)


def _lost() -> float:
    return REGISTRY.get_sample_value("mlp_prediction_records_lost_total") or 0.0


def _in_threads(count: int, work: Callable[[int], None]) -> None:
    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.fixture
def marker(db_reader: None, request: Any) -> Iterator[str]:
    marker = f"recording-{request.node.name[-40:]}"
    yield marker
    _recorded(marker).delete()


@pytest.fixture
def demo(db_reader: None) -> MLModel:
    return MLModel.objects.get(name="demo", version=1)


# --- durable: a request answers once its row has committed ---------------------------------


@pytest.fixture
def durable() -> Iterator[GroupCommitRecorder]:
    recorder = GroupCommitRecorder(flush_max=8)
    yield recorder
    recorder.stop()


def test_durable_concurrent_records_are_all_committed(
    marker: str, demo: MLModel, durable: GroupCommitRecorder
) -> None:
    ids: list[int] = []

    def record(i: int) -> None:
        ids.append(durable.record(_row(demo.pk, f"{marker}-{i}")).pk)

    _in_threads(40, record)

    assert len(set(ids)) == 40
    assert _recorded(marker).count() == 40


def test_durable_failed_write_is_reported_not_swallowed(
    marker: str, durable: GroupCommitRecorder
) -> None:
    with pytest.raises(PlatformError) as caught:
        durable.record(_row(MISSING_MODEL, f"{marker}-bad"))

    assert caught.value.code is ErrorCode.UNAVAILABLE
    assert not _recorded(marker).exists()


def test_durable_bad_row_fails_only_its_own_request(
    marker: str, demo: MLModel, durable: GroupCommitRecorder
) -> None:
    """Rows that share an INSERT with a bad one (here: a missing model) are still recorded."""
    start = threading.Barrier(24)
    outcomes: dict[str, str] = {}

    def record(i: int) -> None:
        start.wait()
        try:
            durable.record(_row(MISSING_MODEL if i == 5 else demo.pk, f"{marker}-{i}"))
            outcomes[str(i)] = "recorded"
        except PlatformError as exc:
            outcomes[str(i)] = str(exc.code)

    _in_threads(24, record)

    assert outcomes.pop("5") == "unavailable"
    assert set(outcomes.values()) == {"recorded"}
    assert _recorded(marker).count() == 23


def test_durable_stop_waits_for_the_batch_in_flight_and_recording_goes_on_after(
    marker: str, demo: MLModel, durable: GroupCommitRecorder
) -> None:
    writer = threading.Thread(
        target=lambda: [durable.record(_row(demo.pk, f"{marker}-before-{i}")) for i in range(50)]
    )
    writer.start()

    durable.stop()  # while the writer's rows are being recorded
    writer.join()
    durable.stop()
    after = durable.record(_row(demo.pk, f"{marker}-after-stop"))

    assert _recorded(f"{marker}-before-").count() == 50
    assert Prediction.objects.filter(pk=after.pk, request_id=f"{marker}-after-stop").exists()


def test_durable_lone_request_writes_its_row_on_its_own_thread(
    marker: str, demo: MLModel, durable: GroupCommitRecorder, monkeypatch: Any
) -> None:
    """No writer thread: alone, a request leads its own batch (no hand-off, no wake-up)."""
    writers: list[int] = []
    insert = group_commit.insert_predictions

    def spy(rows: list[Prediction], db: Any) -> None:
        writers.append(threading.get_ident())
        insert(rows, db)

    monkeypatch.setattr(group_commit, "insert_predictions", spy)

    rows = [durable.record(_row(demo.pk, f"{marker}-alone-{i}")) for i in range(5)]

    assert writers == [threading.get_ident()] * 5
    assert len({row.pk for row in rows}) == 5


# --- buffered: a request answers once its row is queued -------------------------------------


def _buffered(**overrides: Any) -> BufferedRecorder:
    options: dict[str, Any] = {"linger": 0.005, "max_pending": 1000, "max_retry_seconds": 0.05}
    return BufferedRecorder(flush_max=8, **{**options, **overrides})


@pytest.fixture
def recorder() -> Iterator[BufferedRecorder]:
    recorder = _buffered()
    yield recorder
    recorder.stop()


def _fail_next_inserts(monkeypatch: Any, count: int, *, after_commit: bool = False) -> list[int]:
    """The next `count` INSERTs fail as an outage does (`after_commit`: the rows reach the
    table but the reply is lost). Returns the attempts made so far, as they grow."""
    attempts: list[int] = []
    insert = buffered.insert_predictions

    def flaky(rows: list[Prediction], db: Any) -> None:
        attempts.append(len(rows))
        if len(attempts) <= count:
            if after_commit:
                insert(rows, db)
            raise OperationalError("connection lost (test)")
        insert(rows, db)

    monkeypatch.setattr(buffered, "insert_predictions", flaky)
    return attempts


def test_buffered_rows_are_all_committed_by_stop(
    marker: str, demo: MLModel, recorder: BufferedRecorder
) -> None:
    def record(i: int) -> None:
        recorder.record(_row(demo.pk, f"{marker}-{i}"))

    _in_threads(40, record)

    recorder.stop()

    rows = list(_recorded(marker))
    assert len(rows) == 40
    assert len({row.pk for row in rows}) == 40
    assert recorder.pending() == 0


def test_buffered_waiting_request_gets_its_committed_row(
    marker: str, demo: MLModel, recorder: BufferedRecorder
) -> None:
    row = recorder.record(_row(demo.pk, f"{marker}-waits"), wait=True)

    assert row.pk is not None
    assert Prediction.objects.get(pk=row.pk).request_id == f"{marker}-waits"


def test_buffered_outage_keeps_answered_rows_until_the_database_returns(
    marker: str, demo: MLModel, recorder: BufferedRecorder, monkeypatch: Any
) -> None:
    attempts = _fail_next_inserts(monkeypatch, 3)

    recorder.record(_row(demo.pk, f"{marker}-answered"))
    recorder.stop()

    assert attempts == [1, 1, 1, 1]  # three failures, then the write that landed
    assert [row.request_id for row in _recorded(marker)] == [f"{marker}-answered"]
    assert recorder.failing() is None


def test_buffered_refuses_while_failing(marker: str, demo: MLModel, monkeypatch: Any) -> None:
    """With retries far apart, the refusal is certain: nothing new is answered meanwhile."""
    monkeypatch.setattr(buffered, "_FIRST_RETRY_SECONDS", 30.0)
    recorder = _buffered(max_retry_seconds=30.0)
    attempts = _fail_next_inserts(monkeypatch, 1)
    recorder.record(_row(demo.pk, f"{marker}-answered"))
    while recorder.failing() is None:
        threading.Event().wait(0.01)

    with pytest.raises(PlatformError) as caught:
        recorder.record(_row(demo.pk, f"{marker}-refused"))
    recorder.stop()  # wakes the writer: it retries at once and succeeds

    assert caught.value.code is ErrorCode.UNAVAILABLE
    assert len(attempts) == 2
    assert [row.request_id for row in _recorded(marker)] == [f"{marker}-answered"]


def test_buffered_retry_after_a_lost_reply_writes_each_row_once(
    marker: str, demo: MLModel, recorder: BufferedRecorder, monkeypatch: Any
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("ids are reserved from PostgreSQL's sequence; SQLite loses no replies")
    attempts = _fail_next_inserts(monkeypatch, 1, after_commit=True)
    lost_before = _lost()

    for i in range(5):
        recorder.record(_row(demo.pk, f"{marker}-{i}"))
    recorder.stop()

    assert len(attempts) >= 2
    assert _lost() == lost_before  # the retry skipped the ids it had written, no conflict
    assert sorted(row.request_id for row in _recorded(marker)) == [
        f"{marker}-{i}" for i in range(5)
    ]


def test_buffered_stop_gives_up_on_a_database_that_stays_away_and_counts_the_loss(
    marker: str, demo: MLModel, monkeypatch: Any
) -> None:
    recorder = _buffered()
    _fail_next_inserts(monkeypatch, 10**6)
    lost_before = _lost()
    recorder.record(_row(demo.pk, f"{marker}-lost"))

    recorder.stop(timeout=0.3)

    assert _lost() == lost_before + 1
    assert recorder.pending() == 0
    assert not _recorded(marker).exists()


def test_buffered_rejected_row_is_counted_and_the_others_are_written(
    marker: str, demo: MLModel, recorder: BufferedRecorder
) -> None:
    lost_before = _lost()

    for i in range(6):
        recorder.record(_row(MISSING_MODEL if i == 2 else demo.pk, f"{marker}-{i}"))
    recorder.stop()

    assert _lost() == lost_before + 1
    assert _recorded(marker).count() == 5
    assert recorder.failing() is None


def test_buffered_full_queue_refuses(marker: str, demo: MLModel) -> None:
    recorder = _buffered(linger=30.0, max_pending=3)  # the writer lingers: the queue fills up
    for i in range(3):
        recorder.record(_row(demo.pk, f"{marker}-{i}"))

    with pytest.raises(PlatformError) as caught:
        recorder.record(_row(demo.pk, f"{marker}-over"))
    recorder.stop()  # writes the three without waiting out the linger

    assert caught.value.code is ErrorCode.UNAVAILABLE
    assert _recorded(marker).count() == 3


def test_buffered_goes_on_after_stop(
    marker: str, demo: MLModel, recorder: BufferedRecorder
) -> None:
    recorder.record(_row(demo.pk, f"{marker}-before"))
    recorder.stop()

    after = recorder.record(_row(demo.pk, f"{marker}-after"), wait=True)

    assert Prediction.objects.filter(pk=after.pk).exists()
    assert _recorded(marker).count() == 2


def test_buffered_unexpected_batch_failure_keeps_the_rows_and_retries(
    marker: str, demo: MLModel, recorder: BufferedRecorder, monkeypatch: Any
) -> None:
    """A failure that is not the rows' fault (not an outage, not a bad row) loses nothing."""
    calls: list[int] = []
    write = buffered.write_isolated

    def broken_once(rows: list[Prediction], insert: Any) -> Any:
        calls.append(len(rows))
        if len(calls) == 1:
            raise RuntimeError("unexpected (test)")
        return write(rows, insert)

    monkeypatch.setattr(buffered, "write_isolated", broken_once)

    recorder.record(_row(demo.pk, f"{marker}-kept"))
    recorder.stop()

    assert calls == [1, 1]
    assert [row.request_id for row in _recorded(marker)] == [f"{marker}-kept"]


# --- the row the core builds ---------------------------------------------------------------


def test_answered_builds_the_same_row_as_the_constructor(demo: MLModel) -> None:
    """`Prediction.answered` skips `Model.__init__`; a field it forgot would be read lazily
    with a query (or not at all): its attributes must equal the constructor's, field for field."""
    fields = {
        "user_id": None,
        "protocol": "rest",
        "inputs": {"X": [[1, 2]]},
        "outputs": {"predictions": [1.0]},
        "cached": True,
        "latency_ms": 0.5,
        "request_id": "answered",
    }
    built = Prediction.answered(model=demo, **fields)
    constructed = Prediction(model=demo, **fields)

    def attributes(row: Prediction) -> dict[str, Any]:
        return {k: v for k, v in vars(row).items() if k != "_state"}

    assert attributes(built) == attributes(constructed)
    assert built._state.adding
    assert built._state.db is None
    assert built.model is demo
    built.save(force_insert=True)
    try:
        assert Prediction.objects.get(pk=built.pk).request_id == "answered"
    finally:
        built.delete()
