"""The link to the hub: the MQTT pump, the inbox that applies the hub's messages once, what those messages do, and the agent's signing key."""
