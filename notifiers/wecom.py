"""WeCom group robot (企业微信群机器人): markdown within the 4096-byte limit.

There is no signing: the key in the URL is the secret. Long messages are cut on a UTF-8
character boundary with a tail that sends the reader to the case link, which is always kept.
If WeCom still answers 40058 (content invalid or too long) the message is re-sent once as
the title and the link only.
"""

from __future__ import annotations

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
    truncate_utf8,
)

MAX_MARKDOWN_BYTES = 4096
TAIL = "\n…(完整内容见链接)"
TOO_LONG = 40058
FREQUENCY = 45009  # api freq out of limit
BAD_KEY = (93000, 93004)  # invalid webhook key / robot disabled


def markdown_content(message: Message, *, max_bytes: int = MAX_MARKDOWN_BYTES) -> str:
    mention = ""
    if message.address.is_group and message.address.value == "all":
        mention = "\n<@all>"
    elif not message.address.is_group and message.address.value:
        mention = f"\n<@{message.address.value}>"
    link = (
        f"\n[{'查看详情' if message.language == 'zh' else 'View details'}]({message.link})"
        if message.link
        else ""
    )
    # The body may be cut; the link and the mention may not.
    room = max_bytes - len((link + mention).encode("utf-8"))
    return truncate_utf8(message.markdown.rstrip(), room, TAIL) + link + mention


def short_content(message: Message) -> str:
    link = f"\n[{message.link}]({message.link})" if message.link else ""
    return truncate_utf8(f"### {message.title}", 1024, "…") + link


class WeComNotifier(ChannelBase):
    """One WeCom group robot. A person recipient is @-mentioned by WeCom user id.

    ```yaml
    wecom-branch:
      kind: wecom
      url_env: DUALDUTY_WECOM_BRANCH_URL   # https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…
      groups: {第一党支部: ""}
      fallback: inbox
    ```
    """

    kind: Literal["wecom"] = "wecom"
    url_env: str = Field(pattern=ENV_NAME, description="env var with the webhook URL (key=…)")
    max_bytes: int = Field(default=MAX_MARKDOWN_BYTES, ge=256, le=MAX_MARKDOWN_BYTES)

    default_rate_limits: ClassVar[tuple[RateLimit, ...]] = (RateLimit(count=20, per_seconds=60),)
    default_contact: ClassVar[str | None] = "wecom"
    secret_fields: ClassVar[tuple[str, ...]] = ("url_env",)

    def payload(self, content: str) -> dict[str, Any]:
        return {"msgtype": "markdown", "markdown": {"content": content}}

    def send(self, message: Message, *, client: SendContext) -> Delivery:
        url = client.secret(self.url_env).get_secret_value()
        data = json_body(
            post_json(
                client, url, self.payload(markdown_content(message, max_bytes=self.max_bytes))
            )
        )
        if data.get("errcode") == TOO_LONG:
            data = json_body(post_json(client, url, self.payload(short_content(message))))
            if data.get("errcode") == 0:
                return Delivery(detail="sent as title and link only (40058)")
        return check_answer(data)


def check_answer(data: dict[str, Any]) -> Delivery:
    code = data.get("errcode")
    text = str(data.get("errmsg", ""))[:200]
    if code == 0:
        return Delivery(detail=text)
    if code == FREQUENCY:
        raise RetryableError(
            f"企业微信限流 / WeCom throttled ({code})", retry_after=60, throttled=True
        )
    if code in BAD_KEY:
        raise PermanentError(f"企业微信机器人 key 无效 / WeCom robot key invalid ({code})")
    if code == TOO_LONG:
        raise PermanentError(f"企业微信拒收内容 / WeCom rejected the content ({code})")
    raise PermanentError(f"企业微信错误 / WeCom error {code}: {text}")
