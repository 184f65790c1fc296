"""Feishu / Lark custom bot (飞书自定义机器人): an interactive card with a link button.

Signing differs from DingTalk (docs/domain.md §5): T in **seconds**, the HMAC *key*
is ``f"{T}\\n{secret}"`` and the message is empty, base64 without URL-encoding, and both go in
the JSON body. Chat bots cannot de-duplicate: a crash between send and record re-sends once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any, ClassVar, Literal

from pydantic import Field

from notifiers.base import (
    ENV_NAME,
    ChannelBase,
    Delivery,
    Message,
    PermanentError,
    RateLimit,
    RetryableError,
    SendContext,
    json_body,
    post_json,
    retry_after_seconds,
    truncate_utf8,
)

BAD_SIGN = 19021
KEYWORD = 19024
IP_DENIED = 19022
THROTTLED = 11232  # frequency limited (sending at :00 / :30 draws it)
BAD_REQUEST = 9499  # bad body; also answered as "Too Many Request" when over the limit
MAX_BODY_BYTES = 20 * 1024
BUTTON = {"zh": "查看详情", "en": "View details"}
TAIL = "\n…(完整内容见链接)"


def sign(secret: str, timestamp_s: int) -> str:
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


class FeishuNotifier(ChannelBase):
    """One Feishu group bot. A person recipient is @-mentioned by open_id.

    ```yaml
    feishu-jw:
      kind: feishu
      url_env: DUALDUTY_FEISHU_JW_URL        # https://open.feishu.cn/open-apis/bot/v2/hook/…
      secret_env: DUALDUTY_FEISHU_JW_SECRET
      groups: {纪检监察室: ""}
      fallback: inbox
    ```
    """

    kind: Literal["feishu"] = "feishu"
    url_env: str = Field(pattern=ENV_NAME, description="env var with the webhook URL")
    secret_env: str | None = Field(default=None, pattern=ENV_NAME)
    header_color: str = "red"

    default_rate_limits: ClassVar[tuple[RateLimit, ...]] = (
        RateLimit(count=5, per_seconds=1),
        RateLimit(count=100, per_seconds=60),
    )
    default_contact: ClassVar[str | None] = "feishu"
    secret_fields: ClassVar[tuple[str, ...]] = ("url_env", "secret_env")

    def card(self, message: Message, markdown: str) -> dict[str, Any]:
        address = message.address
        if address.is_group and address.value == "all":
            markdown += "\n<at id=all></at>"
        elif not address.is_group and address.value:
            markdown += f"\n<at id={address.value}></at>"
        elements: list[dict[str, Any]] = [{"tag": "markdown", "content": markdown}]
        if message.link:
            elements.append(
                {
                    "tag": "action",
                    "actions": [
                        {
                            "tag": "button",
                            "text": {"tag": "plain_text", "content": BUTTON[message.language]},
                            "type": "primary",
                            "url": message.link,
                        }
                    ],
                }
            )
        return {
            "config": {"wide_screen_mode": True},
            "header": {
                "title": {"tag": "plain_text", "content": message.title},
                "template": self.header_color,
            },
            "elements": elements,
        }

    def payload(self, message: Message, *, client: SendContext) -> dict[str, Any]:
        # The markdown repeats the title as a heading; the card header already shows it.
        body = message.markdown.split("\n", 1)[1].strip() if "\n" in message.markdown else ""
        payload: dict[str, Any] = {"msg_type": "interactive", "card": self.card(message, body)}
        overflow = len(json.dumps(payload, ensure_ascii=False).encode("utf-8")) - MAX_BODY_BYTES
        if overflow > -512:
            cut = truncate_utf8(body, max(256, len(body.encode("utf-8")) - overflow - 1024), TAIL)
            payload["card"] = self.card(message, cut)
        if self.secret_env:
            timestamp = int(client.wall_clock())
            payload["timestamp"] = str(timestamp)
            payload["sign"] = sign(client.secret(self.secret_env).get_secret_value(), timestamp)
        return payload

    def send(self, message: Message, *, client: SendContext) -> Delivery:
        url = client.secret(self.url_env).get_secret_value()
        response = post_json(client, url, self.payload(message, client=client))
        data = json_body(response)
        return check_answer(
            data, retry_after=retry_after_seconds(response, "x-ogw-ratelimit-reset")
        )


def check_answer(data: dict[str, Any], *, retry_after: float | None = None) -> Delivery:
    # Older bot versions answer with StatusCode/StatusMessage instead of code/msg.
    code = data.get("code", data.get("StatusCode"))
    text = str(data.get("msg", data.get("StatusMessage", "")))[:200]
    if code == 0:
        return Delivery(detail=text)
    if code == THROTTLED or (code == BAD_REQUEST and "too many" in text.lower()):
        raise RetryableError(
            f"飞书限流 / Feishu throttled ({code}: {text})",
            retry_after=retry_after or 60.0,
            throttled=True,
        )
    if code == BAD_SIGN:
        raise PermanentError(f"飞书签名校验失败 / Feishu rejected the signature ({code})")
    if code in (KEYWORD, IP_DENIED):
        raise PermanentError(
            f"飞书关键词或 IP 校验失败 / Feishu keyword or IP check failed ({code})"
        )
    if code == BAD_REQUEST:
        raise PermanentError(f"飞书拒收请求 / Feishu rejected the request ({code}: {text})")
    raise PermanentError(f"飞书错误 / Feishu error {code}: {text}")
