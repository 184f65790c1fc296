"""The in-app inbox as a channel: an item in the database, shown in the console.

It is transactional: delivery calls ``send`` inside the transaction that marks the outbox row
sent, so the item and the state change commit together (exactly once, even across crashes).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from models.inbox import add_item
from notifiers.base import ChannelBase, Delivery, Message, SendContext


class InboxNotifier(ChannelBase):
    """站内信 / in-app inbox. Every person has an address here: their person code.

    ```yaml
    inbox:
      kind: inbox
    ```
    """

    kind: Literal["inbox"] = "inbox"

    default_contact: ClassVar[str | None] = None
    transactional: ClassVar[bool] = True
    # Any named group has a shared inbox; no configuration needed.
    accepts_any_group: ClassVar[bool] = True

    def send(self, message: Message, *, client: SendContext) -> Delivery:
        if client.session is None:
            raise RuntimeError("the inbox writes in delivery's transaction: pass a session")
        item = add_item(
            client.session,
            outbox_id=message.outbox_id,
            recipient=message.address.recipient,
            case_id=message.case_id,
            title=message.title,
            body_markdown=message.markdown,
            link=message.link,
            now=client.now,
        )
        return Delivery(provider_ref=f"inbox:{item.id}")
