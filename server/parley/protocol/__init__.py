"""The wire protocol: JSON Schemas of every inbound frame, the codec, and error codes."""
