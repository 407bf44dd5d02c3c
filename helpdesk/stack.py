"""Room on CPython's frame stack for each request (python/cpython#142183).

CPython 3.11 keeps a thread's Python frames on a stack of chunks (16 KiB, Python/pystate.c) and
frees a chunk as soon as the frame at its start returns. A loop that calls down across a chunk's
end, a template rendering 50 rows from the wrong depth, maps and unmaps a chunk on every call:
measured on the inbox page (50 rows, the test client, `strace -c`), about 2,900 mmap/munmap pairs
and 400-3,000 page faults per request, depending only on how deep the server's own stack is, and
twice the CPU. CPython 3.13 and 3.14 keep one chunk spare (gh-145789); 3.11 will not get that fix.

``RoomyStackMiddleware`` runs each request from inside a frame so large that CPython gives it a
chunk of its own (256 KiB, mapped once per request), with about 135 KiB left above it: the whole
request then fits in that chunk and never crosses an end. The cost is one mapping and the frame's
empty slots, microseconds. It can go when the helpdesk runs on Python 3.13 or later.
"""

import sys
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

# A new chunk is 16 KiB doubled until it holds the frame and 1,000 slots more (8-byte slots):
# 15,400 locals (and the frame's own few) need 256 KiB, and leave ~17,000 slots above the frame.
ROOMY_SLOTS = 15_400


def with_roomy_stack(call: Callable[..., Any], *args: Any) -> Any:
    """``call(*args)`` with a frame stack chunk of its own (on 3.13 and later, a plain call: the
    spare chunk leaves nothing to work around)."""
    return call(*args)


if sys.version_info < (3, 13):
    # The same function with ROOMY_SLOTS more local variables that it never uses: only its frame
    # grows. Made from its code object, not from source text (compiling 15,400 names took 0.4 s).
    _code = with_roomy_stack.__code__
    _names = _code.co_varnames + tuple(f"_roomy_{n}" for n in range(ROOMY_SLOTS))
    with_roomy_stack.__code__ = _code.replace(co_varnames=_names, co_nlocals=len(_names))


class RoomyStackMiddleware:
    """The outermost middleware: everything a request runs is above its roomy frame."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return with_roomy_stack(self.get_response, request)
