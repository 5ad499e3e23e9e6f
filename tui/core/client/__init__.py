"""Talking to a v2 server: connection settings, the servers file, one transport per protocol, the client
wrapper, validated responses, statistics, shared memory."""
