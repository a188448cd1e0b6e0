"""Keep optional imports of libraries the store never uses that way from loading them (README, "Worker memory").

Some libraries import another one when it is installed, for a feature the store does not use: DRF imports
requests for its test client, kombu imports PyYAML to offer a YAML serializer. Both are installed for other
reasons (stripe needs requests, drf-spectacular renders the schema as YAML), and each costs every web worker
about 1 to 5 MiB when loaded at start.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def unavailable(*names: str) -> Iterator[None]:
    """Make ``import name`` raise ImportError inside the block.

    Only for imports that are optional where they are made (``try: import x except ImportError``). A module
    already imported stays as it is. After the block the modules import as usual, so code that needs one
    (stripe, the schema's YAML renderer) imports it on its own path.
    """
    blocked = [name for name in names if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
