"""Message gateways: where SMS and Zalo messages to invited citizens go.

A gateway is any object with a ``name`` and a ``send`` method (`MessageGateway`). The
setting ``CAMPAIGN_MESSAGE_GATEWAY`` names its class by dotted path; the default,
`LoggingGateway`, sends nothing: it records each message as an `OutboundMessage` row and
logs it, so a campaign can run (and be tested) before a carrier contract exists. A real
gateway should hand the message to a queue rather than call the carrier inside the
caller's transaction, and still write the `OutboundMessage` row as the record.
"""

from __future__ import annotations

import logging
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from cancuoc.campaigns.models import Invitation, OutboundMessage

logger = logging.getLogger("cancuoc.campaigns.messages")

CHANNELS = ("sms", "zalo")


class MessageGateway(Protocol):
    name: str

    def send(
        self, *, invitation: Invitation, channel: str, phone: str, text: str
    ) -> OutboundMessage: ...


class LoggingGateway:
    """The default: records and logs the message, sends nothing."""

    name = "log"

    def send(
        self, *, invitation: Invitation, channel: str, phone: str, text: str
    ) -> OutboundMessage:
        message = OutboundMessage.objects.create(
            invitation=invitation,
            unit_path=invitation.unit_path,
            channel=channel,
            phone=phone,
            text=text,
            gateway=self.name,
        )
        # The phone number is personal data: the log keeps only its last digits.
        logger.info(
            "campaign message %s via %s to …%s (%d chars)",
            channel,
            self.name,
            phone[-3:],
            len(text),
        )
        return message


def gateway_get() -> MessageGateway:
    path = getattr(settings, "CAMPAIGN_MESSAGE_GATEWAY", "")
    if not path:
        return LoggingGateway()
    gateway: MessageGateway = import_string(path)()
    return gateway
