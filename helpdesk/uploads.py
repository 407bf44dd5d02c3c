"""Size limits on what a request may carry, checked before and while the body is read.

Django limits form fields and JSON (DATA_UPLOAD_MAX_MEMORY_SIZE) but not files: a
multipart body of any size is parsed, and a view that calls ``upload.read()``
holds the whole file in memory. Here a request whose Content-Length is over the
limit is refused before its body is parsed, and a file is counted chunk by chunk
as it is read: at WHATSAPP_MAX_MEDIA_MB (the most WhatsApp takes, the only files
this helpdesk accepts) reading stops. The answer is a 413 saying why: JSON for
the API, plain text for the pages (the composer shows it and keeps the typed text).
"""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, HttpResponse
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from helpdesk.api_common import ApiError


class UploadTooLarge(Exception):
    def __init__(self, message: str, *, error_code: str) -> None:
        super().__init__(message)
        self.error_code = error_code


def file_limit_bytes() -> int:
    return int(settings.WHATSAPP_MAX_MEDIA_MB * 2**20)


def request_limit_bytes(request: HttpRequest) -> int:
    """A multipart body may carry one file and the form's fields; any other body only fields or JSON."""
    fields = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return file_limit_bytes() + fields if request.content_type == "multipart/form-data" else fields


class LimitedUploadHandler(FileUploadHandler):
    """First of FILE_UPLOAD_HANDLERS: counts each file's bytes as they arrive and stops at the limit,
    before the next handlers keep them (in memory, or in a temporary file)."""

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > file_limit_bytes():
            raise UploadTooLarge(
                _("The file is larger than %(limit)g MB, the most WhatsApp takes: nothing was sent.")
                % {"limit": settings.WHATSAPP_MAX_MEDIA_MB},
                error_code="MEDIA_TOO_LARGE",
            )
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler makes the file


class RequestSizeLimitMiddleware:
    """Refuses a body over the limit with 413 before anything reads it, and parses a multipart body
    here (before CsrfViewMiddleware reads it) so that a file stopped by LimitedUploadHandler is a 413
    too, not an error page."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view, args, kwargs) -> HttpResponse | None:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        try:
            if length > request_limit_bytes(request):
                limit = filesizeformat(request_limit_bytes(request))
                raise UploadTooLarge(
                    _("The request is larger than %(limit)s: nothing was sent.") % {"limit": limit},
                    error_code="REQUEST_TOO_LARGE",
                )
            if request.method == "POST" and request.content_type == "multipart/form-data":
                request.FILES  # noqa: B018 (parsed now, through LimitedUploadHandler)
        except UploadTooLarge as refused:
            if request.path.startswith("/api/"):
                return ApiError(413, refused.error_code, str(refused)).response()
            return HttpResponse(str(refused), status=413, content_type="text/plain; charset=utf-8")
        return None
