"""Local files for stored artifacts, whatever the storage backend.

Runtimes (onnxruntime, skops) open files by path. With the local file system that is the stored
file itself; with shared object storage (S3 through django-storages, for several hosts) the
artifact is copied once into a local cache, named by a digest of its storage name (names are
never reused: `file_overwrite` is off), so a new upload never meets a stale copy.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.db.models.fields.files import FieldFile


def local_path(field: FieldFile) -> str:
    try:
        return str(field.path)  # FileSystemStorage: the file itself
    except NotImplementedError:
        pass
    cache = Path(settings.MLP_ARTIFACT_CACHE_DIR)
    cache.mkdir(parents=True, exist_ok=True)
    name = str(field.name)
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    target = cache / f"{digest}-{Path(name).name}"
    if not target.exists():
        fd, partial = tempfile.mkstemp(dir=cache, suffix=".part")
        with os.fdopen(fd, "wb") as out, field.open("rb") as source:
            for chunk in iter(lambda: source.read(1 << 20), b""):
                out.write(chunk)
        os.replace(partial, target)  # atomic: a concurrent loader never sees half a file
    return str(target)
