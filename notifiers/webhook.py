"""A generic JSON webhook, signed with HMAC-SHA256 over the exact body bytes.

Receivers verify ``X-Dualduty-Signature: sha256=<hex>`` over the raw body and de-duplicate by
the ``Idempotency-Key`` header (the outbox key, the same on every attempt). A 409 answer means
"already have it" and counts as delivered.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import ClassVar, Literal

from pydantic import Field

from notifiers.base import (
    ENV_NAME,
    ChannelBase,
    Delivery,
    Message,
    PermanentError,
    SendContext,
    post_json,
)


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookNotifier(ChannelBase):
    """POST one JSON document per message to a URL of your own system.

    ```yaml
    oa-hook:
      kind: webhook
      url_env: DUALDUTY_OA_HOOK_URL
      secret_env: DUALDUTY_OA_HOOK_SECRET
      fallback: inbox
    ```
    """

    kind: Literal["webhook"] = "webhook"
    url_env: str = Field(
        pattern=ENV_NAME, description="环境变量名：完整 URL / env var with the URL"
    )
    secret_env: str | None = Field(default=None, pattern=ENV_NAME)
    signature_header: str = "X-Dualduty-Signature"

    default_contact: ClassVar[str | None] = None  # the person code is the address
    secret_fields: ClassVar[tuple[str, ...]] = ("url_env", "secret_env")

    def body(self, message: Message, *, client: SendContext) -> bytes:
        document = {
            "id": message.key,
            "outbox_id": message.outbox_id,
            "channel": message.channel,
            "recipient": {
                "code": message.address.recipient,
                "name": message.address.name,
                "address": message.address.value,
                "is_group": message.address.is_group,
            },
            "case_id": message.case_id,
            "step": message.step,
            "template": message.template,
            "language": message.language,
            "title": message.title,
            "markdown": message.markdown,
            "link": message.link,
            "sent_at": client.now.isoformat(),
        }
        return json.dumps(document, ensure_ascii=False).encode("utf-8")

    def send(self, message: Message, *, client: SendContext) -> Delivery:
        url = client.secret(self.url_env).get_secret_value()
        body = self.body(message, client=client)
        headers = {"Idempotency-Key": message.key}
        if self.secret_env:
            headers[self.signature_header] = signature(
                client.secret(self.secret_env).get_secret_value(), body
            )
        response = post_json(client, url, {}, headers=headers, content=body)
        if response.status_code == 409:
            return Delivery(provider_ref=message.key, detail="duplicate: already delivered")
        if response.status_code >= 400:
            raise PermanentError(f"HTTP {response.status_code}")
        return Delivery(provider_ref=response.headers.get("x-request-id") or message.key)
