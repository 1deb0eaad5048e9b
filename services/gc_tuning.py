"""Garbage-collector settings for a long-running server process.

Python 3.11's collector rescans the whole heap on every full (generation-2) collection. With
5,000 websockets the heap holds ~750k objects and a full collection stalls the event loop for
up to ~430 ms, which was the whole p99 of chat delivery (bench/ws_fanout.py; docs/performance.md).
Almost everything a server allocates dies by reference counting, so collecting generation 0 far
less often costs little memory and makes full collections rare.
"""

from __future__ import annotations

import gc

GEN0_THRESHOLD = 50_000
GEN1_THRESHOLD = 20
GEN2_THRESHOLD = 100


def tune_for_server() -> None:
    """Move start-up objects out of the collector's way and collect young objects less often."""
    gc.collect()
    gc.freeze()  # modules, classes, the app: alive for the process's life, never worth rescanning
    gc.set_threshold(GEN0_THRESHOLD, GEN1_THRESHOLD, GEN2_THRESHOLD)
