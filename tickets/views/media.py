"""A message's file, only for users who may see its ticket (media is never a public URL)."""

import posixpath

from django.http import FileResponse, Http404

from helpdesk.http import AuthenticatedHttpRequest
from tickets.selectors import conversation_message
from tickets.views.ticket import ticket_or_404

# Shown in the page; anything else is downloaded as bytes. A customer chooses the
# MIME type of what they send: "text/html" or "image/svg+xml" must never render here.
INLINE_TYPES = {
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/gif",
    "audio/ogg",
    "audio/mpeg",
    "audio/mp4",
    "audio/aac",
    "audio/amr",
    "audio/webm",
    "video/mp4",
    "video/3gpp",
    "video/webm",
}


def message_media(request: AuthenticatedHttpRequest, pk: int, message_pk: int) -> FileResponse:
    ticket = ticket_or_404(request.user, pk)
    message = conversation_message(ticket=ticket, pk=message_pk)
    # no file stored (what bool(message.media) tests), or its sender deleted it for everyone
    if message is None or not message.media.name or message.deleted_at:
        raise Http404
    mimetype = message.mimetype.split(";")[0].strip().lower()
    inline = mimetype in INLINE_TYPES
    name = message.filename or posixpath.basename(message.media.name)
    response = FileResponse(
        message.media.open("rb"),
        as_attachment=not inline,
        filename=name,
        content_type=mimetype if inline else "application/octet-stream",
    )
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, max-age=3600"
    return response
