"""The e-mail channel: Django's e-mail backend (SMTP in production), one message per recipient."""
import smtplib

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import translation
from django.utils.translation import gettext as _

from governance.models import NotificationDelivery

# What a failed SMTP conversation raises: the attempt is retried.
EMAIL_ERRORS: tuple[type[Exception], ...] = (smtplib.SMTPException, OSError)


def absolute_link(path: str) -> str:
    """Return the page's address under DRIFTGATE_BASE_URL."""
    return f"{settings.DRIFTGATE_BASE_URL}{path}" if path else settings.DRIFTGATE_BASE_URL + "/"


def email_body(delivery: NotificationDelivery) -> str:
    """Return the message text: the notification, the page to act on, and where to change what arrives."""
    notification = delivery.notification
    with translation.override(settings.LANGUAGE_CODE):
        lines = [notification.body, ""]
        if notification.link:
            lines += [_("Open it in Driftgate: %(url)s") % {"url": absolute_link(notification.link)}, ""]
        lines.append(_("You receive this because of your role in Driftgate. Choose what reaches you by e-mail: %(url)s")
                     % {"url": absolute_link("/notifications/preferences/")})
    return "\n".join(lines)


def send_notification_email(delivery: NotificationDelivery) -> None:
    """Send the delivery's e-mail; SMTP errors propagate so the attempt is retried."""
    recipient = delivery.recipient
    if recipient is None or not recipient.email:
        raise smtplib.SMTPRecipientsRefused({"": (550, b"the recipient has no e-mail address")})
    message = EmailMessage(
        subject=f"[Driftgate] {delivery.notification.subject}", body=email_body(delivery),
        from_email=settings.DEFAULT_FROM_EMAIL, to=[recipient.email],
        # RFC 3834: an automatic message, so auto-responders do not answer it.
        headers={"Auto-Submitted": "auto-generated", "X-Driftgate-Event": delivery.notification.event})
    message.send(fail_silently=False)
