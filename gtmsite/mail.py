"""Send the digest by mail: one message with a text part and an HTML part, over SMTP.

`--smtp smtp://user:pass@host:port` (or `env:VAR` holding such a URL; `smtps://` for TLS from the first
byte). STARTTLS is used whenever the server offers it. The password is used for AUTH only: it is never
printed, logged or put in an error message.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

from .errors import ConfigError, SiteError


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    user: str = ""
    password: str = field(default="", repr=False)
    tls: bool = False  # smtps://: TLS from the start (else STARTTLS when offered)

    @property
    def shown(self) -> str:
        """The server as it may be printed: never the password."""
        scheme = "smtps" if self.tls else "smtp"
        return f"{scheme}://{self.user + '@' if self.user else ''}{self.host}:{self.port}"


def parse_smtp_url(text: str, env: dict[str, str] | None = None) -> SmtpServer:
    environment = os.environ if env is None else env
    where = "--smtp"
    if text.startswith("env:"):
        name = text[4:]
        if name not in environment or not environment[name]:
            raise ConfigError(f"--smtp: the environment variable {name} is not set (expected an SMTP URL such as "
                              "smtp://user:password@mail.example.com:587)")
        text, where = environment[name], f"--smtp ({name})"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ConfigError(f"{where}: not a valid SMTP URL; expected smtp://user:password@host:port") from None
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigError(f"{where}: expected smtp://user:password@host:port or smtps://..., got a "
                          f"'{parts.scheme or 'plain'}' address")
    return SmtpServer(parts.hostname, port or (465 if parts.scheme == "smtps" else 587),
                      unquote(parts.username or ""), unquote(parts.password or ""), parts.scheme == "smtps")


def parse_recipients(text: str) -> list[str]:
    recipients = [r.strip() for r in text.split(",") if r.strip()]
    bad = [r for r in recipients if "@" not in r or any(c.isspace() for c in r)]
    if not recipients or bad:
        raise ConfigError(f"--email: expected addresses separated by commas, got '{text}'")
    return recipients


def build_message(sender: str, recipients: list[str], subject: str, text: str, html: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def default_sender(server: SmtpServer) -> str:
    return server.user if "@" in server.user else f"gtmsite@{server.host}"


def send(server: SmtpServer, message: EmailMessage, timeout: float = 30) -> None:
    """Deliver one message; a failure names the server (without the password) and says what to check."""
    context = ssl.create_default_context()
    try:
        if server.tls:
            client = smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(server.host, server.port, timeout=timeout)
        with client:
            client.ehlo()
            if not server.tls and client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
            if server.user:
                client.login(server.user, server.password)
            client.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise SiteError(f"mail: {server.shown} refused the user name or password ({exc.smtp_code}); check the "
                        "credentials in --smtp") from None
    except smtplib.SMTPNotSupportedError:
        raise SiteError(f"mail: {server.shown} does not accept a login on this connection (no AUTH offered; "
                        "it may require TLS: try smtps:// or the submission port 587)") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise SiteError(f"mail: {server.shown} refused the recipients {', '.join(exc.recipients)}") from None
    except (smtplib.SMTPException, ssl.SSLError) as exc:
        raise SiteError(f"mail: sending through {server.shown} failed: {_safe(exc, server)}") from None
    except (TimeoutError, OSError) as exc:
        raise SiteError(f"mail: cannot reach {server.shown}: {_safe(exc, server)}; check the host and port "
                        "in --smtp") from None


def _safe(exc: BaseException, server: SmtpServer) -> str:
    text = str(exc) or type(exc).__name__
    return text.replace(server.password, "***") if server.password else text
