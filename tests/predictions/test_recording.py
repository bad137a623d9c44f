"""Group-commit recording outside a transaction, as server processes use it."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from mlplatform.errors import ErrorCode, PlatformError
from models_app.models import MLModel
from predictions import recording
from predictions.models import Prediction
from predictions.recording import GroupCommitRecorder


def _row(model_id: int, marker: str) -> Prediction:
    return Prediction(
        model_id=model_id,
        protocol="rest",
        inputs={"X": [[1, 2]]},
        outputs={"predictions": [1.0]},
        latency_ms=0.5,
        request_id=marker,
    )


@pytest.fixture
def recorder_marker(db_reader: None) -> Any:
    marker = "recording-test"
    yield marker
    Prediction.objects.filter(request_id__startswith=marker).delete()


@pytest.fixture
def recorder() -> Any:
    recorder = GroupCommitRecorder(flush_max=8)
    yield recorder
    recorder.stop()


def test_concurrent_records_are_all_committed(
    recorder_marker: str, recorder: GroupCommitRecorder
) -> None:
    demo = MLModel.objects.get(name="demo", version=1)
    ids: list[int] = []
    lock = threading.Lock()

    def record(i: int) -> None:
        row = recorder.record(_row(demo.pk, f"{recorder_marker}-{i}"))
        with lock:
            ids.append(row.pk)

    threads = [threading.Thread(target=record, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(ids)) == 40
    assert Prediction.objects.filter(request_id__startswith=recorder_marker).count() == 40


def test_failed_write_is_reported_not_swallowed(
    recorder_marker: str, recorder: GroupCommitRecorder
) -> None:
    with pytest.raises(PlatformError) as caught:
        recorder.record(_row(987654321, f"{recorder_marker}-bad"))

    assert caught.value.code is ErrorCode.UNAVAILABLE
    assert not Prediction.objects.filter(request_id__startswith=recorder_marker).exists()


def test_a_bad_row_fails_only_its_own_request(
    recorder_marker: str, recorder: GroupCommitRecorder
) -> None:
    """Rows that share an INSERT with a bad one (here: a missing model) are still recorded."""
    demo = MLModel.objects.get(name="demo", version=1)
    start = threading.Barrier(24)
    outcomes: dict[str, str] = {}

    def record(i: int) -> None:
        model_id = 987654321 if i == 5 else demo.pk
        start.wait()
        try:
            recorder.record(_row(model_id, f"{recorder_marker}-{i}"))
            outcomes[str(i)] = "recorded"
        except PlatformError as exc:
            outcomes[str(i)] = str(exc.code)

    threads = [threading.Thread(target=record, args=(i,)) for i in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.pop("5") == "unavailable"
    assert set(outcomes.values()) == {"recorded"}
    assert Prediction.objects.filter(request_id__startswith=recorder_marker).count() == 23


def test_stop_waits_for_the_batch_in_flight_and_recording_goes_on_after(
    recorder_marker: str, recorder: GroupCommitRecorder
) -> None:
    demo = MLModel.objects.get(name="demo", version=1)
    writer = threading.Thread(
        target=lambda: [
            recorder.record(_row(demo.pk, f"{recorder_marker}-before-{i}")) for i in range(50)
        ]
    )
    writer.start()

    recorder.stop()  # while the writer's rows are being recorded
    writer.join()
    recorder.stop()
    after = recorder.record(_row(demo.pk, f"{recorder_marker}-after-stop"))

    assert (
        Prediction.objects.filter(request_id__startswith=f"{recorder_marker}-before-").count() == 50
    )
    assert Prediction.objects.filter(
        pk=after.pk, request_id=f"{recorder_marker}-after-stop"
    ).exists()


def test_a_lone_request_writes_its_row_on_its_own_thread(
    recorder_marker: str, recorder: GroupCommitRecorder, monkeypatch: Any
) -> None:
    """No flusher thread: alone, a request leads its own batch (no hand-off, no wake-up)."""
    demo = MLModel.objects.get(name="demo", version=1)
    writers: list[int] = []
    insert = recording.insert_predictions

    def spy(rows: list[Prediction], db: Any) -> None:
        writers.append(threading.get_ident())
        insert(rows, db)

    monkeypatch.setattr(recording, "insert_predictions", spy)

    rows = [recorder.record(_row(demo.pk, f"{recorder_marker}-alone-{i}")) for i in range(5)]

    assert writers == [threading.get_ident()] * 5
    assert len({row.pk for row in rows}) == 5
