"""The hub's end of the MQTT link, by role:

- connection.py: HubLink, the broker connection (connect, subscribe, consume, ack, reconnect)
- applying.py: what each up-message (agent -> hub) does, once; rejections
- presence.py: agents' last_seen and online flag, clock offset, pay-link key
- downlink.py: the pump sending the hub's outbox to online agents (hub -> agent)
- pruning.py: deleting delivered down messages and old applied up ids
"""

from hub.link.applying import Handler, MessageRejected
from hub.link.connection import HubLink

__all__ = ["Handler", "HubLink", "MessageRejected"]
