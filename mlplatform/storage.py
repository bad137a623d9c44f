"""Static files storage for production: WhiteNoise's compressed, hashed manifest storage, minus
the rewriting of `sourceMappingURL` comments.

The vendored GraphiQL bundles end with a sourceMappingURL comment naming .map files we do not ship
(4 MB). Django's manifest storage would fail `collectstatic` on the missing maps; and we must not
edit those files either, because graphene-django checks them against fixed SRI hashes.
"""

from __future__ import annotations

from typing import Any

from whitenoise.storage import CompressedManifestStaticFilesStorage


def _without_source_maps(patterns: Any) -> tuple[Any, ...]:
    return tuple(
        (extension, tuple(p for p in rules if "sourceMappingURL" not in str(p)))
        for extension, rules in patterns
    )


class StaticStorage(CompressedManifestStaticFilesStorage):
    patterns = _without_source_maps(CompressedManifestStaticFilesStorage.patterns)
