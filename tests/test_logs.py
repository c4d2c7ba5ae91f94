"""No secret reaches the logs: the channel secret, the access token, the admin token, a staff password, a session
cookie, whatever goes wrong (wrong signatures, failed log-ins, LINE refusing a request)."""

from __future__ import annotations

import logging
import re
from typing import Any

from bot import webhook_events as ev
from tests.helpers import ADMIN, PASSWORD, SECRET, TOKEN, Bot, csrf_of, login, make_staff, new_user_id


def test_secrets_never_reach_the_logs(client: Any, sessions: Any, line: Any, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    bot = Bot(client, sessions)
    bot.post(ev.text_message(new_user_id(), "ヘルプ"), secret="a-wrong-secret")  # refused: wrong signature
    line.fail("/message/reply", status=400, body={"message": "Invalid reply token"})
    bot.send(ev.text_message(new_user_id(), "ヘルプ"))  # LINE refuses the reply: pushed instead
    client.get("/api/v1/members", headers={"Authorization": "Bearer not-the-token"})
    client.get("/api/v1/members", headers={"Authorization": f"Bearer {ADMIN}"})
    make_staff(sessions)
    login(client, password="a wrong password " + PASSWORD)
    response = login(client)
    cookie = re.search(r"console_session=([^;]+)", response.headers["set-cookie"]).group(1)
    client.post("/console/logout", data={"csrf": csrf_of(client.get("/console").text)})
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert caplog.records, "nothing was logged at all: the check would prove nothing"
    for secret in (SECRET, TOKEN, ADMIN, PASSWORD, cookie):
        assert secret not in logged
