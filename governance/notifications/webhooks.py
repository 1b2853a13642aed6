"""The webhook channel: which URLs may receive, and one signed HTTP POST per attempt, logged for the owners.

A webhook must not become a way to make the server call itself or its host (SSRF): only http(s), never this
site's own host names, and no loopback, link-local (cloud metadata), multicast or unspecified address unless
DRIFTGATE_WEBHOOK_ALLOW_LOOPBACK admits loopback for development and tests. The check runs again before every
attempt, as a name may resolve differently by then, and redirects are not followed.
"""
import http.client
import ipaddress
import json
import socket
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.http.request import validate_host
from django.utils import timezone

from driftgate.errors import ValidationFailed
from governance.models import NotificationDelivery, WebhookAttempt
from governance.notifications.email import absolute_link
from governance.notifications.signing import decrypt_secret, sign

MAX_URL_LENGTH = 1000
_DEFAULT_PORTS = {"http": 80, "https": 443}
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class WebhookFailed(Exception):
    """An attempt that did not reach a 2xx answer; `permanent` when retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def _refuse(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, extra={"fields": {"url": [message]}})


def _is_loopback_name(host: str) -> bool:
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _points_to_this_site(host: str, port: int) -> bool:
    base = urlsplit(settings.DRIFTGATE_BASE_URL)
    base_host, base_port = (base.hostname or "").lower(), base.port or _DEFAULT_PORTS.get(base.scheme, 80)
    # With loopback allowed (development), another port on localhost is another program, not this site.
    loose = settings.DRIFTGATE_WEBHOOK_ALLOW_LOOPBACK and _is_loopback_name(host)
    if host == base_host and (port == base_port or not loose):
        return True
    own_names = [name for name in settings.ALLOWED_HOSTS if name != "*"]
    return validate_host(host, own_names) and (not loose or port == base_port)


def _resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise _refuse(f"The webhook's host {host!r} does not resolve.", "webhook_url_unresolvable") from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    # ::ffff:127.0.0.1 is 127.0.0.1: judge the IPv4 address inside.
    return [address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped else address
            for address in addresses]


def webhook_url_check(url: str) -> str:
    """Return the cleaned URL, or refuse one that is not http(s) or that points at this server or its host."""
    url = (url or "").strip()
    if not url or len(url) > MAX_URL_LENGTH:
        raise _refuse(f"A webhook URL is an http or https address of at most {MAX_URL_LENGTH} characters.",
                      "webhook_url_invalid")
    parts = urlsplit(url)
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        raise _refuse("A webhook URL must start with http:// or https://.", "webhook_url_not_http")
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme.lower()]
    except ValueError as exc:
        raise _refuse("This is not a valid http or https URL.", "webhook_url_invalid") from exc
    host = (parts.hostname or "").lower()
    # Before the syntax check: this site's own names (`testserver`, an intranet name) need not look public.
    if host and _points_to_this_site(host, port):
        raise _refuse("A webhook cannot point at this Driftgate server.", "webhook_url_points_to_server")
    try:
        URLValidator(schemes=list(_DEFAULT_PORTS))(url)
    except DjangoValidationError as exc:
        raise _refuse("This is not a valid http or https URL.", "webhook_url_invalid") from exc
    if parts.username or parts.password:
        raise _refuse("Put credentials in the webhook's secret, not in its URL.", "webhook_url_invalid")
    for address in _resolve(host, port):
        if address.is_loopback and not settings.DRIFTGATE_WEBHOOK_ALLOW_LOOPBACK:
            raise _refuse("A webhook cannot point at this server's own (loopback) address.",
                          "webhook_url_points_to_server")
        if address.is_link_local or address.is_multicast or address.is_unspecified or address.is_reserved:
            raise _refuse(f"A webhook cannot point at the address {address}.", "webhook_url_forbidden_address")
    return url


def webhook_body(delivery: NotificationDelivery, *, slack: bool) -> bytes:
    """Return the JSON body: Standard Webhooks' {type, timestamp, data}, or Slack's {"text": ...}."""
    notification = delivery.notification
    link = absolute_link(notification.link) if notification.link else ""
    if slack:
        text = f"*{notification.subject}*\n{notification.body}" + (f"\n<{link}|Open in Driftgate>" if link else "")
        return json.dumps({"text": text}).encode()
    data = {**notification.payload, "subject": notification.subject, "body": notification.body, "url": link,
            "notification_id": notification.pk}
    return json.dumps({"type": f"driftgate.{notification.event}", "timestamp": notification.created_at.isoformat(),
                       "data": data}, sort_keys=True, default=str).encode()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as the failure it is: following it would bypass the URL check."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ANN201 - urllib's signature
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def send_webhook(delivery: NotificationDelivery) -> None:
    """POST the delivery to its webhook once and log the attempt; raise WebhookFailed unless the answer is 2xx."""
    webhook = delivery.webhook
    if webhook is None:
        raise WebhookFailed("the webhook was deleted", permanent=True)
    started = time.monotonic()
    status_code: int | None = None
    error = ""
    permanent = False
    try:
        if not webhook.is_active:
            raise WebhookFailed("the webhook is switched off", permanent=True)
        try:
            webhook_url_check(webhook.url)
            secret = decrypt_secret(webhook.secret_encrypted)
        except ValidationFailed as exc:
            raise WebhookFailed(f"{exc.code}: {exc.message}", permanent=True) from exc
        except ValueError as exc:
            raise WebhookFailed(str(exc), permanent=True) from exc
        body = webhook_body(delivery, slack=webhook.slack_format)
        message_id, timestamp = f"msg_{delivery.message_id.hex}", int(time.time())
        request = urllib.request.Request(webhook.url, data=body, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": "Driftgate-Webhooks/1",
            "webhook-id": message_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret=secret, message_id=message_id, timestamp=timestamp, body=body)})
        try:
            with _OPENER.open(request, timeout=settings.DRIFTGATE_WEBHOOK_TIMEOUT_SECONDS) as response:
                status_code = response.status
                response.read(4096)
        except urllib.error.HTTPError as exc:
            status_code = exc.code
            error = f"HTTP {exc.code} {exc.reason}"
        except urllib.error.URLError as exc:
            error = f"connection failed: {exc.reason}"
        except (http.client.HTTPException, OSError) as exc:
            error = f"connection failed: {exc.__class__.__name__}: {exc}"
    except WebhookFailed as exc:
        error, permanent = str(exc), exc.permanent
    WebhookAttempt.objects.create(delivery=delivery, webhook=webhook, attempt=delivery.attempts,
                                  status_code=status_code, error=error[:1000], created_at=timezone.now(),
                                  duration_ms=int((time.monotonic() - started) * 1000))
    if error or status_code is None or not 200 <= status_code < 300:
        raise WebhookFailed(error or f"HTTP {status_code}", permanent=permanent)
