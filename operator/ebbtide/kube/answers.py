"""Answers of calls made with ``_preload_content=False``, whose body nobody needs.

ebbtide asks the client for raw answers (``_preload_content=False``) so that no model classes are
built. Such an answer holds its connection until its body has been read: one dropped unread
closes the connection instead of returning it to the pool, and the next call pays a new TCP and
TLS handshake, which cost more CPU than the request itself.
"""

from __future__ import annotations

from typing import Any


def discard(answer: Any) -> None:
    """Read ``answer``'s body to the end and hand its connection back to the pool."""
    answer.drain_conn()
    answer.release_conn()
