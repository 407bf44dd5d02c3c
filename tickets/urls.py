from django.urls import path

from tickets.views import inbox, media, ticket

urlpatterns = [
    path("", inbox.inbox, name="inbox"),
    path("more/", inbox.inbox_more, name="inbox-more"),
    path("rows/", inbox.inbox_rows_view, name="inbox-rows"),
    path("counts/", inbox.inbox_counts_view, name="inbox-counts"),
    path("filters/", inbox.inbox_filter_options, name="inbox-filters"),
    path("mute/", inbox.inbox_mute, name="inbox-mute"),
    path("quick-replies/", ticket.quick_replies, name="quick-replies"),
    path("<int:pk>/", ticket.ticket_detail, name="ticket"),
    path("<int:pk>/read/", ticket.ticket_read_view, name="ticket-read"),
    path("<int:pk>/head/", ticket.ticket_head, name="ticket-head"),
    path("<int:pk>/messages/", ticket.conversation_messages, name="ticket-messages"),
    path("<int:pk>/messages/<int:message_pk>/", ticket.conversation_message_view, name="ticket-message"),
    path("<int:pk>/messages/<int:message_pk>/retry/", ticket.message_retry_view, name="message-retry"),
    path("<int:pk>/messages/<int:message_pk>/media/", media.message_media, name="message-media"),
    path(
        "<int:pk>/messages/<int:message_pk>/reaction/", ticket.message_reaction_view, name="message-reaction"
    ),
    path("<int:pk>/messages/<int:message_pk>/edit/", ticket.message_edit_view, name="message-edit"),
    path("<int:pk>/messages/<int:message_pk>/delete/", ticket.message_delete_view, name="message-delete"),
    path("<int:pk>/reply/", ticket.ticket_reply_view, name="ticket-reply"),
    path("<int:pk>/scheduled/", ticket.ticket_scheduled, name="ticket-scheduled"),
    path("<int:pk>/scheduled/<int:message_pk>/edit/", ticket.scheduled_edit_view, name="scheduled-edit"),
    path(
        "<int:pk>/scheduled/<int:message_pk>/cancel/", ticket.scheduled_cancel_view, name="scheduled-cancel"
    ),
    path("<int:pk>/transfer/", ticket.ticket_transfer_view, name="ticket-transfer"),
    path("<int:pk>/<slug:action>/", ticket.ticket_action, name="ticket-action"),
]
