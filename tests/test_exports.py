"""Downloads staff open in Excel: the survey's answers and summary, the opinions and the members' list, as CSV
(UTF-8 with a BOM, times as 2026-12-02 07:22 in JST) and .xlsx (parsed back with openpyxl: Japanese headers named
by the questions' short labels, widths, the header frozen, real datetimes in JST), named by the survey's title.
The small-group rule holds in every format: an anonymous survey with fewer than three answers exports none, and
never a time; its rows are ordered by the answers. Also the API's 422 for an end before the start names the field,
and a survey closed early says when it closed."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
from typing import Any
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot import clock, sheets
from db.base import transaction
from db.models import AnonymousAnswerSet, Event, Member, Opinion, Survey, SurveyResponse, User
from surveys import results
from tests.helpers import AUTH, api, logged_in, people

JST = clock.JST
OPENS = dt.datetime(2026, 12, 1, 10, 0, tzinfo=JST)  # 令和8年度
CLOSES = dt.datetime(2026, 12, 15, 17, 0, tzinfo=JST)
TITLE = "区政会議に関するアンケート（第2回）"
SUPPRESSED = "回答が3件未満のため表示しません"
SHORT = ["意見交換は十分か", "意見交換について（理由）", "フィードバックは適切か", "資料を読む時間",
         "資料・説明のわかりやすさ", "部会ごとの座席", "意見を求める項目", "よかった取り組み", "運営へのご意見"]
TIME = re.compile(r"\d{1,2}:\d{2}|\d{4}[-/年]\d{1,2}")


@pytest.fixture
def client(app_factory: Any) -> Any:
    return app_factory(quiet_hours_start=0, quiet_hours_end=0)


def answers(exchange: str = "そう思う", feedback: str = "そう思う", reason: str | None = None,
            comment: str | None = None, good: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"exchange": exchange, "feedback": feedback, "documents_early": "十分とれた",
                           "documents_clear": "そう思う", "seating": "どちらかといえばそう思う",
                           "focus_items": "そう思う", "good_changes": good or ["部会ごとの配席"]}
    if reason is not None:
        out["exchange_reason"] = reason
    if comment is not None:
        out["comment"] = comment
    return out


def make_survey(client: Any, *, anonymous: bool, title: str = TITLE, **kw: Any) -> int:
    survey = api(client, "POST", "/surveys", json={
        "template_id": "council-questionnaire", "title": title, "anonymous": anonymous,
        "opens_at": OPENS.isoformat(), "closes_at": CLOSES.isoformat(), **kw})
    return int(survey["id"])


def send(sessions: Any, survey_id: int, *sets: tuple[dict[str, Any], dt.datetime]) -> None:
    """Answers sent by the next members who have not answered, as answering.submit leaves them: an anonymous
    survey's answers in a set of their own, the member's row with only that (and when) they answered."""
    with transaction(sessions) as session:
        survey = session.get(Survey, survey_id)
        assert survey is not None
        done = select(SurveyResponse.member_id).where(SurveyResponse.survey_id == survey_id)
        free = session.scalars(select(Member).where(Member.id.not_in(done)).order_by(Member.id)).all()
        for member, (given, when) in zip(free, sets, strict=False):
            if survey.anonymous:
                session.add(AnonymousAnswerSet(id=str(uuid.uuid4()), survey_id=survey_id, answers=given))
                given = {}
            session.add(SurveyResponse(survey_id=survey_id, member_id=member.id, status="submitted", answers=given,
                                       submitted_at=when.astimezone(dt.UTC)))


def read_csv(raw: bytes) -> list[list[str]]:
    assert raw.startswith(b"\xef\xbb\xbf"), "no BOM: Excel would not read the Japanese"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def workbook(raw: bytes) -> Any:
    return load_workbook(io.BytesIO(raw))


def values(ws: Any) -> list[list[Any]]:
    return [list(row) for row in ws.iter_rows(values_only=True)]


def file_name_of(response: Any) -> tuple[str, str]:
    """(the name in filename*, the ASCII fallback in filename)."""
    header = response.headers["content-disposition"]
    header.encode("latin-1")  # an HTTP header: the Japanese is percent-encoded
    fallback = re.search(r'filename="([^"]+)"', header)
    encoded = re.search(r"filename\*=UTF-8''([^;]+)", header)
    assert header.startswith("attachment;") and fallback and encoded, header
    assert fallback.group(1).isascii()
    return unquote(encoded.group(1)), fallback.group(1)


# --------------------------------------------------------------------------- a named survey


def test_a_named_surveys_answers_and_summary_as_csv_and_xlsx(client, sessions):
    people(sessions, members={"まちづくり部会": 3, "子育て部会": 1})
    survey_id = make_survey(client, anonymous=False)
    first = dt.datetime(2026, 12, 2, 7, 22, tzinfo=JST)
    send(sessions, survey_id,
         (answers(comment="=HYPERLINK(\"http://example.com\")"), first),
         (answers("そう思わない", "どちらかといえばそう思う", reason="時間が短い"), first + dt.timedelta(hours=5)),
         (answers("どちらかといえばそう思う", "そう思わない"), first + dt.timedelta(days=1, minutes=3)),
         (answers("どちらかといえばそう思わない", "そう思う", reason="発言しにくい"), first + dt.timedelta(days=2)))
    logged_in(client, sessions, role="viewer")

    # answers: CSV from the API and the console are the same bytes
    by_api = api(client, "GET", f"/surveys/{survey_id}/results.csv")
    by_console = client.get(f"/console/surveys/{survey_id}/answers.csv")
    assert by_console.status_code == 200 and by_console.content == by_api.content
    assert by_api.headers["content-type"].startswith("text/csv")
    assert file_name_of(by_api) == (f"{TITLE}_2026-12-01_回答.csv", f"survey-{survey_id}-answers.csv")
    rows = read_csv(by_api.content)
    assert rows[0] == ["番号", "氏名", "部会", "送信日時", *SHORT]  # the questions' short labels
    assert [r[3] for r in rows[1:]] == ["2026-12-02 07:22", "2026-12-02 12:22", "2026-12-03 07:25", "2026-12-04 07:22"]
    assert {r[2] for r in rows[1:]} == {"まちづくり部会", "子育て部会"}
    assert rows[2][5] == "時間が短い" and rows[1][8 + 4] == "'=HYPERLINK(\"http://example.com\")"  # not a formula

    # answers: the workbook
    raw = client.get(f"/console/surveys/{survey_id}/answers.xlsx")
    assert raw.headers["content-type"] == sheets.XLSX_TYPE
    assert file_name_of(raw) == (f"{TITLE}_2026-12-01_回答.xlsx", f"survey-{survey_id}-answers.xlsx")
    assert api(client, "GET", f"/surveys/{survey_id}/results.xlsx").headers["content-type"] == sheets.XLSX_TYPE
    book = workbook(raw.content)
    assert book.sheetnames == ["回答", "質問"]
    ws = book["回答"]
    table = values(ws)
    assert table[0] == ["番号", "氏名", "部会", "送信日時", *SHORT]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == f"A1:{ws.cell(1, 13).column_letter}5"
    assert all(ws.cell(1, c).font.b for c in range(1, 14))
    sent = [ws.cell(r, 4) for r in range(2, 6)]
    assert [c.value for c in sent] == [first.replace(tzinfo=None), dt.datetime(2026, 12, 2, 12, 22),
                                      dt.datetime(2026, 12, 3, 7, 25), dt.datetime(2026, 12, 4, 7, 22)]  # JST
    assert all(c.is_date and c.number_format == sheets.EXCEL_TIME for c in sent)
    assert [r[0] for r in table[1:]] == [1, 2, 3, 4]
    formula = ws.cell(2, 13)
    assert formula.value == "=HYPERLINK(\"http://example.com\")" and formula.data_type == "s"  # text, not a formula
    widths = {ws.cell(1, c).value: ws.column_dimensions[ws.cell(1, c).column_letter].width for c in range(1, 14)}
    assert widths["番号"] == 6 and widths["送信日時"] >= 16
    assert widths["部会"] >= sheets.display_width("まちづくり部会") and widths["意見交換は十分か"] >= 16
    assert widths["よかった取り組み"] >= sheets.display_width("部会ごとの配席")
    assert all(6 <= w <= 60 for w in widths.values())
    assert ws.cell(2, 13).alignment.wrap_text  # free text wraps in its column
    questions = values(book["質問"])
    assert questions[0] == ["列名", "質問", "形式", "選択肢"]
    assert questions[1][:3] == ["意見交換は十分か", results_text("exchange"), "ひとつ選ぶ"]

    # summary: the survey's title and period above the table
    summary = read_csv(api(client, "GET", f"/surveys/{survey_id}/summary.csv").content)
    assert summary[0] == ["アンケート", TITLE] and summary[1] == ["開始", "2026-12-01 10:00"]
    assert summary[2] == ["締切", "2026-12-15 17:00"] or summary[2] == ["締切予定", "2026-12-15 17:00"]
    assert summary[3][0] == "状態" and "記名" in summary[3][1] and "令和8年度" in summary[3][1]
    assert summary[4][0] == "集計日時" and re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", summary[4][1])
    assert summary[5] == [] and summary[6] == ["区分", "質問・指標", "選択肢・項目", "件数", "割合(%)"]
    assert ["回答率", "", "回答数 / 対象者", "4 / 4", "100.0"] in summary
    assert ["質問", "意見交換は十分か", "そう思う", "1", "25.0"] in summary
    exchange = "十分に意見交換が行われていると感じる委員の割合"
    assert ["指標", exchange, "今回（令和8年度）肯定的な回答の割合", "4", "50.0"] in summary
    assert ["指標", exchange, "目標（H31）", "", "73.0"] in summary  # the latest target up to 令和8年度, named as such
    assert ["指標", exchange, "基準値（H29）", "", "48.0"] in summary
    assert ["指標", exchange, "判定", "未達成", ""] in summary
    assert ["指標", exchange, "令和8年度の目標はないため、H31の目標と比べています", "", ""] in summary

    raw = client.get(f"/console/surveys/{survey_id}/summary.xlsx")
    assert file_name_of(raw)[0] == f"{TITLE}_2026-12-01_集計.xlsx"
    ws = workbook(raw.content)["集計"]
    table = values(ws)
    assert table[0][:2] == ["アンケート", TITLE] and ws.cell(1, 2).font.b
    assert table[1][:2] == ["開始", dt.datetime(2026, 12, 1, 10, 0)] and ws.cell(2, 2).is_date
    assert table[6][:5] == ["区分", "質問・指標", "選択肢・項目", "件数", "割合(%)"]
    assert ws.freeze_panes == "A8"  # under the header, with what the table is about
    rate = next(r for r in table if r[0] == "回答率")
    assert rate[3:5] == ["4 / 4", 100.0]
    choice = next(r for r in table if r[1] == "意見交換は十分か" and r[2] == "そう思う")
    assert choice[3:5] == [1, 25.0]
    assert ws.cell(table.index(choice) + 1, 5).number_format == "0.0"


def results_text(question_id: str) -> str:
    from surveys import definition

    question = definition.load_all()["council-questionnaire"].question(question_id)
    assert question is not None
    return question.text


# --------------------------------------------------------------------------- an anonymous survey


def test_anonymous_exports_follow_the_small_group_rule_carry_no_time_and_sort_by_value(client, sessions):
    people(sessions, members={"まちづくり部会": 4})
    survey_id = make_survey(client, anonymous=True)
    logged_in(client, sessions, role="viewer")
    sent = [(answers("そう思わない", reason="一番目の人だけが書いた理由", comment="一番目の意見"),
             dt.datetime(2026, 12, 2, 9, 0, tzinfo=JST)),
            (answers("そう思う", comment="二番目の意見"), dt.datetime(2026, 12, 2, 9, 1, tzinfo=JST)),
            (answers("どちらかといえばそう思う", comment="三番目の意見"), dt.datetime(2026, 12, 2, 9, 2, tzinfo=JST))]

    def everything() -> dict[str, Any]:
        return {"answers.csv": client.get(f"/console/surveys/{survey_id}/answers.csv").content,
                "answers.xlsx": client.get(f"/console/surveys/{survey_id}/answers.xlsx").content,
                "summary.csv": client.get(f"/console/surveys/{survey_id}/summary.csv").content,
                "summary.xlsx": client.get(f"/console/surveys/{survey_id}/summary.xlsx").content,
                "api.xlsx": api(client, "GET", f"/surveys/{survey_id}/results.xlsx").content,
                "api-summary.xlsx": api(client, "GET", f"/surveys/{survey_id}/summary.xlsx").content}

    def cells(raw: bytes) -> list[Any]:
        return [v for ws in workbook(raw).worksheets for row in values(ws) for v in row if v is not None]

    for n in (1, 2):
        send(sessions, survey_id, sent[n - 1])
        got = everything()
        rows = read_csv(got["answers.csv"])
        assert rows[0] == ["番号", *SHORT] and rows[1:] == [[SUPPRESSED]], f"{n} answer(s) must not be exported"
        for name in ("answers.xlsx", "api.xlsx"):
            ws = workbook(got[name])["回答"]
            assert values(ws)[0] == ["番号", *SHORT] and values(ws)[1:] == [[SUPPRESSED] + [None] * len(SHORT)]
        texts = [t for given, _when in sent[:n] for t in (given.get("exchange_reason"), given.get("comment")) if t]
        flat = [got["answers.csv"].decode("utf-8-sig"), got["summary.csv"].decode("utf-8-sig"),
                *(str(cells(got[name])) for name in ("answers.xlsx", "summary.xlsx", "api.xlsx", "api-summary.xlsx"))]
        assert not [t for t in texts for page in flat if t in page]
        assert ["質問", "意見交換は十分か", SUPPRESSED, "", ""] in read_csv(got["summary.csv"])

    send(sessions, survey_id, sent[2])
    got = everything()
    rows = read_csv(got["answers.csv"])
    header, body = rows[0], rows[1:]
    assert not {"氏名", "部会", "送信日時"} & set(header)
    assert not [c for r in body for c in r if TIME.search(c)]  # no time at all
    by_value = [("そう思う", "", "二番目の意見"), ("そう思わない", "一番目の人だけが書いた理由", "一番目の意見"),
                ("どちらかといえばそう思う", "", "三番目の意見")]  # sorted by the answers, not in the order sent
    columns = [header.index(label) for label in ("意見交換は十分か", "意見交換について（理由）", "運営へのご意見")]
    assert [tuple(r[c] for c in columns) for r in body] == by_value
    for name in ("answers.xlsx", "api.xlsx"):
        book = workbook(got[name])
        table = values(book["回答"])
        assert [tuple(r[c] or "" for c in columns) for r in table[1:]] == by_value
        everything_in_it = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
        assert not [c for c in everything_in_it if c.is_date or (isinstance(c.value, str) and TIME.search(c.value))]
    assert client.get(f"/console/surveys/{survey_id}/answers.csv").content == got["answers.csv"]  # the same every time
    summary = values(workbook(got["summary.xlsx"])["集計"])
    assert summary[3][1].split("・")[1] == "匿名"
    assert next(r for r in summary if r[1] == "意見交換は十分か" and r[2] == "そう思う")[3:5] == [1, 33.3]


# --------------------------------------------------------------------------- opinions and members


def test_opinions_export_as_csv_and_xlsx_with_times_in_jst(client, sessions):
    received = dt.datetime(2026, 12, 2, 7, 22, tzinfo=JST)
    with transaction(sessions) as session:
        user = User(line_user_id="U" + "e" * 32, display_name="港 みなみ")
        event = Event(title="まちづくり部会", kind="subcommittee", starts_at=received + dt.timedelta(days=7),
                      ends_at=received + dt.timedelta(days=7, hours=2))
        session.add_all([user, event])
        session.flush()
        session.add(Opinion(user_id=user.id, category="まちの魅力", text="天保山の夜景を\nもっと紹介してほしいです",
                            name="港 みなみ", created_at=received.astimezone(dt.UTC), status="answered",
                            reply_text="区の広報紙で特集します。",
                            replied_at=(received + dt.timedelta(days=1)).astimezone(dt.UTC)))
        session.add(Opinion(user_id=user.id, kind="pre_meeting", category="事前意見", event_id=event.id,
                            text="=1+1 のような式は式として動かないこと", created_at=received.astimezone(dt.UTC)))
    logged_in(client, sessions, role="viewer")
    today = clock.today_jst().isoformat()

    raw = api(client, "GET", "/opinions.csv")
    assert client.get("/console/opinions.csv").content == raw.content
    assert file_name_of(raw) == (f"ご意見_{today}.csv", f"opinions-{today}.csv")
    rows = read_csv(raw.content)
    assert rows[0] == ["番号", "種類", "分野", "会議", "お名前", "ご意見", "状態", "受付日時", "回答", "回答日時"]
    assert rows[1][6:] == ["回答済", "2026-12-02 07:22", "区の広報紙で特集します。", "2026-12-03 07:22"]
    assert rows[2][1:4] == ["事前意見", "事前意見", "まちづくり部会"] and rows[2][5].startswith("'=1+1")

    raw = client.get("/console/opinions.xlsx")
    assert raw.status_code == 200 and raw.headers["content-type"] == sheets.XLSX_TYPE
    assert file_name_of(raw) == (f"ご意見_{today}.xlsx", f"opinions-{today}.xlsx")
    assert api(client, "GET", "/opinions.xlsx").headers["content-type"] == sheets.XLSX_TYPE
    ws = workbook(raw.content)["ご意見"]
    table = values(ws)
    assert table[0] == rows[0] and ws.freeze_panes == "A2"
    assert table[1][7] == dt.datetime(2026, 12, 2, 7, 22) and ws.cell(2, 8).number_format == sheets.EXCEL_TIME
    assert table[1][9] == dt.datetime(2026, 12, 3, 7, 22) and table[2][9] is None
    assert table[1][5] == "天保山の夜景を\nもっと紹介してほしいです" and ws.cell(2, 6).alignment.wrap_text
    assert ws.cell(3, 6).value.startswith("=1+1") and ws.cell(3, 6).data_type == "s"
    width = ws.column_dimensions["F"].width
    assert sheets.display_width("もっと紹介してほしいです") <= width <= 60


def test_the_members_list_as_a_workbook(client, sessions):
    people(sessions, members={"子育て部会": 1, "まちづくり部会": 2})
    with transaction(sessions) as session:
        member = session.scalars(select(Member).order_by(Member.id)).first()
        assert member is not None
        member.term_end = dt.date(2027, 3, 31)
        session.add(Member(name="未登録の委員"))
        member.phone, member.contact_method = "06-1234-5678", "paper"
    logged_in(client, sessions, role="viewer", name="名簿 見る")
    response = client.get("/console/members/export.xlsx")
    assert response.headers["content-type"] == sheets.XLSX_TYPE and "filename*=UTF-8''" in response.headers[
        "content-disposition"]
    book = workbook(response.content)
    ws = book["委員"]
    table = values(ws)
    assert table[0] == ["番号", "名前", "部会", "任期", "電話", "メール", "連絡方法", "LINE連携", "連携日時",
                        "登録日時"]
    assert ["06-1234-5678", None, "紙"] in [r[4:7] for r in table[1:]]
    assert sorted(r[2] for r in table[1:4]) == sorted(["まちづくり部会", "まちづくり部会", "子育て部会"])
    assert table[4][1:3] == ["未登録の委員", None]  # without a 部会: last
    assert [r[7] for r in table[1:]] == ["連携済み", "連携済み", "連携済み", "未連携"]
    term = next(ws.cell(r, 4) for r in range(2, 6) if ws.cell(r, 4).value is not None)
    assert term.value == dt.datetime(2027, 3, 31) and term.number_format == sheets.EXCEL_DATE
    assert all(isinstance(r[9], dt.datetime) for r in table[1:]) and ws.freeze_panes == "A2"
    assert "filename=\"members-" in response.headers["content-disposition"]  # the ASCII fallback


def test_file_names_drop_what_a_file_name_cannot_hold(client, sessions):
    survey_id = make_survey(client, anonymous=False, title='港区/区政会議:アンケート "特別" <第3回>')
    response = api(client, "GET", f"/surveys/{survey_id}/summary.csv")
    name, fallback = file_name_of(response)
    assert name == "港区 区政会議 アンケート 特別 第3回_2026-12-01_集計.csv"
    assert fallback == f"survey-{survey_id}-summary.csv"


# --------------------------------------------------------------------------- closing early, 422s, target years


def test_a_survey_closed_early_says_when_it_closed(client, sessions):
    people(sessions, members={"まちづくり部会": 1})
    closes = (clock.now() + dt.timedelta(days=7)).replace(microsecond=0)
    survey = api(client, "POST", "/surveys", json={"template_id": "council-questionnaire", "anonymous": False,
                                                   "closes_at": closes.isoformat()})
    api(client, "POST", f"/surveys/{survey['id']}/open")
    closed = api(client, "POST", f"/surveys/{survey['id']}/close")
    assert closed["status"] == "closed"
    out = api(client, "GET", f"/surveys/{survey['id']}")
    closed_at = dt.datetime.fromisoformat(out["closed_at"])
    assert closed_at < closes and dt.datetime.fromisoformat(out["closes_at"]) == closes
    assert out["opened_at"] is not None
    data = api(client, "GET", f"/surveys/{survey['id']}/results")["survey"]
    assert data["closed_early"] is True and data["closed_at"] is not None
    logged_in(client, sessions, role="viewer")
    planned, actual = clock.format_jst(closes), clock.format_jst(closed_at)
    listing = client.get("/console/surveys").text
    assert f"〜{actual}" in listing and f"締め切りました（予定は{planned}）" in listing
    page = client.get(f"/console/surveys/{survey['id']}").text
    assert f"〜{actual}に締め切りました（予定は{planned}まで）" in page
    summary = read_csv(client.get(f"/console/surveys/{survey['id']}/summary.csv").content)
    early = f"予定（{sheets.csv_time(closes)}）より早く締め切りました"
    assert summary[2] == ["締切", sheets.csv_time(closed_at), early]


def test_an_end_before_the_start_is_a_422_naming_the_field(client):
    before = {"opens_at": "2030-01-02T10:00:00+09:00", "closes_at": "2030-01-01T10:00:00+09:00"}
    bad = client.post("/api/v1/surveys", headers=AUTH, json={"template_id": "council-questionnaire", **before})
    assert bad.status_code == 422 and [e["loc"] for e in bad.json()["detail"]] == [["body", "closes_at"]]
    event = {"title": "みなと冬のあかり展", "kind": "festival", "starts_at": "2030-01-02T10:00:00+09:00"}
    bad = client.post("/api/v1/events", headers=AUTH, json={**event, "ends_at": "2030-01-02T09:00:00+09:00"})
    assert bad.status_code == 422 and [e["loc"] for e in bad.json()["detail"]] == [["body", "ends_at"]]
    made = api(client, "POST", "/events", json={**event, "ends_at": "2030-01-02T16:00:00+09:00"})
    bad = client.patch(f"/api/v1/events/{made['id']}", headers=AUTH, json={"ends_at": "2030-01-01T16:00:00+09:00"})
    assert bad.status_code == 422 and [e["loc"] for e in bad.json()["detail"]] == [["body", "ends_at"]]


@pytest.mark.parametrize(("opens", "asked", "key", "year", "note"), [
    (dt.datetime(2026, 12, 2, 7, 22, tzinfo=JST), None, "H31", "令和8年度", True),  # the latest target up to then
    (dt.datetime(2027, 2, 1, tzinfo=JST), None, "H31", "令和8年度", True),  # February: still 令和8年度
    (dt.datetime(2018, 6, 1, tzinfo=JST), None, "H30", "平成30年度", False),  # a year with its own target
    (dt.datetime(2019, 5, 1, tzinfo=JST), None, "H31", "令和元年度", False),  # H31年度 is 令和元年度
    (dt.datetime(2026, 12, 2, tzinfo=JST), "H30", "H30", "令和8年度", True),  # the year staff asked for
    (dt.datetime(2026, 12, 2, tzinfo=JST), "令和8年度", "H31", "令和8年度", True),  # asked, without a target
])
def test_the_target_is_the_latest_up_to_the_surveys_year_and_named_honestly(opens, asked, key, year, note):
    targets = {"H30": 73, "H31": 73}
    chosen = results.target_key(targets, asked, results.fiscal_year(opens))
    assert chosen == key and results.fiscal_year_label(results.fiscal_year(opens)) == year
    assert (results.year_of(chosen) != results.fiscal_year(opens)) is note
