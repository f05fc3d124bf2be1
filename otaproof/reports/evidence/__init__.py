"""The evidence pack: ``collect`` (one matrix run and the storm figures) -> ``findings`` and
``summary`` (cells, findings, generated sentences) -> ``document`` (evidence.json, traces,
certificates) and ``view`` (what the report shows, with ``msc`` sequence charts) -> ``render``
(index.html, report.md) -> ``manifest`` (hashes, signature) -> ``pack`` (the directory);
``certificates`` and ``verify`` re-check a pack."""
