"""``python -m sekimori.ingest.windows``: print the mapping as Markdown (``docs/windows-mapping.md``)."""

from sekimori.ingest.windows.markdown import mapping_markdown

print(mapping_markdown(), end="")
