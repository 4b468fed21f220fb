"""Long-lived objects and the cyclic garbage collector, in a Lambda container.

A container lives for many requests; what its imports and caches create lives as long as it
does. CPython's collector does not know that: each full collection walks every tracked object,
those too, and a full collection lands in some request. Measured on the transcript PDF (500
completions, ``make bench``, section transcripts): fpdf2, fontTools and Pillow add 0.4 s of
imports worth of objects, and the full collections they cost put the 95th percentile 60-80 ms
above the median. ``settle`` collects once, then moves every surviving object out of the
collector's reach (``gc.freeze``): later collections walk only what requests create.
"""

from __future__ import annotations

import gc

__all__ = ["settle"]


def settle() -> None:
    """Call once imports and caches are in place (at a module's initialisation, or right after
    a heavy lazy import): what exists now lives as long as the container."""
    gc.collect()
    gc.freeze()
