"""E-mail over SMTP: plain text (the markdown) and HTML, with a deterministic Message-ID.

The Message-ID is derived from the outbox key, so a message re-sent after a crash carries the
same id as the first copy: mail systems and clients that de-duplicate by Message-ID show it once.
"""

from __future__ import annotations

import smtplib
import ssl
from email.headerregistry import Address as MailAddress
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import ClassVar, Literal

from markdown_it import MarkdownIt
from pydantic import Field, field_validator

from notifiers.base import (
    ENV_NAME,
    ChannelBase,
    Delivery,
    Message,
    PermanentError,
    RetryableError,
    SendContext,
)

_MARKDOWN = MarkdownIt("commonmark", {"html": False})  # never pass raw HTML through


def html_part(message: Message) -> str:
    body = _MARKDOWN.render(message.markdown)
    return (
        f'<!DOCTYPE html><html lang="{message.language}"><head><meta charset="utf-8">'
        f"<title>{_MARKDOWN.utils.escapeHtml(message.title)}</title></head>"
        f"<body>{body}</body></html>"
    )


def _smtp_error(error: smtplib.SMTPResponseException) -> RetryableError | PermanentError:
    text = (
        error.smtp_error.decode("utf-8", "replace")
        if isinstance(error.smtp_error, bytes)
        else str(error.smtp_error)
    )
    summary = f"SMTP {error.smtp_code}: {text[:200]}"
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return PermanentError(f"SMTP 认证失败 / authentication failed ({error.smtp_code})")
    if 400 <= error.smtp_code < 500:
        return RetryableError(summary)
    return PermanentError(summary)


class EmailNotifier(ChannelBase):
    """SMTP, optionally with STARTTLS and a login, to the in-house mail system.

    ```yaml
    mail:
      kind: email
      host: mail.corp.example
      port: 587
      starttls: true
      username_env: DUALDUTY_SMTP_USER
      password_env: DUALDUTY_SMTP_PASSWORD
      sender: 一岗双责监督平台 <dualduty@corp.example>
      fallback: inbox
    ```
    """

    kind: Literal["email"] = "email"
    host: str = Field(min_length=1)
    port: int = Field(default=25, ge=1, le=65535)
    starttls: bool = False
    ca_file: Path | None = Field(
        default=None, description="CA bundle for an in-house certificate authority"
    )
    username_env: str | None = Field(default=None, pattern=ENV_NAME)
    password_env: str | None = Field(default=None, pattern=ENV_NAME)
    sender: str = Field(description="From: 'Name <address>'")

    default_contact: ClassVar[str | None] = "email"
    secret_fields: ClassVar[tuple[str, ...]] = ("password_env",)

    @field_validator("sender")
    @classmethod
    def _sender_is_an_address(cls, value: str) -> str:
        _, address = parseaddr(value)
        if "@" not in address:
            raise ValueError(
                "发件人须为邮件地址 / sender must be an e-mail address, e.g. 平台 <noreply@corp.example>"
            )
        return value

    def message_id(self, message: Message) -> str:
        domain = parseaddr(self.sender)[1].rpartition("@")[2]
        return f"<{message.key}@{domain}>"

    def build(self, message: Message, *, client: SendContext) -> EmailMessage:
        mail = EmailMessage()
        mail["Subject"] = message.title
        mail["From"] = self.sender
        if message.address.name:
            mail["To"] = MailAddress(
                display_name=message.address.name, addr_spec=message.address.value
            )
        else:
            mail["To"] = message.address.value
        mail["Message-ID"] = self.message_id(message)
        mail["Date"] = format_datetime(client.now)
        mail["X-Dualduty-Key"] = message.key
        mail.set_content(message.markdown, subtype="plain", charset="utf-8")
        mail.add_alternative(html_part(message), subtype="html", charset="utf-8")
        return mail

    def send(self, message: Message, *, client: SendContext) -> Delivery:
        if "@" not in message.address.value:
            raise PermanentError("收件地址无效 / not an e-mail address")
        mail = self.build(message, client=client)
        password = client.secret(self.password_env) if self.password_env else None
        username = (
            client.secret(self.username_env).get_secret_value() if self.username_env else None
        )
        try:
            with smtplib.SMTP(self.host, self.port, timeout=client.timeout) as smtp:
                smtp.ehlo()
                if self.starttls:
                    context = ssl.create_default_context(
                        cafile=str(self.ca_file) if self.ca_file else None
                    )
                    smtp.starttls(context=context)
                    smtp.ehlo()
                if password is not None:
                    smtp.login(username or "", password.get_secret_value())
                refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            if codes and all(400 <= code < 500 for code in codes):
                raise RetryableError(
                    f"SMTP 收件人暂不可达 / recipient deferred ({codes[0]})"
                ) from None
            raise PermanentError(
                f"SMTP 收件人被拒 / recipient refused ({codes[0] if codes else '?'})"
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise PermanentError(
                "SMTP 服务器不支持 STARTTLS / server does not offer STARTTLS"
            ) from None
        except smtplib.SMTPResponseException as error:
            raise _smtp_error(error) from None
        except ssl.SSLError as error:
            raise PermanentError(f"TLS 失败 / TLS failed: {type(error).__name__}") from None
        except (smtplib.SMTPException, OSError) as error:
            raise RetryableError(
                f"SMTP 连接失败 / connection failed: {type(error).__name__}", channel_down=True
            ) from None
        if refused:
            raise PermanentError("SMTP 收件人被拒 / recipient refused")
        return Delivery(provider_ref=self.message_id(message))
