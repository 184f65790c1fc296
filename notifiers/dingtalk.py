"""DingTalk custom group robot (钉钉自定义机器人), with 加签 signing.

Signing (docs/domain.md §5): ``string_to_sign = f"{T}\\n{secret}"`` with T in
milliseconds; ``sign = urlencode(base64(HMAC-SHA256(secret, string_to_sign)))``; both go in the
query string. Errors come back with HTTP 200, so ``errcode`` is always checked.

Chat robots cannot de-duplicate: a message re-sent after a crash between the send and its
record arrives twice (at-least-once). Delivery keeps that window to one message per crash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any, ClassVar, Literal

import httpx
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
)

THROTTLED = 130101  # send too fast, exceed 20 times per minute: throttled for 10 minutes
BAD_SIGN = 310000  # sign, keyword or IP whitelist failure
NO_TOKEN = 300001  # token is not exist
THROTTLE_PAUSE_SECONDS = 600.0
BUTTON = {"zh": "查看详情", "en": "View details"}


def sign(secret: str, timestamp_ms: int) -> str:
    """The base64 signature; httpx URL-encodes it as a query value, which is the doc's urlencode."""
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), string_to_sign, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class DingTalkNotifier(ChannelBase):
    """One DingTalk group robot. A person recipient is @-mentioned by mobile (or user id).

    ```yaml
    dingtalk-jw:
      kind: dingtalk
      url_env: DUALDUTY_DINGTALK_JW_URL        # https://oapi.dingtalk.com/robot/send?access_token=…
      secret_env: DUALDUTY_DINGTALK_JW_SECRET  # SEC…
      message_type: actionCard
      groups: {纪检监察室: ""}
      fallback: inbox
    ```
    """

    kind: Literal["dingtalk"] = "dingtalk"
    url_env: str = Field(
        pattern=ENV_NAME, description="env var with the webhook URL (access_token)"
    )
    secret_env: str | None = Field(default=None, pattern=ENV_NAME, description="env var with SEC…")
    message_type: Literal["markdown", "actionCard"] = "actionCard"
    at_field: Literal["atMobiles", "atUserIds"] = "atMobiles"

    default_rate_limits: ClassVar[tuple[RateLimit, ...]] = (RateLimit(count=20, per_seconds=60),)
    default_contact: ClassVar[str | None] = "mobile"
    secret_fields: ClassVar[tuple[str, ...]] = ("url_env", "secret_env")

    def payload(self, message: Message) -> dict[str, Any]:
        address = message.address
        mention = ""
        at: dict[str, Any] = {}
        if address.is_group and address.value == "all":
            at = {"isAtAll": True}
        elif not address.is_group and address.value:
            # The @ must also appear in the text for DingTalk to render the mention.
            mention = f"\n\n@{address.value}"
            at = {self.at_field: [address.value]}
        text = message.markdown + mention
        if self.message_type == "actionCard" and message.link:
            return {
                "msgtype": "actionCard",
                "actionCard": {
                    "title": message.title,
                    "text": text,
                    "singleTitle": BUTTON[message.language],
                    "singleURL": message.link,
                },
            }
        return {"msgtype": "markdown", "markdown": {"title": message.title, "text": text}, "at": at}

    def send(self, message: Message, *, client: SendContext) -> Delivery:
        url = httpx.URL(client.secret(self.url_env).get_secret_value())
        if self.secret_env:
            timestamp = int(client.wall_clock() * 1000)
            signature = sign(client.secret(self.secret_env).get_secret_value(), timestamp)
            url = url.copy_merge_params({"timestamp": str(timestamp), "sign": signature})
        data = json_body(post_json(client, url, self.payload(message)))
        return check_answer(data)


def check_answer(data: dict[str, Any]) -> Delivery:
    code = data.get("errcode")
    text = str(data.get("errmsg", ""))[:200]
    if code == 0:
        return Delivery(detail=text)
    if code == THROTTLED:
        raise RetryableError(
            f"钉钉限流 / DingTalk throttled ({code}: {text})",
            retry_after=THROTTLE_PAUSE_SECONDS,
            throttled=True,
        )
    if code == BAD_SIGN:
        raise PermanentError(
            f"钉钉签名、关键词或 IP 校验失败 / DingTalk rejected sign, keyword or IP ({code}: {text})"
        )
    if code == NO_TOKEN:
        raise PermanentError(f"钉钉机器人不存在 / DingTalk token unknown ({code})")
    raise PermanentError(f"钉钉错误 / DingTalk error {code}: {text}")
