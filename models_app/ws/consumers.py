"""`/ws/jobs/{id}/`: a training job's progress, from its current state until it ends (staff)."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async

from mlplatform.auth import Principal
from mlplatform.errors import ModelNotFound, PlatformError
from mlplatform.ws import JsonConsumer
from models_app.job_events import job_event, job_group
from models_app.selectors import visible_training_jobs


class JobProgressConsumer(JsonConsumer):
    async def connect(self) -> None:
        principal = self.principal
        if principal is None:
            await self.refuse(self.authentication_error())
            return
        job_id = int(self.scope["url_route"]["kwargs"]["job_id"])
        # Join before reading: an event racing the read arrives after it, never falls between.
        await self.channel_layer.group_add(job_group(job_id), self.channel_name)
        self.groups.append(job_group(job_id))
        try:
            current = await database_sync_to_async(_current_state)(principal, job_id)
        except PlatformError as error:
            await self.refuse(error)
            return
        await self.accept()
        await self._forward(current)

    async def job_progress(self, message: dict[str, Any]) -> None:
        await self._forward(message["job"])

    async def _forward(self, event: dict[str, Any]) -> None:
        """Send an event unless it is older than (or the same as) what the client has."""
        last: dict[str, Any] | None = getattr(self, "last_event", None)
        if last is not None and (event["revision"] < last["revision"] or event == last):
            return  # published before the state we read on connect, delivered after it
        self.last_event = event
        await self.send_json(event)
        if event["done"]:
            await self.close(code=1000)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        pass  # the stream is one-way; client frames (pings) are ignored


def _current_state(principal: Principal, job_id: int) -> dict[str, Any]:
    job = visible_training_jobs(principal).filter(pk=job_id).first()
    if job is None:
        raise ModelNotFound(f"training job {job_id} not found")  # the contract's one 404 code
    return job_event(job)
