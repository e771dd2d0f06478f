"""The NATS server configuration that makes each county node publish only as itself (pure text generation).

One account with JetStream; an operator user that provisions the stream and the counties' consumers; one user
per county, who may publish only to ``<prefix>.*.<own code>`` (messages *from* it), pull from and acknowledge
only its own durable consumer ``county_<own code>``, and receive replies only on its own inbox prefix. The
receiving node checks that ``from_county`` in the message equals the subject's last token, so a message's
sender is what the broker authenticated. ``renkou exchange nats-config`` prints it; deploy/nats/ has a sample.
"""

from __future__ import annotations

import json


def inbox_prefix(county_code: str) -> str:
    return f"_INBOX_{county_code}"


def county_permissions(county_code: str, *, stream: str = "RENKOU_EXCHANGE",
                       prefix: str = "renkou.exchange") -> dict[str, dict[str, list[str]]]:
    durable = f"county_{county_code}"
    return {
        "publish": {"allow": [
            f"{prefix}.*.{county_code}",  # to any county, from this one only
            f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}",  # pull its own messages
            f"$JS.ACK.{stream}.{durable}.>",  # acknowledge them
            f"$JS.API.CONSUMER.INFO.{stream}.{durable}",  # its own lag, for `renkou exchange status`
        ]},
        "subscribe": {"allow": [f"{inbox_prefix(county_code)}.>", f"{prefix}.{county_code}.*"]},
    }


def server_config(*, counties: dict[str, str], operator_password: str, stream: str = "RENKOU_EXCHANGE",
                  prefix: str = "renkou.exchange") -> str:
    """The ``accounts`` block of nats-server.conf (passwords as given: use bcrypt hashes from
    ``nats server passwd`` in production; nkeys work the same way with ``nkey:`` instead of user/password)."""
    users = [{"user": "renkou_operator", "password": operator_password}]
    for code, password in sorted(counties.items()):
        users.append({"user": f"county_{code}", "password": password,
                      "permissions": county_permissions(code, stream=stream, prefix=prefix)})
    lines = ["accounts {", "  RENKOU {", "    jetstream: enabled", "    users: ["]
    for u in users:
        lines.append(f"      {json.dumps(u, ensure_ascii=False)}")
    lines += ["    ]", "  }", "}", ""]
    return "\n".join(lines)
