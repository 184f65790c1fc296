"""Notifiers: one small class per delivery channel, and the outbox delivery loop.

The registry is ``AnyNotifier`` below: a channel kind exists when its class is listed here, and
nowhere else. Each class documents itself with a channels-file example that a test loads.
"""

from typing import Annotated

from pydantic import Field

from notifiers.dingtalk import DingTalkNotifier
from notifiers.email import EmailNotifier
from notifiers.feishu import FeishuNotifier
from notifiers.inbox import InboxNotifier
from notifiers.webhook import WebhookNotifier
from notifiers.wecom import WeComNotifier

AnyNotifier = Annotated[
    EmailNotifier
    | WebhookNotifier
    | DingTalkNotifier
    | WeComNotifier
    | FeishuNotifier
    | InboxNotifier,
    Field(discriminator="kind"),
]

__all__ = [
    "AnyNotifier",
    "DingTalkNotifier",
    "EmailNotifier",
    "FeishuNotifier",
    "InboxNotifier",
    "WeComNotifier",
    "WebhookNotifier",
]
